//! The dry-run plans and register-time evaluations recorded from Nomad
//! v0.6.3 (`tests/fixtures/nomad-0.6.3/`), reproduced at the core level: the
//! state is built by applying commands as the server would, then
//! `plan_job` answers each recorded plan request.
//!
//! Compared exactly: `Annotations`, `FailedTGAllocs` (without the
//! host-measured `AllocationTime`), `CreatedEvals` (IDs and indexes
//! normalized), the `JobModifyIndex`/`Index` relations. Diff contents belong
//! to the diff tests.

use std::path::PathBuf;

use caravan_core::model::{Evaluation, Job, Node, TaskEvent, TaskState};
use caravan_core::scheduler::{plan_job, EvalRun, PlanOptions};
use caravan_core::state::{AllocClientUpdate, Reply};
use caravan_core::{ApiJob, ClusterState, Command};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/nomad-0.6.3")
}

/// The recorded case called `name` (see index.json).
fn case(name: &str) -> Value {
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("index.json")).unwrap())
            .unwrap();
    let file = index["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))["file"]
        .as_str()
        .unwrap()
        .to_string();
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(file)).unwrap()).unwrap()
}

/// Unix ns of the recording (for `NextPeriodicLaunch`).
const RECORDED_AT: i64 = 1_795_749_974_000_000_000;

fn job_of(body: &Value) -> Job {
    let api: ApiJob =
        caravan_core::gojson::from_slice(body["Job"].to_string().as_bytes(), "api.Job").unwrap();
    caravan_core::prepare(api).job
}

/// The dev agent: one node, and the server's duties around the state.
struct Dev {
    state: ClusterState,
    node: Node,
    seq: u64,
}

impl Dev {
    fn new() -> Self {
        let node: Node =
            serde_json::from_value(case("node-get")["response"]["json"].clone()).unwrap();
        let mut dev = Dev {
            state: ClusterState::default(),
            node: node.clone(),
            seq: 0,
        };
        dev.apply(Command::UpsertNode {
            node: Box::new(node),
        });
        dev.node = (**dev.state.node(&dev.node.id).unwrap()).clone();
        dev
    }

    fn apply(&mut self, cmd: Command) -> Reply {
        self.state.apply(cmd).unwrap().reply
    }

    fn id(&mut self) -> String {
        self.seq += 1;
        format!("eval-{:04}-0000-0000-0000-000000000000", self.seq)
    }

    /// Registers the job of a recorded request body; processes its eval.
    fn register(&mut self, body: &Value) -> Option<Evaluation> {
        let eval_id = self.id();
        self.apply(Command::RegisterJob {
            job: Box::new(job_of(body)),
            enforce_index: false,
            job_modify_index: 0,
            eval_id: eval_id.clone(),
            now: RECORDED_AT,
        });
        let eval = (**self.state.eval(&eval_id)?).clone();
        self.process(eval.clone());
        Some(eval)
    }

    fn deregister(&mut self, job_id: &str) {
        let eval_id = self.id();
        self.apply(Command::DeregisterJob {
            job_id: job_id.into(),
            purge: false,
            eval_id: eval_id.clone(),
            now: RECORDED_AT,
        });
        let eval = (**self.state.eval(&eval_id).unwrap()).clone();
        self.process(eval);
    }

    /// Drives the evaluation like the server's worker.
    fn process(&mut self, eval: Evaluation) {
        let mut run = EvalRun::new(eval, self.seq);
        while let Some(cmd) = run.next(&self.state) {
            if let Reply::Plan(r) = self.apply(cmd) {
                run.plan_applied(&r);
            }
        }
    }

