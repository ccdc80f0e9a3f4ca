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

/// The Nomad build this server stands in for (`nomad version`).
const NOMAD_REVISION: &str = "ac9d8f5f";

/// `GET /v1/agent/self`: the agent's whole configuration as Nomad 0.6.3
/// renders its `Config` struct (defaults, or `DevConfig`'s with `-dev`),
/// the serf member and runtime statistics.
pub async fn agent_self(State(app): State<Arc<App>>, req: Req) -> Result<Reply> {
    require_get(&req)?;
    let a = &app.agent;
    let dev = a.dev;
    let ip = a.http_addr.ip().to_string();
    let port = a.http_addr.port();
    let client = if dev {
        json!({
            "Enabled": true, "StateDir": "", "AllocDir": "", "Servers": null, "NodeClass": "",
            "Meta": null, "Options": {"driver.raw_exec.enable": "true"},
            "NetworkInterface": "lo", "NetworkSpeed": 0, "CpuCompute": 0, "MaxKillTimeout": "30s",
            "ClientMaxPort": 14512, "ClientMinPort": 14000,
            "Reserved": {"CPU": 0, "MemoryMB": 0, "DiskMB": 0, "IOPS": 0, "ReservedPorts": "", "ParsedReservedPorts": null},
            "GCInterval": 600_000_000_000_i64, "GCParallelDestroys": 2, "GCDiskUsageThreshold": 99.0,
            "GCInodeUsageThreshold": 99.0, "GCMaxAllocs": 50, "NoHostUUID": true, "ChrootEnv": {},
        })
    } else {
        json!({
            "Enabled": false, "StateDir": "", "AllocDir": "", "Servers": null, "NodeClass": "",
            "Meta": {}, "Options": {}, "NetworkInterface": "", "NetworkSpeed": 0, "CpuCompute": 0,
            "MaxKillTimeout": "30s", "ClientMaxPort": 14512, "ClientMinPort": 14000,
            "Reserved": {"CPU": 0, "MemoryMB": 0, "DiskMB": 0, "IOPS": 0, "ReservedPorts": "", "ParsedReservedPorts": null},
            "GCInterval": 60_000_000_000_i64, "GCParallelDestroys": 2, "GCDiskUsageThreshold": 80.0,
            "GCInodeUsageThreshold": 70.0, "GCMaxAllocs": 50, "NoHostUUID": true, "ChrootEnv": {},
        })
    };
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
            "Client": client,
            "Server": {
                "Enabled": true, "BootstrapExpect": 1, "DataDir": "", "ProtocolVersion": 0,
                "NumSchedulers": 0, "EnabledSchedulers": null, "NodeGCThreshold": "",
                "JobGCThreshold": "", "EvalGCThreshold": "", "DeploymentGCThreshold": "",
                "HeartbeatGrace": 0, "MinHeartbeatTTL": 0, "MaxHeartbeatsPerSecond": 0.0,
                "StartJoin": [], "RetryJoin": [], "RetryMaxAttempts": 0, "RetryInterval": "30s",
                "RejoinAfterLeave": false,
            },
            "Telemetry": {
                "StatsiteAddr": "", "StatsdAddr": "", "DataDogAddr": "", "DisableHostname": false,
                "UseNodeName": false, "CollectionInterval": "1s", "PublishAllocationMetrics": false,
                "PublishNodeMetrics": false, "CirconusAPIToken": "", "CirconusAPIApp": "",
                "CirconusAPIURL": "", "CirconusSubmissionInterval": "", "CirconusCheckSubmissionURL": "",
                "CirconusCheckID": "", "CirconusCheckForceMetricActivation": "",
                "CirconusCheckInstanceID": "", "CirconusCheckSearchTag": "", "CirconusCheckTags": "",
                "CirconusCheckDisplayName": "", "CirconusBrokerID": "", "CirconusBrokerSelectTag": "",
            },
            "LeaveOnInt": false,
            "LeaveOnTerm": false,
            "EnableSyslog": false,
            "SyslogFacility": "LOCAL0",
            "DisableUpdateCheck": true,
            "DisableAnonymousSignature": dev,
            "Atlas": {"Infrastructure": "", "Join": false, "Endpoint": ""},
            "Consul": {
                "ServerServiceName": "nomad", "ClientServiceName": "nomad-client", "AutoAdvertise": dev,
                "ChecksUseAdvertise": false, "Addr": "", "Timeout": 5_000_000_000_i64, "Token": "",
                "Auth": "", "EnableSSL": false, "VerifySSL": true, "CAFile": "", "CertFile": "",
                "KeyFile": "", "ServerAutoJoin": false, "ClientAutoJoin": false,
            },
            "Vault": {
                "Token": "", "Role": "", "Enabled": null, "AllowUnauthenticated": true, "TaskTokenTTL": "",
                "Addr": "https://vault.service.consul:8200", "ConnectionRetryIntv": 30_000_000_000_i64,
                "TLSCaFile": "", "TLSCaPath": "", "TLSCertFile": "", "TLSKeyFile": "",
                "TLSSkipVerify": null, "TLSServerName": "",
            },
            "TLSConfig": {
                "EnableHTTP": false, "EnableRPC": false, "VerifyServerHostname": false, "CAFile": "",
                "CertFile": "", "KeyFile": "", "VerifyHTTPSClient": false,
            },
            "HTTPAPIResponseHeaders": {},
            "DevMode": dev,
            "Version": {"Revision": NOMAD_REVISION, "Version": NOMAD_VERSION, "VersionPrerelease": "", "VersionMetadata": ""},
            "Files": [],
        },
        "member": member(&app),
        "stats": stats(&app),
    });
    Reply::json(&body, req.pretty(), Meta::None)
}

/// The statistics sections a Nomad 0.6.3 server (and, with `-dev`, its
/// client) reports; Caravan's raft is its log, a single always-leading
/// voter.
fn stats(app: &App) -> Value {
    let (index, allocs) = {
        let s = app.cluster.read();
        (s.index().to_string(), s.allocs().count().to_string())
    };
    let cpus = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .to_string();
    let rpc = app.rpc_addr();
    let mut stats = json!({
        "nomad": {"server": "true", "leader": "true", "leader_addr": rpc, "bootstrap": "true", "known_regions": "1"},
        "runtime": {
            "kernel.name": std::env::consts::OS, "arch": std::env::consts::ARCH, "version": "rust",
            "max_procs": cpus, "goroutines": "0", "cpu_count": cpus,
        },
        "raft": {
            "state": "Leader", "term": "1", "last_log_index": index, "last_log_term": "1",
            "commit_index": index, "applied_index": index, "fsm_pending": "0",
            "last_snapshot_index": "0", "last_snapshot_term": "0", "last_contact": "0",
            "num_peers": "0", "protocol_version": "1", "protocol_version_min": "0",
            "protocol_version_max": "3", "snapshot_version_min": "0", "snapshot_version_max": "1",
            "latest_configuration_index": "1",
            "latest_configuration": format!("[{{Suffrage:Voter ID:{rpc} Address:{rpc}}}]"),
        },
        "serf": {
            "members": "1", "failed": "0", "left": "0", "health_score": "0", "member_time": "1",
            "event_time": "1", "query_time": "1", "intent_queue": "0", "event_queue": "0",
            "query_queue": "0", "encrypted": "false", "coordinate_resets": "0",
        },
    });
    if app.agent.dev {
        stats["client"] = json!({"known_servers": "1", "num_allocations": allocs});
    }
    stats
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
        "DelegateMin": 2, "DelegateMax": 5, "DelegateCur": 4,
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
