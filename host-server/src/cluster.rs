//! The cluster state as this host runs it: one in-memory [`ClusterState`],
//! changed only by a single writer thread that logs each batch of commands
//! durably (group commit), applies it in log order, answers the callers
//! and wakes blocking queries.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard};
use std::time::Duration;

use caravan_core::model::{
    Evaluation, ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_FAILED, ALLOC_CLIENT_LOST, EVAL_STATUS_BLOCKED,
    EVAL_STATUS_PENDING, NODE_STATUS_READY,
};
use caravan_core::state::{snapshot, Applied, ApplyError, Reply, StateConfig};
use caravan_core::{ClusterState, Command};
use tokio::sync::{mpsc, oneshot};

use crate::store::{Store, StoreError};
use crate::watch::{Topic, Watch};

/// Most commands one log append carries.
const MAX_BATCH: usize = 2048;

/// Why a write was not applied.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The state refused the command (Nomad's error text).
    #[error("{0}")]
    Rejected(#[from] ApplyError),
    /// The log could not be made durable; nothing was applied.
    #[error("{0}")]
    Storage(#[from] StoreError),
    /// The server is shutting down.
    #[error("server is shutting down")]
    Closed,
}

/// What the eval worker learns from each applied batch.
#[derive(Debug, Default)]
pub struct Effects {
    /// The state index after the batch.
    pub index: u64,
    /// Evaluations written as pending or blocked.
    pub evals: Vec<Arc<Evaluation>>,
    /// The computed classes of the nodes on which capacity may have been
    /// freed (or added): a blocked evaluation is released by a class it
    /// did not find ineligible.
    pub capacity_classes: BTreeSet<String>,
}

/// One appended batch as logged: `(position, command as serde JSON)` in
/// log order, and the state index after applying it.
#[derive(Debug)]
pub struct LogBatch {
    pub entries: Vec<(u64, Vec<u8>)>,
    pub index: u64,
}

/// Receives every batch right after it is applied, while the state is
/// still write-locked: whoever holds a read lock has seen exactly the
/// batches delivered so far. Used to keep a replica (the scheduler
/// plugin's resident state) in step; it must not block.
pub type LogTap = Box<dyn Fn(LogBatch) + Send + Sync>;

struct Pending {
    command: Command,
    /// `command` as serde JSON when the caller has it already.
    encoded: Option<Vec<u8>>,
    reply: oneshot::Sender<Result<Applied, WriteError>>,
}

/// What the writer receives: one write, or writes that go into the same
/// batch, in order (one durable append for all of them).
enum Submission {
    One(Pending),
    Group(Vec<Pending>),
}

impl Submission {
    fn into_batch(self, batch: &mut Vec<Pending>) {
        match self {
            Submission::One(p) => batch.push(p),
            Submission::Group(ps) => batch.extend(ps),
        }
    }
}

/// Settings of the write path.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Log entries between two snapshots.
    pub snapshot_every: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            snapshot_every: 16_384,
        }
    }
}

/// The shared handle: reads, writes and blocking queries.
pub struct Cluster {
    state: Arc<RwLock<ClusterState>>,
    watch: Arc<Watch>,
    writes: mpsc::UnboundedSender<Submission>,
    log_tap: Arc<OnceLock<LogTap>>,
}

/// How a blocking query waits (`?index=&wait=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Blocking {
    /// Return once the result index exceeds this (0: at once).
    pub min_index: u64,
    /// How long to wait at most, jitter included.
    pub timeout: Duration,
    /// The deadline of a parked query run again (the timeout counts from
    /// its first run).
    pub resume: Option<tokio::time::Instant>,
}

/// What a blocking query waits for when its result is not newer yet: the
/// next change of what it read, or its deadline.
#[derive(Debug, Clone)]
pub struct Park {
    rx: tokio::sync::watch::Receiver<u64>,
    /// Fixed when the query first ran (timeout and jitter), kept over
    /// every run after.
    deadline: tokio::time::Instant,
}

impl Park {
    /// Waits for a change or the deadline; the deadline to run the query
    /// again with (now, if the change feed is gone: answer at once).
    pub async fn wait(mut self) -> tokio::time::Instant {
        tokio::select! {
            changed = self.rx.changed() => {
                if changed.is_err() {
                    return tokio::time::Instant::now();
                }
            }
            _ = tokio::time::sleep_until(self.deadline) => {}
        }
        self.deadline
    }
}

