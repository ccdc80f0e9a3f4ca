//! The operations both WebAssembly flavours expose — validate, diff, plan,
//! simulate, dispatch, next periodic launch, parse HCL — as pure functions
//! from a decoded JSON request to a serializable answer.
//!
//! Requests are decoded with [`caravan_core::gojson`], so they follow the
//! server's rules (case-insensitive keys, `null` = absent, Go's error
//! texts); jobs arrive in API form (a job file as `nomad run -output`
//! prints it) and go through the same [`prepare`] as a submitted job.

use std::collections::BTreeMap;

use caravan_core::diff::{diff_jobs, JobDiff};
use caravan_core::dispatch::{check_request, child_job};
use caravan_core::gojson;
use caravan_core::model::api::ApiJob;
use caravan_core::model::{nil, Allocation, Evaluation, Job, PeriodicConfig, StringMap};
use caravan_core::periodic::{next_launch, parse_cron, parse_time_zone};
use caravan_core::scheduler::{plan_job, EvalRun, PlanOptions, PlanResponse, Rng};
use caravan_core::state::Reply;
use caravan_core::validate::{validate_job, ValidateOptions};
use caravan_core::{prepare, ClusterState, Command, MultiError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::snapshot::{build_state, ClusterSnapshot};

/// An evaluation that needs more scheduler passes than this is looping.
pub const MAX_EVAL_STEPS: usize = 64;

fn decode<T: serde::de::DeserializeOwned>(req: &Value, root: &'static str) -> Result<T, String> {
    gojson::from_value(req, root).map_err(|e| e.0)
}

fn require_job(job: Option<ApiJob>) -> Result<ApiJob, String> {
    job.ok_or_else(|| "Job must be specified".to_string())
}

// ---- validate ----

#[derive(Debug, Deserialize, Default)]
#[serde(rename = "ValidateRequest", default)]
struct ValidateRequest {
    #[serde(rename = "Job")]
    job: Option<ApiJob>,
    /// Drivers to accept besides Nomad's built-in ones.
    #[serde(rename = "ExtraDrivers")]
    extra_drivers: Vec<String>,
}

/// `/v1/validate/job`'s answer plus the canonical job it judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateResponse {
    #[serde(rename = "DriverConfigValidated")]
    pub driver_config_validated: bool,
    /// The top-level items of the error list (`null` when valid).
    #[serde(rename = "ValidationErrors")]
    pub validation_errors: Option<Vec<String>>,
    /// The whole list as go-multierror renders it (`""` when valid).
    #[serde(rename = "Error")]
    pub error: String,
    /// Canonicalization and validation warnings, rendered.
    #[serde(rename = "Warnings")]
    pub warnings: String,
    /// The job after defaults, canonicalization and implicit constraints.
    #[serde(rename = "Job")]
    pub job: Job,
}

/// Canonicalizes and validates a job, as the server does before logging it.
struct Checked {
    job: Job,
    errors: MultiError,
    warnings: MultiError,
}

fn check(api: ApiJob, extra_drivers: Vec<String>) -> Checked {
    let prepared = prepare(api);
    let validation = validate_job(&prepared.job, &ValidateOptions { extra_drivers });
    let mut warnings = MultiError::new();
    for w in prepared.warnings {
        warnings.push(w);
    }
    warnings.extend(validation.warnings);
    Checked {
        job: prepared.job,
        errors: validation.errors,
        warnings,
    }
}

/// `{"Job": …, "ExtraDrivers": […]}` → [`ValidateResponse`].
pub fn validate(req: &Value) -> Result<ValidateResponse, String> {
    let r: ValidateRequest = decode(req, "api.JobValidateRequest")?;
    let checked = check(require_job(r.job)?, r.extra_drivers);
    Ok(ValidateResponse {
        driver_config_validated: true,
        validation_errors: (!checked.errors.is_empty()).then(|| checked.errors.errors.clone()),
        error: checked.errors.render().unwrap_or_default(),
        warnings: checked.warnings.render_warnings(),
        job: checked.job,
    })
}

// ---- diff ----

#[derive(Debug, Deserialize, Default)]
#[serde(rename = "DiffRequest", default)]
struct DiffRequest {
    #[serde(rename = "Old")]
    old: Option<ApiJob>,
    #[serde(rename = "New")]
    new: Option<ApiJob>,
    #[serde(rename = "Contextual")]
    contextual: bool,
}

