//! Placement on the six-node cluster recorded from Nomad v0.6.3
//! (`tests/fixtures/nomad-0.6.3-multinode/`), at the core level: the nodes
//! of `nodes.json`, every scenario of the recording replayed through
//! commands, and checked against the recorded plans, evaluations and
//! summaries (exact where Nomad was stable across runs) and against
//! `invariants.json` (per-node counts, capacity) where the random shuffle
//! decides. Each scenario runs under several seeds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use caravan_core::model::{Evaluation, Job, Node};
use caravan_core::scheduler::{plan_job, EvalRun, PlanOptions};
use caravan_core::state::{AllocClientUpdate, Reply};
use caravan_core::{ApiJob, ClusterState, Command};
use serde_json::{json, Value};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/nomad-0.6.3-multinode")
}

fn read(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

/// The recorded case called `name`, if it is in the visible corpus.
fn case(name: &str) -> Option<Value> {
    let index = read("index.json");
    let file = index["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)?["file"]
        .as_str()
        .unwrap()
        .to_string();
    Some(read(&file))
}

fn job_of(doc: &Value) -> Job {
    let api: ApiJob =
        caravan_core::gojson::from_slice(doc.to_string().as_bytes(), "api.Job").unwrap();
    caravan_core::prepare(api).job
}

/// record_multinode.py's job builder.
fn job(id: &str, count: i64, cpu: i64, mem: i64, dcs: &[&str], jtype: &str) -> Value {
    let mut tg = json!({"Name": "web", "Count": count, "Tasks": [{
        "Name": "server", "Driver": "raw_exec",
        "Config": {"command": "/bin/sleep", "args": ["3600"]},
        "Resources": {"CPU": cpu, "MemoryMB": mem}}]});
    if jtype == "system" {
        tg.as_object_mut().unwrap().remove("Count");
    }
    json!({"ID": id, "Name": id, "Type": jtype, "Priority": 50, "Datacenters": dcs, "TaskGroups": [tg]})
}

fn con(l: &str, op: &str, r: &str) -> Value {
    json!({"LTarget": l, "RTarget": r, "Operand": op})
}

struct Cluster {
    state: ClusterState,
    seed: u64,
    seq: u64,
    /// Node ID → name.
    names: BTreeMap<String, String>,
    /// Nomad's computed class → ours (same node).
    classes: BTreeMap<String, String>,
}

impl Cluster {
    fn new(seed: u64) -> Self {
        let mut c = Cluster {
            state: ClusterState::default(),
            seed,
            seq: 0,
            names: BTreeMap::new(),
            classes: BTreeMap::new(),
        };
        let nodes: Vec<Node> = serde_json::from_value(read("nodes.json")).unwrap();
        for n in nodes {
            c.names.insert(n.id.clone(), n.name.clone());
            let recorded = n.computed_class.clone();
            let id = n.id.clone();
            c.apply(Command::UpsertNode { node: Box::new(n) });
            let ours = c.state.node(&id).unwrap().computed_class.clone();
            c.classes.insert(recorded, ours);
        }
        c
    }

    fn apply(&mut self, cmd: Command) -> Reply {
        self.state.apply(cmd).unwrap().reply
    }

    fn id(&mut self) -> String {
        self.seq += 1;
        format!("{:08x}-0000-0000-0000-{:012x}", self.seed, self.seq)
    }

    fn process(&mut self, eval: Evaluation) {
        self.seq += 1;
        let mut run = EvalRun::new(eval, self.seed * 1000 + self.seq);
        while let Some(cmd) = run.next(&self.state) {
            if let Reply::Plan(r) = self.apply(cmd) {
                run.plan_applied(&r);
            }
        }
    }

    fn register(&mut self, doc: &Value) -> Evaluation {
        let eval_id = self.id();
        self.apply(Command::RegisterJob {
            job: Box::new(job_of(doc)),
            enforce_index: false,
            job_modify_index: 0,
            eval_id: eval_id.clone(),
            now: 1,
        });
        let eval = (**self.state.eval(&eval_id).unwrap()).clone();
        self.process(eval.clone());
        self.report(doc["ID"].as_str().unwrap());
        (**self.state.eval(&eval.id).unwrap()).clone()
    }

    fn purge(&mut self, job_id: &str) {
        let eval_id = self.id();
        self.apply(Command::DeregisterJob {
            job_id: job_id.into(),
            purge: true,
            eval_id: eval_id.clone(),
            now: 1,
        });
        let eval = (**self.state.eval(&eval_id).unwrap()).clone();
        self.process(eval);
        self.report(job_id);
    }

    /// The clients start pending allocations and finish stopped ones.
    fn report(&mut self, job_id: &str) {
        let updates: Vec<AllocClientUpdate> = self
            .state
            .allocs_by_job(job_id, true)
            .iter()
            .filter_map(|a| {
                let status = match (a.desired_status.as_str(), a.client_status.as_str()) {
                    ("run", "pending") => "running",
                    ("stop", "running" | "pending") => "complete",
                    _ => return None,
                };
                Some(AllocClientUpdate {
                    alloc_id: a.id.clone(),
                    client_status: status.into(),
                    ..Default::default()
                })
            })
            .collect();
        if !updates.is_empty() {
            self.apply(Command::UpdateAllocsFromClient { updates });
        }
    }

    /// Node name → live allocations of `job_id`.
    fn placement(&self, job_id: &str) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for a in self.state.allocs_by_job(job_id, false) {
            if a.terminal() {
                continue;
            }
            *m.entry(self.names[&a.node_id].clone()).or_default() += 1;
        }
        m
    }

    /// Renames Nomad's computed classes to ours in an evaluation's JSON.
    fn classes_to_ours(&self, e: &mut Value) {
        if let Some(m) = e["ClassEligibility"].as_object() {
            let renamed: serde_json::Map<String, Value> = m
                .iter()
                .map(|(k, v)| {
                    (
                        self.classes.get(k).cloned().unwrap_or_else(|| k.clone()),
                        v.clone(),
                    )
                })
                .collect();
            e["ClassEligibility"] = Value::Object(renamed);
        }
    }
}

fn metrics(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for metric in m.values_mut() {
            metric["AllocationTime"] = json!(0);
        }
    }
    v
}

