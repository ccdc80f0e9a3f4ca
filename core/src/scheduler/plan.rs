//! Plans: what a scheduler run wants changed, and what the plan applier
//! accepted of it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{nil, AllocMetric, Allocation, Deployment, Job};

/// The output of one scheduler pass, submitted as `Command::ApplyPlan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Plan {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "Priority")]
    pub priority: i64,
    /// The job the placements run (attached to every new allocation).
    #[serde(rename = "Job")]
    pub job: Option<Arc<Job>>,
    #[serde(rename = "AllAtOnce")]
    pub all_at_once: bool,
    /// node ID → allocations to stop/evict there (copies with the new
    /// desired status, description and optional client status).
    #[serde(rename = "NodeUpdate")]
    pub node_update: BTreeMap<String, Vec<Allocation>>,
    /// node ID → allocations to create or update in place there.
    #[serde(rename = "NodeAllocation")]
    pub node_allocation: BTreeMap<String, Vec<Allocation>>,
    /// A deployment created (or updated) by this plan.
    #[serde(rename = "Deployment")]
    pub deployment: Option<Deployment>,
    #[serde(
        rename = "DeploymentUpdates",
        serialize_with = "nil::vec",
        deserialize_with = "nil::or_default"
    )]
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// Filled only for `AnnotatePlan` (dry-run) evaluations.
    #[serde(rename = "Annotations")]
    pub annotations: Option<PlanAnnotations>,
}

impl Plan {
    /// Nothing to apply (annotations do not count).
    pub fn is_no_op(&self) -> bool {
        self.node_update.is_empty()
            && self.node_allocation.is_empty()
            && self.deployment.is_none()
            && self.deployment_updates.is_empty()
    }
}

/// A deployment status change carried by a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeploymentStatusUpdate {
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "StatusDescription")]
    pub status_description: String,
}

/// `Annotations` of a plan response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlanAnnotations {
    #[serde(rename = "DesiredTGUpdates")]
    pub desired_tg_updates: BTreeMap<String, DesiredUpdates>,
}

/// What the reconciler decided for one task group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DesiredUpdates {
    pub ignore: u64,
    pub place: u64,
    pub migrate: u64,
    pub stop: u64,
    pub in_place_update: u64,
    pub destructive_update: u64,
    pub canary: u64,
}

/// What the plan applier committed of a plan. Once applied to a state, the
/// allocations are the stored ones (shared with the state, indexes set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlanResult {
    pub node_update: BTreeMap<String, Vec<Arc<Allocation>>>,
    pub node_allocation: BTreeMap<String, Vec<Arc<Allocation>>>,
    pub deployment: Option<Deployment>,
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// Non-zero when part of the plan was refused: the scheduler must
    /// refresh its state to at least this index and retry.
    pub refresh_index: u64,
    /// Index at which the result was committed (0 if nothing was).
    pub alloc_index: u64,
}

impl PlanResult {
    pub fn is_no_op(&self) -> bool {
        self.node_update.is_empty()
            && self.node_allocation.is_empty()
            && self.deployment.is_none()
            && self.deployment_updates.is_empty()
    }
}

/// Group name → the metric of its first failed placement.
pub type FailedTgAllocs = BTreeMap<String, AllocMetric>;
