#!/usr/bin/env bash
# Replays the Nomad v0.6.3 multi-node placement corpus against a fresh
# `caravan agent` running exactly the six recorded nodes as simulated nodes
# (-sim-spec nodes.json, no dev node) on a free loopback port, and compares
# every case (tests/oracle/compare.py with record_multinode.py). Exits
# non-zero if any case fails; the last line is "N passed, N failed".
#   scripts/oracle-multinode.sh [-v]     (CARAVAN_BIN overrides the binary)
# CARAVAN_SCHEDULER_PLUGIN=path.wasm replays with `-scheduler-plugin`, as
# scripts/oracle.sh does (and fails the same ways if the plugin is not used).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if [ -z "${CARAVAN_BIN:-}" ]; then
    cargo build --quiet -p caravan-server
    CARAVAN_BIN="$target/debug/caravan"
fi
plugin_flags=()
if [ -n "${CARAVAN_SCHEDULER_PLUGIN:-}" ]; then
    [ -f "$CARAVAN_SCHEDULER_PLUGIN" ] || {
        echo "CARAVAN_SCHEDULER_PLUGIN=$CARAVAN_SCHEDULER_PLUGIN is not a file" >&2
        exit 1
    }
    plugin_flags=(-scheduler-plugin "$CARAVAN_SCHEDULER_PLUGIN")
fi
corpus=tests/fixtures/nomad-0.6.3-multinode
data="$(mktemp -d /tmp/caravan-oracle-multinode.XXXXXX)"
log="$data/agent.log"
# The recorded server agent was named mn-server (its config file's `name`).
"$CARAVAN_BIN" agent -http-port 0 -data-dir "$data/state" -node mn-server \
    -sim-spec "$corpus/nodes.json" "${plugin_flags[@]}" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
# Compiling the plugin (cranelift) takes tens of seconds on a busy machine.
for _ in $(seq 1800); do
    addr="$(sed -n 's#.*listening on http://##p' "$log" | head -n1)"
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { cat "$log"; echo "0 passed, 1 failed"; exit 1; }
replay() {
    python3 tests/oracle/compare.py --run "$addr" --recorder tests/oracle/record_multinode.py \
        "$corpus" "$@"
}
if [ -z "${CARAVAN_SCHEDULER_PLUGIN:-}" ]; then
    replay "$@"
    exit
fi
grep -q "scheduling through the plugin" "$log" || { cat "$log"; echo "the agent does not use the plugin" >&2; exit 1; }
status=0
replay "$@" || status=$?
if grep -E "scheduler plugin|the scheduler failed" "$log" >&2; then
    echo "the scheduler plugin failed or fell out of step during the replay (agent log above)" >&2
    status=1
fi
exit "$status"
