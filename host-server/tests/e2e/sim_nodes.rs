//! Simulated nodes (`-sim-spec`, `-sim-nodes`) and node heartbeats: the
//! recorded cluster registered as recorded, allocations moving through
//! their client states without executing anything, and a node that stops
//! heartbeating marked down with its allocations replaced elsewhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{eventually, request, temp_dir, Server};

fn spec_path() -> String {
    format!(
        "{}/../tests/fixtures/nomad-0.6.3-multinode/nodes.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn job(id: &str, job_type: &str, count: u32, dcs: &[&str], command: &str, args: &[&str]) -> String {
    json!({"Job": {"ID": id, "Name": id, "Type": job_type, "Datacenters": dcs,
        "TaskGroups": [{"Name": "web", "Count": count, "Tasks": [{"Name": "server",
            "Driver": "raw_exec", "Config": {"command": command, "args": args},
            "Resources": {"CPU": 100, "MemoryMB": 64}}]}]}})
    .to_string()
}

fn allocs(s: &Server, job: &str) -> Vec<Value> {
    s.get(&format!("/v1/job/{job}/allocations"))
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn event_types(alloc: &Value) -> Vec<String> {
    alloc["TaskStates"]["server"]["Events"]
        .as_array()
        .map(|evs| {
            evs.iter()
                .map(|e| e["Type"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the job has `n` allocations in `status` and returns them.
fn wait_for(s: &Server, job: &str, n: usize, status: &str) -> Vec<Value> {
    let mut found = Vec::new();
    eventually(&format!("{n} {status} allocations of {job}"), || {
        found = allocs(s, job)
            .into_iter()
            .filter(|a| a["ClientStatus"] == status)
            .collect();
        found.len() == n
    });
    found
}

#[test]
fn the_recorded_cluster_registers_as_recorded_and_without_a_dev_node() {
    let dir = temp_dir("sim-spec");
    let spec = spec_path();
    let s = Server::start_in(&dir, &["-sim-spec", &spec, "-node", "mn-server"]);
    let mut nodes = Vec::new();
    eventually("six ready nodes", || {
        nodes = s
            .get("/v1/nodes")
            .json()
            .as_array()
            .cloned()
            .unwrap_or_default();
        nodes.len() == 6 && nodes.iter().all(|n| n["Status"] == "ready")
    });
    let order = |key: &str| -> Vec<String> {
        let mut v: Vec<(u64, String)> = nodes
            .iter()
            .map(|n| {
                (
                    n[key].as_u64().unwrap_or(0),
                    n["Name"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, name)| name).collect()
    };
    // Nomad's recording: registrations in CreateIndex order, then each
    // node turning ready in ModifyIndex order.
    assert_eq!(
        order("CreateIndex"),
        ["mn-c6", "mn-c1", "mn-c4", "mn-c3", "mn-c2", "mn-c5"]
    );
    assert_eq!(
        order("ModifyIndex"),
        ["mn-c3", "mn-c4", "mn-c2", "mn-c6", "mn-c1", "mn-c5"]
    );
    let c4 = s
        .get("/v1/node/553f3013-8550-5d07-941c-0037e6cf7689")
        .json();
    assert_eq!(c4["Name"], "mn-c4");
    assert_eq!(c4["NodeClass"], "edge");
    assert_eq!(
        c4["Meta"],
        json!({"rack": "r2", "zone": "b", "tier": "bronze"})
    );
    assert_eq!(c4["Reserved"]["MemoryMB"], 23081);
    assert_eq!(c4["Resources"]["Networks"][0]["MBits"], 100);
    let me = s.get("/v1/agent/self").json();
    assert_eq!(me["config"]["NodeName"], "mn-server");
    assert_eq!(me["config"]["DevMode"], false);
    assert_eq!(me["config"]["Client"]["Enabled"], false);
    assert_eq!(
        s.get("/v1/client/stats").body,
        "node is not running a Nomad Client"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A job of the multinode corpus: one `web` group of `count` raw_exec
/// tasks with the given resources and constraints.
fn corpus_job(
    id: &str,
    job_type: &str,
    count: u32,
    mem: u32,
    dcs: &[&str],
    constraints: Value,
) -> String {
    let mut tg = json!({"Name": "web", "Count": count, "Tasks": [{"Name": "server",
        "Driver": "raw_exec", "Config": {"command": "/bin/sleep", "args": ["3600"]},
        "Resources": {"CPU": 100, "MemoryMB": mem}}]});
    if job_type == "system" {
        tg.as_object_mut().map(|o| o.remove("Count"));
    }
    json!({"Job": {"ID": id, "Name": id, "Type": job_type, "Priority": 50,
        "Datacenters": dcs, "Constraints": constraints, "TaskGroups": [tg]}})
    .to_string()
}

/// Running allocations of the job per node name, sorted by name.
fn running_per_node(s: &Server, job: &str, n: usize) -> Vec<(String, usize)> {
    let names: std::collections::HashMap<String, String> = s
        .get("/v1/nodes")
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|n| {
            let field = |k: &str| n[k].as_str().unwrap_or("").to_string();
            (field("ID"), field("Name"))
        })
        .collect();
    let mut per_node = std::collections::BTreeMap::new();
    for a in wait_for(s, job, n, "running") {
        let node = a["NodeID"].as_str().unwrap_or("");
        let name = names.get(node).cloned().unwrap_or_else(|| node.to_string());
        *per_node.entry(name).or_insert(0) += 1;
    }
    per_node.into_iter().collect()
}

fn counts(pairs: &[(&str, usize)]) -> Vec<(String, usize)> {
    pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

#[test]
fn the_recorded_cluster_places_as_nomad_did() {
    let dir = temp_dir("sim-place");
    let spec = spec_path();
    let s = Server::start_in(&dir, &["-sim-spec", &spec]);
    eventually("six ready nodes", || {
        let nodes = s.get("/v1/nodes").json();
        nodes
            .as_array()
            .is_some_and(|l| l.len() == 6 && l.iter().all(|n| n["Status"] == "ready"))
    });
    // distinct_hosts, count 6 in dc1's four nodes: one each, two unplaced.
    let distinct = json!([{"Operand": "distinct_hosts"}]);
    let r = s.put(
        "/v1/job/distinct",
        &corpus_job("distinct", "service", 6, 64, &["dc1"], distinct),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        running_per_node(&s, "distinct", 4),
        counts(&[("mn-c1", 1), ("mn-c2", 1), ("mn-c3", 1), ("mn-c4", 1)])
    );
    // The register evaluation completes with the failures' metrics and
    // leaves a blocked one behind, as in the recording.
    let mut evals = Vec::new();
    eventually("the distinct job's evaluations", || {
        evals = s
            .get("/v1/job/distinct/evaluations")
            .json()
            .as_array()
            .cloned()
            .unwrap_or_default();
        evals.len() == 2 && evals.iter().all(|e| e["Status"] != "pending")
    });
    evals.sort_by_key(|e| e["Status"].as_str().unwrap_or("").to_string());
    assert_eq!(evals[0]["Status"], "blocked");
    let failed = &evals[1]["FailedTGAllocs"]["web"];
    assert_eq!(evals[1]["Status"], "complete");
    assert_eq!(failed["NodesAvailable"], json!({"dc1": 4}));
    assert_eq!(failed["ConstraintFiltered"], json!({"distinct_hosts": 4}));
    assert_eq!(failed["CoalescedFailures"], 1);

    // 1500 MB each in dc1 (4096/4096/2048/1024 MB free): 2 + 2 + 1.
    let r = s.put(
        "/v1/job/memhog",
        &corpus_job("memhog", "service", 6, 1500, &["dc1"], json!([])),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        running_per_node(&s, "memhog", 5),
        counts(&[("mn-c1", 2), ("mn-c2", 2), ("mn-c3", 1)])
    );

    // A system job over both datacenters on every node but the edge one.
    let not_edge = json!([{"LTarget": "${node.class}", "RTarget": "edge", "Operand": "!="}]);
    let r = s.put(
        "/v1/job/sys",
        &corpus_job("sys", "system", 0, 64, &["dc1", "dc2"], not_edge),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        running_per_node(&s, "sys", 5),
        counts(&[
            ("mn-c1", 1),
            ("mn-c2", 1),
            ("mn-c3", 1),
            ("mn-c5", 1),
            ("mn-c6", 1)
        ])
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_recorded_cluster_bin_packs_as_nomad_did() {
    let dir = temp_dir("sim-binpack");
    let spec = spec_path();
    let s = Server::start_in(&dir, &["-sim-spec", &spec]);
    eventually("six ready nodes", || {
        let nodes = s.get("/v1/nodes").json();
        nodes
            .as_array()
            .is_some_and(|l| l.len() == 6 && l.iter().all(|n| n["Status"] == "ready"))
    });
    // Count 10 of 500 MHz / 256 MB over dc1's four nodes: which two nodes
    // get the third allocation is the shuffle's choice, the spread is not.
    let mut j: Value = serde_json::from_str(&corpus_job(
        "binpack",
        "service",
        10,
        256,
        &["dc1"],
        json!([]),
    ))
    .expect("job JSON");
    j["Job"]["TaskGroups"][0]["Tasks"][0]["Resources"]["CPU"] = json!(500);
    let r = s.put("/v1/job/binpack", &j.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let per_node = running_per_node(&s, "binpack", 10);
    let names: Vec<&str> = per_node.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["mn-c1", "mn-c2", "mn-c3", "mn-c4"]);
    let mut spread: Vec<usize> = per_node.iter().map(|(_, c)| *c).collect();
    spread.sort();
    assert_eq!(spread, [2, 2, 3, 3]);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simulated_allocations_run_finish_and_stop_without_executing_anything() {
    let dir = temp_dir("sim-nodes");
    let s = Server::start_in(
        &dir,
        &[
            "-sim-nodes",
            "3",
            "-sim-dc",
            "dc1,dc2",
            "-sim-class",
            "sim",
            "-sim-cpu",
            "2000",
            "-sim-memory",
            "1024",
            "-sim-batch-runtime",
            "1s",
            // Several heartbeats within the test: the nodes must stay up.
            "-min-heartbeat-ttl",
            "300ms",
            "-heartbeat-grace",
            "1s",
        ],
    );
    let mut nodes = Vec::new();
    eventually("three ready nodes", || {
        nodes = s
            .get("/v1/nodes")
            .json()
            .as_array()
            .cloned()
            .unwrap_or_default();
        nodes.len() == 3 && nodes.iter().all(|n| n["Status"] == "ready")
    });
    let dcs: Vec<&str> = nodes
        .iter()
        .filter_map(|n| n["Datacenter"].as_str())
        .collect();
    assert_eq!(dcs.iter().filter(|d| **d == "dc1").count(), 2);
    let id = nodes[0]["ID"].as_str().expect("ID");
    let node = s.get(&format!("/v1/node/{id}")).json();
    assert_eq!(node["NodeClass"], "sim");
    assert_eq!(node["Attributes"]["driver.docker"], "1");
    assert_eq!(node["Attributes"]["kernel.name"], "linux");
    assert_eq!(node["Resources"]["CPU"], 2000);
    assert_eq!(node["Resources"]["MemoryMB"], 1024);

    // A service job: received, set up, started; running until stopped.
    let r = s.put(
        "/v1/job/svc",
        &job(
            "svc",
            "service",
            3,
            &["dc1", "dc2"],
            "/usr/bin/does-not-exist",
            &[],
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for a in wait_for(&s, "svc", 3, "running") {
        assert_eq!(event_types(&a), ["Received", "Task Setup", "Started"]);
        assert_eq!(a["TaskStates"]["server"]["State"], "running");
    }
    // A batch job whose command is not `sleep` runs -sim-batch-runtime; one
    // running `sleep 0.2` runs 200 ms.
    let r = s.put(
        "/v1/job/short",
        &job("short", "batch", 2, &["dc1"], "/bin/sleep", &["0.2"]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.put(
        "/v1/job/long",
        &job("long", "batch", 2, &["dc1"], "/bin/true", &[]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for a in wait_for(&s, "short", 2, "complete") {
        assert_eq!(
            event_types(&a),
            ["Received", "Task Setup", "Started", "Terminated"]
        );
        let ts = &a["TaskStates"]["server"];
        assert_eq!(
            (ts["State"].as_str(), ts["Failed"].as_bool()),
            (Some("dead"), Some(false))
        );
        assert_eq!(ts["Events"][3]["ExitCode"], 0);
    }
    assert!(
        allocs(&s, "long")
            .iter()
            .all(|a| a["ClientStatus"] != "complete"),
        "a 1 s batch task finished with the 200 ms one"
    );
    for a in wait_for(&s, "long", 2, "complete") {
        // Simulated time: the task ran -sim-batch-runtime between its
        // Started and Terminated events.
        let events = &a["TaskStates"]["server"]["Events"];
        let ran = events[3]["Time"].as_i64().unwrap_or(0) - events[2]["Time"].as_i64().unwrap_or(0);
        assert!(ran >= 1_000_000_000, "{ran}");
    }
    let summary = s.get("/v1/job/long/summary").json();
    assert_eq!(summary["Summary"]["web"]["Complete"], 2);
    assert_eq!(s.get("/v1/job/long").json()["Status"], "dead");

    // Stopping the service job kills its tasks.
    let r = s.call("DELETE", "/v1/job/svc", None);
    assert_eq!(r.status, 200, "{}", r.body);
    for a in wait_for(&s, "svc", 3, "complete") {
        assert_eq!(a["DesiredStatus"], "stop");
        assert_eq!(
            event_types(&a),
            ["Received", "Task Setup", "Started", "Killing", "Killed"]
        );
    }
    // All that took several heartbeat TTLs: no node went down.
    let nodes = s.get("/v1/nodes").json();
    assert!(
        nodes
            .as_array()
            .is_some_and(|l| l.iter().all(|n| n["Status"] == "ready")),
        "{nodes}"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

fn external_node(id: &str, name: &str) -> String {
    json!({"ID": id, "Datacenter": "dc1", "Name": name,
        "Attributes": {"kernel.name": "linux", "driver.raw_exec": "1"},
        "Resources": {"CPU": 4000, "MemoryMB": 8192, "DiskMB": 10000, "IOPS": 0}})
    .to_string()
}

/// Heartbeats `id` every 200 ms until `stop` is set.
fn keep_alive(addr: String, id: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let body = json!({"NodeID": id, "Status": "ready"}).to_string();
        while !stop.load(Ordering::SeqCst) {
            let r = request(&addr, "PUT", "/v1/caravan/node/status", Some(&body));
            assert_eq!(r.status, 200, "{}", r.body);
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

#[test]
fn a_node_that_stops_heartbeating_goes_down_and_its_allocations_are_replaced() {
    let dir = temp_dir("heartbeat");
    let s = Server::start_in(
        &dir,
        &["-min-heartbeat-ttl", "1s", "-heartbeat-grace", "1s"],
    );
    let ids = [
        "0b9c8a52-6e1f-4d3a-9f5e-2c7b1a0d4e61",
        "1c8d7b63-7f2a-4e4b-8a6f-3d8c2b1e5f72",
    ];
    let mut stops = Vec::new();
    let mut beats = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let r = s.put(
            "/v1/caravan/node/register",
            &external_node(id, &format!("ext-{i}")),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let ttl = r.json()["HeartbeatTTL"].as_u64().expect("HeartbeatTTL");
        // 1 s scaled by nothing, plus up to 1 s of stagger.
        assert!((1_000_000_000..2_000_000_000).contains(&ttl), "{ttl}");
        let stop = Arc::new(AtomicBool::new(false));
        beats.push(keep_alive(s.addr.clone(), id.to_string(), stop.clone()));
        stops.push(stop);
    }
    eventually("two ready nodes", || {
        let nodes = s.get("/v1/nodes").json();
        nodes
            .as_array()
            .is_some_and(|l| l.len() == 2 && l.iter().all(|n| n["Status"] == "ready"))
    });
    let r = s.put(
        "/v1/job/web",
        &job("web", "service", 1, &["dc1"], "/bin/sleep", &["600"]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let mut first = Value::Null;
    eventually("a placed allocation", || {
        first = allocs(&s, "web").into_iter().next().unwrap_or(Value::Null);
        !first.is_null()
    });
    let alloc_id = first["ID"].as_str().expect("alloc ID").to_string();
    let lost_node = first["NodeID"].as_str().expect("node ID").to_string();
    let other = ids
        .iter()
        .position(|id| *id != lost_node)
        .expect("the other node");
    // The node reports its allocation running, then falls silent.
    let update = json!([{"alloc_id": alloc_id, "client_status": "running",
        "client_description": "", "task_states": {}, "deployment_status": null}]);
    let r = s.put("/v1/caravan/node/allocs", &update.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let silent = 1 - other;
    stops[silent].store(true, Ordering::SeqCst);

    eventually("the silent node down", || {
        s.get(&format!("/v1/node/{lost_node}")).json()["Status"] == "down"
    });
    let mut replacement = Value::Null;
    eventually("the allocation lost and replaced", || {
        let all = allocs(&s, "web");
        let lost = all.iter().any(|a| {
            a["ID"] == alloc_id.as_str()
                && a["ClientStatus"] == "lost"
                && a["DesiredStatus"] == "stop"
                && a["DesiredDescription"] == "alloc is lost since its node is down"
        });
        replacement = all
            .into_iter()
            .find(|a| a["ID"] != alloc_id.as_str() && a["DesiredStatus"] == "run")
            .unwrap_or(Value::Null);
        lost && !replacement.is_null()
    });
    assert_eq!(replacement["NodeID"], ids[other]);
    assert_eq!(replacement["Name"], "web.web[0]");
    let evals = s.get("/v1/job/web/evaluations").json();
    assert!(
        evals.as_array().is_some_and(|l| l
            .iter()
            .any(|e| e["TriggeredBy"] == "node-update" && e["NodeID"] == lost_node.as_str())),
        "{evals}"
    );
    assert_eq!(
        s.get(&format!("/v1/node/{}", ids[other])).json()["Status"],
        "ready"
    );

    // The node comes back with a heartbeat; a node the server does not
    // know is told so.
    let back = json!({"NodeID": lost_node, "Status": "ready"}).to_string();
    let r = s.put("/v1/caravan/node/status", &back);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.get(&format!("/v1/node/{lost_node}")).json()["Status"],
        "ready"
    );
    let unknown = json!({"NodeID": "nope", "Status": "ready"}).to_string();
    let r = s.put("/v1/caravan/node/status", &unknown);
    assert_eq!((r.status, r.body.as_str()), (500, "node not found"));

    for stop in &stops {
        stop.store(true, Ordering::SeqCst);
    }
    for b in beats {
        b.join().expect("heartbeat thread");
    }
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn many_nodes_are_watched_with_one_query() {
    let dir = temp_dir("watch-many");
    let s = Server::start_in(&dir, &["-sim-nodes", "4"]);
    eventually("four ready nodes", || {
        let nodes = s.get("/v1/nodes").json();
        nodes
            .as_array()
            .is_some_and(|l| l.len() == 4 && l.iter().all(|n| n["Status"] == "ready"))
    });
    let r = s.put(
        "/v1/job/many",
        &job("many", "service", 4, &["dc1"], "/bin/sleep", &["600"]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let placed = wait_for(&s, "many", 4, "running");
    // Watch the nodes of two allocations (maybe one node twice).
    let ids: Vec<String> = placed[..2]
        .iter()
        .filter_map(|a| a["NodeID"].as_str().map(str::to_string))
        .collect();
    let two = format!("{},{}", ids[0], ids[1]);
    let all = s.get(&format!("/v1/caravan/nodes/allocations?nodes={two}"));
    let listed = all.json();
    let on_two = allocs(&s, "many")
        .iter()
        .filter(|a| a["NodeID"] == ids[0] || a["NodeID"] == ids[1])
        .count();
    assert_eq!(listed.as_array().map(Vec::len), Some(on_two));
    // Nothing changed since: the watch blocks for its wait.
    let index = all.index();
    let r = s.get(&format!(
        "/v1/caravan/nodes/allocations?nodes={two}&index={index}&wait=300ms"
    ));
    assert_eq!((r.body.as_str(), r.index()), ("[]", index));
    // A stop wakes it with just the changed allocations of those nodes.
    let watcher = {
        let (addr, path) = (
            s.addr.clone(),
            format!("/v1/caravan/nodes/allocations?nodes={two}&index={index}&wait=20s"),
        );
        std::thread::spawn(move || request(&addr, "GET", &path, None))
    };
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(s.call("DELETE", "/v1/job/many", None).status, 200);
    // A watch that timed out would answer `[]`.
    let woke = watcher.join().expect("watcher");
    let changed = woke.json();
    let changed = changed.as_array().expect("list");
    assert!(
        !changed.is_empty() && changed.len() <= on_two,
        "{changed:?}"
    );
    assert!(changed
        .iter()
        .all(|a| (a["NodeID"] == ids[0] || a["NodeID"] == ids[1]) && a["DesiredStatus"] == "stop"));
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
