//! One scheduling pass over a snapshot (Nomad's `process()`), shared by the
//! generic and system schedulers: what it returns, what it carries over to
//! the next pass, and the helpers both schedulers use to read the state.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{
    AllocMetric, Allocation, Counts, Evaluation, Node, ALLOC_CLIENT_LOST, ALLOC_CLIENT_PENDING,
    ALLOC_CLIENT_RUNNING, ALLOC_DESIRED_STOP, EVAL_STATUS_BLOCKED, EVAL_STATUS_PENDING,
    NODE_STATUS_DOWN, NODE_STATUS_READY, TRIGGER_MAX_PLANS, TRIGGER_ROLLING_UPDATE,
};
use crate::prefetch;
use crate::scheduler::context::{EvalContext, StateView};
use crate::scheduler::plan::Plan;
use crate::scheduler::reconcile::ALLOC_LOST;
use crate::scheduler::rng::Rng;

pub(crate) const BLOCKED_EVAL_MAX_PLAN_DESC: &str = "created due to placement conflicts";
pub(crate) const BLOCKED_EVAL_FAILED_PLACEMENTS: &str = "created to place remaining allocations";

/// Evaluations a pass created that later passes of the same evaluation
/// must not create again.
#[derive(Debug, Clone, Default)]
pub(crate) struct Carry {
    pub blocked: Option<Evaluation>,
    pub next_eval: Option<Evaluation>,
}

/// What one pass produced.
#[derive(Debug, Clone, Default)]
pub(crate) struct PassOutcome {
    /// The plan to submit; `None` when there is nothing to do.
    pub plan: Option<Plan>,
    /// Blocked and follow-up evaluations created by this pass, in order.
    pub created_evals: Vec<Evaluation>,
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// Group → allocations still to place.
    pub queued: BTreeMap<String, i64>,
    /// The evaluation's deployment (generic scheduler only).
    pub deployment_id: String,
    pub class_eligibility: BTreeMap<String, bool>,
    pub escaped: bool,
}

impl PassOutcome {
    pub fn record_eligibility(&mut self, ctx: &EvalContext<'_>) {
        self.class_eligibility = ctx.class_eligibility();
        self.escaped = ctx.eligibility.has_escaped();
    }
}

/// Ready, non-draining nodes of the datacenters, and their count per
/// datacenter (every listed datacenter present, 0 if none).
pub(crate) fn ready_nodes_in_dcs<'a>(
    view: &StateView<'a>,
    dcs: &[String],
) -> (Vec<&'a Node>, Counts) {
    // Counted by position in `dcs` (a job names a few): a scan of that
    // short list per node, not a search of the map.
    let mut counts = vec![0; dcs.len()];
    let mut out = Vec::with_capacity(view.node_count());
    let walk = prefetch::Ahead::new(view.nodes(), prefetch::node, prefetch::node_strings);
    for n in walk {
        if n.status != NODE_STATUS_READY || n.drain {
            continue;
        }
        if let Some(i) = dcs.iter().position(|d| *d == n.datacenter) {
            counts[i] += 1;
            out.push(n);
        }
    }
    let mut by_dc: Counts = dcs.iter().map(|d| (d.clone(), 0)).collect();
    for (dc, count) in dcs.iter().zip(counts) {
        // A datacenter listed twice is counted at its first position.
        if let Some(c) = by_dc.get_mut(dc) {
            *c += count;
        }
    }
    (out, by_dc)
}

/// Node ID → tainted node for the nodes of `allocs`: gone (`None`), down
/// or draining.
pub(crate) fn tainted_nodes<'a>(
    view: &StateView<'a>,
    allocs: &[Arc<Allocation>],
) -> BTreeMap<String, Option<&'a Node>> {
    let mut out = BTreeMap::new();
    for a in allocs {
        if out.contains_key(&a.node_id) {
            continue;
        }
        match view.node(&a.node_id) {
            None => {
                out.insert(a.node_id.clone(), None);
            }
            Some(n) if n.status == NODE_STATUS_DOWN || n.drain => {
                out.insert(a.node_id.clone(), Some(n));
            }
            Some(_) => {}
        }
    }
    out
}

