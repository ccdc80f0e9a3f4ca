//! The evaluation context: the read-only state a scheduler pass sees, the
//! plan it builds, and what every node would hold if that plan were applied.
//!
//! Nomad recomputes a node's "proposed allocations" (live allocations in the
//! state, minus planned stops, plus planned placements) on every visit. Here
//! a node's load is materialized once per pass and then kept in step with
//! every plan change, so a visit costs no scan of the plan or the state.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::hash_map::Entry as HashEntry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::model::{AllocMetric, Allocation, Deployment, Job, NetworkResource, Node, Resources};
use crate::prefetch;
use crate::scheduler::feasible::Eligibility;
use crate::scheduler::plan::{NodeMap, Plan};
use crate::state::{key, ClusterState};
use crate::validate::ConstraintCache;

/// The state a scheduler pass reads: the cluster state, optionally with a
/// dry run's job standing in for the stored one.
#[derive(Debug, Clone)]
pub(crate) struct StateView<'a> {
    state: &'a ClusterState,
    planned_job: Option<Arc<Job>>,
}

impl<'a> StateView<'a> {
    pub fn state(&self) -> &'a ClusterState {
        self.state
    }

    pub fn new(state: &'a ClusterState) -> Self {
        StateView {
            state,
            planned_job: None,
        }
    }

    /// A view in which `job` replaces the stored job of the same ID (the
    /// dry run's "insert into the snapshot").
    pub fn with_job(state: &'a ClusterState, job: Arc<Job>) -> Self {
        StateView {
            state,
            planned_job: Some(job),
        }
    }

    /// The current job with this ID (case-insensitive, as the state).
    pub fn job(&self, id: &str) -> Option<Arc<Job>> {
        match &self.planned_job {
            Some(j) if key(&j.id) == key(id) => Some(j.clone()),
            _ => self.state.job(id).cloned(),
        }
    }

    pub fn node(&self, id: &str) -> Option<&'a Node> {
        self.state.nodes.get(id).map(|n| &**n)
    }

    /// How many nodes the state holds.
    pub fn node_count(&self) -> usize {
        self.state.nodes.len()
    }

    /// Every node, ordered by ID.
    pub fn nodes(&self) -> impl Iterator<Item = &'a Node> + Clone + 'a {
        self.state.nodes.values().map(|n| &**n)
    }

    /// Allocations whose job ID is exactly `job_id`, of any incarnation,
    /// ordered by ID.
    pub fn allocs_by_job(&self, job_id: &str) -> Vec<Arc<Allocation>> {
        self.state.allocs_by_job(job_id, true)
    }

    /// Allocations of `job_id` that belong to the current incarnation of
    /// the job (Nomad's `AllocsByJob(…, false)`).
    pub fn allocs_by_current_job(&self, job_id: &str) -> Vec<Arc<Allocation>> {
        let current = self.job(job_id).map(|j| j.create_index);
        self.allocs_by_job(job_id)
            .into_iter()
            .filter(|a| current.is_none() || a.job.as_ref().map(|j| j.create_index) == current)
            .collect()
    }

    /// Allocations on `node_id` (terminal ones included), ordered by ID.
    pub fn allocs_on_node(&self, node_id: &str) -> &'a [Arc<Allocation>] {
        self.state
            .allocs_by_node
            .get(node_id)
            .map_or(&[], |l| l.as_slice())
    }

    pub fn latest_deployment(&self, job_id: &str) -> Option<Arc<Deployment>> {
        self.state.latest_deployment(job_id)
    }
}

/// CPU, memory, disk and IOPS: the dimensions the bin-packer sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Usage {
    pub cpu: i64,
    pub memory_mb: i64,
    pub disk_mb: i64,
    pub iops: i64,
}

impl Usage {
    pub fn of(r: &Resources) -> Self {
        Usage {
            cpu: r.cpu,
            memory_mb: r.memory_mb,
            disk_mb: r.disk_mb,
            iops: r.iops,
        }
    }

    /// Sums saturate where Go's wrap: an ask near `i64::MAX` exhausts its
    /// dimension instead of wrapping negative and fitting (COMPATIBILITY.md).
    pub fn add(&mut self, o: Usage) {
        self.cpu = self.cpu.saturating_add(o.cpu);
        self.memory_mb = self.memory_mb.saturating_add(o.memory_mb);
        self.disk_mb = self.disk_mb.saturating_add(o.disk_mb);
        self.iops = self.iops.saturating_add(o.iops);
    }

    pub fn sub(&mut self, o: Usage) {
        self.cpu = self.cpu.saturating_sub(o.cpu);
        self.memory_mb = self.memory_mb.saturating_sub(o.memory_mb);
        self.disk_mb = self.disk_mb.saturating_sub(o.disk_mb);
        self.iops = self.iops.saturating_sub(o.iops);
    }

    /// Nomad's `Resources.Superset`: the first dimension `used` exceeds.
    pub fn exceeded_dimension(total: &Usage, used: &Usage) -> Option<&'static str> {
        if total.cpu < used.cpu {
            Some("cpu exhausted")
        } else if total.memory_mb < used.memory_mb {
            Some("memory exhausted")
        } else if total.disk_mb < used.disk_mb {
            Some("disk exhausted")
        } else if total.iops < used.iops {
            Some("iops exhausted")
        } else {
            None
        }
    }
}

/// What one allocation takes from its node.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct AllocLoad {
    pub usage: Usage,
    /// The first network of each task (what the network index counts).
    pub networks: Vec<NetworkResource>,
}

impl AllocLoad {
    /// Nomad's `AllocsFit` accounting: the combined `Resources` when set,
    /// else shared plus per-task resources (plan allocations carry no
    /// combined resources).
    pub fn of(a: &Allocation) -> Self {
        let usage = Usage::of_alloc(a);
        let networks = a
            .task_resources
            .values()
            .filter_map(|r| r.networks.first().cloned())
            .collect();
        AllocLoad { usage, networks }
    }
}

impl Usage {
    /// [`AllocLoad::of`]'s usage alone (no network is copied).
    pub(crate) fn of_alloc(a: &Allocation) -> Self {
        match &a.resources {
            Some(r) => Usage::of(r),
            None => {
                let mut u = a
                    .shared_resources
                    .as_ref()
                    .map(Usage::of)
                    .unwrap_or_default();
                for r in a.task_resources.values() {
                    u.add(Usage::of(r));
                }
                u
            }
        }
    }
}

/// The networks [`AllocLoad::of`] would copy, borrowed.
pub(crate) fn alloc_networks(a: &Allocation) -> impl Iterator<Item = &NetworkResource> {
    a.task_resources.values().filter_map(|r| r.networks.first())
}

/// A plan change on a node: a stop, a placement or an in-place update,
/// and the state's version of the allocation it touches.
#[derive(Debug, Clone)]
struct LoadEntry<'a> {
    /// Borrowed from the state's allocation, owned for plan entries.
    id: Cow<'a, str>,
    of_job: bool,
    task_group: Cow<'a, str>,
    /// The allocation as the state holds it (if live there).
    base: Option<AllocLoad>,
    /// The plan's new version of it (placement or in-place update).
    planned: Option<AllocLoad>,
    /// How many planned stops name it.
    stops: u32,
}

