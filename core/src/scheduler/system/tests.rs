//! The system scheduler end to end.

use serde_json::json;

use crate::model::*;
use crate::scheduler::fixtures::{job_doc, node, prepare, Cluster};
use crate::scheduler::{plan_job, PlanOptions};
use crate::state::Command;

fn cluster() -> Cluster {
    let mut edge = node("n3", "dc1", 4000, 8192);
    edge.node_class = "edge".into();
    let small = node("n4", "dc1", 4000, 256);
    Cluster::with_nodes([
        node("n1", "dc1", 4000, 8192),
        node("n2", "dc1", 4000, 8192),
        edge,
        small,
    ])
}

fn system_doc(id: &str, mem: i64) -> serde_json::Value {
    let mut doc = job_doc(id, "system", 1, 100, mem);
    doc["Name"] = json!(format!("{id}-name"));
    doc["Constraints"] = json!([{"LTarget": "${node.class}", "Operand": "!=", "RTarget": "edge"}]);
    doc
}

#[test]
fn one_allocation_per_feasible_node() {
    let mut c = cluster();
    let plan = plan_job(
        &c.state,
        prepare(&system_doc("sys", 128)),
        &PlanOptions::default(),
    )
    .unwrap();
    // The filtered node is not counted as a placement.
    assert_eq!(plan.annotations.unwrap().desired_tg_updates["web"].place, 3);
    let m = &plan.failed_tg_allocs.unwrap()["web"];
    assert_eq!((m.nodes_evaluated, m.nodes_filtered), (1, 1));
    assert_eq!(m.class_filtered, [("edge".to_string(), 1)].into());
    assert_eq!(
        m.constraint_filtered,
        [("${node.class} != edge".to_string(), 1)].into()
    );
    assert_eq!(m.nodes_available, [("dc1".to_string(), 4)].into());
    assert_eq!(
        plan.created_evals, None,
        "the system scheduler never blocks"
    );

    let e = c.run_job(prepare(&system_doc("sys", 128)), 1);
    assert_eq!(e.status, EVAL_STATUS_COMPLETE);
    assert_eq!(e.queued_allocations, Some([("web".to_string(), 0)].into()));
    assert_eq!(e.blocked_eval, "");
    assert_eq!(e.deployment_id, "");
    let mut nodes: Vec<String> = c.per_node("sys").into_keys().collect();
    nodes.sort();
    assert_eq!(nodes, ["n1", "n2", "n4"]);
    // Names use the job's Name, not its ID.
    assert!(c.live("sys").iter().all(|a| a.name == "sys-name.web[0]"));
    let a = &c.live("sys")[0];
    let m = a.metrics.as_ref().unwrap();
    assert_eq!(m.scores.len(), 1);
    assert!(m
        .scores
        .contains_key(format!("{}.binpack", a.node_id).as_str()));
}

