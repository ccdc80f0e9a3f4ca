//! Core-level replay of the recorded dispatch and periodic cases of Nomad
//! v0.6.3: the commands a server would log, with the recorded texts and shapes.
//!
//! Recorded request bodies are decoded as the server does (gojson into the
//! request types, `prepare` before a register) and turned into
//! `state::Command`s whose "now" and random parts come from the recording
//! (child IDs, SubmitTimes), so IDs and SubmitTimes compare exactly. The
//! recordings are a visible subset and the scheduler does not run here, so
//! absolute indexes and statuses driven by allocations are compared as
//! relations, not values. Not replayed: the 400s (`Job ID does not match`,
//! bad base64), which the HTTP layer decides before any command, and full
//! validation renderings (the validation module's), of which the periodic
//! block's own texts are checked.

use std::path::PathBuf;

use caravan_core::model::requests::{JobDispatchRequest, JobPlanRequest, JobRegisterRequest};
use caravan_core::model::Job;
use caravan_core::state::{ApplyError, DispatchReply, ForceReply, RegisterReply, Reply};
use caravan_core::{gofmt, gojson, periodic, prepare, ClusterState, Command};
use serde_json::Value;

const NS: i64 = 1_000_000_000;

fn fixture(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "fixtures", "nomad-0.6.3", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn body(fx: &Value) -> Vec<u8> {
    serde_json::to_vec(&fx["request"]["body"]).unwrap()
}

fn status(fx: &Value) -> u64 {
    fx["response"]["status"].as_u64().unwrap()
}

/// The recorded error text of a failed write.
fn error_text(fx: &Value) -> &str {
    assert_eq!(status(fx), 500, "{}", fx["name"]);
    fx["response"]["body"].as_str().unwrap()
}

fn reply_json(fx: &Value) -> &Value {
    assert_eq!(status(fx), 200, "{}", fx["name"]);
    &fx["response"]["json"]
}

/// The job ID in a request path `/v1/job/<id>/<action>`.
fn path_id(fx: &Value, action: &str) -> String {
    let path = fx["request"]["path"].as_str().unwrap();
    let id = path.strip_prefix("/v1/job/").unwrap();
    id.strip_suffix(action).unwrap_or(id).to_string()
}

struct Replay {
    state: ClusterState,
    evals: u64,
}

impl Replay {
    fn new() -> Self {
        Replay {
            state: ClusterState::default(),
            evals: 0,
        }
    }

    fn eval_id(&mut self) -> String {
        self.evals += 1;
        format!("00000000-0000-0000-0000-{:012}", self.evals)
    }

    fn register(&mut self, fx: &Value, now: i64) -> Result<RegisterReply, ApplyError> {
        let req: JobRegisterRequest =
            gojson::from_slice(&body(fx), "api.JobRegisterRequest").unwrap();
        let job = prepare(req.job.unwrap()).job;
        let eval_id = self.eval_id();
        match self
            .state
            .apply(Command::RegisterJob {
                job: Box::new(job),
                enforce_index: req.enforce_index,
                job_modify_index: req.job_modify_index,
                eval_id,
                now,
            })?
            .reply
        {
            Reply::Register(r) => Ok(r),
            other => panic!("{other:?}"),
        }
    }

    /// Dispatches the recorded request; the child's time and random suffix
    /// are those of `child_id` when the recording shows one.
    fn dispatch(
        &mut self,
        fx: &Value,
        child_id: Option<&str>,
        now: i64,
    ) -> Result<DispatchReply, ApplyError> {
        let req: JobDispatchRequest =
            gojson::from_slice(&body(fx), "structs.JobDispatchRequest").unwrap();
        let job_id = path_id(fx, "/dispatch");
        let (now, suffix) = match child_id.map(dispatch_parts) {
            Some((secs, suffix)) => (secs * NS + now.rem_euclid(NS), suffix),
            None => (now, "00000000".to_string()),
        };
        let eval_id = self.eval_id();
        match self
            .state
            .apply(Command::DispatchJob {
                job_id,
                payload: req.payload,
                meta: req.meta,
                idempotency_token: None,
                id_suffix: suffix,
                eval_id,
                now,
            })?
            .reply
        {
            Reply::Dispatch(r) => Ok(r),
            other => panic!("{other:?}"),
        }
    }

    fn force(&mut self, id: &str, now: i64) -> Result<ForceReply, ApplyError> {
        let eval_id = self.eval_id();
        match self
            .state
            .apply(Command::PeriodicLaunch {
                job_id: id.into(),
                launch: now.div_euclid(NS),
                force: true,
                eval_id,
                now,
            })?
            .reply
        {
            Reply::Force(r) => Ok(r),
            other => panic!("{other:?}"),
        }
    }

    fn evaluate(&mut self, id: &str) -> Result<RegisterReply, ApplyError> {
        let eval_id = self.eval_id();
        match self
            .state
            .apply(Command::EvaluateJob {
                job_id: id.into(),
                eval_id,
            })?
            .reply
        {
            Reply::Evaluate(r) => Ok(r),
            other => panic!("{other:?}"),
        }
    }

    fn job(&self, id: &str) -> Job {
        (**self.state.job(id).unwrap_or_else(|| panic!("no job {id}"))).clone()
    }
}

/// `<parent>/dispatch-<secs>-<8 lowercase hex>` → (secs, hex).
fn dispatch_parts(id: &str) -> (i64, String) {
    let (_, tail) = id.rsplit_once("/dispatch-").unwrap();
    let (secs, hex) = tail.split_once('-').unwrap();
    assert_eq!(hex.len(), 8, "{id}");
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id}"
    );
    (secs.parse().unwrap(), hex.to_string())
}

