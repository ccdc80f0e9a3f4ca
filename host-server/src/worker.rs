//! The eval worker: an in-memory broker of pending evaluations (highest
//! priority first, rebuilt from the state on start), blocked evaluations
//! waiting for capacity, and the worker that drives the core's `EvalRun`
//! (linked, or in the scheduler plugin) for several evaluations at a time.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caravan_core::model::{
    Evaluation, EVAL_STATUS_BLOCKED, EVAL_STATUS_FAILED, EVAL_STATUS_PENDING,
};
use caravan_core::state::Reply;
use caravan_core::Command;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::{JoinError, JoinSet};

use crate::cluster::{Cluster, Effects};
use crate::entropy;
use crate::scheduler::{Scheduler, Write};

/// An evaluation ready to run, ordered by priority then age.
struct Ready {
    priority: i64,
    age: Reverse<u64>,
    eval: Arc<Evaluation>,
}

impl PartialEq for Ready {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ready {}
impl PartialOrd for Ready {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ready {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.priority, self.age, &self.eval.id).cmp(&(other.priority, other.age, &other.eval.id))
    }
}

#[derive(Default)]
struct Queues {
    ready: BinaryHeap<Ready>,
    /// IDs in `ready` or waiting out their `Wait`.
    queued: HashSet<String>,
    /// Jobs with an evaluation handed out: as Nomad's broker, the broker
    /// hands out one evaluation per job at a time.
    running: HashSet<String>,
    /// Evaluations taken off `ready` while their job had one handed out,
    /// by job; they go back when it is done.
    waiting: HashMap<String, Vec<Ready>>,
    /// Blocked evaluations and the state index they were blocked at.
    blocked: HashMap<String, (Arc<Evaluation>, u64)>,
    /// The index of the last capacity change per computed node class (for
    /// evaluations blocked after a change their run did not see).
    changes: HashMap<String, u64>,
}

impl Queues {
    /// Whether a capacity change after `snapshot_index` that `eval` would
    /// be released by happened (Nomad's `missedUnblock`).
    fn missed(&self, eval: &Evaluation, snapshot_index: u64) -> bool {
        self.changes
            .iter()
            .any(|(class, at)| *at > snapshot_index && released_by(eval, class))
    }

    /// Queues `eval` as ready (no longer blocked), unless it is queued.
    fn push(&mut self, eval: Arc<Evaluation>) -> bool {
        self.blocked.remove(&eval.id);
        if !self.queued.insert(eval.id.clone()) {
            return false;
        }
        self.ready.push(ready(eval));
        true
    }
}

/// Whether a capacity change on a node of `class` releases the blocked
/// `eval`: unless the class was found ineligible (any class when the
/// evaluation escaped class caching), as Nomad's `BlockedEvals.Unblock`.
fn released_by(eval: &Evaluation, class: &str) -> bool {
    eval.escaped_computed_class
        || eval
            .class_eligibility
            .as_ref()
            .and_then(|c| c.get(class))
            .is_none_or(|eligible| *eligible)
}

/// Pending and blocked evaluations.
#[derive(Default)]
pub struct Broker {
    queues: Mutex<Queues>,
    ready: Notify,
}

