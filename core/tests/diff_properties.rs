//! Properties of the job diff over generated jobs: `diff(a, a)` is `None`
//! everywhere; `diff(a, b)` is `None` iff a and b agree where Nomad looks.

use std::collections::BTreeMap;

use caravan_core::diff::{diff_jobs, DiffType, FieldDiff, JobDiff, ObjectDiff};
use caravan_core::model::{
    Constraint, DispatchPayloadConfig, EphemeralDisk, LogConfig, NetworkResource, NilVec,
    ParameterizedJobConfig, PeriodicConfig, Port, Resources, RestartPolicy, Service, ServiceCheck,
    Task, TaskArtifact, TaskGroup, Template, UpdateStrategy, Vault,
};
use caravan_core::Job;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{json, Map, Value};

// Small value pools, so that independently drawn values often coincide.

fn word() -> impl Strategy<Value = String> {
    select(vec!["", "a", "b", "linux"]).prop_map(String::from)
}

fn string_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        select(vec!["k", "l", "m[1]"]).prop_map(String::from),
        word(),
        0..3,
    )
}

fn strings(pool: Vec<&'static str>, max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(select(pool).prop_map(String::from), 0..=max)
}

fn constraint() -> impl Strategy<Value = Constraint> {
    // Never all-empty: such an item has no fields to show (Nomad would put
    // a null in the object list and then crash on it).
    (
        select(vec!["${attr.kernel.name}", "${node.class}"]),
        select(vec!["=", "!="]),
        word(),
    )
        .prop_map(|(l, o, r)| Constraint::new(l, o, &r))
}

fn constraints() -> impl Strategy<Value = Vec<Constraint>> {
    prop::collection::vec(constraint(), 0..3)
}

