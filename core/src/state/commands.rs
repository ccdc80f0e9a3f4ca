//! The commands of the replicated log and the replies they produce.
//!
//! Every field a command needs that the core may not choose — the time, a
//! fresh evaluation ID, the random part of a dispatched child's ID — is
//! chosen by the host before the command is logged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{nil, AllocDeploymentStatus, Evaluation, Job, Node, StringMap, TaskState};
use crate::scheduler::plan::{Plan, PlanResult};

/// A write to the cluster state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Register or update a job (`PUT /v1/job/<id>`). `job` is already
    /// canonicalized and validated.
    RegisterJob {
        job: Box<Job>,
        enforce_index: bool,
        job_modify_index: u64,
        /// ID of the evaluation to create (unused for periodic and
        /// parameterized jobs).
        eval_id: String,
        /// Unix nanoseconds: the `SubmitTime` of a new version.
        now: i64,
    },
    /// Stop (or purge) a job (`DELETE /v1/job/<id>`).
    DeregisterJob {
        job_id: String,
        purge: bool,
        eval_id: String,
        now: i64,
    },
    /// Force a new evaluation (`PUT /v1/job/<id>/evaluate`).
    EvaluateJob { job_id: String, eval_id: String },
    /// Revert to an earlier version (`PUT /v1/job/<id>/revert`).
    RevertJob {
        job_id: String,
        version: u64,
        enforce_prior_version: Option<u64>,
        eval_id: String,
        now: i64,
    },
    /// Mark a version stable or unstable (`PUT /v1/job/<id>/stable`).
    SetJobStability {
        job_id: String,
        version: u64,
        stable: bool,
    },
    /// Dispatch a parameterized job (`PUT /v1/job/<id>/dispatch`).
    DispatchJob {
        job_id: String,
        #[serde(with = "nil::bytes")]
        payload: Vec<u8>,
        meta: StringMap,
        /// Optional idempotency token (a later-Nomad extension).
        idempotency_token: Option<String>,
        /// Eight lowercase hex characters for the child ID.
        id_suffix: String,
        eval_id: String,
        now: i64,
    },
    /// Launch a periodic job's child for `launch` (Unix seconds), either on
    /// schedule or forced (`PUT /v1/job/<id>/periodic/force`).
    PeriodicLaunch {
        job_id: String,
        launch: i64,
        force: bool,
        eval_id: String,
        now: i64,
    },
    /// Create or update evaluations (scheduler results, blocked and
    /// follow-up evaluations).
    UpsertEvals { evals: Vec<Evaluation> },
    /// Apply a scheduler plan (re-checked against the current state).
    ApplyPlan { plan: Box<Plan>, now: i64 },
    /// Client-reported allocation status.
    UpdateAllocsFromClient { updates: Vec<AllocClientUpdate> },
    /// Register a node or replace its record.
    UpsertNode { node: Box<Node> },
    /// Change a node's status (`ready`, `down`, …) at `now` (Unix seconds).
    UpdateNodeStatus {
        node_id: String,
        status: String,
        now: i64,
    },
    /// Toggle a node's drain flag.
    UpdateNodeDrain { node_id: String, drain: bool },
}

/// What a client reports about one allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AllocClientUpdate {
    pub alloc_id: String,
    pub client_status: String,
    pub client_description: String,
    pub task_states: BTreeMap<String, TaskState>,
    pub deployment_status: Option<AllocDeploymentStatus>,
}

/// The reply of an applied command. A plan's result is the largest by
/// far; it is kept inline all the same: a reply is made once per command
/// and moved once or twice, where a box would cost an allocation per plan.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Reply {
    Register(RegisterReply),
    Deregister(DeregisterReply),
    Evaluate(EvaluateReply),
    Dispatch(DispatchReply),
    Force(ForceReply),
    /// `PUT /stable`: the write index.
    Stable {
        index: u64,
    },
    Plan(PlanResult),
    /// Evals, client updates, nodes: nothing to report but the index.
    Done,
}

/// Register (and revert) response fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RegisterReply {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    pub eval_create_index: u64,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "Warnings")]
    pub warnings: String,
    #[serde(rename = "Index")]
    pub index: u64,
}

/// Deregister response fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeregisterReply {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    pub eval_create_index: u64,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "Index")]
    pub index: u64,
}

/// Evaluate response fields.
pub type EvaluateReply = RegisterReply;

/// Dispatch response fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DispatchReply {
    #[serde(rename = "DispatchedJobID")]
    pub dispatched_job_id: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    pub eval_create_index: u64,
    #[serde(rename = "JobCreateIndex")]
    pub job_create_index: u64,
    #[serde(rename = "Index")]
    pub index: u64,
}

/// Periodic force response fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ForceReply {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    pub eval_create_index: u64,
    #[serde(rename = "Index")]
    pub index: u64,
}
