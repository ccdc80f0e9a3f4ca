//! The non-job reads clients need around the job API: evaluations,
//! allocations, deployments and nodes, with `?prefix=` and blocking.

use std::sync::Arc;

use axum::extract::State;
use caravan_core::model::{Allocation, Evaluation};
use caravan_core::state::Table;
use caravan_core::Command;
use serde::Serialize;

use super::{ApiError, App, Meta, Reply, Req};
use crate::watch::Topic;

type Result<T> = std::result::Result<T, ApiError>;

fn require_get(req: &Req) -> Result<()> {
    if req.method == axum::http::Method::GET {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

/// `GET /v1/evaluations[?prefix=]`.
pub async fn evals(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, evals) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Evals), q.blocking(), |s| {
                let evals: Vec<Arc<Evaluation>> = s
                    .evals()
                    .filter(|e| e.id.starts_with(&q.prefix))
                    .cloned()
                    .collect();
                (s.table_index(Table::Evals), evals)
            })?;
    let evals: Vec<&Evaluation> = evals.iter().map(|e| &**e).collect();
    Reply::json(&evals, req.pretty(), Meta::read(index))
}

/// `GET /v1/evaluation/<id>` and `/v1/evaluation/<id>/allocations`.
pub async fn eval_specific(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let path = req.path.strip_prefix("/v1/evaluation/").unwrap_or("");
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    if let Some(id) = path.strip_suffix("/allocations") {
        let (index, stubs) =
            app.cluster
                .try_blocking(&Topic::Table(Table::Allocs), q.blocking(), |s| {
                    let stubs: Vec<_> = s
                        .allocs()
                        .filter(|a| a.eval_id == id)
                        .map(|a| a.stub())
                        .collect();
                    (s.table_index(Table::Allocs), stubs)
                })?;
        return Reply::json(&stubs, req.pretty(), Meta::read(index));
    }
    let (index, eval) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Evals), q.blocking(), |s| {
                match s.eval(path) {
                    Some(e) => (e.modify_index, Some(e.clone())),
                    None => (s.table_index(Table::Evals), None),
                }
            })?;
    let eval = eval.ok_or_else(|| ApiError::not_found("eval not found", index))?;
    Reply::json(&*eval, req.pretty(), Meta::read(index))
}

/// `GET /v1/allocations[?prefix=]`.
pub async fn allocs(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, stubs) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Allocs), q.blocking(), |s| {
                let stubs: Vec<_> = s
                    .allocs()
                    .filter(|a| a.id.starts_with(&q.prefix))
                    .map(|a| a.stub())
                    .collect();
                (s.table_index(Table::Allocs), stubs)
            })?;
    Reply::json(&stubs, req.pretty(), Meta::read(index))
}

/// `GET /v1/allocation/<id>`.
pub async fn alloc_specific(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let id = req.path.strip_prefix("/v1/allocation/").unwrap_or("");
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, alloc) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Allocs), q.blocking(), |s| {
                match s.alloc(id) {
                    Some(a) => (a.modify_index, Some(a.clone())),
                    None => (s.table_index(Table::Allocs), None),
                }
            })?;
    let alloc = alloc.ok_or_else(|| ApiError::not_found("alloc not found", index))?;
    Reply::json(&*alloc, req.pretty(), Meta::read(index))
}

/// `GET /v1/deployments[?prefix=]`.
pub async fn deployments(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, list) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Deployments), q.blocking(), |s| {
                let list: Vec<_> = s
                    .deployments()
                    .filter(|d| d.id.starts_with(&q.prefix))
                    .cloned()
                    .collect();
                (s.table_index(Table::Deployments), list)
            })?;
    let list: Vec<_> = list.iter().map(|d| &**d).collect();
    Reply::json(&list, req.pretty(), Meta::read(index))
}

