//! One row per validation rule: a small job submitted as JSON (decoded,
//! defaulted and canonicalized like a request body), and the exact text
//! Nomad v0.6.3 renders for it.

use serde_json::{json, Value};

use super::*;
use crate::model::requests::JobRegisterRequest;
use crate::{gojson, prepare, Prepared};

fn base_job() -> Value {
    json!({
        "ID": "j", "Name": "j", "Type": "service", "Priority": 50, "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "web", "Count": 1,
            "Tasks": [{
                "Name": "server", "Driver": "raw_exec",
                "Config": {"command": "/bin/sleep", "args": ["600"]},
                "Resources": {"CPU": 100, "MemoryMB": 64}
            }]
        }]
    })
}

/// Sets the value at a JSON pointer, creating the last key or appending to
/// an array when the index is its length.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').expect("pointer has a parent");
    let Some(target) = doc.pointer_mut(parent) else {
        panic!("no parent at {pointer}")
    };
    match target {
        Value::Object(map) => {
            map.insert(last.to_string(), value);
        }
        Value::Array(items) => {
            let i: usize = last.parse().expect("array index");
            if i == items.len() {
                items.push(value);
            } else {
                items[i] = value;
            }
        }
        _ => panic!("parent of {pointer} is a scalar"),
    }
}

fn prepared(edits: &[(&str, Value)]) -> Prepared {
    let mut job = base_job();
    for (pointer, value) in edits {
        set(&mut job, pointer, value.clone());
    }
    let body = serde_json::to_vec(&json!({ "Job": job })).expect("serializable");
    let request: JobRegisterRequest =
        gojson::from_slice(&body, "api.JobRegisterRequest").expect("decodes");
    prepare(request.job.expect("has a job"))
}

fn rendered_errors(edits: &[(&str, Value)], opts: &ValidateOptions) -> String {
    validate_job(&prepared(edits).job, opts)
        .errors
        .render()
        .unwrap_or_default()
}

macro_rules! job1 {
    ($($s:tt)+) => { concat!("1 error(s) occurred:\n\n* ", $($s)+) };
}
macro_rules! group1 {
    ($($s:tt)+) => { job1!("Task group web validation failed: 1 error(s) occurred:\n\n* ", $($s)+) };
}
macro_rules! task1 {
    ($($s:tt)+) => { group1!("Task server validation failed: 1 error(s) occurred:\n\n* ", $($s)+) };
}

const TG: &str = "/TaskGroups/0";
const T: &str = "/TaskGroups/0/Tasks/0";

fn p(suffix: &str, base: &str) -> String {
    format!("{base}{suffix}")
}

