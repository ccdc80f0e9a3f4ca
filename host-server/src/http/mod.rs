//! The Nomad-compatible HTTP API: routing as Go's `ServeMux` and Nomad's
//! handlers do it, request options, rendering and the one error type.

mod agent;
mod jobs;
mod nodes;
mod parse;
mod reads;
mod request;
mod response;
mod server;
mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::cluster::Cluster;
use crate::node_rpc::ServerRpc;
use crate::scheduler::Scheduler;

pub use request::{QueryOptions, Req};
pub use response::{ApiError, Meta, RenderCache, Reply};
pub use server::serve;

/// Facts about this agent that responses report.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    /// The region this server serves (`-region`).
    pub region: String,
    /// The datacenter of the agent (`-dc`).
    pub datacenter: String,
    /// The agent's name (host name).
    pub node_name: String,
    /// The address the HTTP API listens on.
    pub http_addr: SocketAddr,
    /// `-data-dir`.
    pub data_dir: String,
    /// Whether `-dev` runs a dev node in this process.
    pub dev: bool,
    /// `-ui-dir`: the built previewer (`web-demo/`), served under `/ui/`.
    pub ui_dir: Option<std::path::PathBuf>,
}

/// What every handler shares.
pub struct App {
    pub cluster: Arc<Cluster>,
    pub agent: AgentInfo,
    /// Rendered jobs, shared by the watchers one update wakes.
    pub renders: RenderCache,
    /// What client nodes call (registration, heartbeats, alloc watches).
    pub nodes: Arc<ServerRpc>,
    /// What `/plan` runs (the linked core or the scheduler plugin).
    pub scheduler: Scheduler,
}

impl App {
    /// `?region=` wins, else the body's `Region`, else ours; any other region
    /// has no server here.
    pub fn check_region(&self, query: &QueryOptions, body_region: &str) -> Result<(), ApiError> {
        let region = if !query.region.is_empty() {
            query.region.as_str()
        } else if !body_region.is_empty() {
            body_region
        } else {
            return Ok(());
        };
        if region == self.agent.region {
            Ok(())
        } else {
            Err(ApiError::Server("No path to region".into()))
        }
    }
}

type Handler = fn(Arc<App>, Req) -> Pin<Box<dyn Future<Output = Response> + Send>>;

macro_rules! handler {
    ($f:path) => {
        (|app: Arc<App>, req: Req| {
            Box::pin(async move { $f(State(app), req).await.into_response() })
        }) as Handler
    };
}

/// The exact paths of the API (matched on the raw path, as sent).
fn exact(path: &str) -> Option<Handler> {
    Some(match path {
        "/v1/jobs" => handler!(jobs::jobs_root),
        "/v1/jobs/parse" => handler!(parse::parse),
        "/v1/job/" => handler!(jobs::job_specific),
        "/v1/validate/job" => handler!(jobs::validate),
        "/v1/evaluations" => handler!(reads::evals),
        "/v1/evaluation/" => handler!(reads::eval_specific),
        "/v1/allocations" => handler!(reads::allocs),
        "/v1/allocation/" => handler!(reads::alloc_specific),
        "/v1/deployments" => handler!(reads::deployments),
        "/v1/deployment/" => handler!(reads::deployment_specific),
        "/v1/nodes" => handler!(reads::nodes),
        "/v1/node/" => handler!(reads::node_specific),
        "/v1/agent/self" => handler!(agent::agent_self),
        "/v1/agent/members" => handler!(agent::members),
        "/v1/agent/servers" => handler!(agent::servers),
        "/v1/status/leader" => handler!(agent::leader),
        "/v1/status/peers" => handler!(agent::peers),
        "/v1/regions" => handler!(agent::regions),
        "/v1/search" => handler!(agent::search),
        "/v1/client/stats" => handler!(agent::client_stats),
        "/v1/caravan/node/register" => handler!(nodes::register),
        "/v1/caravan/node/status" => handler!(nodes::update_status),
        "/v1/caravan/node/allocations" => handler!(nodes::allocs),
        "/v1/caravan/node/allocs" => handler!(nodes::update_allocs),
        "/v1/caravan/nodes/allocations" => handler!(nodes::watch_allocs),
        "/" => handler!(ui::root),
        "/ui" | "/ui/" => handler!(ui::serve),
        _ => return None,
    })
}

/// Subtrees whose handlers dispatch the rest of the path themselves (the
/// rest is never empty: the bare `…/` forms are exact routes above, or none).
fn subtree(path: &str) -> Option<Handler> {
    let routes: [(&str, Handler); 7] = [
        ("/v1/job/", handler!(jobs::job_specific)),
        ("/v1/evaluation/", handler!(reads::eval_specific)),
        ("/v1/allocation/", handler!(reads::alloc_specific)),
        ("/v1/deployment/", handler!(reads::deployment_specific)),
        ("/v1/node/", handler!(reads::node_specific)),
        ("/v1/client/allocation/", handler!(agent::client_alloc)),
        ("/ui/", handler!(ui::serve)),
    ];
    routes
        .into_iter()
        .find(|(prefix, _)| path.len() > prefix.len() && path.starts_with(prefix))
        .map(|(_, handler)| handler)
}

/// Routes a request by its raw path (`%2F` does not split segments) to its
/// handler; no route is Go's `ServeMux` answer (redirect or 404).
///
/// Not an `async fn`: its frame (the arguments) would be kept in every
/// parked blocking query's connection task; this hands out the handler's
/// future itself.
pub fn route(
    app: Arc<App>,
    raw_path: &str,
    raw_query: Option<&str>,
    req: Req,
) -> Pin<Box<dyn Future<Output = Response> + Send>> {
    match exact(raw_path).or_else(|| subtree(raw_path)) {
        Some(handler) => handler(app, req),
        None => Box::pin(std::future::ready(response::go_not_found(
            raw_path, raw_query,
        ))),
    }
}
