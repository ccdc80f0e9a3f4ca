//! The plugin's JSON calling convention, target-independent: operation
//! names, the `{"ok": …}` / `{"error": "…"}` envelope, and [`call`], which
//! the plugin exports wrap and which native code runs for parity.
//!
//! Version 2 (see `wasm/README.md`). Any change to a request or answer
//! shape bumps [`ABI_VERSION`].

use std::cell::RefCell;

use caravan_core::gojson;
use caravan_core::model::{Evaluation, Job};
use caravan_core::scheduler::plan::PlanResult;
use caravan_core::scheduler::{plan_job, EvalRun, PlanOptions};
use caravan_core::state::Reply;
use caravan_core::{ClusterState, Command};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ops::{self, Step};

/// What `caravan_abi_version()` returns. Version 2 added the resident
/// state (`state_*`) and `Reblocked`/`SnapshotIndex` in `eval_next`;
/// version 3 `Now` in `state_eval_next` and `null` for "the write you
/// handed out" in `state_apply`.
pub const ABI_VERSION: u32 = 3;

/// One exported operation. Each takes a JSON request and returns an
/// envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Validate,
    Diff,
    Plan,
    Simulate,
    Dispatch,
    NextLaunch,
    ParseHcl,
    /// Host level: the dry-run planner on a full state.
    PlanJob,
    /// Host level: one evaluation run to its end on a full state.
    Schedule,
    /// Host level, stepwise: starts the instance's evaluation run.
    EvalStart,
    /// Host level, stepwise: the run's next write for a fresh state.
    EvalNext,
    /// Host level, stepwise: what the plan applier made of the last plan.
    EvalPlanApplied,
    /// Resident state: replaces the instance's copy of the cluster state.
    StateLoad,
    /// Resident state: applies logged commands to it, in log order.
    StateApply,
    /// Resident state: the dry-run planner on it.
    StatePlanJob,
    /// Resident state: the instance's evaluation run, one write at a time.
    StateEvalNext,
}

impl Op {
    pub const ALL: [Op; 16] = [
        Op::Validate,
        Op::Diff,
        Op::Plan,
        Op::Simulate,
        Op::Dispatch,
        Op::NextLaunch,
        Op::ParseHcl,
        Op::PlanJob,
        Op::Schedule,
        Op::EvalStart,
        Op::EvalNext,
        Op::EvalPlanApplied,
        Op::StateLoad,
        Op::StateApply,
        Op::StatePlanJob,
        Op::StateEvalNext,
    ];

    /// The name of the plugin export (and of the browser `call` operation).
    pub const fn name(self) -> &'static str {
        match self {
            Op::Validate => "validate",
            Op::Diff => "diff",
            Op::Plan => "plan",
            Op::Simulate => "simulate",
            Op::Dispatch => "dispatch",
            Op::NextLaunch => "next_launch",
            Op::ParseHcl => "parse_hcl",
            Op::PlanJob => "plan_job",
            Op::Schedule => "schedule",
            Op::EvalStart => "eval_start",
            Op::EvalNext => "eval_next",
            Op::EvalPlanApplied => "eval_plan_applied",
            Op::StateLoad => "state_load",
            Op::StateApply => "state_apply",
            Op::StatePlanJob => "state_plan_job",
            Op::StateEvalNext => "state_eval_next",
        }
    }

    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// An answer as the host reads it back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope<T> {
    pub ok: Option<T>,
    pub error: Option<String>,
    /// Position of a `parse_hcl` error.
    pub line: Option<usize>,
    pub column: Option<usize>,
}

// ---- host-level requests (the host sends them, serde_json both ways) ----

/// `plan_job`: `caravan_core::scheduler::plan_job` on a full state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanJobRequest<S = ClusterState, J = Job> {
    #[serde(rename = "State")]
    pub state: S,
    #[serde(rename = "Job")]
    pub job: J,
    #[serde(rename = "Diff")]
    pub diff: bool,
    #[serde(rename = "Seed")]
    pub seed: u64,
    #[serde(rename = "Now")]
    pub now: i64,
}

/// `schedule`: an [`EvalRun`] driven to its end on the guest's copy of
/// `State`; answers `{"Steps": [{"Command", "PlanResult"}]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRequest<S = ClusterState, E = Evaluation> {
    #[serde(rename = "State")]
    pub state: S,
    #[serde(rename = "Eval")]
    pub eval: E,
    #[serde(rename = "Seed")]
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleResponse {
    #[serde(rename = "Steps")]
    pub steps: Vec<Step>,
}

