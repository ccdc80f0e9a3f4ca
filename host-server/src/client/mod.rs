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
    ) -> BoxFuture<'_, Result<(u64, Vec<Arc<Allocation>>), String>>;

    /// Reports client-side allocation status (batched).
    fn update_allocs(&self, updates: Vec<AllocClientUpdate>) -> BoxFuture<'_, Result<u64, String>>;
}