#[test]
fn an_exhausted_node_stays_queued() {
    let mut c = cluster();
    let e = c.run_job(prepare(&system_doc("big", 512)), 1);
    let m = &e.failed_tg_allocs["web"];
    // n3 is filtered first, then n4 is exhausted: one metric, coalesced.
    assert_eq!(m.coalesced_failures, 1);
    assert_eq!(e.queued_allocations, Some([("web".to_string(), 1)].into()));
    assert_eq!(c.live("big").len(), 2);
    let plan = plan_job(
        &c.state,
        prepare(&system_doc("big2", 512)),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(plan.annotations.unwrap().desired_tg_updates["web"].place, 3);
}

#[test]
fn rolling_destructive_update_with_follow_up() {
    let mut c = cluster();
    let mut doc = system_doc("roll", 128);
    doc["Update"] = json!({"Stagger": 10_000_000_000i64, "MaxParallel": 1});
    c.run_job(prepare(&doc), 1);
    let old: Vec<String> = c.live("roll").iter().map(|a| a.id.clone()).collect();
    assert_eq!(old.len(), 3);
    doc["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"V": "2"});
    let plan = plan_job(&c.state, prepare(&doc), &PlanOptions::default()).unwrap();
    let u = &plan.annotations.unwrap().desired_tg_updates["web"];
    assert_eq!(
        (u.destructive_update, u.place),
        (3, 0),
        "all destructive updates are annotated"
    );
    let eval = c.register(prepare(&doc)).unwrap();
    let kinds = c.process(eval.clone(), 2);
    assert_eq!(kinds, ["evals", "plan", "evals"]);
    let e = c.eval(&eval.id);
    let next = c.eval(&e.next_eval);
    assert_eq!(
        (next.triggered_by.as_str(), next.wait),
        ("rolling-update", 10_000_000_000)
    );
    let replaced: Vec<_> = c
        .live("roll")
        .into_iter()
        .filter(|a| !a.previous_allocation.is_empty())
        .collect();
    assert_eq!(replaced.len(), 1);
    assert!(old.contains(&replaced[0].previous_allocation));
    let stopped = c.state.alloc(&replaced[0].previous_allocation).unwrap();
    assert_eq!(
        stopped.desired_description,
        "alloc is being updated due to job update"
    );
    assert_eq!(stopped.node_id, replaced[0].node_id);
}

#[test]
fn in_place_update_and_new_nodes() {
    let mut c = cluster();
    let mut doc = system_doc("ip", 128);
    c.run_job(prepare(&doc), 1);
    let ids: Vec<String> = c.live("ip").iter().map(|a| a.id.clone()).collect();
    doc["Priority"] = json!(70);
    c.add_node(node("n5", "dc1", 4000, 8192));
    let plan = plan_job(&c.state, prepare(&doc), &PlanOptions::default()).unwrap();
    let u = &plan.annotations.unwrap().desired_tg_updates["web"];
    assert_eq!((u.in_place_update, u.place), (3, 1));
    c.run_job(prepare(&doc), 2);
    let live = c.live("ip");
    assert_eq!(live.len(), 4);
    for id in &ids {
        assert_eq!(c.state.alloc(id).unwrap().job_version(), 1);
    }
}

#[test]
fn stopped_or_drained_nodes_lose_their_allocations() {
    let mut c = cluster();
    c.run_job(prepare(&system_doc("dr", 128)), 1);
    c.apply(Command::UpdateNodeDrain {
        node_id: "n1".into(),
        drain: true,
    });
    let e = c.run_job(prepare(&system_doc("dr", 128)), 2);
    assert_eq!(e.status, EVAL_STATUS_COMPLETE);
    let n1: Vec<_> = c.state.allocs_by_node("n1");
    assert_eq!(
        n1[0].desired_description,
        "alloc not needed due to job update"
    );
    assert_eq!(c.live("dr").len(), 2);
    let eval = c.deregister("dr", false);
    c.process(eval.clone(), 3);
    assert!(c.live("dr").is_empty());
    assert_eq!(
        c.eval(&eval.id).queued_allocations,
        Some(Default::default())
    );
}

/// The allocation indexes share the table's allocations: after placements,
/// client updates and a rescheduling every indexed allocation is the
/// stored one, and the state's JSON (indexes as ID lists) reads back equal.
#[test]
fn alloc_indexes_follow_every_write_and_round_trip_through_json() {
    let mut c = cluster();
    c.run_job(prepare(&system_doc("sys", 64)), 1);
    c.set_complete("sys");
    let eval = c.register(prepare(&system_doc("sys", 128))).unwrap();
    c.process(eval, 2);
    let s = &c.state;
    for index in [&s.allocs_by_job, &s.allocs_by_node] {
        for list in index.values() {
            for a in list {
                assert!(std::sync::Arc::ptr_eq(a, &s.allocs[&a.id]));
            }
        }
    }
    assert_eq!(
        s.allocs_by_node
            .values()
            .map(|l| l.iter().count())
            .sum::<usize>(),
        s.allocs.len()
    );
    let json = serde_json::to_value(s).unwrap();
    let ids: Vec<&str> = s.allocs.keys().map(String::as_str).collect();
    assert_eq!(json["allocs_by_job"]["sys"], serde_json::json!(ids));
    let back: crate::state::ClusterState = serde_json::from_value(json).unwrap();
    assert_eq!(&back, s);
}
