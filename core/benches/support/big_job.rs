//! The perf "big job" pair (50 groups × 10 tasks, perf/jobs.py) as API
//! JSON, shared by the diff bench and the encoder's equality tests.

use caravan_core::model::requests::JobRegisterRequest;
use caravan_core::{gojson, prepare, Job};
use serde_json::{json, Value};

const SEC: i64 = 1_000_000_000;

pub fn task(g: usize, k: usize, group: &str) -> Value {
    let env: serde_json::Map<String, Value> = (0..5)
        .map(|e| (format!("ENV_{e}"), json!(format!("value-{g}-{k}-{e}"))))
        .collect();
    json!({
        "Name": format!("t{k:02}"),
        "Driver": "exec",
        "Config": {"command": "/bin/date"},
        "Env": env,
        "Services": [
            {
                "Name": "${TASK}-frontend",
                "PortLabel": "http",
                "Tags": ["pci:${meta.pci-dss}", "datacenter:${node.datacenter}"],
                "Checks": [{
                    "Name": "check-table",
                    "Type": "script",
                    "Command": "/usr/local/check-table-${meta.database}",
                    "Args": ["${meta.version}"],
                    "Interval": 30 * SEC,
                    "Timeout": 5 * SEC,
                }],
            },
            {"Name": "${TASK}-admin", "PortLabel": "admin"},
        ],
        "LogConfig": {"MaxFiles": 10, "MaxFileSizeMB": 10},
        "Resources": {
            "CPU": 500,
            "MemoryMB": 256,
            "Networks": [{"MBits": 50, "DynamicPorts": [{"Label": "http"}, {"Label": "admin"}]}],
        },
        "Meta": {"foo": "bar", "index": k.to_string(), "group": group},
    })
}

pub fn group(g: usize) -> Value {
    let name = format!("g{g:02}");
    let tasks: Vec<Value> = (0..10).map(|k| task(g, k, &name)).collect();
    json!({
        "Name": name,
        "Count": 3,
        "EphemeralDisk": {"SizeMB": 150},
        "RestartPolicy": {"Attempts": 3, "Interval": 600 * SEC, "Delay": 60 * SEC, "Mode": "delay"},
        "Meta": {"elb_check_type": "http", "elb_check_interval": "30s", "elb_check_min": "3", "group": name},
        "Tasks": tasks,
    })
}

pub fn big_job() -> Value {
    let groups: Vec<Value> = (0..50).map(group).collect();
    json!({
        "ID": "big-job",
        "Name": "big-job",
        "Type": "service",
        "Priority": 50,
        "Datacenters": ["dc1"],
        "Constraints": [{"LTarget": "${attr.kernel.name}", "RTarget": "linux", "Operand": "="}],
        "Meta": {"owner": "perf", "team": "caravan", "tier": "gold"},
        "TaskGroups": groups,
    })
}

/// Job meta tier→silver; g00..g44: count 3→4, group meta elb_check_min→4,
/// every task ENV_0→"changed", ENV_NEW added, meta foo removed, first
/// service gains tag v2; g45..g49 replaced by n45..n49 (copies of g00).
pub fn big_job_modified(orig: &Value) -> Value {
    let mut j = orig.clone();
    j["Meta"]["tier"] = json!("silver");
    let mut groups: Vec<Value> = orig["TaskGroups"]
        .as_array()
        .map(|g| g[..45].to_vec())
        .unwrap_or_default();
    for tg in &mut groups {
        tg["Count"] = json!(4);
        tg["Meta"]["elb_check_min"] = json!("4");
        for t in tg["Tasks"].as_array_mut().into_iter().flatten() {
            t["Env"]["ENV_0"] = json!("changed");
            t["Env"]["ENV_NEW"] = json!("new");
            t["Meta"].as_object_mut().map(|m| m.remove("foo"));
            if let Some(tags) = t["Services"][0]["Tags"].as_array_mut() {
                tags.push(json!("v2"));
            }
        }
    }
    for g in 45..50 {
        let mut tg = orig["TaskGroups"][0].clone();
        tg["Name"] = json!(format!("n{g:02}"));
        groups.push(tg);
    }
    j["TaskGroups"] = Value::Array(groups);
    j
}

pub fn prepared(job: Value) -> Job {
    let body = serde_json::to_vec(&json!({ "Job": job })).expect("JSON");
    let req: JobRegisterRequest =
        gojson::from_slice(&body, "api.JobRegisterRequest").expect("valid request");
    prepare(req.job.expect("has a job")).job
}
