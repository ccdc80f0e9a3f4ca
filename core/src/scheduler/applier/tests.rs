//! The plan applier's refusals.

use super::*;
use crate::model::{DeploymentState, NetworkResource, Port, Resources};
use crate::scheduler::fixtures::{node, Cluster};
use crate::state::Command;

fn placement(id: &str, node: &str, cpu: i64, mem: i64) -> Allocation {
    Allocation {
        id: id.into(),
        node_id: node.into(),
        job_id: "j".into(),
        task_group: "web".into(),
        desired_status: "run".into(),
        client_status: "pending".into(),
        task_resources: [(
            "t".to_string(),
            Resources {
                cpu,
                memory_mb: mem,
                ..Default::default()
            },
        )]
        .into(),
        shared_resources: Some(Resources {
            disk_mb: 300,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn plan_of(allocs: Vec<Allocation>) -> Plan {
    let mut p = Plan::default();
    for a in allocs {
        p.node_allocation
            .get_or_insert_with(&a.node_id, Vec::new)
            .push(Arc::new(a));
    }
    p
}

/// Commits a plan of `allocs` at time `now`.
fn apply_at(c: &mut Cluster, now: i64, allocs: Vec<Allocation>) -> PlanResult {
    let crate::state::Reply::Plan(r) = c.apply(Command::ApplyPlan {
        plan: Box::new(plan_of(allocs)),
        now,
    }) else {
        panic!("a plan's reply")
    };
    r
}

fn cluster() -> Cluster {
    let mut reserved = node("n2", "dc1", 1000, 1000);
    reserved.reserved = Some(Resources {
        cpu: 500,
        memory_mb: 900,
        ..Default::default()
    });
    Cluster::with_nodes([node("n1", "dc1", 1000, 1000), reserved])
}

#[test]
fn fitting_plan_is_taken_whole() {
    let c = cluster();
    let plan = plan_of(vec![
        placement("a", "n1", 500, 500),
        placement("b", "n1", 500, 500),
    ]);
    let r = evaluate_plan(&c.state, &plan);
    assert_eq!(r.refresh_index, 0);
    assert_eq!(r.node_allocation["n1"].len(), 2);
}

#[test]
fn oversubscribed_node_is_refused_and_the_rest_committed() {
    let c = cluster();
    // n2 has only 500 MHz / 100 MB once its reservation counts.
    let plan = plan_of(vec![
        placement("a", "n1", 500, 500),
        placement("b", "n2", 400, 200),
    ]);
    let r = evaluate_plan(&c.state, &plan);
    assert!(r.node_allocation.contains_key("n1"));
    assert!(!r.node_allocation.contains_key("n2"));
    assert_eq!(r.refresh_index, c.state.table_index(Table::Nodes));
    let ok = plan_of(vec![placement("b", "n2", 400, 100)]);
    assert_eq!(evaluate_plan(&c.state, &ok).refresh_index, 0);
}

#[test]
fn all_at_once_refuses_everything() {
    let c = cluster();
    let mut plan = plan_of(vec![
        placement("a", "n1", 500, 500),
        placement("b", "n2", 600, 10),
    ]);
    plan.all_at_once = true;
    plan.deployment = Some(Default::default());
    let r = evaluate_plan(&c.state, &plan);
    assert!(r.is_no_op());
    assert!(r.refresh_index > 0);
}

#[test]
fn existing_allocations_count_and_stops_free_room() {
    let mut c = cluster();
    let mut plan = plan_of(vec![placement("a", "n1", 800, 800)]);
    plan.job = None;
    let r = c.apply(Command::ApplyPlan {
        plan: Box::new(plan),
        now: 1,
    });
    let crate::state::Reply::Plan(r) = r else {
        panic!()
    };
    assert!(r.alloc_index > 0);
    let more = plan_of(vec![placement("b", "n1", 300, 100)]);
    assert!(evaluate_plan(&c.state, &more).node_allocation.is_empty());
    let mut with_stop = more.clone();
    let mut stop = (**c.state.alloc("a").unwrap()).clone();
    stop.desired_status = "stop".into();
    with_stop
        .node_update
        .insert("n1".into(), vec![Arc::new(stop)]);
    let r = evaluate_plan(&c.state, &with_stop);
    assert_eq!(r.node_allocation["n1"].len(), 1);
    assert_eq!(r.node_update["n1"].len(), 1);
}

#[test]
fn gone_down_or_draining_nodes_are_refused_but_stops_always_fit() {
    let mut c = cluster();
    c.apply(Command::UpdateNodeStatus {
        node_id: "n1".into(),
        status: "down".into(),
        now: 1,
    });
    c.apply(Command::UpdateNodeDrain {
        node_id: "n2".into(),
        drain: true,
    });
    for n in ["n1", "n2", "ghost"] {
        let r = evaluate_plan(&c.state, &plan_of(vec![placement("a", n, 1, 1)]));
        assert!(r.node_allocation.is_empty(), "{n}");
    }
    let mut stops = Plan::default();
    stops.node_update.insert(
        "ghost".into(),
        vec![Arc::new(placement("x", "ghost", 1, 1))],
    );
    let r = evaluate_plan(&c.state, &stops);
    assert_eq!((r.node_update.len(), r.refresh_index), (1, 0));
}

#[test]
fn port_collisions_and_bandwidth_are_checked() {
    let c = cluster();
    let with_port = |id: &str, port: i64, mbits: i64| {
        let mut a = placement(id, "n1", 10, 10);
        a.task_resources.get_mut("t").unwrap().networks = vec![NetworkResource {
            device: "lo".into(),
            ip: "127.0.0.1".into(),
            mbits,
            reserved_ports: vec![Port {
                label: "http".into(),
                value: port,
            }],
            ..Default::default()
        }];
        a
    };
    let clash = plan_of(vec![with_port("a", 80, 1), with_port("b", 80, 1)]);
    assert!(evaluate_plan(&c.state, &clash).node_allocation.is_empty());
    let wide = plan_of(vec![with_port("a", 80, 600), with_port("b", 81, 600)]);
    assert!(evaluate_plan(&c.state, &wide).node_allocation.is_empty());
    let fine = plan_of(vec![with_port("a", 80, 400), with_port("b", 81, 400)]);
    assert_eq!(
        evaluate_plan(&c.state, &fine).node_allocation["n1"].len(),
        2
    );
}

#[test]
fn unplaced_canaries_are_dropped_from_the_deployment() {
    let c = cluster();
    let mut plan = plan_of(vec![
        placement("ok", "n1", 10, 10),
        placement("no", "n2", 900, 10),
    ]);
    let mut d = crate::model::Deployment::default();
    d.task_groups.insert(
        "web".into(),
        DeploymentState {
            placed_canaries: vec!["ok".into(), "no".into()],
            ..Default::default()
        },
    );
    plan.deployment = Some(d);
    let r = evaluate_plan(&c.state, &plan);
    assert_eq!(
        r.deployment.unwrap().task_groups["web"].placed_canaries,
        ["ok"]
    );
}

/// Many fresh placements are stored in one ordered merge (IDs checked new
/// to the table and to each other); a plan reusing a stored ID, or one ID
/// twice, is written one allocation at a time. Either way the table and
/// both indexes hold every allocation in ID order.
#[test]
fn many_fresh_placements_are_stored_as_one_at_a_time() {
    let mut c = cluster();
    let first = apply_at(&mut c, 1, vec![placement("m050", "n1", 1, 1)]);
    let many = |prefix: &str| -> Vec<Allocation> {
        (0..100)
            .map(|i| placement(&format!("{prefix}{i:03}"), ["n1", "n2"][i % 2], 1, 1))
            .collect()
    };
    // Fresh and new: one merge into the table.
    let r = apply_at(&mut c, 1, many("k"));
    assert_eq!(r.node_allocation.values().map(Vec::len).sum::<usize>(), 100);
    // One ID already stored ("m050"): written one at a time, the stored
    // one's create index kept.
    let r2 = apply_at(&mut c, 2, many("m"));
    let m050 = c.state.alloc("m050").unwrap();
    assert_eq!(m050.create_index, first.alloc_index);
    assert_eq!(m050.modify_index, r2.alloc_index);
    // A fresh placement is created at the plan's time, stored ID or not.
    assert_eq!(m050.create_time, 2);
    // One ID twice (on one node): its last version wins.
    let mut twice = many("t");
    twice[2].id = "t000".into();
    twice[2].name = "last".into();
    let r3 = apply_at(&mut c, 1, twice);
    if r3.node_allocation.contains_key("n1") {
        assert_eq!(c.state.alloc("t000").unwrap().name, "last");
    }

    let ids =
        |list: &[Arc<Allocation>]| -> Vec<String> { list.iter().map(|a| a.id.clone()).collect() };
    let table: Vec<String> = c.state.allocs.keys().cloned().collect();
    assert!(table.len() > 1 + 100);
    assert_eq!(ids(&c.state.allocs_by_job("j", true)), table);
    let mut on_nodes: Vec<String> = Vec::new();
    for list in c.state.allocs_by_node.values() {
        let got = ids(list.as_slice());
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted);
        on_nodes.extend(got);
    }
    on_nodes.sort();
    assert_eq!(on_nodes, table);
    for id in &table {
        let a = c.state.alloc(id).unwrap();
        assert!(c.state.allocs_by_node[&a.node_id]
            .iter()
            .any(|b| Arc::ptr_eq(a, b)));
    }
}

/// An allocation written again on another node (one ID placed on two nodes
/// in one plan, or a stored allocation planned onto a new node) leaves its
/// old node's index, as Nomad's node index follows the stored `NodeID`;
/// its job's index holds its last version once.
#[test]
fn an_allocation_moved_to_another_node_leaves_the_old_nodes_index() {
    let mut c = cluster();
    let mut second = placement("x", "n2", 1, 1);
    second.name = "last".into();
    let r = apply_at(&mut c, 3, vec![placement("x", "n1", 1, 1), second]);
    assert_eq!(r.node_allocation.len(), 2);
    let ids = |state: &ClusterState, node: &str| -> Vec<(String, String)> {
        state
            .allocs_by_node(node)
            .iter()
            .map(|a| (a.id.clone(), a.node_id.clone()))
            .collect()
    };
    assert_eq!(ids(&c.state, "n1"), []);
    assert!(
        !c.state.allocs_by_node.contains_key("n1"),
        "no empty list kept"
    );
    assert_eq!(ids(&c.state, "n2"), [("x".to_string(), "n2".to_string())]);
    let of_job = c.state.allocs_by_job("j", true);
    assert_eq!(of_job.len(), 1);
    assert_eq!(
        (of_job[0].name.as_str(), of_job[0].create_time),
        ("last", 3)
    );
    assert!(Arc::ptr_eq(&of_job[0], c.state.alloc("x").unwrap()));

    // A stored allocation planned onto the other node.
    let mut moved = (**c.state.alloc("x").unwrap()).clone();
    moved.node_id = "n1".into();
    moved.name = "moved".into();
    // Without a create time, a stored allocation keeps its own.
    moved.create_time = 0;
    apply_at(&mut c, 5, vec![moved]);
    assert_eq!(ids(&c.state, "n2"), []);
    assert_eq!(ids(&c.state, "n1"), [("x".to_string(), "n1".to_string())]);
    let of_job = c.state.allocs_by_job("j", true);
    assert_eq!(of_job.len(), 1);
    assert_eq!(of_job[0].name, "moved");
    assert_eq!(of_job[0].create_time, 3);
}

#[test]
fn an_allocation_filed_under_another_nodes_key_is_indexed_by_its_own_node() {
    // The core never makes such a plan; a scheduler plugin could. The fit
    // is judged on the node of the plan's key, as Nomad's applier does,
    // and the index by node follows the allocation's own record.
    let mut c = cluster();
    let mut plan = plan_of(vec![placement("a", "n1", 100, 100)]);
    let strays = [
        Arc::new(placement("b", "n2", 100, 50)),
        Arc::new(placement("c", "n1", 100, 50)),
    ];
    *plan.node_allocation.get_or_insert_with("n1", Vec::new) =
        [plan.node_allocation["n1"].clone(), vec![strays[0].clone()]].concat();
    *plan.node_allocation.get_or_insert_with("n2", Vec::new) = vec![strays[1].clone()];
    let crate::state::Reply::Plan(r) = c.apply(Command::ApplyPlan {
        plan: Box::new(plan),
        now: 1,
    }) else {
        panic!("a plan's reply")
    };
    assert!(r.alloc_index > 0);
    let on = |node: &str| -> Vec<String> {
        c.state
            .allocs_by_node
            .get(node)
            .map(|l| l.iter().map(|a| a.id.clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(on("n1"), ["a", "c"]);
    assert_eq!(on("n2"), ["b"]);
}
