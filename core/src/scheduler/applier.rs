//! The plan applier's check (Nomad's `evaluatePlan`): which nodes of a
//! plan still fit the current state. Refused nodes are dropped (or the whole
//! plan, if it is all-at-once) and the scheduler is told to refresh.

use std::collections::{btree_map, BTreeMap, BTreeSet};
use std::iter::Peekable;
use std::sync::Arc;

use crate::model::{Allocation, Deployment, Node, NODE_STATUS_READY};
use crate::prefetch;
use crate::scheduler::context::{alloc_networks, NodeFit, Usage};
use crate::scheduler::network::NetworkIndex;
use crate::scheduler::plan::{DeploymentStatusUpdate, NodeMap, Plan, PlanResult};
use crate::state::{AllocList, ClusterState, Table};

/// Nomad's `AllocsFit` with a fresh network index: the first reason the
/// allocations do not fit on `node`, if any.
pub(crate) fn allocs_fit(node: &Node, allocs: &[&Allocation]) -> Option<String> {
    let fit = NodeFit::of(node);
    let mut used = fit.reserved;
    let mut networks = fit.reserved_networks;
    for a in allocs {
        // Borrowed, not copied: a plan for thousands of nodes judges one
        // allocation per node, and copying its networks into a list would
        // cost a list per node.
        networks |= alloc_networks(a).next().is_some();
        used.add(Usage::of_alloc(a));
    }
    if let Some(dim) = Usage::exceeded_dimension(&fit.capacity, &used) {
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

/// Why the allocations `planned` for a node (with `updates` planned there
/// too) cannot be committed; `node` and `on_node` are the node and its
/// allocations in the state. `proposed` is scratch space, reused from node
/// to node so that judging a plan for thousands of nodes allocates no list
/// per node.
fn refuse_node<'p>(
    node: Option<&Node>,
    on_node: Option<&'p AllocList>,
    updates: &[Arc<Allocation>],
    planned: &'p [Arc<Allocation>],
    proposed: &mut Vec<&'p Allocation>,
) -> Option<String> {
    if planned.is_empty() {
        return None;
    }
    let Some(node) = node else {
        return Some("node does not exist".into());
    };
    if node.status != NODE_STATUS_READY {
        return Some("node is not ready for placements".into());
    }
    if node.drain {
        return Some("node is draining".into());
    }
    let mut live = on_node
        .into_iter()
        .flatten()
        .map(|a| &**a)
        .filter(|a| !a.terminal())
        .peekable();
    proposed.clear();
    if live.peek().is_some() {
        let changed = updates.len() + planned.len();
        if changed <= 8 {
            // The usual few: compared in place, nothing allocated.
            let removed = |a: &Allocation| updates.iter().chain(planned).any(|p| p.id == a.id);
            proposed.extend(live.filter(|a| !removed(a)));
        } else {
            let mut removed: Vec<&str> = updates
                .iter()
                .chain(planned)
                .map(|a| a.id.as_str())
                .collect();
            removed.sort_unstable();
            proposed.extend(live.filter(|a| removed.binary_search(&a.id.as_str()).is_err()));
        }
    }
    proposed.extend(planned.iter().map(|a| &**a));
    allocs_fit(node, proposed)
}

/// Lookups in a map by ascending keys: one walk of the map when most of it
/// will be asked for (a plan for every node), else a search per key.
struct AscendingLookup<'m, V> {
    map: &'m BTreeMap<String, V>,
    walk: Option<Peekable<prefetch::Ahead<btree_map::Iter<'m, String, V>>>>,
}

/// What a walk asks for of an entry ahead of it.
type Ask<'m, V> = fn(&(&'m String, &'m V));

impl<'m, V> AscendingLookup<'m, V> {
    /// A walk asks for the entries ahead of it: their values' lines with
    /// `far`, then what those point to (and the keys' text) with `near`.
    fn new(map: &'m BTreeMap<String, V>, keys: usize, far: Ask<'m, V>, near: Ask<'m, V>) -> Self {
        // A search costs about as much as stepping over 8 entries.
        let walk =
            (keys * 8 >= map.len()).then(|| prefetch::Ahead::new(map.iter(), far, near).peekable());
        AscendingLookup { map, walk }
    }

