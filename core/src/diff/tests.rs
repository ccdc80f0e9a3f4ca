//! Rule tests of the whole diff: every object kind added, deleted, edited
//! and unchanged, contextual mode, ordering and error text.

use serde_json::json;

use super::*;
use crate::model::{
    Constraint, DispatchPayloadConfig, EphemeralDisk, LogConfig, NetworkResource, NilVec,
    ParameterizedJobConfig, PeriodicConfig, Port, Resources, RestartPolicy, Service, ServiceCheck,
    Task, TaskArtifact, TaskGroup, Template, UpdateStrategy, Vault, SECOND,
};

fn render_field(f: &FieldDiff) -> String {
    format!("{:?} {} {:?}→{:?}", f.diff_type, f.name, f.old, f.new)
}

/// `Type Name [fields…, objects…]`, exact and compact.
fn render(o: &ObjectDiff) -> String {
    let parts: Vec<String> = o
        .fields
        .iter()
        .map(render_field)
        .chain(o.objects.iter().map(render))
        .collect();
    format!("{:?} {} [{}]", o.diff_type, o.name, parts.join(", "))
}

fn render_all(objects: &[ObjectDiff]) -> Vec<String> {
    objects.iter().map(render).collect()
}

fn fields_of(fields: &[FieldDiff]) -> Vec<String> {
    fields.iter().map(render_field).collect()
}

fn config(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

fn task() -> Task {
    Task {
        name: "server".into(),
        driver: "raw_exec".into(),
        config: config(json!({"command": "/bin/sleep", "args": ["600"]})),
        resources: Some(Resources {
            cpu: 100,
            memory_mb: 64,
            ..Resources::default()
        }),
        log_config: Some(LogConfig::nomad_default()),
        kill_timeout: 5 * SECOND,
        ..Task::default()
    }
}

fn group() -> TaskGroup {
    TaskGroup {
        name: "web".into(),
        count: 1,
        restart_policy: Some(RestartPolicy::default_for("service")),
        ephemeral_disk: Some(EphemeralDisk::nomad_default()),
        tasks: vec![task()],
        ..TaskGroup::default()
    }
}

fn job() -> Job {
    Job {
        id: "j".into(),
        name: "j".into(),
        region: "global".into(),
        job_type: "service".into(),
        priority: 50,
        datacenters: vec!["dc1".into()],
        task_groups: vec![group()],
        ..Job::default()
    }
}

fn diff(old: &Job, new: &Job, contextual: bool) -> JobDiff {
    match diff_jobs(Some(old), Some(new), contextual) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

/// The diff of the first task of group `web` after `edit` changed a copy.
fn task_diff(old: impl Fn(&mut Task), new: impl Fn(&mut Task)) -> TaskDiff {
    let (mut a, mut b) = (job(), job());
    old(&mut a.task_groups[0].tasks[0]);
    new(&mut b.task_groups[0].tasks[0]);
    let d = diff(&a, &b, true);
    d.task_groups[0].tasks[0].clone()
}

fn check() -> ServiceCheck {
    ServiceCheck {
        name: "alive".into(),
        check_type: "tcp".into(),
        interval: 10 * SECOND,
        timeout: 2 * SECOND,
        ..ServiceCheck::default()
    }
}

fn service() -> Service {
    Service {
        name: "web".into(),
        port_label: "http".into(),
        tags: vec!["a".into()],
        checks: vec![check()],
        ..Service::default()
    }
}

fn network(mbits: i64) -> NetworkResource {
    NetworkResource {
        mbits,
        reserved_ports: vec![Port {
            label: "http".into(),
            value: 8080,
        }],
        dynamic_ports: vec![Port {
            label: "admin".into(),
            value: 0,
        }],
        ..NetworkResource::default()
    }
}

fn vault() -> Vault {
    Vault {
        policies: vec!["p1".into()],
        env: true,
        change_mode: "restart".into(),
        ..Vault::default()
    }
}

fn artifact(source: &str) -> TaskArtifact {
    let mut a = TaskArtifact {
        getter_source: source.into(),
        getter_mode: "any".into(),
        ..TaskArtifact::default()
    };
    a.getter_options.insert("checksum".into(), "md5:abc".into());
    a
}

fn template() -> Template {
    Template {
        dest_path: "local/x".into(),
        embedded_tmpl: "{{ key \"a\" }}".into(),
        change_mode: "restart".into(),
        splay: 5 * SECOND,
        perms: "0644".into(),
        left_delim: "{{".into(),
        right_delim: "}}".into(),
        ..Template::default()
    }
}

fn update() -> UpdateStrategy {
    UpdateStrategy {
        canary: 1,
        ..UpdateStrategy::nomad_default()
    }
}

fn periodic() -> PeriodicConfig {
    PeriodicConfig {
        enabled: true,
        spec: "0 0 1 1 *".into(),
        spec_type: "cron".into(),
        prohibit_overlap: true,
        ..PeriodicConfig::default()
    }
}

fn parameterized() -> ParameterizedJobConfig {
    ParameterizedJobConfig {
        payload: "required".into(),
        meta_required: vec!["foo".into()],
        meta_optional: vec!["bar".into()],
    }
}

const NO_CHANGE: fn(&mut Task) = |_| {};

/// label, edit of the old side, edit of the new side, expected fields,
/// expected objects.
type Case<T> = (
    &'static str,
    fn(&mut T),
    fn(&mut T),
    &'static [&'static str],
    &'static [&'static str],
);