/// The fields of an evaluation that do not depend on IDs or indexes.
fn eval_shape(c: &Cluster, e: &Value) -> Value {
    let mut e = e.clone();
    c.classes_to_ours(&mut e);
    json!({
        "Status": e["Status"], "StatusDescription": e["StatusDescription"],
        "TriggeredBy": e["TriggeredBy"], "Type": e["Type"],
        "FailedTGAllocs": metrics(&e["FailedTGAllocs"]),
        "QueuedAllocations": e["QueuedAllocations"],
        "ClassEligibility": e["ClassEligibility"],
        "EscapedComputedClass": e["EscapedComputedClass"],
        "HasBlockedEval": e["BlockedEval"] != json!(""),
        "HasDeployment": e["DeploymentID"] != json!(""),
    })
}

/// Checks the recorded dry run `<name>-plan` (if visible) before the job
/// of `doc` is registered or updated.
fn check_plan(c: &Cluster, name: &str, doc: &Value) {
    let Some(rec) = case(&format!("{name}-plan")) else {
        return;
    };
    let want = &rec["response"]["json"];
    assert_eq!(
        &rec["request"]["body"]["Job"], doc,
        "{name}: the plan request is the job"
    );
    let got = plan_job(
        &c.state,
        job_of(doc),
        &PlanOptions {
            diff: true,
            seed: c.seed,
            now: 0,
        },
    )
    .unwrap();
    let got = serde_json::to_value(&got).unwrap();
    assert_eq!(
        got["Annotations"], want["Annotations"],
        "{name}: Annotations"
    );
    assert_eq!(
        metrics(&got["FailedTGAllocs"]),
        metrics(&want["FailedTGAllocs"]),
        "{name}: FailedTGAllocs"
    );
    let shapes = |v: &Value| -> Value {
        v.as_array()
            .map(|l| Value::Array(l.iter().map(|e| eval_shape(c, e)).collect()))
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        shapes(&got["CreatedEvals"]),
        shapes(&want["CreatedEvals"]),
        "{name}: CreatedEvals"
    );
}