/// `{"Old": job|null, "New": job|null, "Contextual": bool}` → the job diff
/// of the two canonicalized jobs.
pub fn diff(req: &Value) -> Result<JobDiff, String> {
    let r: DiffRequest = decode(req, "caravan.DiffRequest")?;
    let old = r.old.map(|j| prepare(j).job);
    let new = r.new.map(|j| prepare(j).job);
    diff_jobs(old.as_ref(), new.as_ref(), r.contextual)
}

// ---- plan and simulate ----

#[derive(Debug, Deserialize, Default)]
#[serde(rename = "PlanRequest", default)]
struct PlanRequest {
    #[serde(rename = "Job")]
    job: Option<ApiJob>,
    #[serde(rename = "Diff")]
    diff: bool,
    #[serde(rename = "Cluster")]
    cluster: ClusterSnapshot,
    #[serde(rename = "Seed")]
    seed: u64,
    /// Unix nanoseconds.
    #[serde(rename = "Now")]
    now: i64,
    #[serde(rename = "ExtraDrivers")]
    extra_drivers: Vec<String>,
}

/// Validates the job of a plan request and builds its cluster.
fn plan_inputs(req: &Value) -> Result<(PlanRequest, Checked, ClusterState), String> {
    let mut r: PlanRequest = decode(req, "caravan.PlanRequest")?;
    let api = require_job(r.job.take())?;
    if api.id.as_deref().unwrap_or_default().is_empty() {
        return Err("Job must have a valid ID".into());
    }
    let checked = check(api, std::mem::take(&mut r.extra_drivers));
    if let Some(e) = checked.errors.render() {
        return Err(e);
    }
    let state = build_state(&r.cluster, r.seed, r.now)?;
    Ok((r, checked, state))
}

/// `{"Job", "Diff", "Cluster", "Seed", "Now", "ExtraDrivers"}` → the body
/// of `/v1/job/<id>/plan` for that job on that cluster.
pub fn plan(req: &Value) -> Result<PlanResponse, String> {
    let (r, checked, state) = plan_inputs(req)?;
    let opts = PlanOptions {
        diff: r.diff,
        seed: r.seed,
        now: r.now,
    };
    let mut resp = plan_job(&state, checked.job, &opts)?;
    if !checked.warnings.is_empty() {
        resp.warnings = checked.warnings.render_warnings();
    }
    Ok(resp)
}

/// What registering the job on the snapshot would do, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SimulateResponse {
    /// The register reply (eval ID, indexes, warnings).
    #[serde(rename = "Register")]
    pub register: caravan_core::state::RegisterReply,
    /// Node ID → allocations the scheduler placed there (without `Job`).
    #[serde(rename = "Placements")]
    pub placements: BTreeMap<String, Vec<Allocation>>,
    /// Node ID → allocations it stopped there.
    #[serde(rename = "Stops")]
    pub stops: BTreeMap<String, Vec<Allocation>>,
    /// Every evaluation written, in order (the final state of each).
    #[serde(rename = "Evaluations")]
    pub evaluations: Vec<Evaluation>,
}

/// Same request as [`plan`]: registers the job on a copy of the snapshot
/// and drives the real scheduler ([`EvalRun`]) to the end, so a previewer
/// can show placements per node.
pub fn simulate(req: &Value) -> Result<SimulateResponse, String> {
    let (r, checked, mut state) = plan_inputs(req)?;
    let mut rng = Rng::new(r.seed);
    let applied = state
        .apply(Command::RegisterJob {
            job: Box::new(checked.job),
            enforce_index: false,
            job_modify_index: 0,
            eval_id: rng.uuid(),
            now: r.now,
        })
        .map_err(|e| e.0)?;
    let Reply::Register(mut register) = applied.reply else {
        return Err("register gave no register reply".into());
    };
    register.warnings = checked.warnings.render_warnings();
    let mut out = SimulateResponse {
        register,
        ..Default::default()
    };
    let Some(eval) = state.eval(&out.register.eval_id).map(|e| (**e).clone()) else {
        // Periodic and parameterized jobs create no evaluation.
        return Ok(out);
    };
    for step in run_eval(&mut state, eval, rng.next_u64())? {
        match step.command {
            Command::UpsertEvals { evals } => out.evaluations.extend(evals),
            Command::ApplyPlan { .. } => {
                if let Some(result) = step.plan_result {
                    for (node, allocs) in result.node_allocation {
                        out.placements
                            .entry(node)
                            .or_default()
                            .extend(allocs.iter().map(|a| (**a).clone()));
                    }
                    for (node, allocs) in result.node_update {
                        out.stops
                            .entry(node)
                            .or_default()
                            .extend(allocs.iter().map(|a| (**a).clone()));
                    }
                }
            }
            _ => {}
        }
    }
    for allocs in out.placements.values_mut().chain(out.stops.values_mut()) {
        for a in allocs {
            a.job = None;
        }
    }
    Ok(out)
}

