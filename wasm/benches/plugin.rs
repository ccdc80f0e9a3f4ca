//! The plugin's cost against the linked core: call overhead, instantiation,
//! and the (N nodes, C allocations) placement workloads through
//! `PluginScheduler` (the state serialized per call) and `ResidentScheduler`
//! (a replica fed the logged commands, as `-scheduler-plugin` runs it) vs
//! the native scheduler.
//!
//! `cargo bench -p caravan-wasm --features host --bench plugin`

#[path = "../tests/built_plugin/mod.rs"]
mod built_plugin;

use std::collections::BTreeMap;
use std::time::Duration;

use caravan_core::model::{Job, NetworkResource, Node, Resources};
use caravan_core::scheduler::{plan_job, PlanOptions};
use caravan_core::state::{Reply, StateConfig};
use caravan_core::{prepare, ClusterState, Command, Evaluation};
use caravan_wasm::host::{Limits, PluginScheduler, ResidentScheduler};
use caravan_wasm::Op;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};

const NOW: i64 = 1_795_737_600_000_000_000;

fn node(i: usize) -> Node {
    let mut attributes = BTreeMap::new();
    for (k, v) in [
        ("kernel.name", "linux"),
        ("cpu.arch", "amd64"),
        ("driver.raw_exec", "1"),
        ("driver.exec", "1"),
        ("nomad.version", "0.6.3"),
    ] {
        attributes.insert(k.to_string(), v.to_string());
    }
    attributes.insert("unique.hostname".into(), format!("node-{i}"));
    let mut n = Node {
        id: format!("{:08x}-0000-4000-8000-{:012x}", i, i),
        name: format!("node-{i}"),
        datacenter: "dc1".into(),
        attributes,
        resources: Some(Resources {
            cpu: 4000,
            memory_mb: 8192,
            disk_mb: 100_000,
            networks: vec![NetworkResource {
                device: "eth0".into(),
                cidr: format!("10.{}.{}.{}/32", i >> 16, (i >> 8) & 255, i & 255),
                ip: format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
                mbits: 1000,
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: "ready".into(),
        ..Default::default()
    };
    n.compute_class();
    n
}

fn cluster(nodes: usize) -> ClusterState {
    let mut state = ClusterState::new(StateConfig::default());
    for i in 0..nodes {
        state
            .apply(Command::UpsertNode {
                node: Box::new(node(i)),
            })
            .expect("node registers");
    }
    state
}

fn job(count: usize) -> Job {
    let body = serde_json::json!({"ID": "bench", "Datacenters": ["dc1"], "TaskGroups": [{"Name": "web", "Count": count,
        "Tasks": [{"Name": "server", "Driver": "raw_exec", "Config": {"command": "/bin/sleep", "args": ["600"]},
                   "Resources": {"CPU": 100, "MemoryMB": 64}}]}]});
    let api = caravan_core::gojson::from_value(&body, "api.Job").expect("bench job decodes");
    prepare(api).job
}

/// The state with the job registered and its pending evaluation.
fn registered(state: &ClusterState, job: &Job) -> (ClusterState, Evaluation) {
    let mut state = state.clone();
    let applied = state
        .apply(Command::RegisterJob {
            job: Box::new(job.clone()),
            enforce_index: false,
            job_modify_index: 0,
            eval_id: "00000000-0000-4000-8000-000000000001".into(),
            now: NOW,
        })
        .expect("job registers");
    let Reply::Register(reply) = applied.reply else {
        panic!("register reply")
    };
    let eval = state.eval(&reply.eval_id).expect("eval").as_ref().clone();
    (state, eval)
}

fn overhead(c: &mut Criterion) {
    let plugin = built_plugin::plugin(Limits::default());
    let request = br#"{"Job":{"ID":"web","TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec"}]}]}}"#;
    let mut g = c.benchmark_group("call");
    g.bench_function("validate/native", |b| {
        b.iter(|| caravan_wasm::call(Op::Validate, request))
    });
    g.bench_function("validate/plugin-fresh-instance", |b| {
        b.iter(|| plugin.call_raw(Op::Validate, request).expect("answer"))
    });
    let mut session = plugin.session().expect("session");
    g.bench_function("validate/plugin-same-instance", |b| {
        b.iter(|| session.call_raw(Op::Validate, request).expect("answer"))
    });
    g.bench_function("instantiate", |b| {
        b.iter(|| plugin.session().expect("session"))
    });
    g.finish();
}

fn placement(c: &mut Criterion) {
    let scheduler = PluginScheduler::new(built_plugin::plugin(Limits::default()));
    // Borrowed by both the setup and the measured closure of `iter_batched`.
    let resident = std::cell::RefCell::new(ResidentScheduler::new(built_plugin::plugin(
        Limits::default(),
    )));
    let mut g = c.benchmark_group("placement");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (n, count) in [(1000, 1000), (5000, 5000)] {
        let state = cluster(n);
        let job = job(count);
        let opts = PlanOptions {
            diff: true,
            seed: 42,
            now: NOW,
        };
        let id = format!("{n}x{count}");
        g.bench_with_input(BenchmarkId::new("plan/native", &id), &(), |b, _| {
            b.iter_batched(
                || job.clone(),
                |job| plan_job(&state, job, &opts).expect("plan"),
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("plan/plugin", &id), &(), |b, _| {
            b.iter(|| scheduler.plan_job(&state, &job, &opts).expect("plan"))
        });
        resident
            .borrow_mut()
            .load(&state)
            .expect("the replica loads");
        g.bench_with_input(
            BenchmarkId::new("plan/plugin-resident", &id),
            &(),
            |b, _| b.iter(|| resident.borrow_mut().plan_job(&job, &opts).expect("plan")),
        );
        let (with_job, eval) = registered(&state, &job);
        g.bench_with_input(BenchmarkId::new("schedule/native", &id), &(), |b, _| {
            b.iter_batched(
                || with_job.clone(),
                |mut s| caravan_wasm::ops::run_eval(&mut s, eval.clone(), 42).expect("schedule"),
                BatchSize::PerIteration,
            )
        });
        g.bench_with_input(BenchmarkId::new("schedule/plugin", &id), &(), |b, _| {
            b.iter(|| scheduler.schedule(&with_job, &eval, 42).expect("schedule"))
        });
        // As the server runs it: the plugin hands out each write, the host
        // decodes and applies it and logs the guest's encoding; that
        // entry comes back to the replica, which applies the copy it kept.
        // The replica's reload between iterations is setup, not measured.
        g.bench_with_input(
            BenchmarkId::new("schedule/plugin-resident", &id),
            &(),
            |b, _| {
                b.iter_batched(
                    || {
                        resident
                            .borrow_mut()
                            .load(&with_job)
                            .expect("the replica loads");
                        with_job.clone()
                    },
                    |mut host| {
                        let mut resident = resident.borrow_mut();
                        resident.eval_start(&eval, 42).expect("eval_start");
                        loop {
                            let step = resident.eval_next(NOW).expect("eval_next");
                            let Some(command) = step.command else { break };
                            let logged = step.encoded.expect("the write's encoding");
                            host.apply(command).expect("the write applies");
                            resident
                                .apply_encoded([logged.as_slice()])
                                .expect("the replica applies");
                        }
                        host
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    g.finish();
}

criterion_group!(benches, overhead, placement);
criterion_main!(benches);
