//! Plan results, client updates and node records.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::bookkeeping::AllocBatch;
use super::commands::AllocClientUpdate;
use super::index::id_order;
use super::writes::Txn;
use super::{ApplyError, Table};
use crate::model::{Allocation, Node, Resources, DEPLOYMENT_STATUS_SUCCESSFUL};
use crate::scheduler::plan::{NodeMap, Plan, PlanResult};
use crate::scheduler::{prefetch_ahead, ByNode};

/// For a plan that only places many fresh allocations (a system job on
/// thousands of nodes), the order of their IDs, in the order the batch
/// writes them: then their IDs were checked new to the table and to each
/// other, and the table can take them in one ordered merge. `None` for any
/// other plan (written one allocation at a time).
fn fresh_order(table: &BTreeMap<String, Arc<Allocation>>, lists: &[ByNode; 2]) -> Option<Vec<u32>> {
    /// Fewer are written one at a time.
    const MIN: usize = 64;
    let [updates, placed] = lists;
    if !updates.is_empty() {
        return None;
    }
    let mut ids = Vec::new();
    for a in placed.iter().flat_map(|(_, l)| l) {
        if a.create_index != 0 {
            return None;
        }
        ids.push(a.id.as_str());
    }
    if ids.len() < MIN {
        return None;
    }
    let order = id_order(&ids);
    let mut sorted = order.iter().map(|&i| ids[i as usize]);
    // Unique: no two neighbours in ID order are equal.
    if order
        .windows(2)
        .any(|w| ids[w[0] as usize] == ids[w[1] as usize])
    {
        return None;
    }
    // New to the table: one walk of it along the ordered IDs when they are
    // many next to it, else a search each.
    if ids.len() * 8 >= table.len() {
        let mut stored = table.keys().peekable();
        for id in sorted.by_ref() {
            while stored.next_if(|k| k.as_str() < id).is_some() {}
            if stored.peek().is_some_and(|k| k.as_str() == id) {
                return None;
            }
        }
    } else if sorted.any(|id| table.contains_key(id)) {
        return None;
    }
    Some(order)
}

/// Completes a planned allocation (its only holder is the plan): the job
/// it runs, and its combined resources.
fn complete(a: &mut Arc<Allocation>, job: &Option<Arc<crate::model::Job>>) {
    let a = Arc::make_mut(a);
    if a.job.is_none() && !a.terminal() {
        a.job = job.clone();
    }
    if a.resources.is_none() {
        let mut total = Resources::default();
        for r in a.task_resources.values() {
            total.add(r);
        }
        if let Some(shared) = &a.shared_resources {
            total.add(shared);
        }
        a.resources = Some(total);
    }
}