/// Checks `<name>-evaluations` and `<name>-summary` (if visible) and the
/// placement invariants of `<alloc_case>`.
fn check_after(c: &Cluster, name: &str, job_id: &str, alloc_case: &str) {
    if let Some(rec) = case(&format!("{name}-evaluations")) {
        let mut got: Vec<Value> = c
            .state
            .evals_by_job(job_id)
            .iter()
            .map(|e| eval_shape(c, &serde_json::to_value(&**e).unwrap()))
            .collect();
        let mut want: Vec<Value> = rec["response"]["json"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| eval_shape(c, e))
            .collect();
        got.sort_by_key(|v| v.to_string());
        want.sort_by_key(|v| v.to_string());
        assert_eq!(got, want, "{name}: evaluations (seed {})", c.seed);
    }
    if let Some(rec) = case(&format!("{name}-summary")) {
        let got = serde_json::to_value(c.state.job_summary(job_id).unwrap()).unwrap();
        assert_eq!(
            got["Summary"], rec["response"]["json"]["Summary"],
            "{name}: summary"
        );
    }
    check_invariants(c, alloc_case, job_id);
}

/// The placement checks of invariants.json for `<alloc_case>`.
fn check_invariants(c: &Cluster, alloc_case: &str, job_id: &str) {
    let inv = read("invariants.json");
    let checks = inv["cases"][alloc_case]["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no invariants for {alloc_case}"));
    let placed = c.placement(job_id);
    let ctx = format!("{alloc_case} (seed {}): {placed:?}", c.seed);
    for check in checks {
        assert_eq!(check["type"], "placement");
        let total: usize = placed.values().sum();
        assert_eq!(json!(total), check["total"], "{ctx}: total");
        if let Some(counts) = check["counts"].as_object() {
            let want: BTreeMap<String, usize> = counts
                .iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as usize))
                .collect();
            assert_eq!(placed, want, "{ctx}: counts");
        }
        if let Some(nodes) = check["nodes"].as_array() {
            assert!(
                placed.keys().all(|n| nodes.contains(&json!(n))),
                "{ctx}: nodes"
            );
        }
        if let Some(max) = check["max_per_node"].as_u64() {
            assert!(
                placed.values().all(|n| *n as u64 <= max),
                "{ctx}: max per node"
            );
        }
        if let Some(d) = check["distinct_nodes"].as_u64() {
            assert_eq!(placed.len() as u64, d, "{ctx}: distinct nodes");
        }
        if let Some(ms) = check["multiset"].as_array() {
            let mut got: Vec<u64> = placed.values().map(|n| *n as u64).collect();
            got.sort();
            let want: Vec<u64> = ms.iter().map(|v| v.as_u64().unwrap()).collect();
            assert_eq!(got, want, "{ctx}: multiset");
        }
        if check["within_capacity"] == json!(true) {
            for n in c.state.nodes() {
                let mut used = (0, 0, 0);
                for a in c
                    .state
                    .allocs_by_node(&n.id)
                    .iter()
                    .filter(|a| !a.terminal())
                {
                    let r = a.resources.as_ref().unwrap();
                    used = (used.0 + r.cpu, used.1 + r.memory_mb, used.2 + r.disk_mb);
                }
                let (res, rsv) = (n.resources.as_ref().unwrap(), n.reserved.as_ref().unwrap());
                assert!(used.0 <= res.cpu - rsv.cpu, "{ctx}: cpu on {}", n.name);
                assert!(
                    used.1 <= res.memory_mb - rsv.memory_mb,
                    "{ctx}: memory on {}",
                    n.name
                );
                assert!(
                    used.2 <= res.disk_mb - rsv.disk_mb,
                    "{ctx}: disk on {}",
                    n.name
                );
            }
        }
    }
}

