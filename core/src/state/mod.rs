//! The cluster state and the commands that change it.
//!
//! [`ClusterState`] holds every table Nomad's state store holds (jobs, job
//! versions, summaries, evaluations, allocations, nodes, deployments,
//! periodic launches) in memory. It changes only through
//! [`ClusterState::apply`], a pure function of the state and a [`Command`];
//! a command carries every input the core may not choose itself (time,
//! random IDs). Replaying the same commands in the same order rebuilds the
//! same state, which is how the server recovers and how replicas agree.
//!
//! Indexes follow Nomad's raft log: a command advances the state's index by
//! as many entries as Nomad would write for it (a register writes the job,
//! then its evaluation, at two consecutive indexes), so index relations seen
//! by clients match Nomad's. A command that fails changes nothing, not even
//! the index.

mod allocs;
mod bookkeeping;
mod commands;
mod index;
mod jobs;
pub mod snapshot;
mod writes;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Allocation, Deployment, Evaluation, Job, JobSummary, Node};

pub use commands::{
    AllocClientUpdate, Command, DeregisterReply, DispatchReply, EvaluateReply, ForceReply,
    RegisterReply, Reply,
};
pub(crate) use index::AllocList;
use index::{resolve_index, AllocIndex};
pub(crate) use jobs::spec_changed;

/// A state-store table, for per-table indexes and watch notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Table {
    Jobs,
    JobVersions,
    JobSummary,
    Evals,
    Allocs,
    Nodes,
    Deployments,
    PeriodicLaunch,
}

impl Table {
    pub const ALL: [Table; 8] = [
        Table::Jobs,
        Table::JobVersions,
        Table::JobSummary,
        Table::Evals,
        Table::Allocs,
        Table::Nodes,
        Table::Deployments,
        Table::PeriodicLaunch,
    ];
}

/// Settings fixed for the life of a state (every replica uses the same).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StateConfig {
    /// Whether the cluster has Vault; v0.6 rejects Vault policies without.
    pub vault_enabled: bool,
}

/// The last launch of a periodic job (Nomad's `PeriodicLaunch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodicLaunch {
    /// The periodic parent's ID.
    pub id: String,
    /// Unix nanoseconds of the last launch (or of the first registration).
    pub launch: i64,
    pub create_index: u64,
    pub modify_index: u64,
}

/// The outcome of a successful [`ClusterState::apply`].
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The state's index after the command.
    pub index: u64,
    /// Tables the command wrote (watchers of these must wake).
    pub tables: BTreeSet<Table>,
    /// Keys of changed objects, for fine-grained watchers (job IDs,
    /// lower-cased).
    pub jobs: BTreeSet<String>,
    pub reply: Reply,
}

/// A command the state refuses; the text is Nomad's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ApplyError(pub String);

impl ApplyError {
    pub fn new(s: impl Into<String>) -> Self {
        ApplyError(s.into())
    }
}

/// Everything the scheduler and the API read. Cloning is cheap (shared
/// entries), so a snapshot is a clone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "StateRecord")]
pub struct ClusterState {
    pub(crate) config: StateConfig,
    pub(crate) index: u64,
    pub(crate) table_index: BTreeMap<Table, u64>,
    /// Lower-cased job ID → current job.
    pub(crate) jobs: BTreeMap<String, Arc<Job>>,
    /// Lower-cased job ID → versions, newest first.
    pub(crate) job_versions: BTreeMap<String, Vec<Arc<Job>>>,
    /// Lower-cased job ID → summary.
    pub(crate) summaries: BTreeMap<String, JobSummary>,
    pub(crate) evals: BTreeMap<String, Arc<Evaluation>>,
    /// Job ID (exact) → eval IDs.
    pub(crate) evals_by_job: BTreeMap<String, BTreeSet<String>>,
    pub(crate) allocs: BTreeMap<String, Arc<Allocation>>,
    /// Job ID (exact) → its allocations (serialized as their IDs).
    pub(crate) allocs_by_job: AllocIndex,
    /// Node ID → the allocations placed there (serialized as their IDs).
    pub(crate) allocs_by_node: AllocIndex,
    pub(crate) nodes: BTreeMap<String, Arc<Node>>,
    pub(crate) deployments: BTreeMap<String, Arc<Deployment>>,
    /// Lower-cased job ID → last launch.
    pub(crate) periodic_launches: BTreeMap<String, PeriodicLaunch>,
    /// Parent ID → idempotency token → dispatched child ID (nested so the
    /// state serializes as JSON, whose keys are strings).
    pub(crate) dispatch_tokens: BTreeMap<String, BTreeMap<String, String>>,
}

