//! What client nodes ask of the server (Nomad's `Node.*` RPCs), for the dev
//! node and simulated nodes in this process and for external nodes over
//! HTTP alike: register, status and heartbeats (a node that stops
//! heartbeating is marked down), the allocation watches and client
//! allocation updates.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caravan_core::model::{
    Evaluation, Node, EVAL_STATUS_PENDING, JOB_TYPE_SYSTEM, NODE_STATUS_DOWN, NODE_STATUS_INIT,
    NODE_STATUS_READY, TRIGGER_NODE_UPDATE,
};
use caravan_core::state::{AllocClientUpdate, Table};
use caravan_core::{ClusterState, Command};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::client::{BoxFuture, NodeAllocs, NodeRpc, NodeSet};
use crate::cluster::{Blocking, Cluster};
use crate::entropy;
use crate::watch::Topic;

/// How long a blocking allocation watch may wait at most (Nomad's
/// `MaxQueryTime`).
const MAX_WATCH: Duration = Duration::from_secs(300);

/// Heartbeat settings (Nomad's server `min_heartbeat_ttl`,
/// `max_heartbeats_per_second`, `heartbeat_grace` and the failover TTL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// The smallest TTL handed to a node (10 s).
    pub min_ttl: Duration,
    /// TTLs grow so that all nodes together heartbeat at most this often
    /// per second (50).
    pub max_per_second: u32,
    /// How long past its TTL a node may be late before it is marked down
    /// (10 s).
    pub grace: Duration,
    /// The TTL of nodes found in the state when the server starts, so that
    /// they can reconnect (5 minutes).
    pub failover_ttl: Duration,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig {
            min_ttl: Duration::from_secs(10),
            max_per_second: 50,
            grace: Duration::from_secs(10),
            failover_ttl: Duration::from_secs(300),
        }
    }
}

impl HeartbeatConfig {
    /// Applies `-min-heartbeat-ttl D` or `-heartbeat-grace D` (Go
    /// durations); `Ok(false)` for any other flag.
    pub fn set_flag(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let slot = match name {
            "min-heartbeat-ttl" => &mut self.min_ttl,
            "heartbeat-grace" => &mut self.grace,
            _ => return Ok(false),
        };
        *slot = caravan_core::gofmt::parse_duration(value)
            .and_then(|ns| u64::try_from(ns).ok())
            .map(Duration::from_nanos)
            .ok_or_else(|| format!("invalid -{name} {value:?}"))?;
        Ok(true)
    }

    /// Nomad's `RateScaledInterval`: the minimum TTL, or longer once `nodes`
    /// heartbeating every TTL would exceed the rate.
    fn scaled_ttl(&self, nodes: usize) -> Duration {
        let rate = f64::from(self.max_per_second.max(1));
        let scaled = Duration::from_secs_f64(nodes as f64 / rate);
        scaled.max(self.min_ttl)
    }
}

/// Per-node heartbeat deadlines: one timer task for every node, however
/// many there are.
pub struct Heartbeats {
    config: HeartbeatConfig,
    timers: Mutex<Timers>,
    wake: Notify,
}

#[derive(Default)]
struct Timers {
    /// Node ID → when it is marked down.
    deadline: HashMap<String, Instant>,
    /// The same deadlines in time order; entries a later reset replaced
    /// are skipped when they come up.
    queue: BinaryHeap<Reverse<(Instant, String)>>,
}

impl Heartbeats {
    pub fn new(config: HeartbeatConfig) -> Heartbeats {
        Heartbeats {
            config,
            timers: Mutex::new(Timers::default()),
            wake: Notify::new(),
        }
    }

    pub fn config(&self) -> &HeartbeatConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Nomad's `resetHeartbeatTimer`: the TTL (scaled by the node count,
    /// plus a random stagger of up to the TTL itself) the node must
    /// heartbeat within; it is marked down after TTL + grace.
    pub fn reset(&self, node_id: &str) -> Duration {
        let mut t = self.lock();
        let ttl = self.config.scaled_ttl(t.deadline.len());
        let stagger = match u64::try_from(ttl.as_nanos()) {
            Ok(0) | Err(_) => 0,
            Ok(span) => entropy::seed() % span,
        };
        let ttl = ttl + Duration::from_nanos(stagger);
        self.arm(&mut t, node_id, ttl + self.config.grace);
        ttl
    }

