//! Where scheduling runs: the linked core, or the WebAssembly scheduler
//! plugin (`caravan agent -scheduler-plugin PATH.wasm`) on a resident
//! replica of the state that the cluster's log tap keeps in step.
//!
//! The plugin lives on its own thread (never on the async runtime) with one
//! long-lived instance. The thread receives, in one queue and in order,
//! every logged batch (applied to the replica at once) and the calls of
//! the eval worker and `/plan`; so a call sees at least every write that
//! was acknowledged before it was made, as a native read would. If the
//! instance fails (trap, fuel, memory, a replica out of step) it is
//! dropped and a fresh one is loaded from a snapshot before the next call.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

use caravan_core::model::{Evaluation, Job};
use caravan_core::scheduler::plan::PlanResult;
use caravan_core::scheduler::{plan_job_forked, EvalRun, PlanOptions, PlanResponse};
use caravan_core::Command;
use caravan_wasm::host::{Limits, Plugin, PluginError, ResidentScheduler};
use tokio::sync::oneshot;

use crate::cluster::{Cluster, LogBatch};
use crate::entropy;
use crate::threads::Threads;

/// Evaluations the linked core processes at a time. An evaluation spends
/// most of its time waiting for its writes to be synced, so more of them
/// than cores keeps the disk's syncs shared (Nomad runs one scheduler
/// worker per core, with no sync to wait for): with 8, the worker keeps
/// up with 16 clients registering jobs (BENCHMARKS.md, Stop 24).
const NATIVE_EVALS_IN_FLIGHT: usize = 8;

/// The scheduler of this server. Cheap to clone.
#[derive(Clone, Default)]
pub enum Scheduler {
    /// `caravan_core::scheduler`, linked in.
    #[default]
    Native,
    /// The scheduler plugin on its resident state.
    Plugin(PluginHandle),
}

impl Scheduler {
    /// Loads the plugin at `path` (default limits), gives it the current
    /// state and keeps it in step with `cluster`'s log from now on.
    /// Compiling takes seconds: call it off the async runtime.
    pub fn plugin(path: &Path, cluster: Arc<Cluster>) -> Result<Scheduler, String> {
        let plugin = Plugin::from_file(path, Limits::default()).map_err(|e| e.to_string())?;
        PluginHandle::start(cluster, ResidentScheduler::new(plugin)).map(Scheduler::Plugin)
    }

    /// How many evaluations the worker processes at a time: for the
    /// linked core, [`NATIVE_EVALS_IN_FLIGHT`]; one for the plugin, whose
    /// resident replica follows one run at a time.
    pub fn evals_in_flight(&self) -> usize {
        match self {
            Scheduler::Native => NATIVE_EVALS_IN_FLIGHT,
            Scheduler::Plugin(_) => 1,
        }
    }

    /// The dry run behind `/plan` on the current state.
    pub async fn plan_job(
        &self,
        cluster: &Cluster,
        job: Job,
        opts: PlanOptions,
    ) -> Result<PlanResponse, String> {
        match self {
            Scheduler::Native => plan_job_forked(&cluster.read(), job, &opts, &Threads),
            Scheduler::Plugin(p) => p
                .call(move |r| r.plan_job(&job, &opts))
                .await
                .map_err(failed),
        }
    }

    /// Starts processing `eval` (`EvalRun::new(eval, seed)`).
    pub async fn eval_run(&self, eval: Evaluation, seed: u64) -> Result<Run, String> {
        match self {
            Scheduler::Native => Ok(Run::Native(Box::new(EvalRun::new(eval, seed)))),
            Scheduler::Plugin(p) => {
                p.call(move |r| r.eval_start(&eval, seed))
                    .await
                    .map_err(failed)?;
                Ok(Run::Plugin {
                    plugin: p.clone(),
                    reblocked_at: None,
                })
            }
        }
    }
}

/// One evaluation being processed, driven like `EvalRun`.
pub enum Run {
    Native(Box<EvalRun>),
    Plugin {
        plugin: PluginHandle,
        /// Set when the run ended with the evaluation still blocked.
        reblocked_at: Option<u64>,
    },
}

/// A write an evaluation run hands out.
pub struct Write {
    pub command: Command,
    /// From the plugin: `command` as the guest encoded it, to be logged as
    /// it is (`Cluster::write_encoded`). Its replica then applies the copy
    /// it kept instead of decoding the write again.
    pub encoded: Option<Vec<u8>>,
}

impl Run {
    /// The next writes for the current state, or none when finished: the
    /// linked core hands out together the writes it decided together
    /// (`EvalRun::next_batch`: a blocked evaluation and the status that
    /// names it), to be logged in one append; the plugin, one at a time.
    /// A plan comes stamped with the host's "now", and is always last.
    pub async fn next(&mut self, cluster: &Cluster) -> Result<Vec<Write>, String> {
        let now = entropy::now_ns();
        match self {
            Run::Native(run) => Ok(run
                .next_batch(&cluster.read())
                .into_iter()
                .map(|mut command| {
                    if let Command::ApplyPlan { now: at, .. } = &mut command {
                        if *at == 0 {
                            *at = now;
                        }
                    }
                    Write {
                        command,
                        encoded: None,
                    }
                })
                .collect()),
            Run::Plugin {
                plugin,
                reblocked_at,
            } => {
                let step = plugin
                    .call(move |r| r.eval_next(now))
                    .await
                    .map_err(failed)?;
                if step.command.is_none() && step.reblocked {
                    *reblocked_at = Some(step.snapshot_index.unwrap_or(0));
                }
                Ok(step
                    .command
                    .map(|command| Write {
                        command,
                        encoded: step.encoded,
                    })
                    .into_iter()
                    .collect())
            }
        }
    }