impl Txn<'_> {
    /// Re-checks `plan` against the current state (Nomad's plan applier)
    /// and commits what fits at one index. A no-op result writes nothing.
    /// The result's allocations are the stored ones (shared, not copied).
    pub fn apply_plan(&mut self, plan: Plan, now: i64) -> PlanResult {
        let job = plan.job.clone();
        let accepted = crate::scheduler::commit_plan(self.s, plan);
        let mut result = PlanResult {
            refresh_index: accepted.refresh_index,
            ..Default::default()
        };
        if accepted.is_no_op() {
            return result;
        }
        let index = self.next_index();
        if let Some(d) = &accepted.deployment {
            let mut d = d.clone();
            d.create_index = self
                .s
                .deployments
                .get(&d.id)
                .map_or(index, |e| e.create_index);
            d.modify_index = index;
            self.s.deployments.insert(d.id.clone(), Arc::new(d));
            self.touch(Table::Deployments, index);
        }
        for u in &accepted.deployment_updates {
            let Some(d) = self.s.deployments.get(&u.deployment_id) else {
                continue;
            };
            let mut d = (**d).clone();
            d.status = u.status.clone();
            d.status_description = u.status_description.clone();
            d.modify_index = index;
            let (job_id, version) = (d.job_id.clone(), d.job_version);
            self.s.deployments.insert(d.id.clone(), Arc::new(d));
            self.touch(Table::Deployments, index);
            if u.status == DEPLOYMENT_STATUS_SUCCESSFUL {
                self.update_job_stability(index, &job_id, version, true);
            }
        }
        result.deployment = accepted.deployment;
        result.deployment_updates = accepted.deployment_updates;
        let mut lists = [accepted.node_update, accepted.node_allocation];
        // Complete every allocation first (create times are decided by
        // `upsert_alloc`).
        for list in lists.iter_mut() {
            for i in 0..list.len() {
                prefetch_ahead(&list[i..]);
                for a in list[i].1.iter_mut() {
                    complete(a, &job);
                }
            }
        }
        let count = lists.iter().flatten().map(|(_, l)| l.len()).sum();
        let mut batch = AllocBatch::with_capacity(count);
        let deferred = fresh_order(&self.s.allocs, &lists);
        batch.defer_table = deferred.is_some();
        let [updates, placed] = lists;
        // The lists are in node order (the plan's maps handed them out so):
        // the result maps take them as they are.
        for (which, list) in [
            (&mut result.node_update, updates),
            (&mut result.node_allocation, placed),
        ] {
            *which = NodeMap::from_ordered({
                let mut rest = list.into_iter();
                let mut out = Vec::with_capacity(rest.len());
                loop {
                    prefetch_ahead(rest.as_slice());
                    let Some((node, allocs)) = rest.next() else {
                        break;
                    };
                    let stored = allocs
                        .into_iter()
                        .map(|a| self.upsert_alloc(index, now, &node, a, &mut batch))
                        .collect();
                    out.push((node, stored));
                }
                out
            });
        }
        if let Some(order) = deferred {
            self.store_deferred(&mut batch, &order);
        }
        let repeated = batch.repeated;
        self.finish_allocs(index, batch);
        if repeated {
            // An allocation written twice: hand back its last version
            // everywhere.
            for a in result
                .node_update
                .values_mut()
                .chain(result.node_allocation.values_mut())
                .flatten()
            {
                if let Some(last) = self.s.allocs.get(&a.id) {
                    *a = last.clone();
                }
            }
        }
        result.alloc_index = index;
        result
    }

    /// Client-reported allocation status (Nomad's
    /// `UpdateAllocsFromClient`); unknown allocations are skipped.
    pub fn update_allocs_from_client(&mut self, updates: Vec<AllocClientUpdate>) {
        let index = self.next_index();
        for u in updates {
            let Some(exist) = self.s.allocs.get(&u.alloc_id).cloned() else {
                continue;
            };
            let mut copy = (*exist).clone();
            copy.client_status = u.client_status;
            copy.client_description = u.client_description;
            copy.task_states = u.task_states;
            copy.deployment_status = u.deployment_status;
            copy.modify_index = index;
            if let Some(ds) = &mut copy.deployment_status {
                ds.modify_index = index;
            }
            self.update_deployment_with_alloc(index, &copy, Some(&exist));
            self.update_summary_with_alloc(index, &copy, Some(&exist));
            let force = if copy.terminal() {
                ""
            } else {
                crate::model::JOB_STATUS_RUNNING
            };
            let jobs = [(copy.job_id.clone(), force.to_string())]
                .into_iter()
                .collect();
            self.insert_alloc(copy);
            self.set_job_statuses(index, &jobs, false);
        }
        self.touch(Table::Allocs, index);
    }

    /// Registers a node or replaces its record (keeping its drain flag and
    /// create index).
    pub fn upsert_node(&mut self, mut node: Node) {
        let index = self.next_index();
        match self.s.nodes.get(&node.id) {
            Some(existing) => {
                node.create_index = existing.create_index;
                node.drain = existing.drain;
            }
            None => node.create_index = index,
        }
        node.modify_index = index;
        node.compute_class();
        self.s.nodes.insert(node.id.clone(), Arc::new(node));
        self.touch(Table::Nodes, index);
    }

    /// Changes one node's record.
    pub fn update_node(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut Node),
    ) -> Result<(), ApplyError> {
        let Some(existing) = self.s.nodes.get(id) else {
            return Err(ApplyError::new("node not found"));
        };
        let mut node = (**existing).clone();
        change(&mut node);
        let index = self.next_index();
        node.modify_index = index;
        self.s.nodes.insert(node.id.clone(), Arc::new(node));
        self.touch(Table::Nodes, index);
        Ok(())
    }
}