/// One write of an evaluation run and what the plan applier made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    #[serde(rename = "Command")]
    pub command: Command,
    /// For an `ApplyPlan`: what the plan applier committed.
    #[serde(rename = "PlanResult")]
    pub plan_result: Option<caravan_core::scheduler::plan::PlanResult>,
}

/// Drives an [`EvalRun`] to its end on `state`, applying each write to it
/// as a server would after logging it.
pub fn run_eval(
    state: &mut ClusterState,
    eval: Evaluation,
    seed: u64,
) -> Result<Vec<Step>, String> {
    let mut run = EvalRun::new(eval, seed);
    let mut steps = Vec::new();
    while let Some(command) = run.next(state) {
        if steps.len() == MAX_EVAL_STEPS {
            return Err(format!(
                "evaluation {} did not finish in {MAX_EVAL_STEPS} scheduler steps",
                run.eval().id
            ));
        }
        let applied = state.apply(command.clone()).map_err(|e| e.0)?;
        let plan_result = match applied.reply {
            Reply::Plan(result) => {
                run.plan_applied(&result);
                Some(result)
            }
            _ => None,
        };
        steps.push(Step {
            command,
            plan_result,
        });
    }
    Ok(steps)
}

// ---- dispatch ----

#[derive(Debug, Deserialize, Default)]
#[serde(rename = "DispatchRequest", default)]
struct DispatchRequest {
    /// The parameterized parent.
    #[serde(rename = "Job")]
    job: Option<ApiJob>,
    #[serde(rename = "Payload", with = "nil::bytes")]
    payload: Vec<u8>,
    #[serde(rename = "Meta")]
    meta: StringMap,
    /// Eight lowercase hex digits drawn by the host.
    #[serde(rename = "IDSuffix")]
    id_suffix: String,
    /// Unix nanoseconds.
    #[serde(rename = "Now")]
    now: i64,
}

/// The child job of a dispatch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispatchResponse {
    #[serde(rename = "DispatchedJobID")]
    pub dispatched_job_id: String,
    #[serde(rename = "Job")]
    pub job: Job,
}

/// Checks the request is a valid random suffix: 8 lowercase hex digits.
pub fn check_suffix(suffix: &str) -> Result<(), String> {
    if suffix.len() == 8
        && suffix
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        Err(format!(
            "IDSuffix must be 8 lowercase hex digits, got {suffix:?}"
        ))
    }
}

/// `{"Job": parent, "Payload": base64, "Meta", "IDSuffix", "Now"}` → the
/// dispatched child, or the dispatch rule the request breaks.
pub fn dispatch(req: &Value) -> Result<DispatchResponse, String> {
    let r: DispatchRequest = decode(req, "caravan.DispatchRequest")?;
    check_suffix(&r.id_suffix)?;
    let parent = prepare(require_job(r.job)?).job;
    check_request(&parent, &parent.id, &r.payload, &r.meta)?;
    let child = child_job(&parent, r.payload, &r.meta, &r.id_suffix, r.now);
    Ok(DispatchResponse {
        dispatched_job_id: child.id.clone(),
        job: child,
    })
}

// ---- periodic ----

#[derive(Debug, Deserialize, Default)]
#[serde(rename = "NextLaunchRequest", default)]
struct NextLaunchRequest {
    #[serde(rename = "Periodic")]
    periodic: Option<PeriodicConfig>,
    /// Unix nanoseconds; the launch returned is strictly after it.
    #[serde(rename = "After")]
    after: i64,
}

/// The next launch of a periodic configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextLaunchResponse {
    /// Unix nanoseconds, or `null` when the spec never fires again.
    #[serde(rename = "Next")]
    pub next: Option<i64>,
}

/// `{"Periodic": {"Spec", "SpecType", "TimeZone", …}, "After": ns}`.
pub fn next_periodic_launch(req: &Value) -> Result<NextLaunchResponse, String> {
    let r: NextLaunchRequest = decode(req, "caravan.NextLaunchRequest")?;
    let periodic = r
        .periodic
        .ok_or_else(|| "Periodic must be specified".to_string())?;
    parse_cron(&periodic.spec)
        .map_err(|e| format!("Invalid cron spec {:?}: {e}", periodic.spec))?;
    parse_time_zone(&periodic.time_zone)?;
    Ok(NextLaunchResponse {
        next: next_launch(&periodic, r.after),
    })
}

