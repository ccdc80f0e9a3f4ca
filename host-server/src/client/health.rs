//! Deployment health of an allocation as Nomad v0.6.3's client judges it
//! without Consul: healthy once every task has run `min_healthy_time`,
//! unhealthy when a task fails or finishes, or at `healthy_deadline`.

use std::sync::Arc;
use std::time::Duration;

use caravan_core::gofmt;
use caravan_core::model::{
    Allocation, TaskEvent, ALLOC_CLIENT_FAILED, ALLOC_DESIRED_EVICT, ALLOC_DESIRED_STOP,
    GO_ZERO_TIME,
};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::alloc_state::{event, AllocState, EVENT_GENERIC, TASK_STATE_RUNNING};

const EVENT_SOURCE: &str = "Alloc Unhealthy";

fn nanos(d: i64) -> Duration {
    Duration::from_nanos(u64::try_from(d).unwrap_or(0))
}

/// Starts watching when the allocation belongs to a deployment whose group
/// asks for health (`health_check` other than `manual`).
pub(crate) fn watch(state: &Arc<AllocState>, alloc: &Allocation) -> Option<JoinHandle<()>> {
    if alloc.deployment_id.is_empty()
        || alloc
            .deployment_status
            .as_ref()
            .is_some_and(|d| d.healthy.is_some())
    {
        return None;
    }
    let job = alloc.job.as_ref()?;
    let tg = job
        .task_groups
        .iter()
        .find(|g| g.name == alloc.task_group)?;
    let update = tg.update.clone()?;
    if update.health_check == "manual" {
        return None;
    }
    // Checks can only pass through Consul, which the dev node does not have.
    let needs_checks = update.health_check == "checks"
        && tg
            .tasks
            .iter()
            .any(|t| t.services.iter().any(|s| !s.checks.is_empty()));
    let min_healthy = nanos(update.min_healthy_time);
    let deadline = Instant::now() + nanos(update.healthy_deadline);
    let state = state.clone();
    let mut changes = state.subscribe();
    Some(tokio::spawn(async move {
        let mut all_running_since: Option<Instant> = None;
        loop {
            let alloc = state.alloc();
            if matches!(
                alloc.desired_status.as_str(),
                ALLOC_DESIRED_STOP | ALLOC_DESIRED_EVICT
            ) {
                return;
            }
            let cur = state.current();
            let ended = cur
                .task_states
                .values()
                .any(|s| s.failed || s.finished_at != GO_ZERO_TIME);
            if ended || cur.client_status == ALLOC_CLIENT_FAILED {
                state.set_health(false);
                return;
            }
            let all_running = !cur.task_states.is_empty()
                && cur
                    .task_states
                    .values()
                    .all(|s| s.state == TASK_STATE_RUNNING);
            all_running_since = match (all_running, all_running_since) {
                (false, _) => None,
                (true, None) => Some(Instant::now()),
                (true, since) => since,
            };
            let healthy_at = all_running_since
                .filter(|_| !needs_checks)
                .map(|s| s + min_healthy);
            if healthy_at.is_some_and(|at| at <= Instant::now()) {
                state.set_health(true);
                return;
            }
            if Instant::now() >= deadline {
                for (task, msg) in unhealthy_reasons(&state, needs_checks, min_healthy) {
                    let ev = TaskEvent {
                        generic_source: EVENT_SOURCE.into(),
                        message: msg,
                        ..event(EVENT_GENERIC)
                    };
                    state.set_task_state(&task, None, Some(ev), false);
                }
                state.set_health(false);
                return;
            }
            let wake = healthy_at.map_or(deadline, |at| at.min(deadline));
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }))
}

/// Nomad's per-task explanation of a missed deadline.
fn unhealthy_reasons(
    state: &AllocState,
    needs_checks: bool,
    min_healthy: Duration,
) -> Vec<(String, String)> {
    state
        .current()
        .task_states
        .iter()
        .map(|(task, s)| {
            let msg = if s.failed {
                "Unhealthy because of failed task".to_string()
            } else if s.state != TASK_STATE_RUNNING {
                "Task not running by deadline".to_string()
            } else if !needs_checks {
                format!(
                    "Task not running for min_healthy_time of {} by deadline",
                    gofmt::duration(i64::try_from(min_healthy.as_nanos()).unwrap_or(i64::MAX))
                )
            } else {
                "Service checks not registered".to_string()
            };
            (task.clone(), msg)
        })
        .collect()
}
