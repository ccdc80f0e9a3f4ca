//! The periodic launcher: launches children of tracked periodic jobs at the
//! times the core computes, one catch-up launch at most after downtime.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use caravan_core::periodic::next_launch;
use caravan_core::Command;
use tokio::sync::watch;

use crate::cluster::Cluster;
use crate::entropy;

/// How long to sleep when nothing is scheduled (a job change wakes it).
const IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

struct Tracked {
    /// The job's exact ID (the schedule is keyed by the lower-cased one).
    id: String,
    /// The job's `JobModifyIndex` the schedule was computed for.
    job_modify_index: u64,
    /// Unix ns of the next launch, if the spec matches again.
    next: Option<i64>,
}

/// Runs until shutdown.
pub async fn run(cluster: Arc<Cluster>, mut shutdown: watch::Receiver<bool>) {
    // Follow the changed jobs only: a scan of every job per write would
    // hold the state's read lock for a time that grows with the state.
    // Subscribed before the first scan so that no change slips between.
    let mut changes = cluster.job_changes();
    let mut schedule: HashMap<String, Tracked> = HashMap::new();
    catch_up(&cluster).await;
    refresh_all(&cluster, &mut schedule, entropy::now_ns());
    loop {
        let now = entropy::now_ns();
        let due: Vec<(String, String, i64)> = schedule
            .iter()
            .filter_map(|(key, t)| {
                t.next
                    .filter(|n| *n <= now)
                    .map(|n| (key.clone(), t.id.clone(), n))
            })
            .collect();
        for (key, id, at) in due {
            launch(&cluster, &id, at, false).await;
            if let Some(t) = schedule.get_mut(&key) {
                t.next = tracked_config(&cluster, &id).and_then(|c| next_launch(&c, at));
            }
        }
        let earliest = schedule.values().filter_map(|t| t.next).min();
        let sleep = match earliest {
            Some(at) => {
                std::time::Duration::from_nanos(at.saturating_sub(entropy::now_ns()).max(0) as u64)
            }
            None => IDLE,
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            batch = changes.recv() => {
                let Some(batch) = batch else { return };
                let mut keys: BTreeSet<String> = batch.iter().cloned().collect();
                while let Ok(more) = changes.try_recv() {
                    keys.extend(more.iter().cloned());
                }
                refresh_jobs(&cluster, &mut schedule, &keys, entropy::now_ns());
            }
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

fn tracked_config(cluster: &Cluster, id: &str) -> Option<caravan_core::model::PeriodicConfig> {
    let state = cluster.read();
    let job = state.job(id)?;
    if !job.is_periodic_tracked() {
        return None;
    }
    job.periodic.clone()
}

/// Schedules every tracked job (on start).
fn refresh_all(cluster: &Cluster, schedule: &mut HashMap<String, Tracked>, now: i64) {
    let keys: BTreeSet<String> = {
        let state = cluster.read();
        state
            .tracked_periodic_jobs()
            .map(|j| j.id.to_lowercase())
            .chain(schedule.keys().cloned())
            .collect()
    };
    refresh_jobs(cluster, schedule, &keys, now);
}

/// Brings the schedule of the jobs `keys` (lower-cased IDs) in line with
/// the state: new or changed tracked jobs get `next(now)`, jobs no longer
/// tracked are dropped.
fn refresh_jobs(
    cluster: &Cluster,
    schedule: &mut HashMap<String, Tracked>,
    keys: &BTreeSet<String>,
    now: i64,
) {
    let state = cluster.read();
    for key in keys {
        let Some(job) = state.job(key).filter(|j| j.is_periodic_tracked()) else {
            schedule.remove(key);
            continue;
        };
        let stale = schedule
            .get(key)
            .is_none_or(|t| t.job_modify_index != job.job_modify_index || t.id != job.id);
        if stale {
            let next = job.periodic.as_ref().and_then(|c| next_launch(c, now));
            schedule.insert(
                key.clone(),
                Tracked {
                    id: job.id.clone(),
                    job_modify_index: job.job_modify_index,
                    next,
                },
            );
        }
    }
}

/// On start: a job whose next launch after its last one has passed is
/// launched once, now.
async fn catch_up(cluster: &Cluster) {
    let now = entropy::now_ns();
    let overdue: Vec<String> = {
        let state = cluster.read();
        state
            .tracked_periodic_jobs()
            .filter(|job| {
                let last = state
                    .periodic_launch(&job.id)
                    .map_or(job.submit_time, |l| l.launch);
                job.periodic
                    .as_ref()
                    .and_then(|c| next_launch(c, last))
                    .is_some_and(|n| n < now)
            })
            .map(|j| j.id.clone())
            .collect()
    };
    for id in overdue {
        launch(cluster, &id, now, false).await;
    }
}

async fn launch(cluster: &Cluster, id: &str, at_ns: i64, force: bool) {
    let result = cluster
        .write(Command::PeriodicLaunch {
            job_id: id.to_string(),
            launch: at_ns.div_euclid(1_000_000_000),
            force,
            eval_id: entropy::uuid(),
            now: entropy::now_ns(),
        })
        .await;
    if let Err(e) = result {
        eprintln!("caravan: periodic launch of {id:?} failed: {e}");
    }
}