    /// The client reports the job's live allocations `status`.
    fn report(&mut self, job_id: &str, status: &str) {
        let updates = self
            .state
            .allocs_by_job(job_id, false)
            .iter()
            .filter(|a| !a.terminal())
            .map(|a| {
                let state = if status == "complete" {
                    "dead"
                } else {
                    "running"
                };
                let events = if status == "complete" {
                    vec![TaskEvent {
                        event_type: "Terminated".into(),
                        ..Default::default()
                    }]
                } else {
                    Vec::new()
                };
                let task_states = a
                    .job
                    .iter()
                    .flat_map(|j| j.task_group(&a.task_group))
                    .flat_map(|g| &g.tasks)
                    .map(|t| {
                        let ts = TaskState {
                            state: state.into(),
                            events: events.clone(),
                            ..Default::default()
                        };
                        (t.name.clone(), ts)
                    })
                    .collect();
                AllocClientUpdate {
                    alloc_id: a.id.clone(),
                    client_status: status.into(),
                    task_states,
                    ..Default::default()
                }
            })
            .collect();
        self.apply(Command::UpdateAllocsFromClient { updates });
    }
}

fn strip_allocation_time(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        for metric in m.values_mut() {
            metric["AllocationTime"] = json!(0);
        }
    }
    v
}

