//! The one task behind every simulated node: registration, heartbeats,
//! one blocking watch over all their allocations, and each allocation's
//! client life (received → running → complete) on a timer queue.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use caravan_core::model::{
    Allocation, Job, Task, TaskEvent, TaskGroup, ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_FAILED,
    ALLOC_CLIENT_RUNNING, JOB_TYPE_BATCH, NODE_STATUS_READY,
};
use caravan_core::Node;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::super::alloc_state::*;
use super::super::heartbeat::{after_heartbeat, register_once, stopped};
use super::super::raw_exec::kill_timeout;
use super::super::status_sync::{StatusSync, RETRY_INTERVAL};
use super::super::{BoxFuture, NodeAllocs, NodeRpc, NodeSet};
use super::SimOptions;

/// Something due at a given time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// The allocation's tasks start.
    Start(String),
    /// A batch task exits 0.
    Finish(String, usize),
    /// The allocation has run long enough to be healthy in its deployment.
    Healthy(String, String),
    /// The node (by position) heartbeats.
    Heartbeat(usize),
    /// The node (by position) registers again.
    Register(usize),
}

/// Where a simulated allocation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Starting,
    Running,
    /// Reported terminal; kept until the server shows it terminal too, so
    /// a late copy of the running allocation is not mistaken for a new one.
    Done,
}

struct SimTask {
    name: String,
    kill_timeout: Duration,
    /// How long the task runs (batch tasks only).
    runs_for: Option<Duration>,
    dead: bool,
}

struct SimAlloc {
    state: Arc<AllocState>,
    alloc_modify_index: u64,
    desired_status: String,
    phase: Phase,
    tasks: Vec<SimTask>,
}

/// Completions of the calls made off the driver's task.
enum Call {
    Heartbeat(usize, Result<Duration, String>),
    Register(usize, Result<(), String>),
}

struct Driver {
    rpc: Arc<dyn NodeRpc>,
    nodes: Vec<Arc<Node>>,
    options: SimOptions,
    sync: Arc<StatusSync>,
    allocs: HashMap<String, SimAlloc>,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    calls: JoinSet<Call>,
    /// Which nodes registered at least once, how many, and since when.
    was_registered: Vec<bool>,
    registered: usize,
    started: Instant,
}

pub(super) async fn run(
    rpc: Arc<dyn NodeRpc>,
    ordered: Vec<Node>,
    bulk: Vec<Node>,
    options: SimOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let started = Instant::now();
    if !register_ordered(&rpc, &ordered, &mut shutdown).await {
        return;
    }
    let registered = ordered.len();
    let nodes: Vec<Arc<Node>> = ordered.into_iter().chain(bulk).map(Arc::new).collect();
    if nodes.is_empty() {
        return;
    }
    let node_count = nodes.len();
    let ids: NodeSet = Arc::new(nodes.iter().map(|n| n.id.clone()).collect::<HashSet<_>>());

    let sync = Arc::new(StatusSync::default());
    let (stop_sync, sync_stopped) = watch::channel(false);
    let syncer = tokio::spawn(
        sync.clone()
            .run(rpc.clone(), options.sync_window, sync_stopped),
    );
    let mut d = Driver {
        rpc: rpc.clone(),
        nodes,
        options,
        sync: sync.clone(),
        allocs: HashMap::new(),
        timers: BinaryHeap::new(),
        calls: JoinSet::new(),
        was_registered: (0..node_count).map(|i| i < registered).collect(),
        registered,
        started,
    };
    // The spec's nodes are registered already; generated ones register
    // all at once (the server commits them in batches), and each starts
    // heartbeating as soon as it is registered.
    let now = Instant::now();
    for i in 0..d.nodes.len() {
        let first = if i < registered {
            Timer::Heartbeat(i)
        } else {
            Timer::Register(i)
        };
        d.at(now, first);
    }
    d.announce();

    let wait_ms = u64::try_from(d.options.watch_wait.as_millis()).unwrap_or(u64::MAX);
    let watch = |min_index: u64, delay: Duration| {
        watch_from(rpc.as_ref(), ids.clone(), min_index, delay, wait_ms)
    };
    let mut min_index = 0u64;
    let mut watching = watch(0, Duration::ZERO);
    loop {
        let next = d.timers.peek().map(|Reverse((at, _))| *at);
        let due = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            res = &mut watching => match res {
                Ok((index, allocs)) => {
                    // An index that went backwards means a new state
                    // (a restarted server): start over.
                    min_index = if index < min_index { 0 } else { index };
                    for a in allocs {
                        if ids.contains(&a.node_id) {
                            d.received(a);
                        }
                    }
                    watching = watch(min_index, Duration::ZERO);
                }
                Err(_) => watching = watch(min_index, RETRY_INTERVAL),
            },
            _ = due => d.fire_due(),
            Some(done) = d.calls.join_next(), if !d.calls.is_empty() => {
                if let Ok(call) = done {
                    d.called(call);
                }
            }
            _ = stopped(&mut shutdown) => break,
        }
    }
    drop(watching);
    d.calls.abort_all();
    let _ = stop_sync.send(true);
    let _ = syncer.await;
    let _ = tokio::time::timeout(Duration::from_secs(1), sync.send_pending(&rpc)).await;
}

