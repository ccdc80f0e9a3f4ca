//! The dev node: this machine, fingerprinted for real, running `raw_exec`
//! tasks. It talks to the server only through [`NodeRpc`], the same path
//! external nodes use.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use caravan_core::model::Allocation;
use caravan_core::state::AllocClientUpdate;
use caravan_core::Node;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A node's allocations with the allocations-table index they were read at.
pub type NodeAllocs = (u64, Vec<Arc<Allocation>>);

/// What a client node may ask of the server (Nomad's `Node.*` RPCs).
pub trait NodeRpc: Send + Sync + 'static {
    /// Registers (or re-registers) the node; returns the write index.
    fn register(&self, node: Node) -> BoxFuture<'_, Result<u64, String>>;

    /// Sets the node's status (`initializing`, `ready`, `down`).
    fn update_status(&self, node_id: String, status: String) -> BoxFuture<'_, Result<u64, String>>;

    /// The node's allocations once the allocations table index exceeds
    /// `min_index`, or after `wait_ms` (a blocking query). Returns the table
    /// index with the list.
    fn allocs(
        &self,
        node_id: String,
        min_index: u64,
        wait_ms: u64,
    ) -> BoxFuture<'_, Result<NodeAllocs, String>>;

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

/// Fingerprints this machine and runs the dev node — registration,
/// allocation watching, `raw_exec` tasks, status reports — until
/// `shutdown` becomes true. PLACEHOLDER until the dev node lands.
pub async fn run_dev_node(
    rpc: Arc<dyn NodeRpc>,
    config: DevNodeConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let _ = (rpc, config);
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
}

/// `GET /v1/client/stats` of the dev node (Nomad's `HostStats`).
/// PLACEHOLDER until the dev node lands.
pub fn host_stats() -> serde_json::Value {
    serde_json::json!({})
}

/// `GET /v1/client/allocation/<id>/stats` (Nomad's `AllocResourceUsage`),
/// or `None` if the dev node does not run that allocation. PLACEHOLDER.
pub fn alloc_stats(alloc_id: &str) -> Option<serde_json::Value> {
    let _ = alloc_id;
    None
}
