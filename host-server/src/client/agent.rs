//! The dev node's main loop: fingerprint, register, mark ready, then follow
//! the node's allocations with blocking queries and keep one runner per
//! allocation until shutdown, when every task is killed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use caravan_core::Node;
use tokio::sync::watch;

use super::alloc_runner::{self, AllocRunnerHandle, RunnerMsg, SHUTDOWN_GRACE};
use super::heartbeat::{self, register, stopped};
use super::status_sync::{StatusSync, RETRY_INTERVAL};
use super::{fingerprint, stats, DevNodeConfig, NodeRpc, NodeTimings};

/// Runs until `shutdown` turns true (or its sender is dropped).
pub(crate) async fn run(
    rpc: Arc<dyn NodeRpc>,
    config: DevNodeConfig,
    timings: NodeTimings,
    mut shutdown: watch::Receiver<bool>,
) {
    let cfg = config.clone();
    let node = tokio::task::spawn_blocking(move || {
        // The alloc dir exists from the start so its volume can be measured.
        let _ = std::fs::create_dir_all(cfg.data_dir.join("alloc"));
        let id = fingerprint::node_id(&cfg.data_dir)
            .or_else(|_| fingerprint::random_uuid())
            .unwrap_or_default();
        fingerprint::fingerprint(&cfg, &id)
    })
    .await;
    let Ok(node) = node else {
        return;
    };
    let node = Arc::new(node);
    stats::set_alloc_dir(config.data_dir.join("alloc"));

    if !register(&rpc, &node, &mut shutdown).await {
        return;
    }

    let beats = tokio::spawn(heartbeat::keep_alive(
        rpc.clone(),
        node.clone(),
        shutdown.clone(),
    ));
    let sync = Arc::new(StatusSync::default());
    let (stop_sync, sync_stopped) = watch::channel(false);
    let syncer = tokio::spawn(
        sync.clone()
            .run(rpc.clone(), timings.sync_window, sync_stopped),
    );

    let mut runners: BTreeMap<String, AllocRunnerHandle> = BTreeMap::new();
    let mut min_index = 0u64;
    loop {
        let res = tokio::select! {
            r = rpc.allocs(node.id.clone(), min_index, timings.watch_wait_ms) => r,
            _ = stopped(&mut shutdown) => break,
        };
        match res {
            Ok((index, allocs)) => {
                reconcile(&mut runners, allocs, &node, &config, &sync);
                min_index = min_index.max(index);
            }
            Err(e) => {
                if e.contains("node not found") && !register(&rpc, &node, &mut shutdown).await {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_INTERVAL) => {}
                    _ = stopped(&mut shutdown) => break,
                }
            }
        }
    }

    // What happened before the shutdown is reported (best effort); the
    // kills below are not, as with Nomad's dev agent, whose client stops
    // syncing as it destroys its allocations. The server's state therefore
    // still wants those allocations running, and a node started again on
    // the same data dir runs them again.
    let _ = stop_sync.send(true);
    let _ = syncer.await;
    let _ = beats.await;
    let _ = tokio::time::timeout(Duration::from_secs(1), sync.send_pending(&rpc)).await;

    // Nomad's dev agent kills every task on exit.
    for r in runners.values() {
        let _ = r.tx.send(RunnerMsg::Shutdown);
    }
    for (_, r) in std::mem::take(&mut runners) {
        let abort = r.join.abort_handle();
        if tokio::time::timeout(SHUTDOWN_GRACE, r.join).await.is_err() {
            abort.abort();
        }
    }
}

/// Nomad's `runAllocs`: new allocations get a runner, allocations the
/// server changed (higher `AllocModifyIndex`, so not our own reports) are
/// passed on, and allocations the server no longer lists are removed.
fn reconcile(
    runners: &mut BTreeMap<String, AllocRunnerHandle>,
    allocs: Vec<Arc<caravan_core::model::Allocation>>,
    node: &Arc<Node>,
    config: &DevNodeConfig,
    sync: &Arc<StatusSync>,
) {
    let mut seen = std::collections::BTreeSet::new();
    for alloc in allocs {
        if alloc.node_id != node.id {
            continue;
        }
        seen.insert(alloc.id.clone());
        match runners.get_mut(&alloc.id) {
            None => {
                let h = alloc_runner::spawn(
                    alloc.clone(),
                    node.clone(),
                    &config.data_dir,
                    sync.clone(),
                );
                runners.insert(alloc.id.clone(), h);
            }
            Some(h)
                if alloc.alloc_modify_index > h.alloc_modify_index
                    || alloc.desired_status != h.desired_status =>
            {
                h.alloc_modify_index = alloc.alloc_modify_index;
                h.desired_status = alloc.desired_status.clone();
                let _ = h.tx.send(RunnerMsg::Update(alloc));
            }
            Some(_) => {}
        }
    }
    let gone: Vec<String> = runners
        .keys()
        .filter(|id| !seen.contains(*id))
        .cloned()
        .collect();
    for id in gone {
        if let Some(h) = runners.remove(&id) {
            let _ = h.tx.send(RunnerMsg::Remove);
            // The runner finishes on its own; nothing waits for it.
            drop(h.join);
        }
    }
}