/// The allocation watch from `min_index`, after `delay`.
fn watch_from(
    rpc: &dyn NodeRpc,
    ids: NodeSet,
    min_index: u64,
    delay: Duration,
    wait_ms: u64,
) -> BoxFuture<'_, Result<NodeAllocs, String>> {
    Box::pin(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        rpc.watch_allocs(ids, min_index, wait_ms).await
    })
}

/// Registers every node, then sets each ready, one call at a time so the
/// server sees them in the spec's order (create indexes, then modify
/// indexes, as recorded).
async fn register_ordered(
    rpc: &Arc<dyn NodeRpc>,
    nodes: &[Node],
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    for n in nodes {
        if !retry(shutdown, || rpc.register(n.clone())).await {
            return false;
        }
    }
    let mut by_modify: Vec<&Node> = nodes.iter().collect();
    by_modify.sort_by_key(|n| n.modify_index);
    for n in by_modify {
        let ready = || rpc.update_status(n.id.clone(), NODE_STATUS_READY.into());
        if !retry(shutdown, ready).await {
            return false;
        }
    }
    true
}

/// Calls `f` until it succeeds; false if shut down first.
async fn retry<'a, T>(
    shutdown: &mut watch::Receiver<bool>,
    f: impl Fn() -> BoxFuture<'a, Result<T, String>>,
) -> bool {
    loop {
        tokio::select! {
            r = f() => if r.is_ok() { return true },
            _ = stopped(shutdown) => return false,
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY_INTERVAL) => {}
            _ = stopped(shutdown) => return false,
        }
    }
}

fn group<'a>(job: &'a Job, name: &str) -> Option<&'a TaskGroup> {
    job.task_groups.iter().find(|g| g.name == name)
}

fn nanos(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

/// One argument of `sleep`: a number with an optional s/m/h/d suffix.
fn sleep_arg(arg: &str) -> Option<f64> {
    let (num, unit) = match arg.char_indices().last()? {
        (i, 's') => (&arg[..i], 1.0),
        (i, 'm') => (&arg[..i], 60.0),
        (i, 'h') => (&arg[..i], 3600.0),
        (i, 'd') => (&arg[..i], 86_400.0),
        _ => (arg, 1.0),
    };
    let n: f64 = num.parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n * unit)
}

/// How long `sleep ARGS…` would run (GNU sleep adds its arguments up).
fn sleep_duration(task: &Task) -> Option<Duration> {
    let command = task.config.get("command")?.as_str()?;
    if command.rsplit('/').next() != Some("sleep") {
        return None;
    }
    let args = task.config.get("args")?.as_array()?;
    let mut total = 0.0;
    for a in args {
        total += sleep_arg(a.as_str()?)?;
    }
    Duration::try_from_secs_f64(total).ok()
}

fn sim_tasks(job: &Job, tg: &TaskGroup, options: &SimOptions) -> Vec<SimTask> {
    tg.tasks
        .iter()
        .map(|t| SimTask {
            name: t.name.clone(),
            kill_timeout: kill_timeout(t.kill_timeout),
            runs_for: (job.job_type == JOB_TYPE_BATCH)
                .then(|| sleep_duration(t).unwrap_or(options.batch_runtime)),
            dead: false,
        })
        .collect()
}

/// The deployment health the allocation still has to report: the
/// deployment and after how long running it counts as healthy.
fn health_due(alloc: &Allocation) -> Option<(String, Duration)> {
    if alloc.deployment_id.is_empty()
        || alloc
            .deployment_status
            .as_ref()
            .is_some_and(|d| d.healthy.is_some())
    {
        return None;
    }
    let update = group(alloc.job.as_ref()?, &alloc.task_group)?
        .update
        .as_ref()?;
    // Checks always pass on a simulated node.
    (update.health_check != "manual")
        .then(|| (alloc.deployment_id.clone(), nanos(update.min_healthy_time)))
}

impl Driver {
    fn at(&mut self, at: Instant, timer: Timer) {
        self.timers.push(Reverse((at, timer)));
    }

    fn after(&mut self, delay: Duration, timer: Timer) {
        // A delay too long to represent never comes.
        if let Some(at) = Instant::now().checked_add(delay) {
            self.at(at, timer);
        }
    }

