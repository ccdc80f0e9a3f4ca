//! The plan applier's check (Nomad's `evaluatePlan`): which nodes of a
//! plan still fit the current state. Refused nodes are dropped (or the whole
//! plan, if it is all-at-once) and the scheduler is told to refresh.

use std::collections::BTreeSet;

use crate::model::{Allocation, Node, NODE_STATUS_READY};
use crate::scheduler::context::{AllocLoad, StateView, Usage};
use crate::scheduler::network::NetworkIndex;
use crate::scheduler::plan::{Plan, PlanResult};
use crate::state::{ClusterState, Table};

/// Nomad's `AllocsFit` with a fresh network index: the first reason the
/// allocations do not fit on `node`, if any.
pub(crate) fn allocs_fit(node: &Node, allocs: &[&Allocation]) -> Option<String> {
    let mut used = node.reserved.as_ref().map(Usage::of).unwrap_or_default();
    for a in allocs {
        used.add(AllocLoad::of(a).usage);
    }
    let capacity = node.resources.as_ref().map(Usage::of).unwrap_or_default();
    if let Some(dim) = Usage::exceeded_dimension(&capacity, &used) {
        return Some(dim.to_string());
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
    let removed: BTreeSet<&str> = plan
        .node_update
        .get(node_id)
        .into_iter()
        .flatten()
        .chain(planned)
        .map(|a| a.id.as_str())
        .collect();
    let proposed: Vec<&Allocation> = view
        .live_allocs_on_node(node_id)
        .filter(|a| !removed.contains(a.id.as_str()))
        .chain(planned.iter())
        .collect();
    allocs_fit(node, &proposed)
}

/// What of `plan` can be committed to `state` now. Nodes that no longer fit
/// (oversubscribed in any dimension incl. reserved resources, ports and
/// bandwidth, or gone, not ready, draining) are left out; an all-at-once
/// plan is then refused as a whole. `refresh_index` is set whenever
/// something was refused.
pub fn evaluate_plan(state: &ClusterState, plan: &Plan) -> PlanResult {
    let view = StateView::new(state);
    let mut result = PlanResult {
        deployment: plan.deployment.clone(),
        deployment_updates: plan.deployment_updates.clone(),
        ..Default::default()
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
                result.node_update.clear();
                result.node_allocation.clear();
                result.deployment_updates.clear();
                result.deployment = None;
                break;
            }
            continue;
        }
        if let Some(u) = plan.node_update.get(node_id).filter(|u| !u.is_empty()) {
            result.node_update.insert(node_id.clone(), u.clone());
        }
        if let Some(a) = plan.node_allocation.get(node_id).filter(|a| !a.is_empty()) {
            result.node_allocation.insert(node_id.clone(), a.clone());
        }
    }
    if partial {
        result.refresh_index = state
            .table_index(Table::Nodes)
            .max(state.table_index(Table::Allocs))
            .max(1);
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

#[cfg(test)]
mod tests;
