//! The cluster snapshot a browser or plugin caller plans against (nodes, the
//! job's registered version, allocations) and its pure build into a state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use caravan_core::model::api::ApiJob;
use caravan_core::model::{Allocation, Job, Node, EVAL_STATUS_COMPLETE, NODE_STATUS_READY};
use caravan_core::scheduler::plan::Plan;
use caravan_core::scheduler::Rng;
use caravan_core::state::{Reply, StateConfig};
use caravan_core::{prepare, ClusterState, Command};
use serde::{Deserialize, Serialize};

/// What a planner needs to know about a cluster, in Nomad's JSON shapes:
/// nodes as `GET /v1/node/<id>` returns them, the job's currently
/// registered version as a job file (API form) and allocations as
/// `GET /v1/allocation/<id>` returns them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "ClusterSnapshot", default)]
pub struct ClusterSnapshot {
    #[serde(rename = "Nodes")]
    pub nodes: Vec<Node>,
    /// The version registered now, if any (what a plan diffs against).
    #[serde(rename = "Job")]
    pub job: Option<ApiJob>,
    /// Existing allocations: of `Job` (no `Job` field needed), or of other
    /// jobs carrying their `Job`, so that they take up node resources.
    #[serde(rename = "Allocations")]
    pub allocations: Vec<Allocation>,
}

/// Builds the state a snapshot describes, through the same commands a server
/// logs (`UpsertNode`, `RegisterJob`, `ApplyPlan`), so every index and
/// summary is what a server holding these objects would show. `seed` names
/// the evaluation of the registration; `now` is Unix nanoseconds.
pub fn build_state(
    snapshot: &ClusterSnapshot,
    seed: u64,
    now: i64,
) -> Result<ClusterState, String> {
    let mut state = ClusterState::new(StateConfig::default());
    let mut seen = BTreeSet::new();
    for (i, node) in snapshot.nodes.iter().enumerate() {
        if node.id.is_empty() {
            return Err(format!("snapshot node {i} has no ID"));
        }
        if !seen.insert(node.id.as_str()) {
            return Err(format!("snapshot node {} appears twice", node.id));
        }
        let mut node = node.clone();
        if node.status.is_empty() {
            // A hand-written snapshot means a node that can take work.
            node.status = NODE_STATUS_READY.into();
        }
        if node.computed_class.is_empty() {
            node.compute_class();
        }
        apply(
            &mut state,
            Command::UpsertNode {
                node: Box::new(node),
            },
        )?;
    }

    let mut rng = Rng::new(seed ^ 0x5eed_5eed_5eed_5eed);
    let job = match &snapshot.job {
        None => None,
        Some(api) => {
            let job = prepare(api.clone()).job;
            if job.id.is_empty() {
                return Err("snapshot job has no ID".into());
            }
            let reply = apply(
                &mut state,
                Command::RegisterJob {
                    job: Box::new(job.clone()),
                    enforce_index: false,
                    job_modify_index: 0,
                    eval_id: rng.uuid(),
                    now,
                },
            )?;
            // The registration's evaluation is settled: the snapshot shows
            // the cluster at rest.
            if let Reply::Register(r) = reply {
                if let Some(eval) = state.eval(&r.eval_id) {
                    let mut eval = (**eval).clone();
                    eval.status = EVAL_STATUS_COMPLETE.into();
                    apply(&mut state, Command::UpsertEvals { evals: vec![eval] })?;
                }
            }
            state.job(&job.id).cloned()
        }
    };

    place_allocations(&mut state, &snapshot.allocations, job, now)?;
    Ok(state)
}

