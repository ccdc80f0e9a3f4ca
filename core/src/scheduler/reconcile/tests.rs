//! Reconciler decisions with a scripted update function, and name indexes.

use super::*;
use crate::model::{AllocDeploymentStatus, EphemeralDisk, Task, UpdateStrategy, NODE_STATUS_DOWN};

fn job(count: i64, update: Option<UpdateStrategy>) -> Arc<Job> {
    Arc::new(Job {
        id: "j".into(),
        job_type: "service".into(),
        version: 1,
        create_index: 10,
        modify_index: 20,
        job_modify_index: 20,
        task_groups: vec![TaskGroup {
            name: "web".into(),
            count,
            update,
            ephemeral_disk: Some(EphemeralDisk::nomad_default()),
            tasks: vec![Task {
                name: "t".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn alloc(i: u64, node: &str) -> Arc<Allocation> {
    Arc::new(Allocation {
        id: format!("a{i:02}"),
        name: alloc_name("j", "web", i),
        job_id: "j".into(),
        task_group: "web".into(),
        node_id: node.into(),
        ..Default::default()
    })
}

fn rolling(max_parallel: i64, canary: i64) -> Option<UpdateStrategy> {
    Some(UpdateStrategy {
        max_parallel,
        canary,
        stagger: 30_000_000_000,
        ..Default::default()
    })
}

/// Reconciles with `decide` choosing per allocation.
fn run(
    job: Option<Arc<Job>>,
    allocs: Vec<Arc<Allocation>>,
    deployment: Option<Deployment>,
    tainted: &BTreeMap<String, Option<&Node>>,
    decide: impl Fn(&Allocation) -> AllocUpdate,
) -> ReconcileResults {
    let input = ReconcileInput {
        job_id: "j",
        job,
        deployment,
        allocs,
        tainted,
    };
    let mut rng = Rng::new(1);
    reconcile(input, &mut rng, |_, a, _, _| decide(a))
}

fn stops(r: &ReconcileResults) -> Vec<(String, &'static str, &'static str)> {
    r.stop
        .iter()
        .map(|s| (s.alloc.name.clone(), s.client_status, s.description))
        .collect()
}

fn place_names(v: &[Placement]) -> Vec<String> {
    v.iter().map(|p| p.name.clone().build("j", "web")).collect()
}

#[test]
fn new_job_places_count_and_creates_a_deployment_with_update() {
    let none = BTreeMap::new();
    let r = run(Some(job(3, None)), vec![], None, &none, |_| {
        AllocUpdate::Ignore
    });
    assert_eq!(place_names(&r.place), ["j.web[0]", "j.web[1]", "j.web[2]"]);
    assert_eq!(r.desired_tg_updates["web"].place, 3);
    assert!(r.deployment.is_none());
    let r = run(Some(job(2, rolling(1, 0))), vec![], None, &none, |_| {
        AllocUpdate::Ignore
    });
    let d = r.deployment.unwrap();
    assert_eq!(
        (d.job_version, d.job_modify_index, d.job_create_index),
        (1, 20, 10)
    );
    assert_eq!(d.status, "running");
    assert_eq!(d.task_groups["web"].desired_total, 2);
}

#[test]
fn every_decision_kind_is_counted() {
    let none = BTreeMap::new();
    let allocs: Vec<_> = (0..4).map(|i| alloc(i, "n1")).collect();
    let r = run(Some(job(4, None)), allocs, None, &none, |a| {
        match a.name.as_str() {
            "j.web[0]" => AllocUpdate::Ignore,
            "j.web[1]" => AllocUpdate::InPlace(Arc::new(a.clone())),
            _ => AllocUpdate::Destructive,
        }
    });
    let u = &r.desired_tg_updates["web"];
    assert_eq!(
        (u.ignore, u.in_place_update, u.destructive_update, u.place),
        (1, 1, 2, 0)
    );
    assert_eq!(r.in_place.len(), 1);
    assert_eq!(place_names(&r.destructive), ["j.web[2]", "j.web[3]"]);
    assert!(r
        .destructive
        .iter()
        .all(|p| p.stop_previous == Some(ALLOC_UPDATING)));
}

#[test]
fn excess_allocations_stop_from_the_highest_index() {
    let none = BTreeMap::new();
    let allocs: Vec<_> = (0..5).map(|i| alloc(i, "n1")).collect();
    let r = run(Some(job(2, None)), allocs, None, &none, |_| {
        AllocUpdate::Ignore
    });
    let mut s: Vec<String> = stops(&r).into_iter().map(|s| s.0).collect();
    s.sort();
    assert_eq!(s, ["j.web[2]", "j.web[3]", "j.web[4]"]);
    assert!(r.stop.iter().all(|s| s.description == ALLOC_NOT_NEEDED));
    let u = &r.desired_tg_updates["web"];
    assert_eq!((u.stop, u.ignore), (3, 2));
}

#[test]
fn lost_and_migrating_allocations() {
    let down = Node {
        status: NODE_STATUS_DOWN.into(),
        ..Default::default()
    };
    let draining = Node {
        status: "ready".into(),
        drain: true,
        ..Default::default()
    };
    let tainted: BTreeMap<String, Option<&Node>> = [
        ("down".to_string(), Some(&down)),
        ("gone".to_string(), None),
        ("drain".to_string(), Some(&draining)),
    ]
    .into();
    let allocs = vec![
        alloc(0, "down"),
        alloc(1, "gone"),
        alloc(2, "drain"),
        alloc(3, "drain"),
        alloc(4, "ok"),
    ];
    // Placements count against the limit: 3 − 2 leaves one migration.
    let r = run(Some(job(5, rolling(3, 0))), allocs, None, &tainted, |_| {
        AllocUpdate::Ignore
    });
    let u = &r.desired_tg_updates["web"];
    assert_eq!((u.stop, u.place, u.migrate, u.ignore), (2, 2, 1, 2));
    let s = stops(&r);
    assert!(s.contains(&("j.web[0]".into(), ALLOC_CLIENT_LOST, ALLOC_LOST)));
    assert!(s.contains(&("j.web[1]".into(), ALLOC_CLIENT_LOST, ALLOC_LOST)));
    assert!(s.contains(&("j.web[2]".into(), "", ALLOC_MIGRATING)));
    // Lost names are refilled; the migration keeps its name and origin.
    assert_eq!(place_names(&r.place), ["j.web[0]", "j.web[1]", "j.web[2]"]);
    assert_eq!(r.place[2].previous.as_ref().unwrap().id, "a02");
    assert_eq!(r.followup_eval_wait, 30_000_000_000);
}

#[test]
fn paused_deployment_only_replaces_lost() {
    let tainted_node = Node {
        status: NODE_STATUS_DOWN.into(),
        ..Default::default()
    };
    let tainted: BTreeMap<String, Option<&Node>> =
        [("down".to_string(), Some(&tainted_node))].into();
    let j = job(4, rolling(2, 0));
    let mut d = new_deployment(&j, &mut Rng::new(9));
    d.status = DEPLOYMENT_STATUS_PAUSED.into();
    d.task_groups
        .insert("web".into(), DeploymentState::default());
    let allocs = vec![alloc(0, "down"), alloc(1, "ok")];
    let r = run(Some(j), allocs, Some(d), &tainted, |_| {
        AllocUpdate::Destructive
    });
    let u = &r.desired_tg_updates["web"];
    assert_eq!(
        (u.place, u.destructive_update, u.ignore, u.stop),
        (1, 0, 1, 1)
    );
    assert!(r.destructive.is_empty());
    assert!(r.deployment_updates.is_empty());
}

#[test]
fn limit_counts_unhealthy_allocs_of_the_deployment() {
    let none = BTreeMap::new();
    let j = job(3, rolling(2, 0));
    let mut d = new_deployment(&j, &mut Rng::new(9));
    d.task_groups
        .insert("web".into(), DeploymentState::default());
    let mut allocs: Vec<Arc<Allocation>> = (0..3).map(|i| alloc(i, "n1")).collect();
    // One allocation of the deployment is not yet healthy.
    let mut pending = (*allocs[0]).clone();
    pending.deployment_id = d.id.clone();
    allocs[0] = Arc::new(pending);
    let r = run(
        Some(j.clone()),
        allocs.clone(),
        Some(d.clone()),
        &none,
        |a| {
            if a.id == "a00" {
                AllocUpdate::Ignore
            } else {
                AllocUpdate::Destructive
            }
        },
    );
    let u = &r.desired_tg_updates["web"];
    assert_eq!((u.destructive_update, u.ignore), (1, 2));
    // An unhealthy one stops everything.
    let mut bad = (*allocs[0]).clone();
    bad.deployment_status = Some(AllocDeploymentStatus {
        healthy: Some(false),
        modify_index: 0,
    });
    allocs[0] = Arc::new(bad);
    let r = run(Some(j), allocs, Some(d), &none, |a| {
        if a.id == "a00" {
            AllocUpdate::Ignore
        } else {
            AllocUpdate::Destructive
        }
    });
    assert_eq!(r.desired_tg_updates["web"].destructive_update, 0);
}

#[test]
fn canaries_are_placed_before_destructive_updates() {
    let none = BTreeMap::new();
    let allocs: Vec<_> = (0..3).map(|i| alloc(i, "n1")).collect();
    let r = run(Some(job(3, rolling(1, 2))), allocs, None, &none, |_| {
        AllocUpdate::Destructive
    });
    let u = &r.desired_tg_updates["web"];
    assert_eq!((u.canary, u.destructive_update, u.ignore), (2, 0, 3));
    assert!(r.place.iter().all(|p| p.canary));
    assert_eq!(place_names(&r.place), ["j.web[0]", "j.web[1]"]);
    let d = r.deployment.unwrap();
    assert_eq!(
        d.status_description,
        "Deployment is running but requires promotion"
    );
    assert_eq!(
        (
            d.task_groups["web"].desired_canaries,
            d.task_groups["web"].desired_total
        ),
        (2, 3)
    );
}

#[test]
fn stopped_job_stops_all_and_cancels_active_deployment() {
    let none = BTreeMap::new();
    let mut j = (*job(2, None)).clone();
    j.stop = true;
    let j = Arc::new(j);
    let d = new_deployment(&j, &mut Rng::new(2));
    let r = run(
        Some(j),
        vec![alloc(0, "n1"), alloc(1, "n1")],
        Some(d.clone()),
        &none,
        |_| AllocUpdate::Ignore,
    );
    assert_eq!(r.desired_tg_updates["web"].stop, 2);
    assert_eq!(r.deployment_updates[0].status, DEPLOYMENT_STATUS_CANCELLED);
    assert_eq!(
        r.deployment_updates[0].status_description,
        "Cancelled because job is stopped"
    );
    // A purged job (no job at all) is handled the same way.
    let r = run(None, vec![alloc(0, "n1")], None, &none, |_| {
        AllocUpdate::Ignore
    });
    assert_eq!(stops(&r), [("j.web[0]".to_string(), "", ALLOC_NOT_NEEDED)]);
}

#[test]
fn complete_deployment_is_marked_successful() {
    let none = BTreeMap::new();
    let j = job(1, rolling(1, 0));
    let mut d = new_deployment(&j, &mut Rng::new(3));
    d.task_groups
        .insert("web".into(), DeploymentState::default());
    let mut a = (*alloc(0, "n1")).clone();
    a.deployment_id = d.id.clone();
    a.deployment_status = Some(AllocDeploymentStatus {
        healthy: Some(true),
        modify_index: 0,
    });
    let r = run(
        Some(j.clone()),
        vec![Arc::new(a.clone())],
        Some(d.clone()),
        &none,
        |_| AllocUpdate::Ignore,
    );
    assert_eq!(r.deployment_updates.len(), 1);
    assert_eq!(r.deployment_updates[0].status, DEPLOYMENT_STATUS_SUCCESSFUL);
    // Not while an allocation's health is unknown.
    a.deployment_status = None;
    let r = run(Some(j), vec![Arc::new(a)], Some(d), &none, |_| {
        AllocUpdate::Ignore
    });
    assert!(r.deployment_updates.is_empty());
}

#[test]
fn name_indexes() {
    let a = Allocation {
        name: "job.web[12]".into(),
        job_id: "job".into(),
        task_group: "web".into(),
        ..Default::default()
    };
    assert_eq!(name_index(&a), 12);
    let b = Allocation {
        name: "other-name.web[3]".into(),
        job_id: "job".into(),
        task_group: "web".into(),
        ..Default::default()
    };
    assert_eq!(name_index(&b), 0, "Nomad parses by the job ID's length");
    assert_eq!(bitmap_from(&[], 0).len(), 8);
    assert_eq!(bitmap_from(&[8], 3).len(), 16);
    assert_eq!(bitmap_from(&[2], 10).len(), 16);

    let mut idx = NameIndex::new("j", "web", 4, &[0, 2]);
    assert_eq!(idx.next(3), [1, 3, 0]);
    let mut idx = NameIndex::new("j", "web", 4, &[0, 2, 5]);
    let h: Vec<String> = idx.highest(2).into_iter().collect();
    assert_eq!(h, ["j.web[2]", "j.web[5]"]);
    let mut idx = NameIndex::new("j", "web", 3, &[0, 1, 2]);
    let existing: BTreeSet<&str> = ["j.web[0]"].into();
    assert_eq!(idx.next_canaries(2, &existing, &[0, 1]), ["j.web[1]"]);
}

#[test]
fn alloc_names_count_in_decimal() {
    assert_eq!(alloc_name("j", "web", 0), "j.web[0]");
    assert_eq!(alloc_name("j", "web", 10), "j.web[10]");
    assert_eq!(alloc_name("a.b", "c", 1234), "a.b.c[1234]");
    assert_eq!(alloc_name("", "", u64::MAX), format!(".[{}]", u64::MAX));
}
