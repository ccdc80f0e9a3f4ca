//! `json_out` against `serde_json` on real model values: the perf big job,
//! its diff and the whole W4c plan response.

use caravan_core::diff::diff_jobs;
use caravan_core::scheduler::{plan_job, PlanOptions};
use caravan_core::{json_out, ClusterState, Command};
use serde::Serialize;
use serde_json::Value;

#[path = "../benches/support/big_job.rs"]
mod big_job;
use big_job::{big_job, big_job_modified, prepared};

/// Encodes `v` with both encoders, asserts the bytes are equal and
/// returns them.
fn same<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    let ours = json_out::to_vec(v).expect("json_out encodes");
    let theirs = serde_json::to_vec(v).expect("serde_json encodes");
    assert!(ours == theirs, "json_out and serde_json differ");
    ours
}

#[test]
fn the_big_job_encodes_as_serde_json_does() {
    let raw = big_job();
    same(&raw);
    let job = prepared(raw);
    let bytes = same(&job);
    let back: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(back["TaskGroups"].as_array().map(Vec::len), Some(50));
    assert_eq!(back["TaskGroups"][3]["Tasks"][9]["Name"], "t09");
}

#[test]
fn the_w4c_plan_response_encodes_as_serde_json_does() {
    let raw = big_job();
    let old = prepared(raw.clone());
    let new = prepared(big_job_modified(&raw));
    same(&diff_jobs(Some(&old), Some(&new), true).expect("same ID"));
    same(&diff_jobs(Some(&old), Some(&new), false).expect("same ID"));

    let mut state = ClusterState::default();
    state
        .apply(Command::RegisterJob {
            job: Box::new(old),
            enforce_index: false,
            job_modify_index: 0,
            eval_id: "8a1c6f7e-0000-4000-8000-000000000001".into(),
            now: 1,
        })
        .expect("register");
    let opts = PlanOptions {
        diff: true,
        seed: 42,
        now: 1_798_761_600_000_000_000,
    };
    let resp = plan_job(&state, new, &opts).expect("plans");
    let bytes = same(&resp);
    assert!(bytes.len() > 500_000, "{} bytes", bytes.len());
    let back: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(back["Diff"]["Type"], "Edited");
    assert_eq!(
        back["FailedTGAllocs"].as_object().map(|m| m.len()),
        Some(50)
    );
}
