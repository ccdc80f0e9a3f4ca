//! The dev node end to end against an in-memory server: real `raw_exec`
//! processes, task events, client statuses, kills and status batching.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use caravan_core::model::{
    Allocation, DispatchPayloadConfig, Job, Resources, RestartPolicy, Task, TaskGroup, TaskState,
    SECOND,
};
use caravan_core::state::AllocClientUpdate;
use caravan_core::Node;
use caravan_server::client::{
    alloc_stats, run_dev_node_with, BoxFuture, DevNodeConfig, NodeAllocs, NodeRpc, NodeTimings,
};
use serde_json::json;
use tokio::sync::watch;

// ------------------------------------------------------------ fake server --

#[derive(Default)]
struct FakeState {
    index: u64,
    node: Option<Node>,
    statuses: Vec<String>,
    allocs: BTreeMap<String, Allocation>,
    /// Every `update_allocs` call, with when it arrived.
    batches: Vec<(Instant, Vec<AllocClientUpdate>)>,
}

/// A server holding the node's allocations in memory; client reports are
/// applied like Nomad's `Node.UpdateAlloc` (new index, same
/// `AllocModifyIndex`).
struct FakeServer {
    st: Mutex<FakeState>,
    changed: watch::Sender<u64>,
}

impl FakeServer {
    fn new() -> Arc<FakeServer> {
        Arc::new(FakeServer {
            st: Mutex::new(FakeState::default()),
            changed: watch::channel(0).0,
        })
    }

    fn bump(&self, st: &mut FakeState) -> u64 {
        st.index += 1;
        self.changed.send_replace(st.index);
        st.index
    }

    /// Places or changes an allocation as the scheduler would.
    fn put(&self, mut alloc: Allocation) {
        let mut st = self.st.lock().unwrap();
        let i = st.index + 1;
        alloc.alloc_modify_index = i;
        alloc.modify_index = i;
        if let Some(old) = st.allocs.get(&alloc.id) {
            alloc.client_status = old.client_status.clone();
            alloc.task_states = old.task_states.clone();
        }
        st.allocs.insert(alloc.id.clone(), alloc);
        self.bump(&mut st);
    }

    fn stop(&self, id: &str) {
        let mut a = self.alloc(id);
        a.desired_status = "stop".into();
        a.desired_description = "alloc not needed due to job update".into();
        self.put(a);
    }

    fn alloc(&self, id: &str) -> Allocation {
        self.st.lock().unwrap().allocs[id].clone()
    }

    fn node_id(&self) -> Option<String> {
        self.st.lock().unwrap().node.as_ref().map(|n| n.id.clone())
    }

    fn batches(&self) -> Vec<(Instant, Vec<AllocClientUpdate>)> {
        self.st.lock().unwrap().batches.clone()
    }

    /// Waits (polling, at most `secs`) until the server's copy satisfies
    /// `pred`.
    async fn wait_alloc(
        &self,
        id: &str,
        secs: u64,
        pred: impl Fn(&Allocation) -> bool,
    ) -> Allocation {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let a = self.alloc(id);
            if pred(&a) {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "timed out; alloc is {} with {:?}",
                a.client_status,
                events(&a)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl NodeRpc for FakeServer {
    fn register(&self, node: Node) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(async move {
            let mut st = self.st.lock().unwrap();
            st.node = Some(node);
            Ok(self.bump(&mut st))
        })
    }

    fn update_status(
        &self,
        _node_id: String,
        status: String,
    ) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(async move {
            let mut st = self.st.lock().unwrap();
            st.statuses.push(status);
            Ok(self.bump(&mut st))
        })
    }

    fn allocs(
        &self,
        node_id: String,
        min_index: u64,
        wait_ms: u64,
    ) -> BoxFuture<'_, Result<NodeAllocs, String>> {
        Box::pin(async move {
            let mut rx = self.changed.subscribe();
            let _ = tokio::time::timeout(
                Duration::from_millis(wait_ms),
                rx.wait_for(|i| *i > min_index),
            )
            .await;
            let st = self.st.lock().unwrap();
            let list = st
                .allocs
                .values()
                .filter(|a| a.node_id == node_id)
                .map(|a| Arc::new(a.clone()))
                .collect();
            Ok((st.index, list))
        })
    }