    /// Gives every node of `ids` the failover TTL (Nomad's
    /// `initializeHeartbeatTimers`, run when a server takes over).
    pub fn failover<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut t = self.lock();
        for id in ids {
            self.arm(&mut t, id, self.config.failover_ttl);
        }
    }

    fn arm(&self, t: &mut Timers, node_id: &str, after: Duration) {
        let at = Instant::now() + after;
        let earliest = t.queue.peek().map(|Reverse((i, _))| *i);
        t.deadline.insert(node_id.to_string(), at);
        t.queue.push(Reverse((at, node_id.to_string())));
        if earliest.is_none_or(|e| at < e) {
            self.wake.notify_one();
        }
    }

    /// Stops tracking a node (it is down, or gone).
    pub fn clear(&self, node_id: &str) {
        self.lock().deadline.remove(node_id);
    }

    /// Whether the node has a live timer.
    pub fn tracks(&self, node_id: &str) -> bool {
        self.lock().deadline.contains_key(node_id)
    }

    /// Removes and returns the nodes whose deadline passed by `now`, and
    /// when the next one is due.
    fn take_expired(&self, now: Instant) -> (Vec<String>, Option<Instant>) {
        let mut t = self.lock();
        let mut expired = Vec::new();
        while let Some(Reverse((at, _))) = t.queue.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, id))) = t.queue.pop() else {
                break;
            };
            if t.deadline.get(&id) == Some(&at) {
                t.deadline.remove(&id);
                expired.push(id);
            }
        }
        // Entries left behind by resets are dropped once they pile up.
        if t.queue.len() > 4 * t.deadline.len() + 1024 {
            let live: Vec<Reverse<(Instant, String)>> = t
                .deadline
                .iter()
                .map(|(id, at)| Reverse((*at, id.clone())))
                .collect();
            t.queue = live.into();
        }
        let next = t.queue.peek().map(|Reverse((at, _))| *at);
        (expired, next)
    }
}

/// What a node registration or status change returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeUpdate {
    /// The index of the write (or of the node, if nothing was written).
    pub index: u64,
    /// How soon the node must heartbeat again (zero once it is down).
    pub heartbeat_ttl: Duration,
}

/// The server side of [`NodeRpc`].
pub struct ServerRpc {
    pub cluster: Arc<Cluster>,
    pub heartbeats: Heartbeats,
}

/// Nomad creates evaluations when a node turns ready or down: one per job
/// with allocations there, plus one per system job.
fn needs_node_evals(old: Option<&str>, new: &str) -> bool {
    old != Some(new) && (new == NODE_STATUS_READY || new == NODE_STATUS_DOWN)
}

fn valid_status(status: &str) -> bool {
    matches!(
        status,
        NODE_STATUS_INIT | NODE_STATUS_READY | NODE_STATUS_DOWN
    )
}

fn node_evals(state: &ClusterState, node_id: &str, node_modify_index: u64) -> Vec<Evaluation> {
    let mut jobs: Vec<(String, i64, String)> = Vec::new();
    for a in state.allocs_by_node(node_id) {
        if let Some(job) = state.job(&a.job_id) {
            if !jobs.iter().any(|(id, _, _)| *id == job.id) {
                jobs.push((job.id.clone(), job.priority, job.job_type.clone()));
            }
        }
    }
    for job in state
        .jobs()
        .filter(|j| j.job_type == JOB_TYPE_SYSTEM && !j.stop)
    {
        if !jobs.iter().any(|(id, _, _)| *id == job.id) {
            jobs.push((job.id.clone(), job.priority, job.job_type.clone()));
        }
    }
    jobs.into_iter()
        .map(|(job_id, priority, job_type)| {
            let job_modify_index = state.job(&job_id).map_or(0, |j| j.job_modify_index);
            Evaluation {
                id: entropy::uuid(),
                priority,
                eval_type: job_type,
                triggered_by: TRIGGER_NODE_UPDATE.into(),
                job_id,
                job_modify_index,
                node_id: node_id.to_string(),
                node_modify_index,
                status: EVAL_STATUS_PENDING.into(),
                ..Default::default()
            }
        })
        .collect()
}

/// Allocations on `nodes` changed after `min_index` (all of them when it
/// is 0), with the allocations table index.
fn changed_allocs(state: &ClusterState, nodes: &NodeSet, min_index: u64) -> NodeAllocs {
    let index = allocs_index(state);
    if min_index > 0 && index <= min_index {
        return (index, Vec::new());
    }
    let allocs = state
        .allocs()
        .filter(|a| a.modify_index > min_index && nodes.contains(&a.node_id))
        .cloned()
        .collect();
    (index, allocs)
}

impl ServerRpc {
    pub fn new(cluster: Arc<Cluster>, heartbeats: HeartbeatConfig) -> ServerRpc {
        ServerRpc {
            cluster,
            heartbeats: Heartbeats::new(heartbeats),
        }
    }

