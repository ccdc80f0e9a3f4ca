//! Test fixtures of the scheduler's unit tests: nodes, jobs built through
//! the real canonicalization, and a cluster driven like the server drives it.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::model::{
    Allocation, Evaluation, Job, NetworkResource, Node, Resources, TaskEvent, TaskState,
};
use crate::scheduler::EvalRun;
use crate::state::{AllocClientUpdate, ClusterState, Command, Reply};

/// A ready node in `dc` with `cpu` MHz and `mem` MB, raw_exec, one
/// loopback address.
pub fn node(id: &str, dc: &str, cpu: i64, mem: i64) -> Node {
    Node {
        id: id.into(),
        name: id.into(),
        datacenter: dc.into(),
        status: "ready".into(),
        attributes: [
            ("driver.raw_exec", "1"),
            ("kernel.name", "linux"),
            ("unique.hostname", id),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        resources: Some(Resources {
            cpu,
            memory_mb: mem,
            disk_mb: 100_000,
            networks: vec![NetworkResource {
                device: "lo".into(),
                cidr: "127.0.0.1/32".into(),
                ip: "127.0.0.1".into(),
                mbits: 1000,
                ..Default::default()
            }],
            ..Default::default()
        }),
        reserved: Some(Resources::default()),
        ..Default::default()
    }
}

/// An API job document: one group `web` of `count` raw_exec tasks.
pub fn job_doc(id: &str, job_type: &str, count: i64, cpu: i64, mem: i64) -> Value {
    json!({
        "ID": id, "Name": id, "Type": job_type, "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "web", "Count": count,
            "Tasks": [{
                "Name": "server", "Driver": "raw_exec",
                "Config": {"command": "/bin/sleep", "args": ["600"]},
                "Resources": {"CPU": cpu, "MemoryMB": mem}
            }]
        }]
    })
}

/// Canonicalizes an API job document into a stored job.
pub fn prepare(doc: &Value) -> Job {
    let api: crate::ApiJob = match crate::gojson::from_slice(doc.to_string().as_bytes(), "api.Job")
    {
        Ok(api) => api,
        Err(e) => panic!("bad job document: {e:?}"),
    };
    crate::prepare(api).job
}

/// A cluster state plus the host duties of the server: IDs, time, and the
/// evaluation worker loop.
pub struct Cluster {
    pub state: ClusterState,
    seq: u64,
}

impl Cluster {
    pub fn new() -> Self {
        Cluster {
            state: ClusterState::default(),
            seq: 0,
        }
    }

    pub fn with_nodes(nodes: impl IntoIterator<Item = Node>) -> Self {
        let mut c = Cluster::new();
        for n in nodes {
            c.add_node(n);
        }
        c
    }

    pub fn add_node(&mut self, n: Node) {
        self.apply(Command::UpsertNode { node: Box::new(n) });
    }

    pub fn apply(&mut self, cmd: Command) -> Reply {
        match self.state.apply(cmd) {
            Ok(a) => a.reply,
            Err(e) => panic!("command refused: {e}"),
        }
    }

    fn next_id(&mut self) -> String {
        self.seq += 1;
        format!("00000000-0000-0000-0000-{:012}", self.seq)
    }

    /// Registers `job` and returns its evaluation (if one was created).
    pub fn register(&mut self, job: Job) -> Option<Evaluation> {
        let eval_id = self.next_id();
        self.apply(Command::RegisterJob {
            job: Box::new(job),
            enforce_index: false,
            job_modify_index: 0,
            eval_id: eval_id.clone(),
            now: 1_000,
        });
        self.state.eval(&eval_id).map(|e| (**e).clone())
    }

    /// Stops (or purges) a job and returns the deregister evaluation.
    pub fn deregister(&mut self, job_id: &str, purge: bool) -> Evaluation {
        let eval_id = self.next_id();
        self.apply(Command::DeregisterJob {
            job_id: job_id.into(),
            purge,
            eval_id: eval_id.clone(),
            now: 2_000,
        });
        (**self.state.eval(&eval_id).expect("deregister eval")).clone()
    }

    /// Processes `eval` to the end as the server's worker would, returning
    /// the kinds of the writes in order.
    pub fn process(&mut self, eval: Evaluation, seed: u64) -> Vec<&'static str> {
        let mut run = EvalRun::new(eval, seed);
        run.set_now(5_000);
        let mut kinds = Vec::new();
        while let Some(cmd) = run.next(&self.state) {
            kinds.push(match &cmd {
                Command::UpsertEvals { .. } => "evals",
                Command::ApplyPlan { .. } => "plan",
                _ => "other",
            });
            if let Reply::Plan(result) = self.apply(cmd) {
                run.plan_applied(&result);
            }
        }
        kinds
    }

    /// Registers and processes: the usual first step of a test.
    pub fn run_job(&mut self, job: Job, seed: u64) -> Evaluation {
        let eval = self.register(job).expect("an evaluation");
        self.process(eval.clone(), seed);
        self.eval(&eval.id)
    }

    pub fn eval(&self, id: &str) -> Evaluation {
        (**self.state.eval(id).expect("eval exists")).clone()
    }

    pub fn job(&self, id: &str) -> Arc<Job> {
        self.state.job(id).expect("job exists").clone()
    }

    /// Allocations of the job that want to run.
    pub fn live(&self, job_id: &str) -> Vec<Arc<Allocation>> {
        self.state
            .allocs_by_job(job_id, true)
            .into_iter()
            .filter(|a| !a.terminal())
            .collect()
    }

    /// Reports every live allocation of the job as finished cleanly.
    pub fn set_complete(&mut self, job_id: &str) {
        let updates = self
            .live(job_id)
            .iter()
            .map(|a| AllocClientUpdate {
                alloc_id: a.id.clone(),
                client_status: "complete".into(),
                task_states: [(
                    "server".to_string(),
                    TaskState {
                        state: "dead".into(),
                        events: vec![TaskEvent {
                            event_type: "Terminated".into(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                )]
                .into(),
                ..Default::default()
            })
            .collect();
        self.apply(Command::UpdateAllocsFromClient { updates });
    }

    /// Node ID → live allocations of the job there.
    pub fn per_node(&self, job_id: &str) -> std::collections::BTreeMap<String, usize> {
        let mut m = std::collections::BTreeMap::new();
        for a in self.live(job_id) {
            *m.entry(a.node_id.clone()).or_default() += 1;
        }
        m
    }
}
