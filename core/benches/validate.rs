//! Validation of the perf "big job" (50 groups × 10 tasks, the shape of
//! /work/shared/perf/jobs.py `big_job`), and constraint checks per node.

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use std::hint::black_box;

use caravan_core::model::requests::JobRegisterRequest;
use caravan_core::model::{Constraint, Node};
use caravan_core::validate::ConstraintCache;
use caravan_core::validate::{validate_job, ValidateOptions};
use caravan_core::{gojson, prepare, Prepared};

/// The allocator of the `caravan` binary these paths run in.
#[path = "../../host-server/src/mialloc.rs"]
mod mialloc;

#[global_allocator]
static ALLOCATOR: mialloc::MiMalloc = mialloc::MiMalloc;

const SEC: u64 = 1_000_000_000;

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
                    "Timeout": 5 * SEC
                }]
            },
            {"Name": "${TASK}-admin", "PortLabel": "admin"}
        ],
        "LogConfig": {"MaxFiles": 10, "MaxFileSizeMB": 10},
        "Resources": {
            "CPU": 500,
            "MemoryMB": 256,
            "Networks": [{"MBits": 50, "DynamicPorts": [{"Label": "http"}, {"Label": "admin"}]}]
        },
        "Meta": {"foo": "bar", "index": k.to_string(), "group": group}
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
        "Tasks": tasks
    })
}

fn big_job() -> Value {
    let groups: Vec<Value> = (0..50).map(group).collect();
    json!({
        "ID": "big-job",
        "Name": "big-job",
        "Type": "service",
        "Priority": 50,
        "Datacenters": ["perf-none"],
        "Constraints": [{"LTarget": "${attr.kernel.name}", "RTarget": "linux", "Operand": "="}],
        "Meta": {"owner": "perf", "team": "caravan", "tier": "gold"},
        "TaskGroups": groups
    })
}

fn prepared_big_job() -> Prepared {
    let body = serde_json::to_vec(&json!({ "Job": big_job() })).expect("serializable");
    let request: JobRegisterRequest =
        gojson::from_slice(&body, "api.JobRegisterRequest").expect("big job decodes");
    prepare(request.job.expect("big job present"))
}

fn bench_validate(c: &mut Criterion) {
    let prepared = prepared_big_job();
    let opts = ValidateOptions::default();
    let sanity = validate_job(&prepared.job, &opts);
    assert!(sanity.errors.is_empty(), "{:?}", sanity.errors.render());

    c.bench_function("validate_job big job (50x10)", |b| {
        b.iter(|| validate_job(black_box(&prepared.job), &opts))
    });
}

fn bench_constraints(c: &mut Criterion) {
    let nodes: Vec<Node> = (0..1000)
        .map(|i| {
            let mut n = Node {
                id: format!("node-{i}"),
                datacenter: "dc1".into(),
                ..Node::default()
            };
            n.attributes
                .insert("nomad.version".into(), format!("0.6.{}", i % 5));
            n.attributes.insert("kernel.name".into(), "linux".into());
            n
        })
        .collect();
    let version = Constraint::new("${attr.nomad.version}", "version", ">= 0.6.1, < 0.7");
    let regexp = Constraint::new("${attr.kernel.name}", "regexp", "^(linux|darwin)$");
    // As a scheduling pass checks them: one cache for the pass.
    c.bench_function("satisfies version+regexp x1000 nodes", |b| {
        b.iter(|| {
            let mut cache = ConstraintCache::default();
            nodes
                .iter()
                .filter(|n| cache.satisfies(n, &version) && cache.satisfies(n, &regexp))
                .count()
        })
    });
}

criterion_group!(benches, bench_validate, bench_constraints);
criterion_main!(benches);
