//! One task of an allocation through its life, emitting the events Nomad
//! v0.6.3's task runner emits for `raw_exec`: setup, start, exit, restarts
//! under the group's policy, and the kill when the allocation stops.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use caravan_core::gofmt;
use caravan_core::model::{Allocation, Job, RestartPolicy, Task, TaskEvent};
use caravan_core::Node;
use tokio::sync::{mpsc, watch};

use super::alloc_state::*;
use super::raw_exec::{self, ProcessHandle};
use super::restarts::{Decision, RestartTracker, WaitResult};
use super::stats;
use super::taskenv::{TaskDirs, TaskEnv};

/// Everything a task runner needs; consumed by [`TaskRunner::run`].
pub(crate) struct TaskRunner {
    pub state: Arc<AllocState>,
    pub node: Arc<Node>,
    pub alloc: Arc<Allocation>,
    pub job: Arc<Job>,
    pub task: Task,
    pub dirs: TaskDirs,
    pub updates: mpsc::UnboundedReceiver<Arc<Allocation>>,
    pub destroy: watch::Receiver<Option<TaskEvent>>,
}

/// How supervising a started process ended.
enum Outcome {
    Exited(WaitResult),
    Stopped,
}

impl TaskRunner {
    fn name(&self) -> String {
        self.task.name.clone()
    }

    fn set(&self, state: Option<&str>, ev: Option<TaskEvent>, lazy: bool) {
        self.state.set_task_state(&self.task.name, state, ev, lazy);
    }

    fn destroy_event(&self) -> Option<TaskEvent> {
        self.destroy.borrow().clone()
    }

    fn restart_policy(job: &Job, group: &str) -> RestartPolicy {
        job.task_groups
            .iter()
            .find(|g| g.name == group)
            .and_then(|g| g.restart_policy.clone())
            .unwrap_or_else(|| RestartPolicy::default_for(&job.job_type))
    }

    fn env(&self) -> TaskEnv {
        TaskEnv::build(
            &self.node,
            &self.alloc,
            &self.job,
            &self.task,
            &self.dirs,
            std::env::vars(),
        )
    }

    /// Runs the task until it is dead. The `Received` event was recorded by
    /// the allocation runner when it created this runner.
    pub(crate) async fn run(mut self) {
        let setup = TaskEvent {
            message: MESSAGE_BUILDING_TASK_DIR.into(),
            ..event(EVENT_TASK_SETUP)
        };
        self.set(Some(TASK_STATE_PENDING), Some(setup), false);
        if let Err(e) = build_task_dir(&self.dirs) {
            let msg = format!(
                "failed to build task directory for {}: {e}",
                gofmt::quote(&self.task.name)
            );
            self.set(Some(TASK_STATE_DEAD), Some(setup_failure(msg)), false);
            return;
        }
        let seed = caravan_seed(&self.alloc.id, &self.task.name);
        let mut tracker = RestartTracker::new(
            Self::restart_policy(&self.job, &self.alloc.task_group),
            &self.job.job_type,
            seed,
        );
        loop {
            if let Err(e) = self.prestart() {
                self.set(Some(TASK_STATE_DEAD), Some(setup_failure(e)), false);
                self.set(Some(TASK_STATE_DEAD), None, false);
                return;
            }
            if !self.task.artifacts.is_empty() {
                // Caravan has no artifact fetcher; Nomad treats a getter
                // failure as unrecoverable.
                self.set(
                    Some(TASK_STATE_PENDING),
                    Some(event(EVENT_DOWNLOADING_ARTIFACTS)),
                    false,
                );
                let src = self.task.artifacts[0].getter_source.clone();
                let ev = TaskEvent {
                    download_error: format!(
                        "failed to download artifact {}: artifacts are not supported by the Caravan dev node",
                        gofmt::quote(&src)
                    ),
                    ..event(EVENT_ARTIFACT_DOWNLOAD_FAILED)
                };
                self.set(Some(TASK_STATE_PENDING), Some(ev), false);
                tracker.set_start_error(false);
            } else if let Some(ev) = self.destroy_event() {
                // Stopped before it could start.
                self.set(Some(TASK_STATE_DEAD), Some(ev), false);
                return;
            } else {
                let env = self.env();
                match raw_exec::start(&self.task, &env, &self.dirs) {
                    Err(e) => {
                        let msg = format!(
                            "failed to start task {} for alloc {}: {e}",
                            gofmt::quote(&self.task.name),
                            gofmt::quote(&self.alloc.id)
                        );
                        tracker.set_start_error(false);
                        let ev = TaskEvent {
                            driver_error: msg,
                            ..event(EVENT_DRIVER_FAILURE)
                        };
                        self.set(None, Some(ev), true);
                    }
                    Ok(mut handle) => {
                        self.set(Some(TASK_STATE_RUNNING), Some(event(EVENT_STARTED)), false);
                        stats::set_task_pid(&self.alloc.id, &self.task.name, Some(handle.pid()));
                        let outcome = self.supervise(&mut handle, &mut tracker).await;
                        stats::set_task_pid(&self.alloc.id, &self.task.name, None);
                        match outcome {
                            Outcome::Stopped => return,
                            Outcome::Exited(res) => {
                                tracker.set_wait_result(res.clone());
                                self.set(None, Some(terminated(&res)), true);
                            }
                        }
                    }
                }
            }
            if !self.should_restart(&mut tracker).await {
                self.set(Some(TASK_STATE_DEAD), None, false);
                return;
            }
        }
    }

