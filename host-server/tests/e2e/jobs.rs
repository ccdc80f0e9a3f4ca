//! The job endpoints' happy paths: bodies, indexes and headers.

use serde_json::json;

use crate::support::{eventually, job_json, Server};

#[test]
fn register_read_list_and_stop() {
    let s = Server::start("jobs");
    let r = s.put("/v1/jobs", &job_json("simple", "1"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.nomad_headers(), vec!["X-Nomad-Index"]);
    assert_eq!(r.header("X-Nomad-Index"), Some("2"));
    let body = r.json();
    assert_eq!(body["EvalCreateIndex"], 2);
    assert_eq!(body["JobModifyIndex"], 1);
    assert_eq!(body["Index"], 2);
    assert_eq!(body["Warnings"], "");
    assert_eq!(
        (body["LastContact"].clone(), body["KnownLeader"].clone()),
        (json!(0), json!(false))
    );
    let eval_id = body["EvalID"].as_str().expect("EvalID").to_string();
    assert_eq!(eval_id.len(), 36);

    let job = s.get("/v1/job/simple");
    assert_eq!(job.status, 200);
    assert_eq!(
        job.nomad_headers(),
        vec![
            "X-Nomad-Index",
            "X-Nomad-Knownleader",
            "X-Nomad-Lastcontact"
        ]
    );
    let j = job.json();
    assert_eq!(job.index(), j["ModifyIndex"].as_u64().expect("ModifyIndex"));
    assert_eq!(
        (
            j["ID"].clone(),
            j["Version"].clone(),
            j["CreateIndex"].clone()
        ),
        (json!("simple"), json!(0), json!(1))
    );
    // Case-insensitive lookup.
    assert_eq!(s.get("/v1/job/SIMPLE").json()["ID"], "simple");

    // The evaluation is readable and the worker finishes it.
    let e = s.get(&format!("/v1/evaluation/{eval_id}"));
    assert_eq!(e.status, 200);
    assert_eq!(e.json()["JobID"], "simple");
    eventually("the eval to finish", || {
        s.get(&format!("/v1/evaluation/{eval_id}")).json()["Status"] != "pending"
    });

    // Pretty output: four spaces and a trailing newline.
    let p = s.get("/v1/job/simple?pretty");
    assert!(p
        .body
        .starts_with("{\n    \"Stop\": false,\n    \"Region\": \"global\",\n"));
    assert!(p.body.ends_with("}\n"));
    assert!(!s.get("/v1/job/simple?pretty=0").body.contains('\n'));

    // Lists and prefixes.
    assert_eq!(s.put("/v1/job/other", &job_json("other", "1")).status, 200);
    let list = s.get("/v1/jobs?prefix=SIM").json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["ID"], "simple");
    assert_eq!(s.get("/v1/jobs?prefix=zzz").body, "[]");
    let all = s.get("/v1/jobs");
    assert_eq!(all.json().as_array().map(Vec::len), Some(2));
    assert_eq!(
        all.index(),
        s.get("/v1/job/other").json()["ModifyIndex"]
            .as_u64()
            .expect("index")
    );

    // Identical re-register: no new version, a new eval.
    let again = s.put("/v1/job/simple", &job_json("simple", "1")).json();
    assert_eq!(again["JobModifyIndex"], 1);
    assert!(again["EvalCreateIndex"].as_u64() > Some(2));
    // A change: version 1, and the versions endpoint lists both.
    let changed = s.put("/v1/job/simple", &job_json("simple", "2")).json();
    let v = s.get("/v1/job/simple/versions");
    assert_eq!(v.status, 200);
    let vj = v.json();
    assert_eq!(vj["Versions"][0]["Version"], 1);
    assert_eq!(vj["Versions"][1]["Version"], 0);
    assert_eq!(vj["Diffs"], json!(null));
    assert_eq!(vj["KnownLeader"], true);
    assert_eq!(
        vj["Versions"][0]["JobModifyIndex"],
        changed["JobModifyIndex"]
    );
    let with_diffs = s.get("/v1/job/simple/versions?diffs=true").json();
    assert_eq!(with_diffs["Diffs"].as_array().map(Vec::len), Some(1));
    // Summary: any method reads it.
    let sum = s.call("POST", "/v1/job/simple/summary", Some("{}"));
    assert_eq!(sum.status, 200);
    assert_eq!(sum.json()["JobID"], "simple");
    assert_eq!(
        sum.index(),
        sum.json()["ModifyIndex"].as_u64().expect("index")
    );
    // Evaluations of the job, exact ID.
    // Three register evaluations (no node runs the job, so the scheduler
    // may add blocked evaluations besides).
    let evals = s.get("/v1/job/simple/evaluations").json();
    let registered = evals
        .as_array()
        .map(|l| l.iter().filter(|e| e["Status"] != "blocked").count());
    assert_eq!(registered, Some(3));
    assert_eq!(s.get("/v1/job/SIMPLE/evaluations").body, "[]");

    // Stop: a new version with Stop, then purge.
    let stop = s.call("DELETE", "/v1/job/simple", None);
    assert_eq!(stop.status, 200);
    assert_eq!(stop.nomad_headers(), vec!["X-Nomad-Index"]);
    let sj = stop.json();
    let keys: Vec<&str> = sj
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        vec![
            "EvalID",
            "EvalCreateIndex",
            "JobModifyIndex",
            "Index",
            "LastContact",
            "KnownLeader"
        ]
    );
    assert_eq!(s.get("/v1/job/simple").json()["Stop"], true);
    assert_eq!(
        s.call("DELETE", "/v1/job/simple?purge=true", None).status,
        200
    );
    assert_eq!(s.get("/v1/job/simple").status, 404);
    // Evaluations outlive the purge: three registers, a stop and a purge.
    let evals = s.get("/v1/job/simple/evaluations").json();
    let triggers: Vec<&str> = evals
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["Status"] != "blocked" && e["Status"] != "canceled")
        .filter_map(|e| e["TriggeredBy"].as_str())
        .collect();
    assert_eq!(triggers.len(), 5, "{triggers:?}");
    assert_eq!(
        triggers.iter().filter(|t| **t == "job-deregister").count(),
        2
    );
    // Deregistering a job that never existed still answers with an eval.
    let ghost = s.call("DELETE", "/v1/job/ghost", None).json();
    assert_eq!(ghost["EvalID"].as_str().map(str::len), Some(36));
}