/// `eval_start`: `{"Eval", "Seed"}` → `{}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalStartRequest<E = Evaluation> {
    #[serde(rename = "Eval")]
    pub eval: E,
    #[serde(rename = "Seed")]
    pub seed: u64,
}

/// `eval_next`: `{"State"}` → [`EvalNextResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalNextRequest<S = ClusterState> {
    #[serde(rename = "State")]
    pub state: S,
}

/// `eval_next` and `state_eval_next`: the run's next write (`null` once
/// finished) and what [`EvalRun::reblocked`] and
/// [`EvalRun::snapshot_index`] say after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalNextResponse {
    #[serde(rename = "Command")]
    pub command: Option<Command>,
    #[serde(rename = "Reblocked")]
    pub reblocked: bool,
    #[serde(rename = "SnapshotIndex")]
    pub snapshot_index: Option<u64>,
}

impl EvalNextResponse {
    fn of(run: &mut EvalRun, state: &ClusterState) -> Self {
        let command = run.next(state);
        EvalNextResponse {
            command,
            reblocked: run.reblocked(),
            snapshot_index: run.snapshot_index(),
        }
    }
}

/// `eval_plan_applied`: `{"Result": plan result}` → `{}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPlanAppliedRequest<R = PlanResult> {
    #[serde(rename = "Result")]
    pub result: R,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Empty {}

// ---- the resident state (host level) ----

/// `state_load`: `{"State": ClusterState}` → [`StateIndex`]. Replaces the
/// instance's resident state (a snapshot of the host's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateLoadRequest<S = ClusterState> {
    #[serde(rename = "State")]
    pub state: S,
}

/// `state_apply`: `{"Commands": [command or null…]}` → [`StateIndex`].
/// Applies logged commands to the resident state in order, exactly as a
/// server replays its log: a refused command changes nothing and is
/// skipped. `null` stands for the write the last `state_eval_next` handed
/// out, logged exactly as handed out (so it need not cross back). An
/// applied plan of the instance's evaluation run tells the run what the
/// plan applier made of it (as `eval_plan_applied` would).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateApplyRequest<C = Vec<Option<Command>>> {
    #[serde(rename = "Commands")]
    pub commands: C,
}

/// `state_eval_next`: `{"Now": unix ns}` → [`EvalNextResponse`]. `Now`
/// (when not 0) stamps a plan the run hands out, so that the write is
/// final as handed out and the host can log it verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StateEvalNextRequest {
    #[serde(rename = "Now", default)]
    pub now: i64,
}

/// [`EvalNextResponse`] as the guest writes it, without copying the write.
#[derive(Serialize)]
struct EvalNextAnswer<'a> {
    #[serde(rename = "Command")]
    command: Option<&'a Command>,
    #[serde(rename = "Reblocked")]
    reblocked: bool,
    #[serde(rename = "SnapshotIndex")]
    snapshot_index: Option<u64>,
}

/// The resident state's index after `state_load` or `state_apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateIndex {
    #[serde(rename = "Index")]
    pub index: u64,
}

/// `state_plan_job`: `plan_job` on the resident state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatePlanJobRequest<J = Job> {
    #[serde(rename = "Job")]
    pub job: J,
    #[serde(rename = "Diff")]
    pub diff: bool,
    #[serde(rename = "Seed")]
    pub seed: u64,
    #[serde(rename = "Now")]
    pub now: i64,
}

const NO_STATE: &str = "no resident state: call state_load first";
const NO_RUN: &str = "no evaluation run: call eval_start first";
const NO_PENDING: &str = "null in Commands, but no write handed out is pending";

thread_local! {
    /// The stepwise evaluation run of this instance (one at a time).
    static EVAL_RUN: RefCell<Option<EvalRun>> = const { RefCell::new(None) };
    /// The resident copy of the host's cluster state.
    static RESIDENT: RefCell<Option<ClusterState>> = const { RefCell::new(None) };
    /// The write `state_eval_next` handed out last, until it is applied.
    static PENDING: RefCell<Option<Command>> = const { RefCell::new(None) };
}