    /// The value of `key`, which must be greater than the last key asked.
    fn get(&mut self, key: &str) -> Option<&'m V> {
        let Some(walk) = self.walk.as_mut() else {
            return self.map.get(key);
        };
        // One comparison per entry stepped over or found.
        while let Some((k, v)) = walk.peek() {
            match k.as_str().cmp(key) {
                std::cmp::Ordering::Less => {
                    walk.next();
                }
                std::cmp::Ordering::Equal => return Some(*v),
                std::cmp::Ordering::Greater => return None,
            }
        }
        None
    }
}

/// A node entry's record, ahead of a walk ...
fn node_entry(entry: &(&String, &Arc<Node>)) {
    prefetch::node(&&**entry.1);
}

/// ... and its key's text and the node's strings.
fn node_entry_strings(entry: &(&String, &Arc<Node>)) {
    key_text(entry);
    prefetch::node_strings(&&**entry.1);
}

/// An entry's key text, ahead of a walk.
fn key_text<V>(entry: &(&String, &V)) {
    prefetch::line(entry.0.as_ptr());
}

/// For a walk over `rest` (node → allocations, the first being the one at
/// hand) through allocations written long before (a whole pass of them):
/// asks for their lines a few nodes ahead, and for the heap objects they
/// point to once those lines are in, so that the misses overlap.
pub(crate) fn prefetch_ahead(rest: &[(String, Vec<Arc<Allocation>>)]) {
    if let Some((_, far)) = rest.get(prefetch::AHEAD) {
        far.iter().for_each(prefetch_alloc);
    }
    if let Some((_, near)) = rest.get(prefetch::AHEAD / 2) {
        near.iter().for_each(prefetch_alloc_heap);
    }
}

/// Asks for the lines of an allocation (with its reference counts).
fn prefetch_alloc(a: &Arc<Allocation>) {
    prefetch::counts(a);
    prefetch::object(&**a);
}

/// Asks for the heap objects the applier and the commit read of an
/// allocation: its strings and its task resources.
fn prefetch_alloc_heap(a: &Arc<Allocation>) {
    for s in [
        &a.id,
        &a.job_id,
        &a.task_group,
        &a.desired_status,
        &a.client_status,
        &a.node_id,
        &a.eval_id,
    ] {
        prefetch::line(s.as_ptr());
    }
    if let Some((k, r)) = a.task_resources.first_key_value() {
        prefetch::line(k.as_ptr());
        prefetch::line(r);
    }
}

/// Node → allocations, in node order.
pub(crate) type ByNode = Vec<(String, Vec<Arc<Allocation>>)>;

/// What the applier accepted of a plan, before it is committed.
#[derive(Debug, Default)]
pub(crate) struct Accepted {
    pub node_update: ByNode,
    pub node_allocation: ByNode,
    pub deployment: Option<Deployment>,
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// Non-zero when something was refused.
    pub refresh_index: u64,
}

impl Accepted {
    pub fn is_no_op(&self) -> bool {
        self.node_update.is_empty()
            && self.node_allocation.is_empty()
            && self.deployment.is_none()
            && self.deployment_updates.is_empty()
    }

    /// The result as reported for a plan that is not committed.
    fn into_result(self) -> PlanResult {
        PlanResult {
            node_update: self.node_update.into_iter().collect(),
            node_allocation: self.node_allocation.into_iter().collect(),
            deployment: self.deployment,
            deployment_updates: self.deployment_updates,
            refresh_index: self.refresh_index,
            alloc_index: 0,
        }
    }
}

