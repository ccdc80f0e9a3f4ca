//! Read models: job summaries, list stubs and deployments.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::nil;

/// `GET /v1/job/<id>/summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobSummary {
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "Summary")]
    pub summary: BTreeMap<String, TaskGroupSummary>,
    #[serde(rename = "Children")]
    pub children: JobChildrenSummary,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// Allocation counts of one task group, by client state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskGroupSummary {
    pub queued: i64,
    pub complete: i64,
    pub failed: i64,
    pub running: i64,
    pub starting: i64,
    pub lost: i64,
}

/// Counts of a parent job's children by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobChildrenSummary {
    pub pending: i64,
    pub running: i64,
    pub dead: i64,
}

/// Items of `GET /v1/jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobListStub {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Type")]
    pub job_type: String,
    #[serde(rename = "Priority")]
    pub priority: i64,
    #[serde(rename = "Periodic")]
    pub periodic: bool,
    #[serde(rename = "ParameterizedJob")]
    pub parameterized_job: bool,
    #[serde(rename = "Stop")]
    pub stop: bool,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    #[serde(rename = "JobSummary")]
    pub job_summary: Option<JobSummary>,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "SubmitTime")]
    pub submit_time: i64,
}

pub const DEPLOYMENT_STATUS_RUNNING: &str = "running";
pub const DEPLOYMENT_STATUS_PAUSED: &str = "paused";
pub const DEPLOYMENT_STATUS_FAILED: &str = "failed";
pub const DEPLOYMENT_STATUS_SUCCESSFUL: &str = "successful";
pub const DEPLOYMENT_STATUS_CANCELLED: &str = "cancelled";

/// A deployment of one job version (`/v1/job/<id>/deployment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Deployment {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobVersion")]
    pub job_version: u64,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "JobCreateIndex")]
    pub job_create_index: u64,
    #[serde(rename = "TaskGroups")]
    pub task_groups: BTreeMap<String, DeploymentState>,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl Deployment {
    /// Running or paused.
    pub fn active(&self) -> bool {
        matches!(
            self.status.as_str(),
            DEPLOYMENT_STATUS_RUNNING | DEPLOYMENT_STATUS_PAUSED
        )
    }
}

/// Per-group progress of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeploymentState {
    pub auto_revert: bool,
    pub promoted: bool,
    #[serde(serialize_with = "nil::vec", deserialize_with = "nil::or_default")]
    pub placed_canaries: Vec<String>,
    pub desired_canaries: i64,
    pub desired_total: i64,
    pub placed_allocs: i64,
    pub healthy_allocs: i64,
    pub unhealthy_allocs: i64,
}
