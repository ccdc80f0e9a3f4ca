//! The Nomad-compatible HTTP API: routing as Go's `ServeMux` and Nomad's
//! handlers do it, request options, rendering and the one error type.

mod agent;
mod jobs;
mod nodes;
mod parse;
mod reads;
mod request;
mod response;
mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::any;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::cluster::Cluster;
use crate::node_rpc::ServerRpc;
use crate::scheduler::Scheduler;

pub use request::{QueryOptions, Req};
pub use response::{ApiError, Meta, RenderCache, Reply};

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

/// The routes of the API. Paths under `/v1/job/` and the other `…/`
/// prefixes are dispatched by the handlers themselves, as Nomad does.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/jobs", any(jobs::jobs_root))
        .route("/v1/jobs/parse", any(parse::parse))
        .route("/v1/job/", any(jobs::job_specific))
        .route("/v1/job/{*rest}", any(jobs::job_specific))
        .route("/v1/validate/job", any(jobs::validate))
        .route("/v1/evaluations", any(reads::evals))
        .route("/v1/evaluation/", any(reads::eval_specific))
        .route("/v1/evaluation/{*rest}", any(reads::eval_specific))
        .route("/v1/allocations", any(reads::allocs))
        .route("/v1/allocation/", any(reads::alloc_specific))
        .route("/v1/allocation/{*rest}", any(reads::alloc_specific))
        .route("/v1/deployments", any(reads::deployments))
        .route("/v1/deployment/", any(reads::deployment_specific))
        .route("/v1/deployment/{*rest}", any(reads::deployment_specific))
        .route("/v1/nodes", any(reads::nodes))
        .route("/v1/node/", any(reads::node_specific))
        .route("/v1/node/{*rest}", any(reads::node_specific))
        .route("/v1/agent/self", any(agent::agent_self))
        .route("/v1/agent/members", any(agent::members))
        .route("/v1/agent/servers", any(agent::servers))
        .route("/v1/status/leader", any(agent::leader))
        .route("/v1/status/peers", any(agent::peers))
        .route("/v1/regions", any(agent::regions))
        .route("/v1/search", any(agent::search))
        .route("/v1/client/stats", any(agent::client_stats))
        .route("/v1/client/allocation/{*rest}", any(agent::client_alloc))
        .route("/v1/caravan/node/register", any(nodes::register))
        .route("/v1/caravan/node/status", any(nodes::update_status))
        .route("/v1/caravan/node/allocations", any(nodes::allocs))
        .route("/v1/caravan/node/allocs", any(nodes::update_allocs))
        .route("/v1/caravan/nodes/allocations", any(nodes::watch_allocs))
        .route("/", any(ui::root))
        .route("/ui", any(ui::serve))
        .route("/ui/", any(ui::serve))
        .route("/ui/{*rest}", any(ui::serve))
        .fallback(response::go_not_found)
        .with_state(app)
}

/// Serves `router` on `listener` until `shutdown` turns true. Header names
/// go out title-cased (`X-Nomad-Knownleader`), as Go writes them.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.title_case_headers(true);
    let builder = Arc::new(builder);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("caravan: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let builder = builder.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    }
}
