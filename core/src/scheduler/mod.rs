//! Scheduling: the generic (service, batch) and system schedulers, the
//! feasibility and ranking stack, the plan applier's checks and the dry-run
//! planner. A scheduler reads a state snapshot and returns a plan; it never
//! writes.

pub mod plan;

use crate::state::ClusterState;
use plan::{Plan, PlanResult};

/// Nomad's plan applier check: which parts of `plan` still fit the current
/// state. PLACEHOLDER: accepts the whole plan.
pub fn evaluate_plan(_state: &ClusterState, plan: &Plan) -> PlanResult {
    PlanResult {
        node_update: plan.node_update.clone(),
        node_allocation: plan.node_allocation.clone(),
        deployment: plan.deployment.clone(),
        deployment_updates: plan.deployment_updates.clone(),
        refresh_index: 0,
        alloc_index: 0,
    }
}
