//! Diff of the perf "big job" pair (50 groups × 10 tasks, perf/jobs.py),
//! and the whole `/plan` request of W4c in process;
//! Nomad v0.6.3's in-process anchor for the same diff is ~24 ms.
//!
//! Both jobs are built as API JSON exactly like `big_job()` and
//! `big_job_modified()` (datacenter `dc1`, as in the Nomad anchor), decoded
//! and prepared like a submitted job, outside the timed loop.

use std::hint::black_box;

use caravan_core::diff::diff_jobs;
use caravan_core::model::requests::{JobPlanRequest, JobRegisterRequest};
use caravan_core::scheduler::{plan_job, PlanOptions};
use caravan_core::validate::{validate_job, ValidateOptions};
use caravan_core::{gojson, prepare, ClusterState, Command, Job};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

/// The allocator of the `caravan` binary these paths run in.
#[path = "../../host-server/src/mialloc.rs"]
mod mialloc;

#[global_allocator]
static ALLOCATOR: mialloc::MiMalloc = mialloc::MiMalloc;

const SEC: i64 = 1_000_000_000;

fn task(g: usize, k: usize, group: &str) -> Value {
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

fn group(g: usize) -> Value {
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

fn big_job() -> Value {
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
fn big_job_modified(orig: &Value) -> Value {
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

fn prepared(job: Value) -> Job {
    let body = serde_json::to_vec(&json!({ "Job": job })).expect("JSON");
    let req: JobRegisterRequest =
        gojson::from_slice(&body, "api.JobRegisterRequest").expect("valid request");
    prepare(req.job.expect("has a job")).job
}

fn bench(c: &mut Criterion) {
    let raw = big_job();
    let old = prepared(raw.clone());
    let new = prepared(big_job_modified(&raw));
    let copy = old.clone();

    // The documented shape: job Edited, 55 groups (45 edited, 5 added, 5 deleted).
    let d = diff_jobs(Some(&old), Some(&new), true).expect("same ID");
    let count = |t| d.task_groups.iter().filter(|g| g.diff_type == t).count();
    use caravan_core::diff::DiffType::*;
    assert_eq!(d.diff_type, Edited);
    assert_eq!(
        (
            d.task_groups.len(),
            count(Edited),
            count(Added),
            count(Deleted)
        ),
        (55, 45, 5, 5)
    );

    c.bench_function("diff big job, contextual (plan)", |b| {
        b.iter(|| diff_jobs(Some(black_box(&old)), Some(black_box(&new)), true))
    });
    c.bench_function("diff big job, not contextual", |b| {
        b.iter(|| diff_jobs(Some(black_box(&old)), Some(black_box(&new)), false))
    });
    c.bench_function("diff big job, identical copy", |b| {
        b.iter(|| diff_jobs(Some(black_box(&old)), Some(black_box(&copy)), false))
    });
}

/// What the server does for W4c (`/plan` of the modified big job with
/// `Diff`, ../shared/perf) between reading the body and writing the
/// response: decode, canonicalize, validate, plan against a state holding
/// the original job (no nodes: every group fails), encode the response.
fn plan_request(c: &mut Criterion) {
    let raw = big_job();
    let mut state = ClusterState::default();
    state
        .apply(Command::RegisterJob {
            job: Box::new(prepared(raw.clone())),
            enforce_index: false,
            job_modify_index: 0,
            eval_id: "8a1c6f7e-0000-4000-8000-000000000001".into(),
            now: 1,
        })
        .expect("register");
    let body =
        serde_json::to_vec(&json!({"Job": big_job_modified(&raw), "Diff": true})).expect("JSON");
    let opts = PlanOptions {
        diff: true,
        seed: 42,
        now: 1_798_761_600_000_000_000,
    };
    let run = |body: &[u8]| {
        let req: JobPlanRequest = gojson::from_slice(body, "api.JobPlanRequest").expect("decodes");
        let prepared = prepare(req.job.expect("has a job"));
        let validation = validate_job(&prepared.job, &ValidateOptions::default());
        assert!(validation.errors.render().is_none());
        let resp = plan_job(&state, prepared.job, &opts).expect("plans");
        serde_json::to_vec(&resp).expect("encodes")
    };
    let out: Value = serde_json::from_slice(&run(&body)).expect("JSON");
    assert_eq!(out["Diff"]["Type"], "Edited");
    assert_eq!(out["Diff"]["TaskGroups"].as_array().map(Vec::len), Some(55));
    assert_eq!(out["FailedTGAllocs"].as_object().map(|m| m.len()), Some(50));
    c.bench_function("decode the W4c plan body (419 KB)", |b| {
        b.iter(|| {
            gojson::from_slice::<JobPlanRequest>(black_box(&body), "api.JobPlanRequest")
                .expect("decodes")
        })
    });
    c.bench_function(
        "plan request of the modified big job (W4c in process)",
        |b| b.iter(|| run(black_box(&body))),
    );
}

criterion_group!(benches, bench, plan_request);
criterion_main!(benches);
