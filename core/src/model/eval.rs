//! Evaluations: the unit of scheduling work.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alloc::AllocMetric;
use super::job::Duration;
use super::nil;

pub const EVAL_STATUS_PENDING: &str = "pending";
pub const EVAL_STATUS_BLOCKED: &str = "blocked";
pub const EVAL_STATUS_COMPLETE: &str = "complete";
pub const EVAL_STATUS_FAILED: &str = "failed";
pub const EVAL_STATUS_CANCELED: &str = "canceled";

pub const TRIGGER_JOB_REGISTER: &str = "job-register";
pub const TRIGGER_JOB_DEREGISTER: &str = "job-deregister";
pub const TRIGGER_PERIODIC_JOB: &str = "periodic-job";
pub const TRIGGER_NODE_UPDATE: &str = "node-update";
pub const TRIGGER_SCHEDULED: &str = "scheduled";
pub const TRIGGER_ROLLING_UPDATE: &str = "rolling-update";
pub const TRIGGER_DEPLOYMENT_WATCHER: &str = "deployment-watcher";
pub const TRIGGER_FAILED_FOLLOW_UP: &str = "failed-follow-up";
pub const TRIGGER_MAX_PLANS: &str = "max-plan-attempts";

/// An evaluation (`GET /v1/evaluation/<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Evaluation {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Priority")]
    pub priority: i64,
    #[serde(rename = "Type")]
    pub eval_type: String,
    #[serde(rename = "TriggeredBy")]
    pub triggered_by: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "NodeModifyIndex")]
    pub node_modify_index: u64,
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
    #[serde(rename = "Wait")]
    pub wait: Duration,
    #[serde(rename = "NextEval")]
    pub next_eval: String,
    #[serde(rename = "PreviousEval")]
    pub previous_eval: String,
    #[serde(rename = "BlockedEval")]
    pub blocked_eval: String,
    #[serde(
        rename = "FailedTGAllocs",
        serialize_with = "nil::map",
        deserialize_with = "nil::or_default"
    )]
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// `null` on most evals, `{}` on a blocked eval that learned nothing.
    #[serde(rename = "ClassEligibility")]
    pub class_eligibility: Option<BTreeMap<String, bool>>,
    #[serde(rename = "EscapedComputedClass")]
    pub escaped_computed_class: bool,
    #[serde(rename = "AnnotatePlan")]
    pub annotate_plan: bool,
    /// `null` until processed; `{}` for a stopped or missing job.
    #[serde(rename = "QueuedAllocations")]
    pub queued_allocations: Option<BTreeMap<String, i64>>,
    #[serde(rename = "SnapshotIndex")]
    pub snapshot_index: u64,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl Evaluation {
    /// Terminal: complete, failed or canceled.
    pub fn terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            EVAL_STATUS_COMPLETE | EVAL_STATUS_FAILED | EVAL_STATUS_CANCELED
        )
    }
}
