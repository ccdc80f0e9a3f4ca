//! The allocation reconciler of the generic scheduler (Nomad's
//! `reconcile.go`): per task group, which allocations to stop, migrate,
//! update in place or destructively, and what to place, under the rolling
//! limit, canaries and the job's deployment.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::gofmt::push_decimal;
use crate::model::{
    Allocation, Deployment, DeploymentState, Job, Node, TaskGroup, ALLOC_CLIENT_LOST,
    DEPLOYMENT_STATUS_CANCELLED, DEPLOYMENT_STATUS_FAILED, DEPLOYMENT_STATUS_PAUSED,
    DEPLOYMENT_STATUS_RUNNING, DEPLOYMENT_STATUS_SUCCESSFUL, JOB_TYPE_BATCH,
};
use crate::scheduler::plan::{DeploymentStatusUpdate, DesiredUpdates};
use crate::scheduler::rng::Rng;
use index_set::IndexSet;

pub(crate) const ALLOC_NOT_NEEDED: &str = "alloc not needed due to job update";
pub(crate) const ALLOC_MIGRATING: &str = "alloc is being migrated";
pub(crate) const ALLOC_UPDATING: &str = "alloc is being updated due to job update";
pub(crate) const ALLOC_LOST: &str = "alloc is lost since its node is down";
pub(crate) const ALLOC_IN_PLACE: &str = "alloc updating in-place";
pub(crate) const ALLOC_NODE_TAINTED: &str = "alloc not needed as node is tainted";

const DESC_RUNNING: &str = "Deployment is running";
const DESC_NEEDS_PROMOTION: &str = "Deployment is running but requires promotion";
const DESC_SUCCESSFUL: &str = "Deployment completed successfully";
const DESC_STOPPED_JOB: &str = "Cancelled because job is stopped";
const DESC_NEWER_JOB: &str = "Cancelled due to newer version of job";

/// How an existing allocation meets a new job version.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AllocUpdate {
    /// Nothing to do.
    Ignore,
    /// Stop and replace.
    Destructive,
    /// Its new version (same ID, node and networks).
    InPlace(Arc<Allocation>),
}

/// An allocation to place; with `stop_previous`, a destructive update whose
/// old allocation is stopped only if the replacement is placed.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    pub name: PlacementName,
    /// Index into the job's task groups.
    pub group: usize,
    pub canary: bool,
    pub previous: Option<Arc<Allocation>>,
    pub stop_previous: Option<&'static str>,
}

/// The name of a placement's allocation: copied from the allocation it
/// replaces, or picked by the group's name index and spelled out only when
/// the placement is made (the placements of a group that failed to place
/// are coalesced and never build theirs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlacementName {
    Given(String),
    /// `<job>.<group>[i]`, of the evaluated job ID and the group's name.
    Index(u64),
}

impl PlacementName {
    pub fn build(self, job_id: &str, group: &str) -> String {
        match self {
            PlacementName::Given(name) => name,
            PlacementName::Index(i) => alloc_name(job_id, group, i),
        }
    }
}

/// A planned stop.
#[derive(Debug, Clone)]
pub(crate) struct Stop {
    pub alloc: Arc<Allocation>,
    pub client_status: &'static str,
    pub description: &'static str,
}

/// What the scheduler should do.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReconcileResults {
    /// A deployment created by this evaluation.
    pub deployment: Option<Deployment>,
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    pub place: Vec<Placement>,
    pub destructive: Vec<Placement>,
    /// Shared as the updater made them: the list grows, and they go on to
    /// the plan and the state, without moving whole allocations.
    pub in_place: Vec<Arc<Allocation>>,
    pub stop: Vec<Stop>,
    pub desired_tg_updates: BTreeMap<String, DesiredUpdates>,
    pub followup_eval_wait: i64,
}