#[test]
fn every_rule_renders_nomads_text() {
    let task2 = |name: &str| {
        let mut t = base_job()["TaskGroups"][0]["Tasks"][0].clone();
        t["Name"] = json!(name);
        t
    };
    type Row = (&'static str, Vec<(String, Value)>, &'static str);
    let rows: Vec<Row> = vec![
        ("valid job", vec![], ""),
        // Job.Validate
        ("region", vec![("/Region".into(), json!(""))], job1!("Missing job region")),
        ("id", vec![("/ID".into(), json!(""))], job1!("Missing job ID")),
        ("id space", vec![("/ID".into(), json!("a b"))], job1!("Job ID contains a space")),
        ("name", vec![("/Name".into(), json!(""))], job1!("Missing job name")),
        ("type empty", vec![("/Type".into(), json!(""))], job1!("Missing job type")),
        ("type unknown", vec![("/Type".into(), json!("foo"))], job1!("Invalid job type: \"foo\"")),
        ("priority 0", vec![("/Priority".into(), json!(0))], job1!("Job priority must be between [1, 100]")),
        ("priority 101", vec![("/Priority".into(), json!(101))], job1!("Job priority must be between [1, 100]")),
        ("datacenters", vec![("/Datacenters".into(), json!([]))], job1!("Missing job datacenters")),
        ("empty datacenter name", vec![("/Datacenters".into(), json!([""]))], ""),
        ("unknown job region", vec![("/Region".into(), json!("mars"))], ""),
        ("task groups", vec![("/TaskGroups".into(), json!([]))], job1!("Missing job task groups")),
        (
            "job constraint",
            vec![("/Constraints".into(), json!([{"LTarget": "${attr.kernel.name}", "Operand": "~~", "RTarget": "x"}]))],
            job1!("Constraint 1 validation failed: 1 error(s) occurred:\n\n* Unknown constraint type \"~~\""),
        ),
        (
            "group name",
            vec![(p("/Name", TG), json!(""))],
            "2 error(s) occurred:\n\n* Job task group 1 missing name\n* Task group  validation failed: 1 error(s) occurred:\n\n* Missing task group name",
        ),
        (
            "duplicate group",
            vec![("/TaskGroups/1".into(), base_job()["TaskGroups"][0].clone())],
            job1!("Job task group 2 redefines 'web' from group 1"),
        ),
        (
            "system count",
            vec![("/Type".into(), json!("system")), (p("/Count", TG), json!(3))],
            job1!("Job task group web has count 3. Count cannot exceed 1 with system scheduler"),
        ),
        (
            "periodic not batch",
            vec![("/Periodic".into(), json!({"Spec": "*/5 * * * *"}))],
            job1!("Periodic can only be used with \"batch\" scheduler"),
        ),
        (
            "periodic block (bare nesting)",
            vec![("/Type".into(), json!("batch")), ("/Periodic".into(), json!({"Spec": "not a cron"}))],
            job1!("1 error(s) occurred:\n\n* Invalid cron spec \"not a cron\": missing field(s)"),
        ),
        (
            "periodic disabled is not checked",
            vec![("/Periodic".into(), json!({"Enabled": false, "Spec": "nonsense", "SpecType": "bogus"}))],
            "",
        ),
        (
            "parameterized not batch",
            vec![("/ParameterizedJob".into(), json!({}))],
            job1!("Parameterized job can only be used with \"batch\" scheduler"),
        ),
        (
            "parameterized block (bare nesting)",
            vec![("/Type".into(), json!("batch")), ("/ParameterizedJob".into(), json!({"Payload": "sometimes"}))],
            job1!("1 error(s) occurred:\n\n* Unknown payload requirement: \"sometimes\""),
        ),
        ("core type", vec![("/Type".into(), json!("_core"))], job1!("job type cannot be core")),
        ("payload", vec![("/Payload".into(), json!("aGk="))], job1!("job can't be submitted with a payload, only dispatched")),
        // TaskGroup.Validate
        ("count", vec![(p("/Count", TG), json!(-1))], group1!("Task group count can't be negative")),
        ("no tasks", vec![(p("/Tasks", TG), json!([]))], group1!("Missing tasks for task group")),
        (
            "group constraint",
            vec![(p("/Constraints", TG), json!([{"LTarget": "${attr.kernel.name}", "Operand": "regexp", "RTarget": "[a-"}]))],
            group1!("Constraint 1 validation failed: 1 error(s) occurred:\n\n* Regular expression failed to compile: error parsing regexp: missing closing ]: `[a-`"),
        ),
        (
            "restart mode",
            vec![(p("/RestartPolicy", TG), json!({"Mode": "bogus"}))],
            group1!("1 error(s) occurred:\n\n* Unsupported restart mode: \"bogus\""),
        ),
        (
            "restart ambiguous",
            vec![(p("/RestartPolicy", TG), json!({"Attempts": 0}))],
            group1!("1 error(s) occurred:\n\n* Restart policy \"delay\" with 0 attempts is ambiguous"),
        ),
        ("restart fail mode needs no attempts", vec![(p("/RestartPolicy", TG), json!({"Attempts": 0, "Mode": "fail"}))], ""),
        (
            "restart interval and budget",
            vec![(p("/RestartPolicy", TG), json!({"Attempts": 5, "Interval": 1_000_000_000u64, "Delay": 10_000_000_000u64}))],
            group1!("2 error(s) occurred:\n\n* Interval can not be less than 5s (got 1s)\n* Nomad can't restart the TaskGroup 5 times in an interval of 1s with a delay of 10s"),
        ),
        (
            "ephemeral disk",
            vec![(p("/EphemeralDisk", TG), json!({"SizeMB": 5}))],
            "1 error(s) occurred:\n\n* Task group web validation failed: 2 error(s) occurred:\n\n* minimum DiskMB value is 10; got 5\n* Task server validation failed: 1 error(s) occurred:\n\n* log storage (100 MB) must be less than requested disk capacity (5 MB)",
        ),
        (
            "update max parallel",
            vec![(p("/Update", TG), json!({"MaxParallel": -1}))],
            group1!("1 error(s) occurred:\n\n* Max parallel can not be less than one: -1 < 1"),
        ),
        (
            "update collects every rule",
            vec![(p("/Update", TG), json!({"HealthCheck": "sometimes", "Canary": -1, "MinHealthyTime": 10_000_000_000u64, "HealthyDeadline": 0, "Stagger": 0}))],
            group1!("5 error(s) occurred:\n\n* Invalid health check given: \"sometimes\"\n* Canary count can not be less than zero: -1 < 0\n* Healthy deadline must be greater than zero: 0s\n* Minimum healthy time must be less than healthy deadline: 10s > 0s\n* Stagger must be greater than zero: 0s"),
        ),
        (
            "update negative min healthy time",
            vec![(p("/Update", TG), json!({"MinHealthyTime": -1}))],
            group1!("1 error(s) occurred:\n\n* Minimum healthy time may not be less than zero: -1ns"),
        ),
        (
            "duplicate task",
            vec![(p("/Tasks/1", TG), task2("server"))],
            group1!("Task 2 redefines 'server' from task 1"),
        ),
        (
            "task name",
            vec![(p("/Name", T), json!(""))],
            "1 error(s) occurred:\n\n* Task group web validation failed: 2 error(s) occurred:\n\n* Task 1 missing name\n* Task  validation failed: 1 error(s) occurred:\n\n* Missing task name",
        ),
        (
            "static port",
            vec![
                (p("/Resources/Networks", T), json!([{"ReservedPorts": [{"Label": "a", "Value": 80}]}])),
                (p("/Tasks/1", TG), {
                    let mut t = task2("other");
                    t["Resources"]["Networks"] = json!([{"ReservedPorts": [{"Label": "b", "Value": 80}]}]);
                    t
                }),
            ],
            group1!("Static port 80 already reserved by server:a"),
        ),
        (
            "leaders",
            vec![
                (p("/Leader", T), json!(true)),
                (p("/Tasks/1", TG), {
                    let mut t = task2("other");
                    t["Leader"] = json!(true);
                    t
                }),
            ],
            group1!("Only one task may be marked as leader"),
        ),
        // Task.Validate
        (
            "task name slash",
            vec![(p("/Name", T), json!("a/b"))],
            group1!("Task a/b validation failed: 1 error(s) occurred:\n\n* Task name cannot include slashes"),
        ),
        (
            "driver missing",
            vec![(p("/Driver", T), json!(""))],
            "2 error(s) occurred:\n\n* Task group web validation failed: 1 error(s) occurred:\n\n* Task server validation failed: 1 error(s) occurred:\n\n* Missing task driver\n* failed to create driver for task \"web\" in group \"server\" for validation: unknown driver ''",
        ),
        ("kill timeout", vec![(p("/KillTimeout", T), json!(-1))], task1!("KillTimeout must be a positive value")),
        ("shutdown delay", vec![(p("/ShutdownDelay", T), json!(-1))], task1!("ShutdownDelay must be a positive value")),
        (
            "minimum resources (bare nesting)",
            vec![(p("/Resources", T), json!({"CPU": 0, "MemoryMB": 0}))],
            task1!("2 error(s) occurred:\n\n* minimum CPU value is 20; got 0\n* minimum MemoryMB value is 10; got 0"),
        ),
        ("missing resources get defaults", vec![(p("/Resources", T), Value::Null)], ""),
        (
            "iops",
            vec![(p("/Resources", T), json!({"IOPS": -1}))],
            task1!("1 error(s) occurred:\n\n* minimum IOPS value is 0; got -1"),
        ),
        (
            "network mbits",
            vec![(p("/Resources/Networks", T), json!([{"MBits": 0}]))],
            task1!("1 error(s) occurred:\n\n* network resource at index 0 failed: 1 error(s) occurred:\n\n* minimum MBits value is 1; got 0"),
        ),
        (
            "log config (bare nesting)",
            vec![(p("/LogConfig", T), json!({"MaxFiles": 0, "MaxFileSizeMB": 0}))],
            task1!("2 error(s) occurred:\n\n* minimum number of files is 1; got 0\n* minimum file size is 1MB; got 0"),
        ),
        (
            "task constraint",
            vec![(p("/Constraints", T), json!([{"LTarget": "${attr.vault.version}", "Operand": "version", "RTarget": "> one"}]))],
            task1!("Constraint 1 validation failed: 1 error(s) occurred:\n\n* Version constraint is invalid: Malformed constraint: > one"),
        ),
        (
            "task level distinct_hosts",
            vec![(p("/Constraints", T), json!([{"Operand": "distinct_hosts"}]))],
            task1!("Constraint 1 has disallowed Operand at task level: distinct_hosts"),
        ),
        (
            "task level distinct_property",
            vec![(p("/Constraints", T), json!([{"LTarget": "${meta.rack}", "Operand": "distinct_property"}]))],
            task1!("Constraint 1 has disallowed Operand at task level: distinct_property"),
        ),
        (
            "services (bare nesting)",
            vec![(p("/Services", T), json!([{"Name": "web", "PortLabel": "http"}]))],
            task1!("1 error(s) occurred:\n\n* port label \"http\" referenced by services web does not exist"),
        ),
        (
            "service check",
            vec![
                (p("/Resources/Networks", T), json!([{"DynamicPorts": [{"Label": "http"}]}])),
                (p("/Services", T), json!([{"Name": "${TASK}-web", "PortLabel": "http", "Checks": [{"Type": "http", "Interval": 10_000_000_000u64, "Timeout": 1_000_000_000u64}]}])),
            ],
            task1!("1 error(s) occurred:\n\n* service[0] \"server-web\" validation failed: 1 error(s) occurred:\n\n* check service: \"server-web\" check invalid: http type must have a valid http path"),
        ),
        (
            "log storage",
            vec![
                (p("/EphemeralDisk", TG), json!({"SizeMB": 150})),
                (p("/LogConfig", T), json!({"MaxFiles": 14, "MaxFileSizeMB": 101})),
            ],
            task1!("log storage (1414 MB) must be less than requested disk capacity (150 MB)"),
        ),
        (
            "artifact",
            vec![(p("/Artifacts", T), json!([{"GetterSource": "", "RelativeDest": "../../.."}]))],
            task1!("Artifact 1 validation failed: 2 error(s) occurred:\n\n* source must be specified\n* destination escapes allocation directory"),
        ),
        (
            "vault",
            vec![(p("/Vault", T), json!({"Policies": ["root"]}))],
            task1!("Vault validation failed: 1 error(s) occurred:\n\n* Can not specify \"root\" policy"),
        ),
        (
            "templates",
            vec![(p("/Templates", T), json!([
                {"EmbeddedTmpl": "x", "DestPath": "local/a"},
                {"EmbeddedTmpl": "y", "DestPath": "local/a", "ChangeMode": "bounce"}
            ]))],
            group1!("Task server validation failed: 2 error(s) occurred:\n\n* Template 2 validation failed: 1 error(s) occurred:\n\n* Invalid change mode. Must be one of the following: noop, signal, restart\n* Template 2 has same destination as 1"),
        ),
        (
            "dispatch payload",
            vec![(p("/DispatchPayload", T), json!({"File": "../../../x"}))],
            task1!("Dispatch Payload validation failed: destination escapes allocation directory"),
        ),
        // validateJob's own checks
        (
            "unknown driver (group and task swapped)",
            vec![(p("/Driver", T), json!("mock_driver")), (p("/Config", T), json!({"run_for": "10s"}))],
            job1!("failed to create driver for task \"web\" in group \"server\" for validation: unknown driver 'mock_driver'"),
        ),
        (
            "driver config schema",
            vec![(p("/Config", T), json!({"args": ["1"]}))],
            job1!("group \"web\" -> task \"server\" -> config: 1 error(s) occurred:\n\n* field \"command\" is required"),
        ),
        (
            "driver cannot signal",
            vec![
                (p("/Driver", T), json!("qemu")),
                (p("/Config", T), json!({"image_path": "/img/linux.qcow2"})),
                (p("/Templates", T), json!([
                    {"EmbeddedTmpl": "x", "DestPath": "local/a", "ChangeMode": "signal", "ChangeSignal": "sigusr1"},
                    {"EmbeddedTmpl": "y", "DestPath": "local/b", "ChangeMode": "signal"}
                ])),
            ],
            job1!("group \"web\" -> task \"server\": driver \"qemu\" doesn't support sending signals. Requested signals are SIGHUP, SIGUSR1"),
        ),
        (
            "driver can signal",
            vec![(p("/Templates", T), json!([{"EmbeddedTmpl": "x", "DestPath": "local/a", "ChangeMode": "signal"}]))],
            "",
        ),
        (
            "job errors come first, extra checks after",
            vec![
                ("/Type".into(), json!("foo")),
                ("/Priority".into(), json!(0)),
                ("/Datacenters".into(), json!([])),
                (p("/Count", TG), json!(-1)),
                (p("/Driver", T), json!("lxc")),
            ],
            "5 error(s) occurred:\n\n* Invalid job type: \"foo\"\n* Job priority must be between [1, 100]\n* Missing job datacenters\n* Task group web validation failed: 1 error(s) occurred:\n\n* Task group count can't be negative\n* failed to create driver for task \"web\" in group \"server\" for validation: unknown driver 'lxc'",
        ),
    ];
    let opts = ValidateOptions::default();
    for (name, edits, want) in rows {
        let edits: Vec<(&str, Value)> =
            edits.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        assert_eq!(rendered_errors(&edits, &opts), want, "rule: {name}");
    }
}

