//! Work split over a [`Fork`] gives what the sequential code gives: the
//! W4c plan (50 groups × 10 tasks, diffed against the registered job), its
//! JSON and its request body's decoding, with halves on real threads and
//! with the second half run first.

use std::sync::atomic::{AtomicUsize, Ordering};

use caravan_core::fork::{Fork, SecondFirst, Sequential};
use caravan_core::model::api::ApiTaskGroup;
use caravan_core::model::requests::JobPlanRequest;
use caravan_core::scheduler::{plan_job, plan_job_forked, PlanOptions, PlanResponse};
use caravan_core::{gojson, json_out, ClusterState, Command, Job};
use serde_json::json;

#[path = "../benches/support/big_job.rs"]
mod big_job;
use big_job::{big_job, big_job_modified, prepared};

/// Halves on two threads, counting joins.
#[derive(Default)]
struct Threads {
    joins: AtomicUsize,
}

impl Fork for Threads {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        self.joins.fetch_add(1, Ordering::Relaxed);
        std::thread::scope(|s| {
            let b = s.spawn(b);
            let a = a();
            (a, b.join().expect("second half"))
        })
    }
}

fn registered(job: Job) -> ClusterState {
    let mut state = ClusterState::default();
    state
        .apply(Command::RegisterJob {
            job: Box::new(job),
            enforce_index: false,
            job_modify_index: 0,
            eval_id: "8a1c6f7e-0000-4000-8000-000000000001".into(),
            now: 1,
        })
        .expect("register");
    state
}

const OPTS: PlanOptions = PlanOptions {
    diff: true,
    seed: 42,
    now: 1_798_761_600_000_000_000,
};

/// The W4c plan, sequentially.
fn w4c() -> (ClusterState, Job, PlanResponse) {
    let raw = big_job();
    let new = prepared(big_job_modified(&raw));
    let state = registered(prepared(raw));
    let resp = plan_job(&state, new.clone(), &OPTS).expect("plans");
    (state, new, resp)
}

#[test]
fn a_forked_plan_is_the_sequential_plan() {
    let (state, new, sequential) = w4c();
    let threads = Threads::default();
    let forked = plan_job_forked(&state, new.clone(), &OPTS, &threads).expect("plans");
    assert!(forked == sequential, "forked plan differs");
    // The diff's two halves, then the job's halves freed.
    assert_eq!(threads.joins.load(Ordering::Relaxed), 2);
    let reversed = plan_job_forked(&state, new, &OPTS, &SecondFirst::default()).expect("plans");
    assert!(
        reversed == sequential,
        "plan with the halves reversed differs"
    );
    let diff = sequential.diff.as_ref().expect("diff asked for");
    assert_eq!(diff.task_groups.len(), 55);
    assert_eq!(
        sequential.failed_tg_allocs.as_ref().map(|f| f.len()),
        Some(50)
    );
}

#[test]
fn a_forked_encoding_is_json_out_byte_for_byte() {
    let (_, _, resp) = w4c();
    let whole = json_out::to_vec(&resp).expect("encodes");
    for bytes in [
        resp.to_json_forked(&Threads::default()),
        resp.to_json_forked(&SecondFirst::default()),
        resp.to_json_forked(&Sequential),
    ] {
        assert!(bytes.expect("encodes") == whole, "forked JSON differs");
    }
    assert!(whole.len() > 500_000);

    // Short group lists, empty field lists (nil: null), no diff at all.
    let mut small = resp.clone();
    let diff = small.diff.as_mut().expect("diff");
    diff.task_groups.truncate(3);
    diff.fields.clear();
    diff.objects.clear();
    let mut no_diff = resp.clone();
    no_diff.diff = None;
    no_diff.failed_tg_allocs = None;
    no_diff.created_evals = None;
    let mut empty_lists = resp.clone();
    empty_lists.diff.as_mut().expect("diff").fields.clear();
    for r in [small, no_diff, empty_lists, PlanResponse::default()] {
        let whole = json_out::to_vec(&r).expect("encodes");
        let forked = r.to_json_forked(&Threads::default()).expect("encodes");
        assert_eq!(
            String::from_utf8_lossy(&forked),
            String::from_utf8_lossy(&whole)
        );
    }
}

fn decode_split(body: &[u8], fork: &impl Fork) -> Result<JobPlanRequest, gojson::GoJsonError> {
    gojson::from_slice_split::<JobPlanRequest, ApiTaskGroup>(
        body,
        "api.JobPlanRequest",
        &["Job", "TaskGroups"],
        2,
        fork,
        |r, groups| {
            if let Some(job) = &mut r.job {
                job.task_groups = Some(groups);
            }
        },
    )
}