    fn update_allocs(&self, updates: Vec<AllocClientUpdate>) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(async move {
            let mut st = self.st.lock().unwrap();
            let i = st.index + 1;
            for u in &updates {
                if let Some(a) = st.allocs.get_mut(&u.alloc_id) {
                    a.client_status = u.client_status.clone();
                    a.client_description = u.client_description.clone();
                    a.task_states = u.task_states.clone();
                    a.modify_index = i;
                }
            }
            st.batches.push((Instant::now(), updates));
            Ok(self.bump(&mut st))
        })
    }
}

// --------------------------------------------------------------- harness --

struct DevNode {
    server: Arc<FakeServer>,
    data_dir: PathBuf,
    node_id: String,
    stop: watch::Sender<bool>,
    join: tokio::task::JoinHandle<()>,
}

impl DevNode {
    async fn start() -> DevNode {
        let server = FakeServer::new();
        let data_dir = std::env::temp_dir().join(format!(
            "caravan-devnode-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let config = DevNodeConfig {
            datacenter: "dc1".into(),
            http_addr: "127.0.0.1:4646".into(),
            data_dir: data_dir.clone(),
        };
        let (stop, rx) = watch::channel(false);
        let timings = NodeTimings {
            watch_wait_ms: 2_000,
            ..NodeTimings::default()
        };
        let join = tokio::spawn(run_dev_node_with(server.clone(), config, timings, rx));
        let deadline = Instant::now() + Duration::from_secs(10);
        let node_id = loop {
            if let Some(id) = server.node_id() {
                if !server.st.lock().unwrap().statuses.is_empty() {
                    break id;
                }
            }
            assert!(Instant::now() < deadline, "node never registered");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        DevNode {
            server,
            data_dir,
            node_id,
            stop,
            join,
        }
    }

    /// Shuts the node down (killing its tasks) and removes its data dir.
    async fn shutdown(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(10), self.join)
            .await
            .expect("dev node stops")
            .expect("dev node task");
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn job(id: &str, job_type: &str, task: Task, restart: RestartPolicy) -> Job {
    Job {
        id: id.into(),
        name: id.into(),
        job_type: job_type.into(),
        region: "global".into(),
        datacenters: vec!["dc1".into()],
        task_groups: vec![TaskGroup {
            name: "web".into(),
            count: 1,
            restart_policy: Some(restart),
            tasks: vec![task],
            ..TaskGroup::default()
        }],
        ..Job::default()
    }
}

fn task(command: &str, args: &[&str]) -> Task {
    Task {
        name: "server".into(),
        driver: "raw_exec".into(),
        config: json!({"command": command, "args": args})
            .as_object()
            .cloned()
            .unwrap(),
        kill_timeout: SECOND,
        ..Task::default()
    }
}

fn no_restarts() -> RestartPolicy {
    RestartPolicy {
        attempts: 0,
        interval: 60 * SECOND,
        delay: SECOND,
        mode: "fail".into(),
    }
}

fn alloc(node: &DevNode, id: &str, job: Job) -> Allocation {
    Allocation {
        id: id.into(),
        eval_id: "11111111-2222-3333-4444-555555555555".into(),
        name: format!("{}.web[0]", job.id),
        node_id: node.node_id.clone(),
        job_id: job.id.clone(),
        task_group: "web".into(),
        task_resources: [(
            "server".to_string(),
            Resources {
                cpu: 100,
                memory_mb: 64,
                ..Resources::default()
            },
        )]
        .into_iter()
        .collect(),
        job: Some(Arc::new(job)),
        desired_status: "run".into(),
        client_status: "pending".into(),
        ..Allocation::default()
    }
}

fn events(a: &Allocation) -> Vec<String> {
    a.task_states
        .get("server")
        .map(|s| s.events.iter().map(|e| e.event_type.clone()).collect())
        .unwrap_or_default()
}

fn server_state(a: &Allocation) -> TaskState {
    a.task_states["server"].clone()
}

fn process_alive(pid: i32) -> bool {
    // A zombie is dead for our purposes; /proc/<pid>/stat shows "Z".
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let after = s
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start())
                .unwrap_or("");
            !after.starts_with('Z')
        })
        .unwrap_or(false)
}

/// The PIDs of a running task from `alloc_stats`.
fn task_pids(alloc_id: &str) -> Vec<i32> {
    alloc_stats(alloc_id)
        .and_then(|v| {
            v["Tasks"]["server"]["Pids"]
                .as_object()
                .map(|m| m.keys().filter_map(|k| k.parse().ok()).collect())
        })
        .unwrap_or_default()
}

