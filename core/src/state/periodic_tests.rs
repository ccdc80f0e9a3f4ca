//! Dispatch and periodic launches through `ClusterState::apply`: launch
//! records, children, overlap, tracking and the error texts of each command.

use super::*;
use crate::model::*;
use crate::periodic;
use crate::state::commands::{Command, DispatchReply, ForceReply, Reply};

const NS: i64 = 1_000_000_000;
/// 2026-11-27T03:26:18Z, in ns.
const NOW: i64 = 1_795_749_978 * NS;

fn batch(id: &str) -> Job {
    let api: crate::ApiJob = crate::gojson::from_slice(
        format!(
            r#"{{"ID":"{id}","Type":"batch","Datacenters":["dc1"],"TaskGroups":[{{"Name":"web","Tasks":[{{"Name":"t","Driver":"raw_exec","Config":{{"command":"/bin/sleep"}}}}]}}]}}"#
        )
        .as_bytes(),
        "api.Job",
    )
    .unwrap();
    crate::prepare(api).job
}

fn periodic_job(id: &str, enabled: bool, prohibit_overlap: bool) -> Job {
    let mut j = batch(id);
    j.periodic = Some(PeriodicConfig {
        enabled,
        spec: "0 0 1 1 *".into(),
        spec_type: "cron".into(),
        prohibit_overlap,
        time_zone: "UTC".into(),
    });
    j
}

fn parameterized_job(id: &str, payload: &str, required: &[&str]) -> Job {
    let mut j = batch(id);
    j.parameterized_job = Some(ParameterizedJobConfig {
        payload: payload.into(),
        meta_required: required.iter().map(|s| s.to_string()).collect(),
        meta_optional: Vec::new(),
    });
    j
}

fn register(s: &mut ClusterState, job: Job, now: i64) -> Applied {
    s.apply(Command::RegisterJob {
        job: Box::new(job),
        enforce_index: false,
        job_modify_index: 0,
        eval_id: format!("reg-{}", s.index()),
        now,
    })
    .unwrap()
}

fn force(s: &mut ClusterState, id: &str, now: i64) -> Result<ForceReply, ApplyError> {
    launch(s, id, now / NS, true, now)
}

fn launch(
    s: &mut ClusterState,
    id: &str,
    launch: i64,
    force: bool,
    now: i64,
) -> Result<ForceReply, ApplyError> {
    let eval_id = format!("launch-{}", s.index());
    match s
        .apply(Command::PeriodicLaunch {
            job_id: id.into(),
            launch,
            force,
            eval_id,
            now,
        })?
        .reply
    {
        Reply::Force(r) => Ok(r),
        other => panic!("unexpected reply {other:?}"),
    }
}

fn dispatch(
    s: &mut ClusterState,
    id: &str,
    payload: &[u8],
    meta: &[(&str, &str)],
    suffix: &str,
    now: i64,
) -> Result<DispatchReply, ApplyError> {
    let eval_id = format!("dispatch-{}", s.index());
    match s
        .apply(Command::DispatchJob {
            job_id: id.into(),
            payload: payload.to_vec(),
            meta: meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            idempotency_token: None,
            id_suffix: suffix.into(),
            eval_id,
            now,
        })?
        .reply
    {
        Reply::Dispatch(r) => Ok(r),
        other => panic!("unexpected reply {other:?}"),
    }
}

fn complete_eval(s: &mut ClusterState, eval_id: &str) {
    let mut eval = (**s.eval(eval_id).unwrap()).clone();
    eval.status = EVAL_STATUS_COMPLETE.into();
    s.apply(Command::UpsertEvals { evals: vec![eval] }).unwrap();
}

#[test]
fn registering_a_periodic_job_records_the_registration_as_its_launch() {
    let mut s = ClusterState::default();
    let applied = register(&mut s, periodic_job("periodic", true, true), NOW);
    assert!(applied.tables.contains(&Table::PeriodicLaunch));
    let l = s.periodic_launch("periodic").unwrap();
    assert_eq!((l.launch, l.create_index, l.modify_index), (NOW, 1, 1));
    assert_eq!(s.job("periodic").unwrap().status, JOB_STATUS_RUNNING);
    assert!(s.evals_by_job("periodic").is_empty());
    // An update keeps the first record.
    let mut changed = periodic_job("periodic", true, true);
    changed.priority = 60;
    register(&mut s, changed, NOW + 5 * NS);
    assert_eq!(s.periodic_launch("periodic").unwrap().launch, NOW);
    // The host's catch-up rule reads that record.
    let config = s.job("periodic").unwrap().periodic.clone().unwrap();
    let next_year = 1_798_761_600 * NS; // 2027-01-01T00:00:00Z
    assert!(!periodic::missed_launch(&config, NOW, next_year));
    assert!(periodic::missed_launch(&config, NOW, next_year + 1));
}

