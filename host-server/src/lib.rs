//! `caravan-server`: the native host around `caravan-core`. It owns sockets,
//! clocks, randomness and disk, and forwards every decision to the core.

pub mod agent;
pub mod cli;
pub mod client;
pub mod cluster;
mod entropy;
pub mod http;
pub mod job_cli;
pub mod mialloc;
pub mod node_rpc;
mod periodic;
pub mod scheduler;
pub mod store;
pub mod threads;
mod watch;
mod worker;

pub use agent::{run, AgentConfig};
pub use cluster::Cluster;
pub use store::{FileStore, RedbStore, Store};
