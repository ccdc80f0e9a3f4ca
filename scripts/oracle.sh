#!/usr/bin/env bash
# Replays the Nomad v0.6.3 oracle corpus against a fresh `caravan agent -dev`
# on a free loopback port and compares every case (tests/oracle/compare.py).
# Exits non-zero if any case fails; the last line is "N passed, N failed".
#   scripts/oracle.sh [-v]     (CARAVAN_BIN overrides the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if [ -z "${CARAVAN_BIN:-}" ]; then
    cargo build --quiet -p caravan-server
    CARAVAN_BIN="$target/debug/caravan"
fi
data="$(mktemp -d /tmp/caravan-oracle.XXXXXX)"
log="$data/agent.log"
"$CARAVAN_BIN" agent -dev -http-port 0 -data-dir "$data/state" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 100); do
    addr="$(sed -n 's#.*listening on http://##p' "$log" | head -n1)"
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { cat "$log"; echo "0 passed, 1 failed"; exit 1; }
python3 tests/oracle/compare.py --run "$addr" tests/fixtures/nomad-0.6.3 "$@"
