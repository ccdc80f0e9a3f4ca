//! Replays the job diffs recorded from a real Nomad v0.6.3 (main and
//! multi-node corpus): every `/plan` with `"Diff": true`, `/versions` diffs.
//!
//! The old job of a plan is the job stored at that point of the scenario,
//! rebuilt from the recorded register request (or the recorded versions);
//! the new job is the plan's job, prepared the same way. Each diff is
//! compared first without annotations, then annotated with the recorded
//! `DesiredTGUpdates`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use caravan_core::diff::{annotate, diff_jobs};
use caravan_core::gojson;
use caravan_core::model::requests::{JobPlanRequest, JobRegisterRequest};
use caravan_core::scheduler::plan::PlanAnnotations;
use caravan_core::{prepare, Job};
use serde_json::Value;

const MAIN: &str = "nomad-0.6.3";
const MULTINODE: &str = "nomad-0.6.3-multinode";

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A case of the main corpus, or `"<corpus>/<file>"`.
fn case(file: &str) -> Value {
    let (dir, file) = file.split_once('/').unwrap_or((MAIN, file));
    let path = corpus(dir).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn request_bytes(case: &Value) -> Vec<u8> {
    match case["request"].get("raw_body").and_then(Value::as_str) {
        Some(raw) => raw.as_bytes().to_vec(),
        None => serde_json::to_vec(&case["request"]["body"]).expect("body serializes"),
    }
}

fn response_body(case: &Value) -> Value {
    let text = case["response"]["body"].as_str().expect("recorded body");
    serde_json::from_str(text).expect("JSON response body")
}

/// The stored job a register request leads to.
fn registered(file: &str) -> Job {
    let req: JobRegisterRequest =
        gojson::from_slice(&request_bytes(&case(file)), "api.JobRegisterRequest")
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
    prepare(req.job.expect("register body has a job")).job
}

/// The job a plan request diffs.
fn planned(case: &Value) -> Job {
    let req: JobPlanRequest = gojson::from_slice(&request_bytes(case), "api.JobPlanRequest")
        .unwrap_or_else(|e| panic!("{e:?}"));
    prepare(req.job.expect("plan body has a job")).job
}

/// One version of a recorded `/versions` response (newest first).
fn version(file: &str, index: usize) -> Job {
    let body = response_body(&case(file));
    serde_json::from_value(body["Versions"][index].clone())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The body the recorder sent for `system-register` (record.py:
/// `simple_job("systemjob", jtype="system")`); that case is not in the
/// visible corpus, and the later plan only adds `Env {"S": "1"}` to it.
const SYSTEM_REGISTER: &str = r#"{"Job": {"ID": "systemjob", "Name": "systemjob",
  "Type": "system", "Priority": 50, "Datacenters": ["dc1"],
  "TaskGroups": [{"Name": "web", "Count": 1, "Tasks": [{"Name": "server",
  "Driver": "raw_exec", "Config": {"command": "/bin/sleep", "args": ["600"]},
  "Resources": {"CPU": 100, "MemoryMB": 64}}]}]}}"#;

enum Old {
    /// No job with that ID is stored.
    Missing,
    /// Stored by this recorded register request.
    Register(&'static str),
    /// A version listed in a recorded `/versions` response.
    Version(&'static str, usize),
    /// Stored by a register request given in full.
    Body(&'static str),
}

/// Every visible plan case with `"Diff": true` and a diff in its answer,
/// with where its stored job comes from.
const PLANS: &[(&str, Old)] = &[
    ("052-plan-new-job.json", Old::Missing),
    (
        "055-plan-identical.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "057-plan-count-up.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "059-plan-config-change.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "062-plan-env-change.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "063-plan-task-meta-change.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "064-plan-job-meta-add.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "066-plan-add-task.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "069-plan-remove-group.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "070-plan-constraint-add.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "071-plan-constraint-unsatisfiable.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "074-plan-driver-missing.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "075-plan-multi-change.json",
        Old::Register("054-planjob-register.json"),
    ),
    (
        "076-plan-update-stanza-rolling.json",
        Old::Register("054-planjob-register.json"),
    ),
    ("077-plan-new-constraint-unmet.json", Old::Missing),
    ("078-plan-new-cpu-too-large.json", Old::Missing),
    ("082-plan-new-distinct-hosts.json", Old::Missing),
    (
        "088-plan-binstore-image-change.json",
        Old::Register("006-register-binstore.json"),
    ),
    (
        "089-plan-binstore-identical.json",
        Old::Register("006-register-binstore.json"),
    ),
    ("090-plan-via-jobs-path.json", Old::Missing),
    ("105-valid-name-defaults-to-id.json", Old::Missing),
    ("121-valid-missing-resources.json", Old::Missing),
    ("127-valid-constraint-distinct-hosts.json", Old::Missing),
    ("149-invalid-unknown-fields.json", Old::Missing),
    (
        "157-param-req-plan.json",
        Old::Register("153-param-req-register.json"),
    ),
    (
        "190-periodic-plan-identical.json",
        Old::Register("187-periodic-register.json"),
    ),
    (
        "201-periodic-disabled-plan.json",
        Old::Register("199-periodic-disabled-register.json"),
    ),
    (
        "211-batch-plan-identical.json",
        Old::Register("207-batch-register.json"),
    ),
    ("214-system-plan-change.json", Old::Body(SYSTEM_REGISTER)),
    // deljob was registered (not visible) and then stopped: the stored job
    // is the newest version, listed by delete-versions-after.
    (
        "259-delete-plan-after.json",
        Old::Version("258-delete-versions-after.json", 0),
    ),
    ("nomad-0.6.3-multinode/009-binpack-plan.json", Old::Missing),
    ("nomad-0.6.3-multinode/024-distinct-plan.json", Old::Missing),
    (
        "nomad-0.6.3-multinode/029-con-class-plan.json",
        Old::Missing,
    ),
    ("nomad-0.6.3-multinode/034-con-none-plan.json", Old::Missing),
    ("nomad-0.6.3-multinode/044-memhog-plan.json", Old::Missing),
    ("nomad-0.6.3-multinode/054-span-plan.json", Old::Missing),
    ("nomad-0.6.3-multinode/060-sys-plan.json", Old::Missing),
    ("nomad-0.6.3-multinode/071-batch-plan.json", Old::Missing),
    ("nomad-0.6.3-multinode/078-scale-plan.json", Old::Missing),
    (
        "nomad-0.6.3-multinode/083-scale-up-plan.json",
        Old::Register("nomad-0.6.3-multinode/079-scale-register.json"),
    ),
    (
        "nomad-0.6.3-multinode/086-scale-down-plan.json",
        Old::Register("nomad-0.6.3-multinode/084-scale-up.json"),
    ),
    ("nomad-0.6.3-multinode/090-upd-plan.json", Old::Missing),
    (
        "nomad-0.6.3-multinode/095-upd-inplace-plan.json",
        Old::Register("nomad-0.6.3-multinode/091-upd-register.json"),
    ),
    ("nomad-0.6.3-multinode/118-anti-plan.json", Old::Missing),
];

fn old_job(old: &Old) -> Option<Job> {
    match old {
        Old::Missing => None,
        Old::Register(file) => Some(registered(file)),
        Old::Version(file, index) => Some(version(file, *index)),
        Old::Body(body) => {
            let req: JobRegisterRequest =
                gojson::from_slice(body.as_bytes(), "api.JobRegisterRequest")
                    .unwrap_or_else(|e| panic!("{e:?}"));
            Some(prepare(req.job.expect("body has a job")).job)
        }
    }
}

/// The recorded diff without what plan annotation adds.
fn strip_annotations(diff: &Value) -> Value {
    let mut diff = diff.clone();
    for group in diff["TaskGroups"].as_array_mut().into_iter().flatten() {
        group["Updates"] = Value::Null;
        for f in group["Fields"].as_array_mut().into_iter().flatten() {
            f["Annotations"] = Value::Null;
        }
        for task in group["Tasks"].as_array_mut().into_iter().flatten() {
            task["Annotations"] = Value::Null;
        }
    }
    diff
}

fn check_plan(file: &str, old: &Old) -> Result<(), String> {
    let case = case(file);
    let body = response_body(&case);
    let want = &body["Diff"];
    let new = planned(&case);
    let mut diff = diff_jobs(old_job(old).as_ref(), Some(&new), true)?;
    let got = serde_json::to_value(&diff).map_err(|e| e.to_string())?;
    if got != strip_annotations(want) {
        return Err(format!(
            "before annotations:\n got  {got}\n want {}",
            strip_annotations(want)
        ));
    }
    let annotations: PlanAnnotations = serde_json::from_value(body["Annotations"].clone())
        .map_err(|e| format!("annotations: {e}"))?;
    annotate(&mut diff, &annotations);
    let got = serde_json::to_value(&diff).map_err(|e| e.to_string())?;
    if &got != want {
        return Err(format!("annotated:\n got  {got}\n want {want}"));
    }
    Ok(())
}

#[test]
fn plan_diffs_match_nomad() {
    let failures: Vec<String> = PLANS
        .iter()
        .filter_map(|(file, old)| check_plan(file, old).err().map(|e| format!("{file}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_recorded_plan_diff_is_replayed() {
    let mut recorded = BTreeSet::new();
    let files = [MAIN, MULTINODE].into_iter().flat_map(|dir| {
        std::fs::read_dir(corpus(dir))
            .expect("corpus directory")
            .map(move |e| {
                let file = e
                    .expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .to_string();
                if dir == MAIN {
                    file
                } else {
                    format!("{dir}/{file}")
                }
            })
    });
    for name in files {
        if !name.ends_with(".json") || name.ends_with("index.json") {
            continue;
        }
        let case = case(&name);
        let is_plan = case["request"]["path"]
            .as_str()
            .is_some_and(|p| p.split('?').next().is_some_and(|p| p.ends_with("/plan")));
        let wants_diff = case["request"]["body"]["Diff"] == Value::Bool(true);
        let answered = case["response"]["status"] == 200;
        if is_plan && wants_diff && answered && !response_body(&case)["Diff"].is_null() {
            recorded.insert(name);
        }
    }
    let replayed: BTreeSet<String> = PLANS.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(recorded, replayed);
}

#[test]
fn version_diffs_match_nomad() {
    let body = response_body(&case("032-versioned-versions-diffs.json"));
    let versions: Vec<Job> =
        serde_json::from_value(body["Versions"].clone()).expect("versions decode as jobs");
    assert_eq!(versions.len(), 3);
    // Newest first: one diff per adjacent pair, older → newer.
    let diffs: Vec<Value> = versions
        .windows(2)
        .map(|pair| {
            let diff = diff_jobs(Some(&pair[1]), Some(&pair[0]), true).expect("same ID");
            serde_json::to_value(diff).expect("serializes")
        })
        .collect();
    assert_eq!(Value::Array(diffs), body["Diffs"]);
}
