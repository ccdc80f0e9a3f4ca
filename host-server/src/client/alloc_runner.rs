//! One allocation on the dev node, as Nomad v0.6.3's alloc runner drives it:
//! builds the alloc dir, starts a task runner per task, passes in-place
//! updates on, stops every task when the allocation turns terminal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use caravan_core::model::{
    Allocation, Job, TaskEvent, TaskGroup, ALLOC_CLIENT_COMPLETE, ALLOC_CLIENT_FAILED,
};
use caravan_core::Node;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::alloc_state::*;
use super::stats;
use super::status_sync::StatusSync;
use super::task_runner::TaskRunner;
use super::taskenv::TaskDirs;

/// What the node's watcher tells a runner.
#[derive(Debug)]
pub(crate) enum RunnerMsg {
    /// The server changed the allocation.
    Update(Arc<Allocation>),
    /// The server forgot the allocation (garbage collected): stop its
    /// tasks and delete its directory.
    Remove,
    /// The node is shutting down: stop the tasks, keep the directory.
    Shutdown,
}

/// The node's handle on a running allocation runner.
pub(crate) struct AllocRunnerHandle {
    /// The `AllocModifyIndex` of the version the runner has.
    pub alloc_modify_index: u64,
    /// Its desired status (a change is passed on even if the server did not
    /// move `AllocModifyIndex`).
    pub desired_status: String,
    pub tx: mpsc::UnboundedSender<RunnerMsg>,
    pub join: JoinHandle<()>,
}

struct RunningTask {
    name: String,
    leader: bool,
    destroy: DestroySwitch,
    updates: mpsc::UnboundedSender<Arc<Allocation>>,
    join: JoinHandle<()>,
}

/// Starts the runner of a newly received allocation.
pub(crate) fn spawn(
    alloc: Arc<Allocation>,
    node: Arc<Node>,
    data_dir: &Path,
    sync: Arc<StatusSync>,
) -> AllocRunnerHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let alloc_modify_index = alloc.alloc_modify_index;
    let desired_status = alloc.desired_status.clone();
    let alloc_dir = data_dir.join("alloc").join(&alloc.id);
    let join = tokio::spawn(run(alloc, node, alloc_dir, sync, rx));
    AllocRunnerHandle {
        alloc_modify_index,
        desired_status,
        tx,
        join,
    }
}

fn group<'a>(job: &'a Job, name: &str) -> Option<&'a TaskGroup> {
    job.task_groups.iter().find(|g| g.name == name)
}

async fn run(
    alloc: Arc<Allocation>,
    node: Arc<Node>,
    alloc_dir: PathBuf,
    sync: Arc<StatusSync>,
    mut rx: mpsc::UnboundedReceiver<RunnerMsg>,
) {
    stats::register_alloc(&alloc.id);
    let state = AllocState::new(alloc.clone(), sync);
    let remove = match start(&alloc, &node, &alloc_dir, &state) {
        Err(()) => wait_for_end(&mut rx).await,
        Ok(mut tasks) => {
            let health = super::health::watch(&state, &alloc);
            let remove = loop {
                match rx.recv().await {
                    Some(RunnerMsg::Update(update)) => {
                        state.set_alloc(update.clone());
                        if update.terminal() {
                            break None;
                        }
                        for t in &tasks {
                            let _ = t.updates.send(update.clone());
                        }
                        state.sync();
                    }
                    Some(RunnerMsg::Remove) => break Some(true),
                    Some(RunnerMsg::Shutdown) | None => break Some(false),
                }
            };
            if let Some(h) = health {
                h.abort();
            }
            destroy_tasks(&mut tasks, event(EVENT_KILLED)).await;
            state.sync();
            match remove {
                Some(r) => r,
                None => wait_for_end(&mut rx).await,
            }
        }
    };
    if remove {
        let _ = tokio::fs::remove_dir_all(&alloc_dir).await;
    }
    stats::unregister_alloc(&alloc.id);
}