#[test]
fn rules_unreachable_through_the_api_defaults() {
    type Edit = fn(&mut Job);
    let rows: Vec<(&str, Edit, &str)> = vec![
        (
            "missing resources",
            |j| j.task_groups[0].tasks[0].resources = None,
            task1!("Missing task resources"),
        ),
        (
            "task disk",
            |j| {
                if let Some(r) = &mut j.task_groups[0].tasks[0].resources {
                    r.disk_mb = 10;
                }
            },
            task1!("Task can't ask for disk resources, they have to be specified at the task group level."),
        ),
        (
            "missing log config",
            |j| j.task_groups[0].tasks[0].log_config = None,
            task1!("Missing Log Config"),
        ),
        (
            "missing restart policy",
            |j| j.task_groups[0].restart_policy = None,
            group1!("Task Group web should have a restart policy"),
        ),
        (
            "missing ephemeral disk",
            |j| j.task_groups[0].ephemeral_disk = None,
            group1!("Task Group web should have an ephemeral disk object"),
        ),
        (
            "artifact without mode counts as any",
            |j| {
                j.task_groups[0].tasks[0].artifacts = vec![crate::model::TaskArtifact {
                    getter_source: "https://example.com/a".into(),
                    ..Default::default()
                }]
            },
            "",
        ),
    ];
    for (name, edit, want) in rows {
        let mut job = prepared(&[]).job;
        edit(&mut job);
        let got = validate_job(&job, &ValidateOptions::default())
            .errors
            .render();
        assert_eq!(got.unwrap_or_default(), want, "rule: {name}");
    }
}