/// Runs `op` on a JSON request and renders the envelope. Never panics on
/// bad input: every failure is an `{"error": …}`.
pub fn call(op: Op, request: &[u8]) -> Vec<u8> {
    match op {
        Op::Validate => user(request, ops::validate),
        Op::Diff => user(request, ops::diff),
        Op::Plan => user(request, ops::plan),
        Op::Simulate => user(request, ops::simulate),
        Op::Dispatch => user(request, ops::dispatch),
        Op::NextLaunch => user(request, ops::next_periodic_launch),
        Op::ParseHcl => match gojson::first_value(request).map_err(|e| e.0) {
            Err(e) => error(&e),
            Ok(v) => match ops::parse_hcl(&v) {
                Err(e) => error(&e),
                Ok(Ok(job)) => ok(&job),
                Ok(Err(e)) => render(&serde_json::json!({
                    "error": e.message, "line": e.line, "column": e.column
                })),
            },
        },
        Op::PlanJob => host(request, |r: PlanJobRequest| {
            let opts = PlanOptions {
                diff: r.diff,
                seed: r.seed,
                now: r.now,
            };
            plan_job(&r.state, r.job, &opts)
        }),
        Op::Schedule => host(request, |r: ScheduleRequest| {
            let mut state = r.state;
            ops::run_eval(&mut state, r.eval, r.seed).map(|steps| ScheduleResponse { steps })
        }),
        Op::EvalStart => host(request, |r: EvalStartRequest| {
            EVAL_RUN.with(|run| *run.borrow_mut() = Some(EvalRun::new(r.eval, r.seed)));
            PENDING.with(|p| *p.borrow_mut() = None);
            Ok(Empty {})
        }),
        Op::EvalNext => host(request, |r: EvalNextRequest| {
            EVAL_RUN.with(|run| match run.borrow_mut().as_mut() {
                None => Err(NO_RUN.to_string()),
                Some(run) => Ok(EvalNextResponse::of(run, &r.state)),
            })
        }),
        Op::EvalPlanApplied => host(request, |r: EvalPlanAppliedRequest| {
            EVAL_RUN.with(|run| match run.borrow_mut().as_mut() {
                None => Err(NO_RUN.to_string()),
                Some(run) => {
                    run.plan_applied(&r.result);
                    Ok(Empty {})
                }
            })
        }),
        Op::StateLoad => host(request, |r: StateLoadRequest| {
            let index = r.state.index();
            RESIDENT.with(|s| *s.borrow_mut() = Some(r.state));
            PENDING.with(|p| *p.borrow_mut() = None);
            Ok(StateIndex { index })
        }),
        Op::StateApply => host(request, |r: StateApplyRequest| {
            RESIDENT.with(|s| match s.borrow_mut().as_mut() {
                None => Err(NO_STATE.to_string()),
                Some(state) => {
                    EVAL_RUN
                        .with(|run| apply_logged(state, run.borrow_mut().as_mut(), r.commands))?;
                    Ok(StateIndex {
                        index: state.index(),
                    })
                }
            })
        }),
        Op::StatePlanJob => host(request, |r: StatePlanJobRequest| {
            RESIDENT.with(|s| match s.borrow().as_ref() {
                None => Err(NO_STATE.to_string()),
                Some(state) => {
                    let opts = PlanOptions {
                        diff: r.diff,
                        seed: r.seed,
                        now: r.now,
                    };
                    plan_job(state, r.job, &opts)
                }
            })
        }),
        Op::StateEvalNext => match serde_json::from_slice::<StateEvalNextRequest>(request) {
            Err(e) => error(&format!("bad request: {e}")),
            Ok(r) => RESIDENT.with(|s| match s.borrow().as_ref() {
                None => error(NO_STATE),
                Some(state) => EVAL_RUN.with(|run| match run.borrow_mut().as_mut() {
                    None => error(NO_RUN),
                    Some(run) => state_eval_next(run, state, r.now),
                }),
            }),
        },
    }
}

/// The run's next write, stamped with `now`, answered and kept as the
/// pending write that a `null` in `state_apply` stands for.
fn state_eval_next(run: &mut EvalRun, state: &ClusterState, now: i64) -> Vec<u8> {
    let mut command = run.next(state);
    if let Some(Command::ApplyPlan { now: at, .. }) = &mut command {
        if *at == 0 {
            *at = now;
        }
    }
    let answer = ok(&EvalNextAnswer {
        command: command.as_ref(),
        reblocked: run.reblocked(),
        snapshot_index: run.snapshot_index(),
    });
    PENDING.with(|p| *p.borrow_mut() = command);
    answer
}