#[test]
fn a_forked_decoding_is_the_sequential_decoding() {
    let body = serde_json::to_vec(&json!({
        "Job": big_job_modified(&big_job()),
        "Diff": true,
    }))
    .expect("body");
    let whole: JobPlanRequest = gojson::from_slice(&body, "api.JobPlanRequest").expect("decodes");
    let groups = whole.job.as_ref().and_then(|j| j.task_groups.as_ref());
    assert_eq!(groups.map(Vec::len), Some(50));
    let threads = Threads::default();
    assert!(decode_split(&body, &threads).expect("decodes") == whole);
    assert_eq!(threads.joins.load(Ordering::Relaxed), 1);
    assert!(decode_split(&body, &SecondFirst::default()).expect("decodes") == whole);

    // A type error in the last group, another in a field after the groups:
    // Go reports the first one in document order, whichever half saw it.
    let mut bad: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    bad["Job"]["TaskGroups"][49]["Count"] = json!("3");
    bad["Job"]["Priority"] = json!("high");
    let bad = serde_json::to_vec(&bad).expect("body");
    let expected =
        gojson::from_slice::<JobPlanRequest>(&bad, "api.JobPlanRequest").expect_err("type errors");
    let got = decode_split(&bad, &threads).expect_err("type errors");
    assert_eq!(got.0, expected.0);
}

#[test]
fn a_forked_preparation_is_the_sequential_preparation() {
    let base = big_job_modified(&big_job());
    // The job-level rules after the group loop: an old-style update block
    // rewritten into every group, and a batch job's updates removed.
    let mut old_update = base.clone();
    old_update["Update"] = json!({"Stagger": 10_000_000_000i64, "MaxParallel": 3});
    let mut batch = old_update.clone();
    batch["Type"] = json!("batch");
    // Implicit constraints from a task's vault block and signal templates.
    let mut vault = base.clone();
    vault["TaskGroups"][7]["Tasks"][2]["Vault"] =
        json!({"Policies": ["p"], "ChangeMode": "signal", "ChangeSignal": "sighup"});
    for job in [base, old_update, batch, vault] {
        let body = serde_json::to_vec(&json!({ "Job": job })).expect("body");
        let req: caravan_core::model::requests::JobRegisterRequest =
            gojson::from_slice(&body, "api.JobRegisterRequest").expect("decodes");
        let api = req.job.expect("job");
        let sequential = caravan_core::prepare(api.clone());
        let threads = Threads::default();
        let forked = caravan_core::prepare_forked(api.clone(), &threads);
        assert!(forked == sequential, "forked preparation differs");
        assert_eq!(threads.joins.load(Ordering::Relaxed), 1);
        let reversed = caravan_core::prepare_forked(api, &SecondFirst::default());
        assert!(reversed == sequential, "reversed preparation differs");
        assert_eq!(sequential.job.task_groups.len(), 50);
    }
    // The rules did apply: a warning each for the update rewrites.
    let mut batch = big_job();
    batch["Type"] = json!("batch");
    batch["Update"] = json!({"Stagger": 10_000_000_000i64, "MaxParallel": 3});
    let body = serde_json::to_vec(&json!({ "Job": batch })).expect("body");
    let req: caravan_core::model::requests::JobRegisterRequest =
        gojson::from_slice(&body, "api.JobRegisterRequest").expect("decodes");
    let prepared = caravan_core::prepare_forked(req.job.expect("job"), &Threads::default());
    assert_eq!(prepared.warnings.len(), 1, "{:?}", prepared.warnings);
    assert!(prepared.job.task_groups.iter().all(|g| g.update.is_none()));
}

#[test]
fn a_forked_validation_lists_the_sequential_errors() {
    use caravan_core::validate::{validate_job, validate_job_forked, ValidateOptions};
    let mut job = prepared(big_job_modified(&big_job()));
    // Errors in groups of both halves, and a job-level one before them.
    job.priority = 0;
    job.task_groups[3].count = -1;
    job.task_groups[3].tasks[4]
        .resources
        .as_mut()
        .expect("resources")
        .cpu = 1;
    job.task_groups[40].tasks[0].name = String::new();
    job.task_groups[41].name = job.task_groups[40].name.clone();
    let opts = ValidateOptions::default();
    let sequential = validate_job(&job, &opts);
    let text = sequential.errors.render().expect("errors");
    assert!(text.starts_with("4 error(s) occurred:"), "{text}");
    let first = text
        .find("Task group g03 validation failed")
        .expect("group 3");
    let second = text
        .find("Task group g40 validation failed")
        .expect("group 40");
    assert!(first < second, "{text}");
    let threads = Threads::default();
    let forked = validate_job_forked(&job, &opts, &threads);
    assert_eq!(forked.errors.render().as_deref(), Some(text.as_str()));
    assert_eq!(forked.warnings.render(), sequential.warnings.render());
    assert_eq!(threads.joins.load(Ordering::Relaxed), 1);
    let reversed = validate_job_forked(&job, &opts, &SecondFirst::default());
    assert_eq!(reversed.errors.render().as_deref(), Some(text.as_str()));
}
