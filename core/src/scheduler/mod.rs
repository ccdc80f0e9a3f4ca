//! Scheduling: the generic (service, batch) and system schedulers, the
//! feasibility and ranking stack, the plan applier's checks and the dry-run
//! planner. A scheduler reads a state snapshot and returns a plan; it never
//! writes.

pub mod plan;

mod applier;
mod context;
mod feasible;
mod generic;
mod network;
mod pass;
mod planner;
mod rank;
mod reconcile;
mod rng;
mod run;
mod stack;
mod system;
mod update;

#[cfg(test)]
pub(crate) mod fixtures;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diff::JobDiff;
use crate::model::{AllocMetric, Evaluation};
use plan::PlanAnnotations;

pub use applier::evaluate_plan;
pub(crate) use applier::{commit_plan, ByNode};
pub use planner::plan_job;
pub use rng::Rng;
pub use run::EvalRun;

/// Inputs of a dry run the host chooses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanOptions {
    /// Include the annotated job diff.
    pub diff: bool,
    /// Randomness for the throw-away run (shuffle, ports, IDs).
    pub seed: u64,
    /// Unix nanoseconds, for `NextPeriodicLaunch`.
    pub now: i64,
}

/// The body of a `/plan` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlanResponse {
    #[serde(rename = "Annotations")]
    pub annotations: Option<PlanAnnotations>,
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: Option<BTreeMap<String, AllocMetric>>,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "CreatedEvals")]
    pub created_evals: Option<Vec<Evaluation>>,
    #[serde(rename = "Diff")]
    pub diff: Option<JobDiff>,
    /// RFC 3339; the Go zero time when not periodic.
    #[serde(rename = "NextPeriodicLaunch")]
    pub next_periodic_launch: String,
    #[serde(rename = "Warnings")]
    pub warnings: String,
    #[serde(rename = "Index")]
    pub index: u64,
}