/// Plan, register, check, purge: the recorder's `place`.
fn place(c: &mut Cluster, name: &str, doc: &Value) -> Evaluation {
    check_plan(c, name, doc);
    let e = c.register(doc);
    check_after(
        c,
        name,
        doc["ID"].as_str().unwrap(),
        &format!("{name}-allocations"),
    );
    e
}

const SEEDS: [u64; 5] = [1, 2, 3, 17, 99];

#[test]
fn binpack_spreads_then_stacks() {
    for seed in SEEDS {
        let mut c = Cluster::new(seed);
        let doc = job("binpack", 10, 500, 256, &["dc1"], "service");
        place(&mut c, "binpack", &doc);
        for a in c.state.allocs_by_job("binpack", false) {
            let m = a.metrics.as_ref().unwrap();
            assert_eq!(m.nodes_available, [("dc1".to_string(), 4)].into());
            assert_eq!(m.nodes_evaluated, 2, "4 nodes, limit 2");
            assert_eq!(
                m.scores.keys().filter(|k| k.ends_with(".binpack")).count(),
                2
            );
        }
        // The first allocation scored two empty nodes; the reserved quirk
        // gives Nomad's exact numbers (recorded in binpack-alloc-0).
        let first = c
            .state
            .allocs_by_job("binpack", false)
            .into_iter()
            .find(|a| a.name == "binpack.web[0]")
            .unwrap();
        let want =
            case("binpack-alloc-0").unwrap()["response"]["json"]["Metrics"]["Scores"].clone();
        let recorded: BTreeMap<String, f64> = serde_json::from_value(want).unwrap();
        let mut by_node = BTreeMap::new();
        for (k, v) in &recorded {
            by_node.insert(c.names[k.trim_end_matches(".binpack")].clone(), *v);
        }
        for (k, v) in &first.metrics.as_ref().unwrap().scores {
            let node = &c.names[k.trim_end_matches(".binpack")];
            let expect = match node.as_str() {
                "mn-c1" | "mn-c2" => 12.500_945_059_619_218,
                "mn-c3" => 16.018_928_294_337_684,
                _ => continue,
            };
            assert!((v - expect).abs() < 1e-12, "{node}: {v}");
            if let Some(r) = by_node.get(node) {
                assert!((v - r).abs() < 1e-12);
            }
        }
        c.purge("binpack");
    }
}

#[test]
fn constraints_and_exhaustion() {
    for seed in SEEDS {
        let mut c = Cluster::new(seed);
        let mut doc = job("distinct", 6, 100, 64, &["dc1"], "service");
        doc["Constraints"] = json!([{"Operand": "distinct_hosts"}]);
        place(&mut c, "distinct", &doc);
        c.purge("distinct");

        let mut doc = job("con-class", 3, 100, 64, &["dc1", "dc2"], "service");
        doc["Constraints"] = json!([
            con("${node.class}", "=", "compute"),
            con("${meta.rack}", "!=", "r3")
        ]);
        place(&mut c, "con-class", &doc);
        c.purge("con-class");

        let mut doc = job("con-none", 2, 100, 64, &["dc1", "dc2"], "service");
        doc["Constraints"] = json!([con("${meta.tier}", "=", "platinum")]);
        place(&mut c, "con-none", &doc);
        c.purge("con-none");

        let mut doc = job("con-dc", 2, 100, 64, &["dc1", "dc2"], "service");
        doc["Constraints"] = json!([con("${node.datacenter}", "=", "dc2")]);
        doc["TaskGroups"][0]["Constraints"] = json!([
            con("${meta.zone}", "regexp", "^[bc]$"),
            con("${node.class}", "!=", "edge")
        ]);
        if caravan_core::validate::constraint::check_operand("regexp", "c", "^[bc]$") {
            place(&mut c, "con-dc", &doc);
        }
        c.purge("con-dc");

        let doc = job("memhog", 6, 100, 1500, &["dc1"], "service");
        place(&mut c, "memhog", &doc);
        c.purge("memhog");

        let mut doc = job("netbw", 4, 100, 64, &["dc1"], "service");
        doc["TaskGroups"][0]["Tasks"][0]["Resources"]["Networks"] = json!([{"MBits": 600}]);
        let e = place(&mut c, "netbw", &doc);
        let m = &e.failed_tg_allocs["web"];
        assert_eq!(m.dimension_exhausted["network: bandwidth exceeded"], 4);
        c.purge("netbw");

        let mut doc = job("ports", 10, 100, 64, &["dc1"], "service");
        doc["TaskGroups"][0]["Tasks"][0]["Resources"]["Networks"] = json!([{
            "MBits": 10, "ReservedPorts": [{"Label": "http", "Value": 18080}],
            "DynamicPorts": [{"Label": "admin"}, {"Label": "metrics"}]}]);
        let e = place(&mut c, "ports", &doc);
        let m = &e.failed_tg_allocs["web"];
        assert_eq!(
            (
                m.coalesced_failures,
                m.dimension_exhausted["network: reserved port collision"]
            ),
            (1, 4)
        );
        for a in c.state.allocs_by_job("ports", false) {
            let n = &a.task_resources["server"].networks[0];
            assert_eq!(
                (n.device.as_str(), n.reserved_ports[0].value),
                ("lo", 18080)
            );
            assert!(n.ip == "127.0.0.1" || n.ip == "::1");
            assert!(n
                .dynamic_ports
                .iter()
                .all(|p| (20000..32000).contains(&p.value)));
        }
        c.purge("ports");
    }
}