fn config() -> impl Strategy<Value = Map<String, Value>> {
    let value = select(vec![
        json!("/bin/sleep"),
        json!(600),
        json!(600.0),
        json!(1000000),
        json!(0.00001),
        json!(true),
        json!(null),
        json!(["600"]),
        json!([]),
        json!([{"db": 6379}]),
        json!({"a.b": "c"}),
    ]);
    prop::collection::vec((select(vec!["command", "args", "port"]), value), 0..3)
        .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn port() -> impl Strategy<Value = Port> {
    (select(vec!["http", "admin"]), select(vec![0i64, 8080])).prop_map(|(l, v)| Port {
        label: l.into(),
        value: v,
    })
}

fn network() -> impl Strategy<Value = NetworkResource> {
    (
        select(vec![10i64, 20]),
        prop::collection::vec(port(), 0..2),
        prop::collection::vec(port(), 0..2),
        select(vec!["", "eth0"]),
    )
        .prop_map(|(mbits, reserved, dynamic, device)| NetworkResource {
            device: device.into(),
            mbits,
            reserved_ports: reserved,
            dynamic_ports: dynamic,
            ..NetworkResource::default()
        })
}

fn resources() -> impl Strategy<Value = Option<Resources>> {
    prop::option::of(
        (
            select(vec![100i64, 500]),
            select(vec![10i64, 256]),
            select(vec![0i64, 30]),
            prop::collection::vec(network(), 0..2),
        )
            .prop_map(|(cpu, mem, iops, networks)| Resources {
                cpu,
                memory_mb: mem,
                disk_mb: 0,
                iops,
                networks,
            }),
    )
}

fn check() -> impl Strategy<Value = ServiceCheck> {
    (
        select(vec!["alive", "ready"]),
        select(vec!["tcp", "http"]),
        select(vec![10i64, 20]),
        strings(vec!["x", "y"], 1),
        prop::collection::btree_map(
            select(vec!["X-A", "X-B"]).prop_map(String::from),
            strings(vec!["1", "2"], 2).prop_map(NilVec),
            0..2,
        ),
    )
        .prop_map(|(name, kind, interval, args, header)| ServiceCheck {
            name: name.into(),
            check_type: kind.into(),
            interval: interval * 1_000_000_000,
            timeout: 2_000_000_000,
            args,
            header,
            ..ServiceCheck::default()
        })
}

fn service() -> impl Strategy<Value = Service> {
    (
        select(vec!["web", "admin"]),
        select(vec!["http", ""]),
        strings(vec!["t1", "t2"], 2),
        prop::collection::vec(check(), 0..2),
    )
        .prop_map(|(name, port, tags, checks)| Service {
            name: name.into(),
            port_label: port.into(),
            tags,
            checks,
            ..Service::default()
        })
}

fn task(name: String) -> impl Strategy<Value = Task> {
    let head = (
        select(vec!["raw_exec", "exec"]),
        word(),
        config(),
        string_map(),
        string_map(),
        select(vec![5_000_000_000i64, 0]),
        any::<bool>(),
    );
    let objects = (
        resources(),
        prop::option::of(select(vec![10i64, 3]).prop_map(|n| LogConfig {
            max_files: n,
            max_file_size_mb: 10,
        })),
        prop::collection::vec(service(), 0..2),
        prop::option::of((strings(vec!["p1", "p2"], 2), any::<bool>()).prop_map(
            |(policies, env)| Vault {
                policies,
                env,
                change_mode: "restart".into(),
                change_signal: String::new(),
            },
        )),
        prop::collection::vec(
            select(vec!["a", "b"]).prop_map(|d| Template {
                dest_path: d.into(),
                change_mode: "restart".into(),
                ..Template::default()
            }),
            0..2,
        ),
        prop::collection::vec(
            (select(vec!["http://a", "http://b"]), string_map()).prop_map(|(s, o)| TaskArtifact {
                getter_source: s.into(),
                getter_options: o,
                ..TaskArtifact::default()
            }),
            0..2,
        ),
        constraints(),
        prop::option::of(word().prop_map(|file| DispatchPayloadConfig { file })),
    );
    (head, objects).prop_map(
        move |(
            (driver, user, config, env, meta, kill_timeout, leader),
            (resources, log_config, services, vault, templates, artifacts, constraints, payload),
        )| Task {
            name: name.clone(),
            driver: driver.into(),
            user,
            config,
            env,
            services,
            vault,
            templates,
            constraints,
            resources,
            dispatch_payload: payload,
            meta,
            kill_timeout,
            log_config,
            artifacts,
            leader,
            shutdown_delay: 0,
        },
    )
}

fn group(name: String) -> impl Strategy<Value = TaskGroup> {
    let tasks = subsequence(vec!["x", "y", "z"], 1..=2).prop_flat_map(|names| {
        names
            .into_iter()
            .map(|n| task(n.to_string()))
            .collect::<Vec<_>>()
    });
    (
        0i64..3,
        string_map(),
        constraints(),
        prop::option::of(select(vec![2i64, 5]).prop_map(|attempts| RestartPolicy {
            attempts,
            ..RestartPolicy::default_for("service")
        })),
        prop::option::of(any::<bool>().prop_map(|sticky| EphemeralDisk {
            sticky,
            ..EphemeralDisk::nomad_default()
        })),
        prop::option::of(select(vec![0i64, 30]).prop_map(|stagger| UpdateStrategy {
            stagger,
            ..UpdateStrategy::nomad_default()
        })),
        tasks,
    )
        .prop_map(
            move |(count, meta, constraints, restart_policy, ephemeral_disk, update, tasks)| {
                TaskGroup {
                    name: name.clone(),
                    count,
                    update,
                    constraints,
                    restart_policy,
                    tasks,
                    ephemeral_disk,
                    meta,
                }
            },
        )
}

fn job() -> impl Strategy<Value = Job> {
    let groups = subsequence(vec!["g1", "g2", "g3"], 1..=2).prop_flat_map(|names| {
        names
            .into_iter()
            .map(|n| group(n.to_string()))
            .collect::<Vec<_>>()
    });
    let head = (
        any::<bool>(),
        select(vec!["a", "b"]),
        select(vec![50i64, 70]),
        string_map(),
        strings(vec!["dc1", "dc2", "dc3"], 3),
        constraints(),
    );
    let tail = (
        prop::option::of(
            (any::<bool>(), select(vec!["0 0 1 1 *", "@daily"])).prop_map(|(enabled, spec)| {
                PeriodicConfig {
                    enabled,
                    spec: spec.into(),
                    spec_type: "cron".into(),
                    ..PeriodicConfig::default()
                }
            }),
        ),
        prop::option::of(
            (
                select(vec!["optional", "required"]),
                strings(vec!["foo", "bar"], 2),
                strings(vec!["foo", "baz"], 2),
            )
                .prop_map(|(payload, meta_required, meta_optional)| {
                    ParameterizedJobConfig {
                        payload: payload.into(),
                        meta_required,
                        meta_optional,
                    }
                }),
        ),
        groups,
    );
    (head, tail).prop_map(
        |((stop, name, priority, meta, datacenters, constraints), (periodic, param, groups))| Job {
            stop,
            region: "global".into(),
            id: "j".into(),
            name: name.into(),
            job_type: "service".into(),
            priority,
            datacenters,
            constraints,
            task_groups: groups,
            periodic,
            parameterized_job: param,
            meta,
            ..Job::default()
        },
    )
}

/// The job as Nomad compares it: bookkeeping, the job-level `Update` and
/// `Payload` dropped; datacenters and job constraints as sets; groups by
/// name; config numbers as float64.
fn canonical(job: &Job) -> Job {
    let mut j = job.clone();
    j.status.clear();
    j.status_description.clear();
    j.version = 0;
    j.stable = false;
    j.submit_time = 0;
    j.create_index = 0;
    j.modify_index = 0;
    j.job_modify_index = 0;
    j.update = UpdateStrategy::default();
    j.payload.clear();
    j.datacenters.sort();
    j.datacenters.dedup();
    j.constraints.sort_by(|a, b| {
        (&a.ltarget, &a.operand, &a.rtarget).cmp(&(&b.ltarget, &b.operand, &b.rtarget))
    });
    j.constraints.dedup();
    j.task_groups.sort_by(|a, b| a.name.cmp(&b.name));
    for task in j.task_groups.iter_mut().flat_map(|g| g.tasks.iter_mut()) {
        for value in task.config.values_mut() {
            floats(value);
        }
    }
    j
}

fn floats(v: &mut Value) {
    match v {
        Value::Number(n) => *v = json!(n.as_f64().unwrap_or(0.0)),
        Value::Array(items) => items.iter_mut().for_each(floats),
        Value::Object(map) => map.values_mut().for_each(floats),
        _ => {}
    }
}

/// Changes that Nomad's diff does not see, and changes that it does.
fn mutate(job: &Job, how: u8, pick: usize) -> Job {
    let mut j = job.clone();
    let g = pick % j.task_groups.len();
    let t = pick % j.task_groups[g].tasks.len();
    match how {
        0 => j.datacenters.reverse(),
        1 => {
            if let Some(dc) = j.datacenters.first().cloned() {
                j.datacenters.push(dc);
            }
        }
        2 => j.constraints.reverse(),
        3 => j.task_groups.reverse(),
        4 => {
            j.update.stagger += 1;
            j.payload.push(1);
            j.version += 1;
            j.status = "dead".into();
            j.job_modify_index += 9;
        }
        5 => {
            for v in j.task_groups[g].tasks[t].config.values_mut() {
                floats(v);
            }
        }
        6 => j.priority += 1,
        7 => j.task_groups[g].count += 1,
        8 => {
            j.task_groups[g].tasks[t]
                .env
                .insert("NEW".into(), "1".into());
        }
        9 => j.task_groups[g].tasks.reverse(),
        10 => {
            if let Some(u) = &mut j.task_groups[g].update {
                u.stagger += 1;
            }
        }
        11 => {
            if let Some(s) = j.task_groups[g].tasks[t].services.first_mut() {
                s.tags.push("new".into());
            }
        }
        12 => {
            if let Some(r) = &mut j.task_groups[g].tasks[t].resources {
                for n in &mut r.networks {
                    n.device.push('1');
                }
            }
        }
        _ => j.datacenters.push("dc9".into()),
    }
    j
}

fn all_fields_sorted(fields: &[FieldDiff]) -> bool {
    fields
        .windows(2)
        .all(|w| (&w[0].name, &w[0].old, &w[0].new) <= (&w[1].name, &w[1].old, &w[1].new))
}

fn objects_are_consistent(objects: &[ObjectDiff]) -> bool {
    objects.iter().all(|o| {
        o.diff_type != DiffType::None || o.name == "Policies" || o.name.starts_with("Meta")
    }) && objects
        .iter()
        .all(|o| all_fields_sorted(&o.fields) && objects_are_consistent(&o.objects))
}

fn is_empty_none(d: &JobDiff) -> bool {
    d.diff_type == DiffType::None
        && d.fields.is_empty()
        && d.objects.is_empty()
        && d.task_groups.iter().all(|g| {
            g.diff_type == DiffType::None
                && g.fields.is_empty()
                && g.objects.is_empty()
                && g.tasks.iter().all(|t| {
                    t.diff_type == DiffType::None && t.fields.is_empty() && t.objects.is_empty()
                })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_job_diffed_with_itself_is_none_everywhere(a in job(), contextual in any::<bool>()) {
        let d = diff_jobs(Some(&a), Some(&a.clone()), contextual).map_err(TestCaseError::fail)?;
        prop_assert!(is_empty_none(&d), "{d:#?}");
        prop_assert_eq!(d.task_groups.len(), a.task_groups.len());
    }

    #[test]
    fn diff_is_none_iff_the_jobs_are_equal_where_nomad_looks(
        a in job(),
        b in job(),
        how in 0u8..14,
        pick in 0usize..8,
        independent in any::<bool>(),
    ) {
        let b = if independent { b } else { mutate(&a, how, pick) };
        let d = diff_jobs(Some(&a), Some(&b), true).map_err(TestCaseError::fail)?;
        let equal = canonical(&a) == canonical(&b);
        prop_assert_eq!(d.diff_type == DiffType::None, equal, "{:#?}", d);
        if equal {
            prop_assert!(is_empty_none(&d));
        }
        // Either direction sees the same thing.
        let back = diff_jobs(Some(&b), Some(&a), true).map_err(TestCaseError::fail)?;
        prop_assert_eq!(back.diff_type == DiffType::None, equal);
        // Shape invariants: sorted fields, no None objects except string
        // sets attached to a changed parent.
        prop_assert!(all_fields_sorted(&d.fields));
        prop_assert!(objects_are_consistent(&d.objects));
        for g in &d.task_groups {
            prop_assert!(all_fields_sorted(&g.fields) && objects_are_consistent(&g.objects));
            for t in &g.tasks {
                prop_assert!(all_fields_sorted(&t.fields) && objects_are_consistent(&t.objects));
            }
        }
    }

    #[test]
    fn a_new_job_is_added_throughout(a in job()) {
        let d = diff_jobs(None, Some(&a), true).map_err(TestCaseError::fail)?;
        prop_assert_eq!(d.diff_type, DiffType::Added);
        prop_assert!(d.task_groups.iter().all(|g| g.diff_type == DiffType::Added
            && g.tasks.iter().all(|t| t.diff_type == DiffType::Added)));
        prop_assert!(d.fields.iter().all(|f| f.diff_type == DiffType::Added));
    }
}