impl PartialEq for Park {
    fn eq(&self, other: &Park) -> bool {
        self.deadline == other.deadline && self.rx.same_channel(&other.rx)
    }
}

impl Eq for Park {}

impl Cluster {
    /// Recovers the state from `store` (snapshot, then log replay) and starts
    /// the writer thread. Returns the handle and the stream of effects for
    /// the eval worker.
    pub fn open(
        store: Arc<dyn Store>,
        config: StateConfig,
        options: ClusterOptions,
    ) -> Result<(Arc<Cluster>, mpsc::UnboundedReceiver<Effects>), StoreError> {
        let (state, position) = recover(store.as_ref(), config)?;
        let state = Arc::new(RwLock::new(state));
        let watch = Arc::new(Watch::default());
        let (writes, rx) = mpsc::unbounded_channel();
        let (effects_tx, effects_rx) = mpsc::unbounded_channel();
        let log_tap = Arc::new(OnceLock::new());
        let writer = Writer {
            log_tap: log_tap.clone(),
            store,
            state: state.clone(),
            watch: watch.clone(),
            effects: effects_tx,
            position,
            last_snapshot: position,
            options,
            snapshotting: Arc::new(AtomicBool::new(false)),
            failed: None,
        };
        std::thread::Builder::new()
            .name("caravan-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError(format!("cannot start the writer: {e}")))?;
        Ok((
            Arc::new(Cluster {
                state,
                watch,
                writes,
                log_tap,
            }),
            effects_rx,
        ))
    }

    /// A read lock on the current state. Hold it briefly: the writer waits.
    pub fn read(&self) -> RwLockReadGuard<'_, ClusterState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs the one [`LogTap`]; false if one is installed already.
    pub fn set_log_tap(&self, tap: LogTap) -> bool {
        self.log_tap.set(tap).is_ok()
    }

    /// A full copy of the current state (for tests and snapshots).
    pub fn snapshot(&self) -> ClusterState {
        self.read().clone()
    }

    /// Logs `command` durably, applies it and returns the outcome.
    pub async fn write(&self, command: Command) -> Result<Applied, WriteError> {
        self.submit(command, None).await
    }

    /// [`Cluster::write`] of a command that arrived encoded: `encoded` is
    /// logged as it is. It must be the serde JSON that `command` was
    /// decoded from, so that replaying the log applies the same command
    /// (the scheduler plugin's writes: see `scheduler.rs`).
    pub async fn write_encoded(
        &self,
        command: Command,
        encoded: Vec<u8>,
    ) -> Result<Applied, WriteError> {
        self.submit(command, Some(encoded)).await
    }

    async fn submit(
        &self,
        command: Command,
        encoded: Option<Vec<u8>>,
    ) -> Result<Applied, WriteError> {
        let (tx, rx) = oneshot::channel();
        self.writes
            .send(Submission::One(Pending {
                command,
                encoded,
                reply: tx,
            }))
            .map_err(|_| WriteError::Closed)?;
        rx.await.map_err(|_| WriteError::Closed)?
    }

    /// Logs `commands` durably in one append, applies them in order and
    /// returns each outcome. As writing them one after another, except
    /// that no other write comes between them and they share one sync;
    /// a command the state refuses (or that cannot be encoded) is refused
    /// alone and does not stop those after it.
    pub async fn write_group(&self, commands: Vec<Command>) -> Vec<Result<Applied, WriteError>> {
        let (group, replies): (Vec<Pending>, Vec<_>) = commands
            .into_iter()
            .map(|command| {
                let (tx, rx) = oneshot::channel();
                let pending = Pending {
                    command,
                    encoded: None,
                    reply: tx,
                };
                (pending, rx)
            })
            .unzip();
        let sent = self.writes.send(Submission::Group(group)).is_ok();
        let mut results = Vec::with_capacity(replies.len());
        for rx in replies {
            results.push(match (sent, rx.await) {
                (true, Ok(result)) => result,
                _ => Err(WriteError::Closed),
            });
        }
        results
    }

    /// The keys of the jobs each later batch writes.
    pub fn job_changes(&self) -> mpsc::UnboundedReceiver<crate::watch::JobChanges> {
        self.watch.job_changes()
    }

    /// One run of a blocking query (Nomad's `blockingRPC`): `query`'s
    /// result (its index and value) when `blocking.min_index` is 0, when
    /// the index has passed it, or when the deadline has; else the
    /// [`Park`] to wait on before running again. A query that answers at
    /// once does not subscribe; one that has to wait subscribes and reads
    /// again, so that a change between the two reads is not missed.
    pub fn try_blocking<T>(
        &self,
        topic: &Topic,
        blocking: Blocking,
        mut query: impl FnMut(&ClusterState) -> (u64, T),
    ) -> Result<(u64, T), Park> {
        let result = query(&self.read());
        if blocking.min_index == 0 || result.0 > blocking.min_index {
            return Ok(result);
        }
        let now = tokio::time::Instant::now();
        let deadline = blocking.resume.unwrap_or(now + blocking.timeout);
        if now >= deadline {
            return Ok(result);
        }
        let rx = self.watch.subscribe(topic);
        let result = query(&self.read());
        if result.0 > blocking.min_index {
            return Ok(result);
        }
        Err(Park { rx, deadline })
    }

    /// [`Cluster::try_blocking`] run until it answers, waiting in place
    /// between runs (the node RPC's alloc watches; HTTP reads hand the
    /// [`Park`] to their connection instead).
    pub async fn blocking<T>(
        &self,
        topic: Topic,
        mut blocking: Blocking,
        mut query: impl FnMut(&ClusterState) -> (u64, T),
    ) -> (u64, T) {
        loop {
            match self.try_blocking(&topic, blocking, &mut query) {
                Ok(result) => return result,
                Err(park) => blocking.resume = Some(park.wait().await),
            }
        }
    }
}

/// Rebuilds the state: newest snapshot, then every later command in order.
fn recover(store: &dyn Store, config: StateConfig) -> Result<(ClusterState, u64), StoreError> {
    let recovered = store.recover()?;
    let snapshot = recovered
        .snapshot
        .as_ref()
        .map(|(pos, bytes)| (*pos, &bytes[..]));
    let (state, commands) = decode_recovered(snapshot, &recovered.entries)?;
    drop(recovered);
    let (mut state, mut position) = match state {
        Some(s) => s,
        None => (ClusterState::new(config), 0),
    };
    for (pos, command) in commands {
        // A command that was refused when first applied is refused again
        // and changes nothing: replay is the same pure function.
        let _ = state.apply(command);
        position = pos;
    }
    Ok((state, position))
}

fn unreadable_snapshot(pos: u64, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("snapshot at {pos} is unreadable: {e}"))
}