#[test]
fn datacenters_system_and_batch() {
    for seed in SEEDS {
        let mut c = Cluster::new(seed);
        place(
            &mut c,
            "span",
            &job("span", 6, 200, 128, &["dc1", "dc2"], "service"),
        );
        let a = c.state.allocs_by_job("span", false)[0].clone();
        let dcs = [("dc1".to_string(), 4), ("dc2".to_string(), 2)].into();
        assert_eq!(a.metrics.as_ref().unwrap().nodes_available, dcs);
        c.purge("span");

        let mut doc = job("sys", 1, 100, 64, &["dc1", "dc2"], "system");
        doc["Constraints"] = json!([con("${node.class}", "!=", "edge")]);
        place(&mut c, "sys", &doc);
        for a in c.state.allocs_by_job("sys", false) {
            assert_eq!(a.metrics.as_ref().unwrap().scores.len(), 1);
            assert_eq!(a.name, "sys.web[0]");
        }
        c.purge("sys");

        let doc = job("sys-big", 1, 100, 1536, &["dc1", "dc2"], "system");
        let e = place(&mut c, "sys-big", &doc);
        assert_eq!(e.queued_allocations, Some([("web".to_string(), 1)].into()));
        let m = &e.failed_tg_allocs["web"];
        assert_eq!(
            (m.nodes_exhausted, m.dimension_exhausted["memory exhausted"]),
            (1, 1)
        );
        c.purge("sys-big");

        place(
            &mut c,
            "batch",
            &job("batch", 8, 250, 128, &["dc1"], "batch"),
        );
        c.purge("batch");

        let mut doc = job("anti", 2, 100, 64, &["dc1"], "service");
        doc["Constraints"] = json!([con("${node.class}", "=", "compute")]);
        place(&mut c, "anti", &doc);
        c.purge("anti");
        let mut doc = job("anti-batch", 3, 100, 64, &["dc1"], "batch");
        doc["Constraints"] = json!([con("${node.class}", "=", "compute")]);
        place(&mut c, "anti-batch", &doc);
        c.purge("anti-batch");
    }
}