    /// What the plan applier made of the last plan. The plugin's run
    /// learns it from the logged `ApplyPlan` instead (same state, same
    /// command, same result).
    pub fn plan_applied(&mut self, result: &PlanResult) {
        if let Run::Native(run) = self {
            run.plan_applied(result);
        }
    }

    /// The snapshot index of a finished run that left its blocked
    /// evaluation blocked (nothing was written).
    pub fn reblocked_at(&self) -> Option<u64> {
        match self {
            Run::Native(run) => run.reblocked().then(|| run.snapshot_index().unwrap_or(0)),
            Run::Plugin { reblocked_at, .. } => *reblocked_at,
        }
    }
}

/// A plugin failure as the eval's status description and `/plan`'s 500:
/// the core's own errors word for word, as the linked core gives them; the
/// plugin's failures (traps, fuel, memory, bad answers) marked as such.
fn failed(e: PluginError) -> String {
    match e {
        PluginError::Guest(text) => text,
        e => format!("scheduler plugin: {e}"),
    }
}

type Call = Box<dyn FnOnce(&mut Resident) + Send>;

enum Message {
    Log(LogBatch),
    Call(Call),
}

/// The way to the plugin's thread.
#[derive(Clone)]
pub struct PluginHandle {
    to_thread: mpsc::Sender<Message>,
}

impl PluginHandle {
    /// Taps the log, loads the current state into a fresh instance (an
    /// error if that fails) and starts the thread.
    fn start(cluster: Arc<Cluster>, scheduler: ResidentScheduler) -> Result<Self, String> {
        let (to_thread, inbox) = mpsc::channel();
        let tap = to_thread.clone();
        if !cluster.set_log_tap(Box::new(move |batch| {
            let _ = tap.send(Message::Log(batch));
        })) {
            return Err("the log is tapped already".into());
        }
        let mut resident = Resident {
            cluster,
            scheduler,
            inbox,
            deferred: VecDeque::new(),
        };
        resident
            .reload()
            .map_err(|e| format!("the plugin cannot hold the cluster state: {e}"))?;
        std::thread::Builder::new()
            .name("caravan-scheduler-plugin".into())
            .spawn(move || resident.run())
            .map_err(|e| format!("cannot start the scheduler plugin's thread: {e}"))?;
        Ok(PluginHandle { to_thread })
    }

    /// Runs `f` on the instance, after every batch logged before this call.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut ResidentScheduler) -> Result<T, PluginError> + Send + 'static,
    ) -> Result<T, PluginError> {
        let (reply, answer) = oneshot::channel();
        let call: Call = Box::new(move |resident: &mut Resident| {
            let _ = reply.send(resident.serve(f));
        });
        let gone = || PluginError::Trap("the scheduler plugin's thread has stopped".into());
        self.to_thread
            .send(Message::Call(call))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// The plugin's thread: the instance, its replica and the queue feeding it.
struct Resident {
    cluster: Arc<Cluster>,
    scheduler: ResidentScheduler,
    inbox: mpsc::Receiver<Message>,
    /// Calls taken off the queue while reloading, to run next.
    deferred: VecDeque<Call>,
}

impl Resident {
    fn run(mut self) {
        loop {
            if let Some(call) = self.deferred.pop_front() {
                call(&mut self);
                continue;
            }
            match self.inbox.recv() {
                Ok(Message::Log(batch)) => self.apply(batch),
                Ok(Message::Call(call)) => call(&mut self),
                Err(_) => return,
            }
        }
    }

    /// Keeps the replica in step; a dropped instance skips batches (the
    /// reload's snapshot holds them).
    fn apply(&mut self, batch: LogBatch) {
        if !self.scheduler.is_loaded() {
            return;
        }
        let commands = batch.entries.iter().map(|(_, c)| c.as_slice());
        let first = batch.entries.first().map_or(0, |e| e.0);
        match self.scheduler.apply_encoded(commands) {
            Ok(index) if index == batch.index => {}
            Ok(index) => {
                eprintln!(
                    "caravan: scheduler plugin replica is at index {index} after log entry {first}, \
                     the server at {}; reloading it",
                    batch.index
                );
                self.scheduler.unload();
            }
            Err(e) => eprintln!(
                "caravan: scheduler plugin failed applying log entries from {first}: {e}; \
                 reloading it"
            ),
        }
    }

    /// Runs a call on a loaded instance.
    fn serve<T>(
        &mut self,
        f: impl FnOnce(&mut ResidentScheduler) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        if !self.scheduler.is_loaded() {
            self.reload()?;
        }
        let answer = f(&mut self.scheduler);
        if let Err(e) = &answer {
            if !self.scheduler.is_loaded() {
                eprintln!("caravan: scheduler plugin instance dropped: {e}");
            }
        }
        answer
    }

    /// A fresh instance on a snapshot. Under the read lock no batch is
    /// being delivered, so the queued batches are exactly those already in
    /// the snapshot: they are dropped, queued calls kept for later.
    fn reload(&mut self) -> Result<u64, PluginError> {
        let state = {
            let state = self.cluster.read();
            while let Ok(message) = self.inbox.try_recv() {
                if let Message::Call(call) = message {
                    self.deferred.push_back(call);
                }
            }
            state.clone()
        };
        let json = caravan_core::json_out::to_vec(&state)
            .map_err(|e| PluginError::Request(e.to_string()))?;
        drop(state);
        self.scheduler.load_encoded(&json)
    }
}