    /// Writes the node evaluations a status transition calls for.
    async fn after_status_change(
        &self,
        node_id: &str,
        old: Option<String>,
        new: &str,
        index: u64,
    ) -> Result<u64, String> {
        if !needs_node_evals(old.as_deref(), new) {
            return Ok(index);
        }
        let evals = node_evals(&self.cluster.read(), node_id, index);
        if evals.is_empty() {
            return Ok(index);
        }
        let applied = self
            .cluster
            .write(Command::UpsertEvals { evals })
            .await
            .map_err(|e| e.to_string())?;
        Ok(applied.index)
    }

    /// The heartbeat TTL after a write that left the node in `status`.
    fn heartbeat_after(&self, node_id: &str, status: &str) -> Duration {
        if status == NODE_STATUS_DOWN {
            self.heartbeats.clear(node_id);
            Duration::ZERO
        } else {
            self.heartbeats.reset(node_id)
        }
    }

    /// Nomad's `Node.Register`: validates, writes, creates the node
    /// evaluations of a transition to ready or down, and (re)arms the
    /// node's heartbeat timer.
    pub async fn register_node(&self, mut node: Node) -> Result<NodeUpdate, String> {
        if node.id.is_empty() {
            return Err("missing node ID for client registration".into());
        }
        if node.datacenter.is_empty() {
            return Err("missing datacenter for client registration".into());
        }
        if node.name.is_empty() {
            return Err("missing node name for client registration".into());
        }
        if node.status.is_empty() {
            node.status = NODE_STATUS_INIT.into();
        }
        if !valid_status(&node.status) {
            return Err("invalid status for node".into());
        }
        let old = self.cluster.read().node(&node.id).map(|n| n.status.clone());
        let (id, status) = (node.id.clone(), node.status.clone());
        let applied = self
            .cluster
            .write(Command::UpsertNode {
                node: Box::new(node),
            })
            .await
            .map_err(|e| e.to_string())?;
        let index = self
            .after_status_change(&id, old, &status, applied.index)
            .await?;
        Ok(NodeUpdate {
            index,
            heartbeat_ttl: self.heartbeat_after(&id, &status),
        })
    }

    /// Nomad's `Node.UpdateStatus`, which is also the heartbeat: writes
    /// only when the status changes, and (re)arms the heartbeat timer
    /// unless the node is now down.
    pub async fn set_status(&self, node_id: String, status: String) -> Result<NodeUpdate, String> {
        if !valid_status(&status) {
            return Err("invalid status for node".into());
        }
        let (old, node_index) = match self.cluster.read().node(&node_id) {
            Some(n) => (n.status.clone(), n.modify_index),
            None => return Err("node not found".into()),
        };
        let index = if old == status {
            node_index
        } else {
            let applied = self
                .cluster
                .write(Command::UpdateNodeStatus {
                    node_id: node_id.clone(),
                    status: status.clone(),
                    now: entropy::now_ns().div_euclid(1_000_000_000),
                })
                .await
                .map_err(|e| e.to_string())?;
            self.after_status_change(&node_id, Some(old), &status, applied.index)
                .await?
        };
        Ok(NodeUpdate {
            index,
            heartbeat_ttl: self.heartbeat_after(&node_id, &status),
        })
    }

    /// Arms the failover TTL of every node the state holds that is not
    /// down: they were registered before this server started.
    pub fn restore_heartbeats(&self) {
        let state = self.cluster.read();
        let ids = state
            .nodes()
            .filter(|n| n.status != NODE_STATUS_DOWN)
            .map(|n| n.id.as_str());
        self.heartbeats.failover(ids);
    }

    /// Marks nodes down as their heartbeats expire, until `stop` turns
    /// true. Each expiry is Nomad's `invalidateHeartbeat`: a status update
    /// to `down`, whose node evaluations mark the node's allocations lost.
    pub async fn run_heartbeats(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let (expired, next) = self.heartbeats.take_expired(Instant::now());
            for id in expired {
                let rpc = self.clone();
                tokio::spawn(async move {
                    if let Err(e) = rpc.set_status(id.clone(), NODE_STATUS_DOWN.into()).await {
                        if e != "node not found" {
                            eprintln!("caravan: marking node {id} down failed: {e}");
                        }
                    }
                });
            }
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => {}
                _ = self.heartbeats.wake.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// The allocations of one node, as a blocking query on the allocations
    /// table.
    pub async fn node_allocs(&self, node_id: String, min_index: u64, wait_ms: u64) -> NodeAllocs {
        let blocking = Blocking {
            min_index,
            timeout: Duration::from_millis(wait_ms).min(MAX_WATCH),
            ..Default::default()
        };
        self.cluster
            .blocking(Topic::Table(Table::Allocs), blocking, |s| {
                (allocs_index(s), s.allocs_by_node(&node_id))
            })
            .await
    }

    /// The allocations of many nodes changed after `min_index`, as a
    /// blocking query on the allocations table: one waiter however many
    /// nodes it watches.
    pub async fn changed_allocs(&self, nodes: NodeSet, min_index: u64, wait_ms: u64) -> NodeAllocs {
        let blocking = Blocking {
            min_index,
            timeout: Duration::from_millis(wait_ms).min(MAX_WATCH),
            ..Default::default()
        };
        self.cluster
            .blocking(Topic::Table(Table::Allocs), blocking, |s| {
                changed_allocs(s, &nodes, min_index)
            })
            .await
    }

    pub async fn client_updates(&self, updates: Vec<AllocClientUpdate>) -> Result<u64, String> {
        let applied = self
            .cluster
            .write(Command::UpdateAllocsFromClient { updates })
            .await
            .map_err(|e| e.to_string())?;
        Ok(applied.index)
    }
}

/// The allocations table's index as a node's watch sees it: never 0, as
/// Nomad's blocking RPCs answer, or a watch of a table never written would
/// return at once, forever (a busy loop in an idle node).
fn allocs_index(s: &ClusterState) -> u64 {
    s.table_index(Table::Allocs).max(1)
}

impl NodeRpc for ServerRpc {
    fn register(&self, node: Node) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(async move { self.register_node(node).await.map(|u| u.index) })
    }

