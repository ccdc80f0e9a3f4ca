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
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{decode, decode_borrowed, Plugin, PluginError, Session};
use crate::abi::{
    Empty, EvalStartRequest, Op, StateEvalNextRequest, StateIndex, StatePlanJobRequest,
};

/// The plugin's scheduler on a resident state (ABI `state_*` operations).
///
/// ```text
/// let mut resident = ResidentScheduler::new(plugin);
/// resident.load(&snapshot)?;                   // once, and after any failure
/// resident.apply_encoded(logged_batch)?;       // every batch, in log order
/// resident.eval_start(&eval, seed)?;
/// loop {
///     let step = resident.eval_next(now)?;
///     let Some(cmd) = step.command else { break };
///     log_and_apply(cmd, step.encoded);        // then apply_encoded(batch)
/// }
/// ```
///
/// A write handed out by [`ResidentScheduler::eval_next`] that comes back
/// in a logged batch byte for byte as [`EvalStep::encoded`] is not sent
/// again: the replica applies the copy it kept (`null` in `state_apply`).
///
/// Fuel is budgeted per call; the memory cap is for the instance's whole
/// life, so size it for the state (`Limits::memory_bytes`).
pub struct ResidentScheduler {
    plugin: Plugin,
    session: Option<Session>,
    index: u64,
    /// The encoding of the write the guest handed out last and still keeps.
    pending: Option<Vec<u8>>,
}

/// One step of the resident evaluation run.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalStep {
    /// The run's next write (`None` once finished).
    pub command: Option<Command>,
    /// `command` exactly as the guest encoded it (serde JSON): log these
    /// bytes as they are and the replica need not be sent them back.
    pub encoded: Option<Vec<u8>>,
    /// [`caravan_core::scheduler::EvalRun::reblocked`] after the step.
    pub reblocked: bool,
    /// [`caravan_core::scheduler::EvalRun::snapshot_index`] after the step.
    pub snapshot_index: Option<u64>,
}

/// `state_eval_next`'s answer, the write left encoded.
#[derive(Deserialize)]
struct RawStep<'a> {
    #[serde(rename = "Command", borrow)]
    command: Option<&'a RawValue>,
    #[serde(rename = "Reblocked")]
    reblocked: bool,
    #[serde(rename = "SnapshotIndex")]
    snapshot_index: Option<u64>,
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
            pending: None,
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
        self.pending = None;
    }

    /// Starts a fresh instance holding `state`; any earlier instance (and
    /// its evaluation run) is dropped.
    pub fn load(&mut self, state: &ClusterState) -> Result<u64, PluginError> {
        let json = caravan_core::json_out::to_vec(state)
            .map_err(|e| PluginError::Request(e.to_string()))?;
        self.load_encoded(&json)
    }

    /// [`ResidentScheduler::load`] from a state already encoded as serde
    /// JSON (the server's snapshot format).
    pub fn load_encoded(&mut self, state_json: &[u8]) -> Result<u64, PluginError> {
        self.unload();
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
            encoded.push(
                caravan_core::json_out::to_vec(c)
                    .map_err(|e| PluginError::Request(e.to_string()))?,
            );
        }
        self.apply_encoded(encoded.iter().map(Vec::as_slice))
    }

    /// Applies commands given as logged (each `Command` as serde JSON), in
    /// order; returns the resident index after. The pending write, logged
    /// as handed out, goes as `null`. Any failure drops the instance, since
    /// it may have applied part of the batch.
    pub fn apply_encoded<'a>(
        &mut self,
        commands: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<u64, PluginError> {
        let mut request = b"{\"Commands\":[".to_vec();
        for (i, c) in commands.into_iter().enumerate() {
            if i > 0 {
                request.push(b',');
            }
            if self.pending.as_deref() == Some(c) {
                self.pending = None;
                request.extend_from_slice(b"null");
            } else {
                request.extend_from_slice(c);
            }
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
        self.pending = None;
        let _: Empty = self.call(Op::EvalStart, &EvalStartRequest { eval, seed })?;
        Ok(())
    }

    /// `EvalRun::next` on the resident state, a plan stamped with `now`
    /// (Unix ns), with the run's `reblocked()` and `snapshot_index()` after
    /// it. What the plan applier made of a plan reaches the run when the
    /// logged `ApplyPlan` is applied here, so the host only has to keep the
    /// state in step.
    pub fn eval_next(&mut self, now: i64) -> Result<EvalStep, PluginError> {
        self.pending = None;
        let request = caravan_core::json_out::to_vec(&StateEvalNextRequest { now })
            .map_err(|e| PluginError::Request(e.to_string()))?;
        let answer = self.answer(Op::StateEvalNext, &request)?;
        let step = decode_step(&answer);
        if matches!(step, Err(PluginError::BadAnswer(_))) {
            self.unload();
        }
        let step = step?;
        self.pending = step.encoded.clone();
        Ok(step)
    }

    fn call<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &mut self,
        op: Op,
        request: &Req,
    ) -> Result<Resp, PluginError> {
        let bytes = caravan_core::json_out::to_vec(request)
            .map_err(|e| PluginError::Request(e.to_string()))?;
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
        let answer = self.answer(op, request)?;
        let decoded = decode(&answer);
        if let Err(e) = &decoded {
            if state_changing || !matches!(e, PluginError::Guest(_)) {
                self.unload();
            }
        }
        decoded
    }

    /// The raw answer envelope of `op`. A failed call (a trap, fuel,
    /// memory: never the guest's own error answer) drops the instance.
    fn answer(&mut self, op: Op, request: &[u8]) -> Result<Vec<u8>, PluginError> {
        let session = self.session.as_mut().ok_or(PluginError::Unloaded)?;
        let answer = session.call_raw(op, request);
        if answer.is_err() {
            self.unload();
        }
        answer
    }
}