/// Plans the recorded request of case `name` against `dev` and compares.
fn check_plan(dev: &Dev, name: &str) {
    let rec = case(name);
    let body = &rec["request"]["body"];
    let want = &rec["response"]["json"];
    let job = job_of(body);
    let opts = PlanOptions {
        diff: body["Diff"] == json!(true),
        seed: 42,
        now: RECORDED_AT,
    };
    let got = plan_job(&dev.state, job.clone(), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let got_json = serde_json::to_value(&got).unwrap();

    assert_eq!(
        got_json["Annotations"], want["Annotations"],
        "{name}: Annotations"
    );
    assert_eq!(
        strip_allocation_time(got_json["FailedTGAllocs"].clone()),
        strip_allocation_time(want["FailedTGAllocs"].clone()),
        "{name}: FailedTGAllocs"
    );

    // JobModifyIndex = Index = the stored job's JobModifyIndex (0 if new),
    // as recorded.
    let stored = dev.state.job(&job.id).map_or(0, |j| j.job_modify_index);
    assert_eq!(
        (got.job_modify_index, got.index),
        (stored, stored),
        "{name}: indexes"
    );
    let rec_index = want["JobModifyIndex"].as_u64().unwrap();
    assert_eq!(want["Index"].as_u64().unwrap(), rec_index);
    assert_eq!(rec_index == 0, stored == 0, "{name}: new vs existing job");

    // CreatedEvals, with IDs and index relations normalized.
    let normalize = |evals: &Value, index: u64, class: &str| -> Value {
        let Some(list) = evals.as_array() else {
            return evals.clone();
        };
        Value::Array(
            list.iter()
                .map(|e| {
                    let mut e = e.clone();
                    assert!(!e["PreviousEval"].as_str().unwrap().is_empty());
                    assert_ne!(e["PreviousEval"], e["ID"]);
                    e["ID"] = json!("<id>");
                    e["PreviousEval"] = json!("<plan eval>");
                    let jmi = e["JobModifyIndex"].as_u64().unwrap();
                    e["JobModifyIndex"] = json!(if jmi == 0 { 0 } else { jmi - index });
                    if let Some(m) = e["ClassEligibility"].as_object_mut() {
                        let renamed = m.iter().map(|(k, v)| {
                            (
                                if k == class {
                                    "<dev node>".to_string()
                                } else {
                                    k.clone()
                                },
                                v.clone(),
                            )
                        });
                        e["ClassEligibility"] = Value::Object(renamed.collect());
                    }
                    e
                })
                .collect(),
        )
    };
    let recorded_class = case("node-get")["response"]["json"]["ComputedClass"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        normalize(&got_json["CreatedEvals"], stored, &dev.node.computed_class),
        normalize(&want["CreatedEvals"], rec_index, &recorded_class),
        "{name}: CreatedEvals"
    );

    assert_eq!(
        got.diff.is_some(),
        !want["Diff"].is_null(),
        "{name}: Diff presence"
    );
    let periodic_impl = job
        .periodic
        .as_ref()
        .is_some_and(|p| caravan_core::periodic::next_launch(p, RECORDED_AT).is_some());
    if periodic_impl || want["NextPeriodicLaunch"] == json!("0001-01-01T00:00:00Z") {
        assert_eq!(
            json!(got.next_periodic_launch),
            want["NextPeriodicLaunch"],
            "{name}: NextPeriodicLaunch"
        );
    }
}

#[test]
fn planjob_plans() {
    let mut dev = Dev::new();
    // Before registering: a new job.
    check_plan(&dev, "plan-new-job");
    check_plan(&dev, "plan-new-job-nodiff");
    for name in [
        "plan-new-constraint-unmet",
        "plan-new-cpu-too-large",
        "plan-new-distinct-hosts",
        "plan-via-jobs-path",
        "valid-name-defaults-to-id",
        "valid-missing-resources",
        "valid-constraint-distinct-hosts",
        "invalid-unknown-fields",
    ] {
        check_plan(&dev, name);
    }
    let reg = case("planjob-register");
    dev.register(&reg["request"]["body"]).unwrap();
    dev.report("planjob", "running");
    for name in [
        "plan-identical",
        "plan-identical-nodiff",
        "plan-count-up",
        "plan-config-change",
        "plan-env-change",
        "plan-task-meta-change",
        "plan-job-meta-add",
        "plan-add-task",
        "plan-remove-group",
        "plan-constraint-add",
        "plan-constraint-unsatisfiable",
        "plan-driver-missing",
        "plan-multi-change",
        "plan-update-stanza-rolling",
    ] {
        check_plan(&dev, name);
    }
}

#[test]
fn binstore_register_blocks_and_plans_keep_failing() {
    let mut dev = Dev::new();
    let reg = case("register-binstore");
    let eval = dev.register(&reg["request"]["body"]).unwrap();
    let e = (**dev.state.eval(&eval.id).unwrap()).clone();
    let e_index = eval.create_index;
    let want = case("binstore-evaluations")["response"]["json"].clone();
    let want_blocked = &want[0];
    let want_eval = &want[1];

    // The register eval, normalized.
    let norm = |mut v: Value, base: u64, deployment: &str, blocked: &str| {
        for k in [
            "CreateIndex",
            "ModifyIndex",
            "SnapshotIndex",
            "JobModifyIndex",
        ] {
            let x = v[k].as_u64().unwrap();
            v[k] = json!(x as i64 - base as i64);
        }
        v["ID"] = json!("<eval>");
        if v["DeploymentID"] == json!(deployment) && !deployment.is_empty() {
            v["DeploymentID"] = json!("<deployment>");
        }
        if v["BlockedEval"] == json!(blocked) && !blocked.is_empty() {
            v["BlockedEval"] = json!("<blocked>");
        }
        if !v["PreviousEval"].as_str().unwrap().is_empty() {
            v["PreviousEval"] = json!("<previous>");
        }
        v["FailedTGAllocs"] = strip_allocation_time(v["FailedTGAllocs"].clone());
        v
    };
    let rec_index = want_eval["CreateIndex"].as_u64().unwrap();
    let got_eval = serde_json::to_value(&e).unwrap();
    assert_eq!(
        norm(got_eval, e_index, &e.deployment_id, &e.blocked_eval),
        norm(
            want_eval.clone(),
            rec_index,
            want_eval["DeploymentID"].as_str().unwrap(),
            want_eval["BlockedEval"].as_str().unwrap()
        )
    );
    let blocked = (**dev.state.eval(&e.blocked_eval).unwrap()).clone();
    assert_eq!(
        norm(serde_json::to_value(&blocked).unwrap(), e_index, "", ""),
        norm(want_blocked.clone(), rec_index, "", "")
    );
    assert_eq!(blocked.class_eligibility, Some(Default::default()));

    let summary =
        serde_json::to_value(dev.state.job_summary("binstore-storagelocker").unwrap()).unwrap();
    let want_summary = case("binstore-summary")["response"]["json"].clone();
    assert_eq!(summary["Summary"], want_summary["Summary"]);
    let d = dev
        .state
        .latest_deployment("binstore-storagelocker")
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.task_groups["binsl"].desired_total),
        ("running", 5)
    );
    assert_eq!(d.task_groups["binsl"].placed_allocs, 0);

    check_plan(&dev, "plan-binstore-image-change");
    check_plan(&dev, "plan-binstore-identical");
}