#[test]
fn enforce_index_revert_stable_and_evaluate() {
    let s = Server::start("cas");
    let create = r#"{"EnforceIndex":true,"JobModifyIndex":5,"Job":{"ID":"e","Datacenters":["dc1"],"TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"}}]}]}}"#;
    let r = s.put("/v1/job/e", create);
    assert_eq!(
        (r.status, r.body.as_str()),
        (500, "Enforcing job modify index 5: job does not exist")
    );
    let ok = s.put(
        "/v1/job/e",
        &create.replace("\"JobModifyIndex\":5", "\"JobModifyIndex\":0"),
    );
    assert_eq!(ok.status, 200);
    let r = s.put(
        "/v1/job/e",
        &create.replace("\"JobModifyIndex\":5", "\"JobModifyIndex\":0"),
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (500, "Enforcing job modify index 0: job already exists")
    );

    assert_eq!(s.put("/v1/job/e", &job_json("e", "2")).status, 200);
    let rv = s.put("/v1/job/e/revert", r#"{"JobID":"e","JobVersion":0}"#);
    assert_eq!(rv.status, 200, "{}", rv.body);
    // Revert carries all three meta headers (KnownLeader of a write reply).
    assert_eq!(rv.header("X-Nomad-Knownleader"), Some("false"));
    assert_eq!(rv.index(), rv.json()["Index"].as_u64().expect("Index"));
    assert_eq!(s.get("/v1/job/e").json()["Version"], 2);
    let st = s.put(
        "/v1/job/e/stable",
        r#"{"JobID":"e","JobVersion":1,"Stable":true}"#,
    );
    assert_eq!(st.status, 200);
    assert_eq!(st.body, format!("{{\"Index\":{}}}", st.index()));

    eventually("evaluations to settle", || {
        s.get("/v1/job/e/evaluations")
            .json()
            .as_array()
            .is_some_and(|l| l.iter().all(|e| e["Status"] != "pending"))
    });
    let modify_index = s.get("/v1/job/e").json()["ModifyIndex"].clone();
    let ev = s.call("POST", "/v1/job/e/evaluate", None);
    assert_eq!(ev.status, 200);
    let evj = ev.json();
    // Evaluate reports the job's ModifyIndex, not its JobModifyIndex.
    assert_eq!(evj["JobModifyIndex"], modify_index);
    assert_eq!(ev.index(), evj["EvalCreateIndex"].as_u64().expect("index"));
}

#[test]
fn dispatch_children_are_addressed_with_raw_or_escaped_slashes() {
    let s = Server::start("dispatch");
    let parent = r#"{"Job":{"ID":"param","Type":"batch","Datacenters":["dc1"],
        "ParameterizedJob":{"MetaRequired":["foo"]},
        "TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"}}]}]}}"#;
    let r = s.put("/v1/job/param", parent);
    assert_eq!(r.status, 200);
    // Parameterized jobs create no evaluation: index 0.
    assert_eq!(r.header("X-Nomad-Index"), Some("0"));
    assert_eq!(r.json()["EvalID"], "");
    let missing = s.put("/v1/job/param/dispatch", "{}");
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (500, "Dispatch did not provide required meta keys: [foo]")
    );
    let d = s.put(
        "/v1/job/param/dispatch",
        r#"{"Payload":"aGVsbG8=","Meta":{"foo":"1"}}"#,
    );
    assert_eq!(d.status, 200, "{}", d.body);
    let dj = d.json();
    let child = dj["DispatchedJobID"]
        .as_str()
        .expect("child ID")
        .to_string();
    assert!(child.starts_with("param/dispatch-"));
    let keys: Vec<&str> = dj
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        vec![
            "DispatchedJobID",
            "EvalID",
            "EvalCreateIndex",
            "JobCreateIndex",
            "Index"
        ]
    );
    let raw = s.get(&format!("/v1/job/{child}"));
    let escaped = s.get(&format!("/v1/job/{}", child.replace('/', "%2F")));
    assert_eq!(raw.status, 200);
    assert_eq!(raw.json()["ID"], child.as_str());
    assert_eq!(escaped.json()["ID"], child.as_str());
    // GET shows the payload as sent; /versions the stored (snappy) bytes.
    assert_eq!(raw.json()["Payload"], "aGVsbG8=");
    assert_eq!(
        s.get(&format!("/v1/job/{child}/versions")).json()["Versions"][0]["Payload"],
        "BRBoZWxsbw=="
    );
    assert_eq!(s.get(&format!("/v1/job/{child}/summary")).status, 200);
}

