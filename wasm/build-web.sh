#!/usr/bin/env bash
# Builds the browser flavour into web-demo/pkg: cargo (`wasm-size` profile),
# then `wasm-bindgen --target web`, then `wasm-opt -Oz`. Needs
# wasm-bindgen-cli 0.2.130 (the crate's exact version) and binaryen's
# wasm-opt; scripts/test.sh installs both. Prints the module's sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out=web-demo/pkg

cargo build -p caravan-wasm --target wasm32-unknown-unknown --features browser --profile wasm-size
rm -rf "$out"
wasm-bindgen --target web --out-dir "$out" --out-name caravan \
  "$target/wasm32-unknown-unknown/wasm-size/caravan_wasm.wasm"
wasm_opt=tests/browser/node_modules/.bin/wasm-opt
[[ -x "$wasm_opt" ]] || { echo "missing $wasm_opt: (cd tests/browser && npm ci)" >&2; exit 1; }
# The features rustc's wasm32 target emits by default.
"$wasm_opt" -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
  -o "$out/caravan_bg.opt.wasm" "$out/caravan_bg.wasm"
mv "$out/caravan_bg.opt.wasm" "$out/caravan_bg.wasm"
raw=$(stat -c %s "$out/caravan_bg.wasm")
gz=$(gzip -9 -c "$out/caravan_bg.wasm" | wc -c)
echo "web-demo/pkg/caravan_bg.wasm: $raw bytes raw, $gz bytes gzip -9"
