//! The generic scheduler end to end: register, process, inspect the state.

use serde_json::json;

use crate::model::*;
use crate::scheduler::fixtures::{job_doc, node, prepare, Cluster};
use crate::scheduler::{plan_job, PlanOptions};
use crate::state::{AllocClientUpdate, Command};

fn four_nodes() -> Cluster {
    Cluster::with_nodes((1..=4).map(|i| node(&format!("n{i}"), "dc1", 4000, 8192)))
}

fn names(c: &Cluster, job: &str) -> Vec<String> {
    let mut v: Vec<String> = c.live(job).iter().map(|a| a.name.clone()).collect();
    v.sort();
    v
}

fn with_update(mut doc: serde_json::Value, update: serde_json::Value) -> serde_json::Value {
    doc["TaskGroups"][0]["Update"] = update;
    doc
}

#[test]
fn service_job_spreads_and_completes() {
    let mut c = four_nodes();
    let eval = c
        .register(prepare(&job_doc("web", "service", 3, 500, 256)))
        .unwrap();
    let kinds = c.process(eval.clone(), 1);
    assert_eq!(kinds, ["plan", "evals"]);
    let e = c.eval(&eval.id);
    assert_eq!(e.status, EVAL_STATUS_COMPLETE);
    assert_eq!(e.status_description, "");
    assert_eq!(e.deployment_id, "");
    assert_eq!(e.queued_allocations, Some([("web".to_string(), 0)].into()));
    assert!(e.failed_tg_allocs.is_empty());
    assert_eq!(e.snapshot_index, eval.create_index);
    assert_eq!(e.modify_index, eval.create_index + 2);
    assert_eq!(names(&c, "web"), ["web.web[0]", "web.web[1]", "web.web[2]"]);
    // The anti-affinity penalty spreads the job one per node.
    assert_eq!(
        c.per_node("web").values().copied().collect::<Vec<_>>(),
        [1, 1, 1]
    );
    let a = &c.live("web")[0];
    assert_eq!(
        (a.client_status.as_str(), a.desired_status.as_str()),
        ("pending", "run")
    );
    assert_eq!(a.create_time, 5_000);
    assert_eq!(a.shared_resources.as_ref().unwrap().disk_mb, 300);
    assert_eq!(a.resources.as_ref().unwrap().cpu, 500);
    let m = a.metrics.as_ref().unwrap();
    assert_eq!(m.nodes_available, [("dc1".to_string(), 4)].into());
    assert_eq!(m.nodes_evaluated, 2, "4 nodes: the limit is 2");
    assert_eq!(
        m.scores.keys().filter(|k| k.ends_with(".binpack")).count(),
        2
    );
    let s = c.state.job_summary("web").unwrap();
    assert_eq!((s.summary["web"].starting, s.summary["web"].queued), (3, 0));
    assert_eq!(c.job("web").status, JOB_STATUS_RUNNING);
}

#[test]
fn unplaceable_job_blocks_and_still_creates_its_deployment() {
    let mut c = four_nodes();
    let mut doc = with_update(
        job_doc("far", "service", 5, 100, 64),
        json!({"MaxParallel": 2}),
    );
    doc["Datacenters"] = json!(["us2", "eu1"]);
    let eval = c.register(prepare(&doc)).unwrap();
    let kinds = c.process(eval.clone(), 1);
    assert_eq!(kinds, ["evals", "plan", "evals"]);
    let e = c.eval(&eval.id);
    assert_eq!(e.status, EVAL_STATUS_COMPLETE);
    let m = &e.failed_tg_allocs["web"];
    assert_eq!(
        (m.nodes_evaluated, m.nodes_filtered, m.coalesced_failures),
        (0, 0, 4)
    );
    assert_eq!(
        m.nodes_available,
        [("eu1".to_string(), 0), ("us2".to_string(), 0)].into()
    );
    assert_eq!(e.queued_allocations, Some([("web".to_string(), 5)].into()));
    let blocked = c.eval(&e.blocked_eval);
    assert_eq!(blocked.status, EVAL_STATUS_BLOCKED);
    assert_eq!(
        blocked.status_description,
        "created to place remaining allocations"
    );
    assert_eq!(blocked.class_eligibility, Some(Default::default()));
    assert_eq!(
        (
            blocked.previous_eval.as_str(),
            blocked.deployment_id.as_str()
        ),
        (eval.id.as_str(), "")
    );
    assert_eq!(blocked.triggered_by, TRIGGER_JOB_REGISTER);
    assert_eq!(blocked.snapshot_index, eval.create_index);
    assert_eq!(blocked.create_index, eval.create_index + 1);
    let d = c.state.latest_deployment("far").unwrap();
    assert_eq!(e.deployment_id, d.id);
    assert_eq!(
        (d.status.as_str(), d.status_description.as_str()),
        ("running", "Deployment is running")
    );
    assert_eq!(
        (
            d.task_groups["web"].desired_total,
            d.task_groups["web"].placed_allocs
        ),
        (5, 0)
    );
    assert_eq!(d.create_index, eval.create_index + 2);
    assert_eq!(c.state.job_summary("far").unwrap().summary["web"].queued, 5);
}

