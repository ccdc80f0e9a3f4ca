//! `caravan-server`: the native host around `caravan-core`. It owns sockets,
//! clocks, randomness and disk, and forwards every decision to the core.

pub mod client;