impl<'a> LoadEntry<'a> {
    /// A live allocation of the state, about to be changed by the plan.
    fn base(a: &'a Allocation, of_job: bool) -> Self {
        LoadEntry {
            id: Cow::Borrowed(&a.id),
            of_job,
            task_group: Cow::Borrowed(&a.task_group),
            base: Some(AllocLoad::of(a)),
            planned: None,
            stops: 0,
        }
    }

    /// Whether this entry was made for the state's allocation `a` (its ID
    /// is then borrowed from `a`).
    fn stands_for(&self, a: &Allocation) -> bool {
        match &self.id {
            Cow::Borrowed(id) => std::ptr::eq(*id, a.id.as_str()),
            Cow::Owned(_) => false,
        }
    }

    /// Nomad's proposed set: planned versions win, state versions count
    /// unless stopped.
    fn effective(&self) -> Option<&AllocLoad> {
        self.planned
            .as_ref()
            .or_else(|| self.base.as_ref().filter(|_| self.stops == 0))
    }
}

/// The change entries of one node. The first is kept inline: a plan
/// changes most nodes it touches once (a placement, an in-place update),
/// and then the node's load allocates no list.
#[derive(Debug, Clone, Default)]
struct Changes<'a> {
    first: Option<LoadEntry<'a>>,
    rest: Vec<LoadEntry<'a>>,
}

impl<'a> Changes<'a> {
    fn iter(&self) -> impl Iterator<Item = &LoadEntry<'a>> {
        self.first.iter().chain(&self.rest)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn get(&self, idx: usize) -> Option<&LoadEntry<'a>> {
        match idx {
            0 => self.first.as_ref(),
            _ => self.rest.get(idx - 1),
        }
    }

    fn get_mut(&mut self, idx: usize) -> Option<&mut LoadEntry<'a>> {
        match idx {
            0 => self.first.as_mut(),
            _ => self.rest.get_mut(idx - 1),
        }
    }

    /// Adds an entry; returns its index.
    fn push(&mut self, entry: LoadEntry<'a>) -> usize {
        if self.first.is_none() {
            self.first = Some(entry);
            0
        } else {
            self.rest.push(entry);
            self.rest.len()
        }
    }
}

/// The proposed allocations of one node, aggregated: the node's live
/// allocations in the state, with the plan's changes applied.
///
/// The state's allocations are read where the state keeps them, and only
/// those the plan touches get an entry of their own: loading a node that
/// the plan does not change (most of them, in a pass over thousands of
/// nodes) copies nothing and allocates nothing. The change entries live
/// apart, in [`EvalContext`]'s list, and only for nodes that have some: a
/// load is a few words, which a pass writes and reads for every node it
/// visits. [`LoadRef`] and [`LoadMut`] put the two together.
#[derive(Debug, Clone)]
pub(crate) struct NodeLoad<'a> {
    /// The node's allocations in the state (ordered by ID; terminal ones
    /// do not count).
    state: &'a [Arc<Allocation>],
    /// Its change entries in `EvalContext::changes` ([`NO_CHANGES`]
    /// until the plan changes an allocation of the node).
    changes_at: u32,
    /// How many change entries stand for an allocation of `state` (made by
    /// [`LoadMut::find`]); placements of new allocations do not.
    from_state: u32,
    /// Sum over proposed allocations (the node's reservation excluded).
    pub used: Usage,
    /// Proposed allocations of the evaluated job.
    pub job_allocs: u32,
    /// Proposed allocations carrying a network.
    pub net_allocs: u32,
}

/// [`NodeLoad::changes_at`] of a node the plan has not changed.
const NO_CHANGES: u32 = u32::MAX;

/// The change entries of a node the plan has not changed.
static NO_CHANGE_ENTRIES: Changes<'static> = Changes {
    first: None,
    rest: Vec::new(),
};

impl<'a> NodeLoad<'a> {
    /// The load of a node holding `state` (its allocations in the state,
    /// ordered by ID) before any plan change.
    fn on_state(state: &'a [Arc<Allocation>], job_id: &str) -> Self {
        let mut load = NodeLoad {
            state,
            changes_at: NO_CHANGES,
            from_state: 0,
            used: Usage::default(),
            job_allocs: 0,
            net_allocs: 0,
        };
        for a in state.iter().filter(|a| !a.terminal()) {
            load.used.add(Usage::of_alloc(a));
            load.job_allocs += u32::from(a.job_id == job_id);
            load.net_allocs += u32::from(alloc_networks(a).next().is_some());
        }
        load
    }

    /// This load with its change entries (kept in `changes`), to read.
    fn with<'x>(&'x self, changes: &'x [Changes<'a>]) -> LoadRef<'x, 'a> {
        LoadRef {
            load: self,
            changes: changes
                .get(self.changes_at as usize)
                .unwrap_or(&NO_CHANGE_ENTRIES),
        }
    }

    /// This load with its change entries (made in `changes` if it has
    /// none yet), to change.
    fn with_mut<'x>(&'x mut self, changes: &'x mut Vec<Changes<'a>>) -> LoadMut<'x, 'a> {
        if self.changes_at == NO_CHANGES {
            self.changes_at = changes.len() as u32;
            changes.push(Changes::default());
        }
        LoadMut {
            changes: &mut changes[self.changes_at as usize],
            load: self,
        }
    }
}

/// A node's load and its change entries, to read.
pub(crate) struct LoadRef<'x, 'a> {
    load: &'x NodeLoad<'a>,
    changes: &'x Changes<'a>,
}

impl<'a> std::ops::Deref for LoadRef<'_, 'a> {
    type Target = NodeLoad<'a>;

    fn deref(&self) -> &NodeLoad<'a> {
        self.load
    }
}

impl<'x, 'a> LoadRef<'x, 'a> {
    /// The live allocations of the state that no change entry stands for.
    /// Such an entry borrows its ID from the state's allocation, so it is
    /// recognized by address, and only looked for when there is one.
    fn unchanged(&self) -> impl Iterator<Item = &'a Allocation> + 'x {
        let (load, changes) = (self.load, self.changes);
        load.state.iter().map(|a| &**a).filter(move |a| {
            !a.terminal() && (load.from_state == 0 || !changes.iter().any(|e| e.stands_for(a)))
        })
    }

    /// Proposed allocations of `job_id` in `group` (all groups if
    /// `None`).
    fn job_allocs_in(&self, job_id: &str, group: Option<&str>) -> usize {
        let in_group = |g: &str| group.is_none_or(|want| g == want);
        let unchanged = self
            .unchanged()
            .filter(|a| a.job_id == job_id && in_group(&a.task_group))
            .count();
        let changed = self
            .changes
            .iter()
            .filter(|e| e.of_job && e.effective().is_some() && in_group(&e.task_group))
            .count();
        unchanged + changed
    }