/// Nomad's `Allocation.Index()`: the name minus `<job>.<group>[` and `]`,
/// 0 when it does not parse.
pub(crate) fn name_index(a: &Allocation) -> u64 {
    let l = a.name.len();
    let prefix = a.job_id.len() + a.task_group.len() + 2;
    if l <= 3 || l <= prefix {
        return 0;
    }
    a.name
        .as_bytes()
        .get(prefix..l - 1)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `<job>.<group>[<index>]`.
pub(crate) fn alloc_name(job: &str, group: &str, idx: u64) -> String {
    // Built by hand: a placement pass names every allocation it places.
    let mut name = String::with_capacity(job.len() + group.len() + 23);
    name.push_str(job);
    name.push('.');
    name.push_str(group);
    name.push('[');
    push_decimal(&mut name, idx);
    name.push(']');
    name
}

/// The used name indexes of a group (Nomad's `allocNameIndex`).
#[derive(Debug, Clone)]
pub(crate) struct NameIndex {
    job: String,
    group: String,
    count: u64,
    bits: Vec<bool>,
}

/// Nomad's `bitmapFrom`: big enough for `count` and every used index,
/// byte-aligned.
fn bitmap_from(indexes: &[u64], min_size: u64) -> Vec<bool> {
    let mut max = indexes.iter().copied().max().unwrap_or(0);
    let min_size = min_size.max(indexes.len() as u64);
    if max < min_size {
        max = min_size;
    } else if max % 8 == 0 {
        max += 1;
    }
    if max == 0 {
        max = 8;
    }
    if max % 8 != 0 {
        max += 8 - max % 8;
    }
    let mut bits = vec![false; max as usize];
    for i in indexes {
        bits[*i as usize] = true;
    }
    bits
}

impl NameIndex {
    pub fn new(job: &str, group: &str, count: u64, used: &[u64]) -> Self {
        NameIndex {
            job: job.to_string(),
            group: group.to_string(),
            count,
            bits: bitmap_from(used, count),
        }
    }

    fn name(&self, idx: u64) -> String {
        alloc_name(&self.job, &self.group, idx)
    }

    pub fn set(&mut self, idx: u64) {
        let i = idx as usize;
        if i >= self.bits.len() {
            self.bits.resize(i + 1, false);
        }
        self.bits[i] = true;
    }

    pub fn unset(&mut self, idx: u64) {
        if let Some(b) = self.bits.get_mut(idx as usize) {
            *b = false;
        }
    }

    /// Unused indexes in `[0, count)` (the whole bitmap when count is 0,
    /// as Go's unsigned `count-1` wraps).
    fn free_below_count(&self) -> Vec<u64> {
        let to = if self.count == 0 {
            self.bits.len()
        } else {
            (self.count as usize).min(self.bits.len())
        };
        (0..to)
            .filter(|i| !self.bits[*i])
            .map(|i| i as u64)
            .collect()
    }

    /// Removes and returns the `n` highest used names.
    pub fn highest(&mut self, n: usize) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for i in (0..self.bits.len()).rev() {
            if out.len() >= n {
                break;
            }
            if self.bits[i] {
                self.bits[i] = false;
                out.insert(self.name(i as u64));
            }
        }
        out
    }

    /// The `n` lowest free names below the count, then (if short) names
    /// from index 0 up again, duplicates allowed.
    pub fn next(&mut self, n: usize) -> Vec<u64> {
        let mut next = Vec::with_capacity(n);
        for idx in self.free_below_count() {
            if next.len() == n {
                return next;
            }
            next.push(idx);
            self.set(idx);
        }
        let mut i = 0;
        while next.len() < n {
            next.push(i);
            self.set(i);
            i += 1;
        }
        next
    }

    /// Canary names: indexes of allocations being destructively updated
    /// first, then free indexes, skipping names of existing canaries.
    pub fn next_canaries(
        &mut self,
        n: usize,
        existing: &BTreeSet<&str>,
        destructive: &[u64],
    ) -> Vec<String> {
        let mut next = Vec::with_capacity(n);
        let dmap = bitmap_from(destructive, self.count);
        let upto = if self.count == 0 {
            dmap.len()
        } else {
            (self.count as usize).min(dmap.len())
        };
        for idx in (0..upto).filter(|i| dmap[*i]) {
            let name = self.name(idx as u64);
            if !existing.contains(name.as_str()) {
                next.push(name);
                self.set(idx as u64);
                if next.len() == n {
                    return next;
                }
            }
        }
        // Nomad's remainder is only updated by the free-index loop and
        // shrinks while the last loop runs; reproduced as is.
        let mut remainder = 0;
        for idx in self.free_below_count() {
            let name = self.name(idx);
            if !existing.contains(name.as_str()) {
                next.push(name);
                self.set(idx);
                remainder = n - next.len();
                if remainder == 0 {
                    return next;
                }
            }
        }
        let mut i = 0;
        while i < remainder {
            let name = self.name(i as u64);
            if !existing.contains(name.as_str()) {
                next.push(name);
                self.set(i as u64);
                remainder = n - next.len();
                if remainder == 0 {
                    return next;
                }
            }
            i += 1;
        }
        next
    }
}

