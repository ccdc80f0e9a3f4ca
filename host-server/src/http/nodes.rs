//! Caravan's extension for external nodes (`/v1/caravan/node/…`): the same
//! calls the dev node and simulated nodes make in-process through
//! [`crate::client::NodeRpc`]. A registered node must heartbeat (a status
//! update to `ready`) within the `HeartbeatTTL` each answer carries, or it
//! is marked down and its allocations are replaced elsewhere.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::State;
use caravan_core::model::Node;
use caravan_core::state::AllocClientUpdate;
use serde::{Deserialize, Serialize};

use super::{ApiError, App, Meta, Reply, Req};
use crate::node_rpc::NodeUpdate;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Serialize)]
struct IndexResponse {
    #[serde(rename = "Index")]
    index: u64,
}

/// Nomad's `NodeUpdateResponse`, reduced to what a node acts on.
#[derive(Serialize)]
struct NodeUpdateResponse {
    /// Nanoseconds, as Go renders a `time.Duration`.
    #[serde(rename = "HeartbeatTTL")]
    heartbeat_ttl: u64,
    #[serde(rename = "Index")]
    index: u64,
}

fn node_update(req: &Req, u: NodeUpdate) -> Result<Reply> {
    let body = NodeUpdateResponse {
        heartbeat_ttl: u64::try_from(u.heartbeat_ttl.as_nanos()).unwrap_or(u64::MAX),
        index: u.index,
    };
    Reply::json(&body, req.pretty(), Meta::Index(u.index))
}

fn body<T: serde::de::DeserializeOwned>(req: &Req) -> Result<T> {
    if !req.is_write() {
        return Err(ApiError::MethodNotAllowed);
    }
    serde_json::from_slice(&req.body).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `PUT /v1/caravan/node/register` with a Node: registers or replaces it
/// (status `initializing` unless given).
pub async fn register(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let node: Node = body(&req)?;
    if node.id.is_empty() {
        return Err(ApiError::BadRequest("missing node ID".into()));
    }
    let u = app
        .nodes
        .register_node(node)
        .await
        .map_err(ApiError::Server)?;
    node_update(&req, u)
}

#[derive(Deserialize)]
struct StatusRequest {
    #[serde(rename = "NodeID")]
    node_id: String,
    #[serde(rename = "Status")]
    status: String,
}

/// `PUT /v1/caravan/node/status` `{"NodeID", "Status"}`; with `ready` this
/// is the heartbeat.
pub async fn update_status(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let r: StatusRequest = body(&req)?;
    let u = app
        .nodes
        .set_status(r.node_id, r.status)
        .await
        .map_err(ApiError::Server)?;
    node_update(&req, u)
}

/// `GET /v1/caravan/node/allocations?node=<id>&index=&wait=`: the node's
/// allocations, blocking like any read.
pub async fn allocs(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    if req.method != axum::http::Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let q = req.query_options()?;
    let b = q.blocking();
    let wait_ms = b.timeout.as_millis() as u64;
    let (index, allocs) = app
        .nodes
        .node_allocs(req.param("node").to_string(), b.min_index, wait_ms)
        .await;
    let allocs: Vec<_> = allocs.iter().map(|a| &**a).collect();
    Reply::json(&allocs, req.pretty(), Meta::read(index))
}

/// `GET /v1/caravan/nodes/allocations?nodes=<id>,<id>…&index=&wait=`: the
/// allocations of any of those nodes changed after `index` (all of them
/// without one) — one blocking query for an executor running many nodes.
pub async fn watch_allocs(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    if req.method != axum::http::Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let q = req.query_options()?;
    let b = q.blocking();
    let wait_ms = b.timeout.as_millis() as u64;
    let nodes: HashSet<String> = req
        .param("nodes")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let (index, allocs) = app
        .nodes
        .changed_allocs(Arc::new(nodes), b.min_index, wait_ms)
        .await;
    let allocs: Vec<_> = allocs.iter().map(|a| &**a).collect();
    Reply::json(&allocs, req.pretty(), Meta::read(index))
}

/// `PUT /v1/caravan/node/allocs` with a list of client updates.
pub async fn update_allocs(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let updates: Vec<AllocClientUpdate> = body(&req)?;
    let index = app
        .nodes
        .client_updates(updates)
        .await
        .map_err(ApiError::Server)?;
    Reply::json(&IndexResponse { index }, req.pretty(), Meta::Index(index))
}