    /// The networks of every proposed allocation.
    pub fn networks(&self) -> impl Iterator<Item = &'x NetworkResource> + 'x {
        let unchanged = self.unchanged().flat_map(alloc_networks);
        let changed = self
            .changes
            .iter()
            .filter_map(LoadEntry::effective)
            .flat_map(|l| l.networks.iter());
        unchanged.chain(changed)
    }
}

/// A node's load and its change entries, to change.
pub(crate) struct LoadMut<'x, 'a> {
    load: &'x mut NodeLoad<'a>,
    changes: &'x mut Changes<'a>,
}

impl<'a> LoadMut<'_, 'a> {
    fn account(&mut self, idx: usize, sign: i64) {
        let Some(e) = self.changes.get(idx) else {
            return;
        };
        if let Some(l) = e.effective() {
            let of_job = u32::from(e.of_job);
            let net = u32::from(!l.networks.is_empty());
            let usage = l.usage;
            let load = &mut *self.load;
            if sign > 0 {
                load.used.add(usage);
                load.job_allocs += of_job;
                load.net_allocs += net;
            } else {
                load.used.sub(usage);
                load.job_allocs -= of_job;
                load.net_allocs -= net;
            }
        }
    }

    /// The change entry of allocation `id`; a live state allocation gets
    /// one on first use (which changes no sum).
    fn find(&mut self, id: &str, job_id: &str) -> Option<usize> {
        if let Some(i) = self.changes.iter().position(|e| e.id == id) {
            return Some(i);
        }
        let state = self.load.state;
        let i = state.binary_search_by(|a| a.id.as_str().cmp(id)).ok()?;
        let a: &'a Allocation = &state[i];
        if a.terminal() {
            return None;
        }
        self.load.from_state += 1;
        Some(self.changes.push(LoadEntry::base(a, a.job_id == job_id)))
    }

    fn change(&mut self, idx: usize, f: impl FnOnce(&mut LoadEntry<'a>)) {
        self.account(idx, -1);
        if let Some(e) = self.changes.get_mut(idx) {
            f(e);
        }
        self.account(idx, 1);
    }

    /// Counts a planned stop of `a` (`job_id`: the evaluated job).
    fn stop(&mut self, a: &Allocation, job_id: &str) {
        let of_job = a.job_id == job_id;
        match self.find(&a.id, job_id) {
            Some(i) => self.change(i, |e| e.stops += 1),
            None => {
                self.changes.push(LoadEntry {
                    id: Cow::Owned(a.id.clone()),
                    of_job,
                    task_group: Cow::Owned(a.task_group.clone()),
                    base: None,
                    planned: None,
                    stops: 1,
                });
            }
        }
    }

    fn unstop(&mut self, id: &str, job_id: &str) {
        if let Some(i) = self.find(id, job_id) {
            self.change(i, |e| e.stops = e.stops.saturating_sub(1));
        }
    }

    /// Counts the planned version of `a`; `fresh` if its ID is new.
    fn plan(&mut self, a: &Allocation, job_id: &str, fresh: bool) {
        self.plan_in_group(a, job_id, fresh, None);
    }

    /// [`LoadMut::plan`], with the name of the allocation's group borrowed
    /// from the state's job when it is one of its groups, so that planning
    /// a placement copies only the allocation's ID.
    fn plan_in_group(&mut self, a: &Allocation, job_id: &str, fresh: bool, group: Option<&'a str>) {
        let of_job = a.job_id == job_id;
        let load = AllocLoad::of(a);
        match if fresh {
            None
        } else {
            self.find(&a.id, job_id)
        } {
            Some(i) => self.change(i, |e| e.planned = Some(load)),
            None => {
                let idx = self.changes.push(LoadEntry {
                    id: Cow::Owned(a.id.clone()),
                    of_job,
                    task_group: group
                        .map_or_else(|| Cow::Owned(a.task_group.clone()), Cow::Borrowed),
                    base: None,
                    planned: Some(load),
                    stops: 0,
                });
                self.account(idx, 1);
            }
        }
    }
}

/// A fixed, seedless word-at-a-time hash (FxHash's mixing) for lookups by
/// node ID; the map is never iterated, so its order cannot leak into
/// decisions.
#[derive(Default)]
struct WordHash(u64);

impl WordHash {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHash {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.mix(u64::from(b));
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    /// The product's low bits are a function of the input's low bits only,
    /// and hashbrown picks buckets by the low bits: node addresses from an
    /// allocator that places same-sized objects at aligned strides (mimalloc,
    /// the binary's) would then crowd into a few buckets. Rotating brings
    /// the well-mixed high bits down (as rustc-hash 2 does).
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHash>>;

/// What a pass keeps per node it has looked at: the node's interned
/// computed class and its proposed load.
#[derive(Debug)]
struct Slot<'a> {
    /// The node; its ID is indexed in `slot_ids` only when a plan change
    /// or a lookup by ID needs it (see [`EvalContext::slot_by_id`]).
    node: &'a Node,
    /// `None` when the node has no computed class.
    class: Option<u32>,
    /// The node's proposed load in `EvalContext::loads` once materialized
    /// ([`NO_LOAD`] before): slots stay small, so making one for each of
    /// thousands of nodes copies little.
    load: u32,
    /// The node's score keys, by [`Scorer`].
    score_keys: [Option<Arc<str>>; 2],
    /// What the bin-packer reads of the node, copied here: a visit then
    /// reads the slot and the load, not the node (whose resources lie
    /// apart, on lines of their own, in a node record of its own).
    fit: NodeFit,
}

/// What the bin-packer reads of a node: its resources and reservation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeFit {
    pub capacity: Usage,
    pub reserved: Usage,
    /// Whether the reservation holds a network.
    pub reserved_networks: bool,
}

impl NodeFit {
    pub fn of(node: &Node) -> Self {
        NodeFit {
            capacity: node.resources.as_ref().map(Usage::of).unwrap_or_default(),
            reserved: node.reserved.as_ref().map(Usage::of).unwrap_or_default(),
            reserved_networks: node
                .reserved
                .as_ref()
                .is_some_and(|r| !r.networks.is_empty()),
        }
    }
}

/// [`Slot::load`] of a node whose load is not materialized yet.
const NO_LOAD: u32 = u32::MAX;

/// Everything one scheduler pass works with.
pub(crate) struct EvalContext<'a> {
    pub view: StateView<'a>,
    pub plan: Plan,
    /// The metric of the current selection.
    pub metrics: AllocMetric,
    pub eligibility: Eligibility,
    /// The job whose allocations count for anti-affinity and distinct_hosts.
    job_id: String,
    /// The group names of that job as the state stores it, for load
    /// entries to borrow.
    group_names: Vec<&'a str>,
    slots: Vec<Slot<'a>>,
    /// The materialized node loads, referred to by their slots.
    loads: Vec<NodeLoad<'a>>,
    /// The change entries of the loads the plan changed, referred to by
    /// their loads.
    changes: Vec<Changes<'a>>,
    /// Node address → slot: a selection visits nodes in random order, and
    /// this lookup touches no string of the node. Filled lazily, as
    /// `slot_ids`: the visits of a ring of preloaded nodes come with their
    /// slots ([`EvalContext::visit`]), and never need it.
    slot_of: FastMap<usize, u32>,
    /// How many slots (from the first) are in `slot_of`.
    addrs_indexed: usize,
    /// The last node looked up and its slot: one visit asks for the same
    /// node's slot several times in a row (class, load, scores).
    last_slot: (usize, u32),
    /// Node ID → slot, for plan changes that only know the ID. Filled
    /// lazily: a pass that changes no plan entry (all nodes exhausted)
    /// never hashes a node ID.
    slot_ids: FastMap<&'a str, u32>,
    /// How many slots (from the first) are in `slot_ids`.
    ids_indexed: usize,
    classes: Vec<&'a str>,
    class_ids: FastMap<&'a str, u32>,
    /// Regexes and version sets of the constraints, compiled once per pass.
    pub constraints: ConstraintCache,
    /// Where score keys are put together (see `score_key`).
    key_buf: String,
}

