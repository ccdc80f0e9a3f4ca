//! `PUT|POST /v1/jobs/parse` as Nomad 0.9+ offers it (python-nomad's
//! `jobs.parse`): an HCL job file in, the API job (optionally with API defaults) out.

use std::sync::Arc;

use axum::extract::State;
use caravan_core::{gojson, jobspec};
use serde::Deserialize;

use super::{ApiError, App, Meta, Reply, Req};

/// `api.JobsParseRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JobsParseRequest {
    #[serde(rename = "JobHCL")]
    job_hcl: String,
    #[serde(rename = "Canonicalize")]
    canonicalize: bool,
}

/// The 400 text of a file that does not parse: Nomad's own text first, so
/// clients matching on it keep working, then where the problem is.
fn positioned(e: &jobspec::JobspecError) -> String {
    format!("{} (at line {}, column {})", e.message, e.line, e.column)
}

/// Answers with the job object itself and, like later Nomad, no `X-Nomad-*`
/// headers: parsing reads no state, so there is no index to report.
pub async fn parse(State(_app): State<Arc<App>>, req: Req) -> Result<Reply, ApiError> {
    if !req.is_write() {
        return Err(ApiError::MethodNotAllowed);
    }
    let body: JobsParseRequest = gojson::from_slice(&req.body, "api.JobsParseRequest")
        .map_err(|e| ApiError::BadRequest(e.0))?;
    if body.job_hcl.is_empty() {
        return Err(ApiError::BadRequest("Job spec is empty".into()));
    }
    let mut job =
        jobspec::parse(&body.job_hcl).map_err(|e| ApiError::BadRequest(positioned(&e)))?;
    if body.canonicalize {
        job.canonicalize();
    }
    Reply::json(&job, req.pretty(), Meta::None)
}