/// Commits the snapshot's allocations, one plan per job, and refuses a
/// snapshot whose allocations the plan applier would not accept.
fn place_allocations(
    state: &mut ClusterState,
    allocations: &[Allocation],
    job: Option<Arc<Job>>,
    now: i64,
) -> Result<(), String> {
    let mut plans: BTreeMap<String, Plan> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for alloc in allocations {
        if alloc.id.is_empty() {
            return Err("snapshot allocation has no ID".into());
        }
        if !ids.insert(alloc.id.as_str()) {
            return Err(format!("snapshot allocation {} appears twice", alloc.id));
        }
        if state.node(&alloc.node_id).is_none() {
            return Err(format!(
                "snapshot allocation {} is on unknown node {:?}",
                alloc.id, alloc.node_id
            ));
        }
        let alloc_job = match (&alloc.job, &job) {
            (Some(own), _) => own.clone(),
            (None, Some(j)) if j.id == alloc.job_id => j.clone(),
            _ => {
                return Err(format!(
                    "snapshot allocation {} belongs to job {:?}, which is not the snapshot's Job: include its Job",
                    alloc.id, alloc.job_id
                ))
            }
        };
        let plan = plans.entry(alloc.job_id.clone()).or_insert_with(|| Plan {
            job: Some(alloc_job.clone()),
            priority: alloc_job.priority,
            ..Default::default()
        });
        let mut alloc = alloc.clone();
        alloc.job = Some(alloc_job);
        plan.node_allocation
            .get_or_insert_with(&alloc.node_id, Vec::new)
            .push(Arc::new(alloc));
    }
    for (job_id, plan) in plans {
        let wanted: usize = plan.node_allocation.values().map(Vec::len).sum();
        let reply = apply(
            state,
            Command::ApplyPlan {
                plan: Box::new(plan),
                now,
            },
        )?;
        let placed = match reply {
            Reply::Plan(result) => result.node_allocation.values().map(Vec::len).sum(),
            _ => 0,
        };
        if placed != wanted {
            return Err(format!(
                "snapshot allocations of job {job_id:?} do not fit their nodes ({placed} of {wanted} accepted)"
            ));
        }
    }
    Ok(())
}

fn apply(state: &mut ClusterState, command: Command) -> Result<Reply, String> {
    state
        .apply(command)
        .map(|applied| applied.reply)
        .map_err(|e| format!("snapshot: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use caravan_core::gojson;

    fn snapshot(json: &str) -> ClusterSnapshot {
        gojson::from_slice(json.as_bytes(), "caravan.ClusterSnapshot").unwrap()
    }

    #[test]
    fn nodes_job_and_allocations_become_state() {
        let s = snapshot(
            r#"{"Nodes":[{"ID":"n1","Datacenter":"dc1","Resources":{"CPU":1000,"MemoryMB":1024}}],
                "Job":{"ID":"web","Datacenters":["dc1"],"TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"raw_exec"}]}]},
                "Allocations":[{"ID":"a1","NodeID":"n1","JobID":"web","TaskGroup":"g","Name":"web.g[0]","DesiredStatus":"run","ClientStatus":"running"}]}"#,
        );
        let state = build_state(&s, 7, 1_000).unwrap();
        let node = state.node("n1").unwrap();
        assert_eq!(node.status, "ready");
        assert!(node.computed_class.starts_with("v1:"));
        let job = state.job("web").unwrap();
        assert_eq!((job.version, job.submit_time), (0, 1_000));
        let allocs = state.allocs_by_job("web", true);
        assert_eq!(allocs.len(), 1);
        assert_eq!(allocs[0].node_id, "n1");
        assert!(state.evals().all(|e| e.status == "complete"));
        // Same inputs, same state.
        assert_eq!(build_state(&s, 7, 1_000).unwrap(), state);
    }

    #[test]
    fn inconsistent_snapshots_are_refused() {
        let err = |json: &str| build_state(&snapshot(json), 0, 0).unwrap_err();
        assert_eq!(
            err(r#"{"Nodes":[{"Name":"x"}]}"#),
            "snapshot node 0 has no ID"
        );
        assert_eq!(
            err(r#"{"Nodes":[{"ID":"a"},{"ID":"a"}]}"#),
            "snapshot node a appears twice"
        );
        assert_eq!(
            err(r#"{"Allocations":[{"ID":"x","NodeID":"zz"}]}"#),
            "snapshot allocation x is on unknown node \"zz\""
        );
        assert_eq!(
            err(r#"{"Nodes":[{"ID":"n"}],"Allocations":[{"ID":"x","NodeID":"n","JobID":"other"}]}"#),
            "snapshot allocation x belongs to job \"other\", which is not the snapshot's Job: include its Job"
        );
    }
}