/// Replays logged commands on the resident state. The plan applier's
/// verdict on a plan of the running evaluation goes to the run, as the
/// host's own apply of the same command (same state, same command, same
/// result) would tell it.
fn apply_logged(
    state: &mut ClusterState,
    mut run: Option<&mut EvalRun>,
    commands: Vec<Option<Command>>,
) -> Result<(), String> {
    for command in commands {
        let command = match command {
            Some(command) => command,
            None => PENDING
                .with(|p| p.borrow_mut().take())
                .ok_or_else(|| NO_PENDING.to_string())?,
        };
        let ours = match (&command, run.as_deref()) {
            (Command::ApplyPlan { plan, .. }, Some(run)) => plan.eval_id == run.eval().id,
            _ => false,
        };
        // A refused command changes nothing, as in the host's replay.
        if let Ok(applied) = state.apply(command) {
            if let (true, Reply::Plan(result), Some(run)) =
                (ours, &applied.reply, run.as_deref_mut())
            {
                run.plan_applied(result);
            }
        }
    }
    Ok(())
}

/// A user-level request: Go's decoding rules, as the server's endpoints.
fn user<T: Serialize>(request: &[u8], f: impl FnOnce(&Value) -> Result<T, String>) -> Vec<u8> {
    match gojson::first_value(request)
        .map_err(|e| e.0)
        .and_then(|v| f(&v))
    {
        Ok(answer) => ok(&answer),
        Err(e) => error(&e),
    }
}

/// A host-level request: exact serde JSON, as the adapter writes it.
fn host<R: serde::de::DeserializeOwned, T: Serialize>(
    request: &[u8],
    f: impl FnOnce(R) -> Result<T, String>,
) -> Vec<u8> {
    match serde_json::from_slice::<R>(request)
        .map_err(|e| format!("bad request: {e}"))
        .and_then(f)
    {
        Ok(answer) => ok(&answer),
        Err(e) => error(&e),
    }
}

fn ok<T: Serialize>(answer: &T) -> Vec<u8> {
    let mut out = b"{\"ok\":".to_vec();
    match caravan_core::json_out::to_writer(&mut out, answer) {
        Ok(()) => {
            out.push(b'}');
            out
        }
        Err(e) => error(&format!("encoding the answer: {e}")),
    }
}

fn error(message: &str) -> Vec<u8> {
    render(&serde_json::json!({ "error": message }))
}

fn render(v: &Value) -> Vec<u8> {
    // Rendering a `Value` with string keys cannot fail.
    caravan_core::json_out::to_vec(v).unwrap_or_else(|_| b"{\"error\":\"unrenderable\"}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(op: Op, req: &str) -> String {
        String::from_utf8(call(op, req.as_bytes())).unwrap()
    }

    #[test]
    fn envelopes() {
        assert_eq!(text(Op::Validate, ""), r#"{"error":"EOF"}"#);
        assert_eq!(
            text(Op::Validate, "{\"Job\":null}"),
            r#"{"error":"Job must be specified"}"#
        );
        assert!(text(Op::Validate, r#"{"Job":{"ID":"x"}}"#)
            .starts_with(r#"{"ok":{"DriverConfigValidated":true,"#));
        assert!(
            text(Op::Schedule, "{}").starts_with(r#"{"error":"bad request: missing field `State`"#)
        );
        assert_eq!(
            text(
                Op::EvalNext,
                &format!(
                    "{{\"State\":{}}}",
                    serde_json::to_string(&ClusterState::default()).unwrap()
                )
            ),
            r#"{"error":"no evaluation run: call eval_start first"}"#
        );
        let hcl: Envelope<Value> =
            serde_json::from_slice(&call(Op::ParseHcl, br#"{"Source":"job"}"#)).unwrap();
        assert!(hcl.error.is_some() && hcl.line.is_some() && hcl.column.is_some());
    }

    #[test]
    fn names_round_trip() {
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
        }
        assert_eq!(Op::from_name("alloc"), None);
    }
}
