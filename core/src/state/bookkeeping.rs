//! What Nomad's state store does on every write: job status, job versions,
//! job summaries (queued/starting/running… and children counts), blocked
//! evaluation cancellation and deployment counters.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::index::{index_by_node, list_mut, unindex, NodeGroups};
use super::writes::Txn;
use super::{key, key_ref, Table};
use crate::model::{
    Allocation, Evaluation, Job, JobSummary, TaskGroupSummary, ALLOC_CLIENT_COMPLETE,
    ALLOC_CLIENT_FAILED, ALLOC_CLIENT_LOST, ALLOC_CLIENT_PENDING, ALLOC_CLIENT_RUNNING,
    EVAL_STATUS_BLOCKED, EVAL_STATUS_CANCELED, EVAL_STATUS_COMPLETE, JOB_STATUS_DEAD,
    JOB_STATUS_PENDING, JOB_STATUS_RUNNING, JOB_TYPE_SYSTEM,
};

/// Versions kept per job.
pub const JOB_TRACKED_VERSIONS: usize = 6;

impl Txn<'_> {
    /// Nomad's `getJobStatus`.
    pub fn job_status(&self, job: &Job, eval_delete: bool) -> &'static str {
        let mut has_alloc = false;
        for a in self.s.allocs_by_job.get(&job.id).into_iter().flatten() {
            has_alloc = true;
            if !a.terminal() {
                return JOB_STATUS_RUNNING;
            }
        }
        let mut has_eval = false;
        for id in self.s.evals_by_job.get(&job.id).into_iter().flatten() {
            if let Some(e) = self.s.evals.get(id) {
                has_eval = true;
                if !e.terminal() {
                    return JOB_STATUS_PENDING;
                }
            }
        }
        if job.job_type == JOB_TYPE_SYSTEM {
            return if job.stop {
                JOB_STATUS_DEAD
            } else {
                JOB_STATUS_RUNNING
            };
        }
        if eval_delete || has_eval || has_alloc {
            return JOB_STATUS_DEAD;
        }
        if job.is_periodic() || job.is_parameterized() {
            return if job.stop {
                JOB_STATUS_DEAD
            } else {
                JOB_STATUS_RUNNING
            };
        }
        JOB_STATUS_PENDING
    }

    /// Nomad's `setJobStatus`: recompute (or force) the status of the
    /// current job `id`; on change write the job and move the parent's
    /// children count.
    pub fn set_job_status(&mut self, index: u64, id: &str, eval_delete: bool, force: &str) {
        let Some(job) = self.s.jobs.get(&key(id)).cloned() else {
            return;
        };
        let old = if index == job.create_index {
            ""
        } else {
            job.status.as_str()
        };
        let new = if force.is_empty() {
            self.job_status(&job, eval_delete)
        } else if force == JOB_STATUS_RUNNING {
            JOB_STATUS_RUNNING
        } else {
            self.job_status(&job, eval_delete)
        };
        if old == new {
            return;
        }
        let old = old.to_string();
        let mut updated = (*job).clone();
        updated.status = new.to_string();
        updated.modify_index = index;
        let parent = updated.parent_id.clone();
        self.s.jobs.insert(key(id), Arc::new(updated));
        self.status_moved(index, id, &parent, &old, new);
    }

    /// The bookkeeping of job `id`'s status moving from `old` to `new` at
    /// `index` (the job table already holds it): the job's watchers, and
    /// the children counts of its parent.
    fn status_moved(&mut self, index: u64, id: &str, parent: &str, old: &str, new: &str) {
        self.touch(Table::Jobs, index);
        self.touch_job(id);
        if !parent.is_empty() {
            if let Some(summary) = self.s.summaries.get_mut(&key(parent)) {
                let c = &mut summary.children;
                match old {
                    JOB_STATUS_PENDING => c.pending -= 1,
                    JOB_STATUS_RUNNING => c.running -= 1,
                    JOB_STATUS_DEAD => c.dead -= 1,
                    _ => {}
                }
                match new {
                    JOB_STATUS_PENDING => c.pending += 1,
                    JOB_STATUS_RUNNING => c.running += 1,
                    _ => c.dead += 1,
                }
                summary.modify_index = index;
                self.touch(Table::JobSummary, index);
                self.touch_job(parent);
            }
        }
    }

    /// Recomputes the status of every job in `jobs` (ID → forced status or
    /// `""`).
    pub fn set_job_statuses(
        &mut self,
        index: u64,
        jobs: &BTreeMap<String, String>,
        eval_delete: bool,
    ) {
        for (id, force) in jobs {
            self.set_job_status(index, id, eval_delete, force);
        }
    }

    /// Nomad's `upsertJobImpl`: write `job` as the current job at `index`.
    /// With `keep_version` the job's Version and JobModifyIndex are kept (a
    /// stability change); otherwise an existing job's version is bumped.
    pub fn upsert_job(&mut self, index: u64, mut job: Job, keep_version: bool) {
        crate::canonicalize(&mut job);
        let k = key(&job.id);
        let id = job.id.clone();
        if let Some(existing) = self.s.jobs.get(&k).cloned() {
            job.create_index = existing.create_index;
            job.modify_index = index;
            if !keep_version {
                job.job_modify_index = index;
                job.version = existing.version + 1;
            }
            job.status = self.job_status(&job, false).to_string();
            self.s.jobs.insert(k.clone(), Arc::new(job));
        } else {
            job.create_index = index;
            job.modify_index = index;
            job.job_modify_index = index;
            job.version = 0;
            // The status is computed as a transition from "" (creation),
            // as `set_job_status` would on the job written with none.
            let status = self.job_status(&job, false);
            job.status = status.to_string();
            let parent = job.parent_id.clone();
            self.s.jobs.insert(k.clone(), Arc::new(job));
            self.status_moved(index, &id, &parent, "", status);
        }
        let job = self.s.jobs.get(&k).cloned().expect("job was just inserted");
        self.update_summary_with_job(index, &job);
        self.upsert_job_version(index, job);
        self.touch(Table::Jobs, index);
        self.touch_job(&id);
    }

    fn update_summary_with_job(&mut self, index: u64, job: &Job) {
        let k = key(&job.id);
        let mut changed = false;
        let summary = self.s.summaries.entry(k).or_insert_with(|| {
            changed = true;
            JobSummary {
                job_id: job.id.clone(),
                create_index: index,
                ..Default::default()
            }
        });
        for tg in &job.task_groups {
            if !summary.summary.contains_key(&tg.name) {
                summary
                    .summary
                    .insert(tg.name.clone(), TaskGroupSummary::default());
                changed = true;
            }
        }
        if changed {
            summary.modify_index = index;
            self.touch(Table::JobSummary, index);
        }
    }

    fn upsert_job_version(&mut self, index: u64, job: Arc<Job>) {
        let versions = self.s.job_versions.entry(key(&job.id)).or_default();
        versions.retain(|v| !(v.id == job.id && v.version == job.version));
        versions.push(job);
        versions.sort_by_key(|v| std::cmp::Reverse(v.version));
        if versions.len() > JOB_TRACKED_VERSIONS {
            // The newest stable version survives one more round when it is
            // the one about to be dropped.
            let max = JOB_TRACKED_VERSIONS;
            let stable = versions.iter().position(|v| v.stable);
            if stable == Some(max) {
                versions.swap(max - 1, max);
            }
            versions.remove(max);
        }
        self.touch(Table::JobVersions, index);
    }

    /// Nomad's `DeleteJob` (purge): the job, its versions and its summary;
    /// a child moves to `Dead` in its parent's summary.
    pub fn delete_job(&mut self, index: u64, id: &str) {
        let k = key(id);
        let Some(job) = self.s.jobs.remove(&k) else {
            return;
        };
        if !job.parent_id.is_empty() {
            if let Some(p) = self.s.summaries.get_mut(&key(&job.parent_id)) {
                let moved = match job.status.as_str() {
                    JOB_STATUS_PENDING => {
                        p.children.pending -= 1;
                        true
                    }
                    JOB_STATUS_RUNNING => {
                        p.children.running -= 1;
                        true
                    }
                    _ => false,
                };
                if moved {
                    p.children.dead += 1;
                    p.modify_index = index;
                    self.touch_job(&job.parent_id);
                }
            }
        }
        self.touch(Table::Jobs, index);
        self.s.job_versions.remove(&k);
        self.touch(Table::JobVersions, index);
        self.s.summaries.remove(&k);
        self.touch(Table::JobSummary, index);
        self.touch_job(id);
    }

    /// Nomad's `UpsertEvals` at `index`.
    pub fn upsert_evals(&mut self, index: u64, evals: Vec<Evaluation>) {
        let mut jobs = BTreeMap::new();
        for eval in evals {
            jobs.insert(eval.job_id.clone(), String::new());
            self.nested_upsert_eval(index, eval);
        }
        self.touch(Table::Evals, index);
        self.set_job_statuses(index, &jobs, false);
    }

    fn nested_upsert_eval(&mut self, index: u64, mut eval: Evaluation) {
        match self.s.evals.get(&eval.id) {
            Some(existing) => {
                eval.create_index = existing.create_index;
                eval.modify_index = index;
            }
            None => {
                eval.create_index = index;
                eval.modify_index = index;
            }
        }
        if let (Some(queued), Some(js)) = (
            &eval.queued_allocations,
            self.s.summaries.get_mut(&key(&eval.job_id)),
        ) {
            let mut changed = false;
            for (tg, num) in queued {
                if let Some(s) = js.summary.get_mut(tg) {
                    if s.queued != *num {
                        s.queued = *num;
                        changed = true;
                    }
                }
            }
            if changed {
                js.modify_index = index;
                self.touch(Table::JobSummary, index);
            }
        }
        if eval.status == EVAL_STATUS_COMPLETE && eval.failed_tg_allocs.is_empty() {
            let blocked: Vec<String> = self
                .s
                .evals_by_job
                .get(&eval.job_id)
                .into_iter()
                .flatten()
                .filter(|id| {
                    self.s
                        .evals
                        .get(*id)
                        .is_some_and(|e| e.status == EVAL_STATUS_BLOCKED)
                })
                .cloned()
                .collect();
            for id in blocked {
                if let Some(b) = self.s.evals.get(&id) {
                    let mut b = (**b).clone();
                    b.status = EVAL_STATUS_CANCELED.into();
                    b.status_description =
                        format!("evaluation {} successful", crate::gofmt::quote(&b.id));
                    b.modify_index = index;
                    self.s.evals.insert(id, Arc::new(b));
                }
            }
        }
        self.s
            .evals_by_job
            .entry(eval.job_id.clone())
            .or_default()
            .insert(eval.id.clone());
        self.touch_job(&eval.job_id);
        self.s.evals.insert(eval.id.clone(), Arc::new(eval));
    }

    /// Nomad's `upsertAllocsImpl` for one allocation of a committed plan;
    /// returns it as stored: the plan's allocation itself, completed in
    /// place when the plan is its only holder. [`Txn::finish_allocs`]
    /// completes the batch. Without a create time, a fresh placement (no
    /// create index) or an allocation the table does not hold is created
    /// `now`, and a stored one keeps its time: found by the one lookup the
    /// write makes anyway. `node` is its node's ID (the plan's key for it).
    pub fn upsert_alloc(
        &mut self,
        index: u64,
        now: i64,
        node: &str,
        mut stored: Arc<Allocation>,
        batch: &mut AllocBatch,
    ) -> Arc<Allocation> {
        let alloc = Arc::make_mut(&mut stored);
        let fresh = alloc.create_index == 0;
        // One lookup in the table: an existing version is swapped in place,
        // a new one goes into the vacant entry the lookup found. A fresh
        // placement (no create index yet) is looked up by an owned copy of
        // its ID, which becomes the table's key; an allocation read from the
        // state (stop, in-place update) is looked up by reference, so its
        // ID is copied only in the rare case that it is not stored.
        // A batch whose fresh IDs are known new (see
        // [`AllocBatch::defer_table`]) skips the table until it is done.
        let slot = if fresh && batch.defer_table {
            Err(Vacancy::Deferred)
        } else if fresh {
            match self.s.allocs.entry(alloc.id.clone()) {
                Entry::Vacant(v) => Err(Vacancy::Entry(v)),
                Entry::Occupied(o) => Ok(o.into_mut()),
            }
        } else {
            self.s.allocs.get_mut(&alloc.id).ok_or(Vacancy::Insert)
        };
        let (existing, stored) = match slot {
            Err(vacant) => {
                if alloc.create_time == 0 {
                    alloc.create_time = now;
                }
                alloc.create_index = index;
                alloc.modify_index = index;
                alloc.alloc_modify_index = index;
                if let Some(ds) = &mut alloc.deployment_status {
                    ds.modify_index = index;
                }
                match vacant {
                    Vacancy::Entry(v) => {
                        v.insert(stored.clone());
                    }
                    Vacancy::Insert => {
                        self.s.allocs.insert(stored.id.clone(), stored.clone());
                    }
                    // Stored by `store_deferred`, once the batch is done.
                    Vacancy::Deferred => {}
                }
                (None, stored)
            }
            Ok(slot) => {
                let exist = &**slot;
                alloc.create_index = exist.create_index;
                alloc.modify_index = index;
                alloc.alloc_modify_index = index;
                alloc.task_states = exist.task_states.clone();
                if alloc.client_status != ALLOC_CLIENT_LOST {
                    // Reuses the planned version's buffers (mostly the
                    // same short words).
                    alloc.client_status.clone_from(&exist.client_status);
                    alloc
                        .client_description
                        .clone_from(&exist.client_description);
                }
                if alloc.job.is_none() {
                    alloc.job = exist.job.clone();
                }
                if alloc.create_time == 0 {
                    // A fresh placement is new whatever the table holds
                    // under its ID (a plan naming one ID twice).
                    alloc.create_time = if fresh { now } else { exist.create_time };
                }
                let old = std::mem::replace(slot, stored.clone());
                (Some(old), stored)
            }
        };
        self.update_deployment_with_alloc(index, &stored, existing.as_deref());
        self.update_summary_with_alloc(index, &stored, existing.as_deref());
        let force = if stored.terminal() {
            ""
        } else {
            JOB_STATUS_RUNNING
        };
        batch.job(&stored.job_id, force);
        match existing {
            None => {
                batch.index_on_node(node, stored.clone());
                batch.new.push(stored.clone());
            }
            Some(old) => {
                // Written earlier in this batch: possibly not indexed yet.
                if old.modify_index == index {
                    batch.repeated = true;
                    // Replacing it must see every earlier allocation of the
                    // batch on its node, as one at a time would.
                    index_by_node(
                        &mut self.s.allocs_by_node,
                        std::mem::take(&mut batch.on_node),
                    );
                }
                self.reindex_alloc(&old, &stored, Some(batch));
            }
        }
        stored
    }

    /// Stores the allocations a batch with [`AllocBatch::defer_table`]
    /// kept out of the table: `order` puts the batch's new allocations (all
    /// of them fresh, IDs new to the table and to each other) in ID order,
    /// and the table takes them in one ordered merge when they are many
    /// next to it. They stay in ID order in the batch.
    pub fn store_deferred(&mut self, batch: &mut AllocBatch, order: &[u32]) {
        let sorted: Vec<Arc<Allocation>> = order
            .iter()
            .map(|&i| batch.new[i as usize].clone())
            .collect();
        // An ordered merge rebuilds the whole table: worth it when the
        // batch is not much smaller than the table (a search costs about as
        // much as moving 8 entries).
        if sorted.len() * 8 >= self.s.allocs.len() {
            let mut add: BTreeMap<String, Arc<Allocation>> =
                sorted.iter().map(|a| (a.id.clone(), a.clone())).collect();
            self.s.allocs.append(&mut add);
        } else {
            for a in &sorted {
                self.s.allocs.insert(a.id.clone(), a.clone());
            }
        }
        batch.new = sorted;
        batch.new_in_id_order = true;
    }

    /// Indexes the batch's new allocations by job, then records the writes
    /// and recomputes the status of every job the batch touched (once per
    /// job, after every allocation is stored).
    pub fn finish_allocs(&mut self, index: u64, mut batch: AllocBatch) {
        index_by_node(&mut self.s.allocs_by_node, batch.on_node);
        if batch.new.is_empty() {
            // Nothing new to index by job.
        } else if let [(job_id, _)] = batch.jobs.as_slice() {
            // The usual batch, one job's plan: every allocation it wrote is
            // of that job, so none is read for its job ID, and the new ones
            // are merged as they are, not copied.
            let list = list_mut(&mut self.s.allocs_by_job, job_id);
            if batch.new_in_id_order {
                list.merge_new_in_order(batch.new);
            } else {
                list.merge_new(batch.new);
            }
        } else {
            batch.new.sort_by(|a, b| a.job_id.cmp(&b.job_id));
            for group in batch.new.chunk_by(|a, b| a.job_id == b.job_id) {
                list_mut(&mut self.s.allocs_by_job, &group[0].job_id).merge_new(group.to_vec());
            }
        }
        let mut jobs = BTreeMap::new();
        for (id, force) in batch.jobs {
            self.touch_job(&id);
            jobs.insert(id, force.to_string());
        }
        self.touch(Table::Allocs, index);
        self.set_job_statuses(index, &jobs, false);
    }

    /// Stores a new version of an allocation outside a batch (client
    /// updates).
    pub fn insert_alloc(&mut self, alloc: Allocation) {
        self.touch_job(&alloc.job_id);
        let stored = Arc::new(alloc);
        match self.s.allocs.get(&stored.id).cloned() {
            Some(old) => self.replace_alloc(&old, &stored, None),
            None => {
                self.s.allocs.insert(stored.id.clone(), stored.clone());
                list_mut(&mut self.s.allocs_by_node, &stored.node_id).upsert(&stored);
                list_mut(&mut self.s.allocs_by_job, &stored.job_id).upsert(&stored);
            }
        }
    }

    /// Puts `new` in place of `old` (same ID) in the table and both
    /// indexes.
    fn replace_alloc(
        &mut self,
        old: &Allocation,
        new: &Arc<Allocation>,
        batch: Option<&mut AllocBatch>,
    ) {
        if let Some(slot) = self.s.allocs.get_mut(&new.id) {
            *slot = new.clone();
        }
        self.reindex_alloc(old, new, batch);
    }

    /// Puts `new` in place of `old` (same ID) in both indexes. Should the
    /// job or node ID change, the old list keeps the allocation too (as an
    /// index of IDs would), in its new version.
    fn reindex_alloc(
        &mut self,
        old: &Allocation,
        new: &Arc<Allocation>,
        batch: Option<&mut AllocBatch>,
    ) {
        // Moved to another node or job (only a plan naming a stored ID on
        // another node does that): it leaves the old key's list, as an
        // index on the stored field would.
        if old.node_id != new.node_id {
            unindex(&mut self.s.allocs_by_node, &old.node_id, &old.id);
        }
        // The usual case (same node, same job, indexed already) costs one
        // index lookup each.
        let on_node = self
            .s
            .allocs_by_node
            .get_mut(&new.node_id)
            .is_some_and(|list| list.replace(new));
        if !on_node {
            list_mut(&mut self.s.allocs_by_node, &new.node_id).upsert(new);
        }
        if old.job_id != new.job_id {
            unindex(&mut self.s.allocs_by_job, &old.job_id, &old.id);
        }
        let of_job = self
            .s
            .allocs_by_job
            .get_mut(&new.job_id)
            .is_some_and(|list| list.replace(new));
        if !of_job {
            match batch {
                // New in this batch: still waiting to be indexed by job.
                Some(b) => b.stage_new(new),
                None => list_mut(&mut self.s.allocs_by_job, &new.job_id).upsert(new),
            }
        }
    }

    /// Nomad's `updateSummaryWithAlloc`.
    pub fn update_summary_with_alloc(
        &mut self,
        index: u64,
        alloc: &Allocation,
        existing: Option<&Allocation>,
    ) {
        // A rewrite of a stored allocation counts only if its client
        // status changes: the usual one looks nothing up.
        if existing.is_some_and(|old| old.client_status == alloc.client_status) {
            return;
        }
        let Some(job) = &alloc.job else {
            return;
        };
        let Some(js) = self.s.summaries.get_mut(key_ref(&alloc.job_id).as_ref()) else {
            return;
        };
        if js.create_index != job.create_index {
            return;
        }
        let Some(tg) = js.summary.get_mut(&alloc.task_group) else {
            return;
        };
        let mut changed = false;
        match existing {
            None => {
                if alloc.client_status == ALLOC_CLIENT_PENDING {
                    tg.starting += 1;
                    if tg.queued > 0 {
                        tg.queued -= 1;
                    }
                    changed = true;
                }
            }
            Some(old) if old.client_status != alloc.client_status => {
                match alloc.client_status.as_str() {
                    ALLOC_CLIENT_RUNNING => tg.running += 1,
                    ALLOC_CLIENT_FAILED => tg.failed += 1,
                    ALLOC_CLIENT_PENDING => tg.starting += 1,
                    ALLOC_CLIENT_COMPLETE => tg.complete += 1,
                    ALLOC_CLIENT_LOST => tg.lost += 1,
                    _ => {}
                }
                match old.client_status.as_str() {
                    ALLOC_CLIENT_RUNNING => tg.running -= 1,
                    ALLOC_CLIENT_PENDING => tg.starting -= 1,
                    ALLOC_CLIENT_LOST => tg.lost -= 1,
                    _ => {}
                }
                changed = true;
            }
            Some(_) => {}
        }
        if changed {
            js.modify_index = index;
            self.touch(Table::JobSummary, index);
        }
    }

    /// Nomad's `updateDeploymentWithAlloc`: placement and health counters.
    pub fn update_deployment_with_alloc(
        &mut self,
        index: u64,
        alloc: &Allocation,
        existing: Option<&Allocation>,
    ) {
        if alloc.deployment_id.is_empty() {
            return;
        }
        let Some(d) = self.s.deployments.get_mut(&alloc.deployment_id) else {
            return;
        };
        if !d.task_groups.contains_key(&alloc.task_group) {
            return;
        }
        let health = |a: &Allocation| a.deployment_status.as_ref().and_then(|s| s.healthy);
        let (mut placed, mut healthy, mut unhealthy) = (0, 0, 0);
        let new_health = health(alloc);
        let fresh = existing.is_none_or(|e| e.deployment_id != alloc.deployment_id);
        if fresh {
            placed += 1;
        }
        if fresh || existing.and_then(health).is_none() {
            match new_health {
                Some(true) => healthy += 1,
                Some(false) => unhealthy += 1,
                None => {}
            }
        }
        if placed == 0 && healthy == 0 && unhealthy == 0 {
            return;
        }
        // Copied only if a snapshot still shares it.
        let d = Arc::make_mut(d);
        d.modify_index = index;
        if let Some(state) = d.task_groups.get_mut(&alloc.task_group) {
            state.placed_allocs += placed;
            state.healthy_allocs += healthy;
            state.unhealthy_allocs += unhealthy;
        }
        self.touch(Table::Deployments, index);
    }
}

