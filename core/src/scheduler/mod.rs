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
pub(crate) use applier::{commit_plan, prefetch_ahead, ByNode};
pub use planner::{plan_job, plan_job_forked};
pub use rng::Rng;
pub use run::EvalRun;

impl PlanResponse {
    /// This response as compact JSON, the bytes of
    /// [`json_out::to_vec`](crate::json_out::to_vec), with the diff's task
    /// groups encoded in two halves over `fork`.
    pub fn to_json_forked(
        &self,
        fork: &impl crate::fork::Fork,
    ) -> Result<Vec<u8>, crate::json_out::Error> {
        use crate::json_out::to_writer;
        let mut out = Vec::with_capacity(1 << 16);
        let Some(diff) = &self.diff else {
            to_writer(&mut out, self)?;
            return Ok(out);
        };
        // The fields in the order of the derive.
        out.extend_from_slice(b"{\"Annotations\":");
        to_writer(&mut out, &self.annotations)?;
        out.extend_from_slice(b",\"FailedTGAllocs\":");
        to_writer(&mut out, &self.failed_tg_allocs)?;
        out.extend_from_slice(b",\"JobModifyIndex\":");
        to_writer(&mut out, &self.job_modify_index)?;
        out.extend_from_slice(b",\"CreatedEvals\":");
        to_writer(&mut out, &self.created_evals)?;
        out.extend_from_slice(b",\"Diff\":");
        diff.write_json_forked(&mut out, fork)?;
        out.extend_from_slice(b",\"NextPeriodicLaunch\":");
        to_writer(&mut out, &self.next_periodic_launch)?;
        out.extend_from_slice(b",\"Warnings\":");
        to_writer(&mut out, &self.warnings)?;
        out.extend_from_slice(b",\"Index\":");
        to_writer(&mut out, &self.index)?;
        out.push(b'}');
        Ok(out)
    }
}

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
