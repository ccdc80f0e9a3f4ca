//! End-to-end tests of the `caravan` binary over HTTP on loopback: every
//! endpoint and error case, blocking queries and crash durability.

mod blocking;
mod cli;
mod durability;
mod errors;
mod jobs;
mod parse;
mod plugin;
mod sim_nodes;
mod support;
mod ui;
