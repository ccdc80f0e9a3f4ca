//! The agent: opens the store, recovers the state, and runs the HTTP API,
//! the eval worker, the periodic launcher, node heartbeat timers, (with
//! `-dev`) the dev node and (with `-sim-*`) simulated nodes until SIGTERM
//! or ctrl-c.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use caravan_core::state::StateConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::client::{self, DevNodeConfig, NodeRpc, SimNodes};
use crate::cluster::{Cluster, ClusterOptions};
use crate::http::{self, AgentInfo, App};
use crate::node_rpc::{HeartbeatConfig, ServerRpc};
use crate::scheduler::Scheduler;
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
    /// `-node`: the agent's name (default: the host name).
    pub node_name: Option<String>,
    /// Log entries between snapshots.
    pub snapshot_every: u64,
    /// Simulated nodes to run (`-sim-*`).
    pub sim: Box<SimNodes>,
    /// Node heartbeat timing (`-min-heartbeat-ttl`, `-heartbeat-grace`).
    pub heartbeat: HeartbeatConfig,
    /// The built job plan previewer to serve under `/ui/` (`-ui-dir`).
    pub ui_dir: Option<PathBuf>,
    /// `-scheduler-plugin`: schedule and plan through this plugin module
    /// instead of the linked core.
    pub scheduler_plugin: Option<PathBuf>,
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
            node_name: None,
            snapshot_every: ClusterOptions::default().snapshot_every,
            sim: Box::default(),
            heartbeat: HeartbeatConfig::default(),
            ui_dir: None,
            scheduler_plugin: None,
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
    let sim_spec = match &config.sim.spec {
        Some(path) => client::load_sim_spec(path)?,
        None => Vec::new(),
    };
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
    let scheduler = match config.scheduler_plugin.clone() {
        None => Scheduler::Native,
        Some(path) => {
            let c = cluster.clone();
            tokio::task::spawn_blocking(move || {
                Scheduler::plugin(&path, c)
                    .map_err(|e| format!("cannot use scheduler plugin {}: {e}", path.display()))
            })
            .await
            .map_err(|e| format!("loading the scheduler plugin: {e}"))??
        }
    };
    if let Some(path) = &config.scheduler_plugin {
        // On stderr: stdout's first line is the address scripts wait for.
        eprintln!("caravan: scheduling through the plugin {}", path.display());
    }
    let listener = TcpListener::bind(SocketAddr::new(config.bind, config.http_port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.bind, config.http_port))?;
    let http_addr = listener.local_addr().map_err(|e| e.to_string())?;
    let info = AgentInfo {
        region: config.region.clone(),
        datacenter: config.datacenter.clone(),
        node_name: config.node_name.clone().unwrap_or_else(host_name),
        http_addr,
        data_dir: config.data_dir.display().to_string(),
        dev: config.dev,
        ui_dir: config.ui_dir.clone(),
    };
    let (stop_tx, stop) = watch::channel(false);

    let broker = Arc::new(Broker::default());
    broker.restore(&cluster);
    let mut tasks = vec![
        tokio::spawn(worker::run_broker(broker.clone(), effects, stop.clone())),
        tokio::spawn(worker::run_worker(
            cluster.clone(),
            broker,
            scheduler.clone(),
            scheduler.evals_in_flight(),
            stop.clone(),
        )),
        tokio::spawn(crate::periodic::run(cluster.clone(), stop.clone())),
    ];
    let node_rpc = Arc::new(ServerRpc::new(cluster.clone(), config.heartbeat.clone()));
    node_rpc.restore_heartbeats();
    tasks.push(tokio::spawn(node_rpc.clone().run_heartbeats(stop.clone())));
    let app = Arc::new(App {
        cluster: cluster.clone(),
        agent: info,
        renders: Default::default(),
        nodes: node_rpc.clone(),
        scheduler,
    });
    tasks.push(tokio::spawn(http::serve(listener, app, stop.clone())));
    if config.dev {
        let rpc: Arc<dyn NodeRpc> = node_rpc.clone();
        let node = DevNodeConfig {
            datacenter: config.datacenter.clone(),
            http_addr: http_addr.to_string(),
            data_dir: config.data_dir.join("alloc"),
        };
        tasks.push(tokio::spawn(client::run_dev_node(rpc, node, stop.clone())));
    }
    if config.sim.enabled() {
        let rpc: Arc<dyn NodeRpc> = node_rpc.clone();
        let generated =
            client::generate_sim_nodes(&config.sim, &config.datacenter, &http_addr.to_string());
        tasks.push(tokio::spawn(client::run_sim_nodes(
            rpc,
            sim_spec,
            generated,
            config.sim.options.clone(),
            stop.clone(),
        )));
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