    /// Writes the dispatch payload into `local/` (Caravan keeps payloads
    /// decompressed, so the bytes go out as stored).
    fn prestart(&self) -> Result<(), String> {
        let Some(dp) = &self.task.dispatch_payload else {
            return Ok(());
        };
        if self.job.payload.is_empty() || dp.file.is_empty() {
            return Ok(());
        }
        let to = self.dirs.local.join(&dp.file);
        if !to.starts_with(&self.dirs.local) || dp.file.split('/').any(|c| c == "..") {
            return Err(format!(
                "dispatch payload file {} escapes the task's local directory",
                gofmt::quote(&dp.file)
            ));
        }
        let write = || -> std::io::Result<()> {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&to, &self.job.payload)
        };
        write().map_err(|e| e.to_string())
    }

    /// Waits for the process to exit, applying in-place updates, until it
    /// exits or the task is destroyed (then it is killed).
    async fn supervise(
        &mut self,
        handle: &mut ProcessHandle,
        tracker: &mut RestartTracker,
    ) -> Outcome {
        loop {
            tokio::select! {
                res = handle.wait() => return Outcome::Exited(res),
                Some(update) = self.updates.recv() => self.apply_update(update, tracker),
                ev = destroyed(&mut self.destroy) => {
                    if self.task.shutdown_delay > 0 {
                        tokio::time::sleep(Duration::from_nanos(self.task.shutdown_delay as u64)).await;
                    }
                    let killing = match ev.event_type.as_str() {
                        EVENT_KILLED => None,
                        EVENT_KILLING => Some(ev),
                        _ => {
                            self.set(Some(TASK_STATE_RUNNING), Some(ev), false);
                            None
                        }
                    };
                    self.kill(handle, killing).await;
                    self.set(Some(TASK_STATE_DEAD), None, false);
                    return Outcome::Stopped;
                }
            }
        }
    }

    /// Nomad's `killTask`: `Killing` (with the timeout), the kill itself,
    /// then `Killed`.
    async fn kill(&self, handle: &mut ProcessHandle, killing: Option<TaskEvent>) {
        let timeout = raw_exec::kill_timeout(self.task.kill_timeout);
        let mut ev = killing.unwrap_or_else(|| event(EVENT_KILLING));
        ev.event_type = EVENT_KILLING.into();
        ev.kill_timeout = i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX);
        self.set(Some(TASK_STATE_RUNNING), Some(ev), false);
        handle.kill(timeout).await;
        self.set(None, Some(event(EVENT_KILLED)), true);
    }

    /// An in-place update: the new task definition (and restart policy)
    /// applies from the next start on; the running process is untouched.
    fn apply_update(&mut self, alloc: Arc<Allocation>, tracker: &mut RestartTracker) {
        let Some(job) = alloc.job.clone() else {
            return;
        };
        let Some(task) = job
            .task_groups
            .iter()
            .find(|g| g.name == alloc.task_group)
            .and_then(|g| g.tasks.iter().find(|t| t.name == self.task.name))
        else {
            return;
        };
        self.task = task.clone();
        tracker.set_policy(Self::restart_policy(&job, &alloc.task_group));
        self.job = job;
        self.alloc = alloc;
    }

    /// Nomad's `shouldRestart`: records the verdict and waits out the
    /// delay; false when the task is done (or destroyed meanwhile).
    async fn should_restart(&mut self, tracker: &mut RestartTracker) -> bool {
        match tracker.decide() {
            Decision::Terminated => false,
            Decision::NotRestarting => {
                let ev = TaskEvent {
                    restart_reason: tracker.reason().to_string(),
                    fails_task: true,
                    ..event(EVENT_NOT_RESTARTING)
                };
                self.set(Some(TASK_STATE_DEAD), Some(ev), false);
                false
            }
            Decision::Restart(delay) => {
                let ev = TaskEvent {
                    start_delay: i64::try_from(delay.as_nanos()).unwrap_or(i64::MAX),
                    restart_reason: tracker.reason().to_string(),
                    ..event(EVENT_RESTARTING)
                };
                self.set(Some(TASK_STATE_PENDING), Some(ev), false);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = destroyed(&mut self.destroy) => {}
                }
                if let Some(ev) = self.destroy_event() {
                    self.set(Some(TASK_STATE_DEAD), Some(ev), false);
                    return false;
                }
                true
            }
        }
    }
}