fn address(node: &Node) -> usize {
    node as *const Node as usize
}

impl<'a> EvalContext<'a> {
    pub fn new(view: StateView<'a>, plan: Plan, job_id: &str) -> Self {
        let group_names = view.state().job(job_id).map_or_else(Vec::new, |j| {
            j.task_groups.iter().map(|g| g.name.as_str()).collect()
        });
        EvalContext {
            view,
            plan,
            metrics: AllocMetric::default(),
            eligibility: Eligibility::default(),
            job_id: job_id.to_string(),
            group_names,
            slots: Vec::new(),
            loads: Vec::new(),
            changes: Vec::new(),
            slot_of: FastMap::default(),
            addrs_indexed: 0,
            last_slot: (0, 0),
            slot_ids: FastMap::default(),
            ids_indexed: 0,
            classes: Vec::new(),
            class_ids: FastMap::default(),
            constraints: ConstraintCache::default(),
            key_buf: String::new(),
        }
    }

    /// A fresh metric for the next selection; returns the finished one.
    pub fn take_metrics(&mut self) -> AllocMetric {
        std::mem::take(&mut self.metrics)
    }

    #[inline]
    fn intern_class(&mut self, class: &'a str) -> Option<u32> {
        if class.is_empty() {
            return None;
        }
        // Clusters are mostly homogeneous: try the last class first.
        if let Some(last) = self.classes.last() {
            if *last == class {
                return Some(self.classes.len() as u32 - 1);
            }
        }
        let next = self.classes.len() as u32;
        let id = *self.class_ids.entry(class).or_insert(next);
        if id == next {
            self.classes.push(class);
        }
        Some(id)
    }

    /// The slot of `node`: a visit asks for it several times in a row,
    /// and the first answer is kept (inlined, so that a repeated ask costs
    /// a comparison).
    #[inline]
    fn slot_index(&mut self, node: &'a Node) -> usize {
        if self.last_slot.0 == address(node) {
            return self.last_slot.1 as usize;
        }
        self.find_slot(node)
    }

    /// [`EvalContext::slot_index`] of a node other than the last one.
    #[inline(never)]
    fn find_slot(&mut self, node: &'a Node) -> usize {
        let addr = address(node);
        self.index_addresses();
        if let Some(&i) = self.slot_of.get(&addr) {
            self.last_slot = (addr, i);
            return i as usize;
        }
        self.new_slot(node)
    }

    /// Puts the addresses of the slots made since the last call in
    /// `slot_of`.
    fn index_addresses(&mut self) {
        if self.addrs_indexed < self.slots.len() {
            let new = &self.slots[self.addrs_indexed..];
            self.slot_of.reserve(new.len());
            for (i, s) in new.iter().enumerate() {
                self.slot_of
                    .insert(address(s.node), (self.addrs_indexed + i) as u32);
            }
            self.addrs_indexed = self.slots.len();
        }
    }

    /// Asks for what a visit of the node of `slot` will write: its score
    /// keys' reference counts (the keys of thousands of nodes lie apart).
    pub fn prefetch_visit(&self, slot: Option<u32>) {
        if let Some(s) = slot.and_then(|i| self.slots.get(i as usize)) {
            s.score_keys.iter().flatten().for_each(prefetch::counts);
        }
    }

    /// Counts a visit of `node` by a selection; `slot` is its slot when
    /// the caller knows it, so that the visit's checks find it at once.
    pub fn visit(&mut self, node: &'a Node, slot: Option<u32>) {
        self.evaluate_node();
        if let Some(i) = slot {
            debug_assert!(std::ptr::eq(self.slots[i as usize].node, node));
            self.last_slot = (address(node), i);
        }
    }

    /// Makes the slot of a node seen for the first time (kept out of
    /// [`EvalContext::slot_index`], which mostly finds one).
    #[inline(never)]
    fn new_slot(&mut self, node: &'a Node) -> usize {
        let addr = address(node);
        let class = self.intern_class(&node.computed_class);
        let i = self.slots.len();
        self.slots.push(Slot {
            node,
            class,
            load: NO_LOAD,
            score_keys: [None, None],
            fit: NodeFit::of(node),
        });
        // Every older slot is indexed (see `slot_index`).
        self.slot_of.insert(addr, i as u32);
        self.addrs_indexed = self.slots.len();
        self.last_slot = (addr, i as u32);
        i
    }