#[test]
fn registered_mock_driver_is_accepted() {
    let edits = [
        (format!("{T}/Driver"), json!("mock_driver")),
        (
            format!("{T}/Config"),
            json!({"run_for": "10s", "exit_code": 0}),
        ),
    ];
    let edits: Vec<(&str, Value)> = edits.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let opts = ValidateOptions {
        extra_drivers: vec!["mock_driver".into()],
    };
    assert_eq!(rendered_errors(&edits, &opts), "");
}

#[test]
fn max_parallel_over_count_is_a_warning() {
    let edits = [(format!("{TG}/Update"), json!({"MaxParallel": 3}))];
    let edits: Vec<(&str, Value)> = edits.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let v = validate_job(&prepared(&edits).job, &ValidateOptions::default());
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    assert_eq!(
        v.warnings.errors,
        vec!["Group \"web\" has warnings: 1 error(s) occurred:\n\n* Update max parallel count is greater than task group count (3 > 1). A destructive change would result in the simultaneous replacement of all allocations."]
    );
}

#[test]
fn validate_endpoint_body() {
    let opts = ValidateOptions::default();
    let valid = validate_response(&prepared(&[]), &opts);
    assert_eq!(
        serde_json::to_string(&valid).unwrap(),
        r#"{"DriverConfigValidated":true,"ValidationErrors":null,"Error":"","Warnings":""}"#
    );

    let edits = [
        ("/Priority", json!(0)),
        ("/Datacenters", json!([])),
        ("/TaskGroups/0/Update", json!({"MaxParallel": 2})),
    ];
    let mut job = prepared(&edits);
    job.warnings
        .push("Update stanza is disallowed for batch jobs since v0.6.0. The update block has automatically been removed".into());
    let body = validate_response(&job, &opts);
    assert_eq!(
        body.validation_errors,
        Some(vec![
            "Job priority must be between [1, 100]".to_string(),
            "Missing job datacenters".to_string()
        ])
    );
    assert_eq!(
        body.error,
        "2 error(s) occurred:\n\n* Job priority must be between [1, 100]\n* Missing job datacenters"
    );
    assert_eq!(
        body.warnings,
        "2 warning(s):\n\n* Update stanza is disallowed for batch jobs since v0.6.0. The update block has automatically been removed\n* Group \"web\" has warnings: 1 error(s) occurred:\n\n* Update max parallel count is greater than task group count (2 > 1). A destructive change would result in the simultaneous replacement of all allocations."
    );
    assert!(body.driver_config_validated);
}
