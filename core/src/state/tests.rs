//! Versioning, check-and-set, status and summary rules of the state.

use super::*;
use crate::model::*;
use crate::state::commands::{Command, Reply};

fn job(id: &str) -> Job {
    let api: crate::ApiJob = crate::gojson::from_slice(
        format!(
            r#"{{"ID":"{id}","Datacenters":["dc1"],"TaskGroups":[{{"Name":"web","Tasks":[{{"Name":"t","Driver":"raw_exec","Config":{{"command":"/bin/sleep"}}}}]}}]}}"#
        )
        .as_bytes(),
        "api.Job",
    )
    .unwrap();
    crate::prepare(api).job
}

fn register(s: &mut ClusterState, job: Job) -> Result<RegisterReply, ApplyError> {
    register_cas(s, job, false, 0)
}

fn register_cas(
    s: &mut ClusterState,
    job: Job,
    enforce: bool,
    jmi: u64,
) -> Result<RegisterReply, ApplyError> {
    let n = s.index();
    match s
        .apply(Command::RegisterJob {
            job: Box::new(job),
            enforce_index: enforce,
            job_modify_index: jmi,
            eval_id: format!("eval-{n}"),
            now: 1_000 + n as i64,
        })?
        .reply
    {
        Reply::Register(r) => Ok(r),
        other => panic!("unexpected reply {other:?}"),
    }
}

#[test]
fn register_writes_job_then_eval() {
    let mut s = ClusterState::default();
    let r = register(&mut s, job("a")).unwrap();
    assert_eq!(
        (r.job_modify_index, r.eval_create_index, r.index),
        (1, 2, 2)
    );
    let j = s.job("a").unwrap();
    assert_eq!(
        (
            j.version,
            j.create_index,
            j.modify_index,
            j.job_modify_index
        ),
        (0, 1, 1, 1)
    );
    assert_eq!(j.status, JOB_STATUS_PENDING);
    assert_eq!(j.submit_time, 1_000);
    let evals = s.evals_by_job("a");
    assert_eq!(evals.len(), 1);
    assert_eq!(evals[0].triggered_by, TRIGGER_JOB_REGISTER);
    assert_eq!(evals[0].job_modify_index, 1);
    assert_eq!(
        (evals[0].create_index, evals[0].status.as_str()),
        (2, "pending")
    );
    let sum = s.job_summary("a").unwrap();
    assert_eq!((sum.create_index, sum.modify_index), (1, 1));
    assert_eq!(sum.summary["web"], TaskGroupSummary::default());
    assert_eq!(s.table_index(Table::Evals), 2);
    assert_eq!(s.table_index(Table::Jobs), 1);
}

#[test]
fn identical_register_keeps_version_but_creates_eval() {
    let mut s = ClusterState::default();
    register(&mut s, job("a")).unwrap();
    let r = register(&mut s, job("a")).unwrap();
    assert_eq!(r.job_modify_index, 1);
    assert_eq!(r.eval_create_index, 3);
    let j = s.job("a").unwrap();
    assert_eq!(
        (j.version, j.job_modify_index, j.submit_time),
        (0, 1, 1_000)
    );
    assert_eq!(s.evals_by_job("a").len(), 2);
    assert_eq!(s.job_versions("a").len(), 1);
}

#[test]
fn spec_change_bumps_version() {
    let mut s = ClusterState::default();
    register(&mut s, job("a")).unwrap();
    let mut j2 = job("a");
    j2.task_groups[0].count = 2;
    let r = register(&mut s, j2).unwrap();
    assert_eq!((r.job_modify_index, r.eval_create_index), (3, 4));
    let j = s.job("a").unwrap();
    assert_eq!((j.version, j.create_index, j.job_modify_index), (1, 1, 3));
    let versions: Vec<u64> = s.job_versions("a").iter().map(|v| v.version).collect();
    assert_eq!(versions, vec![1, 0]);
}

#[test]
fn lookups_are_case_insensitive_but_versions_exact() {
    let mut s = ClusterState::default();
    register(&mut s, job("example")).unwrap();
    assert!(s.job("EXAMPLE").is_some());
    assert!(s.job_versions("EXAMPLE").is_empty());
    let r = register(&mut s, job("Example")).unwrap();
    assert_eq!(
        r.job_modify_index, 3,
        "a differently-cased ID is a spec change of the same job"
    );
    assert_eq!(s.job("example").unwrap().id, "Example");
    assert_eq!(s.jobs().count(), 1);
}