/// Allocations by position in the reconciler's ID-ordered list; iterating
/// a set visits them in ID order.
type AllocSet = IndexSet;

/// The inputs of one reconciliation.
pub(crate) struct ReconcileInput<'r> {
    /// The evaluation's job ID (allocation names use it).
    pub job_id: &'r str,
    /// The job, `None` when purged.
    pub job: Option<Arc<Job>>,
    /// The job's latest deployment.
    pub deployment: Option<Deployment>,
    /// Non-terminal allocations, ordered by ID.
    pub allocs: Vec<Arc<Allocation>>,
    /// Node ID → tainted node (`None` when the node is gone).
    pub tainted: &'r BTreeMap<String, Option<&'r Node>>,
}

struct Reconciler<'r, F> {
    update: F,
    rng: &'r mut Rng,
    job_id: &'r str,
    job: Option<Arc<Job>>,
    old_deployment: Option<Deployment>,
    deployment: Option<Deployment>,
    created_deployment: bool,
    paused: bool,
    failed: bool,
    tainted: &'r BTreeMap<String, Option<&'r Node>>,
    allocs: Vec<Arc<Allocation>>,
    result: ReconcileResults,
}

/// Reconciles a job with its allocations. `update` decides, for an
/// allocation whose job changed, between ignore, destructive and in-place
/// (it may run the placement stack).
pub(crate) fn reconcile<F>(input: ReconcileInput<'_>, rng: &mut Rng, update: F) -> ReconcileResults
where
    F: FnMut(&mut Rng, &Allocation, &Job, &TaskGroup) -> AllocUpdate,
{
    let mut r = Reconciler {
        update,
        rng,
        job_id: input.job_id,
        job: input.job,
        old_deployment: None,
        deployment: input.deployment,
        created_deployment: false,
        paused: false,
        failed: false,
        tainted: input.tainted,
        allocs: input.allocs,
        result: ReconcileResults::default(),
    };
    r.compute();
    r.result
}

impl<F> Reconciler<'_, F>
where
    F: FnMut(&mut Rng, &Allocation, &Job, &TaskGroup) -> AllocUpdate,
{
    fn stopped(&self) -> bool {
        self.job.as_ref().is_none_or(|j| j.stop)
    }

    fn compute(&mut self) {
        // Group name → allocations: every group with allocations plus every
        // group of the job, in name order.
        let mut by_group: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, a) in self.allocs.iter().enumerate() {
            // Most allocations share a group: its name is copied once.
            match by_group.get_mut(&a.task_group) {
                Some(set) => set.push(i),
                None => {
                    by_group.insert(a.task_group.clone(), vec![i]);
                }
            }
        }
        if let Some(job) = &self.job {
            for tg in &job.task_groups {
                by_group.entry(tg.name.clone()).or_default();
            }
        }
        // Positions were listed in increasing order: each set is built in
        // one go, not by an insertion per allocation.
        let matrix: BTreeMap<String, AllocSet> = by_group
            .into_iter()
            .map(|(group, set)| (group, set.into_iter().collect()))
            .collect();
        self.cancel_deployments();
        if self.stopped() {
            self.handle_stop(&matrix);
            return;
        }
        if let Some(d) = &self.deployment {
            self.paused = d.status == DEPLOYMENT_STATUS_PAUSED;
            self.failed = d.status == DEPLOYMENT_STATUS_FAILED;
        }
        let mut complete = true;
        for (group, set) in matrix {
            complete &= self.compute_group(&group, set);
        }
        if let Some(d) = &self.deployment {
            if complete {
                self.result.deployment_updates.push(DeploymentStatusUpdate {
                    deployment_id: d.id.clone(),
                    status: DEPLOYMENT_STATUS_SUCCESSFUL.into(),
                    status_description: DESC_SUCCESSFUL.into(),
                });
            }
        }
        if self.created_deployment {
            if let Some(mut d) = self.deployment.clone() {
                let needs_promotion = d.status == DEPLOYMENT_STATUS_RUNNING
                    && d.task_groups
                        .values()
                        .any(|s| s.desired_canaries > 0 && !s.promoted);
                if needs_promotion {
                    d.status_description = DESC_NEEDS_PROMOTION.into();
                }
                self.result.deployment = Some(d);
            }
        }
    }

    fn cancel_deployments(&mut self) {
        if self.stopped() {
            if let Some(d) = &self.deployment {
                if d.active() {
                    self.result.deployment_updates.push(DeploymentStatusUpdate {
                        deployment_id: d.id.clone(),
                        status: DEPLOYMENT_STATUS_CANCELLED.into(),
                        status_description: DESC_STOPPED_JOB.into(),
                    });
                }
            }
            self.old_deployment = self.deployment.take();
            return;
        }
        let Some(d) = self.deployment.clone() else {
            return;
        };
        let Some(job) = self.job.as_ref() else {
            return;
        };
        if d.job_create_index != job.create_index || d.job_version != job.version {
            if d.active() {
                self.result.deployment_updates.push(DeploymentStatusUpdate {
                    deployment_id: d.id.clone(),
                    status: DEPLOYMENT_STATUS_CANCELLED.into(),
                    status_description: DESC_NEWER_JOB.into(),
                });
            }
            self.old_deployment = Some(d.clone());
            self.deployment = None;
        }
        if d.status == DEPLOYMENT_STATUS_SUCCESSFUL {
            self.old_deployment = Some(d);
            self.deployment = None;
        }
    }

    fn mark_stop(
        &mut self,
        set: &AllocSet,
        client_status: &'static str,
        description: &'static str,
    ) {
        for i in set {
            self.result.stop.push(Stop {
                alloc: self.allocs[*i].clone(),
                client_status,
                description,
            });
        }
    }

    fn handle_stop(&mut self, matrix: &BTreeMap<String, AllocSet>) {
        for (group, set) in matrix {
            let (untainted, migrate, lost) = self.filter_by_tainted(set);
            self.mark_stop(&untainted, "", ALLOC_NOT_NEEDED);
            self.mark_stop(&migrate, "", ALLOC_NOT_NEEDED);
            self.mark_stop(&lost, ALLOC_CLIENT_LOST, ALLOC_LOST);
            self.result.desired_tg_updates.insert(
                group.clone(),
                DesiredUpdates {
                    stop: set.len() as u64,
                    ..Default::default()
                },
            );
        }
    }

    /// Untainted, migrating (draining node) and lost (node down or gone);
    /// successfully finished batch allocations always count as untainted.
    fn filter_by_tainted(&self, set: &AllocSet) -> (AllocSet, AllocSet, AllocSet) {
        // Listed in the set's (increasing) order, then each built in one go.
        let (mut untainted, mut migrate, mut lost) = (Vec::new(), Vec::new(), Vec::new());
        for i in set {
            let a = &self.allocs[*i];
            let Some(node) = self.tainted.get(&a.node_id) else {
                untainted.push(*i);
                continue;
            };
            let batch = a.job.as_ref().is_some_and(|j| j.job_type == JOB_TYPE_BATCH);
            if batch && a.ran_successfully() {
                untainted.push(*i);
                continue;
            }
            match node {
                Some(n) if n.status != crate::model::NODE_STATUS_DOWN => migrate.push(*i),
                _ => lost.push(*i),
            };
        }
        let set = |v: Vec<usize>| v.into_iter().collect::<AllocSet>();
        (set(untainted), set(migrate), set(lost))
    }

    fn in_deployment(&self, set: &AllocSet, id: &str) -> AllocSet {
        set.iter()
            .copied()
            .filter(|i| self.allocs[*i].deployment_id == id)
            .collect()
    }

    fn select_ids(&self, set: &AllocSet, ids: &[String]) -> AllocSet {
        ids.iter()
            .filter_map(|id| self.allocs.binary_search_by(|a| a.id.as_str().cmp(id)).ok())
            .filter(|i| set.contains(i))
            .collect()
    }

    fn indexes(&self, set: &AllocSet) -> Vec<u64> {
        set.iter().map(|i| name_index(&self.allocs[*i])).collect()
    }

    /// By name index (ties in ID order).
    fn name_order(&self, set: &AllocSet) -> Vec<usize> {
        let mut v: Vec<usize> = set.iter().copied().collect();
        v.sort_by_key(|i| name_index(&self.allocs[*i]));
        v
    }

    fn compute_group(&mut self, group: &str, all: AllocSet) -> bool {
        let mut desired = DesiredUpdates::default();
        let Some(job) = self.job.clone() else {
            // Groups are only computed for a live job.
            return true;
        };
        let Some(tg_idx) = job.task_groups.iter().position(|g| g.name == group) else {
            let (untainted, migrate, lost) = self.filter_by_tainted(&all);
            self.mark_stop(&untainted, "", ALLOC_NOT_NEEDED);
            self.mark_stop(&migrate, "", ALLOC_NOT_NEEDED);
            self.mark_stop(&lost, ALLOC_CLIENT_LOST, ALLOC_LOST);
            desired.stop = (untainted.len() + migrate.len() + lost.len()) as u64;
            self.result
                .desired_tg_updates
                .insert(group.to_string(), desired);
            return true;
        };
        let tg = &job.task_groups[tg_idx];
        let count = tg.count.max(0) as u64;
        let existing_state = self
            .deployment
            .as_ref()
            .and_then(|d| d.task_groups.get(group))
            .cloned();
        let existing_deployment = existing_state.is_some();
        let mut dstate = existing_state.unwrap_or_else(|| DeploymentState {
            auto_revert: tg.update.as_ref().is_some_and(|u| u.auto_revert),
            ..Default::default()
        });

        let (canaries, all) = self.handle_group_canaries(all, &mut desired);
        let (mut untainted, mut migrate, lost) = self.filter_by_tainted(&all);

        let taken: AllocSet = untainted.union(&migrate).copied().collect();
        let mut name_index = NameIndex::new(self.job_id, group, count, &self.indexes(&taken));

        let canary_state = dstate.desired_canaries != 0 && !dstate.promoted;
        let stop = self.compute_stop(
            tg,
            &mut name_index,
            &mut untainted,
            &mut migrate,
            &lost,
            &canaries,
            canary_state,
        );
        desired.stop += stop.len() as u64;
        untainted = untainted.difference(&stop).copied().collect();

        if !canary_state {
            untainted.extend(canaries.iter().copied());
            for i in &canaries {
                name_index.set(name_index_of(&self.allocs[*i]));
            }
        }

        let (ignore, in_place, destructive) = self.compute_updates(&job, tg, &untainted);
        desired.ignore += ignore.len() as u64;
        desired.in_place_update += in_place as u64;
        if !existing_deployment {
            dstate.desired_total += (destructive.len() + in_place) as i64;
        }

        let strategy = tg.update.clone();
        let canary_want = strategy.as_ref().map_or(0, |s| s.canary.max(0) as usize);
        let require_canary = !destructive.is_empty()
            && strategy.is_some()
            && canaries.len() < canary_want
            && !dstate.promoted;
        if require_canary && !self.paused && !self.failed {
            let number = (canary_want - canaries.len()).min(destructive.len());
            desired.canary += number as u64;
            if !existing_deployment {
                dstate.desired_canaries = canary_want as i64;
            }
            let existing_names: BTreeSet<&str> = canaries
                .iter()
                .map(|i| self.allocs[*i].name.as_str())
                .collect();
            let names =
                name_index.next_canaries(number, &existing_names, &self.indexes(&destructive));
            for name in names {
                self.result.place.push(Placement {
                    name: PlacementName::Given(name),
                    group: tg_idx,
                    canary: true,
                    previous: None,
                    stop_previous: None,
                });
            }
        }

        let canary_state = dstate.desired_canaries != 0 && !dstate.promoted;
        let mut limit = self.compute_limit(
            tg,
            &untainted,
            destructive.len(),
            migrate.len(),
            canary_state,
        );

        let place = compute_placements(count, &mut name_index, untainted.len() + migrate.len());
        let place_count = place.len();
        if !existing_deployment {
            dstate.desired_total += place.len() as i64;
        }

        let place_ready = !self.paused && !self.failed && !canary_state;
        if place_ready {
            desired.place += place.len() as u64;
            limit -= place.len().min(limit);
            // The names move into the placements (no copy per name).
            for idx in place {
                self.result.place.push(Placement {
                    name: PlacementName::Index(idx),
                    group: tg_idx,
                    canary: false,
                    previous: None,
                    stop_previous: None,
                });
            }
        } else if !lost.is_empty() {
            let allowed = lost.len().min(place.len());
            desired.place += allowed as u64;
            for idx in place.into_iter().take(allowed) {
                self.result.place.push(Placement {
                    name: PlacementName::Index(idx),
                    group: tg_idx,
                    canary: false,
                    previous: None,
                    stop_previous: None,
                });
            }
        }

        if place_ready {
            let n = destructive.len().min(limit);
            limit -= n;
            desired.destructive_update += n as u64;
            desired.ignore += (destructive.len() - n) as u64;
            for i in self.name_order(&destructive).into_iter().take(n) {
                let a = self.allocs[i].clone();
                self.result.destructive.push(Placement {
                    name: PlacementName::Given(a.name.clone()),
                    group: tg_idx,
                    canary: false,
                    previous: Some(a),
                    stop_previous: Some(ALLOC_UPDATING),
                });
            }
        } else {
            desired.ignore += destructive.len() as u64;
        }

        let n = migrate.len().min(limit);
        if !self.failed && !self.paused {
            desired.migrate += n as u64;
            desired.ignore += (migrate.len() - n) as u64;
        } else {
            desired.stop += migrate.len() as u64;
        }
        let mut followup = false;
        let mut migrated = 0;
        for i in self.name_order(&migrate) {
            let a = self.allocs[i].clone();
            if self.failed || self.paused {
                self.result.stop.push(Stop {
                    alloc: a,
                    client_status: "",
                    description: ALLOC_NODE_TAINTED,
                });
                continue;
            }
            if migrated >= limit {
                followup = true;
                break;
            }
            migrated += 1;
            self.result.stop.push(Stop {
                alloc: a.clone(),
                client_status: "",
                description: ALLOC_MIGRATING,
            });
            self.result.place.push(Placement {
                name: PlacementName::Given(a.name.clone()),
                group: tg_idx,
                canary: false,
                previous: Some(a),
                stop_previous: None,
            });
        }
        if let Some(s) = &strategy {
            if followup && self.result.followup_eval_wait < s.stagger {
                self.result.followup_eval_wait = s.stagger;
            }
        }

        if !existing_deployment && strategy.is_some() && dstate.desired_total != 0 {
            if self.deployment.is_none() {
                self.deployment = Some(new_deployment(&job, self.rng));
                self.created_deployment = true;
            }
            if let Some(d) = self.deployment.as_mut() {
                d.task_groups.insert(group.to_string(), dstate);
            }
        }

        let mut complete =
            destructive.len() + in_place + place_count + migrate.len() == 0 && !require_canary;
        if complete {
            if let Some(d) = &self.deployment {
                let part_of = self.in_deployment(&untainted, &d.id);
                complete = part_of.iter().all(|i| is_healthy(&self.allocs[*i]));
            }
        }
        self.result
            .desired_tg_updates
            .insert(group.to_string(), desired);
        complete
    }

    /// Stops unpromoted canaries of old or failed deployments; returns the
    /// current canaries (migrating or lost ones stopped) and the rest.
    fn handle_group_canaries(
        &mut self,
        mut all: AllocSet,
        desired: &mut DesiredUpdates,
    ) -> (AllocSet, AllocSet) {
        let mut stop_ids: Vec<String> = Vec::new();
        if let Some(old) = &self.old_deployment {
            for s in old.task_groups.values().filter(|s| !s.promoted) {
                stop_ids.extend(s.placed_canaries.iter().cloned());
            }
        }
        if let Some(d) = &self.deployment {
            if d.status == DEPLOYMENT_STATUS_FAILED {
                for s in d.task_groups.values().filter(|s| !s.promoted) {
                    stop_ids.extend(s.placed_canaries.iter().cloned());
                }
            }
        }
        let stop_set = self.select_ids(&all, &stop_ids);
        self.mark_stop(&stop_set, "", ALLOC_NOT_NEEDED);
        desired.stop += stop_set.len() as u64;
        all = all.difference(&stop_set).copied().collect();

        let mut canaries = AllocSet::new();
        if let Some(d) = &self.deployment {
            let ids: Vec<String> = d
                .task_groups
                .values()
                .flat_map(|s| s.placed_canaries.iter().cloned())
                .collect();
            let current = self.select_ids(&all, &ids);
            let (untainted, migrate, lost) = self.filter_by_tainted(&current);
            self.mark_stop(&migrate, "", ALLOC_MIGRATING);
            self.mark_stop(&lost, ALLOC_CLIENT_LOST, ALLOC_LOST);
            canaries = untainted;
            all = all
                .iter()
                .copied()
                .filter(|i| !migrate.contains(i) && !lost.contains(i))
                .collect();
        }
        (canaries, all)
    }

    #[allow(clippy::too_many_arguments)]
    fn compute_stop(
        &mut self,
        tg: &TaskGroup,
        name_index: &mut NameIndex,
        untainted: &mut AllocSet,
        migrate: &mut AllocSet,
        lost: &AllocSet,
        canaries: &AllocSet,
        canary_state: bool,
    ) -> AllocSet {
        let mut stop: AllocSet = lost.clone();
        self.mark_stop(lost, ALLOC_CLIENT_LOST, ALLOC_LOST);

        let considered: AllocSet = if canary_state {
            untainted.difference(canaries).copied().collect()
        } else {
            untainted.clone()
        };
        let count = tg.count.max(0) as usize;
        let mut remove = (considered.len() + migrate.len()) as i64 - count as i64;
        if remove <= 0 {
            return stop;
        }

        // Promoted canaries replace the allocations sharing their names.
        if !canary_state && !canaries.is_empty() {
            let canary_names: BTreeSet<String> = canaries
                .iter()
                .map(|i| self.allocs[*i].name.clone())
                .collect();
            for i in untainted.difference(canaries).copied().collect::<Vec<_>>() {
                if canary_names.contains(&self.allocs[i].name) {
                    stop.insert(i);
                    self.result.stop.push(Stop {
                        alloc: self.allocs[i].clone(),
                        client_status: "",
                        description: ALLOC_NOT_NEEDED,
                    });
                    untainted.remove(&i);
                    remove -= 1;
                    if remove == 0 {
                        return stop;
                    }
                }
            }
        }

        // Then migrating allocations, highest indexes first.
        if !migrate.is_empty() {
            let mut m_names =
                NameIndex::new(self.job_id, &tg.name, count as u64, &self.indexes(migrate));
            let remove_names = m_names.highest(remove as usize);
            for i in migrate.iter().copied().collect::<Vec<_>>() {
                if !remove_names.contains(&self.allocs[i].name) {
                    continue;
                }
                self.result.stop.push(Stop {
                    alloc: self.allocs[i].clone(),
                    client_status: "",
                    description: ALLOC_NOT_NEEDED,
                });
                migrate.remove(&i);
                stop.insert(i);
                name_index.unset(name_index_of(&self.allocs[i]));
                remove -= 1;
                if remove == 0 {
                    return stop;
                }
            }
        }

        // Then the untainted allocations with the highest indexes.
        let remove_names = name_index.highest(remove as usize);
        let considered: AllocSet = if canary_state {
            untainted.difference(canaries).copied().collect()
        } else {
            untainted.clone()
        };
        for i in considered {
            if remove_names.contains(&self.allocs[i].name) {
                stop.insert(i);
                self.result.stop.push(Stop {
                    alloc: self.allocs[i].clone(),
                    client_status: "",
                    description: ALLOC_NOT_NEEDED,
                });
            }
        }
        stop
    }

    /// Ignore (returned), in-place (recorded, counted) and destructive.
    fn compute_updates(
        &mut self,
        job: &Job,
        tg: &TaskGroup,
        untainted: &AllocSet,
    ) -> (AllocSet, usize, AllocSet) {
        // Listed in increasing order, then each set built in one go.
        let (mut ignore, mut destructive) = (Vec::new(), Vec::new());
        let mut in_place = 0;
        for i in untainted {
            let a = self.allocs[*i].clone();
            match (self.update)(self.rng, &a, job, tg) {
                AllocUpdate::Ignore => ignore.push(*i),
                AllocUpdate::Destructive => destructive.push(*i),
                AllocUpdate::InPlace(updated) => {
                    in_place += 1;
                    self.result.in_place.push(updated);
                }
            }
        }
        (
            ignore.into_iter().collect(),
            in_place,
            destructive.into_iter().collect(),
        )
    }

    fn compute_limit(
        &self,
        tg: &TaskGroup,
        untainted: &AllocSet,
        destructive: usize,
        migrate: usize,
        canary_state: bool,
    ) -> usize {
        let count = tg.count.max(0) as usize;
        let Some(update) = &tg.update else {
            return count;
        };
        if destructive + migrate == 0 {
            return count;
        }
        if self.paused || self.failed || canary_state {
            return 0;
        }
        let mut limit = update.max_parallel;
        if let Some(d) = &self.deployment {
            for i in self.in_deployment(untainted, &d.id) {
                let a = &self.allocs[i];
                if is_unhealthy(a) {
                    return 0;
                }
                if !is_healthy(a) {
                    limit -= 1;
                }
            }
        }
        limit.max(0) as usize
    }
}

