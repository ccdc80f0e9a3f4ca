//! Simulated nodes: any number of client nodes that register, heartbeat,
//! watch their allocations and report client status through [`NodeRpc`]
//! like the dev node, but execute nothing — for demos, what-if planning
//! and load tests. One task drives them all, with one allocation watch.

mod driver;
mod nodes;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use caravan_core::Node;
use tokio::sync::watch;

use super::status_sync::SYNC_WINDOW;
use super::NodeRpc;

pub use nodes::{generate_sim_nodes, load_sim_spec};

/// How simulated allocations behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// From receiving an allocation to its tasks' `Started` event.
    pub start_delay: Duration,
    /// How long a batch task runs before it exits 0. A task whose command
    /// is `sleep` with durations as arguments runs that long instead.
    pub batch_runtime: Duration,
    /// How long a client change waits before it is reported (the dev
    /// node's window).
    pub sync_window: Duration,
    /// The wait of the allocation watch's blocking query.
    pub watch_wait: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            start_delay: Duration::from_millis(100),
            batch_runtime: Duration::from_secs(10),
            sync_window: SYNC_WINDOW,
            watch_wait: Duration::from_secs(300),
        }
    }
}

/// Which simulated nodes an agent runs (`-sim-*` flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimNodes {
    /// `-sim-spec FILE`: a JSON list of Node objects registered as they are
    /// (IDs, attributes, resources, reserved, classes, meta), in the order
    /// of their `CreateIndex`, then set ready in the order of their
    /// `ModifyIndex` — the order the recording cluster saw.
    pub spec: Option<PathBuf>,
    /// `-sim-nodes N`: how many nodes to generate.
    pub count: usize,
    /// `-sim-dc dc1,dc2`: their datacenters, round robin (default: the
    /// agent's `-dc`).
    pub datacenters: Vec<String>,
    /// `-sim-class a,b`: their node classes, round robin (default none).
    pub classes: Vec<String>,
    /// `-sim-cpu`: MHz per generated node.
    pub cpu_mhz: i64,
    /// `-sim-memory`: MB per generated node.
    pub memory_mb: i64,
    /// `-sim-disk`: MB per generated node.
    pub disk_mb: i64,
    pub options: SimOptions,
}

impl Default for SimNodes {
    fn default() -> Self {
        SimNodes {
            spec: None,
            count: 0,
            datacenters: Vec::new(),
            classes: Vec::new(),
            cpu_mhz: 4000,
            memory_mb: 8192,
            disk_mb: 100 * 1024,
            options: SimOptions::default(),
        }
    }
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn positive(name: &str, value: &str) -> Result<i64, String> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid -{name} {value:?}"))
}

fn duration(name: &str, value: &str) -> Result<Duration, String> {
    caravan_core::gofmt::parse_duration(value)
        .and_then(|ns| u64::try_from(ns).ok())
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("invalid -{name} {value:?}"))
}

impl SimNodes {
    /// Whether any simulated node is asked for.
    pub fn enabled(&self) -> bool {
        self.spec.is_some() || self.count > 0
    }

    /// Applies the flag `-<name> <value>` if it is one of the `-sim-*`
    /// flags; `Ok(false)` if it is not.
    pub fn set_flag(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            "sim-spec" => self.spec = Some(PathBuf::from(value)),
            "sim-nodes" => {
                self.count = value
                    .parse()
                    .map_err(|_| format!("invalid -sim-nodes {value:?}"))?
            }
            "sim-dc" => self.datacenters = list(value),
            "sim-class" => self.classes = list(value),
            "sim-cpu" => self.cpu_mhz = positive(name, value)?,
            "sim-memory" => self.memory_mb = positive(name, value)?,
            "sim-disk" => self.disk_mb = positive(name, value)?,
            "sim-batch-runtime" => self.options.batch_runtime = duration(name, value)?,
            "sim-start-delay" => self.options.start_delay = duration(name, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Runs simulated nodes until `shutdown` turns true (or its sender is
/// dropped): registers `ordered` one after the other (first all of them,
/// then each `ready`, in list order), then `bulk` concurrently, and
/// simulates their allocations.
pub async fn run_sim_nodes(
    rpc: Arc<dyn NodeRpc>,
    ordered: Vec<Node>,
    bulk: Vec<Node>,
    options: SimOptions,
    shutdown: watch::Receiver<bool>,
) {
    driver::run(rpc, ordered, bulk, options, shutdown).await;
}
