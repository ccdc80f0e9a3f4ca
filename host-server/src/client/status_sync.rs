//! Batching of allocation status reports to the server, like Nomad's
//! client `allocSync`: the latest state per allocation, sent in one call.
//!
//! The first change after a send opens a window of [`SYNC_WINDOW`];
//! everything pending when it closes goes out together. So the server never
//! sees a client change earlier than the window after it happened — as with
//! Nomad, a read right after a stop still shows the allocation running.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caravan_core::state::AllocClientUpdate;
use tokio::sync::{watch, Notify};

use super::NodeRpc;

/// Nomad's client syncs every 200 ms (`allocSyncIntv`), the server batches
/// client updates for another 50 ms, and its raw_exec executor takes a while
/// to report a killed task; the recorded scenarios read a stopped allocation
/// as still `running` ~200 ms after the stop. 300 ms keeps that margin.
pub(crate) const SYNC_WINDOW: Duration = Duration::from_millis(300);

/// Nomad's dev-mode retry interval after a failed report.
pub(crate) const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Pending reports, newest per allocation.
#[derive(Default)]
pub(crate) struct StatusSync {
    pending: Mutex<BTreeMap<String, AllocClientUpdate>>,
    notify: Notify,
}

impl StatusSync {
    /// Queues the current state of an allocation (replacing an older one).
    pub(crate) fn push(&self, update: AllocClientUpdate) {
        if let Ok(mut p) = self.pending.lock() {
            p.insert(update.alloc_id.clone(), update);
        }
        self.notify.notify_one();
    }

    fn take(&self) -> Vec<AllocClientUpdate> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p).into_values().collect())
            .unwrap_or_default()
    }

    /// Puts back reports that failed to send unless newer ones arrived.
    fn requeue(&self, batch: Vec<AllocClientUpdate>) {
        if let Ok(mut p) = self.pending.lock() {
            for u in batch {
                p.entry(u.alloc_id.clone()).or_insert(u);
            }
        }
    }

    /// Sends batches until `stop` turns true.
    pub(crate) async fn run(
        self: Arc<Self>,
        rpc: Arc<dyn NodeRpc>,
        window: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = self.notify.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(window) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if !self.send_pending(&rpc).await {
                self.notify.notify_one();
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_INTERVAL) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }

    /// Sends what is pending now; false if the server refused it.
    pub(crate) async fn send_pending(&self, rpc: &Arc<dyn NodeRpc>) -> bool {
        let batch = self.take();
        if batch.is_empty() {
            return true;
        }
        match rpc.update_allocs(batch.clone()).await {
            Ok(_) => true,
            Err(_) => {
                self.requeue(batch);
                false
            }
        }
    }
}