fn res(t: &mut Task) -> &mut Resources {
    t.resources.get_or_insert_with(Resources::default)
}

const CONTEXT_RESOURCES: [&str; 3] = [
    r#"None DiskMB "0"→"0""#,
    r#"None IOPS "0"→"0""#,
    r#"None MemoryMB "64"→"64""#,
];

#[test]
fn task_objects_added_deleted_edited_unchanged() {
    type Edit = fn(&mut Task);
    let cases: Vec<(&str, Edit, Edit, Vec<String>)> = vec![
        ("unchanged", NO_CHANGE, NO_CHANGE, vec![]),
        (
            "constraint added",
            NO_CHANGE,
            |t| t.constraints = vec![Constraint::new("${attr.arch}", "=", "amd64")],
            vec![r#"Added Constraint [Added LTarget ""→"${attr.arch}", Added Operand ""→"=", Added RTarget ""→"amd64"]"#.into()],
        ),
        (
            "config edited",
            NO_CHANGE,
            |t| t.config["args"] = json!(["700"]),
            vec![r#"Edited Config [Edited args[0] "600"→"700", None command "/bin/sleep"→"/bin/sleep"]"#.into()],
        ),
        (
            "config added",
            |t| t.config.clear(),
            NO_CHANGE,
            vec![r#"Added Config [Added args[0] ""→"600", Added command ""→"/bin/sleep"]"#.into()],
        ),
        (
            "config deleted",
            NO_CHANGE,
            |t| t.config.clear(),
            vec![r#"Deleted Config [Deleted args[0] "600"→"", Deleted command "/bin/sleep"→""]"#.into()],
        ),
        (
            "resources edited",
            NO_CHANGE,
            |t| res(t).cpu = 200,
            vec![format!(
                r#"Edited Resources [Edited CPU "100"→"200", {}]"#,
                CONTEXT_RESOURCES.join(", ")
            )],
        ),
        (
            "network added",
            NO_CHANGE,
            |t| res(t).networks = vec![network(10)],
            vec![format!(
                r#"Edited Resources [None CPU "100"→"100", {}, Added Network [Added MBits ""→"10", Added Static Port [Added Label ""→"http", Added Value ""→"8080"], Added Dynamic Port [Added Label ""→"admin"]]]"#,
                CONTEXT_RESOURCES.join(", ")
            )],
        ),
        (
            "network changed: the old one deleted, the new one added",
            |t| res(t).networks = vec![network(10)],
            |t| res(t).networks = vec![network(20)],
            vec![format!(
                r#"Edited Resources [None CPU "100"→"100", {}, Added Network [Added MBits ""→"20", Added Static Port [Added Label ""→"http", Added Value ""→"8080"], Added Dynamic Port [Added Label ""→"admin"]], Deleted Network [Deleted MBits "10"→"", Deleted Static Port [Deleted Label "http"→"", Deleted Value "8080"→""], Deleted Dynamic Port [Deleted Label "admin"→""]]]"#,
                CONTEXT_RESOURCES.join(", ")
            )],
        ),
        (
            "resources deleted",
            NO_CHANGE,
            |t| t.resources = None,
            vec![r#"Deleted Resources [Deleted CPU "100"→"", Deleted DiskMB "0"→"", Deleted IOPS "0"→"", Deleted MemoryMB "64"→""]"#.into()],
        ),
        (
            "log config edited",
            NO_CHANGE,
            |t| t.log_config = Some(LogConfig { max_files: 3, max_file_size_mb: 10 }),
            vec![r#"Edited LogConfig [None MaxFileSizeMB "10"→"10", Edited MaxFiles "10"→"3"]"#.into()],
        ),
        (
            "dispatch payload added",
            NO_CHANGE,
            |t| t.dispatch_payload = Some(DispatchPayloadConfig { file: "in.txt".into() }),
            vec![r#"Added DispatchPayload [Added File ""→"in.txt"]"#.into()],
        ),
        (
            "artifact added",
            NO_CHANGE,
            |t| t.artifacts = vec![artifact("http://x/y")],
            vec![r#"Added Artifact [Added GetterMode ""→"any", Added GetterOptions[checksum] ""→"md5:abc", Added GetterSource ""→"http://x/y", None RelativeDest ""→""]"#.into()],
        ),
        (
            "artifact changed",
            |t| t.artifacts = vec![artifact("http://x/y")],
            |t| t.artifacts = vec![artifact("http://x/z")],
            vec![
                r#"Added Artifact [Added GetterMode ""→"any", Added GetterOptions[checksum] ""→"md5:abc", Added GetterSource ""→"http://x/z", None RelativeDest ""→""]"#.into(),
                r#"Deleted Artifact [Deleted GetterMode "any"→"", Deleted GetterOptions[checksum] "md5:abc"→"", Deleted GetterSource "http://x/y"→"", None RelativeDest ""→""]"#.into(),
            ],
        ),
        (
            "service added",
            NO_CHANGE,
            |t| t.services = vec![service()],
            vec![r#"Added Service [None AddressMode ""→"", Added Name ""→"web", Added PortLabel ""→"http", Added Check [None Command ""→"", None InitialStatus ""→"", Added Interval ""→"10000000000", None Method ""→"", Added Name ""→"alive", None Path ""→"", None PortLabel ""→"", None Protocol ""→"", Added TLSSkipVerify ""→"false", Added Timeout ""→"2000000000", Added Type ""→"tcp"]]"#.into()],
        ),
        (
            "service deleted",
            |t| t.services = vec![Service { checks: vec![], ..service() }],
            NO_CHANGE,
            vec![r#"Deleted Service [None AddressMode ""→"", Deleted Name "web"→"", Deleted PortLabel "http"→""]"#.into()],
        ),
        (
            "service tags are not diffed",
            |t| t.services = vec![service()],
            |t| t.services = vec![Service { tags: vec!["a".into(), "v2".into()], ..service() }],
            vec![r#"Edited Service [None AddressMode ""→"", None Name "web"→"web", None PortLabel "http"→"http"]"#.into()],
        ),
        (
            "check edited and header added",
            |t| t.services = vec![service()],
            |t| {
                let mut c = ServiceCheck { interval: 20 * SECOND, ..check() };
                c.header.insert("X-Token".into(), NilVec(vec!["a".into()]));
                t.services = vec![Service { checks: vec![c], ..service() }];
            },
            vec![r#"Edited Service [None AddressMode ""→"", None Name "web"→"web", None PortLabel "http"→"http", Edited Check [None Command ""→"", None InitialStatus ""→"", Edited Interval "10000000000"→"20000000000", None Method ""→"", None Name "alive"→"alive", None Path ""→"", None PortLabel ""→"", None Protocol ""→"", None TLSSkipVerify "false"→"false", None Timeout "2000000000"→"2000000000", None Type "tcp"→"tcp", Added Header [Added X-Token[0] ""→"a"]]]"#.into()],
        ),
        (
            "check renamed: one deleted, one added",
            |t| t.services = vec![Service { checks: vec![ServiceCheck { name: "a".into(), ..ServiceCheck::default() }], ..service() }],
            |t| t.services = vec![Service { checks: vec![ServiceCheck { name: "b".into(), ..ServiceCheck::default() }], ..service() }],
            vec![concat!(
                r#"Edited Service [None AddressMode ""→"", None Name "web"→"web", None PortLabel "http"→"http", "#,
                r#"Added Check [None Command ""→"", None InitialStatus ""→"", Added Interval ""→"0", None Method ""→"", Added Name ""→"b", None Path ""→"", None PortLabel ""→"", None Protocol ""→"", Added TLSSkipVerify ""→"false", Added Timeout ""→"0", None Type ""→""], "#,
                r#"Deleted Check [None Command ""→"", None InitialStatus ""→"", Deleted Interval "0"→"", None Method ""→"", Deleted Name "a"→"", None Path ""→"", None PortLabel ""→"", None Protocol ""→"", Deleted TLSSkipVerify "false"→"", Deleted Timeout "0"→"", None Type ""→""]]"#
            ).into()],
        ),
        (
            "vault added",
            NO_CHANGE,
            |t| t.vault = Some(vault()),
            vec![r#"Added Vault [Added ChangeMode ""→"restart", None ChangeSignal ""→"", Added Env ""→"true", Added Policies [Added Policies ""→"p1"]]"#.into()],
        ),
        (
            "vault edited: unchanged policies still listed",
            |t| t.vault = Some(vault()),
            |t| t.vault = Some(Vault { env: false, ..vault() }),
            vec![r#"Edited Vault [None ChangeMode "restart"→"restart", None ChangeSignal ""→"", Edited Env "true"→"false", None Policies [None Policies "p1"→"p1"]]"#.into()],
        ),
        (
            "vault policies changed",
            |t| t.vault = Some(vault()),
            |t| t.vault = Some(Vault { policies: vec!["p2".into()], ..vault() }),
            vec![r#"Edited Vault [None ChangeMode "restart"→"restart", None ChangeSignal ""→"", None Env "true"→"true", Edited Policies [Added Policies ""→"p2", Deleted Policies "p1"→""]]"#.into()],
        ),
        (
            "vault deleted",
            |t| t.vault = Some(vault()),
            NO_CHANGE,
            vec![r#"Deleted Vault [Deleted ChangeMode "restart"→"", None ChangeSignal ""→"", Deleted Env "true"→"", Deleted Policies [Deleted Policies "p1"→""]]"#.into()],
        ),
        (
            "template added",
            NO_CHANGE,
            |t| t.templates = vec![template()],
            vec![r#"Added Template [Added ChangeMode ""→"restart", None ChangeSignal ""→"", Added DestPath ""→"local/x", Added EmbeddedTmpl ""→"{{ key \"a\" }}", Added Envvars ""→"false", Added LeftDelim ""→"{{", Added Perms ""→"0644", Added RightDelim ""→"}}", None SourcePath ""→"", Added Splay ""→"5000000000", Added VaultGrace ""→"0"]"#.into()],
        ),
        (
            "template unchanged",
            |t| t.templates = vec![template()],
            |t| t.templates = vec![template()],
            vec![],
        ),
    ];
    for (label, old, new, want) in cases {
        let d = task_diff(old, new);
        assert_eq!(render_all(&d.objects), want, "{label}");
        let want_type = if want.is_empty() {
            DiffType::None
        } else {
            DiffType::Edited
        };
        assert_eq!(d.diff_type, want_type, "{label}");
    }
}

#[test]
fn task_objects_keep_the_fixed_kind_order() {
    let d = task_diff(NO_CHANGE, |t| {
        t.templates = vec![template()];
        t.vault = Some(vault());
        t.services = vec![service()];
        t.artifacts = vec![artifact("http://x/y")];
        t.dispatch_payload = Some(DispatchPayloadConfig { file: "f".into() });
        t.log_config = None;
        res(t).cpu = 1;
        t.config.clear();
        t.constraints = vec![Constraint::new("a", "=", "b")];
    });
    let names: Vec<&str> = d.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Constraint",
            "Config",
            "Resources",
            "LogConfig",
            "DispatchPayload",
            "Artifact",
            "Service",
            "Vault",
            "Template"
        ]
    );
}

#[test]
fn task_fields_are_never_contextual() {
    type Edit = fn(&mut Task);
    let cases: Vec<(Edit, &[&str])> = vec![
        (
            |t| {
                t.env.insert("A".into(), "1".into());
            },
            &[r#"Added Env[A] ""→"1""#],
        ),
        (|t| t.user = "bob".into(), &[r#"Added User ""→"bob""#]),
        (
            |t| t.kill_timeout = 10 * SECOND,
            &[r#"Edited KillTimeout "5000000000"→"10000000000""#],
        ),
        (
            |t| t.driver = "docker".into(),
            &[r#"Edited Driver "raw_exec"→"docker""#],
        ),
        (|t| t.leader = true, &[r#"Edited Leader "false"→"true""#]),
        (
            |t| {
                t.meta.insert("m".into(), "1".into());
                t.shutdown_delay = SECOND;
            },
            &[
                r#"Added Meta[m] ""→"1""#,
                r#"Edited ShutdownDelay "0"→"1000000000""#,
            ],
        ),
    ];
    for (edit, want) in cases {
        let d = task_diff(NO_CHANGE, edit);
        assert_eq!(fields_of(&d.fields), *want);
        assert_eq!(d.diff_type, DiffType::Edited);
    }
}

#[test]
fn config_numbers_render_as_go_floats_and_compare_as_floats() {
    let d = task_diff(NO_CHANGE, |t| {
        t.config = config(json!({
            "command": "/bin/sleep", "args": ["600"],
            "port": 8080, "big": 1000000, "ratio": 1234567.5, "small": 0.0001,
            "tiny": 0.00001, "neg": -3
        }))
    });
    assert_eq!(
        render_all(&d.objects),
        [concat!(
            r#"Edited Config [None args[0] "600"→"600", Added big ""→"1e+06", None command "/bin/sleep"→"/bin/sleep", "#,
            r#"Added neg ""→"-3", Added port ""→"8080", Added ratio ""→"1.2345675e+06", Added small ""→"0.0001", Added tiny ""→"1e-05"]"#
        )]
    );
    // 600 and 600.0 are the same float64: no diff at all.
    let d = task_diff(
        |t| {
            t.config.insert("port".into(), json!(600));
        },
        |t| {
            t.config.insert("port".into(), json!(600.0));
        },
    );
    assert_eq!(d.diff_type, DiffType::None);
    assert!(d.objects.is_empty());
}

#[test]
fn group_fields_and_objects() {
    let cases: Vec<Case<TaskGroup>> = vec![
        ("unchanged", |_| {}, |_| {}, &[], &[]),
        (
            "count",
            |_| {},
            |g| g.count = 3,
            &[r#"Edited Count "1"→"3""#],
            &[],
        ),
        (
            "meta",
            |g| {
                g.meta.insert("a".into(), "1".into());
            },
            |g| {
                g.meta.insert("b".into(), "2".into());
            },
            &[r#"Deleted Meta[a] "1"→"""#, r#"Added Meta[b] ""→"2""#],
            &[],
        ),
        (
            "constraint",
            |_| {},
            |g| g.constraints = vec![Constraint::new("", "distinct_hosts", "true")],
            &[],
            &[
                r#"Added Constraint [None LTarget ""→"", Added Operand ""→"distinct_hosts", Added RTarget ""→"true"]"#,
            ],
        ),
        (
            "restart policy",
            |_| {},
            |g| {
                g.restart_policy = Some(RestartPolicy {
                    attempts: 5,
                    ..RestartPolicy::default_for("service")
                })
            },
            &[],
            &[
                r#"Edited RestartPolicy [Edited Attempts "2"→"5", None Delay "15000000000"→"15000000000", None Interval "60000000000"→"60000000000", None Mode "delay"→"delay"]"#,
            ],
        ),
        (
            "ephemeral disk",
            |_| {},
            |g| {
                g.ephemeral_disk = Some(EphemeralDisk {
                    sticky: true,
                    ..EphemeralDisk::nomad_default()
                })
            },
            &[],
            &[
                r#"Edited EphemeralDisk [None Migrate "false"→"false", None SizeMB "300"→"300", Edited Sticky "false"→"true"]"#,
            ],
        ),
        (
            "update added (Stagger is never shown)",
            |_| {},
            |g| g.update = Some(update()),
            &[],
            &[
                r#"Added Update [Added AutoRevert ""→"false", Added Canary ""→"1", Added HealthCheck ""→"checks", Added HealthyDeadline ""→"300000000000", Added MaxParallel ""→"1", Added MinHealthyTime ""→"10000000000"]"#,
            ],
        ),
        (
            "update deleted",
            |g| g.update = Some(update()),
            |_| {},
            &[],
            &[
                r#"Deleted Update [Deleted AutoRevert "false"→"", Deleted Canary "1"→"", Deleted HealthCheck "checks"→"", Deleted HealthyDeadline "300000000000"→"", Deleted MaxParallel "1"→"", Deleted MinHealthyTime "10000000000"→""]"#,
            ],
        ),
    ];
    for (label, old, new, want_fields, want_objects) in cases {
        let (mut a, mut b) = (job(), job());
        old(&mut a.task_groups[0]);
        new(&mut b.task_groups[0]);
        let d = diff(&a, &b, true);
        let g = &d.task_groups[0];
        assert_eq!(fields_of(&g.fields), *want_fields, "{label}");
        assert_eq!(render_all(&g.objects), *want_objects, "{label}");
        let changed = !want_fields.is_empty() || !want_objects.is_empty();
        let want_type = if changed {
            DiffType::Edited
        } else {
            DiffType::None
        };
        assert_eq!(
            (g.diff_type, d.diff_type),
            (want_type, want_type),
            "{label}"
        );
    }
}

#[test]
fn a_change_nothing_shows_still_edits_the_group() {
    // Stagger is filtered out of the Update object, but the groups are not
    // deeply equal any more.
    let (mut a, mut b) = (job(), job());
    a.task_groups[0].update = Some(UpdateStrategy::nomad_default());
    b.task_groups[0].update = Some(UpdateStrategy {
        stagger: 5 * SECOND,
        ..UpdateStrategy::nomad_default()
    });
    let d = diff(&a, &b, true);
    let g = &d.task_groups[0];
    assert_eq!(g.diff_type, DiffType::Edited);
    assert!(g.fields.is_empty() && g.objects.is_empty());
    assert_eq!(g.tasks[0].diff_type, DiffType::None);
    assert_eq!(d.diff_type, DiffType::Edited);
}

#[test]
fn job_fields_and_objects() {
    let cases: Vec<Case<Job>> = vec![
        ("unchanged", |_| {}, |_| {}, &[], &[]),
        (
            "primitive fields, never contextual",
            |_| {},
            |j| {
                j.priority = 70;
                j.meta.insert("owner".into(), "ops".into());
                j.all_at_once = true;
            },
            &[
                r#"Edited AllAtOnce "false"→"true""#,
                r#"Added Meta[owner] ""→"ops""#,
                r#"Edited Priority "50"→"70""#,
            ],
            &[],
        ),
        (
            "datacenter added",
            |_| {},
            |j| j.datacenters.push("dc2".into()),
            &[],
            &[r#"Added Datacenters [Added Datacenters ""→"dc2", None Datacenters "dc1"→"dc1"]"#],
        ),
        (
            "datacenter replaced",
            |_| {},
            |j| j.datacenters = vec!["dc2".into()],
            &[],
            &[r#"Edited Datacenters [Added Datacenters ""→"dc2", Deleted Datacenters "dc1"→""]"#],
        ),
        (
            "datacenters reordered and repeated: no change",
            |j| j.datacenters = vec!["a".into(), "b".into()],
            |j| j.datacenters = vec!["b".into(), "a".into(), "b".into()],
            &[],
            &[],
        ),
        (
            "constraints reordered: no change",
            |j| {
                j.constraints = vec![
                    Constraint::new("a", "=", "1"),
                    Constraint::new("b", "=", "2"),
                ]
            },
            |j| {
                j.constraints = vec![
                    Constraint::new("b", "=", "2"),
                    Constraint::new("a", "=", "1"),
                ]
            },
            &[],
            &[],
        ),
        (
            "constraint changed",
            |j| j.constraints = vec![Constraint::new("a", "=", "1")],
            |j| j.constraints = vec![Constraint::new("a", "=", "2")],
            &[],
            &[
                r#"Added Constraint [Added LTarget ""→"a", Added Operand ""→"=", Added RTarget ""→"2"]"#,
                r#"Deleted Constraint [Deleted LTarget "a"→"", Deleted Operand "="→"", Deleted RTarget "1"→""]"#,
            ],
        ),
        (
            "periodic added",
            |_| {},
            |j| j.periodic = Some(periodic()),
            &[],
            &[
                r#"Added Periodic [Added Enabled ""→"true", Added ProhibitOverlap ""→"true", Added Spec ""→"0 0 1 1 *", Added SpecType ""→"cron", None TimeZone ""→""]"#,
            ],
        ),
        (
            "periodic edited",
            |j| j.periodic = Some(periodic()),
            |j| {
                j.periodic = Some(PeriodicConfig {
                    enabled: false,
                    ..periodic()
                })
            },
            &[],
            &[
                r#"Edited Periodic [Edited Enabled "true"→"false", None ProhibitOverlap "true"→"true", None Spec "0 0 1 1 *"→"0 0 1 1 *", None SpecType "cron"→"cron", None TimeZone ""→""]"#,
            ],
        ),
        (
            "periodic deleted",
            |j| j.periodic = Some(periodic()),
            |_| {},
            &[],
            &[
                r#"Deleted Periodic [Deleted Enabled "true"→"", Deleted ProhibitOverlap "true"→"", Deleted Spec "0 0 1 1 *"→"", Deleted SpecType "cron"→"", None TimeZone ""→""]"#,
            ],
        ),
        (
            "parameterized added",
            |_| {},
            |j| j.parameterized_job = Some(parameterized()),
            &[],
            &[
                r#"Added ParameterizedJob [Added Payload ""→"required", Added MetaOptional [Added MetaOptional ""→"bar"], Added MetaRequired [Added MetaRequired ""→"foo"]]"#,
            ],
        ),
        (
            "parameterized meta edited",
            |j| j.parameterized_job = Some(parameterized()),
            |j| {
                j.parameterized_job = Some(ParameterizedJobConfig {
                    meta_required: vec!["foo".into(), "baz".into()],
                    ..parameterized()
                })
            },
            &[],
            &[
                r#"Edited ParameterizedJob [None Payload "required"→"required", None MetaOptional [None MetaOptional "bar"→"bar"], Added MetaRequired [Added MetaRequired ""→"baz", None MetaRequired "foo"→"foo"]]"#,
            ],
        ),
        (
            "parameterized deleted",
            |j| j.parameterized_job = Some(parameterized()),
            |_| {},
            &[],
            &[
                r#"Deleted ParameterizedJob [Deleted Payload "required"→"", Deleted MetaOptional [Deleted MetaOptional "bar"→""], Deleted MetaRequired [Deleted MetaRequired "foo"→""]]"#,
            ],
        ),
        (
            "job update, payload and bookkeeping are not diffed",
            |_| {},
            |j| {
                j.update = UpdateStrategy::nomad_default();
                j.payload = vec![1, 2];
                j.status = "dead".into();
                j.version = 7;
                j.stable = true;
                j.submit_time = 99;
                j.job_modify_index = 12;
            },
            &[],
            &[],
        ),
    ];
    for (label, old, new, want_fields, want_objects) in cases {
        let (mut a, mut b) = (job(), job());
        old(&mut a);
        new(&mut b);
        let d = diff(&a, &b, true);
        assert_eq!(fields_of(&d.fields), *want_fields, "{label}");
        assert_eq!(render_all(&d.objects), *want_objects, "{label}");
        let changed = !want_fields.is_empty() || !want_objects.is_empty();
        let want_type = if changed {
            DiffType::Edited
        } else {
            DiffType::None
        };
        assert_eq!(d.diff_type, want_type, "{label}");
        assert_eq!(d.task_groups[0].diff_type, DiffType::None, "{label}");
    }
}

#[test]
fn job_objects_are_concatenated_in_kind_order_not_sorted() {
    let a = job();
    let mut b = job();
    b.datacenters = vec!["dc2".into()];
    b.constraints = vec![Constraint::new("a", "=", "1")];
    b.periodic = Some(PeriodicConfig::default());
    b.parameterized_job = Some(ParameterizedJobConfig {
        payload: "optional".into(),
        ..ParameterizedJobConfig::default()
    });
    let d = diff(&a, &b, false);
    let names: Vec<&str> = d.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["Datacenters", "Constraint", "Periodic", "ParameterizedJob"]
    );
}

#[test]
fn contextual_mode_only_fills_changed_objects() {
    let a = job();
    let mut b = job();
    b.priority = 60;
    b.datacenters.push("dc2".into());
    b.task_groups[0].tasks[0].config["args"] = json!(["700"]);
    let plain = diff(&a, &b, false);
    let context = diff(&a, &b, true);
    // Top-level fields: only the change, in both modes.
    assert_eq!(fields_of(&plain.fields), [r#"Edited Priority "50"→"60""#]);
    assert_eq!(context.fields, plain.fields);
    assert_eq!(
        render_all(&plain.objects),
        [r#"Added Datacenters [Added Datacenters ""→"dc2"]"#]
    );
    assert_eq!(
        render_all(&context.objects),
        [r#"Added Datacenters [Added Datacenters ""→"dc2", None Datacenters "dc1"→"dc1"]"#]
    );
    let task = |d: &JobDiff| render_all(&d.task_groups[0].tasks[0].objects);
    assert_eq!(
        task(&plain),
        [r#"Edited Config [Edited args[0] "600"→"700"]"#]
    );
    assert_eq!(
        task(&context),
        [r#"Edited Config [Edited args[0] "600"→"700", None command "/bin/sleep"→"/bin/sleep"]"#]
    );
    // Unchanged objects (resources, log config, restart policy) never appear.
    assert!(context.task_groups[0].objects.is_empty());
}

#[test]
fn groups_and_tasks_match_by_name_and_sort_by_name() {
    let mut a = job();
    let named_task = |n: &str| Task {
        name: n.into(),
        ..task()
    };
    a.task_groups[0].tasks = vec![named_task("z"), named_task("b")];
    let mut b = a.clone();
    a.task_groups.push(TaskGroup {
        name: "gone".into(),
        ..group()
    });
    b.task_groups.insert(
        0,
        TaskGroup {
            name: "added".into(),
            ..group()
        },
    );
    // Reordered tasks: the group is no longer deeply equal, the tasks are.
    b.task_groups[1].tasks.reverse();
    b.task_groups[1].tasks.push(named_task("m"));
    let d = diff(&a, &b, true);
    let groups: Vec<(&str, DiffType)> = d
        .task_groups
        .iter()
        .map(|g| (g.name.as_str(), g.diff_type))
        .collect();
    assert_eq!(
        groups,
        [
            ("added", DiffType::Added),
            ("gone", DiffType::Deleted),
            ("web", DiffType::Edited)
        ]
    );
    let tasks: Vec<(&str, DiffType)> = d.task_groups[2]
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.diff_type))
        .collect();
    assert_eq!(
        tasks,
        [
            ("b", DiffType::None),
            ("m", DiffType::Added),
            ("z", DiffType::None)
        ]
    );
}

#[test]
fn unchanged_group_lists_its_tasks_and_nothing_else() {
    let mut a = job();
    a.task_groups[0].tasks.push(Task {
        name: "a-sidecar".into(),
        ..task()
    });
    let d = diff(&a, &a.clone(), true);
    let json = serde_json::to_value(&d).expect("serializable");
    assert_eq!(
        json,
        json!({
            "Fields": null, "ID": "j", "Objects": null, "Type": "None",
            "TaskGroups": [{
                "Fields": null, "Name": "web", "Objects": null, "Type": "None", "Updates": null,
                "Tasks": [
                    {"Annotations": null, "Fields": null, "Name": "a-sidecar", "Objects": null, "Type": "None"},
                    {"Annotations": null, "Fields": null, "Name": "server", "Objects": null, "Type": "None"}
                ]
            }]
        })
    );
}

#[test]
fn added_and_deleted_jobs() {
    let mut j = job();
    j.meta.insert("k".into(), "v".into());
    let added = diff_jobs(None, Some(&j), true).expect("no ID to compare");
    assert_eq!(added.diff_type, DiffType::Added);
    assert_eq!(added.id, "j");
    // Empty values (ParentID, VaultToken) do not show.
    assert_eq!(
        fields_of(&added.fields),
        [
            r#"Added AllAtOnce ""→"false""#,
            r#"Added Meta[k] ""→"v""#,
            r#"Added Name ""→"j""#,
            r#"Added Priority ""→"50""#,
            r#"Added Region ""→"global""#,
            r#"Added Stop ""→"false""#,
            r#"Added Type ""→"service""#,
        ]
    );
    assert_eq!(added.task_groups[0].diff_type, DiffType::Added);
    assert_eq!(added.task_groups[0].tasks[0].diff_type, DiffType::Added);

    let deleted = diff_jobs(Some(&j), None, true).expect("no ID to compare");
    assert_eq!(deleted.diff_type, DiffType::Deleted);
    assert_eq!(deleted.id, "j");
    assert_eq!(
        render_all(&deleted.objects),
        [r#"Deleted Datacenters [Deleted Datacenters "dc1"→""]"#]
    );
    assert_eq!(
        render_all(&deleted.task_groups[0].objects),
        [
            r#"Deleted RestartPolicy [Deleted Attempts "2"→"", Deleted Delay "15000000000"→"", Deleted Interval "60000000000"→"", Deleted Mode "delay"→""]"#,
            r#"Deleted EphemeralDisk [Deleted Migrate "false"→"", Deleted SizeMB "300"→"", Deleted Sticky "false"→""]"#,
        ]
    );

    let nothing = diff_jobs(None, None, true).expect("nothing to compare");
    assert_eq!(nothing, JobDiff::default());
}

#[test]
fn different_ids_are_an_error_with_nomads_text() {
    let a = job();
    let b = Job {
        id: "other \"x\"".into(),
        ..job()
    };
    assert_eq!(
        diff_jobs(Some(&a), Some(&b), true),
        Err(r#"can not diff jobs with different IDs: "j" and "other \"x\"""#.to_string())
    );
}

#[test]
fn services_sort_by_type_then_fields() {
    let d = task_diff(
        |t| {
            t.services = vec![Service {
                name: "a-old".into(),
                ..Service::default()
            }]
        },
        |t| {
            t.services = vec![
                Service {
                    name: "z-new".into(),
                    ..Service::default()
                },
                Service {
                    name: "b-new".into(),
                    ..Service::default()
                },
            ]
        },
    );
    let order: Vec<String> = d
        .objects
        .iter()
        .map(|o| format!("{:?} {}{}", o.diff_type, o.fields[1].new, o.fields[1].old))
        .collect();
    // Same name: Added before Deleted, then by fields.
    assert_eq!(order, ["Added b-new", "Added z-new", "Deleted a-old"]);
}

#[test]
fn ports_match_by_label() {
    let d = task_diff(
        |t| {
            res(t).networks = vec![NetworkResource {
                mbits: 10,
                reserved_ports: vec![
                    Port {
                        label: "a".into(),
                        value: 1,
                    },
                    Port {
                        label: "b".into(),
                        value: 2,
                    },
                ],
                ..NetworkResource::default()
            }]
        },
        |t| {
            res(t).networks = vec![NetworkResource {
                mbits: 10,
                reserved_ports: vec![
                    Port {
                        label: "b".into(),
                        value: 3,
                    },
                    Port {
                        label: "a".into(),
                        value: 1,
                    },
                ],
                ..NetworkResource::default()
            }]
        },
    );
    // The networks differ, so one is deleted and one added; within each,
    // ports are sorted (same name and type: fewer/lesser fields first).
    let networks: Vec<String> = d.objects[0].objects.iter().map(render).collect();
    assert_eq!(
        networks,
        [
            r#"Added Network [Added MBits ""→"10", Added Static Port [Added Label ""→"a", Added Value ""→"1"], Added Static Port [Added Label ""→"b", Added Value ""→"3"]]"#,
            r#"Deleted Network [Deleted MBits "10"→"", Deleted Static Port [Deleted Label "a"→"", Deleted Value "1"→""], Deleted Static Port [Deleted Label "b"→"", Deleted Value "2"→""]]"#,
        ]
    );
}