impl Broker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rebuilds the queues from the evaluations in the state.
    pub fn restore(self: &Arc<Self>, cluster: &Cluster) {
        let evals: Vec<Arc<Evaluation>> = cluster
            .read()
            .evals()
            .filter(|e| e.status == EVAL_STATUS_PENDING || e.status == EVAL_STATUS_BLOCKED)
            .cloned()
            .collect();
        for e in evals {
            self.offer(e, 0, false);
        }
    }

    /// Takes an evaluation written pending (ready, or after its `Wait`) or
    /// blocked (kept until capacity changes after `index`).
    fn offer(self: &Arc<Self>, eval: Arc<Evaluation>, index: u64, honour_wait: bool) {
        if eval.status == EVAL_STATUS_BLOCKED {
            let snapshot_index = eval.snapshot_index;
            return self.block(eval, snapshot_index, index);
        }
        let mut q = self.lock();
        q.blocked.remove(&eval.id);
        if !q.queued.insert(eval.id.clone()) {
            return;
        }
        if honour_wait && eval.wait > 0 {
            drop(q);
            let broker = self.clone();
            let wait = Duration::from_nanos(eval.wait as u64);
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                broker.push_ready(eval);
            });
            return;
        }
        q.ready.push(ready(eval));
        drop(q);
        self.ready.notify_one();
    }

    fn push_ready(&self, eval: Arc<Evaluation>) {
        self.lock().ready.push(ready(eval));
        self.ready.notify_one();
    }

    /// Keeps a blocked evaluation that a run left blocked without a write,
    /// as Nomad's `Eval.Reblock` does; if capacity that would release it
    /// changed after the state the run saw, it goes straight back to the
    /// ready queue.
    fn reblock(&self, eval: Arc<Evaluation>, snapshot_index: u64) {
        self.block(eval, snapshot_index, snapshot_index);
    }

    /// Holds a blocked evaluation for a capacity change after `at`, or
    /// releases it at once when a change that releases it came after the
    /// state its run saw (`snapshot_index`).
    fn block(&self, eval: Arc<Evaluation>, snapshot_index: u64, at: u64) {
        let mut q = self.lock();
        if q.missed(&eval, snapshot_index) {
            if q.push(eval) {
                drop(q);
                self.ready.notify_one();
            }
            return;
        }
        q.blocked.insert(eval.id.clone(), (eval, at));
    }

    /// Capacity changed at `index` on nodes of `classes`: every evaluation
    /// blocked before it that one of them releases goes to the ready queue.
    fn unblock(&self, index: u64, classes: &BTreeSet<String>) {
        let mut q = self.lock();
        for class in classes {
            let at = q.changes.entry(class.clone()).or_default();
            *at = (*at).max(index);
        }
        let ids: Vec<String> = q
            .blocked
            .iter()
            .filter(|(_, (eval, at))| *at < index && classes.iter().any(|c| released_by(eval, c)))
            .map(|(id, _)| id.clone())
            .collect();
        let mut woke = false;
        for id in ids {
            if let Some((eval, _)) = q.blocked.remove(&id) {
                woke |= q.push(eval);
            }
        }
        drop(q);
        if woke {
            self.ready.notify_one();
        }
    }

    /// The next ready evaluation whose job has none handed out.
    fn pop(&self) -> Option<Arc<Evaluation>> {
        let mut q = self.lock();
        while let Some(r) = q.ready.pop() {
            if q.running.contains(&r.eval.job_id) {
                q.waiting.entry(r.eval.job_id.clone()).or_default().push(r);
                continue;
            }
            q.running.insert(r.eval.job_id.clone());
            return Some(r.eval);
        }
        None
    }

    /// A handed-out evaluation is finished with: its job's next one may go.
    fn done(&self, eval: &Evaluation) {
        let mut q = self.lock();
        q.queued.remove(&eval.id);
        q.running.remove(&eval.job_id);
        if let Some(waiting) = q.waiting.remove(&eval.job_id) {
            q.ready.extend(waiting);
            drop(q);
            self.ready.notify_one();
        }
    }
}

fn ready(eval: Arc<Evaluation>) -> Ready {
    Ready {
        priority: eval.priority,
        age: Reverse(eval.create_index),
        eval,
    }
}

/// Feeds the broker from the writer's effects until shutdown.
pub async fn run_broker(
    broker: Arc<Broker>,
    mut effects: mpsc::UnboundedReceiver<Effects>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let e = tokio::select! {
            e = effects.recv() => match e { Some(e) => e, None => return },
            _ = shutdown.wait_for(|s| *s) => return,
        };
        for eval in e.evals {
            broker.offer(eval, e.index, true);
        }
        if !e.capacity_classes.is_empty() {
            broker.unblock(e.index, &e.capacity_classes);
        }
    }
}