#[test]
fn scaling_up_fills_free_names_and_down_stops_the_highest() {
    let mut c = four_nodes();
    c.run_job(prepare(&job_doc("s", "service", 3, 100, 64)), 1);
    let before: Vec<String> = c.live("s").iter().map(|a| a.id.clone()).collect();
    let e = c.run_job(prepare(&job_doc("s", "service", 6, 100, 64)), 2);
    assert_eq!(e.queued_allocations, Some([("web".to_string(), 0)].into()));
    assert_eq!(names(&c, "s").len(), 6);
    assert_eq!(names(&c, "s")[5], "s.web[5]");
    // The three survivors were updated in place: same IDs, new eval.
    for id in &before {
        let a = c.state.alloc(id).unwrap();
        assert_eq!((a.eval_id.as_str(), a.job_version()), (e.id.as_str(), 1));
    }
    let mut counts: Vec<usize> = c.per_node("s").values().copied().collect();
    counts.sort();
    assert_eq!(counts, [1, 1, 2, 2]);
    c.run_job(prepare(&job_doc("s", "service", 2, 100, 64)), 3);
    assert_eq!(names(&c, "s"), ["s.web[0]", "s.web[1]"]);
    let stopped: Vec<_> = c
        .state
        .allocs_by_job("s", true)
        .into_iter()
        .filter(|a| a.desired_status == ALLOC_DESIRED_STOP)
        .collect();
    assert_eq!(stopped.len(), 4);
    assert!(stopped
        .iter()
        .all(|a| a.desired_description == "alloc not needed due to job update"));
}

