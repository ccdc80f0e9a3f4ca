//! One allocation's client-side state as Nomad v0.6.3's alloc runner keeps
//! it: task states and their events, the client status derived from them,
//! deployment health, and the destroy switches of its tasks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use caravan_core::model::{
    AllocDeploymentStatus, Allocation, TaskEvent, TaskState, ALLOC_CLIENT_COMPLETE,
    ALLOC_CLIENT_FAILED, ALLOC_CLIENT_PENDING, ALLOC_CLIENT_RUNNING,
};
use caravan_core::state::AllocClientUpdate;
use tokio::sync::watch;

use super::clock;
use super::status_sync::StatusSync;

pub(crate) const TASK_STATE_PENDING: &str = "pending";
pub(crate) const TASK_STATE_RUNNING: &str = "running";
pub(crate) const TASK_STATE_DEAD: &str = "dead";

pub(crate) const EVENT_RECEIVED: &str = "Received";
pub(crate) const EVENT_TASK_SETUP: &str = "Task Setup";
pub(crate) const EVENT_STARTED: &str = "Started";
pub(crate) const EVENT_TERMINATED: &str = "Terminated";
pub(crate) const EVENT_KILLING: &str = "Killing";
pub(crate) const EVENT_KILLED: &str = "Killed";
pub(crate) const EVENT_RESTARTING: &str = "Restarting";
pub(crate) const EVENT_NOT_RESTARTING: &str = "Not Restarting";
pub(crate) const EVENT_SETUP_FAILURE: &str = "Setup Failure";
pub(crate) const EVENT_DRIVER_FAILURE: &str = "Driver Failure";
pub(crate) const EVENT_DOWNLOADING_ARTIFACTS: &str = "Downloading Artifacts";
pub(crate) const EVENT_ARTIFACT_DOWNLOAD_FAILED: &str = "Failed Artifact Download";
pub(crate) const EVENT_SIBLING_FAILED: &str = "Sibling Task Failed";
pub(crate) const EVENT_LEADER_DEAD: &str = "Leader Task Dead";
pub(crate) const EVENT_GENERIC: &str = "Generic";
pub(crate) const MESSAGE_BUILDING_TASK_DIR: &str = "Building Task Directory";

/// Nomad keeps the last ten events of a task.
const MAX_EVENTS: usize = 10;

/// A task event stamped now, every other field empty.
pub(crate) fn event(kind: &str) -> TaskEvent {
    TaskEvent {
        event_type: kind.to_string(),
        time: clock::now_ns(),
        ..TaskEvent::default()
    }
}

/// Asks a task to stop; the first request wins and carries its event.
pub(crate) type DestroySwitch = watch::Sender<Option<TaskEvent>>;

pub(crate) fn destroy(switch: &DestroySwitch, ev: TaskEvent) {
    switch.send_if_modified(|cur| {
        if cur.is_some() {
            return false;
        }
        *cur = Some(ev);
        true
    });
}

struct TaskControl {
    leader: bool,
    destroy: DestroySwitch,
}

struct Inner {
    alloc: Arc<Allocation>,
    /// Set when the runner decides the status itself (failures before any
    /// task ran, cancelled allocations).
    explicit_status: Option<(String, String)>,
    task_states: BTreeMap<String, TaskState>,
    tasks: BTreeMap<String, TaskControl>,
    health: Option<bool>,
}

/// Shared by an allocation's runner and its task runners.
pub(crate) struct AllocState {
    inner: Mutex<Inner>,
    sync: Arc<StatusSync>,
    /// Bumped on every state change (the health watcher listens).
    changed: watch::Sender<u64>,
}