/// Processes ready evaluations through the scheduler, up to `in_flight`
/// at a time (of different jobs: see [`Broker::pop`]), as Nomad runs
/// several scheduler workers. The writes of evaluations in flight together
/// share appends and syncs; their plans are checked against the state they
/// are applied to, as the plan applier checks any plan. Their scheduling
/// passes take turns on all cores but one ([`scheduling_passes`]). Each
/// evaluation runs in a task of its own, so that a panic in the scheduler
/// fails that evaluation instead of ending the worker. At shutdown the
/// evaluations in flight are finished first.
pub async fn run_worker(
    cluster: Arc<Cluster>,
    broker: Arc<Broker>,
    scheduler: Scheduler,
    in_flight: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let in_flight = in_flight.max(1);
    let passes = Arc::new(Semaphore::new(scheduling_passes()));
    let mut running = JoinSet::new();
    let mut evals = HashMap::new();
    loop {
        while running.len() < in_flight {
            let Some(eval) = broker.pop() else {
                break;
            };
            let task = running.spawn(run_one(
                cluster.clone(),
                broker.clone(),
                scheduler.clone(),
                passes.clone(),
                eval.clone(),
            ));
            evals.insert(task.id(), eval);
        }
        let joined = tokio::select! {
            Some(joined) = running.join_next_with_id(), if !running.is_empty() => Some(joined),
            _ = broker.ready.notified(), if running.len() < in_flight => None,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        if let Some(joined) = joined {
            finished(&cluster, &broker, &mut evals, joined).await;
        }
    }
    while let Some(joined) = running.join_next_with_id().await {
        finished(&cluster, &broker, &mut evals, joined).await;
    }
}

/// How many evaluations may be in a scheduling pass at once: one core
/// fewer than the machine has (at least one). A pass is CPU work that
/// holds the state's read lock and a runtime thread; the evaluations in
/// flight beyond that wait for their writes, and the API keeps a core.
fn scheduling_passes() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// An evaluation's task ended: a run that panicked fails its evaluation
/// (the others told the broker themselves).
async fn finished(
    cluster: &Cluster,
    broker: &Broker,
    evals: &mut HashMap<tokio::task::Id, Arc<Evaluation>>,
    joined: Result<(tokio::task::Id, ()), JoinError>,
) {
    let id = match &joined {
        Ok((id, ())) => *id,
        Err(e) => e.id(),
    };
    let Some(eval) = evals.remove(&id) else {
        return;
    };
    if let Err(e) = joined {
        let current = cluster.read().eval(&eval.id).cloned();
        let current = current.unwrap_or_else(|| eval.clone());
        fail(cluster, (*current).clone(), panic_text(e)).await;
        broker.done(&eval);
    }
}

/// Processes one evaluation the broker handed out, then tells the broker.
async fn run_one(
    cluster: Arc<Cluster>,
    broker: Arc<Broker>,
    scheduler: Scheduler,
    passes: Arc<Semaphore>,
    eval: Arc<Evaluation>,
) {
    // The state may have moved on (cancelled, completed) since queued.
    let current = cluster.read().eval(&eval.id).cloned();
    if let Some(current) = current.filter(|e| !e.terminal()) {
        let blocked_at = process(&cluster, &scheduler, &passes, (*current).clone()).await;
        if let Some(snapshot) = blocked_at {
            broker.done(&eval);
            broker.reblock(current, snapshot);
            return;
        }
    }
    broker.done(&eval);
}

/// Most writes one evaluation may make (a guard against a scheduler that
/// never finishes).
const MAX_STEPS: usize = 64;

/// Runs one evaluation to its end. Returns the snapshot index when the
/// evaluation was blocked and still is (re-blocked without a write).
async fn process(
    cluster: &Cluster,
    scheduler: &Scheduler,
    passes: &Semaphore,
    eval: Evaluation,
) -> Option<u64> {
    let id = eval.id.clone();
    let mut run = match scheduler.eval_run(eval.clone(), entropy::seed()).await {
        Ok(run) => run,
        Err(e) => return fail(cluster, eval, e).await,
    };
    let mut steps = 0;
    loop {
        let next = {
            let _pass = passes.acquire().await;
            run.next(cluster).await
        };
        let writes = match next {
            Ok(writes) => writes,
            Err(e) => return fail(cluster, eval, e).await,
        };
        if writes.is_empty() {
            return run.reblocked_at();
        }
        steps += writes.len();
        if steps > MAX_STEPS {
            break;
        }
        let written = match <[Write; 1]>::try_from(writes) {
            // The plugin's write, logged as the guest encoded it.
            Ok(
                [Write {
                    command,
                    encoded: Some(encoded),
                }],
            ) => vec![cluster.write_encoded(command, encoded).await],
            Ok([write]) => vec![cluster.write(write.command).await],
            // Writes decided together: one append, one sync.
            Err(group) => {
                // Only the linked core groups writes; it encodes none.
                debug_assert!(group.iter().all(|w| w.encoded.is_none()));
                let commands = group.into_iter().map(|w| w.command).collect();
                cluster.write_group(commands).await
            }
        };
        for result in written {
            match result {
                Ok(applied) => {
                    if let Reply::Plan(result) = &applied.reply {
                        run.plan_applied(result);
                    }
                }
                Err(e) => {
                    eprintln!("caravan: evaluation {id}: {e}");
                    return None;
                }
            }
        }
    }
    eprintln!("caravan: evaluation {id} stopped after {MAX_STEPS} writes");
    None
}

/// What a failed evaluation run says: the panic's message, if it was one.
fn panic_text(e: JoinError) -> String {
    if !e.is_panic() {
        return format!("the scheduler stopped: {e}");
    }
    let payload = e.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    format!("the scheduler panicked: {message}")
}

/// Marks an evaluation the scheduler could not process (the plugin failing,
/// or a panic) as failed with the reason, unless it finished meanwhile.
async fn fail(cluster: &Cluster, mut eval: Evaluation, why: String) -> Option<u64> {
    eprintln!(
        "caravan: evaluation {}: the scheduler failed: {why}",
        eval.id
    );
    if cluster.read().eval(&eval.id).is_some_and(|e| e.terminal()) {
        return None;
    }
    eval.status = EVAL_STATUS_FAILED.to_string();
    eval.status_description = why;
    if let Err(e) = cluster
        .write(Command::UpsertEvals {
            evals: vec![eval.clone()],
        })
        .await
    {
        eprintln!(
            "caravan: evaluation {}: cannot mark it failed: {e}",
            eval.id
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(id: &str, snapshot_index: u64, classes: &[(&str, bool)]) -> Arc<Evaluation> {
        Arc::new(Evaluation {
            id: id.into(),
            status: EVAL_STATUS_BLOCKED.into(),
            snapshot_index,
            class_eligibility: Some(classes.iter().map(|(c, e)| (c.to_string(), *e)).collect()),
            ..Default::default()
        })
    }

    fn classes(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|c| c.to_string()).collect()
    }

    /// The IDs now ready, taken off the queue.
    fn drain(b: &Broker) -> BTreeSet<String> {
        std::iter::from_fn(|| b.pop())
            .map(|e| {
                b.done(&e);
                e.id.clone()
            })
            .collect()
    }

    #[test]
    fn capacity_releases_blocked_evaluations_by_class() {
        let b = Arc::new(Broker::default());
        b.offer(blocked("a", 5, &[("c1", false), ("c2", true)]), 6, true);
        b.offer(blocked("b", 5, &[("c1", false), ("c2", false)]), 6, true);
        let mut escaped = (*blocked("e", 5, &[("c1", false)])).clone();
        escaped.escaped_computed_class = true;
        b.offer(Arc::new(escaped), 6, true);
        assert!(drain(&b).is_empty());

        // c1 is ineligible to both: only the escaped one goes.
        b.unblock(7, &classes(&["c1"]));
        assert_eq!(drain(&b), classes(&["e"]));
        // c2 is eligible to a, ineligible to b; c3 is unknown to b.
        b.unblock(8, &classes(&["c2"]));
        assert_eq!(drain(&b), classes(&["a"]));
        b.unblock(9, &classes(&["c3", "c1"]));
        assert_eq!(drain(&b), classes(&["b"]));
        // A change at or before the index an evaluation was blocked at does
        // not release it.
        b.offer(blocked("late", 20, &[]), 21, true);
        b.unblock(21, &classes(&["c3"]));
        assert!(drain(&b).is_empty());
        b.unblock(22, &classes(&["c3"]));
        assert_eq!(drain(&b), classes(&["late"]));
    }

    #[test]
    fn a_change_the_run_did_not_see_releases_at_once() {
        let b = Arc::new(Broker::default());
        b.unblock(10, &classes(&["c1"]));
        // Blocked on a snapshot from before the change on c1.
        b.offer(blocked("x", 9, &[("c1", true)]), 11, true);
        b.offer(blocked("y", 9, &[("c1", false)]), 11, true);
        b.offer(blocked("z", 10, &[("c1", true)]), 11, true);
        assert_eq!(drain(&b), classes(&["x"]));
        // Re-blocked by a run on an older snapshot: released; on a newer
        // one: kept.
        b.reblock(blocked("z", 10, &[("c1", true)]), 8);
        b.reblock(blocked("w", 10, &[("c1", true)]), 12);
        assert_eq!(drain(&b), classes(&["z"]));
        b.unblock(13, &classes(&["c1"]));
        assert_eq!(drain(&b), classes(&["w"]));
    }

    fn pending(id: &str, job: &str, priority: i64, create_index: u64) -> Arc<Evaluation> {
        Arc::new(Evaluation {
            id: id.into(),
            job_id: job.into(),
            priority,
            create_index,
            status: EVAL_STATUS_PENDING.into(),
            ..Default::default()
        })
    }

    #[test]
    fn one_evaluation_per_job_is_handed_out_at_a_time() {
        let b = Arc::new(Broker::default());
        b.offer(pending("a1", "a", 50, 1), 1, false);
        b.offer(pending("a2", "a", 70, 2), 2, false);
        b.offer(pending("b1", "b", 60, 3), 3, false);
        b.offer(pending("a3", "a", 50, 4), 4, false);
        // Highest priority first; a's others wait while a2 is out.
        let first = b.pop().unwrap();
        assert_eq!(first.id, "a2");
        assert_eq!(b.pop().unwrap().id, "b1");
        assert!(b.pop().is_none());
        // b finishing releases nothing of a.
        b.done(&pending("b1", "b", 60, 3));
        assert!(b.pop().is_none());
        // a2 done: a1 (older at the same priority) before a3, one at a time.
        b.done(&first);
        let next = b.pop().unwrap();
        assert_eq!(next.id, "a1");
        assert!(b.pop().is_none());
        b.done(&next);
        assert_eq!(b.pop().unwrap().id, "a3");
        // An evaluation offered again while queued is not queued twice.
        b.offer(pending("c1", "c", 50, 5), 5, false);
        b.offer(pending("c1", "c", 50, 5), 6, false);
        assert_eq!(b.pop().unwrap().id, "c1");
        assert!(b.pop().is_none());
    }

    #[tokio::test]
    async fn a_run_that_panics_fails_its_evaluation_and_frees_its_job() {
        let (cluster, _effects, dir) = crate::cluster::scratch_cluster("worker");
        let queued = (*pending("e1", "j", 50, 0)).clone();
        cluster
            .write(Command::UpsertEvals {
                evals: vec![queued],
            })
            .await
            .expect("write");
        let broker = Arc::new(Broker::default());
        broker.offer(pending("e1", "j", 50, 1), 1, false);
        broker.offer(pending("e2", "j", 50, 2), 2, false);
        let eval = broker.pop().expect("e1");
        assert!(broker.pop().is_none(), "e2 waits for its job");

        let mut running = JoinSet::new();
        let task = running.spawn(async { panic!("index out of bounds") });
        let mut evals = HashMap::from([(task.id(), eval)]);
        let joined = running.join_next_with_id().await.expect("joined");
        finished(&cluster, &broker, &mut evals, joined).await;

        let failed = cluster.read().eval("e1").cloned().expect("e1");
        assert_eq!(failed.status, EVAL_STATUS_FAILED);
        assert_eq!(
            failed.status_description,
            "the scheduler panicked: index out of bounds"
        );
        assert!(evals.is_empty());
        assert_eq!(broker.pop().expect("e2 released").id, "e2");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A job of one allocation asking for `cpu` MHz, prepared as submitted.
    fn cpu_job(id: &str, cpu: i64) -> caravan_core::Job {
        let doc = format!(
            r#"{{"ID":"{id}","Type":"service","Datacenters":["dc1"],"TaskGroups":[{{"Name":"g","Count":1,
            "Tasks":[{{"Name":"t","Driver":"raw_exec","Config":{{"command":"/bin/true"}},
            "Resources":{{"CPU":{cpu},"MemoryMB":64}}}}]}}]}}"#
        );
        let api = caravan_core::gojson::from_slice(doc.as_bytes(), "api.Job").expect("job");
        caravan_core::prepare(api).job
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn evaluations_in_flight_together_never_oversubscribe_a_node() {
        let (cluster, effects, dir) = crate::cluster::scratch_cluster("in-flight");
        // One node with room for 5 of the 12 jobs' allocations (4 000 MHz,
        // 700 asked by each).
        let mut node = caravan_core::Node {
            id: "6f3a1c2e-0000-4000-8000-000000000001".into(),
            name: "solo".into(),
            datacenter: "dc1".into(),
            status: "ready".into(),
            attributes: [("driver.raw_exec", "1"), ("kernel.name", "linux")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            resources: Some(caravan_core::model::Resources {
                cpu: 4000,
                memory_mb: 8192,
                disk_mb: 100_000,
                ..Default::default()
            }),
            ..Default::default()
        };
        node.compute_class();
        cluster
            .write(Command::UpsertNode {
                node: Box::new(node),
            })
            .await
            .expect("node");
        let broker = Arc::new(Broker::default());
        let (stop_tx, stop) = watch::channel(false);
        let feeder = tokio::spawn(run_broker(broker.clone(), effects, stop.clone()));
        let worker = tokio::spawn(run_worker(
            cluster.clone(),
            broker.clone(),
            Scheduler::Native,
            8,
            stop.clone(),
        ));
        // Registered together, so that their evaluations are in flight
        // together and plan on the same free capacity: of the first eight
        // plans the applier takes five, refuses the rest (the node is
        // full), and those runs retry on the new state and block.
        let registrations: Vec<_> = (0..12)
            .map(|i| {
                let cluster = cluster.clone();
                tokio::spawn(async move {
                    let job = cpu_job(&format!("job-{i:02}"), 700);
                    cluster
                        .write(Command::RegisterJob {
                            job: Box::new(job),
                            enforce_index: false,
                            job_modify_index: 0,
                            eval_id: format!("00000000-0000-4000-8000-{i:012}"),
                            now: 1,
                        })
                        .await
                })
            })
            .collect();
        for r in registrations {
            r.await.expect("task").expect("register");
        }
        // Settled: every registration's evaluation finished, and one
        // blocked evaluation for each job that found no room.
        // (A blocked evaluation names the one it follows.)
        let settled = |c: &Cluster| {
            let state = c.read();
            let registered = state.evals().filter(|e| e.previous_eval.is_empty());
            let blocked = state.evals().filter(|e| e.status == EVAL_STATUS_BLOCKED);
            registered.filter(|e| e.terminal()).count() == 12 && blocked.count() == 7
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !settled(&cluster) {
            assert!(
                std::time::Instant::now() < deadline,
                "the evaluations did not settle"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        {
            let state = cluster.read();
            let live: Vec<_> = state.allocs().filter(|a| !a.terminal()).cloned().collect();
            assert_eq!(live.len(), 5, "5 × 700 MHz fit in 4 000, 6 do not");
            let cpu: i64 = live
                .iter()
                .map(|a| a.resources.as_ref().map_or(0, |r| r.cpu))
                .sum();
            assert_eq!(cpu, 3500);
            let jobs: BTreeSet<&str> = live.iter().map(|a| a.job_id.as_str()).collect();
            assert_eq!(jobs.len(), 5, "one allocation per placed job");
            for e in state.evals().filter(|e| e.previous_eval.is_empty()) {
                assert_eq!(e.status, "complete", "{}", e.id);
            }
            // The blocked ones follow the evaluations of the jobs left out.
            let left_out: BTreeSet<&str> = state
                .evals()
                .filter(|e| e.status == EVAL_STATUS_BLOCKED)
                .map(|e| e.job_id.as_str())
                .collect();
            assert_eq!(left_out.len(), 7);
            assert!(left_out.is_disjoint(&jobs));
        }
        stop_tx.send(true).expect("stop");
        worker.await.expect("worker");
        feeder.await.expect("broker");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_panicking_run_is_described_by_its_message() {
        let text = tokio::spawn(async { panic!("overflow in {}", "cpu") })
            .await
            .unwrap_err();
        assert_eq!(panic_text(text), "the scheduler panicked: overflow in cpu");
        let text = tokio::spawn(async { std::panic::panic_any(7u8) })
            .await
            .unwrap_err();
        assert_eq!(panic_text(text), "the scheduler panicked: no message");
        let literal = tokio::spawn(async { panic!("plain") }).await.unwrap_err();
        assert_eq!(panic_text(literal), "the scheduler panicked: plain");
    }
}