/// Allocations committed at one index, and what is left to do once they
/// are all stored.
#[derive(Debug, Default)]
pub(crate) struct AllocBatch {
    /// Job ID → forced status (`""` or running) of its last allocation.
    jobs: Vec<(String, &'static str)>,
    /// New allocations, to index by job in one merge.
    new: Vec<Arc<Allocation>>,
    /// New allocations not indexed by node yet (IDs new to the table),
    /// by node.
    on_node: NodeGroups,
    /// Some allocation was written twice.
    pub repeated: bool,
    /// `new` is in ID order (set by [`Txn::store_deferred`]).
    new_in_id_order: bool,
    /// Fresh allocations are not stored in the table one by one but by
    /// [`Txn::store_deferred`] after the batch. Only for batches of fresh
    /// allocations whose IDs are new to the table and to each other: no
    /// write of the batch then looks up another one in the table.
    pub defer_table: bool,
}

/// Where a write of an allocation that is not in the table goes.
enum Vacancy<'t> {
    /// The table's entry for its ID, found by the lookup.
    Entry(std::collections::btree_map::VacantEntry<'t, String, Arc<Allocation>>),
    /// Into the table, by a new search.
    Insert,
    /// Nowhere yet (see [`AllocBatch::defer_table`]).
    Deferred,
}

impl AllocBatch {
    /// A batch with room for `allocs` allocations (a system plan commits
    /// thousands: its lists are sized once, not regrown).
    pub fn with_capacity(allocs: usize) -> Self {
        AllocBatch {
            new: Vec::with_capacity(allocs),
            on_node: Vec::with_capacity(allocs),
            ..Default::default()
        }
    }

    /// Queues `alloc`, new on `node`, for the index by node: `node` is the
    /// key of the plan's list it came in, which names its node ID in every
    /// plan the core makes. One that does not (a plugin's plan) is indexed
    /// under its own node ID, as its record says.
    fn index_on_node(&mut self, node: &str, alloc: Arc<Allocation>) {
        if alloc.node_id != node {
            let own = alloc.node_id.clone();
            self.on_node.push((own, vec![alloc]));
            return;
        }
        match self.on_node.last_mut() {
            Some((key, list)) if key == node => list.push(alloc),
            _ => self.on_node.push((node.to_string(), vec![alloc])),
        }
    }

    fn job(&mut self, id: &str, force: &'static str) {
        match self.jobs.iter_mut().rev().find(|(j, _)| j == id) {
            Some(entry) => entry.1 = force,
            None => self.jobs.push((id.to_string(), force)),
        }
    }

    /// Queues `alloc` for the job index, replacing a queued earlier
    /// version of it.
    fn stage_new(&mut self, alloc: &Arc<Allocation>) {
        match self.new.iter_mut().rev().find(|a| a.id == alloc.id) {
            Some(queued) => *queued = alloc.clone(),
            None => self.new.push(alloc.clone()),
        }
    }
}
