#!/usr/bin/env bash
# Runs every test of the workspace: formatting, lints, unit and cross-crate
# tests, and the wasm32 build of the core. `.ci/run` calls this on a clean
# clone; run it yourself the same way. Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "caravan-core builds for wasm32-unknown-unknown"
cargo build -p caravan-core --target wasm32-unknown-unknown

step "tests"
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc --quiet

step "oracle replay: every visible Nomad v0.6.3 case against caravan agent -dev"
./scripts/oracle.sh

step "oracle replay: the six-node placement corpus against simulated nodes"
./scripts/oracle-multinode.sh

step "python-nomad's own job tests against caravan agent -dev"
# Every test but the two upstream ones that fail against real Nomad too.
# NOMAD_VERSION=0.9.0 keeps upstream's version markers from skipping the
# /v1/jobs/parse test (a Nomad 0.9 endpoint Caravan serves): nothing skips.
NOMAD_VERSION=0.9.0 SCOPE=all PYTEST_ARGS="--deselect tests/test_job.py::test_dispatch_job_idempotency --deselect tests/test_job.py::test_delete_job_with_invalid_purge_param_raises" \
  ./scripts/compat.sh

step "wasm tools: wasm-bindgen-cli 0.2.130, chromium, npm playwright-core + binaryen (wasm-opt)"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
./scripts/web-tools.sh

step "wasm flavours: plugin (release) and browser (wasm-bindgen, wasm-opt -Oz)"
cargo build --release -p caravan-wasm --target wasm32-unknown-unknown --features plugin
target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" == /* ]] || target_dir="$PWD/$target_dir"
export CARAVAN_PLUGIN_WASM="$target_dir/wasm32-unknown-unknown/release/caravan_wasm.wasm"
wasm/build-web.sh

step "wasm lints: plugin and browser for wasm32, the wasmtime adapter natively"
cargo clippy -p caravan-wasm --target wasm32-unknown-unknown --features plugin -- -D warnings
cargo clippy -p caravan-wasm --target wasm32-unknown-unknown --features browser -- -D warnings
cargo clippy -p caravan-wasm --features host --all-targets -- -D warnings

step "plugin safety and native/plugin parity (wasmtime)"
cargo nextest run -p caravan-wasm --features host --test plugin_safety --test parity --no-fail-fast

step "HTTP e2e and oracle replay with -scheduler-plugin"
# Every server these spawn schedules and plans through the plugin built
# above (the harness and oracle.sh fail if the file is missing).
CARAVAN_SCHEDULER_PLUGIN="$CARAVAN_PLUGIN_WASM" cargo nextest run -p caravan-server --test e2e --no-fail-fast
CARAVAN_SCHEDULER_PLUGIN="$CARAVAN_PLUGIN_WASM" ./scripts/oracle.sh
CARAVAN_SCHEDULER_PLUGIN="$CARAVAN_PLUGIN_WASM" ./scripts/oracle-multinode.sh

step "browser build and previewer in headless Chromium"
cargo run --quiet -p caravan-wasm --example parity_corpus -- web-demo/pkg/parity-corpus.json
(cd tests/browser && node --test)
