#!/usr/bin/env bash
# Builds Caravan and runs the server with a dev node on 127.0.0.1:4646.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p caravan-server
exec ./target/release/caravan agent -dev "$@"