#[test]
fn enforce_index_cases() {
    let mut s = ClusterState::default();
    assert_eq!(
        register_cas(&mut s, job("a"), true, 5).unwrap_err().0,
        "Enforcing job modify index 5: job does not exist"
    );
    assert_eq!(s.index(), 0, "a refused write changes nothing");
    register_cas(&mut s, job("a"), true, 0).unwrap();
    assert_eq!(
        register_cas(&mut s, job("a"), true, 0).unwrap_err().0,
        "Enforcing job modify index 0: job already exists"
    );
    assert_eq!(
        register_cas(&mut s, job("a"), true, 1001).unwrap_err().0,
        "Enforcing job modify index 1001: job exists with conflicting job modify index: 1"
    );
    let mut j2 = job("a");
    j2.meta.insert("x".into(), "1".into());
    register_cas(&mut s, j2.clone(), true, 1).unwrap();
    assert_eq!(
        register_cas(&mut s, j2.clone(), true, 1).unwrap_err().0,
        "Enforcing job modify index 1: job exists with conflicting job modify index: 3"
    );
    // EnforceIndex false ignores the index.
    register_cas(&mut s, j2, false, 1).unwrap();
}

#[test]
fn update_compatibility_messages() {
    let mut s = ClusterState::default();
    register(&mut s, job("a")).unwrap();
    let mut b = job("a");
    b.job_type = "batch".into();
    assert_eq!(
        register(&mut s, b).unwrap_err().0,
        "cannot update job from type \"service\" to \"batch\""
    );
    let mut p = job("a");
    p.parameterized_job = Some(ParameterizedJobConfig::default());
    assert_eq!(
        register(&mut s, p).unwrap_err().0,
        "cannot update parameterized job to being non-parameterized"
    );
}

#[test]
fn stop_writes_a_new_version_every_time_and_purge_deletes() {
    let mut s = ClusterState::default();
    register(&mut s, job("a")).unwrap();
    let dereg = |s: &mut ClusterState, purge: bool| match s
        .apply(Command::DeregisterJob {
            job_id: "a".into(),
            purge,
            eval_id: format!("d{}", s.index()),
            now: 5,
        })
        .unwrap()
        .reply
    {
        Reply::Deregister(r) => r,
        other => panic!("{other:?}"),
    };
    let r = dereg(&mut s, false);
    assert_eq!((r.job_modify_index, r.eval_create_index), (3, 4));
    let j = s.job("a").unwrap();
    assert!(j.stop);
    assert_eq!((j.version, j.submit_time), (1, 1_000));
    let e = s.eval(&r.eval_id).unwrap();
    assert_eq!(
        (e.priority, e.eval_type.as_str(), e.triggered_by.as_str()),
        (50, "service", "job-deregister")
    );
    dereg(&mut s, false);
    assert_eq!(s.job("a").unwrap().version, 2);
    dereg(&mut s, true);
    assert!(s.job("a").is_none());
    assert!(s.job_versions("a").is_empty());
    assert!(s.job_summary("a").is_none());
    assert_eq!(s.evals_by_job("a").len(), 4, "evaluations survive a purge");
    register(&mut s, job("a")).unwrap();
    assert_eq!(s.job("a").unwrap().version, 0);
}