/// Allocations already told to stop but still running on a tainted node
/// are stopped again as lost.
pub(crate) fn stop_lost_on_tainted(
    ctx: &mut EvalContext<'_>,
    tainted: &BTreeMap<String, Option<&Node>>,
    allocs: &[Arc<Allocation>],
) {
    for a in allocs {
        if tainted.contains_key(&a.node_id)
            && a.desired_status == ALLOC_DESIRED_STOP
            && (a.client_status == ALLOC_CLIENT_RUNNING || a.client_status == ALLOC_CLIENT_PENDING)
        {
            ctx.append_update(a, ALLOC_DESIRED_STOP, ALLOC_LOST, ALLOC_CLIENT_LOST);
        }
    }
}

/// Nomad's `CreateBlockedEval`: waits for capacity to place the rest.
pub(crate) fn blocked_eval(
    eval: &Evaluation,
    outcome: &PassOutcome,
    rng: &mut Rng,
    plan_failure: bool,
) -> Evaluation {
    let (trigger, desc) = if plan_failure {
        (TRIGGER_MAX_PLANS, BLOCKED_EVAL_MAX_PLAN_DESC)
    } else {
        (eval.triggered_by.as_str(), BLOCKED_EVAL_FAILED_PLACEMENTS)
    };
    Evaluation {
        id: rng.uuid(),
        priority: eval.priority,
        eval_type: eval.eval_type.clone(),
        triggered_by: trigger.to_string(),
        job_id: eval.job_id.clone(),
        job_modify_index: eval.job_modify_index,
        status: EVAL_STATUS_BLOCKED.into(),
        status_description: desc.into(),
        previous_eval: eval.id.clone(),
        class_eligibility: (!outcome.escaped).then(|| outcome.class_eligibility.clone()),
        escaped_computed_class: outcome.escaped,
        ..Default::default()
    }
}

/// Nomad's `NextRollingEval`: picks up the rest of a rolling change after
/// `wait`.
pub(crate) fn next_rolling_eval(eval: &Evaluation, wait: i64, rng: &mut Rng) -> Evaluation {
    Evaluation {
        id: rng.uuid(),
        priority: eval.priority,
        eval_type: eval.eval_type.clone(),
        triggered_by: TRIGGER_ROLLING_UPDATE.into(),
        job_id: eval.job_id.clone(),
        job_modify_index: eval.job_modify_index,
        status: EVAL_STATUS_PENDING.into(),
        wait,
        previous_eval: eval.id.clone(),
        ..Default::default()
    }
}

/// Nomad's `MakePlan`.
pub(crate) fn make_plan(eval: &Evaluation, job: Option<&Arc<crate::model::Job>>) -> Plan {
    Plan {
        eval_id: eval.id.clone(),
        priority: eval.priority,
        job: job.cloned(),
        all_at_once: job.is_some_and(|j| j.all_at_once),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ClusterState;

    #[test]
    fn ready_nodes_count_every_job_datacenter() {
        let mut s = ClusterState::default();
        for (id, dc, status, drain) in [
            ("a", "dc1", "ready", false),
            ("b", "dc1", "down", false),
            ("c", "dc1", "ready", true),
            ("d", "dc2", "ready", false),
            ("e", "dc3", "ready", false),
        ] {
            let node = Node {
                id: id.into(),
                datacenter: dc.into(),
                status: status.into(),
                ..Default::default()
            };
            s.apply(crate::state::Command::UpsertNode {
                node: Box::new(node),
            })
            .unwrap();
            if drain {
                s.apply(crate::state::Command::UpdateNodeDrain {
                    node_id: id.into(),
                    drain: true,
                })
                .unwrap();
            }
        }
        let view = StateView::new(&s);
        let (nodes, by_dc) =
            ready_nodes_in_dcs(&view, &["dc1".into(), "dc2".into(), "nowhere".into()]);
        let ids: Vec<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["a", "d"]);
        let want: Counts = [
            ("dc1".to_string(), 1),
            ("dc2".to_string(), 1),
            ("nowhere".to_string(), 0),
        ]
        .into();
        assert_eq!(by_dc, want);
        let allocs: Vec<Arc<Allocation>> = ["a", "b", "c", "zz"]
            .iter()
            .map(|n| {
                Arc::new(Allocation {
                    node_id: n.to_string(),
                    ..Default::default()
                })
            })
            .collect();
        let tainted = tainted_nodes(&view, &allocs);
        let t: Vec<(&str, bool)> = tainted
            .iter()
            .map(|(k, v)| (k.as_str(), v.is_some()))
            .collect();
        assert_eq!(t, [("b", true), ("c", true), ("zz", false)]);
    }
}
