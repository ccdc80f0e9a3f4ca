//! The adapter contains every way a plugin can fail — out of fuel, over its
//! memory cap, trapping, answering garbage, hostile requests — as a
//! `PluginError`, and the same plugin keeps answering afterwards.

mod built_plugin;

use caravan_wasm::host::{Limits, Plugin, PluginError};
use caravan_wasm::Op;
use serde_json::{json, Value};

const MIB: usize = 1 << 20;

fn limits() -> Limits {
    Limits::default()
}

/// A well-formed request every check ends with: the plugin still serves.
fn still_serves(plugin: &Plugin) {
    let answer: Value = plugin
        .call(
            Op::Validate,
            &json!({"Job": {"ID": "ok", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec"}]}]}}),
        )
        .expect("a normal call after a failure");
    assert_eq!(answer["Job"]["ID"], "ok");
}

/// A hand-written plugin: the ABI's exports, each answering `{"ok":{}}`,
/// except `validate`, whose body (params: ptr, len; result: i64) is given.
fn wat_plugin(version: u32, validate_body: &str) -> String {
    let ops: String = Op::ALL
        .iter()
        .filter(|op| **op != Op::Validate)
        .map(|op| {
            format!(
                "(func (export \"{}\") (param i32 i32) (result i64) (i64.const {}))\n",
                op.name(),
                (16u64 << 32) | 9
            )
        })
        .collect();
    format!(
        r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "{{\"ok\":{{}}}}")
  (data (i32.const 32) "not json")
  (func (export "caravan_abi_version") (result i32) (i32.const {version}))
  (func (export "alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $len)))
    (local.get $p))
  (func (export "dealloc") (param i32 i32))
  (func $recurse (param i32 i32) (result i64)
    (call $recurse (local.get 0) (local.get 1)))
  (func (export "validate") (param i32 i32) (result i64) {validate_body})
  {ops})"#
    )
}

fn load_wat(version: u32, body: &str, limits: Limits) -> Result<Plugin, PluginError> {
    let bytes = wat::parse_str(wat_plugin(version, body)).expect("valid WAT");
    Plugin::from_bytes(&bytes, limits)
}

fn bad(body: &str) -> Plugin {
    load_wat(caravan_wasm::ABI_VERSION, body, limits()).expect("the bad module still loads")
}

#[test]
fn a_hand_written_plugin_speaks_the_abi() {
    let p = bad("(i64.const 68719476745)");
    let answer: Value = p.call(Op::Validate, &json!({})).unwrap();
    assert_eq!(answer, json!({}));
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let p = bad("(loop $l (br $l)) (i64.const 0)").with_limits(Limits {
        fuel: 5_000_000,
        ..limits()
    });
    assert_eq!(
        p.call_raw(Op::Validate, b"{}").unwrap_err(),
        PluginError::OutOfFuel { budget: 5_000_000 }
    );
    // A fresh instance per call: the next call has a full budget.
    assert_eq!(p.call_raw(Op::Diff, b"{}").unwrap(), b"{\"ok\":{}}");
}

#[test]
fn growing_past_the_cap_is_a_memory_error() {
    let p = bad("(loop $l (drop (memory.grow (i32.const 16))) (br $l)) (i64.const 0)").with_limits(
        Limits {
            memory_bytes: 8 * MIB,
            ..limits()
        },
    );
    match p.call_raw(Op::Validate, b"{}").unwrap_err() {
        PluginError::MemoryCap { cap, wanted } => {
            assert_eq!(cap, 8 * MIB);
            assert!(wanted > cap, "{wanted}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.call_raw(Op::Plan, b"{}").unwrap(), b"{\"ok\":{}}");
}

#[test]
fn traps_are_reported_with_their_cause() {
    let p = bad("unreachable");
    match p.call_raw(Op::Validate, b"{}").unwrap_err() {
        PluginError::Trap(msg) => assert!(msg.contains("unreachable"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let p = bad("(call $recurse (local.get 0) (local.get 1))");
    match p.call_raw(Op::Validate, b"{}").unwrap_err() {
        PluginError::Trap(msg) => assert!(msg.contains("stack"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.call_raw(Op::Diff, b"{}").unwrap(), b"{\"ok\":{}}");
}

#[test]
fn bad_answers_are_refused() {
    let p = bad("(i64.const 0x7ffffff000000010)");
    assert!(matches!(
        p.call_raw(Op::Validate, b"{}").unwrap_err(),
        PluginError::BadAnswer(m) if m.contains("outside linear memory")
    ));
    let p = bad(&format!("(i64.const {})", (32u64 << 32) | 8));
    assert!(matches!(
        p.call::<_, Value>(Op::Validate, &json!({})).unwrap_err(),
        PluginError::BadAnswer(_)
    ));
    // An envelope without "ok" or "error".
    assert!(matches!(
        caravan_wasm::host::decode::<Value>(b"{}").unwrap_err(),
        PluginError::BadAnswer(m) if m == "neither ok nor error"
    ));
}

#[test]
fn modules_that_are_not_plugins_do_not_load() {
    let err = load_wat(7, "(i64.const 0)", limits()).unwrap_err();
    assert_eq!(
        err,
        PluginError::Load(format!(
            "it speaks ABI version 7, this host speaks {}",
            caravan_wasm::ABI_VERSION
        ))
    );
    let with_import =
        wat::parse_str(r#"(module (import "env" "clock" (func)) (memory (export "memory") 1))"#)
            .unwrap();
    assert_eq!(
        Plugin::from_bytes(&with_import, limits()).unwrap_err(),
        PluginError::Load("it imports env::clock; a Caravan plugin has no imports".into())
    );
    let no_ops = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1)
             (func (export "caravan_abi_version") (result i32) (i32.const {}))
             (func (export "alloc") (param i32) (result i32) (i32.const 0))
             (func (export "dealloc") (param i32 i32)))"#,
        caravan_wasm::ABI_VERSION
    ))
    .unwrap();
    assert!(matches!(
        Plugin::from_bytes(&no_ops, limits()).unwrap_err(),
        PluginError::Load(m) if m.starts_with("export validate")
    ));
    assert!(matches!(
        Plugin::from_bytes(b"\0asm garbage", limits()).unwrap_err(),
        PluginError::Load(_)
    ));
    // A module that wants more memory than the cap at instantiation.
    assert!(matches!(
        load_wat(
            caravan_wasm::ABI_VERSION,
            "(i64.const 0)",
            Limits {
                memory_bytes: 1024,
                ..limits()
            }
        )
        .unwrap_err(),
        PluginError::MemoryCap { cap: 1024, .. }
    ));
}

#[test]
fn the_real_plugin_turns_hostile_requests_into_errors() {
    let p = built_plugin::plugin(limits());
    let guest = |req: &[u8]| p.call_raw(Op::Validate, req);
    let text = |r: Result<Vec<u8>, PluginError>| String::from_utf8(r.unwrap()).unwrap();

    assert_eq!(text(guest(b"")), r#"{"error":"EOF"}"#);
    assert_eq!(
        text(guest(b"{\"Job\": {\"ID\": \"x\",")),
        r#"{"error":"unexpected EOF"}"#
    );
    assert!(text(guest(&[0xff, 0xfe, 0x00])).starts_with(r#"{"error":"invalid character"#));
    // Nesting deeper than the JSON parser's recursion limit.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(text(guest(deep.as_bytes())).starts_with(r#"{"error":"#));
    // Every operation refuses a request of the wrong shape.
    for op in Op::ALL {
        let answer = text(p.call_raw(op, b"[1,2,3]"));
        assert!(
            answer.starts_with(r#"{"error":"#),
            "{}: {answer}",
            op.name()
        );
    }
    still_serves(&p);
}

#[test]
fn a_request_larger_than_the_cap_is_a_memory_error() {
    let p = built_plugin::plugin(Limits {
        memory_bytes: 16 * MIB,
        ..limits()
    });
    let huge = format!(r#"{{"Job":{{"ID":"{}"}}}}"#, "x".repeat(32 * MIB));
    assert!(matches!(
        p.call_raw(Op::Validate, huge.as_bytes()).unwrap_err(),
        PluginError::MemoryCap { cap, .. } if cap == 16 * MIB
    ));
    still_serves(&p);
}

#[test]
fn a_tiny_fuel_budget_stops_a_real_call() {
    let p = built_plugin::plugin(Limits {
        fuel: 10_000,
        ..limits()
    });
    assert_eq!(
        p.call_raw(Op::Validate, br#"{"Job":{"ID":"x"}}"#)
            .unwrap_err(),
        PluginError::OutOfFuel { budget: 10_000 }
    );
    still_serves(&p.with_limits(limits()));
}

#[test]
fn a_billion_allocations_end_in_an_answer_or_a_limit() {
    // A billion allocations are refused by the scheduler's own limit; a
    // million (the limit) are tried, and the budget, not the host, must
    // give out first if anything does.
    let p = built_plugin::plugin(Limits {
        fuel: 2_000_000_000,
        memory_bytes: 256 * MIB,
    });
    let job = |count: i64| {
        json!({"ID": "huge", "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g", "Count": count,
        "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}, "Resources": {"CPU": 20, "MemoryMB": 10}}]}]})
    };
    let cluster = json!({"Nodes": [{"ID": "n1", "Datacenter": "dc1", "Attributes": {"driver.raw_exec": "1"},
        "Resources": {"CPU": 4000, "MemoryMB": 8192, "DiskMB": 100000}}]});
    let why = "job \"huge\"'s task groups ask for 1000000000 allocations, more than the \
               1000000 one job may have";
    let request = json!({"Job": job(1_000_000_000), "Cluster": cluster, "Diff": true});
    assert_eq!(
        p.call::<_, Value>(Op::Plan, &request).unwrap_err(),
        PluginError::Guest(why.into())
    );
    // The simulation registers the job; its evaluation fails.
    let simulated: Value = p.call(Op::Simulate, &request).unwrap();
    let eval = &simulated["Evaluations"][0];
    assert_eq!(
        (&eval["Status"], &eval["StatusDescription"]),
        (&json!("failed"), &json!(why))
    );
    assert_eq!(simulated["Placements"], json!({}));
    for op in [Op::Plan, Op::Simulate] {
        let request = json!({"Job": job(1_000_000), "Cluster": cluster, "Diff": true});
        match p.call::<_, Value>(op, &request) {
            Ok(_) | Err(PluginError::OutOfFuel { .. }) | Err(PluginError::MemoryCap { .. }) => {}
            Err(other) => panic!("{}: {other:?}", op.name()),
        }
    }
    still_serves(&p);
}

#[test]
fn a_session_is_poisoned_by_a_trap_but_the_plugin_is_not() {
    let p = bad("unreachable");
    let mut session = p.session().unwrap();
    assert!(matches!(
        session.call_raw(Op::Validate, b"{}").unwrap_err(),
        PluginError::Trap(_)
    ));
    assert_eq!(
        session.call_raw(Op::Diff, b"{}").unwrap_err(),
        PluginError::Poisoned
    );
    assert_eq!(p.call_raw(Op::Diff, b"{}").unwrap(), b"{\"ok\":{}}");
}

#[test]
fn a_null_write_with_nothing_pending_is_refused() {
    let p = built_plugin::plugin(limits());
    let mut session = p.session().unwrap();
    let state = serde_json::to_string(&caravan_core::ClusterState::default()).unwrap();
    let load = session
        .call_raw(Op::StateLoad, format!("{{\"State\":{state}}}").as_bytes())
        .unwrap();
    assert_eq!(load, br#"{"ok":{"Index":0}}"#);
    // `null` stands for the write `state_eval_next` handed out; none was.
    assert_eq!(
        String::from_utf8(
            session
                .call_raw(Op::StateApply, br#"{"Commands":[null]}"#)
                .unwrap()
        )
        .unwrap(),
        r#"{"error":"null in Commands, but no write handed out is pending"}"#
    );
    still_serves(&p);
}