#[test]
fn deregister_of_missing_job_still_creates_eval() {
    let mut s = ClusterState::default();
    let a = s
        .apply(Command::DeregisterJob {
            job_id: "ghost".into(),
            purge: false,
            eval_id: "e".into(),
            now: 0,
        })
        .unwrap();
    match a.reply {
        Reply::Deregister(r) => assert_eq!((r.job_modify_index, r.eval_create_index), (1, 2)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn six_versions_kept_and_newest_stable_survives_once() {
    let mut s = ClusterState::default();
    let versioned = |i: u32| {
        let mut j = job("a");
        j.meta.insert("v".into(), i.to_string());
        j
    };
    for i in 0..7 {
        register(&mut s, versioned(i)).unwrap();
    }
    let v: Vec<u64> = s.job_versions("a").iter().map(|j| j.version).collect();
    assert_eq!(v, vec![6, 5, 4, 3, 2, 1], "the oldest version is dropped");

    let mut s = ClusterState::default();
    register(&mut s, versioned(0)).unwrap();
    s.apply(Command::SetJobStability {
        job_id: "a".into(),
        version: 0,
        stable: true,
    })
    .unwrap();
    for i in 1..7 {
        register(&mut s, versioned(i)).unwrap();
    }
    let v: Vec<u64> = s.job_versions("a").iter().map(|j| j.version).collect();
    assert_eq!(
        v,
        vec![6, 5, 4, 3, 2, 0],
        "stable v0 survives, v1 is dropped instead"
    );
    assert!(!s.job("a").unwrap().stable, "new versions are not stable");
    register(&mut s, versioned(7)).unwrap();
    let v: Vec<u64> = s.job_versions("a").iter().map(|j| j.version).collect();
    // versioning.md says "one more round", but the rule it states (swap
    // when the first stable version is the one to drop) keeps the newest
    // stable version for as long as no newer version is stable.
    assert_eq!(v, vec![7, 6, 5, 4, 3, 0], "the newest stable version stays");
}

#[test]
fn stability_rewrites_that_version_as_current() {
    let mut s = ClusterState::default();
    register(&mut s, job("a")).unwrap();
    let mut j2 = job("a");
    j2.task_groups[0].count = 3;
    register(&mut s, j2).unwrap();
    let before = s.index();
    let a = s
        .apply(Command::SetJobStability {
            job_id: "a".into(),
            version: 0,
            stable: true,
        })
        .unwrap();
    assert_eq!(a.reply, Reply::Stable { index: before + 1 });
    let cur = s.job("a").unwrap();
    assert_eq!(
        (cur.version, cur.stable, cur.job_modify_index),
        (0, true, 1)
    );
    assert_eq!(cur.modify_index, before + 1);
    assert_eq!(
        s.apply(Command::SetJobStability {
            job_id: "a".into(),
            version: 9,
            stable: true
        })
        .unwrap_err()
        .0,
        "job \"a\" at version 9 not found"
    );
}

#[test]
fn revert_registers_old_spec_as_new_version() {
    let mut s = ClusterState::default();
    register(&mut s, job("a")).unwrap();
    let mut j2 = job("a");
    j2.task_groups[0].count = 3;
    register(&mut s, j2).unwrap();
    let revert = |s: &mut ClusterState, version, enforce| {
        s.apply(Command::RevertJob {
            job_id: "a".into(),
            version,
            enforce_prior_version: enforce,
            eval_id: "r".into(),
            now: 9,
        })
    };
    assert_eq!(
        revert(&mut s, 1, None).unwrap_err().0,
        "can't revert to current version"
    );
    assert_eq!(
        revert(&mut s, 99, None).unwrap_err().0,
        "job \"a\" at version 99 not found"
    );
    assert_eq!(
        revert(&mut s, 0, Some(5)).unwrap_err().0,
        "Current job has version 1; enforcing version 5"
    );
    revert(&mut s, 0, Some(1)).unwrap();
    let cur = s.job("a").unwrap();
    assert_eq!((cur.version, cur.task_groups[0].count), (2, 1));
}

#[test]
fn periodic_and_parameterized_register_creates_no_eval_and_runs() {
    let mut s = ClusterState::default();
    let mut p = job("p");
    p.job_type = "batch".into();
    p.parameterized_job = Some(ParameterizedJobConfig {
        payload: "optional".into(),
        ..Default::default()
    });
    let r = register(&mut s, p).unwrap();
    assert_eq!(
        (
            r.eval_id.as_str(),
            r.eval_create_index,
            r.index,
            r.job_modify_index
        ),
        ("", 0, 0, 1)
    );
    assert_eq!(s.job("p").unwrap().status, JOB_STATUS_RUNNING);
    let a = s
        .apply(Command::DispatchJob {
            job_id: "p".into(),
            payload: b"x".to_vec(),
            meta: StringMap::new(),
            idempotency_token: Some("tok".into()),
            id_suffix: "deadbeef".into(),
            eval_id: "de".into(),
            now: 1_700_000_000_000_000_000,
        })
        .unwrap();
    let Reply::Dispatch(d) = a.reply else {
        panic!()
    };
    assert_eq!(d.dispatched_job_id, "p/dispatch-1700000000-deadbeef");
    assert_eq!(
        (d.job_create_index, d.eval_create_index, d.index),
        (2, 3, 3)
    );
    let child = s.job(&d.dispatched_job_id).unwrap();
    assert_eq!(
        (
            child.parent_id.as_str(),
            child.version,
            child.status.as_str()
        ),
        ("p", 0, "pending")
    );
    assert_eq!(s.job_summary("p").unwrap().children.pending, 1);
    // Same token: the existing child, nothing new written.
    let index = s.index();
    let a = s
        .apply(Command::DispatchJob {
            job_id: "p".into(),
            payload: b"x".to_vec(),
            meta: StringMap::new(),
            idempotency_token: Some("tok".into()),
            id_suffix: "00000000".into(),
            eval_id: "de2".into(),
            now: 1_700_000_001_000_000_000,
        })
        .unwrap();
    let Reply::Dispatch(d2) = a.reply else {
        panic!()
    };
    assert_eq!(d2.dispatched_job_id, d.dispatched_job_id);
    assert_eq!(s.index(), index);
}

#[test]
fn state_round_trips_through_json_with_dispatch_tokens() {
    let mut s = ClusterState::default();
    let mut p = job("p");
    p.job_type = "batch".into();
    p.parameterized_job = Some(ParameterizedJobConfig {
        payload: "optional".into(),
        ..Default::default()
    });
    register(&mut s, p).unwrap();
    s.apply(Command::DispatchJob {
        job_id: "p".into(),
        payload: Vec::new(),
        meta: StringMap::new(),
        idempotency_token: Some("tok".into()),
        id_suffix: "0123abcd".into(),
        eval_id: "e".into(),
        now: 1_700_000_000_000_000_000,
    })
    .unwrap();
    // Hosts snapshot the state as JSON: every key must be a string.
    let json = serde_json::to_string(&s).unwrap();
    let back: ClusterState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(
        back.dispatched_child("p", "tok").map(String::as_str),
        Some("p/dispatch-1700000000-0123abcd")
    );
}
