//! Replays the recorded Nomad v0.6.3 register, plan and validate requests
//! through decoding, `prepare` and `validate_job`, and compares with what
//! Nomad answered: the exact 500 text for invalid jobs, no errors and the
//! same `Warnings` string for accepted ones.

use std::path::PathBuf;

use caravan_core::gojson;
use caravan_core::model::api::ApiJob;
use caravan_core::model::requests::{JobPlanRequest, JobRegisterRequest, JobValidateRequest};
use caravan_core::validate::{validate_job, validate_response, ValidateOptions};
use caravan_core::{prepare, MultiError};
use serde_json::Value;

/// Register/plan cases whose outcome is not decided by validation. (Every
/// 400 and 405 is also skipped: the HTTP layer answers those before the
/// job reaches validation, and its colleague's tests cover them.)
const DECIDED_BY_STATE: &[(&str, &str)] = &[
    (
        "enforce-nonzero-missing",
        "EnforceIndex against the stored job",
    ),
    (
        "enforce-zero-existing",
        "EnforceIndex against the stored job",
    ),
    (
        "enforce-stale-after-update",
        "EnforceIndex against the stored job",
    ),
    (
        "region-unknown-register",
        "`?region=mars` is routed before validation",
    ),
    (
        "region-body-writerequest",
        "body `Region: mars` is routed before validation",
    ),
];

/// Cases that must be among those replayed, so a change in the selection
/// cannot silently drop the interesting ones.
const MUST_REPLAY: &[&str] = &[
    "invalid-multiple-errors",
    "invalid-no-driver",
    "invalid-empty-task-name",
    "invalid-periodic-bad-spec",
    "invalid-restart-policy",
    "invalid-constraint-regexp",
    "mock-driver-plan",
    "plan-invalid-job",
    "invalid-empty-datacenter-name",
    "region-job-field-mars",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Endpoint {
    Register,
    Plan,
    Validate,
}

/// Which job endpoint a recorded request hit, if any.
fn endpoint(method: &str, path: &str) -> Option<Endpoint> {
    if method != "PUT" && method != "POST" {
        return None;
    }
    let path = path.split('?').next().unwrap_or(path);
    if path == "/v1/jobs" {
        return Some(Endpoint::Register);
    }
    if path == "/v1/validate/job" {
        return Some(Endpoint::Validate);
    }
    let id = path.strip_prefix("/v1/job/")?;
    if id.ends_with("/plan") {
        return Some(Endpoint::Plan);
    }
    const OTHER_ACTIONS: &[&str] = &[
        "/dispatch",
        "/evaluate",
        "/revert",
        "/stable",
        "/periodic/force",
        "/summary",
        "/versions",
        "/allocations",
        "/evaluations",
        "/deployment",
        "/deployments",
    ];
    if OTHER_ACTIONS.iter().any(|a| id.ends_with(a)) {
        return None;
    }
    Some(Endpoint::Register)
}

fn decode(endpoint: Endpoint, body: &[u8]) -> Option<ApiJob> {
    let decoded = match endpoint {
        Endpoint::Register => {
            gojson::from_slice::<JobRegisterRequest>(body, "api.JobRegisterRequest").map(|r| r.job)
        }
        Endpoint::Plan => {
            gojson::from_slice::<JobPlanRequest>(body, "api.JobPlanRequest").map(|r| r.job)
        }
        Endpoint::Validate => {
            gojson::from_slice::<JobValidateRequest>(body, "api.JobValidateRequest").map(|r| r.job)
        }
    };
    decoded.expect("a recorded non-400 request body decodes")
}

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/nomad-0.6.3");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| p.file_name().is_some_and(|n| n != "index.json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable fixture");
            let case: Value = serde_json::from_str(&text).expect("fixture is JSON");
            (p.display().to_string(), case)
        })
        .collect()
}

#[test]
fn recorded_validation_outcomes_replay_exactly() {
    let opts = ValidateOptions::default();
    let mut replayed: Vec<String> = Vec::new();
    let mut skipped_by_state: Vec<String> = Vec::new();
    for (file, case) in fixtures() {
        let name = case["name"].as_str().unwrap_or_default().to_string();
        let request = &case["request"];
        let response = &case["response"];
        let status = response["status"].as_u64().unwrap_or_default();
        let Some(endpoint) = endpoint(
            request["method"].as_str().unwrap_or_default(),
            request["path"].as_str().unwrap_or_default(),
        ) else {
            continue;
        };
        if status == 400 || status == 405 {
            continue;
        }
        if DECIDED_BY_STATE.iter().any(|(n, _)| *n == name) {
            skipped_by_state.push(name);
            continue;
        }
        let body = match request["raw_body"].as_str() {
            Some(raw) => raw.as_bytes().to_vec(),
            None => serde_json::to_vec(&request["body"]).expect("serializable body"),
        };
        let api = decode(endpoint, &body).unwrap_or_else(|| panic!("{file}: request has a job"));
        let prepared = prepare(api);
        let validation = validate_job(&prepared.job, &opts);

        if endpoint == Endpoint::Validate {
            let body = validate_response(&prepared, &opts);
            let got = serde_json::to_value(&body).expect("serializable response");
            for key in [
                "ValidationErrors",
                "Error",
                "Warnings",
                "DriverConfigValidated",
            ] {
                assert_eq!(got[key], response["json"][key], "{file}: {key}");
            }
        } else if status == 500 {
            assert_eq!(
                validation.errors.render().unwrap_or_default(),
                response["body"].as_str().unwrap_or_default(),
                "{file}"
            );
        } else {
            assert_eq!(status, 200, "{file}: unexpected status");
            assert_eq!(validation.errors, MultiError::new(), "{file}");
            let mut warnings = MultiError::new();
            for w in &prepared.warnings {
                warnings.push(w.clone());
            }
            warnings.extend(validation.warnings);
            assert_eq!(
                warnings.render_warnings(),
                response["json"]["Warnings"].as_str().unwrap_or_default(),
                "{file}: Warnings"
            );
        }
        replayed.push(name);
    }

    let mut expected_skips: Vec<&str> = DECIDED_BY_STATE.iter().map(|(n, _)| *n).collect();
    expected_skips.sort_unstable();
    skipped_by_state.sort();
    assert_eq!(
        skipped_by_state, expected_skips,
        "skip list matches the corpus"
    );
    for must in MUST_REPLAY {
        assert!(
            replayed.iter().any(|n| n == must),
            "{must} was not replayed"
        );
    }
    assert!(
        replayed.len() >= 70,
        "only {} cases replayed",
        replayed.len()
    );
}