/// Builds the alloc dir and starts the tasks; `Err` when the allocation
/// ends here (already terminal, or it cannot run at all).
fn start(
    alloc: &Arc<Allocation>,
    node: &Arc<Node>,
    alloc_dir: &Path,
    state: &Arc<AllocState>,
) -> Result<Vec<RunningTask>, ()> {
    let Some(job) = alloc.job.clone() else {
        state.set_status(
            ALLOC_CLIENT_FAILED,
            &format!("missing task group '{}'", alloc.task_group),
        );
        return Err(());
    };
    let Some(tg) = group(&job, &alloc.task_group) else {
        state.set_status(
            ALLOC_CLIENT_FAILED,
            &format!("missing task group '{}'", alloc.task_group),
        );
        return Err(());
    };
    if build_alloc_dir(alloc_dir).is_err() {
        state.set_status(
            ALLOC_CLIENT_FAILED,
            &format!("failed to build task dirs for '{}'", alloc.task_group),
        );
        return Err(());
    }
    if alloc.terminal() {
        // One the client already finished (e.g. before an agent restart)
        // has nothing new to report.
        if !alloc.client_terminal() {
            state.set_status(
                ALLOC_CLIENT_COMPLETE,
                "canceled running tasks for allocation in terminal state",
            );
        }
        return Err(());
    }
    let mut tasks = Vec::new();
    for task in &tg.tasks {
        let (destroy_tx, destroy_rx) = watch::channel(None);
        let (upd_tx, upd_rx) = mpsc::unbounded_channel();
        state.add_task(&task.name, task.leader, destroy_tx.clone());
        state.set_task_state(
            &task.name,
            Some(TASK_STATE_PENDING),
            Some(event(EVENT_RECEIVED)),
            false,
        );
        let mut task_def = task.clone();
        task_def.resources = alloc.task_resources.get(&task.name).cloned();
        let runner = TaskRunner {
            state: state.clone(),
            node: node.clone(),
            alloc: alloc.clone(),
            job: job.clone(),
            task: task_def,
            dirs: TaskDirs::new(alloc_dir, &task.name),
            updates: upd_rx,
            destroy: destroy_rx,
        };
        tasks.push(RunningTask {
            name: task.name.clone(),
            leader: task.leader,
            destroy: destroy_tx,
            updates: upd_tx,
            join: tokio::spawn(runner.run()),
        });
    }
    Ok(tasks)
}

/// `<alloc>/alloc/{logs,tmp,data}`, shared by the group's tasks.
fn build_alloc_dir(alloc_dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(alloc_dir)?;
    let shared = alloc_dir.join("alloc");
    for dir in [
        shared.clone(),
        shared.join("logs"),
        shared.join("tmp"),
        shared.join("data"),
    ] {
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))?;
    }
    Ok(())
}

/// Nomad's `destroyTaskRunners`: the leader first (and waited for), then
/// the rest.
async fn destroy_tasks(tasks: &mut Vec<RunningTask>, ev: TaskEvent) {
    if let Some(i) = tasks.iter().position(|t| t.leader) {
        let leader = tasks.remove(i);
        destroy(&leader.destroy, ev.clone());
        let _ = leader.join.await;
    }
    for t in tasks.iter() {
        destroy(&t.destroy, ev.clone());
    }
    for t in tasks.drain(..) {
        if t.join.await.is_err() {
            // A panicked task runner has no process left to wait for.
            continue;
        }
    }
}

/// After the tasks stopped: ignore further updates (Nomad drops them) until
/// the allocation is removed or the node shuts down; true when removed.
async fn wait_for_end(rx: &mut mpsc::UnboundedReceiver<RunnerMsg>) -> bool {
    loop {
        match rx.recv().await {
            Some(RunnerMsg::Update(_)) => continue,
            Some(RunnerMsg::Remove) => return true,
            Some(RunnerMsg::Shutdown) | None => return false,
        }
    }
}

/// How long the node waits for one allocation to stop on shutdown before it
/// gives up on it (its tasks' kill timeouts are at most 30 s).
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(35);

impl std::fmt::Debug for RunningTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningTask")
            .field("name", &self.name)
            .finish()
    }
}