    fn slot(&mut self, node: &'a Node) -> &mut Slot<'a> {
        let i = self.slot_index(node);
        &mut self.slots[i]
    }

    /// Prepares `nodes` (ordered by ID, as [`ready_nodes_in_dcs`] returns
    /// them) for many visits: their slots, and (when that is cheaper than
    /// looking each node's allocations up on its first visit) their loads.
    /// The loads come from walking the nodes together with the state's
    /// node index and the plan's node maps, all ordered by node ID: no
    /// lookup per node. Returns each node's slot.
    ///
    /// `ring`, when given, is the order in which selections will visit the
    /// nodes (positions in `nodes`). A first preload that builds every
    /// load then lays the slots and loads out in that order, so that the
    /// visits read them one after another instead of all over the pass's
    /// memory (a pass over thousands of nodes does not fit in the cache).
    ///
    /// [`ready_nodes_in_dcs`]: crate::scheduler::pass::ready_nodes_in_dcs
    pub fn preload(
        &mut self,
        nodes: &[&'a Node],
        expected_visits: usize,
        ring: Option<&[u32]>,
    ) -> Vec<u32> {
        debug_assert!(
            nodes.windows(2).all(|w| w[0].id < w[1].id),
            "preload wants nodes ordered by ID"
        );
        self.slots.reserve(nodes.len());
        let mut slot_of_node = Vec::with_capacity(nodes.len());
        let mut fresh_slots = Vec::with_capacity(nodes.len());
        // A first preload makes every slot: their addresses are hashed
        // only if a lookup by address ever misses (see `slot_index`).
        let first = self.slots.is_empty();
        // A first preload that builds every load: one walk of the nodes
        // makes each slot and its load while the node is in cache.
        if first && expected_visits.min(nodes.len()) * 16 >= self.view.state().allocs.len() {
            return match ring {
                Some(ring) => self.preload_all(nodes, ring.iter().map(|&p| p as usize)),
                None => self.preload_all(nodes, 0..nodes.len()),
            };
        }
        if !first {
            self.index_addresses();
            self.slot_of.reserve(nodes.len());
        }
        for n in nodes {
            let class = self.intern_class(&n.computed_class);
            let new_slot = |slots: &mut Vec<Slot<'a>>| {
                slots.push(Slot {
                    node: n,
                    class,
                    load: NO_LOAD,
                    score_keys: [None, None],
                    fit: NodeFit::of(n),
                });
                slots.len() - 1
            };
            let i = if first {
                new_slot(&mut self.slots)
            } else {
                // One probe of the address map per node.
                match self.slot_of.entry(address(n)) {
                    HashEntry::Occupied(e) => *e.get() as usize,
                    HashEntry::Vacant(e) => {
                        let i = new_slot(&mut self.slots);
                        e.insert(i as u32);
                        i
                    }
                }
            };
            slot_of_node.push(i as u32);
            fresh_slots.push((self.slots[i].load == NO_LOAD).then_some(i as u32));
        }
        if !first {
            self.addrs_indexed = self.slots.len();
        }
        let fresh_count = fresh_slots.iter().flatten().count();
        let visited = expected_visits.min(fresh_count);
        // A lookup per visited node costs about as much as scanning 16
        // allocations.
        let state = self.view.state();
        if visited * 16 < state.allocs.len() {
            return slot_of_node;
        }
        self.loads.reserve(fresh_count);
        let job_id = self.job_id.as_str();
        // Node position → its load, if built here.
        let mut fresh = fresh_slots;
        let mut index = state
            .allocs_by_node
            .iter()
            .map(|(k, l)| (k, l.as_slice()))
            .peekable();
        for (node, fresh) in nodes.iter().zip(&mut fresh) {
            let on_node = allocs_on(&mut index, &node.id);
            if let Some(i) = *fresh {
                let l = self.loads.len() as u32;
                self.slots[i as usize].load = l;
                self.loads.push(NodeLoad::on_state(on_node, job_id));
                *fresh = Some(l);
            }
        }
        count_plan(
            &self.plan,
            nodes,
            &mut self.loads,
            &mut self.changes,
            job_id,
            |n| fresh[n],
        );
        slot_of_node
    }

    /// [`EvalContext::preload`] of `nodes` into a pass without slots,
    /// building every node's load; the slots and loads are laid out in
    /// `order` (every position in `nodes` once).
    fn preload_all(
        &mut self,
        nodes: &[&'a Node],
        order: impl ExactSizeIterator<Item = usize> + Clone,
    ) -> Vec<u32> {
        debug_assert_eq!(order.len(), nodes.len());
        self.slots.reserve(nodes.len());
        self.loads.reserve(nodes.len());
        let state = self.view.state();
        let job_id = std::mem::take(&mut self.job_id);
        // The state's allocations by node are walked in ID order, as the
        // nodes are; the slots are then made in `order`.
        let mut index = state
            .allocs_by_node
            .iter()
            .map(|(k, l)| (k, l.as_slice()))
            .peekable();
        let on_nodes: Vec<&'a [Arc<Allocation>]> =
            nodes.iter().map(|n| allocs_on(&mut index, &n.id)).collect();
        let mut slot_of_node = vec![0u32; nodes.len()];
        // In `order` the nodes are far apart: each is asked for ahead.
        let walk = prefetch::Ahead::new(
            order.map(|p| (p, nodes[p])),
            |(_, n)| prefetch::node(n),
            |(_, n)| prefetch::node_strings(n),
        );
        for (i, (p, n)) in walk.enumerate() {
            let class = self.intern_class(&n.computed_class);
            slot_of_node[p] = i as u32;
            self.slots.push(Slot {
                node: n,
                class,
                load: i as u32,
                score_keys: [None, None],
                fit: NodeFit::of(n),
            });
            self.loads.push(NodeLoad::on_state(on_nodes[p], &job_id));
        }
        count_plan(
            &self.plan,
            nodes,
            &mut self.loads,
            &mut self.changes,
            &job_id,
            |p| Some(slot_of_node[p]),
        );
        self.job_id = job_id;
        slot_of_node
    }

    /// The node with this ID: found through the pass's slots when it has
    /// one (a hash lookup), else in the state.
    pub fn node_by_id(&mut self, id: &str) -> Option<&'a Node> {
        match self.slot_by_id(id) {
            Some(i) => Some(self.slots[i].node),
            None => self.view.node(id),
        }
    }

    /// The interned computed class of `node` (`None` without one).
    pub fn class_of(&mut self, node: &'a Node) -> Option<u32> {
        self.slot(node).class
    }

    /// Class ID → computed class, as learned by this pass.
    pub fn class_eligibility(&self) -> BTreeMap<String, bool> {
        self.eligibility.classes(&self.classes)
    }

    /// The proposed load of `node` (materialized on first use).
    #[cfg(test)]
    pub fn node_load(&mut self, node: &'a Node) -> LoadRef<'_, 'a> {
        let l = self.load_index(node);
        self.loads[l].with(&self.changes)
    }

    /// The slot of `node`, what the bin-packer reads of the node (kept in
    /// the slot) and the node's proposed load.
    pub fn node_fit_and_load(&mut self, node: &'a Node) -> (usize, NodeFit, LoadRef<'_, 'a>) {
        let i = self.slot_index(node);
        let fit = self.slots[i].fit;
        let l = self.load_index(node);
        (i, fit, self.loads[l].with(&self.changes))
    }

    /// Proposed allocations of the evaluated job on `node` in `group` (all
    /// groups if `None`).
    pub fn job_allocs_on(&mut self, node: &'a Node, group: Option<&str>) -> usize {
        let l = self.load_index(node);
        self.loads[l]
            .with(&self.changes)
            .job_allocs_in(&self.job_id, group)
    }

    /// The index of `node`'s load in `loads`, found by the node (no lookup
    /// by ID). Inlined: a selection asks for the load of every node it
    /// visits, mostly preloaded.
    #[inline]
    fn load_index(&mut self, node: &'a Node) -> usize {
        let i = self.slot_index(node);
        let mut l = self.slots[i].load;
        if l == NO_LOAD {
            l = self.materialize_load(i);
        }
        l as usize
    }

    /// Builds the load of the node of slot `i` from the state and the
    /// plan; returns its index.
    #[inline(never)]
    fn materialize_load(&mut self, i: usize) -> u32 {
        let node_id: &'a str = &self.slots[i].node.id;
        let mut load = NodeLoad::on_state(self.view.allocs_on_node(node_id), &self.job_id);
        let stops = self.plan.node_update.get(node_id);
        let placed = self.plan.node_allocation.get(node_id);
        if stops.is_some() || placed.is_some() {
            let mut load = load.with_mut(&mut self.changes);
            for a in stops.into_iter().flatten() {
                load.stop(a, &self.job_id);
            }
            for a in placed.into_iter().flatten() {
                load.plan(a, &self.job_id, false);
            }
        }
        let l = self.loads.len() as u32;
        self.slots[i].load = l;
        self.loads.push(load);
        l
    }

    /// The index in `loads` of the load of the node with this ID, if
    /// materialized.
    fn load_of_id(&mut self, node_id: &str) -> Option<usize> {
        let i = self.slot_by_id(node_id)?;
        let l = self.slots[i].load;
        (l != NO_LOAD).then_some(l as usize)
    }

    /// The slot of the node with this ID, if the pass has one; indexes the
    /// IDs of the slots made since the last call first.
    fn slot_by_id(&mut self, node_id: &str) -> Option<usize> {
        if self.ids_indexed < self.slots.len() {
            let new = &self.slots[self.ids_indexed..];
            self.slot_ids.reserve(new.len());
            for (i, s) in new.iter().enumerate() {
                self.slot_ids
                    .insert(&s.node.id, (self.ids_indexed + i) as u32);
            }
            self.ids_indexed = self.slots.len();
        }
        self.slot_ids.get(node_id).map(|&i| i as usize)
    }

    /// Nomad's `Plan.AppendUpdate`: plan a stop of `alloc`.
    pub fn append_update(
        &mut self,
        alloc: &Allocation,
        desired_status: &str,
        description: &str,
        client_status: &str,
    ) {
        let mut copy = alloc.clone();
        if self.plan.job.is_none() && copy.job.is_some() {
            self.plan.job = copy.job.clone();
        }
        copy.job = None;
        copy.resources = None;
        copy.desired_status = desired_status.to_string();
        copy.desired_description = description.to_string();
        if !client_status.is_empty() {
            copy.client_status = client_status.to_string();
        }
        if let Some(l) = self.load_of_id(&alloc.node_id) {
            self.loads[l]
                .with_mut(&mut self.changes)
                .stop(alloc, &self.job_id);
        }
        push_to_node(&mut self.plan.node_update, Arc::new(copy));
    }

    /// Nomad's `Plan.PopUpdate`: undo the last planned stop of `alloc`.
    pub fn pop_update(&mut self, alloc: &Allocation) {
        let Some(list) = self.plan.node_update.get_mut(&alloc.node_id) else {
            return;
        };
        if list.last().is_some_and(|a| a.id == alloc.id) {
            list.pop();
            if list.is_empty() {
                self.plan.node_update.remove(&alloc.node_id);
            }
            if let Some(l) = self.load_of_id(&alloc.node_id) {
                self.loads[l]
                    .with_mut(&mut self.changes)
                    .unstop(&alloc.id, &self.job_id);
            }
        }
    }

    /// Counts `alloc` as stopped while its node is examined for an in-place
    /// update. Only the node's load changes; with `in_plan` (when
    /// distinct_property sets read the plan) the stop is planned too.
    pub fn stage_stop(&mut self, node: &'a Node, alloc: &Allocation, in_plan: bool) {
        if in_plan {
            self.append_update(
                alloc,
                crate::model::ALLOC_DESIRED_STOP,
                crate::scheduler::reconcile::ALLOC_IN_PLACE,
                "",
            );
            return;
        }
        let l = self.load_index(node);
        self.reserve_changes();
        self.loads[l]
            .with_mut(&mut self.changes)
            .stop(alloc, &self.job_id);
    }

    /// Room in `changes` for an entry per materialized load: an in-place
    /// pass changes every node it visits, and growing the list one
    /// doubling at a time copies it again and again.
    fn reserve_changes(&mut self) {
        if self.changes.len() == self.changes.capacity() {
            let want = self.loads.len().saturating_sub(self.changes.len());
            self.changes.reserve(want.max(1));
        }
    }

    /// Undoes [`EvalContext::stage_stop`].
    pub fn unstage_stop(&mut self, node: &'a Node, alloc: &Allocation, in_plan: bool) {
        if in_plan {
            self.pop_update(alloc);
        } else {
            let l = self.load_index(node);
            self.loads[l]
                .with_mut(&mut self.changes)
                .unstop(&alloc.id, &self.job_id);
        }
    }

    /// Plans a brand-new allocation (a fresh ID).
    #[cfg(test)]
    pub fn append_placement(&mut self, alloc: Arc<Allocation>) {
        self.append_alloc(alloc, true);
    }

    /// Plans a new version of an existing allocation (same ID).
    pub fn append_in_place(&mut self, alloc: Arc<Allocation>) {
        self.append_alloc(alloc, false);
    }

    /// [`EvalContext::append_placement`] on `node` (the node `alloc` goes
    /// to, as the stack ranked it): its load is found by the node's address,
    /// so a system pass placing on thousands of nodes never indexes them by
    /// ID.
    pub fn append_placement_on(&mut self, node: &'a Node, alloc: Arc<Allocation>) {
        debug_assert_eq!(node.id, alloc.node_id);
        let slot = self.existing_slot(node);
        self.append_alloc_at(slot, alloc, true);
    }

    /// [`EvalContext::append_placement`] on the node of `slot` (as
    /// [`RankedNode::slot`] gives it): no lookup at all.
    ///
    /// [`RankedNode::slot`]: crate::scheduler::rank::RankedNode::slot
    pub fn append_placement_in(&mut self, slot: usize, alloc: Arc<Allocation>) {
        debug_assert_eq!(self.slots[slot].node.id, alloc.node_id);
        self.append_alloc_at(Some(slot), alloc, true);
    }

    fn append_alloc(&mut self, alloc: Arc<Allocation>, fresh: bool) {
        let slot = self.slot_by_id(&alloc.node_id);
        self.append_alloc_at(slot, alloc, fresh);
    }

    /// Plans `alloc`, counting it in the load of the node's slot if the
    /// pass has one with a load.
    fn append_alloc_at(&mut self, slot: Option<usize>, alloc: Arc<Allocation>, fresh: bool) {
        let group = self
            .group_names
            .iter()
            .find(|g| **g == alloc.task_group)
            .copied();
        let load = slot.map(|i| self.slots[i].load).filter(|&l| l != NO_LOAD);
        if let Some(l) = load {
            self.reserve_changes();
            self.loads[l as usize]
                .with_mut(&mut self.changes)
                .plan_in_group(&alloc, &self.job_id, fresh, group);
        }
        push_to_node(&mut self.plan.node_allocation, alloc);
    }

    /// The slot of `node` if the pass made one (none is made here).
    fn existing_slot(&mut self, node: &Node) -> Option<usize> {
        let addr = address(node);
        if self.last_slot.0 == addr {
            return Some(self.last_slot.1 as usize);
        }
        self.index_addresses();
        self.slot_of.get(&addr).map(|&i| i as usize)
    }

    // ---- metrics (Nomad's AllocMetric methods, without re-allocating keys)

    pub fn evaluate_node(&mut self) {
        self.metrics.nodes_evaluated += 1;
    }

    pub fn filter_node(&mut self, node: &Node, reason: &str) {
        self.metrics.filter_node(&node.node_class, reason);
    }

    pub fn exhausted_node(&mut self, node: &Node, dimension: &str) {
        self.metrics.exhausted_node(&node.node_class, dimension);
    }

    /// Nomad's `ScoreNode`. The `<node>.<scorer>` key is made once per node
    /// and pass, and shared by every metric that scores the node.
    pub fn score_node(&mut self, node: &'a Node, scorer: Scorer, score: f64) {
        let i = self.slot_index(node);
        let key = self.slots[i].score_keys[scorer as usize]
            .get_or_insert_with(|| score_key(&mut self.key_buf, &node.id, scorer))
            .clone();
        // Keys start with random node IDs: most comparisons are decided
        // by their first eight bytes.
        self.metrics
            .scores
            .insert_ordered_by(key, score, |a, b| cmp_id(a, b));
    }
}

/// Advances `index` (the state's allocations by node, in ID order) past
/// `node_id` and returns that node's allocations (none if it has none).
fn allocs_on<'s>(
    index: &mut std::iter::Peekable<impl Iterator<Item = (&'s String, &'s [Arc<Allocation>])>>,
    node_id: &str,
) -> &'s [Arc<Allocation>] {
    let mut on_node: &[Arc<Allocation>] = &[];
    while let Some((key, list)) = index.peek() {
        match cmp_id(key, node_id) {
            Ordering::Less => {}
            Ordering::Equal => on_node = list,
            Ordering::Greater => break,
        }
        index.next();
    }
    on_node
}