/// The serialized state; the allocation indexes are lists of IDs there.
#[derive(Deserialize)]
struct StateRecord {
    config: StateConfig,
    index: u64,
    table_index: BTreeMap<Table, u64>,
    jobs: BTreeMap<String, Arc<Job>>,
    job_versions: BTreeMap<String, Vec<Arc<Job>>>,
    summaries: BTreeMap<String, JobSummary>,
    evals: BTreeMap<String, Arc<Evaluation>>,
    evals_by_job: BTreeMap<String, BTreeSet<String>>,
    allocs: BTreeMap<String, Arc<Allocation>>,
    allocs_by_job: BTreeMap<String, Vec<String>>,
    allocs_by_node: BTreeMap<String, Vec<String>>,
    nodes: BTreeMap<String, Arc<Node>>,
    deployments: BTreeMap<String, Arc<Deployment>>,
    periodic_launches: BTreeMap<String, PeriodicLaunch>,
    dispatch_tokens: BTreeMap<String, BTreeMap<String, String>>,
}

impl From<StateRecord> for ClusterState {
    fn from(r: StateRecord) -> Self {
        let allocs_by_job = resolve_index(r.allocs_by_job, &r.allocs);
        let allocs_by_node = resolve_index(r.allocs_by_node, &r.allocs);
        // A current job equal to its newest version shares its `Arc`, as
        // in the state that was written.
        let mut jobs = r.jobs;
        for (k, job) in jobs.iter_mut() {
            if let Some(newest) = r.job_versions.get(k).and_then(|v| v.first()) {
                if !Arc::ptr_eq(job, newest) && job == newest {
                    *job = newest.clone();
                }
            }
        }
        ClusterState {
            config: r.config,
            index: r.index,
            table_index: r.table_index,
            jobs,
            job_versions: r.job_versions,
            summaries: r.summaries,
            evals: r.evals,
            evals_by_job: r.evals_by_job,
            allocs: r.allocs,
            allocs_by_job,
            allocs_by_node,
            nodes: r.nodes,
            deployments: r.deployments,
            periodic_launches: r.periodic_launches,
            dispatch_tokens: r.dispatch_tokens,
        }
    }
}

pub(crate) fn key(id: &str) -> String {
    id.to_lowercase()
}

/// [`key`] without a copy when `id` is lower case already (for lookups).
pub(crate) fn key_ref(id: &str) -> Cow<'_, str> {
    if id.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(id)
    } else {
        Cow::Owned(id.to_lowercase())
    }
}

impl ClusterState {
    pub fn new(config: StateConfig) -> Self {
        ClusterState {
            config,
            ..Default::default()
        }
    }

    pub fn config(&self) -> &StateConfig {
        &self.config
    }

    /// The index of the last applied write (0 when empty).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The index of the last write to `table` (0 if never written).
    pub fn table_index(&self, table: Table) -> u64 {
        self.table_index.get(&table).copied().unwrap_or(0)
    }

    /// Applies `command`: on success the state has advanced; on error it is
    /// unchanged. Pure and deterministic.
    pub fn apply(&mut self, command: Command) -> Result<Applied, ApplyError> {
        writes::apply(self, command)
    }

    // ---- jobs ----

    /// The current job with this ID (case-insensitive).
    pub fn job(&self, id: &str) -> Option<&Arc<Job>> {
        self.jobs.get(key_ref(id).as_ref())
    }

    /// Every job, ordered by lower-cased ID.
    pub fn jobs(&self) -> impl Iterator<Item = &Arc<Job>> {
        self.jobs.values()
    }