/// `GET /v1/deployment/<id>`.
pub async fn deployment_specific(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let id = req.path.strip_prefix("/v1/deployment/").unwrap_or("");
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, deployment) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Deployments), q.blocking(), |s| match s
                .deployment(id)
            {
                Some(d) => (d.modify_index, Some(d.clone())),
                None => (s.table_index(Table::Deployments), None),
            })?;
    let d = deployment.ok_or_else(|| ApiError::not_found("deployment not found", index))?;
    Reply::json(&*d, req.pretty(), Meta::read(index))
}

/// `GET /v1/nodes[?prefix=]`.
pub async fn nodes(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    let (index, stubs) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Nodes), q.blocking(), |s| {
                let stubs: Vec<_> = s
                    .nodes()
                    .filter(|n| n.id.starts_with(&q.prefix))
                    .map(|n| n.stub())
                    .collect();
                (s.table_index(Table::Nodes), stubs)
            })?;
    Reply::json(&stubs, req.pretty(), Meta::read(index))
}

#[derive(Serialize)]
struct DrainResponse {
    #[serde(rename = "EvalIDs")]
    eval_ids: Option<Vec<String>>,
    #[serde(rename = "EvalCreateIndex")]
    eval_create_index: u64,
    #[serde(rename = "NodeModifyIndex")]
    node_modify_index: u64,
    #[serde(rename = "Index")]
    index: u64,
    #[serde(rename = "LastContact")]
    last_contact: u64,
    #[serde(rename = "KnownLeader")]
    known_leader: bool,
}

/// `/v1/node/<id>`, `/v1/node/<id>/allocations`, `/v1/node/<id>/drain`.
pub async fn node_specific(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    let path = req.path.strip_prefix("/v1/node/").unwrap_or("").to_string();
    if let Some(id) = path.strip_suffix("/evaluate") {
        let _ = id;
        if !req.is_write() {
            return Err(ApiError::MethodNotAllowed);
        }
        return Err(ApiError::Server("node evaluation is not supported".into()));
    }
    if let Some(id) = path.strip_suffix("/drain") {
        return drain(&app, &req, id).await;
    }
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    if let Some(id) = path.strip_suffix("/allocations") {
        let (index, allocs) =
            app.cluster
                .try_blocking(&Topic::Table(Table::Allocs), q.blocking(), |s| {
                    let allocs = s.allocs_by_node(id);
                    let index = allocs
                        .iter()
                        .map(|a| a.modify_index)
                        .max()
                        .unwrap_or_else(|| s.table_index(Table::Allocs));
                    (index, allocs)
                })?;
        let allocs: Vec<&Allocation> = allocs.iter().map(|a| &**a).collect();
        return Reply::json(&allocs, req.pretty(), Meta::read(index));
    }
    let (index, node) =
        app.cluster
            .try_blocking(&Topic::Table(Table::Nodes), q.blocking(), |s| {
                match s.node(&path) {
                    Some(n) => (n.modify_index, Some(n.clone())),
                    None => (s.table_index(Table::Nodes), None),
                }
            })?;
    let node = node.ok_or_else(|| ApiError::not_found("node not found", index))?;
    Reply::json(&*node, req.pretty(), Meta::read(index))
}

async fn drain(app: &App, req: &Req, id: &str) -> Result<Reply> {
    if !req.is_write() {
        return Err(ApiError::MethodNotAllowed);
    }
    let raw = req.param("enable");
    if raw.is_empty() {
        return Err(ApiError::BadRequest("missing enable value".into()));
    }
    let drain = super::request::parse_go_bool(raw)
        .ok_or_else(|| ApiError::BadRequest("invalid enable value".into()))?;
    app.check_region(&req.write_options(), "")?;
    let applied = app
        .cluster
        .write(Command::UpdateNodeDrain {
            node_id: id.to_string(),
            drain,
        })
        .await?;
    let body = DrainResponse {
        eval_ids: None,
        eval_create_index: 0,
        node_modify_index: applied.index,
        index: applied.index,
        last_contact: 0,
        known_leader: false,
    };
    Reply::json(&body, req.pretty(), Meta::Index(applied.index))
}
