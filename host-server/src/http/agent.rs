//! Agent-level endpoints: `/v1/agent/self` (shaped like Nomad 0.6.3's),
//! status, regions, prefix search, and the dev node's client stats.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use caravan_core::state::Table;
use caravan_core::ClusterState;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiError, App, Meta, Reply, Req};

type Result<T> = std::result::Result<T, ApiError>;

/// The Nomad version this server speaks for.
pub const NOMAD_VERSION: &str = "0.6.3";

fn require_get(req: &Req) -> Result<()> {
    if req.method == axum::http::Method::GET {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

impl App {
    /// The RPC address Nomad would advertise; Caravan has no RPC port, so
    /// this names the HTTP listener's host with Nomad's default RPC port.
    fn rpc_addr(&self) -> String {
        format!("{}:4647", self.agent.http_addr.ip())
    }
}

/// `GET /v1/agent/self`.
pub async fn agent_self(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let a = &app.agent;
    let ip = a.http_addr.ip().to_string();
    let port = a.http_addr.port();
    let body = json!({
        "config": {
            "Region": a.region,
            "Datacenter": a.datacenter,
            "NodeName": a.node_name,
            "DataDir": a.data_dir,
            "LogLevel": "INFO",
            "BindAddr": ip,
            "EnableDebug": false,
            "Ports": {"HTTP": port, "RPC": 4647, "Serf": 4648},
            "Addresses": {"HTTP": ip, "RPC": ip, "Serf": ip},
            "AdvertiseAddrs": {"HTTP": format!("{ip}:{port}"), "RPC": app.rpc_addr(), "Serf": format!("{ip}:4648")},
            "Client": {"Enabled": a.dev, "Servers": null, "NodeClass": "", "Options": {"driver.raw_exec.enable": "true"}, "Meta": null},
            "Server": {"Enabled": true, "BootstrapExpect": 1},
            "LeaveOnInt": false,
            "LeaveOnTerm": false,
            "EnableSyslog": false,
            "DisableUpdateCheck": true,
            "DevMode": a.dev,
            "Version": {"Revision": "", "Version": NOMAD_VERSION, "VersionPrerelease": "", "VersionMetadata": ""},
            "Files": [],
            "HTTPAPIResponseHeaders": {},
        },
        "member": member(&app),
        "stats": {
            "nomad": {"server": "true", "leader": "true", "leader_addr": app.rpc_addr(), "bootstrap": "true", "known_regions": "1"},
            "client": {"known_servers": "1", "num_allocations": app.cluster.read().allocs().count().to_string()},
            "runtime": {"arch": std::env::consts::ARCH, "version": "rust", "cpu_count": std::thread::available_parallelism().map_or(1, |n| n.get()).to_string()},
        },
    });
    Reply::json(&body, req.pretty(), Meta::None)
}

fn member(app: &App) -> Value {
    let a = &app.agent;
    json!({
        "Name": format!("{}.{}", a.node_name, a.region),
        "Addr": a.http_addr.ip().to_string(),
        "Port": 4648,
        "Tags": {"role": "nomad", "region": a.region, "dc": a.datacenter, "vsn": "1", "mvn": "1", "build": NOMAD_VERSION, "port": "4647", "bootstrap": "1"},
        "Status": "alive",
        "ProtocolMin": 1, "ProtocolMax": 5, "ProtocolCur": 2,
        "DelegateMin": 2, "DelegateMax": 4, "DelegateCur": 4,
    })
}

/// `GET /v1/agent/members` (`nomad server-members`).
pub async fn members(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let body = json!({
        "ServerName": app.agent.node_name,
        "ServerRegion": app.agent.region,
        "ServerDC": app.agent.datacenter,
        "Members": [member(&app)],
    });
    Reply::json(&body, req.pretty(), Meta::None)
}

/// `GET /v1/agent/servers`: the servers the local client knows.
pub async fn servers(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    Reply::json(&[app.rpc_addr()], req.pretty(), Meta::None)
}

/// `GET /v1/status/leader`.
pub async fn leader(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    Reply::json(&app.rpc_addr(), req.pretty(), Meta::None)
}

/// `GET /v1/status/peers`.
pub async fn peers(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    Reply::json(&[app.rpc_addr()], req.pretty(), Meta::None)
}

/// `GET /v1/regions`.
pub async fn regions(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let q = req.query_options()?;
    app.check_region(&q, "")?;
    Reply::json(&[&app.agent.region], req.pretty(), Meta::None)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SearchRequest {
    #[serde(rename = "Prefix")]
    prefix: String,
    #[serde(rename = "Context")]
    context: String,
    #[serde(rename = "Region")]
    region: String,
}

/// Matches per context are cut at this many candidates (Nomad's limit).
const TRUNCATE_LIMIT: usize = 20;

/// The contexts of an `all` search, in Nomad's order.
const ALL_CONTEXTS: [&str; 5] = ["allocs", "jobs", "nodes", "evals", "deployment"];

/// `PUT|POST /v1/search`: prefix search over IDs, as `nomad status <id>`
/// uses it.
pub async fn search(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    if !req.is_write() {
        return Err(ApiError::MethodNotAllowed);
    }
    let body: SearchRequest = caravan_core::gojson::from_slice(&req.body, "structs.SearchRequest")
        .map_err(|e| ApiError::BadRequest(e.0))?;
    app.check_region(&req.write_options(), &body.region)?;
    let contexts: Vec<&str> = match body.context.as_str() {
        "all" => ALL_CONTEXTS.to_vec(),
        c if ALL_CONTEXTS.contains(&c) => vec![c],
        c => {
            return Err(ApiError::Server(format!(
                "context must be one of [allocs jobs nodes evals deployment] or 'all' for all contexts; got {}",
                caravan_core::gofmt::quote(c)
            )))
        }
    };
    let (matches, truncations, index) = {
        let s = app.cluster.read();
        prefix_search(&s, &body.prefix, &body.context, &contexts)
    };
    let out = json!({
        "Matches": matches,
        "Truncations": truncations,
        "Index": index,
        "LastContact": 0,
        "KnownLeader": true,
    });
    Reply::json(&out, req.pretty(), Meta::read(index))
}

type Matches = BTreeMap<String, Option<Vec<String>>>;

fn prefix_search(
    s: &ClusterState,
    prefix: &str,
    context: &str,
    contexts: &[&str],
) -> (Matches, BTreeMap<String, bool>, u64) {
    // Nomad rounds an odd-length prefix down for UUID lookups (all but a
    // jobs-only search), then keeps only IDs with the full prefix.
    let lookup = if context == "jobs" {
        prefix.to_string()
    } else {
        let hyphens = prefix.matches('-').count();
        let len = prefix.len() - hyphens;
        if len.is_multiple_of(2) {
            prefix.to_string()
        } else {
            // Go slices the original string at the hyphen-less length.
            let cut = len.saturating_sub(1);
            prefix.get(..cut).unwrap_or(prefix).to_string()
        }
    };
    let uuid_ok = lookup.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
    let mut matches = Matches::new();
    let mut truncations = BTreeMap::new();
    let mut index = 0;
    for ctx in contexts {
        let (table, ids): (Table, Option<Vec<String>>) = match *ctx {
            "jobs" => (
                Table::Jobs,
                Some(s.jobs_by_prefix(&lookup).map(|j| j.id.clone()).collect()),
            ),
            "allocs" => (
                Table::Allocs,
                uuid_ok.then(|| {
                    s.allocs()
                        .filter(|a| a.id.starts_with(&lookup))
                        .map(|a| a.id.clone())
                        .collect()
                }),
            ),
            "evals" => (
                Table::Evals,
                uuid_ok.then(|| {
                    s.evals()
                        .filter(|e| e.id.starts_with(&lookup))
                        .map(|e| e.id.clone())
                        .collect()
                }),
            ),
            "nodes" => (
                Table::Nodes,
                uuid_ok.then(|| {
                    s.nodes()
                        .filter(|n| n.id.starts_with(&lookup))
                        .map(|n| n.id.clone())
                        .collect()
                }),
            ),
            _ => (
                Table::Deployments,
                uuid_ok.then(|| {
                    s.deployments()
                        .filter(|d| d.id.starts_with(&lookup))
                        .map(|d| d.id.clone())
                        .collect()
                }),
            ),
        };
        index = index.max(s.table_index(table));
        if let Some(ids) = ids {
            let found: Vec<String> = ids
                .iter()
                .take(TRUNCATE_LIMIT)
                .filter(|id| id.starts_with(prefix))
                .cloned()
                .collect();
            truncations.insert(ctx.to_string(), ids.len() > TRUNCATE_LIMIT);
            matches.insert(ctx.to_string(), (!found.is_empty()).then_some(found));
        }
    }
    (matches, truncations, index)
}

/// `GET /v1/client/stats` of the dev node.
pub async fn client_stats(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    if !app.agent.dev {
        return Err(ApiError::Server(
            "node is not running a Nomad Client".into(),
        ));
    }
    Reply::json(&crate::client::host_stats(), req.pretty(), Meta::None)
}

/// `GET /v1/client/allocation/<id>/stats` of the dev node.
pub async fn client_alloc(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    if !app.agent.dev {
        return Err(ApiError::Server(
            "node is not running a Nomad Client".into(),
        ));
    }
    let rest = req
        .path
        .strip_prefix("/v1/client/allocation/")
        .unwrap_or("");
    let tokens: Vec<&str> = rest.split('/').collect();
    let [id, "stats"] = tokens.as_slice() else {
        return Err(ApiError::Gone("resource not found".into()));
    };
    let stats = crate::client::alloc_stats(id).ok_or_else(|| {
        ApiError::Server(format!(
            "unknown allocation ID {}",
            caravan_core::gofmt::quote(id)
        ))
    })?;
    Reply::json(&stats, req.pretty(), Meta::None)
}
