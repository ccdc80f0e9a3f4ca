//! Scheduling: the generic (service, batch) and system schedulers, the
//! feasibility and ranking stack, the plan applier's checks and the dry-run
//! planner. A scheduler reads a state snapshot and returns a plan; it never
//! writes.

pub mod plan;

mod rng;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diff::JobDiff;
use crate::model::{AllocMetric, Evaluation, Job, EVAL_STATUS_COMPLETE};
use crate::state::{ClusterState, Command};
use plan::{Plan, PlanAnnotations, PlanResult};

pub use rng::Rng;

/// Nomad's plan applier check: which parts of `plan` still fit the current
/// state. PLACEHOLDER: accepts the whole plan.
pub fn evaluate_plan(_state: &ClusterState, plan: &Plan) -> PlanResult {
    PlanResult {
        node_update: plan.node_update.clone(),
        node_allocation: plan.node_allocation.clone(),
        deployment: plan.deployment.clone(),
        deployment_updates: plan.deployment_updates.clone(),
        refresh_index: 0,
        alloc_index: 0,
    }
}

/// The processing of one evaluation, resumable across plan submissions
/// (Nomad's worker + retry loop, without the I/O). The host drives it:
///
/// ```text
/// let mut run = EvalRun::new(eval, seed);
/// while let Some(cmd) = run.next(&snapshot_of_current_state) {
///     let applied = log_and_apply(cmd);          // durable, then apply
///     if let Reply::Plan(result) = applied.reply { run.plan_applied(&result); }
/// }
/// ```
///
/// Each call to [`EvalRun::next`] returns the next write in Nomad's order
/// (blocked eval, plan, final eval update …) or `None` when the evaluation
/// is finished.
#[derive(Debug, Clone)]
pub struct EvalRun {
    eval: Evaluation,
    rng: Rng,
    done: bool,
}

impl EvalRun {
    /// `seed` supplies every random choice (node shuffle, dynamic ports,
    /// allocation and evaluation IDs).
    pub fn new(eval: Evaluation, seed: u64) -> Self {
        EvalRun {
            eval,
            rng: Rng::new(seed),
            done: false,
        }
    }

    /// The evaluation being processed.
    pub fn eval(&self) -> &Evaluation {
        &self.eval
    }

    /// The next write, computed from a fresh snapshot. PLACEHOLDER: marks
    /// the evaluation complete.
    pub fn next(&mut self, state: &ClusterState) -> Option<Command> {
        let _ = (state, &mut self.rng);
        if self.done {
            return None;
        }
        self.done = true;
        let mut eval = self.eval.clone();
        eval.status = EVAL_STATUS_COMPLETE.into();
        Some(Command::UpsertEvals { evals: vec![eval] })
    }

    /// Feeds back what the plan applier committed of the last plan.
    pub fn plan_applied(&mut self, result: &PlanResult) {
        let _ = result;
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

/// The dry-run planner behind `/plan` and the browser previewer: runs the
/// real scheduler for `job` (canonicalized and validated) on a copy of
/// `state` and throws the copy away. PLACEHOLDER until the scheduler lands.
pub fn plan_job(
    state: &ClusterState,
    job: &Job,
    opts: &PlanOptions,
) -> Result<PlanResponse, String> {
    let existing = state.job(&job.id);
    let jmi = existing.map_or(0, |j| j.job_modify_index);
    let diff = if opts.diff {
        Some(crate::diff::diff_jobs(
            existing.map(|j| &**j),
            Some(job),
            true,
        )?)
    } else {
        None
    };
    Ok(PlanResponse {
        annotations: Some(PlanAnnotations::default()),
        job_modify_index: jmi,
        diff,
        next_periodic_launch: crate::model::GO_ZERO_TIME.into(),
        index: jmi,
        ..Default::default()
    })
}
