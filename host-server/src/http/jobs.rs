//! `/v1/jobs`, `/v1/job/<id>[/<suffix>]` and `/v1/validate/job`: suffix
//! dispatch as Nomad's `JobSpecificRequest`, then one short handler each.

use std::sync::Arc;

use axum::extract::State;
use caravan_core::fork::{drop_halves, MIN_GROUPS};
use caravan_core::model::api::ApiJob;
use caravan_core::model::requests::{
    JobDispatchRequest, JobPlanRequest, JobRegisterRequest, JobRevertRequest, JobStabilityRequest,
    JobValidateRequest,
};
use caravan_core::model::{Allocation, Evaluation, Job, JobSummary};
use caravan_core::scheduler::PlanOptions;
use caravan_core::state::{Reply as Applied, Table};
use caravan_core::validate::{validate_job_forked, ValidateOptions};
use caravan_core::{gojson, Command, MultiError};
use serde::Serialize;

use super::{ApiError, App, Meta, Reply, Req};
use crate::entropy;
use crate::threads::Threads;
use crate::watch::Topic;

type Result<T> = std::result::Result<T, ApiError>;

/// `/v1/jobs`: list (GET) or register (PUT/POST).
pub async fn jobs_root(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    match req.method.as_str() {
        "GET" => list(&app, &req).await,
        "PUT" | "POST" => register(&app, &req, "").await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// `/v1/job/<id>[/<suffix>]`, dispatched on the suffix in Nomad's order;
/// whatever remains is the job ID (it may contain `/`). Each branch is
/// boxed so that a parked blocking query holds only its own small future.
pub async fn job_specific(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let path = req.path.strip_prefix("/v1/job/").unwrap_or("").to_string();
    let app = &app;
    let req = &req;
    if let Some(id) = path.strip_suffix("/evaluate") {
        return Box::pin(evaluate(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/allocations") {
        return Box::pin(allocations(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/evaluations") {
        return Box::pin(evaluations(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/periodic/force") {
        return Box::pin(periodic_force(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/plan") {
        return Box::pin(plan(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/summary") {
        return Box::pin(summary(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/dispatch") {
        return Box::pin(dispatch(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/versions") {
        return Box::pin(versions(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/revert") {
        return Box::pin(revert(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/deployments") {
        return Box::pin(deployments(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/deployment") {
        return Box::pin(latest_deployment(app, req, id)).await;
    }
    if let Some(id) = path.strip_suffix("/stable") {
        return Box::pin(stable(app, req, id)).await;
    }
    match req.method.as_str() {
        "GET" => Box::pin(get(app, req, &path)).await,
        "PUT" | "POST" => Box::pin(register(app, req, &path)).await,
        "DELETE" => Box::pin(deregister(app, req, &path)).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

fn job_topic(id: &str) -> Topic {
    Topic::Job(id.to_lowercase())
}

fn require_get(req: &Req) -> Result<()> {
    if req.method == axum::http::Method::GET {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

fn require_write(req: &Req) -> Result<()> {
    if req.is_write() {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

fn decode<T: serde::de::DeserializeOwned>(req: &Req, go_type: &'static str) -> Result<T> {
    gojson::from_slice(&req.body, go_type).map_err(|e| ApiError::BadRequest(e.0))
}

/// Bodies at least this long have their job's task groups decoded in two
/// halves side by side.
const SPLIT_BODY: usize = 64 * 1024;

/// [`decode`] for a request carrying a `Job`; a long body's task groups
/// are decoded over [`Threads`] (the same value, and the same errors).
fn decode_with_job<T: serde::de::DeserializeOwned>(
    req: &Req,
    go_type: &'static str,
    job: fn(&mut T) -> Option<&mut ApiJob>,
) -> Result<T> {
    if req.body.len() < SPLIT_BODY {
        return decode(req, go_type);
    }
    gojson::from_slice_split(
        &req.body,
        go_type,
        &["Job", "TaskGroups"],
        2,
        &Threads,
        |body, groups| {
            if let Some(j) = job(body) {
                j.task_groups = Some(groups);
            }
        },
    )
    .map_err(|e| ApiError::BadRequest(e.0))
}

// ---- reads ----

async fn list(app: &App, req: &Req) -> Result<Reply> {
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let prefix = q.prefix.clone();
    let (index, stubs) = app
        .cluster
        .try_blocking(&Topic::JobList, q.blocking(), |s| {
            let stubs: Vec<_> = s
                .jobs_by_prefix(&prefix)
                .map(|j| j.stub(s.job_summary(&j.id)))
                .collect();
            (s.table_index(Table::Jobs), stubs)
        })?;
    Reply::json(&stubs, req.pretty(), Meta::read(index))
}

async fn get(app: &App, req: &Req, id: &str) -> Result<Reply> {
    // Only what the wait needs is kept while it waits.
    let blocking = {
        let q = req.query_options()?;
        app.check_region(&q, "")?;
        q.blocking()
    };
    let (index, job) = app
        .cluster
        .try_blocking(&job_topic(id), blocking, |s| match s.job(id) {
            Some(j) => (j.modify_index, Some(j.clone())),
            None => (s.table_index(Table::Jobs), None),
        })?;
    let job = job.ok_or_else(|| ApiError::not_found("job not found", index))?;
    let body = app
        .renders
        .render(&id.to_lowercase(), job.modify_index, req.pretty(), &*job)?;
    Ok(Reply::rendered(body, Meta::read(index)))
}

#[derive(Serialize)]
struct VersionsResponse {
    #[serde(rename = "Versions")]
    versions: Vec<Job>,
    #[serde(rename = "Diffs")]
    diffs: Option<Vec<caravan_core::diff::JobDiff>>,
    #[serde(rename = "Index")]
    index: u64,
    #[serde(rename = "LastContact")]
    last_contact: u64,
    #[serde(rename = "KnownLeader")]
    known_leader: bool,
}

/// Nomad stores a dispatched child's payload snappy-compressed and only
/// `GET /v1/job/<id>` (and allocations) decompress it; elsewhere the
/// compressed bytes show.
pub fn as_stored(job: &Job) -> Job {
    let mut j = job.clone();
    let dispatched = !j.parent_id.is_empty()
        && j.id.starts_with(&format!(
            "{}{}",
            j.parent_id,
            caravan_core::dispatch::DISPATCH_LAUNCH_SUFFIX
        ));
    if dispatched {
        j.payload = caravan_core::dispatch::snappy_encode(&j.payload);
    }
    j
}

async fn versions(app: &App, req: &Req, id: &str) -> Result<Reply> {
    let with_diffs = req.bool_param("diffs")?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, versions) = app
        .cluster
        .try_blocking(&job_topic(id), q.blocking(), |s| {
            let v = s.job_versions(id);
            // Nomad answers with the newest version's ModifyIndex, even when
            // a stability change rewrote an older version later.
            let index = v
                .first()
                .map(|j| j.modify_index)
                .unwrap_or_else(|| s.table_index(Table::JobVersions));
            (index, v)
        })?;
    if versions.is_empty() {
        return Err(ApiError::not_found("job versions not found", index));
    }
    let diffs = if with_diffs {
        let mut diffs = Vec::with_capacity(versions.len().saturating_sub(1));
        for pair in versions.windows(2) {
            let d = caravan_core::diff::diff_jobs(Some(&pair[1]), Some(&pair[0]), true)
                .map_err(ApiError::Server)?;
            diffs.push(d);
        }
        Some(diffs)
    } else {
        None
    };
    let body = VersionsResponse {
        versions: versions.iter().map(|j| as_stored(j)).collect(),
        diffs,
        index,
        last_contact: 0,
        known_leader: true,
    };
    Reply::json(&body, req.pretty(), Meta::read(index))
}

async fn allocations(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_get(req)?;
    // An unparsable `all` is simply false, as in Nomad.
    let all = super::request::parse_go_bool(req.param("all")).unwrap_or(false);
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, stubs) = app
        .cluster
        .try_blocking(&job_topic(id), q.blocking(), |s| {
            let stubs: Vec<_> = s
                .allocs_by_job(id, all)
                .iter()
                .map(|a: &Arc<Allocation>| a.stub())
                .collect();
            (s.table_index(Table::Allocs), stubs)
        })?;
    Reply::json(&stubs, req.pretty(), Meta::read(index))
}

async fn evaluations(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_get(req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, mut evals) = app
        .cluster
        .try_blocking(&job_topic(id), q.blocking(), |s| {
            (s.table_index(Table::Evals), s.evals_by_job(id))
        })?;
    evals.sort_by(|a, b| a.status.cmp(&b.status).then_with(|| a.id.cmp(&b.id)));
    let evals: Vec<&Evaluation> = evals.iter().map(|e| &**e).collect();
    Reply::json(&evals, req.pretty(), Meta::read(index))
}

async fn summary(app: &App, req: &Req, id: &str) -> Result<Reply> {
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, summary) = app
        .cluster
        .try_blocking(&job_topic(id), q.blocking(), |s| match s.job_summary(id) {
            Some(sum) => (sum.modify_index, Some(sum.clone())),
            None => (s.table_index(Table::JobSummary), None),
        })?;
    let summary: JobSummary = summary.ok_or_else(|| ApiError::not_found("job not found", index))?;
    Reply::json(&summary, req.pretty(), Meta::read(index))
}

async fn deployments(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_get(req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, list) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Deployments), q.blocking(), |s| {
                (s.table_index(Table::Deployments), s.deployments_by_job(id))
            })?;
    let list: Vec<_> = list.iter().map(|d| &**d).collect();
    Reply::json(&list, req.pretty(), Meta::read(index))
}

async fn latest_deployment(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_get(req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, latest) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Deployments), q.blocking(), |s| {
                (s.table_index(Table::Deployments), s.latest_deployment(id))
            })?;
    Reply::json(&latest.as_deref(), req.pretty(), Meta::read(index))
}

// ---- writes ----

/// A submitted job after API defaults, canonicalization, implicit
/// constraints and validation, with the warnings to report.
struct Checked {
    job: Job,
    warnings: String,
}

/// The pipeline of register, plan and validate up to validation; errors are
/// Nomad's 500 with the multi-error text.
fn check_job(api: ApiJob) -> std::result::Result<Checked, String> {
    let prepared = caravan_core::prepare_forked(api, &Threads);
    let validation = validate_job_forked(&prepared.job, &ValidateOptions::default(), &Threads);
    if let Some(text) = validation.errors.render() {
        return Err(text);
    }
    let mut warnings = MultiError {
        errors: prepared.warnings,
    };
    warnings.extend(validation.warnings);
    Ok(Checked {
        job: prepared.job,
        warnings: warnings.render_warnings(),
    })
}

#[derive(Serialize)]
struct RegisterResponse {
    #[serde(rename = "EvalID")]
    eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    eval_create_index: u64,
    #[serde(rename = "JobModifyIndex")]
    job_modify_index: u64,
    #[serde(rename = "Warnings")]
    warnings: String,
    #[serde(rename = "Index")]
    index: u64,
    #[serde(rename = "LastContact")]
    last_contact: u64,
    #[serde(rename = "KnownLeader")]
    known_leader: bool,
}

impl RegisterResponse {
    fn from_reply(r: caravan_core::state::RegisterReply) -> Self {
        RegisterResponse {
            eval_id: r.eval_id,
            eval_create_index: r.eval_create_index,
            job_modify_index: r.job_modify_index,
            warnings: r.warnings,
            index: r.index,
            last_contact: 0,
            known_leader: false,
        }
    }
}

fn unexpected() -> ApiError {
    ApiError::Server("unexpected reply from the state".into())
}

async fn register(app: &App, req: &Req, path_id: &str) -> Result<Reply> {
    let body: JobRegisterRequest = decode_with_job(
        req,
        "api.JobRegisterRequest",
        |b: &mut JobRegisterRequest| b.job.as_mut(),
    )?;
    let api = body
        .job
        .ok_or_else(|| ApiError::BadRequest("Job must be specified".into()))?;
    let Some(job_id) = api.id.clone() else {
        return Err(ApiError::BadRequest("Job ID hasn't been provided".into()));
    };
    if !path_id.is_empty() && job_id != path_id {
        return Err(ApiError::BadRequest("Job ID does not match name".into()));
    }
    app.check_region(&req.write_options(), &body.region)?;
    let checked = check_job(api).map_err(ApiError::Server)?;
    let applied = app
        .cluster
        .write(Command::RegisterJob {
            job: Box::new(checked.job),
            enforce_index: body.enforce_index,
            job_modify_index: body.job_modify_index,
            eval_id: entropy::uuid(),
            now: entropy::now_ns(),
        })
        .await?;
    let Applied::Register(mut reply) = applied.reply else {
        return Err(unexpected());
    };
    reply.warnings = checked.warnings;
    let index = reply.index;
    Reply::json(
        &RegisterResponse::from_reply(reply),
        req.pretty(),
        Meta::Index(index),
    )
}

#[derive(Serialize)]
struct DeregisterResponse {
    #[serde(rename = "EvalID")]
    eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    eval_create_index: u64,
    #[serde(rename = "JobModifyIndex")]
    job_modify_index: u64,
    #[serde(rename = "Index")]
    index: u64,
    #[serde(rename = "LastContact")]
    last_contact: u64,
    #[serde(rename = "KnownLeader")]
    known_leader: bool,
}

async fn deregister(app: &App, req: &Req, id: &str) -> Result<Reply> {
    let purge = req.bool_param("purge")?;
    app.check_region(&req.write_options(), "")?;
    let applied = app
        .cluster
        .write(Command::DeregisterJob {
            job_id: id.to_string(),
            purge,
            eval_id: entropy::uuid(),
            now: entropy::now_ns(),
        })
        .await?;
    let Applied::Deregister(r) = applied.reply else {
        return Err(unexpected());
    };
    let body = DeregisterResponse {
        eval_id: r.eval_id,
        eval_create_index: r.eval_create_index,
        job_modify_index: r.job_modify_index,
        index: r.index,
        last_contact: 0,
        known_leader: false,
    };
    Reply::json(&body, req.pretty(), Meta::Index(r.index))
}

async fn evaluate(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_write(req)?;
    app.check_region(&req.write_options(), "")?;
    let applied = app
        .cluster
        .write(Command::EvaluateJob {
            job_id: id.to_string(),
            eval_id: entropy::uuid(),
        })
        .await?;
    let Applied::Evaluate(r) = applied.reply else {
        return Err(unexpected());
    };
    let index = r.index;
    Reply::json(
        &RegisterResponse::from_reply(r),
        req.pretty(),
        Meta::Index(index),
    )
}

async fn plan(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_write(req)?;
    let body: JobPlanRequest =
        decode_with_job(req, "api.JobPlanRequest", |b: &mut JobPlanRequest| {
            b.job.as_mut()
        })?;
    let api = body
        .job
        .ok_or_else(|| ApiError::BadRequest("Job must be specified".into()))?;
    let Some(job_id) = api.id.clone() else {
        return Err(ApiError::BadRequest("Job must have a valid ID".into()));
    };
    if !id.is_empty() && job_id != id {
        return Err(ApiError::BadRequest("Job ID does not match".into()));
    }
    app.check_region(&req.write_options(), &body.region)?;
    let checked = check_job(api).map_err(ApiError::Server)?;
    let opts = PlanOptions {
        diff: body.diff,
        seed: entropy::seed(),
        now: entropy::now_ns(),
    };
    let mut resp = app
        .scheduler
        .plan_job(&app.cluster, checked.job, opts)
        .await
        .map_err(ApiError::Server)?;
    resp.warnings = checked.warnings;
    let index = resp.index;
    let reply = if req.pretty() {
        Reply::json(&resp, true, Meta::Index(index))
    } else {
        let body = resp
            .to_json_forked(&Threads)
            .map_err(|e| ApiError::Server(e.to_string()))?;
        Ok(Reply::rendered(body.into(), Meta::Index(index)))
    };
    if let Some(diff) = resp.diff {
        drop_halves(&Threads, diff.task_groups, MIN_GROUPS);
    }
    reply
}

#[derive(Serialize)]
struct DispatchResponse {
    #[serde(rename = "DispatchedJobID")]
    dispatched_job_id: String,
    #[serde(rename = "EvalID")]
    eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    eval_create_index: u64,
    #[serde(rename = "JobCreateIndex")]
    job_create_index: u64,
    #[serde(rename = "Index")]
    index: u64,
}

async fn dispatch(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_write(req)?;
    let body: JobDispatchRequest = decode(req, "structs.JobDispatchRequest")?;
    if !body.job_id.is_empty() && body.job_id != id {
        return Err(ApiError::BadRequest("Job ID does not match".into()));
    }
    let job_id = if body.job_id.is_empty() {
        id.to_string()
    } else {
        body.job_id
    };
    app.check_region(&req.write_options(), &body.region)?;
    let token = req.param("idempotency_token");
    let applied = app
        .cluster
        .write(Command::DispatchJob {
            job_id,
            payload: body.payload,
            meta: body.meta,
            idempotency_token: (!token.is_empty()).then(|| token.to_string()),
            id_suffix: entropy::hex8(),
            eval_id: entropy::uuid(),
            now: entropy::now_ns(),
        })
        .await?;
    let Applied::Dispatch(r) = applied.reply else {
        return Err(unexpected());
    };
    let body = DispatchResponse {
        dispatched_job_id: r.dispatched_job_id,
        eval_id: r.eval_id,
        eval_create_index: r.eval_create_index,
        job_create_index: r.job_create_index,
        index: r.index,
    };
    Reply::json(&body, req.pretty(), Meta::Index(body.index))
}

async fn periodic_force(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_write(req)?;
    app.check_region(&req.write_options(), "")?;
    let now = entropy::now_ns();
    let applied = app
        .cluster
        .write(Command::PeriodicLaunch {
            job_id: id.to_string(),
            launch: now.div_euclid(1_000_000_000),
            force: true,
            eval_id: entropy::uuid(),
            now,
        })
        .await?;
    let Applied::Force(r) = applied.reply else {
        return Err(unexpected());
    };
    Reply::json(&r, req.pretty(), Meta::Index(r.index))
}

async fn revert(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_write(req)?;
    let body: JobRevertRequest = decode(req, "structs.JobRevertRequest")?;
    if body.job_id.is_empty() {
        return Err(ApiError::BadRequest("JobID must be specified".into()));
    }
    if body.job_id != id {
        return Err(ApiError::BadRequest("Job ID does not match".into()));
    }
    app.check_region(&req.write_options(), &body.region)?;
    let applied = app
        .cluster
        .write(Command::RevertJob {
            job_id: body.job_id,
            version: body.job_version,
            enforce_prior_version: body.enforce_prior_version,
            eval_id: entropy::uuid(),
            now: entropy::now_ns(),
        })
        .await?;
    let Applied::Register(r) = applied.reply else {
        return Err(unexpected());
    };
    // Revert answers with the full query meta of its (write) reply.
    let meta = Meta::Query {
        index: r.index,
        known_leader: false,
    };
    Reply::json(&RegisterResponse::from_reply(r), req.pretty(), meta)
}

#[derive(Serialize)]
struct StableResponse {
    #[serde(rename = "Index")]
    index: u64,
}

async fn stable(app: &App, req: &Req, id: &str) -> Result<Reply> {
    require_write(req)?;
    let body: JobStabilityRequest = decode(req, "structs.JobStabilityRequest")?;
    if body.job_id.is_empty() {
        return Err(ApiError::BadRequest("JobID must be specified".into()));
    }
    if body.job_id != id {
        return Err(ApiError::BadRequest("Job ID does not match".into()));
    }
    app.check_region(&req.write_options(), &body.region)?;
    let applied = app
        .cluster
        .write(Command::SetJobStability {
            job_id: body.job_id,
            version: body.job_version,
            stable: body.stable,
        })
        .await?;
    let Applied::Stable { index } = applied.reply else {
        return Err(unexpected());
    };
    Reply::json(&StableResponse { index }, req.pretty(), Meta::Index(index))
}

#[derive(Serialize)]
struct ValidateResponse {
    #[serde(rename = "DriverConfigValidated")]
    driver_config_validated: bool,
    #[serde(rename = "ValidationErrors")]
    validation_errors: Option<Vec<String>>,
    #[serde(rename = "Error")]
    error: String,
    #[serde(rename = "Warnings")]
    warnings: String,
}

/// `PUT|POST /v1/validate/job`: always 200 with the validation outcome and
/// no meta headers (Nomad does not route it by region either).
pub async fn validate(State(_app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_write(&req)?;
    let body: JobValidateRequest = decode(&req, "api.JobValidateRequest")?;
    let api = body
        .job
        .ok_or_else(|| ApiError::BadRequest("Job must be specified".into()))?;
    let prepared = caravan_core::prepare_forked(api, &Threads);
    let validation = validate_job_forked(&prepared.job, &ValidateOptions::default(), &Threads);
    let mut warnings = MultiError {
        errors: prepared.warnings,
    };
    warnings.extend(validation.warnings);
    let errors = validation.errors;
    let body = ValidateResponse {
        driver_config_validated: true,
        error: errors.render().unwrap_or_default(),
        validation_errors: (!errors.is_empty()).then(|| errors.errors.clone()),
        warnings: warnings.render_warnings(),
    };
    Reply::json(&body, req.pretty(), Meta::None)
}
