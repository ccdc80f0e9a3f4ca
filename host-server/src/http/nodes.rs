//! Caravan's extension for external nodes (`/v1/caravan/node/…`): the same
//! calls the dev node makes in-process through [`crate::client::NodeRpc`].

use std::sync::Arc;

use axum::extract::State;
use caravan_core::model::Node;
use caravan_core::state::AllocClientUpdate;
use serde::{Deserialize, Serialize};

use super::{ApiError, App, Meta, Reply, Req};
use crate::node_rpc::ServerRpc;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Serialize)]
struct IndexResponse {
    #[serde(rename = "Index")]
    index: u64,
}

fn rpc(app: &App) -> ServerRpc {
    ServerRpc {
        cluster: app.cluster.clone(),
    }
}

fn body<T: serde::de::DeserializeOwned>(req: &Req) -> Result<T> {
    if !req.is_write() {
        return Err(ApiError::MethodNotAllowed);
    }
    serde_json::from_slice(&req.body).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `PUT /v1/caravan/node/register` with a Node: registers or replaces it.
pub async fn register(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let node: Node = body(&req)?;
    if node.id.is_empty() {
        return Err(ApiError::BadRequest("missing node ID".into()));
    }
    let index = rpc(&app)
        .register_node(node)
        .await
        .map_err(ApiError::Server)?;
    Reply::json(&IndexResponse { index }, req.pretty(), Meta::Index(index))
}

#[derive(Deserialize)]
struct StatusRequest {
    #[serde(rename = "NodeID")]
    node_id: String,
    #[serde(rename = "Status")]
    status: String,
}

/// `PUT /v1/caravan/node/status` `{"NodeID", "Status"}`.
pub async fn update_status(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let r: StatusRequest = body(&req)?;
    let index = rpc(&app)
        .set_status(r.node_id, r.status)
        .await
        .map_err(ApiError::Server)?;
    Reply::json(&IndexResponse { index }, req.pretty(), Meta::Index(index))
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
    let (index, allocs) = rpc(&app)
        .node_allocs(req.param("node").to_string(), b.min_index, wait_ms)
        .await;
    let allocs: Vec<_> = allocs.iter().map(|a| &**a).collect();
    Reply::json(&allocs, req.pretty(), Meta::read(index))
}

/// `PUT /v1/caravan/node/allocs` with a list of client updates.
pub async fn update_allocs(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let updates: Vec<AllocClientUpdate> = body(&req)?;
    let index = rpc(&app)
        .client_updates(updates)
        .await
        .map_err(ApiError::Server)?;
    Reply::json(&IndexResponse { index }, req.pretty(), Meta::Index(index))
}