/// Reads `state_eval_next`'s answer, keeping the write's encoding.
fn decode_step(answer: &[u8]) -> Result<EvalStep, PluginError> {
    match decode_step_in_order(answer) {
        Some(step) => Ok(step),
        None => decode_step_any_layout(answer),
    }
}

/// [`decode_step`] of any valid answer: the write's span first (as a
/// `RawValue`), then the write.
fn decode_step_any_layout(answer: &[u8]) -> Result<EvalStep, PluginError> {
    let step: RawStep<'_> = decode_borrowed(answer)?;
    let command = step
        .command
        .map(|raw| {
            serde_json::from_str::<Command>(raw.get())
                .map_err(|e| PluginError::BadAnswer(format!("the write does not decode: {e}")))
        })
        .transpose()?;
    Ok(EvalStep {
        command,
        encoded: step.command.map(|raw| raw.get().as_bytes().to_vec()),
        reblocked: step.reblocked,
        snapshot_index: step.snapshot_index,
    })
}

/// [`decode_step`] of an answer laid out as the guest writes it,
/// `{"ok":{"Command":…,"Reblocked":…,"SnapshotIndex":…}}` with nothing
/// between the tokens: the write is decoded where it lies and its bytes
/// are the span the decoder read, instead of one pass to find the span
/// (`RawValue`) and a second to decode it — for a plan of 1000
/// allocations the first pass alone read 1.9 MB. `None` for any other
/// answer (an error, another layout, bad JSON); [`decode_step`] then takes
/// the general path, which also names what is wrong.
fn decode_step_in_order(answer: &[u8]) -> Option<EvalStep> {
    // Checked as text once: decoding from a `str` does not check each
    // string again (tens of thousands of short ones).
    let answer = std::str::from_utf8(answer).ok()?;
    let rest = answer.strip_prefix(r#"{"ok":{"Command":"#)?;
    let (command, encoded, tail) = match rest.strip_prefix("null") {
        Some(tail) => (None, None, tail),
        None => {
            let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Command>();
            let command = stream.next()?.ok()?;
            let (encoded, tail) = rest.split_at_checked(stream.byte_offset())?;
            (Some(command), Some(encoded.as_bytes().to_vec()), tail)
        }
    };
    // `,"Reblocked":…,"SnapshotIndex":…}}`: its fields as an object.
    let fields = tail.strip_prefix(',')?.strip_suffix('}')?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct After {
        #[serde(rename = "Reblocked")]
        reblocked: bool,
        #[serde(rename = "SnapshotIndex")]
        snapshot_index: Option<u64>,
    }
    let after: After = serde_json::from_str(&["{", fields].concat()).ok()?;
    Some(EvalStep {
        command,
        encoded,
        reblocked: after.reblocked,
        snapshot_index: after.snapshot_index,
    })
}

#[cfg(test)]
mod tests {
    use caravan_core::model::{AllocMetric, Allocation};
    use caravan_core::scheduler::plan::Plan;
    use caravan_core::Evaluation;

    use super::*;
    use crate::abi::EvalNextResponse;

    /// The answer as the guest lays it out: its encoder, in an `ok`
    /// envelope.
    fn answer(step: &EvalNextResponse) -> Vec<u8> {
        let body = caravan_core::json_out::to_vec(step).unwrap();
        [br#"{"ok":"#.as_slice(), &body, b"}"].concat()
    }

    fn plan_write() -> Command {
        let mut metrics = AllocMetric::default();
        metrics.score_node("b-node", "binpack", 1.25);
        metrics.score_node("a-node", "binpack", 0.5);
        metrics.score_node("a-node", "job-anti-affinity", -20.0);
        let alloc = Allocation {
            id: "alloc-1".into(),
            node_id: "a-node".into(),
            name: "web.web[0]".into(),
            metrics: Some(metrics),
            ..Default::default()
        };
        let mut plan = Plan {
            eval_id: "eval-1".into(),
            ..Default::default()
        };
        plan.node_allocation
            .get_or_insert_with("a-node", Vec::new)
            .push(std::sync::Arc::new(alloc));
        Command::ApplyPlan {
            plan: Box::new(plan),
            now: 7,
        }
    }

    #[test]
    fn the_in_order_path_decodes_what_the_general_path_does() {
        let writes = [
            Some(plan_write()),
            Some(Command::UpsertEvals {
                evals: vec![Evaluation {
                    id: "eval-2".into(),
                    ..Default::default()
                }],
            }),
            None,
        ];
        for (command, reblocked, snapshot_index) in [
            (&writes[0], false, Some(12)),
            (&writes[1], true, None),
            (&writes[2], false, Some(3)),
        ] {
            let bytes = answer(&EvalNextResponse {
                command: command.clone(),
                reblocked,
                snapshot_index,
            });
            let fast = decode_step_in_order(&bytes).expect("the guest's layout");
            assert_eq!(Ok(&fast), decode_step_any_layout(&bytes).as_ref());
            assert_eq!(&fast.command, command);
            assert_eq!(
                (fast.reblocked, fast.snapshot_index),
                (reblocked, snapshot_index)
            );
            if let Some(c) = command {
                // The logged bytes are the write's own encoding.
                assert_eq!(
                    fast.encoded.as_deref(),
                    Some(caravan_core::json_out::to_vec(c).unwrap().as_slice())
                );
            }
            assert_eq!(decode_step(&bytes).unwrap(), fast);
        }
    }

    /// Every cut and every one-byte change of a real answer: the in-order
    /// path never panics, and what it accepts the general path reads the
    /// same way.
    #[test]
    fn damaged_answers_never_disagree_with_the_general_path() {
        let bytes = answer(&EvalNextResponse {
            command: Some(plan_write()),
            reblocked: true,
            snapshot_index: Some(9),
        });
        let agrees = |b: &[u8]| {
            if let Some(fast) = decode_step_in_order(b) {
                assert_eq!(Ok(&fast), decode_step_any_layout(b).as_ref());
            }
        };
        for cut in 0..bytes.len() {
            assert_eq!(decode_step_in_order(&bytes[..cut]), None, "cut at {cut}");
        }
        for at in 0..bytes.len() {
            for b in [b'}', b'"', b',', b'x', b'1', b' ', 0xff] {
                let mut changed = bytes.clone();
                changed[at] = b;
                agrees(&changed);
            }
        }
    }

    #[test]
    fn other_layouts_take_the_general_path() {
        let write = plan_write();
        let encoded = caravan_core::json_out::to_vec(&write).unwrap();
        let text = String::from_utf8(encoded.clone()).unwrap();
        // Reordered fields and whitespace: valid, not the guest's layout.
        for other in [
            format!(r#"{{"ok":{{"Reblocked":true,"SnapshotIndex":4,"Command":{text}}}}}"#),
            format!(r#"{{ "ok": {{"Command": {text}, "Reblocked": true, "SnapshotIndex": 4}} }}"#),
        ] {
            assert_eq!(decode_step_in_order(other.as_bytes()), None);
            let step = decode_step(other.as_bytes()).unwrap();
            assert_eq!(step.command.as_ref(), Some(&write));
            assert_eq!(step.encoded.as_deref(), Some(encoded.as_slice()));
            assert_eq!((step.reblocked, step.snapshot_index), (true, Some(4)));
        }
        // Anything after the fields, or a bad write, is not taken either,
        // and the general path says what is wrong.
        let trailing = format!(
            r#"{{"ok":{{"Command":{text},"Reblocked":false,"SnapshotIndex":1}},"error":"boom"}}"#
        );
        assert_eq!(decode_step_in_order(trailing.as_bytes()), None);
        assert_eq!(
            decode_step(trailing.as_bytes()),
            Err(PluginError::Guest("boom".into()))
        );
        let bad =
            br#"{"ok":{"Command":{"ApplyPlan":{"plan":7}},"Reblocked":false,"SnapshotIndex":1}}"#;
        assert_eq!(decode_step_in_order(bad), None);
        assert!(matches!(decode_step(bad), Err(PluginError::BadAnswer(_))));
        let cut = &answer(&EvalNextResponse {
            command: Some(write),
            reblocked: false,
            snapshot_index: None,
        })[..200];
        assert_eq!(decode_step_in_order(cut), None);
        assert!(matches!(decode_step(cut), Err(PluginError::BadAnswer(_))));
    }
}
