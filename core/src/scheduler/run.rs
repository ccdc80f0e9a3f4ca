//! `EvalRun`: Nomad's worker and retry loop for one evaluation, without the
//! I/O. It hands the host one write at a time, in Nomad's order, and learns
//! through `plan_applied` what the plan applier committed.

use std::collections::VecDeque;

use crate::model::{
    Evaluation, EVAL_STATUS_BLOCKED, EVAL_STATUS_COMPLETE, EVAL_STATUS_FAILED, JOB_TYPE_BATCH,
    JOB_TYPE_SERVICE, JOB_TYPE_SYSTEM, TRIGGER_DEPLOYMENT_WATCHER, TRIGGER_JOB_DEREGISTER,
    TRIGGER_JOB_REGISTER, TRIGGER_MAX_PLANS, TRIGGER_NODE_UPDATE, TRIGGER_PERIODIC_JOB,
    TRIGGER_ROLLING_UPDATE,
};
use crate::scheduler::context::StateView;
use crate::scheduler::pass::{blocked_eval, Carry, PassOutcome};
use crate::scheduler::plan::{Plan, PlanResult};
use crate::scheduler::rng::Rng;
use crate::scheduler::{generic, system};
use crate::state::{ClusterState, Command};

/// Attempts without progress before a service or system evaluation fails.
const MAX_SERVICE_ATTEMPTS: u32 = 5;
/// The same for batch.
const MAX_BATCH_ATTEMPTS: u32 = 2;

/// Which scheduler processes an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Service,
    Batch,
    System,
}

impl Kind {
    pub fn of(eval_type: &str) -> Result<Kind, String> {
        match eval_type {
            JOB_TYPE_SERVICE => Ok(Kind::Service),
            JOB_TYPE_BATCH => Ok(Kind::Batch),
            JOB_TYPE_SYSTEM => Ok(Kind::System),
            other => Err(format!("unknown scheduler '{other}'")),
        }
    }

    fn handles(self, trigger: &str) -> bool {
        let common = [
            TRIGGER_JOB_REGISTER,
            TRIGGER_NODE_UPDATE,
            TRIGGER_JOB_DEREGISTER,
            TRIGGER_ROLLING_UPDATE,
            TRIGGER_DEPLOYMENT_WATCHER,
        ];
        common.contains(&trigger)
            || (self != Kind::System
                && (trigger == TRIGGER_PERIODIC_JOB || trigger == TRIGGER_MAX_PLANS))
    }

    fn attempts(self) -> u32 {
        match self {
            Kind::Batch => MAX_BATCH_ATTEMPTS,
            _ => MAX_SERVICE_ATTEMPTS,
        }
    }

