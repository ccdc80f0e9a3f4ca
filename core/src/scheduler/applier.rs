//! The plan applier's check (Nomad's `evaluatePlan`): which nodes of a
//! plan still fit the current state. Refused nodes are dropped (or the whole
//! plan, if it is all-at-once) and the scheduler is told to refresh.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::model::{Allocation, Node, NODE_STATUS_READY};
use crate::scheduler::context::{AllocLoad, StateView, Usage};
use crate::scheduler::network::NetworkIndex;
use crate::scheduler::plan::{Plan, PlanResult};
use crate::state::{ClusterState, Table};

/// Nomad's `AllocsFit` with a fresh network index: the first reason the
/// allocations do not fit on `node`, if any.
pub(crate) fn allocs_fit(node: &Node, allocs: &[&Allocation]) -> Option<String> {
    let mut used = node.reserved.as_ref().map(Usage::of).unwrap_or_default();
    let mut networks = node
        .reserved
        .as_ref()
        .is_some_and(|r| !r.networks.is_empty());
    for a in allocs {
        let load = AllocLoad::of(a);
        networks |= !load.networks.is_empty();
        used.add(load.usage);
    }
    let capacity = node.resources.as_ref().map(Usage::of).unwrap_or_default();
    if let Some(dim) = Usage::exceeded_dimension(&capacity, &used) {
        return Some(dim.to_string());
    }
    if !networks {
        // Nothing uses a port or bandwidth: nothing can collide.
        return None;
    }
    let (mut idx, mut collide) = NetworkIndex::for_node(node);
    for a in allocs {
        for r in a.task_resources.values() {
            if let Some(n) = r.networks.first() {
                collide |= idx.add_reserved(n);
            }
        }
    }
    if collide {
        return Some("reserved port collision".into());
    }
    if idx.overcommitted() {
        return Some("bandwidth exceeded".into());
    }
    None
}

/// Why the allocations planned for `node_id` cannot be committed.
fn refuse_node(view: &StateView<'_>, plan: &Plan, node_id: &str) -> Option<String> {
    let planned = plan.node_allocation.get(node_id)?;
    if planned.is_empty() {
        return None;
    }
    let Some(node) = view.node(node_id) else {
        return Some("node does not exist".into());
    };
    if node.status != NODE_STATUS_READY {
        return Some("node is not ready for placements".into());
    }
    if node.drain {
        return Some("node is draining".into());
    }
    let mut live = view.live_allocs_on_node(node_id).peekable();
    let mut proposed: Vec<&Allocation> = Vec::new();
    if live.peek().is_some() {
        let removed: BTreeSet<&str> = plan
            .node_update
            .get(node_id)
            .into_iter()
            .flatten()
            .chain(planned)
            .map(|a| a.id.as_str())
            .collect();
        proposed.extend(live.filter(|a| !removed.contains(a.id.as_str())));
    }
    proposed.extend(planned.iter());
    allocs_fit(node, &proposed)
}

/// The applier's verdict: the nodes whose part of the plan is committed,
/// and the index to refresh to when something was refused.
struct Verdict {
    accepted: BTreeSet<String>,
    /// An all-at-once plan with a refused node: nothing is committed.
    refused_all: bool,
    refresh_index: u64,
}

fn judge(state: &ClusterState, plan: &Plan) -> Verdict {
    let view = StateView::new(state);
    let mut v = Verdict {
        accepted: BTreeSet::new(),
        refused_all: false,
        refresh_index: 0,
    };
    let nodes: BTreeSet<&String> = plan
        .node_update
        .keys()
        .chain(plan.node_allocation.keys())
        .collect();
    let mut partial = false;
    for node_id in nodes {
        if refuse_node(&view, plan, node_id).is_some() {
            partial = true;
            if plan.all_at_once {
                v.accepted.clear();
                v.refused_all = true;
                break;
            }
            continue;
        }
        v.accepted.insert(node_id.clone());
    }
    if partial {
        v.refresh_index = state
            .table_index(Table::Nodes)
            .max(state.table_index(Table::Allocs))
            .max(1);
    }
    v
}

/// Builds the result from the verdict, taking each accepted node's
/// allocations through `take`.
fn result_of(
    v: Verdict,
    deployment: Option<crate::model::Deployment>,
    deployment_updates: Vec<crate::scheduler::plan::DeploymentStatusUpdate>,
    mut take: impl FnMut(bool, &str) -> Vec<Allocation>,
) -> PlanResult {
    let mut result = PlanResult {
        refresh_index: v.refresh_index,
        ..Default::default()
    };
    if !v.refused_all {
        result.deployment = deployment;
        result.deployment_updates = deployment_updates;
    }
    for node_id in &v.accepted {
        let updates = take(false, node_id);
        if !updates.is_empty() {
            result
                .node_update
                .insert(node_id.clone(), updates.into_iter().map(Arc::new).collect());
        }
        let placed = take(true, node_id);
        if !placed.is_empty() {
            result
                .node_allocation
                .insert(node_id.clone(), placed.into_iter().map(Arc::new).collect());
        }
    }
    if v.refresh_index != 0 {
        // Canaries that were not placed must not be recorded as placed.
        if let Some(d) = result.deployment.as_mut() {
            let placed: BTreeSet<&str> = result
                .node_allocation
                .values()
                .flatten()
                .map(|a| a.id.as_str())
                .collect();
            for s in d.task_groups.values_mut() {
                s.placed_canaries.retain(|id| placed.contains(id.as_str()));
            }
        }
    }
    result
}

/// What of `plan` can be committed to `state` now. Nodes that no longer fit
/// (oversubscribed in any dimension incl. reserved resources, ports and
/// bandwidth, or gone, not ready, draining) are left out; an all-at-once
/// plan is then refused as a whole. `refresh_index` is set whenever
/// something was refused.
pub fn evaluate_plan(state: &ClusterState, plan: &Plan) -> PlanResult {
    let v = judge(state, plan);
    result_of(
        v,
        plan.deployment.clone(),
        plan.deployment_updates.clone(),
        |alloc, node| {
            let map = if alloc {
                &plan.node_allocation
            } else {
                &plan.node_update
            };
            map.get(node).cloned().unwrap_or_default()
        },
    )
}

/// [`evaluate_plan`] for a plan about to be committed: the accepted
/// allocations are moved into the result (each `Arc` unshared).
pub(crate) fn commit_plan(state: &ClusterState, mut plan: Plan) -> PlanResult {
    let v = judge(state, &plan);
    let (deployment, updates) = (
        plan.deployment.take(),
        std::mem::take(&mut plan.deployment_updates),
    );
    result_of(v, deployment, updates, |alloc, node| {
        let map = if alloc {
            &mut plan.node_allocation
        } else {
            &mut plan.node_update
        };
        map.remove(node).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests;