#[test]
fn force_launch_registers_a_child_and_a_periodic_eval() {
    let mut s = ClusterState::default();
    register(&mut s, periodic_job("periodic", true, true), NOW);
    let parent_before = s.job("periodic").unwrap().clone();
    let r = force(&mut s, "periodic", NOW + 500).unwrap();
    assert_eq!((r.eval_create_index, r.index), (3, 3));
    let child = s.job("periodic/periodic-1795749978").unwrap();
    assert_eq!(
        (
            child.parent_id.as_str(),
            child.name.as_str(),
            child.version,
            child.create_index,
            child.job_modify_index,
            child.periodic.is_none(),
            child.submit_time,
        ),
        (
            "periodic",
            "periodic/periodic-1795749978",
            0,
            2,
            2,
            true,
            NOW + 500
        )
    );
    let eval = s.eval(&r.eval_id).unwrap();
    assert_eq!(
        (
            eval.triggered_by.as_str(),
            eval.job_id.as_str(),
            eval.job_modify_index,
            eval.eval_type.as_str(),
            eval.priority,
            eval.status.as_str()
        ),
        (
            "periodic-job",
            "periodic/periodic-1795749978",
            2,
            "batch",
            50,
            "pending"
        )
    );
    // The parent is not written; its launch record and summary move.
    assert_eq!(**s.job("periodic").unwrap(), *parent_before);
    let l = s.periodic_launch("periodic").unwrap();
    assert_eq!((l.launch, l.create_index, l.modify_index), (NOW, 1, 2));
    let children = &s.job_summary("periodic").unwrap().children;
    assert_eq!(
        (children.pending, children.running, children.dead),
        (1, 0, 0)
    );
}

#[test]
fn two_launches_in_one_second_overwrite_the_child_as_a_new_version() {
    let mut s = ClusterState::default();
    register(&mut s, periodic_job("periodic", true, false), NOW);
    let first = force(&mut s, "periodic", NOW).unwrap();
    let second = force(&mut s, "periodic", NOW + 900_000_000).unwrap();
    assert_ne!(first.eval_id, second.eval_id);
    assert_eq!(second.eval_create_index, first.eval_create_index + 2);
    let child = s.job("periodic/periodic-1795749978").unwrap();
    assert_eq!(
        (child.version, child.create_index, child.job_modify_index),
        (1, 2, 4)
    );
    assert_eq!(s.job_versions("periodic/periodic-1795749978").len(), 2);
    assert_eq!(s.evals_by_job("periodic/periodic-1795749978").len(), 2);
    let children = &s.job_summary("periodic").unwrap().children;
    assert_eq!(
        (children.pending, children.running, children.dead),
        (1, 0, 0)
    );
    // A later second is another child.
    force(&mut s, "periodic", NOW + NS).unwrap();
    assert!(s.job("periodic/periodic-1795749979").is_some());
    assert_eq!(s.job_summary("periodic").unwrap().children.pending, 2);
}

#[test]
fn scheduled_launch_skips_while_a_child_runs_if_overlap_is_prohibited() {
    let mut s = ClusterState::default();
    register(&mut s, periodic_job("p", true, true), NOW);
    let first = launch(&mut s, "p", 1_795_750_000, false, NOW).unwrap();
    assert_eq!(first.eval_create_index, 3);
    // The first child's eval is pending: the next scheduled launch is
    // skipped without any write.
    let index = s.index();
    let skipped = launch(&mut s, "p", 1_795_760_000, false, NOW).unwrap();
    assert_eq!(skipped, ForceReply::default());
    assert_eq!(s.index(), index);
    assert!(s.job("p/periodic-1795760000").is_none());
    assert_eq!(s.periodic_launch("p").unwrap().launch, 1_795_750_000 * NS);
    // A force ignores the rule.
    force(&mut s, "p", 1_795_770_000 * NS).unwrap();
    assert!(s.job("p/periodic-1795770000").is_some());
    // Once every child's eval is terminal, scheduled launches resume.
    for child in ["p/periodic-1795750000", "p/periodic-1795770000"] {
        let eval_id = s.evals_by_job(child)[0].id.clone();
        complete_eval(&mut s, &eval_id);
    }
    let children = &s.job_summary("p").unwrap().children;
    assert_eq!(
        (children.pending, children.running, children.dead),
        (0, 0, 2)
    );
    launch(&mut s, "p", 1_795_780_000, false, NOW).unwrap();
    assert!(s.job("p/periodic-1795780000").is_some());
}