    /// One pass over `view`.
    pub fn pass(
        self,
        view: StateView<'_>,
        eval: &Evaluation,
        rng: &mut Rng,
        carry: &mut Carry,
    ) -> Result<PassOutcome, String> {
        match self {
            Kind::Service => generic::process(view, eval, false, rng, carry),
            Kind::Batch => generic::process(view, eval, true, rng, carry),
            Kind::System => system::process(view, eval, rng, carry),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The next call runs a pass.
    Ready,
    /// A plan was handed out; waiting for `plan_applied`.
    AwaitingPlan,
    Finished,
}

/// The processing of one evaluation, resumable across plan submissions
/// (Nomad's worker + retry loop, without the I/O). The host drives it:
///
/// ```text
/// let mut run = EvalRun::new(eval, seed);
/// run.set_now(now);                                 // CreateTime of placements
/// while let Some(cmd) = run.next(&snapshot_of_current_state) {
///     let applied = log_and_apply(cmd);             // durable, then apply
///     if let Reply::Plan(result) = applied.reply { run.plan_applied(&result); }
/// }
/// ```
///
/// Each call to [`EvalRun::next`] returns the next write in Nomad's order:
/// the blocked evaluation and the rolling follow-up (each its own
/// `UpsertEvals`), the plan (`ApplyPlan`), then the evaluation's own update
/// (`UpsertEvals`), or `None` when the evaluation is finished. A refused or
/// partly committed plan makes the next call run another pass against the
/// newer state it is given (5 attempts without progress for service and
/// system, 2 for batch).
#[derive(Debug, Clone)]
pub struct EvalRun {
    eval: Evaluation,
    rng: Rng,
    now: i64,
    phase: Phase,
    attempts: u32,
    snapshot_index: Option<u64>,
    carry: Carry,
    pending: VecDeque<Command>,
    last: Option<PassOutcome>,
    /// Allocations of the plan handed out (for the full-commit check; a
    /// result never holds more than its plan, node by node).
    submitted: usize,
    /// A blocked evaluation finished still blocked (nothing was written).
    reblocked: bool,
}

impl EvalRun {
    /// `seed` supplies every random choice (node shuffle, dynamic ports,
    /// allocation, deployment and evaluation IDs).
    pub fn new(eval: Evaluation, seed: u64) -> Self {
        EvalRun {
            eval,
            rng: Rng::new(seed),
            now: 0,
            phase: Phase::Ready,
            attempts: 0,
            snapshot_index: None,
            carry: Carry::default(),
            pending: VecDeque::new(),
            last: None,
            submitted: 0,
            reblocked: false,
        }
    }

    /// The state index the run first read (its snapshot), once it has run.
    pub fn snapshot_index(&self) -> Option<u64> {
        self.snapshot_index
    }

    /// The run ended with a blocked evaluation that is still blocked; no
    /// write recorded that, so the host must keep tracking it as blocked.
    pub fn reblocked(&self) -> bool {
        self.reblocked
    }

    /// The evaluation being processed.
    pub fn eval(&self) -> &Evaluation {
        &self.eval
    }

    /// Unix nanoseconds written into the `ApplyPlan` commands handed out
    /// from now on (the `CreateTime` of new allocations). Defaults to 0.
    pub fn set_now(&mut self, now: i64) {
        self.now = now;
    }

    /// Whether the evaluation is finished (no further writes).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished && self.pending.is_empty()
    }

    /// The next write, computed from a fresh snapshot of the state.
    pub fn next(&mut self, state: &ClusterState) -> Option<Command> {
        loop {
            if let Some(cmd) = self.pending.pop_front() {
                return Some(cmd);
            }
            match self.phase {
                Phase::Finished => return None,
                Phase::AwaitingPlan => {
                    // The host did not report the plan's fate: treat it as
                    // refused and plan again against this state.
                    let refused = PlanResult {
                        refresh_index: state.index().max(1),
                        ..Default::default()
                    };
                    self.plan_applied(&refused);
                }
                Phase::Ready => self.step(state),
            }
        }
    }

    /// The next write and the writes decided together with it, which
    /// `next` would hand out one by one without looking at the state
    /// again: applying them in order is what calling `next` for each would
    /// do, so a host may log them durably as one group. Only the last can
    /// be an `ApplyPlan`; none of them is a command the state can refuse
    /// (evaluation upserts and plans), so applying the group whole loses
    /// nothing against stopping at a refusal. Empty when the evaluation is
    /// finished.
    pub fn next_batch(&mut self, state: &ClusterState) -> Vec<Command> {
        let Some(first) = self.next(state) else {
            return Vec::new();
        };
        let mut batch = Vec::with_capacity(1 + self.pending.len());
        batch.push(first);
        batch.extend(self.pending.drain(..));
        batch
    }

    /// Feeds back what the plan applier committed of the last plan.
    pub fn plan_applied(&mut self, result: &PlanResult) {
        if self.phase != Phase::AwaitingPlan {
            return;
        }
        if let Some(last) = self.last.as_mut() {
            // Fresh allocations counted per run of the same group (a system
            // plan's thousands are mostly of one group): one lookup a run.
            let mut run: Option<(&str, i64)> = None;
            let mut settle = |run: Option<(&str, i64)>| {
                if let Some((group, n)) = run {
                    if let Some(q) = last.queued.get_mut(group) {
                        *q -= n;
                    }
                }
            };
            for a in result.node_allocation.values().flatten() {
                // Newly created, as Nomad tells: stored at the commit index
                // (or not stored yet); in-place versions keep their origin.
                let fresh = a.create_index == a.modify_index
                    && (a.create_index == 0 || a.create_index == result.alloc_index);
                if !fresh {
                    continue;
                }
                match &mut run {
                    Some((group, n)) if *group == a.task_group => *n += 1,
                    _ => settle(run.replace((a.task_group.as_str(), 1))),
                }
            }
            settle(run);
        }
        let committed: usize = result.node_allocation.values().map(Vec::len).sum();
        let full = committed == self.submitted;
        if result.refresh_index == 0 && full {
            self.complete();
            return;
        }
        let progress = !result.is_no_op();
        self.attempts = if progress { 0 } else { self.attempts + 1 };
        let kind = Kind::of(&self.eval.eval_type).unwrap_or(Kind::Service);
        if self.attempts >= kind.attempts() {
            self.exhausted(kind);
        } else {
            self.phase = Phase::Ready;
        }
    }

    fn step(&mut self, state: &ClusterState) {
        if self.snapshot_index.is_none() {
            self.snapshot_index = Some(state.index());
        }
        let kind = match Kind::of(&self.eval.eval_type) {
            Ok(k) => k,
            Err(e) => return self.set_status(EVAL_STATUS_FAILED, &e, None),
        };
        if !kind.handles(&self.eval.triggered_by) {
            let desc = format!(
                "scheduler cannot handle '{}' evaluation reason",
                self.eval.triggered_by
            );
            return self.set_status(EVAL_STATUS_FAILED, &desc, None);
        }
        let out = match kind.pass(
            StateView::new(state),
            &self.eval,
            &mut self.rng,
            &mut self.carry,
        ) {
            Ok(out) => out,
            Err(e) => return self.set_status(EVAL_STATUS_FAILED, &e, None),
        };
        self.accept(out);
    }

    fn accept(&mut self, mut out: PassOutcome) {
        for mut e in std::mem::take(&mut out.created_evals) {
            e.snapshot_index = self.snapshot_index.unwrap_or(0);
            self.pending
                .push_back(Command::UpsertEvals { evals: vec![e] });
        }
        match out.plan.take() {
            None => {
                self.last = Some(out);
                self.complete();
            }
            Some(plan) => {
                self.record_submission(&plan);
                self.last = Some(out);
                self.pending.push_back(Command::ApplyPlan {
                    plan: Box::new(plan),
                    now: self.now,
                });
                self.phase = Phase::AwaitingPlan;
            }
        }
    }

    fn record_submission(&mut self, plan: &Plan) {
        self.submitted = plan.node_allocation.values().map(Vec::len).sum();
    }

    /// The pass is done: complete the evaluation, or re-block a blocked one
    /// that still could not place everything.
    fn complete(&mut self) {
        let out = self.last.take().unwrap_or_default();
        let kind = Kind::of(&self.eval.eval_type).unwrap_or(Kind::Service);
        if kind != Kind::System
            && self.eval.status == EVAL_STATUS_BLOCKED
            && !out.failed_tg_allocs.is_empty()
        {
            // Nomad re-blocks without a write (`Eval.Reblock` only tells the
            // blocked-evals tracker); the host keeps it blocked.
            self.reblocked = true;
            self.phase = Phase::Finished;
            return;
        }
        self.set_status(EVAL_STATUS_COMPLETE, "", Some(out));
    }

    /// Out of attempts: fail, and (generic) block for the rest.
    fn exhausted(&mut self, kind: Kind) {
        let out = self.last.take().unwrap_or_default();
        if kind != Kind::System {
            let mut b = blocked_eval(&self.eval, &out, &mut self.rng, true);
            b.snapshot_index = self.snapshot_index.unwrap_or(0);
            self.carry.blocked = Some(b.clone());
            self.pending
                .push_back(Command::UpsertEvals { evals: vec![b] });
        }
        let desc = format!("maximum attempts reached ({})", kind.attempts());
        self.set_status(EVAL_STATUS_FAILED, &desc, Some(out));
    }

    /// Nomad's `setStatus`: the evaluation's final write.
    fn set_status(&mut self, status: &str, desc: &str, out: Option<PassOutcome>) {
        let system = self.eval.eval_type == JOB_TYPE_SYSTEM;
        let mut e = self.eval.clone();
        e.status = status.to_string();
        e.status_description = desc.to_string();
        e.deployment_id = match (&out, system) {
            (Some(o), false) => o.deployment_id.clone(),
            _ => String::new(),
        };
        e.failed_tg_allocs = out
            .as_ref()
            .map(|o| o.failed_tg_allocs.clone())
            .unwrap_or_default();
        if let Some(n) = &self.carry.next_eval {
            e.next_eval = n.id.clone();
        }
        if let (Some(b), false) = (&self.carry.blocked, system) {
            e.blocked_eval = b.id.clone();
        }
        if let Some(o) = out {
            e.queued_allocations = Some(o.queued);
        }
        e.snapshot_index = self.snapshot_index.unwrap_or(0);
        self.pending
            .push_back(Command::UpsertEvals { evals: vec![e] });
        self.phase = Phase::Finished;
    }
}

#[cfg(test)]
mod tests;
