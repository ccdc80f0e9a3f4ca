//! Diff of the perf "big job" pair (50 groups × 10 tasks, perf/jobs.py),
//! and the whole `/plan` request of W4c in process;
//! Nomad v0.6.3's in-process anchor for the same diff is ~24 ms.
//!
//! Both jobs are built as API JSON exactly like `big_job()` and
//! `big_job_modified()` (datacenter `dc1`, as in the Nomad anchor), decoded
//! and prepared like a submitted job, outside the timed loop.

use std::hint::black_box;

use caravan_core::diff::diff_jobs;
use caravan_core::model::requests::JobPlanRequest;
use caravan_core::scheduler::{plan_job, PlanOptions};
use caravan_core::validate::{validate_job, ValidateOptions};
use caravan_core::{gojson, json_out, prepare, ClusterState, Command};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

/// The allocator of the `caravan` binary these paths run in.
#[path = "../../host-server/src/mialloc.rs"]
mod mialloc;

#[global_allocator]
static ALLOCATOR: mialloc::MiMalloc = mialloc::MiMalloc;

#[path = "support/big_job.rs"]
mod big_job;
use big_job::{big_job, big_job_modified, prepared};

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
/// the original job (no nodes: every group fails), encode the response
/// (with `json_out`, as the server does).
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
        plan_job(&state, prepared.job, &opts).expect("plans")
    };
    let resp = run(&body);
    let encoded = json_out::to_vec(&resp).expect("encodes");
    assert_eq!(encoded, serde_json::to_vec(&resp).expect("encodes"));
    let out: Value = serde_json::from_slice(&encoded).expect("JSON");
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
        |b| b.iter(|| json_out::to_vec(&run(black_box(&body))).expect("encodes")),
    );
    // The encoding alone (~713 KB), with the server's encoder and serde_json's.
    c.bench_function("encode the W4c plan response, json_out", |b| {
        b.iter(|| json_out::to_vec(black_box(&resp)).expect("encodes"))
    });
    c.bench_function("encode the W4c plan response, serde_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&resp)).expect("encodes"))
    });
}

criterion_group!(benches, bench, plan_request);
criterion_main!(benches);
