//! The agent: opens the store, recovers the state, and runs the HTTP API,
//! the eval worker, the periodic launcher and (with `-dev`) the dev node
//! until SIGTERM or ctrl-c.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use caravan_core::state::StateConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::client::{self, DevNodeConfig};
use crate::cluster::{Cluster, ClusterOptions};
use crate::http::{self, AgentInfo, App};
use crate::node_rpc::ServerRpc;
use crate::store::{FileStore, RedbStore, Store};
use crate::worker::{self, Broker};

/// Settings of `caravan agent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    pub dev: bool,
    pub bind: IpAddr,
    /// 0 picks a free port (printed on start).
    pub http_port: u16,
    pub data_dir: PathBuf,
    pub region: String,
    pub datacenter: String,
    /// Log entries between snapshots.
    pub snapshot_every: u64,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            dev: false,
            bind: IpAddr::from([127, 0, 0, 1]),
            http_port: 4646,
            data_dir: PathBuf::from("./caravan-data"),
            region: "global".into(),
            datacenter: "dc1".into(),
            snapshot_every: ClusterOptions::default().snapshot_every,
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "caravan".into())
}

/// Runs the agent until a shutdown signal.
pub async fn run(config: AgentConfig) -> Result<(), String> {
    // A data directory written by an older Caravan keeps its redb store;
    // new ones get the file log (one `fdatasync` per batch, no B-tree).
    let store: Arc<dyn Store> = if config.data_dir.join("caravan.redb").exists() {
        Arc::new(RedbStore::open(&config.data_dir).map_err(|e| e.to_string())?)
    } else {
        Arc::new(FileStore::open(&config.data_dir).map_err(|e| e.to_string())?)
    };
    let options = ClusterOptions {
        snapshot_every: config.snapshot_every,
    };
    let (cluster, effects) =
        Cluster::open(store, StateConfig::default(), options).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(SocketAddr::new(config.bind, config.http_port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.bind, config.http_port))?;
    let http_addr = listener.local_addr().map_err(|e| e.to_string())?;
    let info = AgentInfo {
        region: config.region.clone(),
        datacenter: config.datacenter.clone(),
        node_name: host_name(),
        http_addr,
        data_dir: config.data_dir.display().to_string(),
        dev: config.dev,
    };
    let (stop_tx, stop) = watch::channel(false);

    let broker = Arc::new(Broker::default());
    broker.restore(&cluster);
    let mut tasks = vec![
        tokio::spawn(worker::run_broker(broker.clone(), effects, stop.clone())),
        tokio::spawn(worker::run_worker(cluster.clone(), broker, stop.clone())),
        tokio::spawn(crate::periodic::run(cluster.clone(), stop.clone())),
    ];
    let app = Arc::new(App {
        cluster: cluster.clone(),
        agent: info,
        renders: Default::default(),
    });
    tasks.push(tokio::spawn(http::serve(listener, app, stop.clone())));
    if config.dev {
        let rpc = Arc::new(ServerRpc {
            cluster: cluster.clone(),
        });
        let node = DevNodeConfig {
            datacenter: config.datacenter.clone(),
            http_addr: http_addr.to_string(),
            data_dir: config.data_dir.join("alloc"),
        };
        tasks.push(tokio::spawn(client::run_dev_node(rpc, node, stop.clone())));
    }
    // Tests and scripts read the address from this line; a closed stdout
    // must not stop the agent.
    say(&format!("caravan: agent listening on http://{http_addr}"));

    wait_for_signal().await;
    say("caravan: shutting down");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), t).await;
    }
    Ok(())
}

fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