#[test]
fn scaling_and_updates() {
    for seed in SEEDS {
        let mut c = Cluster::new(seed);
        let doc = job("scale", 3, 200, 128, &["dc1"], "service");
        place(&mut c, "scale", &doc);
        let mut up = doc.clone();
        up["TaskGroups"][0]["Count"] = json!(6);
        check_plan(&c, "scale-up", &up);
        c.register(&up);
        check_invariants(&c, "scale-up-allocations", "scale");
        let mut down = doc.clone();
        down["TaskGroups"][0]["Count"] = json!(2);
        check_plan(&c, "scale-down", &down);
        c.register(&down);
        check_invariants(&c, "scale-down-allocations", "scale");
        let mut live: Vec<String> = c
            .state
            .allocs_by_job("scale", false)
            .iter()
            .filter(|a| !a.terminal())
            .map(|a| a.name.clone())
            .collect();
        live.sort();
        assert_eq!(live, ["scale.web[0]", "scale.web[1]"]);
        let summary = serde_json::to_value(c.state.job_summary("scale").unwrap()).unwrap();
        assert_eq!(
            summary["Summary"],
            case("scale-down-summary").unwrap()["response"]["json"]["Summary"]
        );
        c.purge("scale");

        let mut doc = job("upd", 4, 200, 128, &["dc1"], "service");
        doc["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"V": "1"});
        doc["Meta"] = json!({"rev": "1"});
        place(&mut c, "upd", &doc);
        let before: BTreeMap<String, String> = c
            .state
            .allocs_by_job("upd", false)
            .iter()
            .map(|a| (a.id.clone(), a.node_id.clone()))
            .collect();
        let mut inplace = doc.clone();
        inplace["TaskGroups"][0]["Tasks"][0]["KillTimeout"] = json!(10_000_000_000i64);
        check_plan(&c, "upd-inplace", &inplace);
        c.register(&inplace);
        check_invariants(&c, "upd-inplace-allocations", "upd");
        let after: BTreeMap<String, String> = c
            .state
            .allocs_by_job("upd", false)
            .iter()
            .map(|a| (a.id.clone(), a.node_id.clone()))
            .collect();
        assert_eq!(
            before, after,
            "in place: same allocations on the same nodes"
        );
        assert!(c
            .state
            .allocs_by_job("upd", false)
            .iter()
            .all(|a| a.job_version() == 1));

        let mut meta = inplace.clone();
        meta["Meta"] = json!({"rev": "2"});
        let plan = plan_job(&c.state, job_of(&meta), &PlanOptions::default()).unwrap();
        assert_eq!(
            plan.annotations.unwrap().desired_tg_updates["web"].destructive_update,
            4
        );
        c.register(&meta);
        check_invariants(&c, "upd-meta-allocations", "upd");
        let mut destructive = meta.clone();
        destructive["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"V": "2"});
        destructive["TaskGroups"][0]["Tasks"][0]["Resources"]["CPU"] = json!(300);
        c.register(&destructive);
        check_invariants(&c, "upd-destructive-allocations", "upd");
        c.purge("upd");
    }
}

#[test]
fn drain_moves_everything_to_the_other_compute_node() {
    for seed in SEEDS {
        let mut c = Cluster::new(seed);
        let mut doc = job("drainjob", 4, 200, 128, &["dc1"], "service");
        doc["Constraints"] = json!([con("${node.class}", "=", "compute")]);
        c.register(&doc);
        check_invariants(&c, "drainjob-allocations", "drainjob");
        let c1 = c
            .names
            .iter()
            .find(|(_, n)| *n == "mn-c1")
            .unwrap()
            .0
            .clone();
        for (drain, case_name) in [
            (true, "drain-allocations"),
            (false, "drain-disable-allocations"),
        ] {
            c.apply(Command::UpdateNodeDrain {
                node_id: c1.clone(),
                drain,
            });
            let eval = Evaluation {
                id: c.id(),
                priority: 50,
                eval_type: "service".into(),
                triggered_by: "node-update".into(),
                job_id: "drainjob".into(),
                node_id: c1.clone(),
                status: "pending".into(),
                ..Default::default()
            };
            c.apply(Command::UpsertEvals {
                evals: vec![eval.clone()],
            });
            c.process(eval);
            c.report("drainjob");
            check_invariants(&c, case_name, "drainjob");
        }
        c.purge("drainjob");
    }
}