    /// Nomad's `runAllocs` for simulated nodes: new allocations start,
    /// allocations the server changed are updated or stopped, and ones the
    /// server shows finished are forgotten.
    fn received(&mut self, alloc: Arc<Allocation>) {
        let Some(sim) = self.allocs.get_mut(&alloc.id) else {
            self.start(alloc);
            return;
        };
        if alloc.client_terminal() {
            // Finished as far as the server knows (reported by us, or lost).
            self.allocs.remove(&alloc.id);
            return;
        }
        if sim.phase == Phase::Done
            || (alloc.alloc_modify_index <= sim.alloc_modify_index
                && alloc.desired_status == sim.desired_status)
        {
            return;
        }
        sim.alloc_modify_index = alloc.alloc_modify_index;
        sim.desired_status = alloc.desired_status.clone();
        sim.state.set_alloc(alloc.clone());
        if alloc.terminal() {
            self.stop(&alloc.id);
            return;
        }
        // An in-place update: new kill timeouts and run times apply.
        if let Some(job) = alloc.job.as_deref() {
            if let Some(tg) = group(job, &alloc.task_group) {
                for t in sim_tasks(job, tg, &self.options) {
                    if let Some(s) = sim.tasks.iter_mut().find(|s| s.name == t.name) {
                        s.kill_timeout = t.kill_timeout;
                    }
                }
            }
        }
        sim.state.sync();
        if sim.phase == Phase::Running {
            if let Some((deployment, after)) = health_due(&alloc) {
                self.after(after, Timer::Healthy(alloc.id.clone(), deployment));
            }
        }
    }

    /// A newly seen allocation: received and set up now, started after the
    /// start delay. One the server wants stopped is reported complete; one
    /// already running (a restarted agent) is adopted as it is.
    fn start(&mut self, alloc: Arc<Allocation>) {
        if alloc.client_terminal() {
            return;
        }
        let state = AllocState::new(alloc.clone(), self.sync.clone());
        let mut sim = SimAlloc {
            state: state.clone(),
            alloc_modify_index: alloc.alloc_modify_index,
            desired_status: alloc.desired_status.clone(),
            phase: Phase::Done,
            tasks: Vec::new(),
        };
        let Some((job, tg)) = alloc
            .job
            .as_deref()
            .and_then(|j| group(j, &alloc.task_group).map(|g| (j, g)))
        else {
            state.set_status(
                ALLOC_CLIENT_FAILED,
                &format!("missing task group '{}'", alloc.task_group),
            );
            self.allocs.insert(alloc.id.clone(), sim);
            return;
        };
        if alloc.terminal() {
            state.set_status(
                ALLOC_CLIENT_COMPLETE,
                "canceled running tasks for allocation in terminal state",
            );
            self.allocs.insert(alloc.id.clone(), sim);
            return;
        }
        sim.tasks = sim_tasks(job, tg, &self.options);
        if alloc.client_status == ALLOC_CLIENT_RUNNING {
            for t in &mut sim.tasks {
                t.dead = alloc
                    .task_states
                    .get(&t.name)
                    .is_some_and(|s| s.state == TASK_STATE_DEAD);
            }
            self.allocs.insert(alloc.id.clone(), sim);
            self.running(&alloc);
            return;
        }
        for t in &sim.tasks {
            state.set_task_state(&t.name, None, Some(event(EVENT_RECEIVED)), true);
            let setup = TaskEvent {
                message: MESSAGE_BUILDING_TASK_DIR.into(),
                ..event(EVENT_TASK_SETUP)
            };
            state.set_task_state(&t.name, Some(TASK_STATE_PENDING), Some(setup), false);
        }
        sim.phase = Phase::Starting;
        self.allocs.insert(alloc.id.clone(), sim);
        self.after(self.options.start_delay, Timer::Start(alloc.id.clone()));
    }