/// Counts the plan's stops and placements on `nodes` (ordered by ID) into
/// their loads; `load_of(n)` is the load of the node at position `n`, if
/// it is one being built.
fn count_plan<'a>(
    plan: &Plan,
    nodes: &[&Node],
    loads: &mut [NodeLoad<'a>],
    changes: &mut Vec<Changes<'a>>,
    job_id: &str,
    load_of: impl Fn(usize) -> Option<u32>,
) {
    join_by_id(nodes, plan.node_update.iter(), |n, list| {
        if let Some(l) = load_of(n) {
            let mut load = loads[l as usize].with_mut(changes);
            for a in list {
                load.stop(a, job_id);
            }
        }
    });
    join_by_id(nodes, plan.node_allocation.iter(), |n, list| {
        if let Some(l) = load_of(n) {
            let mut load = loads[l as usize].with_mut(changes);
            for a in list {
                load.plan(a, job_id, false);
            }
        }
    });
}

/// Walks `nodes` (ordered by ID) and `entries` (ordered by key) together,
/// calling `f` with the position of the node each key names and the
/// entry's value; keys naming no node of the list are skipped.
fn join_by_id<'n, V>(
    nodes: &[&Node],
    entries: impl Iterator<Item = (&'n String, V)>,
    mut f: impl FnMut(usize, V),
) {
    let mut n = 0;
    for (key, value) in entries {
        loop {
            let Some(node) = nodes.get(n) else {
                return;
            };
            match cmp_id(&node.id, key) {
                Ordering::Less => n += 1,
                Ordering::Equal => {
                    f(n, value);
                    n += 1;
                    break;
                }
                Ordering::Greater => break,
            }
        }
    }
}

