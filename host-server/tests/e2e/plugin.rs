//! `-scheduler-plugin`: the server schedules and plans through the plugin
//! it is given, and a plugin that fails costs the evaluation or the `/plan`
//! request, never the server.

use caravan_wasm::{Op, ABI_VERSION};

use crate::support::{eventually, job_json, temp_dir, Server};

/// A plugin that holds "a state" (`state_load`/`state_apply` answer index
/// 0, so the server keeps reloading it) and traps on every other operation.
fn trapping_plugin() -> Vec<u8> {
    let traps: String = Op::ALL
        .iter()
        .filter(|op| !matches!(op, Op::StateLoad | Op::StateApply))
        .map(|op| {
            format!(
                "(func (export \"{}\") (param i32 i32) (result i64) unreachable)\n",
                op.name()
            )
        })
        .collect();
    let index0 = r#"{\"ok\":{\"Index\":0}}"#;
    let wat = format!(
        r#"(module
  (memory (export "memory") 64)
  (data (i32.const 16) "{index0}")
  (func (export "caravan_abi_version") (result i32) (i32.const {ABI_VERSION}))
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "dealloc") (param i32 i32))
  (func $index0 (param i32 i32) (result i64) (i64.const {answer}))
  (export "state_load" (func $index0))
  (export "state_apply" (func $index0))
  {traps})"#,
        answer = (16u64 << 32) | 18,
    );
    wat::parse_str(wat).expect("valid WAT")
}

#[test]
fn a_trapping_plugin_fails_plans_and_evaluations_but_not_the_server() {
    let dir = temp_dir("plugin-trap");
    let plugin = dir.join("trap.wasm");
    std::fs::write(&plugin, trapping_plugin()).expect("write the plugin");
    let s = Server::spawn(
        &dir.join("data"),
        &["-scheduler-plugin".into(), plugin.display().to_string()],
    );

    let plan = s.put("/v1/job/web/plan", &job_json("web", "1"));
    assert_eq!(plan.status, 500, "{}", plan.body);
    assert!(
        plan.body.starts_with("scheduler plugin: plugin trapped: "),
        "{}",
        plan.body
    );
    assert_eq!(s.get("/v1/jobs").status, 200);

    // The evaluation of a registration fails with the plugin's reason.
    let reg = s.put("/v1/jobs", &job_json("web", "1"));
    assert_eq!(reg.status, 200, "{}", reg.body);
    let eval_id = reg.json()["EvalID"].as_str().expect("EvalID").to_string();
    let path = format!("/v1/evaluation/{eval_id}");
    eventually("the evaluation to fail", || {
        s.get(&path).json()["Status"] == "failed"
    });
    let eval = s.get(&path).json();
    let why = eval["StatusDescription"]
        .as_str()
        .expect("StatusDescription");
    assert!(
        why.starts_with("scheduler plugin: plugin trapped: "),
        "{why}"
    );

    // The server keeps serving, reads and plugin calls alike.
    assert_eq!(s.get("/v1/job/web").status, 200);
    assert_eq!(s.get("/v1/job/web/allocations").body, "[]");
    assert_eq!(s.put("/v1/job/web/plan", &job_json("web", "2")).status, 500);
    assert_eq!(s.get("/v1/jobs").status, 200);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_plugin_that_is_not_a_file_stops_the_agent_at_start() {
    let dir = temp_dir("plugin-missing");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_caravan"))
        .args(["agent", "-http-port", "0", "-data-dir"])
        .arg(dir.join("data"))
        .args(["-scheduler-plugin"])
        .arg(dir.join("nope.wasm"))
        .output()
        .expect("run caravan");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot use scheduler plugin") && stderr.contains("nope.wasm"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