    /// Schedules what follows the start: batch exits and deployment health.
    fn running(&mut self, alloc: &Allocation) {
        let Some(sim) = self.allocs.get_mut(&alloc.id) else {
            return;
        };
        sim.phase = Phase::Running;
        let finishes: Vec<(usize, Duration)> = sim
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.dead)
            .filter_map(|(i, t)| t.runs_for.map(|d| (i, d)))
            .collect();
        for (i, d) in finishes {
            self.after(d, Timer::Finish(alloc.id.clone(), i));
        }
        if let Some((deployment, after)) = health_due(alloc) {
            self.after(after, Timer::Healthy(alloc.id.clone(), deployment));
        }
    }

    /// Kills the allocation's tasks: `Killing` (with the kill timeout) and
    /// `Killed` for started tasks, `Killed` alone for tasks not started.
    fn stop(&mut self, alloc_id: &str) {
        let Some(sim) = self.allocs.get_mut(alloc_id) else {
            return;
        };
        let started = sim.phase == Phase::Running;
        for t in sim.tasks.iter_mut().filter(|t| !t.dead) {
            if started {
                let killing = TaskEvent {
                    kill_timeout: i64::try_from(t.kill_timeout.as_nanos()).unwrap_or(i64::MAX),
                    ..event(EVENT_KILLING)
                };
                sim.state
                    .set_task_state(&t.name, Some(TASK_STATE_RUNNING), Some(killing), true);
            }
            sim.state
                .set_task_state(&t.name, None, Some(event(EVENT_KILLED)), true);
            sim.state
                .set_task_state(&t.name, Some(TASK_STATE_DEAD), None, false);
            t.dead = true;
        }
        sim.phase = Phase::Done;
    }

    /// Says once when every node has registered.
    fn announce(&self) {
        if self.registered == self.nodes.len() {
            eprintln!(
                "caravan: {} simulated nodes registered in {:.1?}",
                self.nodes.len(),
                self.started.elapsed()
            );
        }
    }

    fn fire_due(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, timer))) = self.timers.pop() else {
                break;
            };
            self.fire(timer);
        }
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::Start(id) => {
                let Some(sim) = self.allocs.get_mut(&id) else {
                    return;
                };
                if sim.phase != Phase::Starting {
                    return;
                }
                for t in &sim.tasks {
                    sim.state.set_task_state(
                        &t.name,
                        Some(TASK_STATE_RUNNING),
                        Some(event(EVENT_STARTED)),
                        false,
                    );
                }
                let alloc = sim.state.alloc();
                self.running(&alloc);
            }
            Timer::Finish(id, i) => {
                let Some(sim) = self.allocs.get_mut(&id) else {
                    return;
                };
                let Some(t) = sim.tasks.get_mut(i) else {
                    return;
                };
                if sim.phase != Phase::Running || t.dead {
                    return;
                }
                let exited = TaskEvent {
                    exit_code: 0,
                    ..event(EVENT_TERMINATED)
                };
                sim.state.set_task_state(&t.name, None, Some(exited), true);
                sim.state
                    .set_task_state(&t.name, Some(TASK_STATE_DEAD), None, false);
                t.dead = true;
                if sim.tasks.iter().all(|t| t.dead) {
                    sim.phase = Phase::Done;
                }
            }
            Timer::Healthy(id, deployment) => {
                let Some(sim) = self.allocs.get(&id) else {
                    return;
                };
                if sim.phase == Phase::Running && sim.state.alloc().deployment_id == deployment {
                    sim.state.set_health(true);
                }
            }
            Timer::Heartbeat(i) => {
                let Some(node) = self.nodes.get(i) else {
                    return;
                };
                let (rpc, id) = (self.rpc.clone(), node.id.clone());
                self.calls
                    .spawn(async move { Call::Heartbeat(i, rpc.heartbeat(id).await) });
            }
            Timer::Register(i) => {
                let Some(node) = self.nodes.get(i) else {
                    return;
                };
                let (rpc, node) = (self.rpc.clone(), node.clone());
                self.calls.spawn(async move {
                    Call::Register(i, register_once(rpc.as_ref(), &node).await)
                });
            }
        }
    }

    fn called(&mut self, call: Call) {
        match call {
            Call::Heartbeat(i, result) => {
                let (reregister, next) = after_heartbeat(&result);
                let timer = if reregister {
                    Timer::Register(i)
                } else {
                    Timer::Heartbeat(i)
                };
                self.after(next, timer);
            }
            Call::Register(i, Ok(())) => {
                if let Some(seen @ false) = self.was_registered.get_mut(i) {
                    *seen = true;
                    self.registered += 1;
                    self.announce();
                }
                self.after(Duration::ZERO, Timer::Heartbeat(i));
            }
            Call::Register(i, Err(_)) => self.after(RETRY_INTERVAL, Timer::Register(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(config: serde_json::Value) -> Task {
        Task {
            config: config.as_object().cloned().unwrap_or_default(),
            ..Task::default()
        }
    }

    #[test]
    fn sleep_commands_run_as_long_as_they_say() {
        let t = task(json!({"command": "/bin/sleep", "args": ["3600"]}));
        assert_eq!(sleep_duration(&t), Some(Duration::from_secs(3600)));
        let t = task(json!({"command": "sleep", "args": ["1m", "0.5"]}));
        assert_eq!(sleep_duration(&t), Some(Duration::from_millis(60_500)));
        for bad in [
            json!({"command": "/bin/echo", "args": ["3"]}),
            json!({"command": "sleep", "args": ["forever"]}),
            json!({"command": "sleep", "args": ["inf"]}),
            json!({"command": "sleep", "args": ["-1"]}),
            json!({"command": "sleep"}),
            json!({"args": ["3"]}),
        ] {
            assert_eq!(sleep_duration(&task(bad.clone())), None, "{bad}");
        }
    }
}
