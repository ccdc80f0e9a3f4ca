//! The plugin module the adapter tests load: the one `scripts/test.sh`
//! built (`CARAVAN_PLUGIN_WASM`), or one built here with cargo on demand.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Path of the release plugin, building it (into a separate target
/// directory, so no cargo lock is shared with the running test) when the
/// CI script did not.
pub fn plugin_wasm() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("CARAVAN_PLUGIN_WASM") {
            return PathBuf::from(p);
        }
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-target");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "caravan-wasm",
                "--target",
                "wasm32-unknown-unknown",
                "--features",
                "plugin",
            ])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the plugin failed");
        target.join("wasm32-unknown-unknown/release/caravan_wasm.wasm")
    })
    .clone()
}

/// The plugin compiled with `limits` (compiled once per test process).
pub fn plugin(limits: caravan_wasm::host::Limits) -> caravan_wasm::host::Plugin {
    static PLUGIN: OnceLock<caravan_wasm::host::Plugin> = OnceLock::new();
    PLUGIN
        .get_or_init(|| {
            caravan_wasm::host::Plugin::from_file(plugin_wasm(), Default::default())
                .expect("the plugin loads")
        })
        .with_limits(limits)
}
