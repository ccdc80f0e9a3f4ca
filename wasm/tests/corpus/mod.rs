//! The parity corpus: every visible oracle case that involves validation,
//! diff, plan or dispatch, turned into plugin requests (JSON bytes).
//!
//! The oracle sequences are replayed just enough to know, for each request,
//! the job version registered before it and the cluster's nodes; the
//! answers are not the oracle's (placeholders are still being completed)
//! but whatever the native core says, which every build must match.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use caravan_core::gojson;
use caravan_core::model::requests::JobRegisterRequest;
use caravan_core::state::Reply;
use caravan_core::Command;
use caravan_wasm::abi::{PlanJobRequest, ScheduleRequest};
use caravan_wasm::{build_state, ClusterSnapshot, Op};
use serde_json::{json, Value};

/// One request of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    /// `<fixture file>:<what>`.
    pub name: String,
    pub op: Op,
    pub request: Vec<u8>,
}

/// 2026-11-27T00:00:00Z in Unix nanoseconds: the corpus's "now".
pub const NOW: i64 = 1_795_737_600_000_000_000;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn case_files(dir: &str) -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.as_bytes()[0].is_ascii_digit() && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = format!(
                "{dir}/{}",
                p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
            );
            (name, read(&p))
        })
        .collect()
}

/// `/v1/job/<id>[/<sub>]` → (id, sub); `/v1/jobs` → ("", "").
fn job_path(path: &str) -> Option<(String, String)> {
    let path = path.split('?').next().unwrap_or_default();
    if path == "/v1/jobs" {
        return Some((String::new(), String::new()));
    }
    let rest = path.strip_prefix("/v1/job/")?;
    for sub in [
        "plan", "dispatch", "evaluate", "revert", "stable", "versions",
    ] {
        if let Some(id) = rest.strip_suffix(&format!("/{sub}")) {
            return Some((id.to_string(), sub.to_string()));
        }
    }
    Some((rest.to_string(), String::new()))
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("JSON renders")
}

/// Builds the whole corpus.
pub fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    for (dir, node_prefix) in [
        ("nomad-0.6.3", "node-get"),
        ("nomad-0.6.3-multinode", "node-get-mn-"),
    ] {
        let files = case_files(dir);
        let nodes: Vec<Value> = files
            .iter()
            .filter(|(_, c)| {
                c["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(node_prefix))
            })
            .map(|(_, c)| c["response"]["json"].clone())
            .collect();
        assert!(!nodes.is_empty(), "{dir}: no node fixtures");
        sequence(&files, &nodes, &mut cases);
    }
    cases
}

fn sequence(files: &[(String, Value)], nodes: &[Value], cases: &mut Vec<Case>) {
    // Job ID → the API job last registered successfully.
    let mut registered: BTreeMap<String, Value> = BTreeMap::new();
    for (file, c) in files {
        let req = &c["request"];
        let Some((id, sub)) = req["path"].as_str().and_then(job_path) else {
            continue;
        };
        let method = req["method"].as_str().unwrap_or_default();
        if method != "PUT" && method != "POST" {
            continue;
        }
        let seq = c["seq"].as_u64().unwrap_or_default();
        let status = c["response"]["status"].as_u64().unwrap_or_default();
        let mut add = |what: &str, op: Op, request: Vec<u8>| {
            cases.push(Case {
                name: format!("{file}:{what}"),
                op,
                request,
            })
        };
        // Bodies that do not even decode are validation cases too.
        if let Some(raw) = req["raw_body"].as_str() {
            add("validate-raw", Op::Validate, raw.as_bytes().to_vec());
            continue;
        }
        let body = &req["body"];
        let job = &body["Job"];
        let id = if id.is_empty() {
            job["ID"].as_str().unwrap_or_default().to_string()
        } else {
            id
        };
        let previous = registered.get(&id).cloned().unwrap_or(Value::Null);
        match sub.as_str() {
            "" | "plan" if body.get("Job").is_some() => {
                add("validate", Op::Validate, bytes(&json!({"Job": job})));
                add(
                    "diff",
                    Op::Diff,
                    bytes(&json!({"Old": previous, "New": job, "Contextual": sub == "plan"})),
                );
                let cluster = json!({"Nodes": nodes, "Job": previous});
                let plan = json!({"Job": job, "Diff": body["Diff"].as_bool().unwrap_or(true),
                    "Cluster": cluster, "Seed": seq, "Now": NOW});
                add("plan", Op::Plan, bytes(&plan));
                add("simulate", Op::Simulate, bytes(&plan));
                if let Some(periodic) = job.get("Periodic").filter(|p| !p.is_null()) {
                    add(
                        "next_launch",
                        Op::NextLaunch,
                        bytes(&json!({"Periodic": periodic, "After": NOW})),
                    );
                }
                host_level(file, job, &cluster, seq, cases);
                if sub.is_empty() && status == 200 {
                    registered.insert(id, job.clone());
                }
            }
            "dispatch" => {
                let mut request = body.clone();
                if let Value::Object(m) = &mut request {
                    m.insert("Job".into(), previous);
                    m.insert("IDSuffix".into(), json!(format!("{:08x}", seq)));
                    m.insert("Now".into(), json!(NOW));
                }
                add("dispatch", Op::Dispatch, bytes(&request));
            }
            _ => {}
        }
    }
}

/// The server-side calls the plugin answers for a `-scheduler-plugin`
/// server: the dry run on a full state, and scheduling the evaluation of
/// the registration.
fn host_level(file: &str, job: &Value, cluster: &Value, seq: u64, cases: &mut Vec<Case>) {
    let Ok(snapshot) = gojson::from_value::<ClusterSnapshot>(cluster, "caravan.ClusterSnapshot")
    else {
        return;
    };
    let Ok(mut state) = build_state(&snapshot, seq, NOW) else {
        return;
    };
    let Ok(req) =
        gojson::from_value::<JobRegisterRequest>(&json!({"Job": job}), "api.JobRegisterRequest")
    else {
        return;
    };
    let Some(api) = req.job else { return };
    let prepared = caravan_core::prepare(api).job;
    let plan_job = PlanJobRequest {
        state: &state,
        job: &prepared,
        diff: true,
        seed: seq,
        now: NOW,
    };
    cases.push(Case {
        name: format!("{file}:plan_job"),
        op: Op::PlanJob,
        request: serde_json::to_vec(&plan_job).expect("state renders"),
    });
    let applied = state.apply(Command::RegisterJob {
        job: Box::new(prepared),
        enforce_index: false,
        job_modify_index: 0,
        eval_id: format!("00000000-0000-0000-0000-{seq:012}"),
        now: NOW,
    });
    let Ok(applied) = applied else { return };
    let Reply::Register(reply) = applied.reply else {
        return;
    };
    let Some(eval) = state.eval(&reply.eval_id).cloned() else {
        return;
    };
    let schedule = ScheduleRequest {
        state: &state,
        eval: &*eval,
        seed: seq,
    };
    cases.push(Case {
        name: format!("{file}:schedule"),
        op: Op::Schedule,
        request: serde_json::to_vec(&schedule).expect("state renders"),
    });
}