#[test]
fn dev_agent_serves_the_client_endpoints() {
    let dir = crate::support::temp_dir("dev");
    let s = Server::start_in(&dir, &["-dev"]);
    let stats = s.get("/v1/client/stats");
    assert_eq!(stats.status, 200);
    assert_eq!(stats.header("Content-Type"), Some("application/json"));
    assert!(stats.nomad_headers().is_empty());
    let r = s.get("/v1/client/allocation/nope/stats");
    assert_eq!(
        (r.status, r.body.as_str()),
        (500, "unknown allocation ID \"nope\"")
    );
    let r = s.get("/v1/client/allocation/nope");
    assert_eq!((r.status, r.body.as_str()), (404, "resource not found"));
    assert!(r.nomad_headers().is_empty());
    assert_eq!(s.get("/v1/agent/self").json()["config"]["DevMode"], true);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nodes_search_agent_and_status() {
    let s = Server::start("nodes");
    let node = r#"{"ID":"6f0f4e9c-1b54-4f1c-9a3e-0d6b3c6a9a11","Datacenter":"dc1","Name":"ext-1",
        "Attributes":{"kernel.name":"linux","driver.raw_exec":"1"},
        "Resources":{"CPU":4000,"MemoryMB":8192,"DiskMB":10000,"IOPS":0},"Status":"ready"}"#;
    let r = s.put("/v1/caravan/node/register", node);
    assert_eq!(r.status, 200, "{}", r.body);
    let nodes = s.get("/v1/nodes");
    let list = nodes.json();
    assert_eq!(list[0]["Name"], "ext-1");
    assert_eq!(list[0]["Status"], "ready");
    assert_eq!(
        nodes.index(),
        list[0]["ModifyIndex"].as_u64().expect("index")
    );
    assert_eq!(
        s.get("/v1/nodes?prefix=6f0f")
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(s.get("/v1/nodes?prefix=ab").body, "[]");
    let one = s.get("/v1/node/6f0f4e9c-1b54-4f1c-9a3e-0d6b3c6a9a11");
    assert_eq!(
        one.json()["ComputedClass"]
            .as_str()
            .map(|c| c.starts_with("v1:")),
        Some(true)
    );
    assert_eq!(
        s.get("/v1/node/6f0f4e9c-1b54-4f1c-9a3e-0d6b3c6a9a11/allocations")
            .body,
        "[]"
    );
    let st = s.put(
        "/v1/caravan/node/status",
        r#"{"NodeID":"6f0f4e9c-1b54-4f1c-9a3e-0d6b3c6a9a11","Status":"down"}"#,
    );
    assert_eq!(st.status, 200);
    assert_eq!(s.get("/v1/nodes").json()[0]["Status"], "down");

    assert_eq!(
        s.put("/v1/job/simple", &job_json("simple", "1")).status,
        200
    );
    let found = s.put("/v1/search", r#"{"Prefix":"sim","Context":"all"}"#);
    assert_eq!(found.status, 200);
    assert_eq!(
        found.json()["Matches"],
        json!({"jobs": ["simple"]}),
        "{}",
        found.body
    );
    let nodes_found = s
        .put("/v1/search", r#"{"Prefix":"6f0f","Context":"nodes"}"#)
        .json();
    assert_eq!(
        nodes_found["Matches"]["nodes"][0],
        "6f0f4e9c-1b54-4f1c-9a3e-0d6b3c6a9a11"
    );
    assert_eq!(nodes_found["Truncations"]["nodes"], false);
    let bad = s.put("/v1/search", r#"{"Prefix":"x","Context":"bogus"}"#);
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (500, "context must be one of [allocs jobs nodes evals deployment] or 'all' for all contexts; got \"bogus\"")
    );

    let me = s.get("/v1/agent/self").json();
    assert_eq!(me["config"]["Version"]["Version"], "0.6.3");
    assert_eq!(me["config"]["Region"], "global");
    assert_eq!(me["config"]["Datacenter"], "dc1");
    assert_eq!(me["member"]["Status"], "alive");
    assert_eq!(s.get("/v1/status/leader").body, "\"127.0.0.1:4647\"");
    assert_eq!(s.get("/v1/status/peers").body, "[\"127.0.0.1:4647\"]");
    assert_eq!(s.get("/v1/regions").body, "[\"global\"]");
    // Without -dev there is no client.
    let cs = s.get("/v1/client/stats");
    assert_eq!(
        (cs.status, cs.body.as_str()),
        (500, "node is not running a Nomad Client")
    );
}
