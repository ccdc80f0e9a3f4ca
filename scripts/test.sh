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
