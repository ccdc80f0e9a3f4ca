//! The plugin in place of the linked scheduler: the same calls a server
//! makes on `caravan_core::scheduler` (`plan_job`, driving an `EvalRun`),
//! answered by the sandboxed plugin.

use std::path::Path;

use caravan_core::model::{Evaluation, Job};
use caravan_core::scheduler::plan::PlanResult;
use caravan_core::scheduler::{PlanOptions, PlanResponse};
use caravan_core::{ClusterState, Command};

use super::{Limits, Plugin, PluginError, Session};
use crate::abi::{
    Empty, EvalNextRequest, EvalNextResponse, EvalPlanAppliedRequest, EvalStartRequest, Op,
    PlanJobRequest, ScheduleRequest, ScheduleResponse,
};
use crate::ops::Step;

/// A scheduler backed by the plugin. Clone it freely (the compiled module
/// is shared); every call runs in its own sandboxed instance.
#[derive(Debug, Clone)]
pub struct PluginScheduler {
    plugin: Plugin,
}

impl PluginScheduler {
    /// Loads and checks the plugin (`caravan agent -scheduler-plugin PATH`).
    pub fn load(path: impl AsRef<Path>, limits: Limits) -> Result<Self, PluginError> {
        Ok(PluginScheduler {
            plugin: Plugin::from_file(path, limits)?,
        })
    }

    pub fn new(plugin: Plugin) -> Self {
        PluginScheduler { plugin }
    }

    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// `caravan_core::scheduler::plan_job` in the plugin. An `Err` the core
    /// returns comes back as [`PluginError::Guest`] with the same text.
    pub fn plan_job(
        &self,
        state: &ClusterState,
        job: &Job,
        opts: &PlanOptions,
    ) -> Result<PlanResponse, PluginError> {
        let request = PlanJobRequest {
            state,
            job,
            diff: opts.diff,
            seed: opts.seed,
            now: opts.now,
        };
        self.plugin.call(Op::PlanJob, &request)
    }

    /// Runs the evaluation to its end on the plugin's private copy of
    /// `state` and returns the writes in order, each with what the plan
    /// applier made of it there. The host logs and applies them in order;
    /// if its own apply of a plan gives another result (the state moved
    /// meanwhile), it drops the rest and schedules again on a fresh
    /// snapshot. One call per evaluation.
    pub fn schedule(
        &self,
        state: &ClusterState,
        eval: &Evaluation,
        seed: u64,
    ) -> Result<Vec<Step>, PluginError> {
        let request = ScheduleRequest { state, eval, seed };
        let response: ScheduleResponse = self.plugin.call(Op::Schedule, &request)?;
        Ok(response.steps)
    }

    /// The drop-in replacement for `EvalRun::new(eval, seed)`: the run
    /// lives in one plugin instance and is driven exactly like the native
    /// one, a fresh snapshot per step.
    pub fn eval_run(&self, eval: Evaluation, seed: u64) -> Result<PluginEvalRun, PluginError> {
        let mut session = self.plugin.session()?;
        let _: Empty = session.call(Op::EvalStart, &EvalStartRequest { eval: &eval, seed })?;
        Ok(PluginEvalRun {
            session,
            eval,
            reblocked: false,
            snapshot_index: None,
        })
    }
}

/// `caravan_core::scheduler::EvalRun`, run inside the plugin.
///
/// ```text
/// let mut run = scheduler.eval_run(eval, seed)?;
/// while let Some(cmd) = run.next(&snapshot_of_current_state)? {
///     let applied = log_and_apply(cmd);
///     if let Reply::Plan(result) = applied.reply { run.plan_applied(&result)?; }
/// }
/// ```
pub struct PluginEvalRun {
    session: Session,
    eval: Evaluation,
    reblocked: bool,
    snapshot_index: Option<u64>,
}

impl PluginEvalRun {
    /// The evaluation being processed.
    pub fn eval(&self) -> &Evaluation {
        &self.eval
    }

    /// The next write for the current state, or `None` when finished.
    pub fn next(&mut self, state: &ClusterState) -> Result<Option<Command>, PluginError> {
        let response: EvalNextResponse = self
            .session
            .call(Op::EvalNext, &EvalNextRequest { state })?;
        self.reblocked = response.reblocked;
        self.snapshot_index = response.snapshot_index;
        Ok(response.command)
    }

    /// `EvalRun::reblocked` as of the last [`PluginEvalRun::next`].
    pub fn reblocked(&self) -> bool {
        self.reblocked
    }

    /// `EvalRun::snapshot_index` as of the last [`PluginEvalRun::next`].
    pub fn snapshot_index(&self) -> Option<u64> {
        self.snapshot_index
    }

    /// Feeds back what the plan applier committed of the last plan.
    pub fn plan_applied(&mut self, result: &PlanResult) -> Result<(), PluginError> {
        let _: Empty = self
            .session
            .call(Op::EvalPlanApplied, &EvalPlanAppliedRequest { result })?;
        Ok(())
    }
}
