#!/usr/bin/env bash
# Installs what building the browser previewer needs, if missing: the
# wasm32 target, wasm-bindgen-cli at the wasm-bindgen crate's exact version,
# and npm's binaryen (wasm-opt) + playwright-core under tests/browser.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
  rustup target add wasm32-unknown-unknown
# The CLI must equal the wasm-bindgen crate's version; `--locked` fails on
# the registry mirror (one locked dependency is missing there).
[[ "$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen 0.2.130" ]] ||
  cargo install wasm-bindgen-cli --version 0.2.130
[[ -d tests/browser/node_modules/playwright-core && -x tests/browser/node_modules/.bin/wasm-opt ]] ||
  (cd tests/browser && npm ci --no-audit --no-fund)