    fn update_status(&self, node_id: String, status: String) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(async move { self.set_status(node_id, status).await.map(|u| u.index) })
    }

    fn heartbeat(&self, node_id: String) -> BoxFuture<'_, Result<Duration, String>> {
        Box::pin(async move {
            self.set_status(node_id, NODE_STATUS_READY.into())
                .await
                .map(|u| u.heartbeat_ttl)
        })
    }

    fn allocs(
        &self,
        node_id: String,
        min_index: u64,
        wait_ms: u64,
    ) -> BoxFuture<'_, Result<NodeAllocs, String>> {
        Box::pin(async move { Ok(self.node_allocs(node_id, min_index, wait_ms).await) })
    }

    fn watch_allocs(
        &self,
        nodes: NodeSet,
        min_index: u64,
        wait_ms: u64,
    ) -> BoxFuture<'_, Result<NodeAllocs, String>> {
        Box::pin(async move { Ok(self.changed_allocs(nodes, min_index, wait_ms).await) })
    }

    fn update_allocs(&self, updates: Vec<AllocClientUpdate>) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(self.client_updates(updates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_node_watch_of_a_never_written_allocs_table_blocks() {
        let (cluster, _effects, dir) = crate::cluster::scratch_cluster("node-watch");
        let rpc = ServerRpc::new(cluster, HeartbeatConfig::default());
        // The first read answers at once, with index 1 (not 0) ...
        let (index, allocs) = rpc.node_allocs("n1".into(), 0, 1000).await;
        assert_eq!((index, allocs.len()), (1, 0));
        let (index, _) = rpc.changed_allocs(NodeSet::default(), 0, 1000).await;
        assert_eq!(index, 1);
        // ... so that the next one waits for a change instead of returning
        // at once forever (an idle dev node spun on this).
        let started = Instant::now();
        let (index, _) = rpc.node_allocs("n1".into(), index, 150).await;
        assert_eq!(index, 1);
        assert!(started.elapsed() >= Duration::from_millis(150));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ttl_scales_with_the_node_count() {
        let c = HeartbeatConfig::default();
        assert_eq!(c.scaled_ttl(0), Duration::from_secs(10));
        assert_eq!(c.scaled_ttl(500), Duration::from_secs(10));
        assert_eq!(c.scaled_ttl(10_000), Duration::from_secs(200));
    }

    #[tokio::test]
    async fn expired_nodes_come_out_once_and_resets_postpone_them() {
        let hb = Heartbeats::new(HeartbeatConfig {
            min_ttl: Duration::from_millis(20),
            grace: Duration::from_millis(10),
            ..HeartbeatConfig::default()
        });
        let ttl = hb.reset("a");
        assert!(ttl >= Duration::from_millis(20) && ttl < Duration::from_millis(40));
        hb.reset("b");
        let (expired, next) = hb.take_expired(Instant::now());
        assert!(expired.is_empty());
        assert!(next.is_some());
        let later = Instant::now() + Duration::from_millis(100);
        // "b" heartbeats again just before "a" expires.
        hb.arm(&mut hb.lock(), "b", Duration::from_millis(500));
        let (expired, _) = hb.take_expired(later);
        assert_eq!(expired, vec!["a".to_string()]);
        assert!(!hb.tracks("a"));
        assert!(hb.tracks("b"));
        let (expired, _) = hb.take_expired(later);
        assert!(expired.is_empty());
        hb.clear("b");
        let (expired, next) = hb.take_expired(later + Duration::from_secs(1));
        assert!(expired.is_empty());
        assert_eq!(next, None);
    }
}
