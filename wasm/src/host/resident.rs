//! A long-lived plugin instance that keeps a replica of the host's cluster
//! state, fed the same logged commands the host applies, so that a
//! scheduling call ships only the evaluation (or job) and a seed.
//!
//! The replica is exact because `ClusterState::apply` is deterministic: the
//! same snapshot plus the same commands in log order give the same state
//! natively and in wasm32. Any failure that may have left the instance
//! behind the log (a trap, running out of fuel or memory, a refused
//! `state_apply`) drops it; the host loads a fresh one from a snapshot.

use caravan_core::model::{Evaluation, Job};
use caravan_core::scheduler::{PlanOptions, PlanResponse};
use caravan_core::{ClusterState, Command};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{decode, Plugin, PluginError, Session};
use crate::abi::{Empty, EvalNextResponse, EvalStartRequest, Op, StateIndex, StatePlanJobRequest};

/// The plugin's scheduler on a resident state (ABI `state_*` operations).
///
/// ```text
/// let mut resident = ResidentScheduler::new(plugin);
/// resident.load(&snapshot)?;                   // once, and after any failure
/// resident.apply_encoded(logged_batch)?;       // every batch, in log order
/// resident.eval_start(&eval, seed)?;
/// while let Some(cmd) = resident.eval_next()?.command {
///     log_and_apply(cmd);                      // then apply_encoded(batch)
/// }
/// ```
///
/// Fuel is budgeted per call; the memory cap is for the instance's whole
/// life, so size it for the state (`Limits::memory_bytes`).
pub struct ResidentScheduler {
    plugin: Plugin,
    session: Option<Session>,
    index: u64,
}

impl std::fmt::Debug for ResidentScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResidentScheduler")
            .field("plugin", &self.plugin)
            .field("loaded", &self.session.is_some())
            .field("index", &self.index)
            .finish()
    }
}

impl ResidentScheduler {
    /// No instance yet: [`ResidentScheduler::load`] starts one.
    pub fn new(plugin: Plugin) -> Self {
        ResidentScheduler {
            plugin,
            session: None,
            index: 0,
        }
    }

    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Whether an instance holds a state (false before the first load and
    /// after a failure dropped it).
    pub fn is_loaded(&self) -> bool {
        self.session.is_some()
    }

    /// The resident state's index after the last load or apply.
    pub fn index(&self) -> Option<u64> {
        self.session.as_ref().map(|_| self.index)
    }

    /// Linear memory of the live instance, in bytes.
    pub fn memory_bytes(&self) -> Option<usize> {
        self.session.as_ref().map(Session::memory_bytes)
    }

    /// Drops the instance (say, when the host finds the replica out of
    /// step); the next call answers [`PluginError::Unloaded`] until a load.
    pub fn unload(&mut self) {
        self.session = None;
    }

    /// Starts a fresh instance holding `state`; any earlier instance (and
    /// its evaluation run) is dropped.
    pub fn load(&mut self, state: &ClusterState) -> Result<u64, PluginError> {
        let json = serde_json::to_vec(state).map_err(|e| PluginError::Request(e.to_string()))?;
        self.load_encoded(&json)
    }

    /// [`ResidentScheduler::load`] from a state already encoded as serde
    /// JSON (the server's snapshot format).
    pub fn load_encoded(&mut self, state_json: &[u8]) -> Result<u64, PluginError> {
        self.session = None;
        let mut session = self.plugin.session()?;
        let request = [b"{\"State\":".as_slice(), state_json, b"}"].concat();
        let loaded: StateIndex = decode(&session.call_raw(Op::StateLoad, &request)?)?;
        self.session = Some(session);
        self.index = loaded.index;
        Ok(loaded.index)
    }

    /// Applies commands in log order; returns the resident index after.
    pub fn apply(&mut self, commands: &[Command]) -> Result<u64, PluginError> {
        let mut encoded = Vec::with_capacity(commands.len());
        for c in commands {
            encoded.push(serde_json::to_vec(c).map_err(|e| PluginError::Request(e.to_string()))?);
        }
        self.apply_encoded(encoded.iter().map(Vec::as_slice))
    }

    /// Applies commands given as logged (each `Command` as serde JSON), in
    /// order; returns the resident index after. Any failure drops the
    /// instance, since it may have applied part of the batch.
    pub fn apply_encoded<'a>(
        &mut self,
        commands: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<u64, PluginError> {
        let mut request = b"{\"Commands\":[".to_vec();
        for (i, c) in commands.into_iter().enumerate() {
            if i > 0 {
                request.push(b',');
            }
            request.extend_from_slice(c);
        }
        request.extend_from_slice(b"]}");
        let applied: StateIndex = self.call_raw(Op::StateApply, &request, true)?;
        self.index = applied.index;
        Ok(applied.index)
    }

    /// `caravan_core::scheduler::plan_job` on the resident state.
    pub fn plan_job(&mut self, job: &Job, opts: &PlanOptions) -> Result<PlanResponse, PluginError> {
        let request = StatePlanJobRequest {
            job,
            diff: opts.diff,
            seed: opts.seed,
            now: opts.now,
        };
        self.call(Op::StatePlanJob, &request)
    }

    /// Starts the instance's evaluation run (`EvalRun::new(eval, seed)`).
    pub fn eval_start(&mut self, eval: &Evaluation, seed: u64) -> Result<(), PluginError> {
        let _: Empty = self.call(Op::EvalStart, &EvalStartRequest { eval, seed })?;
        Ok(())
    }

    /// `EvalRun::next` on the resident state, with the run's
    /// `reblocked()` and `snapshot_index()` after it. What the plan applier
    /// made of a plan reaches the run when the logged `ApplyPlan` is
    /// applied here, so the host only has to keep the state in step.
    pub fn eval_next(&mut self) -> Result<EvalNextResponse, PluginError> {
        self.call(Op::StateEvalNext, &Empty {})
    }

    fn call<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &mut self,
        op: Op,
        request: &Req,
    ) -> Result<Resp, PluginError> {
        let bytes = serde_json::to_vec(request).map_err(|e| PluginError::Request(e.to_string()))?;
        self.call_raw(op, &bytes, false)
    }

    /// Runs `op`; drops the instance on any failure of the instance itself
    /// and, when `state_changing`, on a refusal too (the replica may then
    /// lag the log).
    fn call_raw<Resp: DeserializeOwned>(
        &mut self,
        op: Op,
        request: &[u8],
        state_changing: bool,
    ) -> Result<Resp, PluginError> {
        let session = self.session.as_mut().ok_or(PluginError::Unloaded)?;
        let answer = session.call_raw(op, request).and_then(|a| decode(&a));
        if let Err(e) = &answer {
            if state_changing || !matches!(e, PluginError::Guest(_)) {
                self.session = None;
            }
        }
        answer
    }
}