#[test]
fn overlap_allowed_launches_alongside_a_running_child() {
    let mut s = ClusterState::default();
    register(&mut s, periodic_job("p", true, false), NOW);
    launch(&mut s, "p", 1_795_750_000, false, NOW).unwrap();
    launch(&mut s, "p", 1_795_760_000, false, NOW).unwrap();
    assert_eq!(s.job_summary("p").unwrap().children.pending, 2);
}

#[test]
fn launch_errors() {
    let mut s = ClusterState::default();
    register(&mut s, batch("plain"), NOW);
    register(&mut s, periodic_job("periodic-disabled", false, true), NOW);
    let mut both = periodic_job("both", true, false);
    both.parameterized_job = Some(ParameterizedJobConfig {
        payload: "optional".into(),
        ..Default::default()
    });
    register(&mut s, both, NOW);
    register(&mut s, periodic_job("stopped", true, false), NOW);
    s.apply(Command::DeregisterJob {
        job_id: "stopped".into(),
        purge: false,
        eval_id: "dereg".into(),
        now: NOW,
    })
    .unwrap();
    let cases = [
        ("", "missing job ID for evaluation"),
        ("ghost", "job not found"),
        ("plain", "can't force launch non-periodic job"),
        (
            "periodic-disabled",
            "force launch for job \"periodic-disabled\" failed: can't force run non-tracked job periodic-disabled",
        ),
        (
            "both",
            "force launch for job \"both\" failed: can't force run non-tracked job both",
        ),
        (
            "STOPPED",
            "force launch for job \"stopped\" failed: can't force run non-tracked job stopped",
        ),
    ];
    let index = s.index();
    for (id, want) in cases {
        assert_eq!(force(&mut s, id, NOW).unwrap_err().0, want, "{id:?}");
    }
    assert_eq!(s.index(), index);
    // Stopping untracked the job but did not touch its launch record.
    assert!(s.periodic_launch("stopped").is_some());
    assert_eq!(
        s.tracked_periodic_jobs()
            .map(|j| j.id.as_str())
            .collect::<Vec<_>>(),
        Vec::<&str>::new()
    );
}

#[test]
fn dispatch_errors_name_the_job_as_requested_and_change_nothing() {
    let mut s = ClusterState::default();
    register(
        &mut s,
        parameterized_job("param-req", "required", &["foo"]),
        NOW,
    );
    register(&mut s, batch("simple"), NOW);
    let child = dispatch(&mut s, "param-req", b"hi", &[("foo", "1")], "87bb845d", NOW).unwrap();
    /// (requested ID, payload, meta, error)
    type Case<'a> = (&'a str, &'a [u8], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("", b"x", &[], "missing parameterized job ID"),
        ("ghost", b"x", &[], "parameterized job not found"),
        (
            "SIMPLE",
            b"x",
            &[],
            "Specified job \"SIMPLE\" is not a parameterized job",
        ),
        (
            "param-req/dispatch-1795749978-87bb845d",
            b"x",
            &[("foo", "1")],
            "Specified job \"param-req/dispatch-1795749978-87bb845d\" is not a parameterized job",
        ),
        (
            "Param-Req",
            b"",
            &[("foo", "1")],
            "Payload is not provided but required by parameterized job",
        ),
        (
            "param-req",
            b"x",
            &[("bar", "1")],
            "Dispatch request included unpermitted metadata keys: [bar]",
        ),
        (
            "param-req",
            b"x",
            &[],
            "Dispatch did not provide required meta keys: [foo]",
        ),
    ];
    assert_eq!(
        child.dispatched_job_id,
        "param-req/dispatch-1795749978-87bb845d"
    );
    let index = s.index();
    for (id, payload, meta, want) in cases {
        let got = dispatch(&mut s, id, payload, meta, "00000000", NOW).unwrap_err();
        assert_eq!(got.0, *want, "{id:?}");
    }
    assert_eq!(s.index(), index);
    // Stopping the parent: no eval, and dispatch refuses.
    let stop = s
        .apply(Command::DeregisterJob {
            job_id: "param-req".into(),
            purge: false,
            eval_id: "dereg".into(),
            now: NOW,
        })
        .unwrap();
    let Reply::Deregister(d) = stop.reply else {
        panic!()
    };
    assert_eq!(
        (d.eval_id.as_str(), d.eval_create_index, d.index),
        ("", 0, 0)
    );
    assert_eq!(
        dispatch(&mut s, "param-req", b"x", &[("foo", "1")], "00000000", NOW)
            .unwrap_err()
            .0,
        "Specified job \"param-req\" is stopped"
    );
    // The child is untouched.
    assert!(!s.job(&child.dispatched_job_id).unwrap().stop);
}

