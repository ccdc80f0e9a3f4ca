//! The periodic launcher: launches children of tracked periodic jobs at the
//! times the core computes, one catch-up launch at most after downtime.

use std::collections::HashMap;
use std::sync::Arc;

use caravan_core::periodic::next_launch;
use caravan_core::state::Table;
use caravan_core::Command;
use tokio::sync::watch;

use crate::cluster::Cluster;
use crate::entropy;
use crate::watch::Topic;

/// How long to sleep when nothing is scheduled (a job change wakes it).
const IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

struct Tracked {
    /// The job's `JobModifyIndex` the schedule was computed for.
    job_modify_index: u64,
    /// Unix ns of the next launch, if the spec matches again.
    next: Option<i64>,
}

/// Runs until shutdown.
pub async fn run(cluster: Arc<Cluster>, mut shutdown: watch::Receiver<bool>) {
    let mut changes = cluster.subscribe(&Topic::Table(Table::Jobs));
    let mut schedule: HashMap<String, Tracked> = HashMap::new();
    catch_up(&cluster).await;
    loop {
        let now = entropy::now_ns();
        refresh(&cluster, &mut schedule, now);
        let due: Vec<(String, i64)> = schedule
            .iter()
            .filter_map(|(id, t)| t.next.filter(|n| *n <= now).map(|n| (id.clone(), n)))
            .collect();
        for (id, at) in due {
            launch(&cluster, &id, at, false).await;
            if let Some(t) = schedule.get_mut(&id) {
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
            _ = changes.changed() => {}
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

/// Brings the schedule in line with the tracked jobs: new or changed jobs
/// get `next(now)`, untracked ones are dropped.
fn refresh(cluster: &Cluster, schedule: &mut HashMap<String, Tracked>, now: i64) {
    let state = cluster.read();
    let mut seen = Vec::new();
    for job in state.tracked_periodic_jobs() {
        seen.push(job.id.clone());
        let stale = schedule
            .get(&job.id)
            .is_none_or(|t| t.job_modify_index != job.job_modify_index);
        if stale {
            let next = job.periodic.as_ref().and_then(|c| next_launch(c, now));
            schedule.insert(
                job.id.clone(),
                Tracked {
                    job_modify_index: job.job_modify_index,
                    next,
                },
            );
        }
    }
    schedule.retain(|id, _| seen.contains(id));
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
