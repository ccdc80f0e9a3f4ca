//! Caravan's core as WebAssembly (browser flavour and sandboxed plugin) and
//! the native adapter that loads the plugin.
//!
//! One set of operations ([`ops`]) and one calling convention ([`abi`]) are
//! shared by every flavour, so the browser, the plugin and native code give
//! the same bytes for the same request:
//! - `browser` feature: the wasm-bindgen JS API (`web-demo/pkg`);
//! - `plugin` feature on wasm32: the import-free module exporting
//!   `caravan_abi_version`, `alloc`, `dealloc` and one function per
//!   operation (`wasm/README.md` documents the ABI);
//! - `host` feature: [`host`], the wasmtime adapter with fuel and memory
//!   limits, and [`host::PluginScheduler`] for a server.
//!
//! Like the core, nothing here reads a clock or draws randomness: time and
//! seeds are fields of every request that needs them.

pub mod abi;
pub mod ops;
pub mod snapshot;

#[cfg(all(feature = "plugin", target_arch = "wasm32"))]
mod plugin;

#[cfg(feature = "browser")]
mod browser;

#[cfg(feature = "host")]
pub mod host;

pub use abi::{call, Op, ABI_VERSION};
pub use snapshot::{build_state, ClusterSnapshot};