/// String order of two IDs (or keys starting with one), decided by their
/// first eight bytes when those differ (random IDs almost always do)
/// without a call to `memcmp`.
fn cmp_id(a: &str, b: &str) -> Ordering {
    let head = |s: &str| {
        s.as_bytes()
            .first_chunk::<8>()
            .map(|h| u64::from_be_bytes(*h))
    };
    match (head(a), head(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// `<node id>.<scorer>`, built without the formatting machinery and
/// allocated once (a system pass makes one per node).
fn score_key(buf: &mut String, node_id: &str, scorer: Scorer) -> Arc<str> {
    // Joined in a buffer kept for the pass: neither a string per key nor
    // a UTF-8 check of the joined bytes.
    buf.clear();
    buf.push_str(node_id);
    buf.push('.');
    buf.push_str(scorer.name());
    Arc::from(buf.as_str())
}

/// Appends `alloc` to its node's list of a plan. Most nodes get one
/// allocation: a new list is made with room for exactly one.
fn push_to_node(lists: &mut NodeMap<Vec<Arc<Allocation>>>, alloc: Arc<Allocation>) {
    lists
        .get_or_insert_with(&alloc.node_id, || Vec::with_capacity(1))
        .push(alloc);
}

/// The scorers of Nomad v0.6's ranking, as they name their scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scorer {
    BinPack = 0,
    JobAntiAffinity = 1,
}

impl Scorer {
    pub fn name(self) -> &'static str {
        match self {
            Scorer::BinPack => "binpack",
            Scorer::JobAntiAffinity => "job-anti-affinity",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ALLOC_DESIRED_STOP;

    fn alloc(id: &str, node: &str, job: &str, cpu: i64) -> Allocation {
        Allocation {
            id: id.into(),
            node_id: node.into(),
            job_id: job.into(),
            task_group: "web".into(),
            task_resources: [(
                "t".to_string(),
                Resources {
                    cpu,
                    memory_mb: 10,
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            shared_resources: Some(Resources {
                disk_mb: 300,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn node(id: &str) -> Node {
        Node {
            id: id.into(),
            computed_class: "v1:1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn node_load_follows_stops_pops_and_in_place_updates() {
        let state = ClusterState::default();
        let n1 = node("n1");
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        assert_eq!(ctx.node_load(&n1).used, Usage::default());
        let a = alloc("a", "n1", "j", 100);
        ctx.append_placement(Arc::new(a.clone()));
        ctx.append_placement(Arc::new(alloc("b", "n1", "other", 50)));
        let l = ctx.node_load(&n1);
        assert_eq!((l.used.cpu, l.used.disk_mb, l.job_allocs), (150, 600, 1));
        // An in-place version of "a" replaces it rather than adding to it.
        ctx.append_in_place(Arc::new(alloc("a", "n1", "j", 400)));
        assert_eq!(ctx.node_load(&n1).used.cpu, 450);
        assert_eq!(ctx.plan.node_allocation["n1"].len(), 3);
        // A planned stop of a state allocation that is not live changes
        // nothing; popping it restores the plan exactly.
        let mut gone = alloc("z", "n1", "j", 1000);
        gone.desired_status = ALLOC_DESIRED_STOP.into();
        ctx.append_update(&gone, ALLOC_DESIRED_STOP, "x", "");
        assert_eq!(ctx.node_load(&n1).used.cpu, 450);
        assert_eq!(ctx.plan.node_update["n1"][0].desired_description, "x");
        ctx.pop_update(&gone);
        assert!(ctx.plan.node_update.is_empty());
        assert_eq!(ctx.job_allocs_on(&n1, Some("web")), 1);
    }

    #[test]
    fn load_built_late_sees_the_plan_so_far() {
        let state = ClusterState::default();
        let n2 = node("n2");
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        ctx.append_placement(Arc::new(alloc("a", "n2", "j", 70)));
        let l = ctx.node_load(&n2);
        assert_eq!((l.used.cpu, l.used.memory_mb, l.job_allocs), (70, 10, 1));
    }

    #[test]
    fn state_allocations_get_an_entry_only_when_the_plan_touches_them() {
        let mut with_net = alloc("s2", "n1", "j", 200);
        with_net.task_resources.get_mut("t").unwrap().networks = vec![NetworkResource {
            device: "eth0".into(),
            mbits: 50,
            ..Default::default()
        }];
        let mut done = alloc("s3", "n1", "j", 999);
        done.desired_status = ALLOC_DESIRED_STOP.into();
        let state: Vec<Arc<Allocation>> = [alloc("s1", "n1", "other", 100), with_net, done]
            .into_iter()
            .map(Arc::new)
            .collect();
        let mut load = NodeLoad::on_state(&state, "j");
        let mut changes = Vec::new();
        // The terminal "s3" does not count.
        assert_eq!(
            (load.used.cpu, load.job_allocs, load.net_allocs),
            (300, 1, 1)
        );
        assert!(load.with(&changes).changes.is_empty());
        assert_eq!(load.with(&changes).job_allocs_in("j", Some("web")), 1);
        let mbits: Vec<_> = load.with(&changes).networks().map(|n| n.mbits).collect();
        assert_eq!(mbits, [50]);
        // Stopping "s2" takes it out; its entry now stands for it.
        load.with_mut(&mut changes).stop(&state[1], "j");
        assert_eq!(
            (load.used.cpu, load.job_allocs, load.net_allocs),
            (100, 0, 0)
        );
        assert_eq!(load.with(&changes).changes.len(), 1);
        assert_eq!(load.with(&changes).networks().count(), 0);
        assert_eq!(load.with(&changes).job_allocs_in("j", None), 0);
        // An in-place version of "s2" counts instead of the stopped one.
        load.with_mut(&mut changes)
            .plan(&alloc("s2", "n1", "j", 250), "j", false);
        assert_eq!((load.used.cpu, load.job_allocs), (350, 1));
        assert_eq!(load.with(&changes).changes.len(), 1);
        load.with_mut(&mut changes).unstop("s2", "j");
        assert_eq!(load.used.cpu, 350);
        // A stop of the terminal "s3" changes nothing but is remembered.
        load.with_mut(&mut changes).stop(&state[2], "j");
        assert_eq!(
            (
                load.used.cpu,
                load.with(&changes).changes.len(),
                load.from_state
            ),
            (350, 2, 1)
        );
        assert_eq!(load.with(&changes).job_allocs_in("j", Some("web")), 1);
    }

    #[test]
    fn nodes_and_keys_are_joined_in_id_order() {
        let ids = ["a", "aaaaaaaa-1", "aaaaaaaa-2", "b", "bbbbbbbbbbbb"];
        let nodes: Vec<Node> = ids.iter().map(|id| node(id)).collect();
        let refs: Vec<&Node> = nodes.iter().collect();
        let keys: BTreeMap<String, u32> = [
            ("0", 0),
            ("aaaaaaaa-2", 2),
            ("aaaaaaaa-3", 3),
            ("bbbbbbbbbbbb", 4),
            ("c", 5),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut seen = Vec::new();
        join_by_id(&refs, keys.iter(), |n, v| seen.push((ids[n], *v)));
        assert_eq!(seen, [("aaaaaaaa-2", 2), ("bbbbbbbbbbbb", 4)]);
        assert_eq!(cmp_id("aaaaaaaa-1", "aaaaaaaa-2"), Ordering::Less);
        assert_eq!(cmp_id("b", "aaaaaaaa-2"), Ordering::Greater);
        assert_eq!(cmp_id("abcdefgh", "abcdefgh"), Ordering::Equal);
        assert_eq!(cmp_id("abcdefgi", "abcdefgh0"), Ordering::Greater);
    }

    #[test]
    fn preloading_matches_lazy_loads() {
        use crate::scheduler::fixtures::{job_doc, node as ready_node, prepare, Cluster};
        let mut c =
            Cluster::with_nodes((1..=3).map(|i| ready_node(&format!("n{i}"), "dc1", 4000, 8192)));
        c.run_job(prepare(&job_doc("a", "service", 4, 100, 64)), 1);
        c.run_job(prepare(&job_doc("b", "service", 2, 300, 64)), 2);
        let victim = c.live("a")[0].clone();
        let nodes: Vec<&Node> = c.state.nodes().map(|n| &**n).collect();
        // Lazy loads, a preload in ID order, and one laid out in a ring's
        // order (here the reverse): every node has the same load.
        let reversed: Vec<u32> = (0..nodes.len() as u32).rev().collect();
        let build = |preload: Option<Option<&[u32]>>| -> Vec<(Usage, u32)> {
            let mut ctx = EvalContext::new(StateView::new(&c.state), Plan::default(), "a");
            ctx.append_update(&victim, "stop", "x", "");
            ctx.append_placement(Arc::new(alloc("new", &nodes[1].id, "a", 7)));
            if let Some(ring) = preload {
                let slots = ctx.preload(&nodes, usize::MAX, ring);
                if let Some(ring) = ring {
                    // The slots follow the ring.
                    for (i, &p) in ring.iter().enumerate() {
                        assert_eq!(slots[p as usize], i as u32);
                        assert!(std::ptr::eq(ctx.slots[i].node, nodes[p as usize]));
                    }
                }
            }
            nodes
                .iter()
                .map(|n| {
                    let l = ctx.node_load(n);
                    (l.used, l.job_allocs)
                })
                .collect()
        };
        let lazy = build(None);
        assert_eq!(build(Some(None)), lazy);
        assert_eq!(build(Some(Some(&reversed))), lazy);
        assert_eq!(lazy.iter().map(|(_, j)| j).sum::<u32>(), 4);
        assert_eq!(
            lazy.iter().map(|(u, _)| u.cpu).sum::<i64>(),
            3 * 100 + 2 * 300 + 7
        );
    }

    #[test]
    fn classes_are_interned_per_pass() {
        let state = ClusterState::default();
        let (a, b, c) = (node("a"), node("b"), Node::default());
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        assert_eq!(ctx.class_of(&a), Some(0));
        assert_eq!(ctx.class_of(&b), Some(0));
        assert_eq!(ctx.class_of(&c), None);
        ctx.eligibility.set_job_eligibility(true, 0);
        assert_eq!(ctx.class_eligibility(), [("v1:1".to_string(), true)].into());
    }

    #[test]
    fn metric_helpers_count_like_nomad() {
        let state = ClusterState::default();
        let mut ctx = EvalContext::new(StateView::new(&state), Plan::default(), "j");
        let node = Node {
            id: "n".into(),
            node_class: "c".into(),
            ..Default::default()
        };
        ctx.filter_node(&node, "r");
        ctx.filter_node(&node, "r");
        ctx.exhausted_node(&node, "cpu exhausted");
        ctx.score_node(&node, Scorer::BinPack, 1.5);
        let m = ctx.take_metrics();
        assert_eq!(m.nodes_filtered, 2);
        assert_eq!(m.class_filtered["c"], 2);
        assert_eq!(m.constraint_filtered["r"], 2);
        assert_eq!(m.dimension_exhausted["cpu exhausted"], 1);
        assert_eq!(m.scores["n.binpack"], 1.5);
        assert_eq!(ctx.metrics, AllocMetric::default());
    }
}