/// Log entries decoded per task of [`decode_recovered`].
const LOG_CHUNK: usize = 2048;

/// One decoding task of [`decode_recovered`].
enum Decoded {
    /// The whole snapshot (the first format: one JSON object).
    State(ClusterState),
    Part(snapshot::PartRecord),
    Commands(Vec<(u64, Command)>),
}

/// Decodes the snapshot (its parts) and the log entries after it on every
/// core: the tasks go to threads as they free up, and the results are put
/// back in order. Decoding is pure; only applying the commands has to wait
/// for the snapshot.
#[allow(clippy::type_complexity)]
fn decode_recovered(
    snapshot: Option<(u64, &[u8])>,
    entries: &[(u64, Vec<u8>)],
) -> Result<(Option<(ClusterState, u64)>, Vec<(u64, Command)>), StoreError> {
    enum Task<'a> {
        Whole(&'a [u8]),
        Part(&'a [u8]),
        Log(&'a [(u64, Vec<u8>)]),
    }
    let mut tasks = Vec::new();
    if let Some((pos, bytes)) = snapshot {
        match snapshot::split(bytes) {
            None => tasks.push(Task::Whole(bytes)),
            Some(parts) => {
                let parts = parts.map_err(|e| unreadable_snapshot(pos, e))?;
                tasks.extend(parts.into_iter().map(Task::Part));
            }
        }
    }
    tasks.extend(entries.chunks(LOG_CHUNK).map(Task::Log));
    let run = |task: &Task| -> Result<Decoded, StoreError> {
        let pos = snapshot.map_or(0, |(p, _)| p);
        match task {
            Task::Whole(bytes) => serde_json::from_slice(bytes)
                .map(Decoded::State)
                .map_err(|e| unreadable_snapshot(pos, e)),
            Task::Part(bytes) => snapshot::decode_part(bytes)
                .map(Decoded::Part)
                .map_err(|e| unreadable_snapshot(pos, e)),
            Task::Log(entries) => entries
                .iter()
                .map(|(pos, bytes)| {
                    serde_json::from_slice(bytes)
                        .map(|c| (*pos, c))
                        .map_err(|e| StoreError(format!("log entry {pos} is unreadable: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Decoded::Commands),
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tasks.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worker = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(task) = tasks.get(i) else {
                return done;
            };
            done.push((i, run(task)));
        }
    };
    let mut results: Vec<(usize, Result<Decoded, StoreError>)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .map(|_| {
                std::thread::Builder::new()
                    .name("caravan-recover".into())
                    .spawn_scoped(scope, worker)
            })
            .collect();
        let mut all = worker();
        // A helper that could not start left its tasks to the others; one
        // that panicked lost its task (counted below).
        for h in helpers.into_iter().flatten() {
            if let Ok(done) = h.join() {
                all.extend(done);
            }
        }
        all
    });
    if results.len() != tasks.len() {
        return Err(StoreError("a recovery thread failed".into()));
    }
    results.sort_by_key(|(i, _)| *i);
    let mut whole = None;
    let mut parts = Vec::new();
    let mut commands = Vec::with_capacity(entries.len());
    for (_, r) in results {
        match r? {
            Decoded::State(s) => whole = Some(s),
            Decoded::Part(p) => parts.push(p),
            Decoded::Commands(c) => commands.extend(c),
        }
    }
    let state = match snapshot {
        None => None,
        Some((pos, _)) => {
            let state = match whole {
                Some(s) => s,
                None => snapshot::assemble(parts).map_err(|e| unreadable_snapshot(pos, e))?,
            };
            Some((state, pos))
        }
    };
    Ok((state, commands))
}

struct Writer {
    store: Arc<dyn Store>,
    state: Arc<RwLock<ClusterState>>,
    watch: Arc<Watch>,
    effects: mpsc::UnboundedSender<Effects>,
    position: u64,
    last_snapshot: u64,
    options: ClusterOptions,
    snapshotting: Arc<AtomicBool>,
    /// Set once an append failed: nothing is written after that.
    failed: Option<String>,
    log_tap: Arc<OnceLock<LogTap>>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Submission>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = Vec::new();
            first.into_batch(&mut batch);
            // A group is never split: a batch may end a little past the cap.
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(s) => s.into_batch(&mut batch),
                    Err(_) => break,
                }
            }
            self.process(batch);
        }
    }

    fn process(&mut self, batch: Vec<Pending>) {
        if let Some(why) = &self.failed {
            for p in batch {
                let _ = p.reply.send(Err(StoreError(why.clone()).into()));
            }
            return;
        }
        let mut entries = Vec::with_capacity(batch.len());
        let mut accepted = Vec::with_capacity(batch.len());
        for mut p in batch {
            let encoded = match p.encoded.take() {
                Some(bytes) => Ok(bytes),
                None => caravan_core::json_out::to_vec(&p.command),
            };
            match encoded {
                Ok(bytes) => {
                    entries.push((self.position + entries.len() as u64 + 1, bytes));
                    accepted.push(p);
                }
                Err(e) => {
                    let _ = p
                        .reply
                        .send(Err(StoreError(format!("cannot encode command: {e}")).into()));
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        if let Err(e) = self.store.append(&entries) {
            eprintln!("caravan: {e}; refusing further writes");
            self.failed = Some(e.0.clone());
            for p in accepted {
                let _ = p.reply.send(Err(StoreError(e.0.clone()).into()));
            }
            return;
        }
        self.position += entries.len() as u64;

        let mut tables = BTreeSet::new();
        let mut jobs = BTreeSet::new();
        let mut effects = Effects::default();
        let mut results = Vec::with_capacity(accepted.len());
        let index;
        {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            for p in accepted {
                let eval_ids = eval_ids_of(&p.command);
                let freed = nodes_with_freed_capacity(&p.command, &state);
                let result = state.apply(p.command);
                if let Ok(applied) = &result {
                    effects
                        .capacity_classes
                        .extend(freed.into_iter().filter_map(|(id, ready_only)| {
                            let node = state.node(&id)?;
                            let counts = !ready_only || node.status == NODE_STATUS_READY;
                            counts.then(|| node.computed_class.clone())
                        }));
                    tables.extend(applied.tables.iter().copied());
                    jobs.extend(applied.jobs.iter().cloned());
                    let ids = eval_ids.into_iter().chain(reply_eval_id(&applied.reply));
                    for id in ids {
                        if let Some(e) = state.eval(&id) {
                            if e.status == EVAL_STATUS_PENDING || e.status == EVAL_STATUS_BLOCKED {
                                effects.evals.push(e.clone());
                            }
                        }
                    }
                }
                results.push((p.reply, result));
            }
            index = state.index();
            if let Some(tap) = self.log_tap.get() {
                tap(LogBatch { entries, index });
            }
        }
        effects.index = index;
        // Answer the writers before waking watchers: thousands of woken
        // readers must not queue ahead of the write that woke them.
        for (reply, result) in results {
            let _ = reply.send(result.map_err(WriteError::from));
        }
        self.watch.notify(&tables, &jobs, index);
        if !effects.evals.is_empty() || !effects.capacity_classes.is_empty() {
            let _ = self.effects.send(effects);
        }
        self.maybe_snapshot();
    }

    /// Starts a snapshot in the background once enough entries accumulated.
    fn maybe_snapshot(&mut self) {
        if self.position - self.last_snapshot < self.options.snapshot_every
            || self.snapshotting.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let state = self.state.read().unwrap_or_else(|e| e.into_inner()).clone();
        let position = self.position;
        self.last_snapshot = position;
        let store = self.store.clone();
        let busy = self.snapshotting.clone();
        let spawned = std::thread::Builder::new()
            .name("caravan-snapshot".into())
            .spawn(move || {
                match snapshot::encode(&state) {
                    Ok(bytes) => {
                        if let Err(e) = store.install_snapshot(position, &bytes) {
                            eprintln!("caravan: snapshot at {position} failed: {e}");
                        }
                    }
                    Err(e) => eprintln!("caravan: cannot encode snapshot: {e}"),
                }
                busy.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.snapshotting.store(false, Ordering::Release);
        }
    }
}

/// Evaluations a command writes by ID (found again after the apply).
fn eval_ids_of(command: &Command) -> Vec<String> {
    match command {
        Command::UpsertEvals { evals } => evals.iter().map(|e| e.id.clone()).collect(),
        _ => Vec::new(),
    }
}

fn reply_eval_id(reply: &Reply) -> Option<String> {
    let id = match reply {
        Reply::Register(r) | Reply::Evaluate(r) => &r.eval_id,
        Reply::Deregister(r) => &r.eval_id,
        Reply::Dispatch(r) => &r.eval_id,
        Reply::Force(r) => &r.eval_id,
        _ => return None,
    };
    (!id.is_empty()).then(|| id.clone())
}

/// The nodes on which `command` may free (or add) capacity, each with
/// whether it counts only if the node is ready afterwards (Nomad's FSM
/// unblocks on a node registered or marked ready, a drain lifted, and an
/// allocation that reached a terminal client status; Caravan also on the
/// stops of an applied plan, which free capacity at once).
fn nodes_with_freed_capacity(command: &Command, state: &ClusterState) -> Vec<(String, bool)> {
    match command {
        Command::UpsertNode { node } => vec![(node.id.clone(), true)],
        Command::UpdateNodeStatus { node_id, .. } => vec![(node_id.clone(), true)],
        Command::UpdateNodeDrain {
            node_id,
            drain: false,
        } => vec![(node_id.clone(), true)],
        Command::UpdateAllocsFromClient { updates } => updates
            .iter()
            .filter(|u| {
                matches!(
                    u.client_status.as_str(),
                    ALLOC_CLIENT_COMPLETE | ALLOC_CLIENT_FAILED | ALLOC_CLIENT_LOST
                )
            })
            .filter_map(|u| Some((state.alloc(&u.alloc_id)?.node_id.clone(), false)))
            .collect(),
        Command::ApplyPlan { plan, .. } => plan
            .node_update
            .keys()
            .map(|id| (id.clone(), false))
            .collect(),
        _ => Vec::new(),
    }
}

/// A cluster on a file store in a fresh scratch directory, for tests;
/// the caller removes the directory.
#[cfg(test)]
pub(crate) fn scratch_cluster(
    name: &str,
) -> (
    Arc<Cluster>,
    mpsc::UnboundedReceiver<Effects>,
    std::path::PathBuf,
) {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("randomness");
    let dir = std::env::temp_dir().join(format!("caravan-{name}-{}", u64::from_le_bytes(bytes)));
    let store = Arc::new(crate::store::FileStore::open(&dir).expect("open the store"));
    let (cluster, effects) =
        Cluster::open(store, StateConfig::default(), ClusterOptions::default())
            .expect("open the cluster");
    (cluster, effects, dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use crate::store::Recovered;

    /// An in-memory store that can be told to fail its appends.
    #[derive(Default)]
    struct MemStore {
        log: Mutex<Vec<(u64, Vec<u8>)>>,
        /// How many entries each append held.
        appends: Mutex<Vec<usize>>,
        fail: AtomicBool,
    }

    impl Store for MemStore {
        fn recover(&self) -> Result<Recovered, StoreError> {
            Ok(Recovered {
                snapshot: None,
                entries: self.log.lock().expect("lock").clone(),
            })
        }
        fn append(&self, entries: &[(u64, Vec<u8>)]) -> Result<(), StoreError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(StoreError("disk on fire".into()));
            }
            self.log.lock().expect("lock").extend_from_slice(entries);
            self.appends.lock().expect("lock").push(entries.len());
            Ok(())
        }
        fn install_snapshot(&self, _: u64, _: &[u8]) -> Result<(), StoreError> {
            Ok(())
        }
    }

    /// A cluster on `store`, with the default options.
    fn opened(store: Arc<MemStore>) -> (Arc<Cluster>, mpsc::UnboundedReceiver<Effects>) {
        Cluster::open(store, StateConfig::default(), ClusterOptions::default()).expect("open")
    }

    fn node(id: &str) -> Command {
        Command::UpsertNode {
            node: Box::new(caravan_core::Node {
                id: id.into(),
                status: "ready".into(),
                ..Default::default()
            }),
        }
    }

    #[tokio::test]
    async fn writes_are_logged_in_order_and_replay_to_the_same_state() {
        let store = Arc::new(MemStore::default());
        let (cluster, _effects) = opened(store.clone());
        let writes: Vec<_> = (0..20)
            .map(|i| {
                let c = cluster.clone();
                tokio::spawn(async move { c.write(node(&format!("n{i}"))).await })
            })
            .collect();
        for w in writes {
            w.await.expect("join").expect("applied");
        }
        // A refused command answers Nomad's text and changes nothing.
        let before = cluster.snapshot();
        let refused = cluster
            .write(Command::UpdateNodeDrain {
                node_id: "missing".into(),
                drain: true,
            })
            .await;
        assert!(matches!(&refused, Err(WriteError::Rejected(e)) if e.0 == "node not found"));
        assert_eq!(cluster.snapshot(), before);
        let positions: Vec<u64> = store
            .log
            .lock()
            .expect("lock")
            .iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(positions, (1..=21).collect::<Vec<_>>());
        let (replayed, position) = recover(store.as_ref(), StateConfig::default()).expect("replay");
        assert_eq!(position, 21);
        assert_eq!(replayed, before);
    }

    #[tokio::test]
    async fn a_group_is_one_append_applied_in_order() {
        let store = Arc::new(MemStore::default());
        let (cluster, _effects) = opened(store.clone());
        cluster.write(node("first")).await.expect("applied");
        let drain = |id: &str| Command::UpdateNodeDrain {
            node_id: id.into(),
            drain: true,
        };
        // The drain names a node written earlier in the same group; the
        // refused one in the middle does not stop the last.
        let results = cluster
            .write_group(vec![node("a"), drain("a"), drain("missing"), node("b")])
            .await;
        let indexes: Vec<Result<u64, String>> = results
            .iter()
            .map(|r| match r {
                Ok(applied) => Ok(applied.index),
                Err(e) => Err(e.to_string()),
            })
            .collect();
        assert_eq!(indexes, [Ok(2), Ok(3), Err("node not found".into()), Ok(4)]);
        assert_eq!(*store.appends.lock().expect("lock"), [1, 4]);
        let state = cluster.snapshot();
        assert!(state.node("a").expect("a").drain);
        assert!(state.node("b").is_some());
        let (replayed, position) = recover(store.as_ref(), StateConfig::default()).expect("replay");
        assert_eq!(position, 5);
        assert_eq!(replayed, state);
    }

    #[tokio::test]
    async fn effects_name_the_classes_where_capacity_changed() {
        let (cluster, mut effects) = opened(Arc::new(MemStore::default()));
        // The class the state computed for the node.
        let class = |id: &str| {
            let state = cluster.read();
            state.node(id).expect("node").computed_class.clone()
        };
        // Effects are sent after the writer is answered: wait for them. In
        // the order of the writes, so that a write expected to send none
        // and sending some would show up as the next one's.
        async fn next(effects: &mut mpsc::UnboundedReceiver<Effects>) -> BTreeSet<String> {
            tokio::time::timeout(Duration::from_secs(5), effects.recv())
                .await
                .expect("effects of the write in time")
                .expect("the channel is open")
                .capacity_classes
        }
        let with = |id: &str, status: &str| Command::UpsertNode {
            node: Box::new(caravan_core::Node {
                id: id.into(),
                status: status.into(),
                node_class: format!("class-of-{id}"),
                ..Default::default()
            }),
        };
        cluster.write(with("a", "ready")).await.expect("write");
        assert_eq!(next(&mut effects).await, [class("a")].into());
        // A node that is not ready adds nothing (and no effects are sent).
        cluster
            .write(with("b", "initializing"))
            .await
            .expect("write");
        let drain = |drain| Command::UpdateNodeDrain {
            node_id: "a".into(),
            drain,
        };
        cluster.write(drain(true)).await.expect("write");
        cluster.write(drain(false)).await.expect("write");
        assert_eq!(next(&mut effects).await, [class("a")].into());
        let status = |status: &str| Command::UpdateNodeStatus {
            node_id: "b".into(),
            status: status.into(),
            now: 1,
        };
        cluster.write(status("down")).await.expect("write");
        cluster.write(status("ready")).await.expect("write");
        assert_ne!(class("a"), class("b"));
        assert_eq!(next(&mut effects).await, [class("b")].into());
        assert!(effects.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_failed_append_applies_nothing_and_stops_writes() {
        let store = Arc::new(MemStore::default());
        let (cluster, _effects) = opened(store.clone());
        cluster.write(node("a")).await.expect("first write");
        let before = cluster.snapshot();
        store.fail.store(true, Ordering::SeqCst);
        let failed = cluster.write(node("b")).await;
        assert!(matches!(&failed, Err(WriteError::Storage(e)) if e.0 == "disk on fire"));
        assert_eq!(cluster.snapshot(), before);
        // Even once the disk recovers, nothing more is acknowledged.
        store.fail.store(false, Ordering::SeqCst);
        assert!(matches!(
            cluster.write(node("c")).await,
            Err(WriteError::Storage(_))
        ));
        assert_eq!(cluster.snapshot(), before);
    }

    #[tokio::test]
    async fn blocking_reads_time_out_or_wake() {
        let store = Arc::new(MemStore::default());
        let (cluster, _effects) =
            Cluster::open(store, StateConfig::default(), ClusterOptions::default()).expect("open");
        let wait = Blocking {
            min_index: 5,
            timeout: Duration::from_millis(50),
            ..Default::default()
        };
        let start = tokio::time::Instant::now();
        let topic = Topic::Table(caravan_core::state::Table::Nodes);
        let (index, _) = cluster
            .blocking(topic.clone(), wait, |s| (s.index(), ()))
            .await;
        assert_eq!(index, 0);
        assert!(start.elapsed() >= Duration::from_millis(50));
        let c = cluster.clone();
        let waiter = tokio::spawn(async move {
            let wait = Blocking {
                min_index: 1,
                timeout: Duration::from_secs(30),
                ..Default::default()
            };
            c.blocking(topic, wait, |s| (s.index(), ())).await.0
        });
        cluster.write(node("a")).await.expect("write");
        cluster.write(node("b")).await.expect("write");
        let woke_at = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken before the timeout")
            .expect("join");
        assert_eq!(woke_at, 2);
    }
}