// ---- HCL ----

#[derive(Debug, Deserialize, Default)]
#[serde(rename = "ParseHclRequest", default)]
struct ParseHclRequest {
    #[serde(rename = "Source")]
    source: String,
}

/// A job file that does not parse, with where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HclError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// `{"Source": "job \"x\" { … }"}` → the API job (`nomad run -output`'s
/// `Job`).
pub fn parse_hcl(req: &Value) -> Result<Result<ApiJob, HclError>, String> {
    let r: ParseHclRequest = decode(req, "caravan.ParseHclRequest")?;
    Ok(
        caravan_core::jobspec::parse(&r.source).map_err(|e| HclError {
            message: e.message,
            line: e.line,
            column: e.column,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(id: &str) -> Value {
        json!({"ID": id, "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]})
    }

    #[test]
    fn validate_returns_the_canonical_job() {
        let r = validate(&json!({"job": job("web")})).unwrap();
        assert_eq!(r.job.id, "web");
        assert_eq!(r.job.name, "web");
        assert_eq!(r.job.priority, 50);
        assert!(r.driver_config_validated);
        assert_eq!(validate(&json!({})).unwrap_err(), "Job must be specified");
        assert_eq!(
            validate(&json!({"Job": {"ID": 5}})).unwrap_err(),
            "json: cannot unmarshal number 5 into Go struct field Job.Job.ID of type string"
        );
    }

    #[test]
    fn plan_requires_an_identified_job() {
        assert_eq!(plan(&json!({})).unwrap_err(), "Job must be specified");
        assert_eq!(
            plan(&json!({"Job": {"Name": "x"}})).unwrap_err(),
            "Job must have a valid ID"
        );
        let resp = plan(&json!({"Job": job("web"), "Cluster": {"Nodes": [{"ID": "n1"}]}})).unwrap();
        assert_eq!(resp.next_periodic_launch, "0001-01-01T00:00:00Z");
    }

    #[test]
    fn simulate_registers_and_runs_the_evaluation() {
        let r = simulate(&json!({"Job": job("web"), "Seed": 3, "Now": 5})).unwrap();
        assert_eq!(r.register.job_modify_index, 1);
        assert_eq!(r.register.eval_id.len(), 36);
        // No node: a blocked evaluation is written first, then the
        // register evaluation completes with its failures.
        let own = r
            .evaluations
            .iter()
            .find(|e| e.id == r.register.eval_id)
            .expect("the register evaluation is updated");
        assert_eq!(own.status, "complete");
        assert!(own.failed_tg_allocs.contains_key("g"));
        assert!(r.evaluations.iter().any(|e| e.status == "blocked"));
    }

    #[test]
    fn dispatch_checks_suffix_and_rules() {
        let mut parent = job("p");
        parent["Type"] = json!("batch");
        parent["ParameterizedJob"] = json!({"Payload": "forbidden"});
        let ok = dispatch(
            &json!({"Job": parent, "IDSuffix": "0123abcd", "Now": 1_500_000_000_000_000_000i64}),
        )
        .unwrap();
        assert_eq!(ok.dispatched_job_id, "p/dispatch-1500000000-0123abcd");
        assert_eq!(ok.job.parent_id, "p");
        assert_eq!(
            dispatch(&json!({"Job": parent, "IDSuffix": "0123abcd", "Payload": "aGk="}))
                .unwrap_err(),
            "Payload provided but forbidden by parameterized job"
        );
        assert_eq!(
            dispatch(&json!({"Job": parent, "IDSuffix": "XYZ"})).unwrap_err(),
            "IDSuffix must be 8 lowercase hex digits, got \"XYZ\""
        );
        assert_eq!(
            dispatch(&json!({"Job": parent, "IDSuffix": "0123abcd", "Payload": "!!"})).unwrap_err(),
            "illegal base64 data at input byte 0"
        );
    }

    #[test]
    fn next_launch_rejects_bad_specs() {
        assert_eq!(
            next_periodic_launch(&json!({"Periodic": {"Spec": "* *"}})).unwrap_err(),
            "Invalid cron spec \"* *\": missing field(s)"
        );
        assert_eq!(
            next_periodic_launch(
                &json!({"Periodic": {"Spec": "* * * * *", "TimeZone": "Mars/Base"}})
            )
            .unwrap_err(),
            "unknown time zone Mars/Base"
        );
    }
}
