//! Client nodes in this process: the dev node (this machine, fingerprinted
//! for real, running `raw_exec` tasks) and simulated nodes (any number,
//! executing nothing). They talk to the server only through [`NodeRpc`],
//! the same path external nodes use.

mod agent;
mod alloc_runner;
mod alloc_state;
mod clock;
mod fingerprint;
mod health;
mod heartbeat;
mod raw_exec;
mod restarts;
mod sim;
mod stats;
mod status_sync;
mod task_runner;
mod taskenv;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use caravan_core::model::Allocation;
use caravan_core::state::AllocClientUpdate;
use caravan_core::Node;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A node's allocations with the allocations-table index they were read at.
pub type NodeAllocs = (u64, Vec<Arc<Allocation>>);

/// The IDs of the nodes an allocation watch covers.
pub type NodeSet = Arc<std::collections::HashSet<String>>;

/// The heartbeat TTL a server that does not hand one out is assumed to
/// use (Nomad's minimum).
pub const DEFAULT_HEARTBEAT_TTL: Duration = Duration::from_secs(10);

pub use sim::{generate_sim_nodes, load_sim_spec, run_sim_nodes, SimNodes, SimOptions};

/// What a client node may ask of the server (Nomad's `Node.*` RPCs).
pub trait NodeRpc: Send + Sync + 'static {
    /// Registers (or re-registers) the node; returns the write index.
    fn register(&self, node: Node) -> BoxFuture<'_, Result<u64, String>>;

    /// Sets the node's status (`initializing`, `ready`, `down`).
    fn update_status(&self, node_id: String, status: String) -> BoxFuture<'_, Result<u64, String>>;

    /// Tells the server the node is alive (Nomad's heartbeat: a status
    /// update to `ready`); returns how soon the next heartbeat is due. A
    /// node that misses it (plus the server's grace) is marked down.
    fn heartbeat(&self, node_id: String) -> BoxFuture<'_, Result<Duration, String>> {
        Box::pin(async move {
            self.update_status(node_id, caravan_core::model::NODE_STATUS_READY.into())
                .await
                .map(|_| DEFAULT_HEARTBEAT_TTL)
        })
    }

    /// The node's allocations once the allocations table index exceeds
    /// `min_index`, or after `wait_ms` (a blocking query). Returns the table
    /// index with the list.
    fn allocs(
        &self,
        node_id: String,
        min_index: u64,
        wait_ms: u64,
    ) -> BoxFuture<'_, Result<NodeAllocs, String>>;

    /// The allocations of any of `nodes` changed after `min_index` (all of
    /// them when it is 0), once the allocations table index exceeds
    /// `min_index` or after `wait_ms`: one blocking query for many nodes.
    /// Returns the table index with the list.
    fn watch_allocs(
        &self,
        nodes: NodeSet,
        min_index: u64,
        wait_ms: u64,
    ) -> BoxFuture<'_, Result<NodeAllocs, String>> {
        let _ = (nodes, min_index, wait_ms);
        Box::pin(async { Err("this server cannot watch many nodes at once".to_string()) })
    }

    /// Reports client-side allocation status (batched).
    fn update_allocs(&self, updates: Vec<AllocClientUpdate>) -> BoxFuture<'_, Result<u64, String>>;
}

/// Settings of the dev node.
#[derive(Debug, Clone)]
pub struct DevNodeConfig {
    /// Datacenter of the node (`-dc`, default `dc1`).
    pub datacenter: String,
    /// The agent's HTTP address, reported as the node's `HTTPAddr`.
    pub http_addr: String,
    /// Where allocation directories live (`<data-dir>/alloc`).
    pub data_dir: std::path::PathBuf,
}

/// Timings of the dev node. The defaults are Nomad's; tests may shorten
/// the blocking-query wait.
#[derive(Debug, Clone)]
pub struct NodeTimings {
    /// How long a client change waits before it is reported, batched with
    /// others (300 ms: Nomad's 200 ms `allocSyncIntv` plus its server-side
    /// batching and kill latency).
    pub sync_window: Duration,
    /// The wait of the allocation watch's blocking query (Nomad's default
    /// maximum, 5 minutes).
    pub watch_wait_ms: u64,
}

impl Default for NodeTimings {
    fn default() -> Self {
        NodeTimings {
            sync_window: status_sync::SYNC_WINDOW,
            watch_wait_ms: 300_000,
        }
    }
}

/// Fingerprints this machine and runs the dev node — registration,
/// allocation watching, `raw_exec` tasks, status reports — until
/// `shutdown` becomes true (or its sender is dropped). On shutdown every
/// task is killed (SIGINT, SIGKILL after its kill timeout) before this
/// returns, as Nomad's dev agent does.
pub async fn run_dev_node(
    rpc: Arc<dyn NodeRpc>,
    config: DevNodeConfig,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    agent::run(rpc, config, NodeTimings::default(), shutdown).await;
}

/// [`run_dev_node`] with explicit timings.
pub async fn run_dev_node_with(
    rpc: Arc<dyn NodeRpc>,
    config: DevNodeConfig,
    timings: NodeTimings,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    agent::run(rpc, config, timings, shutdown).await;
}

/// `GET /v1/client/stats` of the dev node (Nomad's `HostStats`: `Memory`,
/// `CPU`, `DiskStats`, `AllocDirStats`, `Uptime`, `Timestamp`,
/// `CPUTicksConsumed`). CPU percentages cover the time since the previous
/// call.
pub fn host_stats() -> serde_json::Value {
    stats::host_stats()
}

/// `GET /v1/client/allocation/<id>/stats` (Nomad's `AllocResourceUsage`:
/// `ResourceUsage`, `Tasks`, `Timestamp`), or `None` if the dev node does
/// not know that allocation. Running tasks are measured over their whole
/// process group.
pub fn alloc_stats(alloc_id: &str) -> Option<serde_json::Value> {
    stats::alloc_stats(alloc_id)
}

/// The node record this machine would register with (fingerprinted now;
/// the ID is the one kept under `config.data_dir`).
pub fn fingerprint_node(config: &DevNodeConfig) -> std::io::Result<Node> {
    let id = fingerprint::node_id(&config.data_dir)?;
    Ok(fingerprint::fingerprint(config, &id))
}
