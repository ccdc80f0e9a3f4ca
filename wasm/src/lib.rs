//! Caravan's core as WebAssembly (browser flavour and sandboxed plugin) and
//! the native adapter that loads the plugin.