// ----------------------------------------------------------------- tests --

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_sleep_completes_with_nomads_events() {
    let node = DevNode::start().await;
    let placed = Instant::now();
    let id = "aaaaaaaa-0000-0000-0000-000000000001";
    node.server.put(alloc(
        &node,
        id,
        job(
            "batchjob",
            "batch",
            task("/bin/sleep", &["1"]),
            no_restarts(),
        ),
    ));
    let done = node
        .server
        .wait_alloc(id, 10, |a| a.client_status == "complete")
        .await;
    assert_eq!(
        events(&done),
        ["Received", "Task Setup", "Started", "Terminated"]
    );
    let st = server_state(&done);
    assert_eq!(st.state, "dead");
    assert!(!st.failed);
    assert_eq!(st.restarts, 0);
    assert_eq!(st.last_restart, "0001-01-01T00:00:00Z");
    assert_ne!(st.started_at, "0001-01-01T00:00:00Z");
    assert_ne!(st.finished_at, "0001-01-01T00:00:00Z");
    assert_eq!(st.events[1].message, "Building Task Directory");
    let term = &st.events[3];
    assert_eq!((term.exit_code, term.signal), (0, 0));
    // Every event carries Nomad's full field set.
    let keys: Vec<String> = serde_json::to_value(term)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "Type",
            "Time",
            "FailsTask",
            "RestartReason",
            "SetupError",
            "DriverError",
            "ExitCode",
            "Signal",
            "Message",
            "KillTimeout",
            "KillError",
            "KillReason",
            "StartDelay",
            "DownloadError",
            "ValidationError",
            "DiskLimit",
            "FailedSibling",
            "VaultError",
            "TaskSignalReason",
            "TaskSignal",
            "DriverMessage",
            "GenericSource"
        ]
    );
    assert_eq!(done.client_description, "");

    // Reports are batched: nothing reaches the server within the first
    // the sync window, and the start is reported as running before completion.
    let batches = node.server.batches();
    assert!(batches[0].0.duration_since(placed) >= Duration::from_millis(200));
    assert_eq!(batches[0].1[0].client_status, "running");
    assert_eq!(
        batches[0].1[0].task_states["server"]
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["Received", "Task Setup", "Started"]
    );
    let dir = node.data_dir.join("alloc").join(id);
    assert!(dir.join("server/local").is_dir());
    assert!(dir.join("server/secrets").is_dir());
    assert!(dir.join("alloc/logs/server.stdout.0").is_file());
    assert!(dir.join("alloc/data").is_dir());
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_command_restarts_once_then_fails() {
    let node = DevNode::start().await;
    let id = "aaaaaaaa-0000-0000-0000-000000000002";
    let policy = RestartPolicy {
        attempts: 1,
        interval: 60 * SECOND,
        delay: 100_000_000,
        mode: "fail".into(),
    };
    node.server.put(alloc(
        &node,
        id,
        job(
            "failjob",
            "batch",
            task("/bin/sh", &["-c", "exit 3"]),
            policy,
        ),
    ));
    let done = node
        .server
        .wait_alloc(id, 10, |a| a.client_status == "failed")
        .await;
    assert_eq!(
        events(&done),
        [
            "Received",
            "Task Setup",
            "Started",
            "Terminated",
            "Restarting",
            "Started",
            "Terminated",
            "Not Restarting"
        ]
    );
    let st = server_state(&done);
    assert_eq!(st.state, "dead");
    assert!(st.failed);
    assert_eq!(st.restarts, 1);
    assert_ne!(st.last_restart, "0001-01-01T00:00:00Z");
    assert_eq!(st.events[3].exit_code, 3);
    assert_eq!(st.events[4].restart_reason, "Restart within policy");
    assert!((100_000_000..=125_000_000).contains(&st.events[4].start_delay));
    let last = &st.events[7];
    assert!(last.fails_task);
    assert_eq!(
        last.restart_reason,
        "Exceeded allowed attempts 1 in interval 1m0s and mode is \"fail\""
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_binary_fails_without_restart() {
    let node = DevNode::start().await;
    let id = "aaaaaaaa-0000-0000-0000-000000000003";
    let policy = RestartPolicy {
        attempts: 3,
        interval: 60 * SECOND,
        delay: SECOND,
        mode: "delay".into(),
    };
    node.server.put(alloc(
        &node,
        id,
        job("nobin", "service", task("no-such-binary-x", &[]), policy),
    ));
    let done = node
        .server
        .wait_alloc(id, 10, |a| a.client_status == "failed")
        .await;
    assert_eq!(
        events(&done),
        ["Received", "Task Setup", "Driver Failure", "Not Restarting"]
    );
    let st = server_state(&done);
    assert_eq!(
        st.events[2].driver_error,
        format!(
            "failed to start task \"server\" for alloc \"{id}\": binary \"no-such-binary-x\" could not be found"
        )
    );
    assert_eq!(st.events[3].restart_reason, "Error was unrecoverable");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_kills_the_process_group_and_completes() {
    let node = DevNode::start().await;
    let id = "aaaaaaaa-0000-0000-0000-000000000004";
    // The shell forks a child sleep: the kill must reach both.
    node.server.put(alloc(
        &node,
        id,
        job(
            "longjob",
            "service",
            task("/bin/sh", &["-c", "/bin/sleep 30 & wait"]),
            no_restarts(),
        ),
    ));
    node.server
        .wait_alloc(id, 10, |a| a.client_status == "running")
        .await;
    let mut pids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "task processes not found: {pids:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        pids = task_pids(id);
    }
    assert!(pids.iter().all(|p| process_alive(*p)));

    node.server.stop(id);
    // Like Nomad, the server still reads "running" right after the stop.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(node.server.alloc(id).client_status, "running");

    let done = node
        .server
        .wait_alloc(id, 10, |a| a.client_status == "complete")
        .await;
    assert_eq!(
        events(&done),
        ["Received", "Task Setup", "Started", "Killing", "Killed"]
    );
    let st = server_state(&done);
    assert_eq!(st.state, "dead");
    assert!(!st.failed);
    assert_eq!(st.events[3].kill_timeout, 1_000_000_000);
    for pid in pids {
        assert!(!process_alive(pid), "pid {pid} survived the stop");
    }
    // The dev node still knows the allocation (no running tasks).
    assert_eq!(alloc_stats(id).unwrap()["Tasks"], json!({}));
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_and_args_are_interpolated() {
    let node = DevNode::start().await;
    let id = "aaaaaaaa-0000-0000-0000-000000000005";
    let mut t = task(
        "/bin/sh",
        &[
            "-c",
            "echo \"$NOMAD_ALLOC_ID|$NOMAD_ALLOC_NAME|$NOMAD_TASK_NAME|$NOMAD_JOB_NAME|$NOMAD_GROUP_NAME|$NOMAD_ALLOC_INDEX|$NOMAD_DC|$NOMAD_REGION|$NOMAD_CPU_LIMIT|$NOMAD_MEMORY_LIMIT|$NOMAD_META_OWNER|$GREETING\" > ${NOMAD_TASK_DIR}/env.txt; echo ${attr.kernel.name} ${node.datacenter} ${NOMAD_ALLOC_ID} '${UNKNOWN_VAR}'; pwd; echo $NOMAD_ALLOC_DIR",
        ],
    );
    t.env = [("GREETING".to_string(), "hi-${NOMAD_JOB_NAME}".to_string())]
        .into_iter()
        .collect();
    t.meta = [("owner".to_string(), "ops".to_string())]
        .into_iter()
        .collect();
    node.server
        .put(alloc(&node, id, job("envjob", "batch", t, no_restarts())));
    node.server
        .wait_alloc(id, 10, |a| a.client_status == "complete")
        .await;
    let dir = node.data_dir.join("alloc").join(id);
    let env = std::fs::read_to_string(dir.join("server/local/env.txt")).unwrap();
    assert_eq!(
        env,
        format!("{id}|envjob.web[0]|server|envjob|web|0|dc1|global|100|64|ops|hi-envjob\n")
    );
    let out = std::fs::read_to_string(dir.join("alloc/logs/server.stdout.0")).unwrap();
    let task_dir = dir.join("server").canonicalize().unwrap();
    assert_eq!(
        out,
        format!(
            "linux dc1 {id} ${{UNKNOWN_VAR}}\n{}\n{}\n",
            task_dir.display(),
            dir.join("alloc").display()
        )
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_payload_is_written_to_local() {
    let node = DevNode::start().await;
    let id = "aaaaaaaa-0000-0000-0000-000000000006";
    let mut t = task("/bin/cat", &["${NOMAD_TASK_DIR}/in/payload.txt"]);
    t.dispatch_payload = Some(DispatchPayloadConfig {
        file: "in/payload.txt".into(),
    });
    let mut j = job("param/dispatch-1-abcdef12", "batch", t, no_restarts());
    j.payload = b"hello payload\x00\xff".to_vec();
    node.server.put(alloc(&node, id, j));
    node.server
        .wait_alloc(id, 10, |a| a.client_status == "complete")
        .await;
    let dir = node.data_dir.join("alloc").join(id);
    assert_eq!(
        std::fs::read(dir.join("server/local/in/payload.txt")).unwrap(),
        b"hello payload\x00\xff"
    );
    assert_eq!(
        std::fs::read(dir.join("alloc/logs/server.stdout.0")).unwrap(),
        b"hello payload\x00\xff"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_update_keeps_running_and_shutdown_kills() {
    let node = DevNode::start().await;
    let id = "aaaaaaaa-0000-0000-0000-000000000007";
    let j = job("svc", "service", task("/bin/sleep", &["30"]), no_restarts());
    node.server.put(alloc(&node, id, j.clone()));
    node.server
        .wait_alloc(id, 10, |a| a.client_status == "running")
        .await;
    let pids = task_pids(id);
    assert_eq!(pids.len(), 1);
    let before = node.server.batches().len();

    // A new job version placed in place (same alloc, new AllocModifyIndex).
    let mut j2 = j;
    j2.priority = 70;
    j2.version = 1;
    let mut updated = node.server.alloc(id);
    updated.job = Some(Arc::new(j2));
    node.server.put(updated);
    let deadline = Instant::now() + Duration::from_secs(5);
    while node.server.batches().len() == before {
        assert!(Instant::now() < deadline, "update was not acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = node.server.alloc(id);
    assert_eq!(a.client_status, "running");
    assert_eq!(events(&a), ["Received", "Task Setup", "Started"]);
    assert_eq!(task_pids(id), pids);
    assert!(process_alive(pids[0]));

    let server = node.server.clone();
    node.shutdown().await;
    assert!(!process_alive(pids[0]), "shutdown left the task running");
    assert_eq!(alloc_stats(id), None);
    // The kill at shutdown is not reported: the server still wants it
    // running, so a restarted node runs it again.
    assert_eq!(server.alloc(id).client_status, "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alloc_placed_already_stopped_is_cancelled() {
    let node = DevNode::start().await;
    let id = "aaaaaaaa-0000-0000-0000-000000000008";
    let mut a = alloc(
        &node,
        id,
        job(
            "gone",
            "service",
            task("/bin/sleep", &["30"]),
            no_restarts(),
        ),
    );
    a.desired_status = "stop".into();
    node.server.put(a);
    let done = node
        .server
        .wait_alloc(id, 10, |a| a.client_status == "complete")
        .await;
    assert_eq!(
        done.client_description,
        "canceled running tasks for allocation in terminal state"
    );
    assert!(done.task_states.is_empty());
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_task_takes_its_siblings_down() {
    let node = DevNode::start().await;
    let id = "aaaaaaaa-0000-0000-0000-000000000009";
    let mut j = job(
        "pair",
        "service",
        task("/bin/sleep", &["30"]),
        no_restarts(),
    );
    let mut side = task("/bin/sh", &["-c", "sleep 0.3; exit 1"]);
    side.name = "side".into();
    j.task_groups[0].tasks.push(side);
    node.server.put(alloc(&node, id, j));
    let done = node
        .server
        .wait_alloc(id, 10, |a| {
            a.client_status == "failed" && a.task_states.values().all(|s| s.state == "dead")
        })
        .await;
    let side_events: Vec<&str> = done.task_states["side"]
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        side_events,
        [
            "Received",
            "Task Setup",
            "Started",
            "Terminated",
            "Not Restarting"
        ]
    );
    assert_eq!(
        done.task_states["side"].events[4].restart_reason,
        "Policy allows no restarts"
    );
    let server = server_state(&done);
    assert_eq!(
        events(&done),
        [
            "Received",
            "Task Setup",
            "Started",
            "Sibling Task Failed",
            "Killing",
            "Killed"
        ]
    );
    assert_eq!(server.events[3].failed_sibling, "side");
    assert!(!server.failed);
    node.shutdown().await;
}
