//! Following an evaluation to its end as `nomad run` does: poll the
//! evaluation and its allocations, print what changed, then the outcome.

use std::collections::BTreeMap;
use std::time::Duration;

use caravan_core::gofmt::{duration, quote};
use caravan_core::model::{AllocListStub, Evaluation};

use super::http_client::ApiClient;
use super::plan_output::format_alloc_metrics;
use super::Ui;

/// Nomad's poll interval.
const UPDATE_WAIT: Duration = Duration::from_secs(1);

/// What the monitor knows about one allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocState {
    pub id: String,
    pub group: String,
    pub node: String,
    pub desired: String,
    pub client: String,
    pub client_desc: String,
    pub create_index: u64,
}

/// One observation of an evaluation and its allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalState {
    pub status: String,
    pub node: String,
    pub deployment: String,
    pub job: String,
    pub index: u64,
    /// By allocation ID.
    pub allocs: BTreeMap<String, AllocState>,
}

impl Default for EvalState {
    /// A monitor starts from a pending evaluation.
    fn default() -> Self {
        EvalState {
            status: "pending".into(),
            node: String::new(),
            deployment: String::new(),
            job: String::new(),
            index: 0,
            allocs: BTreeMap::new(),
        }
    }
}

impl EvalState {
    pub fn observe(eval: &Evaluation, allocs: &[AllocListStub]) -> EvalState {
        EvalState {
            status: eval.status.clone(),
            node: eval.node_id.clone(),
            deployment: eval.deployment_id.clone(),
            job: eval.job_id.clone(),
            index: eval.create_index,
            allocs: allocs
                .iter()
                .map(|a| {
                    let state = AllocState {
                        id: a.id.clone(),
                        group: a.task_group.clone(),
                        node: a.node_id.clone(),
                        desired: a.desired_status.clone(),
                        client: a.client_status.clone(),
                        client_desc: a.client_description.clone(),
                        create_index: a.create_index,
                    };
                    (a.id.clone(), state)
                })
                .collect(),
        }
    }
}

/// The first `length` characters (Nomad's `limit`).
pub fn limit(s: &str, length: usize) -> &str {
    match s.char_indices().nth(length) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The lines Nomad's monitor prints when it moves from `old` to `new`.
pub fn changes(old: &EvalState, new: &EvalState, length: usize) -> Vec<String> {
    let mut lines = Vec::new();
    if old.node.is_empty() && !new.node.is_empty() {
        lines.push(format!(
            "Evaluation triggered by node {}",
            quote(limit(&new.node, length))
        ));
    }
    if old.job.is_empty() && !new.job.is_empty() {
        lines.push(format!("Evaluation triggered by job {}", quote(&new.job)));
    }
    if old.deployment.is_empty() && !new.deployment.is_empty() {
        lines.push(format!(
            "Evaluation within deployment: {}",
            quote(limit(&new.deployment, length))
        ));
    }
    for (id, alloc) in &new.allocs {
        match old.allocs.get(id) {
            None if alloc.create_index < new.index => lines.push(format!(
                "Allocation {} modified: node {}, group {}",
                quote(limit(&alloc.id, length)),
                quote(limit(&alloc.node, length)),
                quote(&alloc.group)
            )),
            None if alloc.desired == "run" => lines.push(format!(
                "Allocation {} created: node {}, group {}",
                quote(limit(&alloc.id, length)),
                quote(limit(&alloc.node, length)),
                quote(&alloc.group)
            )),
            None => {}
            Some(before) if before.client != alloc.client => {
                let description = if alloc.client_desc.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", alloc.client_desc)
                };
                lines.push(format!(
                    "Allocation {} status changed: {} -> {}{description}",
                    quote(limit(&alloc.id, length)),
                    quote(&before.client),
                    quote(&alloc.client)
                ));
            }
            Some(_) => {}
        }
    }
    if !old.status.is_empty() && new.status != "pending" && old.status != new.status {
        lines.push(format!(
            "Evaluation status changed: {} -> {}",
            quote(&old.status),
            quote(&new.status)
        ));
    }
    lines
}