    /// Jobs whose ID starts with `prefix` (case-insensitive), in order.
    pub fn jobs_by_prefix<'a>(&'a self, prefix: &str) -> impl Iterator<Item = &'a Arc<Job>> + 'a {
        let p = key(prefix);
        self.jobs
            .range(p.clone()..)
            .take_while(move |(k, _)| k.starts_with(&p))
            .map(|(_, j)| j)
    }

    /// Stored versions of the job with exactly this ID, newest first.
    pub fn job_versions(&self, id: &str) -> Vec<Arc<Job>> {
        self.job_versions
            .get(&key(id))
            .map(|v| v.iter().filter(|j| j.id == id).cloned().collect())
            .unwrap_or_default()
    }

    /// One stored version of the job (exact ID).
    pub fn job_version(&self, id: &str, version: u64) -> Option<Arc<Job>> {
        self.job_versions
            .get(&key(id))?
            .iter()
            .find(|j| j.id == id && j.version == version)
            .cloned()
    }

    pub fn job_summary(&self, id: &str) -> Option<&JobSummary> {
        self.summaries.get(key_ref(id).as_ref())
    }

    pub fn periodic_launch(&self, id: &str) -> Option<&PeriodicLaunch> {
        self.periodic_launches.get(&key(id))
    }

    /// Jobs the periodic dispatcher must launch children of.
    pub fn tracked_periodic_jobs(&self) -> impl Iterator<Item = &Arc<Job>> {
        self.jobs.values().filter(|j| j.is_periodic_tracked())
    }

    // ---- evaluations ----

    pub fn eval(&self, id: &str) -> Option<&Arc<Evaluation>> {
        self.evals.get(id)
    }

    /// Every evaluation, ordered by ID.
    pub fn evals(&self) -> impl Iterator<Item = &Arc<Evaluation>> {
        self.evals.values()
    }

    /// Evaluations whose `JobID` is exactly `job_id`, ordered by ID.
    pub fn evals_by_job(&self, job_id: &str) -> Vec<Arc<Evaluation>> {
        self.evals_by_job
            .get(job_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.evals.get(id).cloned())
            .collect()
    }

    // ---- allocations ----

    pub fn alloc(&self, id: &str) -> Option<&Arc<Allocation>> {
        self.allocs.get(id)
    }

    /// Every allocation, ordered by ID.
    pub fn allocs(&self) -> impl Iterator<Item = &Arc<Allocation>> {
        self.allocs.values()
    }

    /// Allocations of `job_id`, ordered by ID. Unless `all`, allocations of
    /// an earlier job with the same ID (another `CreateIndex`) are hidden.
    pub fn allocs_by_job(&self, job_id: &str, all: bool) -> Vec<Arc<Allocation>> {
        let Some(list) = self.allocs_by_job.get(job_id) else {
            return Vec::new();
        };
        let current = self.job(job_id).map(|j| j.create_index);
        if all || current.is_none() {
            return list.to_vec();
        }
        list.iter()
            .filter(|a| a.job.as_ref().map(|j| j.create_index) == current)
            .cloned()
            .collect()
    }

    /// Allocations placed on `node_id`, ordered by ID.
    pub fn allocs_by_node(&self, node_id: &str) -> Vec<Arc<Allocation>> {
        self.allocs_by_node
            .get(node_id)
            .map(AllocList::to_vec)
            .unwrap_or_default()
    }

    // ---- nodes and deployments ----

    pub fn node(&self, id: &str) -> Option<&Arc<Node>> {
        self.nodes.get(id)
    }

    /// Every node, ordered by ID.
    pub fn nodes(&self) -> impl Iterator<Item = &Arc<Node>> {
        self.nodes.values()
    }

    pub fn deployment(&self, id: &str) -> Option<&Arc<Deployment>> {
        self.deployments.get(id)
    }

    /// Every deployment, ordered by ID.
    pub fn deployments(&self) -> impl Iterator<Item = &Arc<Deployment>> {
        self.deployments.values()
    }

    /// Deployments of `job_id` (exact), ordered by ID.
    pub fn deployments_by_job(&self, job_id: &str) -> Vec<Arc<Deployment>> {
        self.deployments
            .values()
            .filter(|d| d.job_id == job_id)
            .cloned()
            .collect()
    }

    /// The deployment of `job_id` with the highest `CreateIndex`.
    pub fn latest_deployment(&self, job_id: &str) -> Option<Arc<Deployment>> {
        self.deployments
            .values()
            .filter(|d| d.job_id == job_id)
            .max_by_key(|d| d.create_index)
            .cloned()
    }

    /// The parent ID and idempotency token → child of an earlier dispatch.
    pub fn dispatched_child(&self, parent_id: &str, token: &str) -> Option<&String> {
        self.dispatch_tokens.get(parent_id)?.get(token)
    }
}

#[cfg(test)]
mod periodic_tests;
#[cfg(test)]
mod tests;