/// Judges every node of the plan and keeps the accepted nodes'
/// allocations (consumed).
fn decide(
    state: &ClusterState,
    all_at_once: bool,
    updates: ByNode,
    placed: ByNode,
    deployment: Option<Deployment>,
    deployment_updates: Vec<DeploymentStatusUpdate>,
) -> Accepted {
    let mut nodes =
        AscendingLookup::new(&state.nodes, placed.len(), node_entry, node_entry_strings);
    let mut on_nodes = AscendingLookup::new(&state.allocs_by_node, placed.len(), |_| {}, key_text);
    let (mut ok_updates, mut ok_placed) = (vec![true; updates.len()], vec![true; placed.len()]);
    let (mut i, mut j) = (0, 0);
    let mut refused = false;
    let mut proposed = Vec::new();
    // Both lists are sorted by node: walk their union once.
    while i < updates.len() || j < placed.len() {
        // The next node of either list, and where it is in each (one
        // comparison of node IDs per step).
        let (ui, pj) = match (updates.get(i), placed.get(j)) {
            (Some(u), Some(p)) => match u.0.cmp(&p.0) {
                std::cmp::Ordering::Less => (Some(i), None),
                std::cmp::Ordering::Equal => (Some(i), Some(j)),
                std::cmp::Ordering::Greater => (None, Some(j)),
            },
            (Some(_), None) => (Some(i), None),
            (None, Some(_)) => (None, Some(j)),
            (None, None) => break,
        };
        let node = match pj {
            Some(j) => placed[j].0.as_str(),
            None => updates[i].0.as_str(),
        };
        if let Some(j) = pj {
            prefetch_ahead(&placed[j..]);
        }
        let ups = ui.map_or(&[][..], |i| &updates[i].1[..]);
        let pls = pj.map_or(&[][..], |j| &placed[j].1[..]);
        let refused_here = !pls.is_empty()
            && refuse_node(
                nodes.get(node).map(|n| &**n),
                on_nodes.get(node),
                ups,
                pls,
                &mut proposed,
            )
            .is_some();
        if refused_here {
            refused = true;
            if let Some(i) = ui {
                ok_updates[i] = false;
            }
            if let Some(j) = pj {
                ok_placed[j] = false;
            }
            if all_at_once {
                break;
            }
        }
        i += usize::from(ui.is_some());
        j += usize::from(pj.is_some());
    }
    let mut out = Accepted::default();
    if refused {
        out.refresh_index = state
            .table_index(Table::Nodes)
            .max(state.table_index(Table::Allocs))
            .max(1);
        if all_at_once {
            return out;
        }
    }
    let keep = |list: ByNode, ok: Vec<bool>| -> ByNode {
        list.into_iter()
            .zip(ok)
            .filter(|((_, allocs), ok)| *ok && !allocs.is_empty())
            .map(|(entry, _)| entry)
            .collect()
    };
    out.node_update = keep(updates, ok_updates);
    out.node_allocation = keep(placed, ok_placed);
    out.deployment = deployment;
    out.deployment_updates = deployment_updates;
    if refused {
        // Canaries that were not placed must not be recorded as placed.
        if let Some(d) = out.deployment.as_mut() {
            let placed: BTreeSet<&str> = out
                .node_allocation
                .iter()
                .flat_map(|(_, l)| l.iter())
                .map(|a| a.id.as_str())
                .collect();
            for s in d.task_groups.values_mut() {
                s.placed_canaries.retain(|id| placed.contains(id.as_str()));
            }
        }
    }
    out
}

/// What of `plan` can be committed to `state` now. Nodes that no longer fit
/// (oversubscribed in any dimension incl. reserved resources, ports and
/// bandwidth, or gone, not ready, draining) are left out; an all-at-once
/// plan is then refused as a whole. `refresh_index` is set whenever
/// something was refused.
pub fn evaluate_plan(state: &ClusterState, plan: &Plan) -> PlanResult {
    let copy = |m: &NodeMap<Vec<Arc<Allocation>>>| -> ByNode {
        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    decide(
        state,
        plan.all_at_once,
        copy(&plan.node_update),
        copy(&plan.node_allocation),
        plan.deployment.clone(),
        plan.deployment_updates.clone(),
    )
    .into_result()
}

/// [`evaluate_plan`] for a plan about to be committed: the accepted
/// allocations are moved out of the plan.
pub(crate) fn commit_plan(state: &ClusterState, plan: Plan) -> Accepted {
    decide(
        state,
        plan.all_at_once,
        plan.node_update.into_vec(),
        plan.node_allocation.into_vec(),
        plan.deployment,
        plan.deployment_updates,
    )
}

#[cfg(test)]
mod tests;