#[test]
fn dispatching_a_periodic_parameterized_parent_makes_a_tracked_periodic_child() {
    let mut s = ClusterState::default();
    let mut parent = periodic_job("both", true, false);
    parent.parameterized_job = Some(ParameterizedJobConfig {
        payload: "optional".into(),
        ..Default::default()
    });
    register(&mut s, parent, NOW);
    // The parameterized parent is not tracked, but its launch is recorded.
    assert_eq!(s.tracked_periodic_jobs().count(), 0);
    let d = dispatch(&mut s, "both", b"", &[], "0badf00d", NOW).unwrap();
    assert_eq!(
        (
            d.eval_id.as_str(),
            d.eval_create_index,
            d.job_create_index,
            d.index
        ),
        ("", 0, 2, 2)
    );
    let child_id = "both/dispatch-1795749978-0badf00d";
    let child = s.job(child_id).unwrap();
    assert!(child.is_periodic_tracked());
    assert_eq!(child.status, JOB_STATUS_RUNNING);
    assert_eq!(s.periodic_launch(child_id).unwrap().launch, NOW);
    assert_eq!(
        s.tracked_periodic_jobs()
            .map(|j| j.id.as_str())
            .collect::<Vec<_>>(),
        [child_id]
    );
    // The child launches its own children and records their launch.
    let r = force(&mut s, child_id, NOW + 7 * NS).unwrap();
    let grandchild = format!("{child_id}/periodic-1795749985");
    assert_eq!(s.job(&grandchild).unwrap().parent_id, child_id);
    assert_eq!(s.eval(&r.eval_id).unwrap().job_id, grandchild);
    assert_eq!(s.periodic_launch(child_id).unwrap().launch, NOW + 7 * NS);
    assert_eq!(s.job_summary(child_id).unwrap().children.pending, 1);
    assert_eq!(s.job_summary("both").unwrap().children.running, 1);
}

#[test]
fn idempotency_token_returns_the_existing_child_with_its_modify_index() {
    let mut s = ClusterState::default();
    register(&mut s, parameterized_job("p", "optional", &[]), NOW);
    let apply = |s: &mut ClusterState, suffix: &str| match s
        .apply(Command::DispatchJob {
            job_id: "p".into(),
            payload: Vec::new(),
            meta: StringMap::new(),
            idempotency_token: Some("tok".into()),
            id_suffix: suffix.into(),
            eval_id: format!("e-{suffix}"),
            now: NOW,
        })
        .unwrap()
        .reply
    {
        Reply::Dispatch(d) => d,
        other => panic!("{other:?}"),
    };
    let first = apply(&mut s, "aaaaaaaa");
    complete_eval(&mut s, &first.eval_id);
    let child = s.job(&first.dispatched_job_id).unwrap().clone();
    assert!(child.modify_index > child.create_index);
    let again = apply(&mut s, "bbbbbbbb");
    assert_eq!(
        again,
        DispatchReply {
            dispatched_job_id: first.dispatched_job_id.clone(),
            eval_id: String::new(),
            eval_create_index: 0,
            job_create_index: child.create_index,
            index: child.modify_index,
        }
    );
}
