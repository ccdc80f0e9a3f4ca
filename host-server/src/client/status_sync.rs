//! Batching of allocation status reports to the server, like Nomad's
//! client `allocSync`: the latest state per allocation, sent in one call.
//!
//! Each change is reported once [`SYNC_WINDOW`] has passed since it
//! happened, together with every other report due within a few tens of
//! milliseconds. So the server never sees a client change much earlier than
//! the window after it happened — as with Nomad, a read right after a stop
//! still shows the allocation running.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// Reports whose windows close within this much of each other go out in
/// one batch.
const BATCH_SLACK: Duration = Duration::from_millis(40);

/// Pending reports, newest per allocation, each with when it changed.
#[derive(Default)]
pub(crate) struct StatusSync {
    pending: Mutex<BTreeMap<String, (AllocClientUpdate, Instant)>>,
    notify: Notify,
}

impl StatusSync {
    /// Queues the current state of an allocation (replacing an older one;
    /// its window restarts, so no state is seen before the window passed).
    pub(crate) fn push(&self, update: AllocClientUpdate) {
        if let Ok(mut p) = self.pending.lock() {
            p.insert(update.alloc_id.clone(), (update, Instant::now()));
        }
        self.notify.notify_one();
    }

    /// Removes and returns every report whose window closes by `due`.
    fn take_due(&self, window: Duration, due: Instant) -> Vec<AllocClientUpdate> {
        let Ok(mut p) = self.pending.lock() else {
            return Vec::new();
        };
        let ready: Vec<String> = p
            .iter()
            .filter(|(_, (_, at))| *at + window <= due)
            .map(|(id, _)| id.clone())
            .collect();
        ready
            .into_iter()
            .filter_map(|id| p.remove(&id).map(|(u, _)| u))
            .collect()
    }

    /// When the earliest pending window closes.
    fn next_close(&self, window: Duration) -> Option<Instant> {
        let p = self.pending.lock().ok()?;
        p.values().map(|(_, at)| *at + window).min()
    }

    /// Puts back reports that failed to send unless newer ones arrived;
    /// they are due at once.
    fn requeue(&self, batch: Vec<AllocClientUpdate>, window: Duration) {
        if let Ok(mut p) = self.pending.lock() {
            let due = Instant::now()
                .checked_sub(window)
                .unwrap_or_else(Instant::now);
            for u in batch {
                p.entry(u.alloc_id.clone()).or_insert((u, due));
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
            let Some(close) = self.next_close(window) else {
                tokio::select! {
                    _ = self.notify.notified() => continue,
                    _ = stop.wait_for(|s| *s) => return,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep_until(close.into()) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let batch = self.take_due(window, Instant::now() + BATCH_SLACK);
            if batch.is_empty() {
                continue;
            }
            if rpc.update_allocs(batch.clone()).await.is_err() {
                self.requeue(batch, window);
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_INTERVAL) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }

    /// Sends what is pending now; false if the server refused it.
    pub(crate) async fn send_pending(&self, rpc: &Arc<dyn NodeRpc>) -> bool {
        let batch: Vec<AllocClientUpdate> = self
            .pending
            .lock()
            .map(|mut p| {
                std::mem::take(&mut *p)
                    .into_values()
                    .map(|(u, _)| u)
                    .collect()
            })
            .unwrap_or_default();
        if batch.is_empty() {
            return true;
        }
        match rpc.update_allocs(batch.clone()).await {
            Ok(_) => true,
            Err(_) => {
                self.requeue(batch, Duration::ZERO);
                false
            }
        }
    }
}