#[test]
fn simple_job_places_one_running_alloc() {
    let mut dev = Dev::new();
    let eval = dev
        .register(&case("register-simple")["request"]["body"])
        .unwrap();
    dev.report("simple", "running");
    let e = (**dev.state.eval(&eval.id).unwrap()).clone();
    let want = case("simple-evaluations")["response"]["json"][0].clone();
    let base = eval.create_index as i64 - want["CreateIndex"].as_i64().unwrap();
    assert_eq!(
        e.modify_index as i64 - base,
        want["ModifyIndex"].as_i64().unwrap()
    );
    assert_eq!(
        e.snapshot_index as i64 - base,
        want["SnapshotIndex"].as_i64().unwrap()
    );
    assert_eq!(json!(e.queued_allocations), want["QueuedAllocations"]);
    assert_eq!(
        (e.status.as_str(), e.deployment_id.as_str()),
        ("complete", "")
    );
    let allocs = dev.state.allocs_by_job("simple", false);
    let want_alloc = &case("simple-allocations")["response"]["json"][0];
    assert_eq!(allocs.len(), 1);
    let a = &allocs[0];
    assert_eq!(json!(a.name), want_alloc["Name"]);
    assert_eq!(
        a.create_index as i64 - base,
        want_alloc["CreateIndex"].as_i64().unwrap()
    );
    assert_eq!(
        a.modify_index as i64 - base,
        want_alloc["ModifyIndex"].as_i64().unwrap()
    );
    assert_eq!(
        (a.client_status.as_str(), a.desired_status.as_str()),
        ("running", "run")
    );
    let summary = serde_json::to_value(dev.state.job_summary("simple").unwrap()).unwrap();
    let want_summary = case("simple-summary")["response"]["json"].clone();
    assert_eq!(summary["Summary"], want_summary["Summary"]);
    assert_eq!(
        summary["ModifyIndex"].as_i64().unwrap() - base,
        want_summary["ModifyIndex"].as_i64().unwrap()
    );
    assert!(dev.state.latest_deployment("simple").is_none());
}

#[test]
fn batch_periodic_parameterized_system_and_stopped_jobs() {
    let mut dev = Dev::new();
    // Parameterized and periodic parents are planned like batch jobs.
    dev.register(&case("param-req-register")["request"]["body"]);
    check_plan(&dev, "param-req-plan");
    dev.register(&case("periodic-register")["request"]["body"]);
    check_plan(&dev, "periodic-plan-identical");
    dev.register(&case("periodic-disabled-register")["request"]["body"]);
    check_plan(&dev, "periodic-disabled-plan");

    // A finished batch job is left alone.
    dev.register(&case("batch-register")["request"]["body"]);
    dev.report("batchjob", "complete");
    check_plan(&dev, "batch-plan-identical");

    // A system job: the plan request minus its env change was registered.
    let mut sys = case("system-plan-change")["request"]["body"].clone();
    sys["Job"]["TaskGroups"][0]["Tasks"][0]
        .as_object_mut()
        .unwrap()
        .remove("Env");
    dev.register(&sys);
    dev.report("systemjob", "running");
    let allocs = dev.state.allocs_by_job("systemjob", false);
    let want = &case("system-allocations")["response"]["json"][0];
    assert_eq!(
        (json!(allocs[0].name), allocs.len()),
        (want["Name"].clone(), 1)
    );
    check_plan(&dev, "system-plan-change");

    // A stopped job planned with its original spec places again.
    let deljob = case("delete-plan-after")["request"]["body"].clone();
    dev.register(&deljob);
    dev.report("deljob", "running");
    dev.deregister("deljob");
    check_plan(&dev, "delete-plan-after");
}
