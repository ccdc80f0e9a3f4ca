//! Staying registered: registration (status `initializing`, then `ready`)
//! retried until it works, and heartbeats at the TTL the server hands out,
//! re-registering when the server no longer knows the node.

use std::sync::Arc;
use std::time::Duration;

use caravan_core::model::NODE_STATUS_READY;
use caravan_core::Node;
use tokio::sync::watch;

use super::status_sync::RETRY_INTERVAL;
use super::NodeRpc;

/// Resolves once `shutdown` turns true or its sender is dropped (nobody can
/// keep the node alive any more).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// Registers the node and sets it `ready` — one attempt.
pub(crate) async fn register_once(rpc: &dyn NodeRpc, node: &Node) -> Result<(), String> {
    rpc.register(node.clone()).await?;
    rpc.update_status(node.id.clone(), NODE_STATUS_READY.into())
        .await?;
    Ok(())
}

/// Registers the node and sets it `ready`, retrying until it works; false
/// if shut down first.
pub(crate) async fn register(
    rpc: &Arc<dyn NodeRpc>,
    node: &Node,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    loop {
        if register_once(rpc.as_ref(), node).await.is_ok() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY_INTERVAL) => {}
            _ = stopped(shutdown) => return false,
        }
    }
}

/// What to do after a heartbeat: wait this long, re-registering first if
/// the server forgot the node.
pub(crate) fn after_heartbeat(result: &Result<Duration, String>) -> (bool, Duration) {
    match result {
        Ok(ttl) => (false, *ttl),
        Err(e) if e.contains("node not found") => (true, Duration::ZERO),
        Err(_) => (false, RETRY_INTERVAL),
    }
}

/// Heartbeats one node until shutdown: at once (as Nomad's dev-mode
/// client), then every TTL the server returns.
pub(crate) async fn keep_alive(
    rpc: Arc<dyn NodeRpc>,
    node: Arc<Node>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped(&mut shutdown) => return,
        }
        let result = tokio::select! {
            r = rpc.heartbeat(node.id.clone()) => r,
            _ = stopped(&mut shutdown) => return,
        };
        let (reregister, next) = after_heartbeat(&result);
        if reregister && !register(&rpc, &node, &mut shutdown).await {
            return;
        }
        wait = next;
    }
}