/// Follows `eval_id` (and the evaluations it chains to) until it is
/// complete, failed or cancelled. Exit code: 0 done, 2 some placements
/// failed, 1 the evaluation could not be read.
pub fn monitor(ui: &mut Ui, client: &ApiClient, eval_id: &str, length: usize) -> i32 {
    let mut eval_id = eval_id.to_string();
    let mut sched_failure = false;
    loop {
        let mut state = EvalState::default();
        let mut header_written = false;
        let eval = loop {
            let eval: Evaluation =
                match client.query(&format!("/v1/evaluation/{eval_id}"), "api.Evaluation") {
                    Ok(e) => e,
                    Err(_) => {
                        ui.error(&format!(
                            "==> No evaluation with id {} found",
                            quote(&eval_id)
                        ));
                        return 1;
                    }
                };
            if !header_written {
                ui.output(&format!(
                    "==> Monitoring evaluation {}",
                    quote(limit(&eval.id, length))
                ));
                header_written = true;
            }
            let allocs: Vec<AllocListStub> = match client.query(
                &format!("/v1/evaluation/{}/allocations", eval.id),
                "[]*api.AllocationListStub",
            ) {
                Ok(a) => a,
                Err(e) => {
                    ui.error(&format!("==> Error reading allocations: {e}"));
                    return 1;
                }
            };
            let next = EvalState::observe(&eval, &allocs);
            for line in changes(&state, &next, length) {
                ui.output(&format!("    {line}"));
            }
            state = next;
            if matches!(eval.status.as_str(), "complete" | "failed" | "cancelled") {
                break eval;
            }
            std::thread::sleep(UPDATE_WAIT);
        };
        if eval.failed_tg_allocs.is_empty() {
            ui.output(&format!(
                "==> Evaluation {} finished with status {}",
                quote(limit(&eval.id, length)),
                quote(&eval.status)
            ));
        } else {
            sched_failure = true;
            ui.output(&format!(
                "==> Evaluation {} finished with status {} but failed to place all allocations:",
                quote(limit(&eval.id, length)),
                quote(&eval.status)
            ));
            for (group, metrics) in &eval.failed_tg_allocs {
                let noun = if metrics.coalesced_failures > 0 {
                    "allocations"
                } else {
                    "allocation"
                };
                ui.output(&format!(
                    "    Task Group {} (failed to place {} {noun}):",
                    quote(group),
                    metrics.coalesced_failures.saturating_add(1)
                ));
                for line in format_alloc_metrics(metrics, false, "  ").split('\n') {
                    // Nomad's prefixed UI leaves empty lines unprefixed.
                    if line.is_empty() {
                        ui.output("");
                    } else {
                        ui.output(&format!("    {line}"));
                    }
                }
            }
            if !eval.blocked_eval.is_empty() {
                ui.output(&format!(
                    "    Evaluation {} waiting for additional capacity to place remainder",
                    quote(limit(&eval.blocked_eval, length))
                ));
            }
        }
        if eval.next_eval.is_empty() {
            break;
        }
        if eval.wait != 0 {
            ui.output(&format!(
                "==> Monitoring next evaluation {} in {}",
                quote(limit(&eval.next_eval, length)),
                duration(eval.wait)
            ));
            std::thread::sleep(Duration::from_nanos(eval.wait.max(0).unsigned_abs()));
        }
        eval_id = eval.next_eval.clone();
    }
    if sched_failure {
        2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(id: &str, desired: &str, client: &str, desc: &str, index: u64) -> AllocState {
        AllocState {
            id: id.into(),
            group: "web".into(),
            node: "5a6b7c8d-0000-0000-0000-000000000000".into(),
            desired: desired.into(),
            client: client.into(),
            client_desc: desc.into(),
            create_index: index,
        }
    }

    fn state(status: &str, allocs: &[AllocState]) -> EvalState {
        EvalState {
            status: status.into(),
            job: "example".into(),
            index: 10,
            allocs: allocs.iter().map(|a| (a.id.clone(), a.clone())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn first_observation_names_the_job_and_new_allocations() {
        let new = state(
            "complete",
            &[
                alloc("0123456789ab", "run", "pending", "", 11),
                alloc("1123456789ab", "run", "running", "", 9),
                alloc("2123456789ab", "stop", "pending", "", 11),
            ],
        );
        assert_eq!(
            changes(&EvalState::default(), &new, 8),
            vec![
                "Evaluation triggered by job \"example\"",
                "Allocation \"01234567\" created: node \"5a6b7c8d\", group \"web\"",
                "Allocation \"11234567\" modified: node \"5a6b7c8d\", group \"web\"",
                "Evaluation status changed: \"pending\" -> \"complete\"",
            ]
        );
    }

    #[test]
    fn later_observations_print_only_changes() {
        let before = state("pending", &[alloc("a1", "run", "pending", "", 11)]);
        let after = EvalState {
            node: "node-1234567890".into(),
            deployment: "dep-1234567890".into(),
            ..state(
                "pending",
                &[alloc("a1", "run", "failed", "Failed tasks", 11)],
            )
        };
        assert_eq!(
            changes(&before, &after, 36),
            vec![
                "Evaluation triggered by node \"node-1234567890\"",
                "Evaluation within deployment: \"dep-1234567890\"",
                "Allocation \"a1\" status changed: \"pending\" -> \"failed\" (Failed tasks)",
            ]
        );
        assert!(changes(&after, &after, 8).is_empty());
    }

    /// A server answering each path with its bodies in turn (the last one
    /// repeats), 404 for any other path; it stops after `requests`.
    fn canned_server(routes: Vec<(&'static str, Vec<String>)>, requests: usize) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let mut served: BTreeMap<&str, usize> = BTreeMap::new();
            for stream in listener.incoming().take(requests) {
                let Ok(mut stream) = stream else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(&stream);
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // Drain the headers.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = line.split(' ').nth(1).unwrap_or("");
                let reply = match routes.iter().find(|(p, _)| *p == path) {
                    Some((p, bodies)) => {
                        let n = served.entry(*p).or_default();
                        let body = &bodies[(*n).min(bodies.len() - 1)];
                        *n += 1;
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    }
                    None => "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope".to_string(),
                };
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        format!("http://{addr}")
    }

    fn eval_json(id: &str, status: &str, extra: serde_json::Value) -> String {
        let mut e = serde_json::json!({
            "ID": id, "JobID": "web", "Status": status, "CreateIndex": 20
        });
        if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
            e.extend(extra.clone());
        }
        e.to_string()
    }

    fn alloc_json(client: &str) -> String {
        serde_json::json!([{
            "ID": "a1a1a1a1-0000-0000-0000-000000000000",
            "NodeID": "n1n1n1n1-0000-0000-0000-000000000000",
            "TaskGroup": "web", "DesiredStatus": "run", "ClientStatus": client,
            "CreateIndex": 20
        }])
        .to_string()
    }

    #[test]
    fn follows_the_chain_to_a_failed_placement() {
        let e1 = "e1e1e1e1-0000-0000-0000-000000000000";
        let e2 = "e2e2e2e2-0000-0000-0000-000000000000";
        let addr = canned_server(
            vec![
                (
                    "/v1/evaluation/e1e1e1e1-0000-0000-0000-000000000000",
                    vec![
                        eval_json(e1, "pending", serde_json::json!({})),
                        eval_json(e1, "complete", serde_json::json!({"NextEval": e2})),
                    ],
                ),
                (
                    "/v1/evaluation/e1e1e1e1-0000-0000-0000-000000000000/allocations",
                    vec![alloc_json("pending"), alloc_json("running")],
                ),
                (
                    "/v1/evaluation/e2e2e2e2-0000-0000-0000-000000000000",
                    vec![eval_json(
                        e2,
                        "complete",
                        serde_json::json!({
                            "BlockedEval": "b1b1b1b1-0000",
                            "FailedTGAllocs": {"web": {
                                "NodesEvaluated": 2, "CoalescedFailures": 1,
                                "ConstraintFiltered": {"${node.class} = gpu": 2}
                            }}
                        }),
                    )],
                ),
                (
                    "/v1/evaluation/e2e2e2e2-0000-0000-0000-000000000000/allocations",
                    vec!["[]".to_string()],
                ),
            ],
            6,
        );
        let client = ApiClient::new(&addr).expect("client");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = monitor(&mut Ui::new(&mut out, &mut err), &client, e1, 8);
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"==> Monitoring evaluation "e1e1e1e1"
    Evaluation triggered by job "web"
    Allocation "a1a1a1a1" created: node "n1n1n1n1", group "web"
    Allocation "a1a1a1a1" status changed: "pending" -> "running"
    Evaluation status changed: "pending" -> "complete"
==> Evaluation "e1e1e1e1" finished with status "complete"
==> Monitoring evaluation "e2e2e2e2"
    Evaluation triggered by job "web"
    Evaluation status changed: "pending" -> "complete"
==> Evaluation "e2e2e2e2" finished with status "complete" but failed to place all allocations:
    Task Group "web" (failed to place 2 allocations):
      * Constraint "${node.class} = gpu" filtered 2 nodes
    Evaluation "b1b1b1b1" waiting for additional capacity to place remainder
"#
        );
        assert_eq!((code, err.len()), (2, 0));
    }

    #[test]
    fn an_unknown_evaluation_is_an_error() {
        let addr = canned_server(vec![], 1);
        let client = ApiClient::new(&addr).expect("client");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = monitor(&mut Ui::new(&mut out, &mut err), &client, "nope", 8);
        assert_eq!(
            (code, String::from_utf8_lossy(&err).as_ref(), out.len()),
            (1, "==> No evaluation with id \"nope\" found\n", 0)
        );
    }

    #[test]
    fn limit_cuts_on_characters() {
        assert_eq!(limit("0123456789", 8), "01234567");
        assert_eq!(limit("abc", 8), "abc");
        assert_eq!(limit("ééééé", 2), "éé");
    }
}