#[test]
fn destructive_update_replaces_under_the_same_names() {
    let mut c = four_nodes();
    c.run_job(prepare(&job_doc("d", "service", 2, 100, 64)), 1);
    let old: Vec<String> = c.live("d").iter().map(|a| a.id.clone()).collect();
    let mut doc = job_doc("d", "service", 2, 100, 64);
    doc["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"V": "2"});
    c.run_job(prepare(&doc), 2);
    assert_eq!(names(&c, "d"), ["d.web[0]", "d.web[1]"]);
    for a in c.live("d") {
        assert!(old.contains(&a.previous_allocation));
        assert_eq!(a.job_version(), 1);
    }
    for id in &old {
        let a = c.state.alloc(id).unwrap();
        assert_eq!(a.desired_status, ALLOC_DESIRED_STOP);
        assert_eq!(
            a.desired_description,
            "alloc is being updated due to job update"
        );
    }
}

#[test]
fn rolling_update_with_a_deployment_respects_max_parallel() {
    let mut c = four_nodes();
    let doc = with_update(
        job_doc("r", "service", 3, 100, 64),
        json!({"MaxParallel": 1}),
    );
    let first = c.run_job(prepare(&doc), 1);
    let d1 = c.state.latest_deployment("r").unwrap();
    assert_eq!(first.deployment_id, d1.id);
    assert_eq!(
        d1.task_groups["r".replace('r', "web").as_str()].placed_allocs,
        3
    );
    assert!(c.live("r").iter().all(|a| a.deployment_id == d1.id));

    let mut changed = doc.clone();
    changed["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"V": "2"});
    let job = prepare(&changed);
    // The dry run shows one destructive update now and two held back.
    let plan = plan_job(&c.state, job.clone(), &PlanOptions::default()).unwrap();
    let u = &plan.annotations.unwrap().desired_tg_updates["web"];
    assert_eq!((u.destructive_update, u.ignore, u.place), (1, 2, 0));
    let e = c.run_job(job, 2);
    let d2 = c.state.latest_deployment("r").unwrap();
    assert_ne!(d1.id, d2.id);
    assert_eq!(e.deployment_id, d2.id);
    assert_eq!(
        c.state.deployment(&d1.id).unwrap().status,
        DEPLOYMENT_STATUS_CANCELLED
    );
    assert_eq!(
        c.state.deployment(&d1.id).unwrap().status_description,
        "Cancelled due to newer version of job"
    );
    assert_eq!(d2.task_groups["web"].desired_total, 3);
    assert_eq!(d2.task_groups["web"].placed_allocs, 1);
    assert_eq!(e.next_eval, "", "deployments, not follow-ups, pace updates");
    assert_eq!(
        c.live("r").iter().filter(|a| a.job_version() == 1).count(),
        1
    );
}

#[test]
fn canaries_come_first_and_hold_the_rest() {
    let mut c = four_nodes();
    let doc = with_update(
        job_doc("k", "service", 3, 100, 64),
        json!({"MaxParallel": 1, "Canary": 1}),
    );
    c.run_job(prepare(&doc), 1);
    let mut changed = doc.clone();
    changed["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"V": "2"});
    let job = prepare(&changed);
    let plan = plan_job(&c.state, job.clone(), &PlanOptions::default()).unwrap();
    let u = &plan.annotations.unwrap().desired_tg_updates["web"];
    assert_eq!((u.canary, u.destructive_update, u.ignore), (1, 0, 3));
    c.run_job(job, 2);
    let d = c.state.latest_deployment("k").unwrap();
    assert_eq!(
        d.status_description,
        "Deployment is running but requires promotion"
    );
    let st = &d.task_groups["web"];
    assert_eq!(
        (st.desired_canaries, st.desired_total, st.placed_allocs),
        (1, 3, 1)
    );
    assert_eq!(st.placed_canaries.len(), 1);
    let canary = c.state.alloc(&st.placed_canaries[0]).unwrap();
    // The canary takes the name of the first destructive allocation.
    assert_eq!(canary.name, "k.web[0]");
    assert_eq!(c.live("k").len(), 4);
}

#[test]
fn stopping_a_job_stops_everything_and_cancels_its_deployment() {
    let mut c = four_nodes();
    let doc = with_update(
        job_doc("st", "service", 2, 100, 64),
        json!({"MaxParallel": 1}),
    );
    c.run_job(prepare(&doc), 1);
    let d = c.state.latest_deployment("st").unwrap();
    let eval = c.deregister("st", false);
    c.process(eval.clone(), 2);
    let e = c.eval(&eval.id);
    assert_eq!(e.queued_allocations, Some(Default::default()));
    // v0.6.3 quirk: the deregister eval carries the cancelled deployment.
    assert_eq!(e.deployment_id, d.id);
    let d = c.state.deployment(&d.id).unwrap();
    assert_eq!(
        (d.status.as_str(), d.status_description.as_str()),
        ("cancelled", "Cancelled because job is stopped")
    );
    assert!(c.live("st").is_empty());
    assert_eq!(c.job("st").status, JOB_STATUS_DEAD);
    let plan = plan_job(&c.state, prepare(&doc), &PlanOptions::default()).unwrap();
    assert_eq!(plan.annotations.unwrap().desired_tg_updates["web"].place, 2);
}

#[test]
fn lost_allocations_are_stopped_and_replaced() {
    let mut c = four_nodes();
    c.run_job(prepare(&job_doc("l", "service", 2, 100, 64)), 1);
    let victim = c.live("l")[0].clone();
    c.apply(Command::UpdateNodeStatus {
        node_id: victim.node_id.clone(),
        status: NODE_STATUS_DOWN.into(),
        now: 1,
    });
    let eval = Evaluation {
        id: "e-node".into(),
        priority: 50,
        eval_type: "service".into(),
        triggered_by: TRIGGER_NODE_UPDATE.into(),
        job_id: "l".into(),
        node_id: victim.node_id.clone(),
        status: EVAL_STATUS_PENDING.into(),
        ..Default::default()
    };
    c.apply(Command::UpsertEvals {
        evals: vec![eval.clone()],
    });
    c.process(eval, 2);
    let lost = c.state.alloc(&victim.id).unwrap();
    assert_eq!(lost.client_status, ALLOC_CLIENT_LOST);
    assert_eq!(
        lost.desired_description,
        "alloc is lost since its node is down"
    );
    assert_eq!(names(&c, "l"), ["l.web[0]", "l.web[1]"]);
    assert!(c.live("l").iter().all(|a| a.node_id != victim.node_id));
    assert_eq!(c.state.job_summary("l").unwrap().summary["web"].lost, 1);
}

#[test]
fn draining_migrates_within_the_limit_and_schedules_a_follow_up() {
    let mut c = Cluster::with_nodes([node("n1", "dc1", 4000, 8192), node("n2", "dc1", 4000, 8192)]);
    let mut doc = with_update(
        job_doc("m", "service", 2, 100, 64),
        json!({"MaxParallel": 1, "Stagger": 5_000_000_000i64}),
    );
    doc["Constraints"] = json!([{"LTarget": "${node.unique.id}", "Operand": "=", "RTarget": "n1"}]);
    c.run_job(prepare(&doc), 1);
    assert_eq!(c.per_node("m"), [("n1".to_string(), 2)].into());
    // Let the deployment finish so the migration limit is MaxParallel.
    let updates = c
        .live("m")
        .iter()
        .map(|a| AllocClientUpdate {
            alloc_id: a.id.clone(),
            client_status: ALLOC_CLIENT_RUNNING.into(),
            deployment_status: Some(AllocDeploymentStatus {
                healthy: Some(true),
                modify_index: 0,
            }),
            ..Default::default()
        })
        .collect();
    c.apply(Command::UpdateAllocsFromClient { updates });
    // The job may now run anywhere; n1 drains.
    doc["Constraints"] = json!([]);
    c.run_job(prepare(&doc), 2);
    c.apply(Command::UpdateNodeDrain {
        node_id: "n1".into(),
        drain: true,
    });
    let eval = Evaluation {
        id: "e-drain".into(),
        priority: 50,
        eval_type: "service".into(),
        triggered_by: TRIGGER_NODE_UPDATE.into(),
        job_id: "m".into(),
        status: EVAL_STATUS_PENDING.into(),
        ..Default::default()
    };
    c.apply(Command::UpsertEvals {
        evals: vec![eval.clone()],
    });
    let plan = plan_job(&c.state, (*c.job("m")).clone(), &PlanOptions::default()).unwrap();
    let u = &plan.annotations.unwrap().desired_tg_updates["web"];
    assert_eq!((u.migrate, u.ignore), (1, 1));
    assert_eq!(
        plan.created_evals.as_ref().unwrap()[0].triggered_by,
        TRIGGER_ROLLING_UPDATE
    );
    let kinds = c.process(eval.clone(), 3);
    assert_eq!(kinds, ["evals", "plan", "evals"]);
    let e = c.eval("e-drain");
    let next = c.eval(&e.next_eval);
    assert_eq!(
        (
            next.triggered_by.as_str(),
            next.wait,
            next.status.as_str(),
            next.previous_eval.as_str()
        ),
        ("rolling-update", 5_000_000_000, "pending", "e-drain")
    );
    assert_eq!(
        c.per_node("m"),
        [("n1".to_string(), 1), ("n2".to_string(), 1)].into()
    );
    let migrated: Vec<_> = c
        .state
        .allocs_by_job("m", true)
        .into_iter()
        .filter(|a| a.desired_description == "alloc is being migrated")
        .collect();
    assert_eq!(migrated.len(), 1);
}

#[test]
fn healthy_deployment_becomes_successful_and_marks_the_version_stable() {
    let mut c = four_nodes();
    let doc = with_update(
        job_doc("h", "service", 2, 100, 64),
        json!({"MaxParallel": 2}),
    );
    c.run_job(prepare(&doc), 1);
    let d = c.state.latest_deployment("h").unwrap();
    let updates = c
        .live("h")
        .iter()
        .map(|a| AllocClientUpdate {
            alloc_id: a.id.clone(),
            client_status: ALLOC_CLIENT_RUNNING.into(),
            deployment_status: Some(AllocDeploymentStatus {
                healthy: Some(true),
                modify_index: 0,
            }),
            ..Default::default()
        })
        .collect();
    c.apply(Command::UpdateAllocsFromClient { updates });
    assert_eq!(
        c.state.deployment(&d.id).unwrap().task_groups["web"].healthy_allocs,
        2
    );
    assert!(!c.job("h").stable);
    let e = c.run_job(prepare(&doc), 2);
    assert_eq!(e.deployment_id, d.id);
    let d = c.state.deployment(&d.id).unwrap();
    assert_eq!(
        (d.status.as_str(), d.status_description.as_str()),
        ("successful", "Deployment completed successfully")
    );
    assert!(c.job("h").stable);
}

#[test]
fn batch_keeps_finished_work_and_replaces_failures() {
    let mut c = four_nodes();
    c.run_job(prepare(&job_doc("b", "batch", 2, 100, 64)), 1);
    c.set_complete("b");
    let plan = plan_job(&c.state, (*c.job("b")).clone(), &PlanOptions::default()).unwrap();
    let u = &plan.annotations.unwrap().desired_tg_updates["b".replace('b', "web").as_str()];
    assert_eq!((u.ignore, u.place), (2, 0));
    // A failed allocation is replaced under its name.
    let a = c.state.allocs_by_job("b", true)[0].clone();
    c.apply(Command::UpdateAllocsFromClient {
        updates: vec![AllocClientUpdate {
            alloc_id: a.id.clone(),
            client_status: ALLOC_CLIENT_FAILED.into(),
            ..Default::default()
        }],
    });
    let plan = plan_job(&c.state, (*c.job("b")).clone(), &PlanOptions::default()).unwrap();
    let u = &plan.annotations.unwrap().desired_tg_updates["web"];
    assert_eq!((u.ignore, u.place), (1, 1));
}

#[test]
fn batch_stacks_more_readily_than_service() {
    let mut c = Cluster::with_nodes([node("n1", "dc1", 4000, 8192), node("n2", "dc1", 4000, 8192)]);
    c.run_job(prepare(&job_doc("bb", "batch", 3, 100, 64)), 4);
    let mut counts: Vec<usize> = c.per_node("bb").values().copied().collect();
    counts.sort();
    assert_eq!(counts, [1, 2]);
    let a = c
        .live("bb")
        .into_iter()
        .find(|a| a.name == "bb.web[2]")
        .unwrap();
    let m = a.metrics.as_ref().unwrap();
    assert!(m.scores.values().any(|s| *s == -10.0), "{:?}", m.scores);
}

#[test]
fn sticky_disk_prefers_the_previous_node() {
    let mut c = four_nodes();
    let mut doc = job_doc("sd", "service", 1, 100, 64);
    doc["TaskGroups"][0]["EphemeralDisk"] = json!({"Sticky": true, "SizeMB": 300});
    c.run_job(prepare(&doc), 1);
    let before = c.live("sd")[0].node_id.clone();
    for seed in 2..6 {
        doc["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"V": seed.to_string()});
        c.run_job(prepare(&doc), seed);
        assert_eq!(c.live("sd")[0].node_id, before);
    }
}

#[test]
fn distinct_hosts_fails_the_rest_with_coalesced_failures() {
    let mut c = Cluster::with_nodes([node("n1", "dc1", 4000, 8192), node("n2", "dc1", 4000, 8192)]);
    let mut doc = job_doc("dh", "service", 4, 100, 64);
    doc["Constraints"] = json!([{"Operand": "distinct_hosts"}]);
    let e = c.run_job(prepare(&doc), 1);
    assert_eq!(c.per_node("dh").len(), 2);
    let m = &e.failed_tg_allocs["web"];
    assert_eq!(
        (m.nodes_evaluated, m.nodes_filtered, m.coalesced_failures),
        (2, 2, 1)
    );
    assert_eq!(
        m.constraint_filtered,
        [("distinct_hosts".to_string(), 2)].into()
    );
    assert_eq!(e.queued_allocations, Some([("web".to_string(), 2)].into()));
}

#[test]
fn in_place_check_failing_a_constraint_memoizes_the_class() {
    let mut c = Cluster::with_nodes([node("n1", "dc1", 4000, 8192)]);
    c.run_job(prepare(&job_doc("ic", "service", 1, 100, 64)), 1);
    let mut doc = job_doc("ic", "service", 1, 100, 64);
    doc["TaskGroups"][0]["Constraints"] =
        json!([{"LTarget": "${attr.kernel.name}", "Operand": "=", "RTarget": "windows"}]);
    let plan = plan_job(&c.state, prepare(&doc), &PlanOptions::default()).unwrap();
    assert_eq!(
        plan.annotations.unwrap().desired_tg_updates["web"].destructive_update,
        1
    );
    let m = &plan.failed_tg_allocs.unwrap()["web"];
    assert_eq!(
        m.constraint_filtered,
        [("computed class ineligible".to_string(), 1)].into()
    );
    let blocked = &plan.created_evals.unwrap()[0];
    let class = c.state.node("n1").unwrap().computed_class.clone();
    assert_eq!(blocked.class_eligibility, Some([(class, true)].into()));
    assert_eq!(blocked.job_modify_index, c.job("ic").job_modify_index + 1);
}

#[test]
fn moving_to_an_empty_datacenter_updates_in_place() {
    let mut c = four_nodes();
    c.run_job(prepare(&job_doc("mv", "service", 2, 100, 64)), 1);
    let mut doc = job_doc("mv", "service", 2, 100, 64);
    doc["Datacenters"] = json!(["nowhere"]);
    let plan = plan_job(&c.state, prepare(&doc), &PlanOptions::default()).unwrap();
    let u = &plan.annotations.unwrap().desired_tg_updates["web"];
    assert_eq!(
        (u.in_place_update, u.place, u.destructive_update),
        (2, 0, 0)
    );
    assert_eq!(plan.failed_tg_allocs, None);
}

#[test]
fn removed_group_is_stopped() {
    let mut c = four_nodes();
    let mut doc = job_doc("rg", "service", 1, 100, 64);
    let mut worker = doc["TaskGroups"][0].clone();
    worker["Name"] = json!("worker");
    doc["TaskGroups"].as_array_mut().unwrap().push(worker);
    c.run_job(prepare(&doc), 1);
    assert_eq!(c.live("rg").len(), 2);
    let e = c.run_job(prepare(&job_doc("rg", "service", 1, 100, 64)), 2);
    assert_eq!(e.queued_allocations, Some([("web".to_string(), 0)].into()));
    assert_eq!(names(&c, "rg"), ["rg.web[0]"]);
}

#[test]
fn in_place_check_clears_its_own_distinct_property_value() {
    let mut nodes: Vec<Node> = (1..=2)
        .map(|i| node(&format!("n{i}"), "dc1", 4000, 8192))
        .collect();
    for (i, n) in nodes.iter_mut().enumerate() {
        n.meta.insert("rack".into(), format!("r{i}"));
    }
    let mut c = Cluster::with_nodes(nodes);
    let mut doc = job_doc("dp", "service", 2, 100, 64);
    doc["TaskGroups"][0]["Constraints"] =
        json!([{"LTarget": "${meta.rack}", "Operand": "distinct_property"}]);
    c.run_job(prepare(&doc), 1);
    assert_eq!(c.per_node("dp").len(), 2);
    // A priority change keeps both allocations: each in-place check frees
    // its own rack before testing it.
    doc["Priority"] = json!(60);
    let plan = plan_job(&c.state, prepare(&doc), &PlanOptions::default()).unwrap();
    let u = &plan.annotations.unwrap().desired_tg_updates["web"];
    assert_eq!((u.in_place_update, u.destructive_update), (2, 0));
    // A third allocation has no rack left.
    doc["TaskGroups"][0]["Count"] = json!(3);
    let plan = plan_job(&c.state, prepare(&doc), &PlanOptions::default()).unwrap();
    let m = &plan.failed_tg_allocs.unwrap()["web"];
    assert_eq!(m.nodes_filtered, 2);
    assert!(m
        .constraint_filtered
        .keys()
        .all(|k| k.starts_with("distinct_property: ${meta.rack}=r")));
}

#[test]
fn in_place_update_keeps_client_state() {
    let mut c = four_nodes();
    c.run_job(prepare(&job_doc("cs", "service", 1, 100, 64)), 1);
    let a = c.live("cs")[0].clone();
    c.apply(Command::UpdateAllocsFromClient {
        updates: vec![AllocClientUpdate {
            alloc_id: a.id.clone(),
            client_status: ALLOC_CLIENT_RUNNING.into(),
            task_states: [("server".to_string(), TaskState::default())].into(),
            ..Default::default()
        }],
    });
    let mut doc = job_doc("cs", "service", 1, 100, 64);
    doc["Priority"] = json!(70);
    let e = c.run_job(prepare(&doc), 2);
    let after = c.state.alloc(&a.id).unwrap();
    assert_eq!(
        (after.eval_id.as_str(), after.job_version()),
        (e.id.as_str(), 1)
    );
    assert_eq!(after.client_status, ALLOC_CLIENT_RUNNING);
    assert_eq!(after.task_states.keys().collect::<Vec<_>>(), ["server"]);
    assert_eq!(after.create_index, a.create_index);
    assert_eq!(after.metrics.as_ref().unwrap().nodes_evaluated, 1);
}

#[test]
fn a_job_asking_for_more_than_the_allocation_limit_fails_its_evaluation() {
    use crate::scheduler::generic::MAX_JOB_ALLOCS;
    let mut c = four_nodes();
    let mut doc = job_doc("huge", "service", 2_147_483_647, 100, 64);
    let mut second = doc["TaskGroups"][0].clone();
    second["Name"] = json!("other");
    second["Count"] = json!(1);
    doc["TaskGroups"].as_array_mut().unwrap().push(second);
    let want = "job \"huge\"'s task groups ask for 2147483648 allocations, more than the \
                1000000 one job may have";

    let eval = c.register(prepare(&doc)).unwrap();
    assert_eq!(c.process(eval.clone(), 1), ["evals"]);
    let e = c.eval(&eval.id);
    assert_eq!(
        (e.status.as_str(), e.status_description.as_str()),
        (EVAL_STATUS_FAILED, want)
    );
    assert!(c.live("huge").is_empty());
    let err = plan_job(&c.state, prepare(&doc), &PlanOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), want);

    // Exactly at the limit is allowed (counted over the groups, negative
    // counts as none); stopping such a job is never refused.
    doc["TaskGroups"][0]["Count"] = json!(MAX_JOB_ALLOCS - 1);
    assert!(super::too_many(&prepare(&doc)).is_none());
    doc["TaskGroups"][0]["Count"] = json!(MAX_JOB_ALLOCS);
    assert!(super::too_many(&prepare(&doc)).is_some());
    doc["TaskGroups"][1]["Count"] = json!(-5);
    assert!(super::too_many(&prepare(&doc)).is_none());
    doc["TaskGroups"][0]["Count"] = json!(i64::MAX);
    doc["TaskGroups"][1]["Count"] = json!(i64::MAX);
    assert!(super::too_many(&prepare(&doc))
        .unwrap()
        .contains(&format!("ask for {} allocations", i64::MAX)));
    let eval = c.deregister("huge", false);
    c.process(eval.clone(), 2);
    assert_eq!(c.eval(&eval.id).status, EVAL_STATUS_COMPLETE);
}

#[test]
fn asks_near_the_integer_limit_exhaust_instead_of_wrapping() {
    // Go's sums wrap: 64 + i64::MAX MiB would come out negative and fit.
    let mut c = four_nodes();
    let mut doc = job_doc("greedy", "service", 1, 100, i64::MAX);
    let mut small = doc["TaskGroups"][0]["Tasks"][0].clone();
    small["Name"] = json!("small");
    small["Resources"]["MemoryMB"] = json!(64);
    doc["TaskGroups"][0]["Tasks"]
        .as_array_mut()
        .unwrap()
        .push(small);
    let e = c.run_job(prepare(&doc), 1);
    assert!(c.live("greedy").is_empty());
    let m = &e.failed_tg_allocs["web"];
    assert_eq!((m.nodes_evaluated, m.nodes_exhausted), (4, 4));
    assert_eq!(
        m.dimension_exhausted,
        [("memory exhausted".to_string(), 4)].into()
    );
    // The same for bandwidth, summed per device: every node already
    // carries 10 MBits.
    let mut doc = job_doc("net", "service", 4, 100, 64);
    doc["TaskGroups"][0]["Tasks"][0]["Resources"]["Networks"] = json!([{"MBits": 10}]);
    c.run_job(prepare(&doc), 2);
    assert_eq!(c.per_node("net").len(), 4);
    let mut doc = job_doc("wide", "service", 1, 100, 64);
    doc["TaskGroups"][0]["Tasks"][0]["Resources"]["Networks"] = json!([{"MBits": i64::MAX}]);
    let e = c.run_job(prepare(&doc), 3);
    assert!(c.live("wide").is_empty());
    assert!(e.failed_tg_allocs.contains_key("web"));
}