fn name_index_of(a: &Allocation) -> u64 {
    name_index(a)
}

fn is_healthy(a: &Allocation) -> bool {
    a.deployment_status.as_ref().and_then(|s| s.healthy) == Some(true)
}

fn is_unhealthy(a: &Allocation) -> bool {
    a.deployment_status.as_ref().and_then(|s| s.healthy) == Some(false)
}

/// `Count − existing` new names (none when enough exist).
fn compute_placements(count: u64, name_index: &mut NameIndex, existing: usize) -> Vec<u64> {
    let existing = existing as u64;
    if existing >= count {
        return Vec::new();
    }
    name_index.next((count - existing) as usize)
}

/// Nomad's `NewDeployment`: running, for the job's current version.
pub(crate) fn new_deployment(job: &Job, rng: &mut Rng) -> Deployment {
    Deployment {
        id: rng.uuid(),
        job_id: job.id.clone(),
        job_version: job.version,
        job_modify_index: job.modify_index,
        job_create_index: job.create_index,
        task_groups: BTreeMap::new(),
        status: DEPLOYMENT_STATUS_RUNNING.into(),
        status_description: DESC_RUNNING.into(),
        create_index: 0,
        modify_index: 0,
    }
}

mod index_set;

#[cfg(test)]
mod tests;
