//! What client nodes ask of the server (Nomad's `Node.*` RPCs), for the dev
//! node in this process and for external nodes over HTTP alike: register,
//! status, the blocking allocation watch and client allocation updates.

use std::sync::Arc;
use std::time::Duration;

use caravan_core::model::{
    Evaluation, Node, EVAL_STATUS_PENDING, JOB_TYPE_SYSTEM, NODE_STATUS_DOWN, NODE_STATUS_READY,
    TRIGGER_NODE_UPDATE,
};
use caravan_core::state::{AllocClientUpdate, Table};
use caravan_core::{ClusterState, Command};

use crate::client::{BoxFuture, NodeAllocs, NodeRpc};
use crate::cluster::{Blocking, Cluster};
use crate::entropy;
use crate::watch::Topic;

/// The server side of [`NodeRpc`].
pub struct ServerRpc {
    pub cluster: Arc<Cluster>,
}

/// Nomad creates evaluations when a node turns ready or down: one per job
/// with allocations there, plus one per system job.
fn needs_node_evals(old: Option<&str>, new: &str) -> bool {
    old != Some(new) && (new == NODE_STATUS_READY || new == NODE_STATUS_DOWN)
}

fn node_evals(state: &ClusterState, node_id: &str, node_modify_index: u64) -> Vec<Evaluation> {
    let mut jobs: Vec<(String, i64, String)> = Vec::new();
    for a in state.allocs_by_node(node_id) {
        if let Some(job) = state.job(&a.job_id) {
            if !jobs.iter().any(|(id, _, _)| *id == job.id) {
                jobs.push((job.id.clone(), job.priority, job.job_type.clone()));
            }
        }
    }
    for job in state
        .jobs()
        .filter(|j| j.job_type == JOB_TYPE_SYSTEM && !j.stop)
    {
        if !jobs.iter().any(|(id, _, _)| *id == job.id) {
            jobs.push((job.id.clone(), job.priority, job.job_type.clone()));
        }
    }
    jobs.into_iter()
        .map(|(job_id, priority, job_type)| {
            let job_modify_index = state.job(&job_id).map_or(0, |j| j.job_modify_index);
            Evaluation {
                id: entropy::uuid(),
                priority,
                eval_type: job_type,
                triggered_by: TRIGGER_NODE_UPDATE.into(),
                job_id,
                job_modify_index,
                node_id: node_id.to_string(),
                node_modify_index,
                status: EVAL_STATUS_PENDING.into(),
                ..Default::default()
            }
        })
        .collect()
}

impl ServerRpc {
    /// Writes the node evaluations a status transition calls for.
    async fn after_status_change(
        &self,
        node_id: &str,
        old: Option<String>,
        new: &str,
        index: u64,
    ) -> Result<u64, String> {
        if !needs_node_evals(old.as_deref(), new) {
            return Ok(index);
        }
        let evals = node_evals(&self.cluster.read(), node_id, index);
        if evals.is_empty() {
            return Ok(index);
        }
        let applied = self
            .cluster
            .write(Command::UpsertEvals { evals })
            .await
            .map_err(|e| e.to_string())?;
        Ok(applied.index)
    }

    pub async fn register_node(&self, node: Node) -> Result<u64, String> {
        let old = self.cluster.read().node(&node.id).map(|n| n.status.clone());
        let (id, status) = (node.id.clone(), node.status.clone());
        let applied = self
            .cluster
            .write(Command::UpsertNode {
                node: Box::new(node),
            })
            .await
            .map_err(|e| e.to_string())?;
        self.after_status_change(&id, old, &status, applied.index)
            .await
    }

    pub async fn set_status(&self, node_id: String, status: String) -> Result<u64, String> {
        let old = self.cluster.read().node(&node_id).map(|n| n.status.clone());
        let applied = self
            .cluster
            .write(Command::UpdateNodeStatus {
                node_id: node_id.clone(),
                status: status.clone(),
                now: entropy::now_ns().div_euclid(1_000_000_000),
            })
            .await
            .map_err(|e| e.to_string())?;
        self.after_status_change(&node_id, old, &status, applied.index)
            .await
    }

    pub async fn node_allocs(&self, node_id: String, min_index: u64, wait_ms: u64) -> NodeAllocs {
        let blocking = Blocking {
            min_index,
            timeout: Duration::from_millis(wait_ms.min(300_000)),
        };
        self.cluster
            .blocking(Topic::Table(Table::Allocs), blocking, |s| {
                (s.table_index(Table::Allocs), s.allocs_by_node(&node_id))
            })
            .await
    }

    pub async fn client_updates(&self, updates: Vec<AllocClientUpdate>) -> Result<u64, String> {
        let applied = self
            .cluster
            .write(Command::UpdateAllocsFromClient { updates })
            .await
            .map_err(|e| e.to_string())?;
        Ok(applied.index)
    }
}

impl NodeRpc for ServerRpc {
    fn register(&self, node: Node) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(self.register_node(node))
    }

    fn update_status(&self, node_id: String, status: String) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(self.set_status(node_id, status))
    }

    fn allocs(
        &self,
        node_id: String,
        min_index: u64,
        wait_ms: u64,
    ) -> BoxFuture<'_, Result<NodeAllocs, String>> {
        Box::pin(async move { Ok(self.node_allocs(node_id, min_index, wait_ms).await) })
    }

    fn update_allocs(&self, updates: Vec<AllocClientUpdate>) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(self.client_updates(updates))
    }
}
