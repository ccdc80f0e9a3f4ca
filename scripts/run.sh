#!/usr/bin/env bash
# The main job: builds Caravan (server + the browser previewer) and runs
# `caravan agent -dev` on 127.0.0.1:4646 — the HTTP API, a dev node running
# raw_exec tasks on this machine, embedded durable storage in
# ./caravan-data, and the job plan previewer at http://127.0.0.1:4646/ui/.
# Extra arguments go to the agent (e.g. `-http-port 4747 -data-dir /tmp/c`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/web-tools.sh
wasm/build-web.sh
cargo build --release -p caravan-server
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/caravan" agent -dev -ui-dir web-demo "$@"