impl std::fmt::Debug for TaskRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRunner")
            .field("alloc", &self.alloc.id)
            .field("task", &self.name())
            .finish()
    }
}

/// Resolves with the destroy event once the task is asked to stop; never,
/// if the allocation runner is gone without asking.
async fn destroyed(rx: &mut watch::Receiver<Option<TaskEvent>>) -> TaskEvent {
    let seen = rx.wait_for(Option::is_some).await.map(|ev| ev.clone());
    match seen {
        Ok(ev) => ev.unwrap_or_else(|| event(EVENT_KILLED)),
        Err(_) => std::future::pending().await,
    }
}

fn setup_failure(msg: String) -> TaskEvent {
    TaskEvent {
        setup_error: msg,
        fails_task: true,
        ..event(EVENT_SETUP_FAILURE)
    }
}

fn terminated(res: &WaitResult) -> TaskEvent {
    TaskEvent {
        exit_code: res.exit_code,
        signal: res.signal,
        message: res.err.clone().unwrap_or_default(),
        ..event(EVENT_TERMINATED)
    }
}

/// The task dir for a driver without filesystem isolation: the dir itself,
/// `local/`, `secrets/` and a sticky `tmp/`, all world-writable like Nomad's.
fn build_task_dir(dirs: &TaskDirs) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mk = |p: &Path, mode: u32| -> std::io::Result<()> {
        std::fs::create_dir_all(p)?;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
    };
    mk(&dirs.dir, 0o777)?;
    mk(&dirs.local, 0o777)?;
    mk(&dirs.dir.join("tmp"), 0o1777)?;
    mk(&dirs.secrets, 0o777)
}

/// A per-task seed for restart jitter (any spread will do).
fn caravan_seed(alloc_id: &str, task: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ super::clock::now_ns() as u64;
    for b in alloc_id.bytes().chain(task.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