impl AllocState {
    pub(crate) fn new(alloc: Arc<Allocation>, sync: Arc<StatusSync>) -> Arc<AllocState> {
        let task_states = alloc.task_states.clone();
        Arc::new(AllocState {
            inner: Mutex::new(Inner {
                alloc,
                explicit_status: None,
                task_states,
                tasks: BTreeMap::new(),
                health: None,
            }),
            sync,
            changed: watch::channel(0).0,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A task runner that panicked must not take the whole node down.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn alloc(&self) -> Arc<Allocation> {
        self.lock().alloc.clone()
    }

    pub(crate) fn set_alloc(&self, alloc: Arc<Allocation>) {
        self.lock().alloc = alloc;
    }

    pub(crate) fn add_task(&self, name: &str, leader: bool, destroy: DestroySwitch) {
        self.lock()
            .tasks
            .insert(name.to_string(), TaskControl { leader, destroy });
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Nomad's `setTaskState`: appends the event, moves the task to `state`
    /// (`None` keeps the current one) and reports — unless `lazy`, in which
    /// case only the event is recorded and reported with the next change.
    pub(crate) fn set_task_state(
        &self,
        task: &str,
        state: Option<&str>,
        ev: Option<TaskEvent>,
        lazy: bool,
    ) {
        let mut g = self.lock();
        let ts = g.task_states.entry(task.to_string()).or_default();
        if let Some(ev) = ev {
            if ev.fails_task {
                ts.failed = true;
            }
            if ev.event_type == EVENT_RESTARTING {
                ts.restarts += 1;
                ts.last_restart = clock::rfc3339_nano(ev.time);
            }
            if ts.events.len() >= MAX_EVENTS {
                ts.events.remove(0);
            }
            ts.events.push(ev);
        }
        if lazy {
            return;
        }
        let state = match state {
            Some(s) => s.to_string(),
            None if ts.state.is_empty() => TASK_STATE_PENDING.to_string(),
            None => ts.state.clone(),
        };
        let mut to_destroy = Vec::new();
        if state == TASK_STATE_RUNNING && ts.state != TASK_STATE_RUNNING {
            ts.started_at = clock::rfc3339_nano(clock::now_ns());
        } else if state == TASK_STATE_DEAD {
            if ts.started_at != caravan_core::model::GO_ZERO_TIME {
                ts.finished_at = clock::rfc3339_nano(clock::now_ns());
            }
            // A failed task takes its siblings down; so does a dead leader.
            let failed = ts.failed;
            let leader = g.tasks.get(task).is_some_and(|t| t.leader);
            if failed || leader {
                let ev = if failed {
                    TaskEvent {
                        failed_sibling: task.to_string(),
                        ..event(EVENT_SIBLING_FAILED)
                    }
                } else {
                    event(EVENT_LEADER_DEAD)
                };
                for (name, t) in &g.tasks {
                    if name != task {
                        to_destroy.push((t.destroy.clone(), ev.clone()));
                    }
                }
            }
        }
        if let Some(ts) = g.task_states.get_mut(task) {
            ts.state = state;
        }
        let update = snapshot(&g);
        drop(g);
        for (switch, ev) in to_destroy {
            destroy(&switch, ev);
        }
        self.report(update);
    }

    /// Sets the allocation's client status explicitly and reports it.
    pub(crate) fn set_status(&self, status: &str, description: &str) {
        let update = {
            let mut g = self.lock();
            g.explicit_status = Some((status.to_string(), description.to_string()));
            snapshot(&g)
        };
        self.report(update);
    }

    pub(crate) fn set_health(&self, healthy: bool) {
        let update = {
            let mut g = self.lock();
            g.health = Some(healthy);
            snapshot(&g)
        };
        self.report(update);
    }

    /// Reports the current state (Nomad's `syncStatus`).
    pub(crate) fn sync(&self) {
        let update = snapshot(&self.lock());
        self.report(update);
    }

    /// The state as it would be reported now.
    pub(crate) fn current(&self) -> AllocClientUpdate {
        snapshot(&self.lock())
    }

    fn report(&self, update: AllocClientUpdate) {
        self.sync.push(update);
        self.changed.send_modify(|v| *v += 1);
    }
}

/// Nomad's `AllocRunner.Alloc()` reduced to what a client reports.
fn snapshot(g: &Inner) -> AllocClientUpdate {
    let (status, description) = match &g.explicit_status {
        Some((s, d)) => (s.clone(), d.clone()),
        None => (client_status(&g.task_states), String::new()),
    };
    let mut deployment_status = g.alloc.deployment_status.clone();
    if g.explicit_status.is_none() {
        if let Some(h) = g.health {
            let ds = deployment_status.get_or_insert_with(AllocDeploymentStatus::default);
            ds.healthy = Some(h);
        }
        let unhealthy = deployment_status
            .as_ref()
            .is_some_and(|d| d.healthy == Some(false));
        if status == ALLOC_CLIENT_FAILED && !g.alloc.deployment_id.is_empty() && !unhealthy {
            deployment_status = Some(AllocDeploymentStatus {
                healthy: Some(false),
                modify_index: 0,
            });
        }
    }
    AllocClientUpdate {
        alloc_id: g.alloc.id.clone(),
        client_status: status,
        client_description: description,
        task_states: g.task_states.clone(),
        deployment_status,
    }
}

/// Nomad's `getClientStatus`: failed beats running beats pending beats
/// complete.
fn client_status(states: &BTreeMap<String, TaskState>) -> String {
    let mut running = false;
    let mut pending = false;
    let mut failed = false;
    let mut dead = false;
    for s in states.values() {
        match s.state.as_str() {
            TASK_STATE_RUNNING => running = true,
            TASK_STATE_PENDING => pending = true,
            TASK_STATE_DEAD if s.failed => failed = true,
            TASK_STATE_DEAD => dead = true,
            _ => {}
        }
    }
    let status = if failed {
        ALLOC_CLIENT_FAILED
    } else if running {
        ALLOC_CLIENT_RUNNING
    } else if pending || !dead {
        ALLOC_CLIENT_PENDING
    } else {
        ALLOC_CLIENT_COMPLETE
    };
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(s: &str, failed: bool) -> TaskState {
        TaskState {
            state: s.into(),
            failed,
            ..TaskState::default()
        }
    }

    #[test]
    fn client_status_precedence() {
        let m = |v: Vec<(&str, TaskState)>| -> BTreeMap<String, TaskState> {
            v.into_iter().map(|(k, s)| (k.to_string(), s)).collect()
        };
        assert_eq!(
            client_status(&m(vec![
                ("a", state("dead", true)),
                ("b", state("running", false))
            ])),
            "failed"
        );
        assert_eq!(
            client_status(&m(vec![
                ("a", state("dead", false)),
                ("b", state("running", false))
            ])),
            "running"
        );
        assert_eq!(
            client_status(&m(vec![
                ("a", state("dead", false)),
                ("b", state("pending", false))
            ])),
            "pending"
        );
        assert_eq!(
            client_status(&m(vec![("a", state("dead", false))])),
            "complete"
        );
    }

    #[test]
    fn events_keep_the_last_ten_and_count_restarts() {
        let sync = Arc::new(StatusSync::default());
        let alloc = Arc::new(Allocation {
            id: "a1".into(),
            ..Allocation::default()
        });
        let st = AllocState::new(alloc, sync);
        for _ in 0..12 {
            st.set_task_state(
                "t",
                Some(TASK_STATE_PENDING),
                Some(event(EVENT_RESTARTING)),
                false,
            );
        }
        let cur = st.current();
        let ts = &cur.task_states["t"];
        assert_eq!(ts.events.len(), 10);
        assert_eq!(ts.restarts, 12);
        assert_eq!(cur.client_status, "pending");
    }
}