fn assert_dispatched_id(parent: &str, id: &str) {
    assert!(id.starts_with(&format!("{parent}/dispatch-")), "{id}");
    let (secs, _) = dispatch_parts(id);
    assert!(secs > 1_700_000_000, "{id}");
}

/// A job as `GET /v1/job/<id>` shows it, without what depends on the
/// visible subset (indexes) or on the scheduler (status).
fn comparable(mut job: Value) -> Value {
    let o = job.as_object_mut().unwrap();
    for k in ["CreateIndex", "ModifyIndex", "JobModifyIndex", "Status"] {
        o.remove(k);
    }
    job
}

fn assert_get_matches(r: &Replay, fx: &Value) {
    let recorded = reply_json(fx).clone();
    let id = recorded["ID"].as_str().unwrap();
    let ours = serde_json::to_value(r.job(id)).unwrap();
    assert_eq!(comparable(ours), comparable(recorded), "{}", fx["name"]);
}

fn submit_time(fx: &Value) -> i64 {
    reply_json(fx)["SubmitTime"].as_i64().unwrap()
}

/// The child list of `GET /v1/jobs?prefix=…` as (ID, ParentID, SubmitTime).
fn listed(fx: &Value) -> Vec<(String, String, i64)> {
    reply_json(fx)
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["ID"].as_str().unwrap().to_string(),
                j["ParentID"].as_str().unwrap().to_string(),
                j["SubmitTime"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn our_listing(r: &Replay, prefix: &str) -> Vec<(String, String, i64)> {
    r.state
        .jobs_by_prefix(prefix)
        .map(|j| (j.id.clone(), j.parent_id.clone(), j.submit_time))
        .collect()
}

fn children_total(r: &Replay, id: &str) -> (i64, i64) {
    let c = &r.state.job_summary(id).unwrap().children;
    (c.pending + c.running + c.dead, c.dead)
}

#[test]
fn invalid_periodic_blocks_carry_the_parsers_texts() {
    let spec = fixture("130-invalid-periodic-bad-spec.json");
    let line = format!(
        "Invalid cron spec {}: {}",
        gofmt::quote("not a cron"),
        periodic::parse_cron("not a cron").unwrap_err()
    );
    assert!(error_text(&spec).ends_with(&format!("* {line}")), "{line}");
    let tz = fixture("132-invalid-periodic-bad-timezone.json");
    let line = format!(
        "Invalid time zone {}: {}",
        gofmt::quote("Mars/Olympus"),
        periodic::parse_time_zone("Mars/Olympus").unwrap_err()
    );
    assert!(error_text(&tz).ends_with(&format!("* {line}")), "{line}");
    // The service-type case's spec is itself valid.
    let service = fixture("129-invalid-periodic-service.json");
    assert_eq!(
        service["request"]["body"]["Job"]["Periodic"]["Spec"],
        "*/5 * * * *"
    );
    assert!(periodic::parse_cron("*/5 * * * *").is_ok());
}

#[test]
fn parameterized_jobs_and_dispatch() {
    let mut r = Replay::new();

    // 153/154/156: the parent registers without an evaluation and runs.
    let fx = fixture("153-param-req-register.json");
    let get = fixture("154-param-req-get.json");
    let reply = r.register(&fx, submit_time(&get)).unwrap();
    let recorded = reply_json(&fx);
    assert_eq!(
        (reply.eval_id.as_str(), reply.eval_create_index, reply.index),
        (
            recorded["EvalID"].as_str().unwrap(),
            recorded["EvalCreateIndex"].as_u64().unwrap(),
            recorded["Index"].as_u64().unwrap()
        )
    );
    let parent = r.job("param-req");
    assert_eq!(reply.job_modify_index, parent.create_index);
    assert_eq!(parent.status, "running");
    assert_get_matches(&r, &get);
    assert!(r.state.evals_by_job("param-req").is_empty());
    assert_eq!(
        reply_json(&fixture("156-param-req-evaluations.json")),
        &Value::Array(vec![])
    );

    // 157: the plan of a parameterized (non-periodic) job has no launch.
    let plan = fixture("157-param-req-plan.json");
    let req: JobPlanRequest = gojson::from_slice(&body(&plan), "api.JobPlanRequest").unwrap();
    let planned = prepare(req.job.unwrap()).job;
    assert_eq!(
        periodic::next_launch_rfc3339(&planned, submit_time(&get)),
        reply_json(&plan)["NextPeriodicLaunch"]
    );

    // The first dispatch (not in the visible set) is the child 171 shows:
    // Meta {foo:1, bar:2} and payload "hello world".
    let child_get = fixture("171-dispatch-child-get-escaped.json");
    let first_id = reply_json(&child_get)["ID"].as_str().unwrap().to_string();
    let first_body = serde_json::json!({
        "request": {"path": "/v1/job/param-req/dispatch", "body": {
            "Payload": reply_json(&child_get)["Payload"],
            "Meta": reply_json(&child_get)["Meta"],
        }}
    });
    let first = r
        .dispatch(&first_body, Some(&first_id), submit_time(&child_get))
        .unwrap();
    assert_eq!(first.dispatched_job_id, first_id);
    assert_get_matches(&r, &child_get);

    // 159: dispatch with the required meta only.
    let list = fixture("176-jobs-list-with-children.json");
    let submit_of = |id: &str| {
        listed(&list)
            .into_iter()
            .find(|(i, _, _)| i == id)
            .map(|(_, _, t)| t)
            .unwrap()
    };
    let fx = fixture("159-dispatch-valid-2.json");
    let recorded = reply_json(&fx);
    let id = recorded["DispatchedJobID"].as_str().unwrap();
    assert_dispatched_id("param-req", id);
    let d = r.dispatch(&fx, Some(id), submit_of(id)).unwrap();
    assert_eq!(d.dispatched_job_id, id);
    // Recorded: JobCreateIndex 81, EvalCreateIndex = Index = 82.
    let (jci, eci) = (
        recorded["JobCreateIndex"].as_u64().unwrap(),
        recorded["EvalCreateIndex"].as_u64().unwrap(),
    );
    assert_eq!((eci - jci, recorded["Index"].as_u64().unwrap()), (1, eci));
    assert_eq!(
        (d.eval_create_index - d.job_create_index, d.index),
        (1, d.eval_create_index)
    );
    let child = r.job(id);
    assert_eq!(
        (child.create_index, child.job_modify_index, child.version),
        (d.job_create_index, d.job_create_index, 0)
    );
    assert_eq!(child.meta.get("foo").map(String::as_str), Some("x"));
    assert_eq!(child.payload, b"hello world");
    let eval = r.state.eval(&d.eval_id).unwrap();
    assert_eq!(
        (
            eval.triggered_by.as_str(),
            eval.job_modify_index,
            eval.job_id.as_str()
        ),
        ("job-register", d.job_create_index, id)
    );
    // The parent is not written by a dispatch.
    assert_eq!(r.job("param-req"), parent);

    // 161–163: request rules, failing without a write.
    let index = r.state.index();
    for name in [
        "161-dispatch-missing-meta.json",
        "162-dispatch-unknown-meta.json",
        "163-dispatch-payload-too-big.json",
    ] {
        let fx = fixture(name);
        let err = r.dispatch(&fx, None, submit_of(id)).unwrap_err();
        assert_eq!(err.0, error_text(&fx), "{name}");
    }
    assert_eq!(r.state.index(), index);

    // 164: exactly 16384 bytes is accepted.
    let fx = fixture("164-dispatch-payload-16k.json");
    let id16k = reply_json(&fx)["DispatchedJobID"].as_str().unwrap();
    let d = r.dispatch(&fx, Some(id16k), submit_of(id16k)).unwrap();
    assert_eq!(d.dispatched_job_id, id16k);
    assert_eq!(r.job(id16k).payload.len(), 16384);
    // Same second as the earlier ones, different hex.
    assert_eq!(dispatch_parts(id16k).0, dispatch_parts(id).0);

    // 166 (`Job ID does not match`) is a 400 of the HTTP layer.
    assert_eq!(status(&fixture("166-dispatch-id-mismatch.json")), 400);

    // 172: a child's own summary has no children.
    let summary = reply_json(&fixture("172-dispatch-child-summary.json")).clone();
    let ours = r.state.job_summary(&first_id).unwrap();
    assert_eq!(
        serde_json::to_value(&ours.children).unwrap(),
        summary["Children"]
    );
    assert_eq!(ours.create_index, r.job(&first_id).create_index);

    // 175/176: the parent counts three children; the list shows them with
    // ParentID, in ID order, with the recorded SubmitTimes.
    let parent_summary = reply_json(&fixture("175-param-req-summary-children.json")).clone();
    let recorded_total: i64 = ["Pending", "Running", "Dead"]
        .iter()
        .map(|k| parent_summary["Children"][k].as_i64().unwrap())
        .sum();
    assert_eq!(children_total(&r, "param-req"), (recorded_total, 0));
    assert_eq!(our_listing(&r, "param-req"), listed(&list));
    let stub = &reply_json(&list)[0];
    assert_eq!(
        (
            stub["ParameterizedJob"].as_bool(),
            stub["Periodic"].as_bool()
        ),
        (Some(true), Some(false))
    );

    // Dispatching a child: it is not parameterized (spec).
    let to_child = serde_json::json!({
        "request": {"path": format!("/v1/job/{first_id}/dispatch"), "body": {}}
    });
    assert_eq!(
        r.dispatch(&to_child, None, submit_of(id)).unwrap_err().0,
        format!("Specified job \"{first_id}\" is not a parameterized job")
    );

    // 177–179: Payload forbidden.
    let fx = fixture("177-param-forbid-register.json");
    let reply = r.register(&fx, submit_of(id) + NS).unwrap();
    assert_eq!((reply.eval_create_index, reply.index), (0, 0));
    let fx = fixture("178-dispatch-forbidden-payload.json");
    assert_eq!(
        r.dispatch(&fx, None, submit_of(id)).unwrap_err().0,
        error_text(&fx)
    );
    let fx = fixture("179-dispatch-forbidden-ok.json");
    let forbid_id = reply_json(&fx)["DispatchedJobID"].as_str().unwrap();
    assert_dispatched_id("param-forbid", forbid_id);
    let d = r
        .dispatch(&fx, Some(forbid_id), submit_of(id) + NS)
        .unwrap();
    assert_eq!(d.dispatched_job_id, forbid_id);
    assert!(r.job(forbid_id).payload.is_empty() && r.job(forbid_id).meta.is_empty());

    // 180/183: an empty block is stored as optional with null key lists.
    let fx = fixture("180-param-opt-register.json");
    r.register(&fx, submit_of(id) + NS).unwrap();
    assert_eq!(
        serde_json::to_value(r.job("param-opt").parameterized_job).unwrap(),
        serde_json::json!({"Payload": "optional", "MetaRequired": null, "MetaOptional": null})
    );
    let fx = fixture("183-dispatch-optional-payload.json");
    let opt_id = reply_json(&fx)["DispatchedJobID"].as_str().unwrap();
    let d = r.dispatch(&fx, Some(opt_id), submit_of(id) + NS).unwrap();
    assert_eq!(
        (d.dispatched_job_id.as_str(), d.index),
        (opt_id, d.eval_create_index)
    );

    // 185: a parameterized parent cannot be force-evaluated.
    let fx = fixture("185-evaluate-parameterized.json");
    assert_eq!(r.evaluate("param-req").unwrap_err().0, error_text(&fx));

    // 269/270: stopping the parent creates no eval; dispatch then fails.
    let fx = fixture("269-delete-param-parent.json");
    let recorded = reply_json(&fx);
    let eval_id = r.eval_id();
    let stop = r
        .state
        .apply(Command::DeregisterJob {
            job_id: "param-req".into(),
            purge: false,
            eval_id,
            now: submit_of(id) + 60 * NS,
        })
        .unwrap();
    let Reply::Deregister(stop) = stop.reply else {
        panic!()
    };
    assert_eq!(
        (stop.eval_id.as_str(), stop.eval_create_index, stop.index),
        (
            recorded["EvalID"].as_str().unwrap(),
            recorded["EvalCreateIndex"].as_u64().unwrap(),
            recorded["Index"].as_u64().unwrap()
        )
    );
    assert_eq!(stop.job_modify_index, r.job("param-req").job_modify_index);
    let fx = fixture("270-delete-param-dispatch-after.json");
    assert_eq!(
        r.dispatch(&fx, None, submit_of(id)).unwrap_err().0,
        error_text(&fx)
    );
    assert!(!r.job(&first_id).stop);
}

#[test]
fn periodic_jobs_and_force_launches() {
    let mut r = Replay::new();
    let list = fixture("193-periodic-jobs-list.json");
    let children = listed(&list);
    assert_eq!(children.len(), 3);

    // 187/188/189: register, no eval, stored with TimeZone "UTC".
    let fx = fixture("187-periodic-register.json");
    let get = fixture("188-periodic-get.json");
    assert_eq!(
        fx["request"]["body"]["Job"]["Periodic"].get("TimeZone"),
        None
    );
    let reply = r.register(&fx, submit_time(&get)).unwrap();
    let recorded = reply_json(&fx);
    assert_eq!(
        (reply.eval_id.as_str(), reply.eval_create_index, reply.index),
        (
            recorded["EvalID"].as_str().unwrap(),
            recorded["EvalCreateIndex"].as_u64().unwrap(),
            recorded["Index"].as_u64().unwrap()
        )
    );
    assert_get_matches(&r, &get);
    assert_eq!(r.job("periodic").periodic.unwrap().time_zone, "UTC");
    assert!(r.state.evals_by_job("periodic").is_empty());
    assert_eq!(
        r.state
            .tracked_periodic_jobs()
            .map(|j| j.id.clone())
            .collect::<Vec<_>>(),
        ["periodic"]
    );

    // 190: the plan shows the next cron time in UTC.
    let plan = fixture("190-periodic-plan-identical.json");
    let req: JobPlanRequest = gojson::from_slice(&body(&plan), "api.JobPlanRequest").unwrap();
    let planned = prepare(req.job.unwrap()).job;
    let (_, _, first_submit) = &children[1];
    assert_eq!(
        periodic::next_launch_rfc3339(&planned, *first_submit),
        reply_json(&plan)["NextPeriodicLaunch"]
    );

    // Two forces (the first not in the visible set), a second apart: two
    // children, each an eval at the next index.
    let force2 = fixture("192-periodic-force-2.json");
    assert_eq!(path_id(&force2, "/periodic/force"), "periodic");
    let mut launched = Vec::new();
    for (id, parent_id, submit) in &children[1..] {
        assert_eq!(parent_id, "periodic");
        assert_eq!(*id, periodic::derived_id("periodic", submit / NS));
        let f = r.force("periodic", *submit).unwrap();
        let child = r.job(id);
        assert_eq!(
            (f.index, f.eval_create_index),
            (f.eval_create_index, child.create_index + 1)
        );
        assert_eq!(
            (child.version, child.submit_time, child.periodic.is_none()),
            (0, *submit, true)
        );
        let eval = r.state.eval(&f.eval_id).unwrap();
        assert_eq!(
            (eval.triggered_by.as_str(), eval.job_id.as_str()),
            ("periodic-job", id.as_str())
        );
        launched.push(f);
    }
    let recorded = reply_json(&force2);
    assert_eq!(recorded["Index"], recorded["EvalCreateIndex"]);
    assert_eq!(
        r.state.periodic_launch("periodic").unwrap().launch,
        children[2].2 / NS * NS
    );

    // 193/194: listing and the parent's children counts (recorded as one
    // dead and one running once the scheduler ran).
    assert_eq!(our_listing(&r, "periodic"), children);
    let summary = reply_json(&fixture("194-periodic-summary.json")).clone();
    let total: i64 = ["Pending", "Running", "Dead"]
        .iter()
        .map(|k| summary["Children"][k].as_i64().unwrap())
        .sum();
    assert_eq!(children_total(&r, "periodic").0, total);
    let stub = &reply_json(&list)[0];
    assert_eq!(
        (
            stub["Periodic"].as_bool(),
            stub["ParameterizedJob"].as_bool()
        ),
        (Some(true), Some(false))
    );

    // 198: a periodic job cannot be force-evaluated.
    let fx = fixture("198-periodic-evaluate.json");
    assert_eq!(r.evaluate("periodic").unwrap_err().0, error_text(&fx));

    // 199/200/201: disabled: registered, not tracked, force refused, plan
    // without a launch.
    let fx = fixture("199-periodic-disabled-register.json");
    let reply = r.register(&fx, children[2].2 + NS).unwrap();
    assert_eq!((reply.eval_create_index, reply.index), (0, 0));
    let fx = fixture("200-periodic-disabled-force.json");
    let index = r.state.index();
    assert_eq!(
        r.force(&path_id(&fx, "/periodic/force"), children[2].2 + NS)
            .unwrap_err()
            .0,
        error_text(&fx)
    );
    assert_eq!(r.state.index(), index);
    let plan = fixture("201-periodic-disabled-plan.json");
    let req: JobPlanRequest = gojson::from_slice(&body(&plan), "api.JobPlanRequest").unwrap();
    let planned = prepare(req.job.unwrap()).job;
    assert_eq!(
        periodic::next_launch_rfc3339(&planned, children[2].2),
        reply_json(&plan)["NextPeriodicLaunch"]
    );

    // 267/268: stopping writes a new version, creates no eval, untracks.
    let fx = fixture("267-delete-periodic.json");
    let recorded = reply_json(&fx);
    let eval_id = r.eval_id();
    let stop = r
        .state
        .apply(Command::DeregisterJob {
            job_id: "periodic".into(),
            purge: false,
            eval_id,
            now: children[2].2 + 60 * NS,
        })
        .unwrap();
    let Reply::Deregister(stop) = stop.reply else {
        panic!()
    };
    assert_eq!(
        (stop.eval_id.as_str(), stop.eval_create_index, stop.index),
        (
            recorded["EvalID"].as_str().unwrap(),
            recorded["EvalCreateIndex"].as_u64().unwrap(),
            recorded["Index"].as_u64().unwrap()
        )
    );
    let get = reply_json(&fixture("268-delete-periodic-get.json")).clone();
    let stopped = r.job("periodic");
    assert_eq!(
        (stopped.stop, stopped.version),
        (
            get["Stop"].as_bool().unwrap(),
            get["Version"].as_u64().unwrap()
        )
    );
    assert_eq!(stopped.job_modify_index, stop.job_modify_index);
    assert_eq!(r.state.tracked_periodic_jobs().count(), 0);
    // Its children stay.
    assert_eq!(our_listing(&r, "periodic/"), children[1..]);
}
