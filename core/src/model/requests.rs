//! Request bodies of the job endpoints, decoded with [`crate::gojson`].

use serde::{Deserialize, Serialize};

use super::api::ApiJob;
use super::job::StringMap;
use super::nil;

/// `PUT /v1/jobs`, `PUT /v1/job/<id>` (`api.JobRegisterRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "JobRegisterRequest", default)]
pub struct JobRegisterRequest {
    #[serde(rename = "Job")]
    pub job: Option<ApiJob>,
    #[serde(rename = "EnforceIndex")]
    pub enforce_index: bool,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "Region")]
    pub region: String,
}

/// `PUT /v1/job/<id>/plan` (`api.JobPlanRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "JobPlanRequest", default)]
pub struct JobPlanRequest {
    #[serde(rename = "Job")]
    pub job: Option<ApiJob>,
    #[serde(rename = "Diff")]
    pub diff: bool,
    #[serde(rename = "Region")]
    pub region: String,
}

/// `PUT /v1/validate/job` (`api.JobValidateRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "JobValidateRequest", default)]
pub struct JobValidateRequest {
    #[serde(rename = "Job")]
    pub job: Option<ApiJob>,
    #[serde(rename = "Region")]
    pub region: String,
}

/// `PUT /v1/job/<id>/dispatch` (`structs.JobDispatchRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "JobDispatchRequest", default)]
pub struct JobDispatchRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "Payload", with = "nil::bytes")]
    pub payload: Vec<u8>,
    #[serde(rename = "Meta")]
    pub meta: StringMap,
    #[serde(rename = "Region")]
    pub region: String,
}

/// `PUT /v1/job/<id>/revert` (`structs.JobRevertRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "JobRevertRequest", default)]
pub struct JobRevertRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
    #[serde(rename = "EnforcePriorVersion")]
    pub enforce_prior_version: Option<u64>,
    #[serde(rename = "Region")]
    pub region: String,
}

/// `PUT /v1/job/<id>/stable` (`structs.JobStabilityRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "JobStabilityRequest", default)]
pub struct JobStabilityRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
    #[serde(rename = "Stable")]
    pub stable: bool,
    #[serde(rename = "Region")]
    pub region: String,
}
