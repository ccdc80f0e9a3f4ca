#!/usr/bin/env bash
# Replays the Nomad v0.6.3 oracle corpus against a fresh `caravan agent -dev`
# on a free loopback port and compares every case (tests/oracle/compare.py).
# Exits non-zero if any case fails; the last line is "N passed, N failed".
#   scripts/oracle.sh [-v]     (CARAVAN_BIN overrides the binary)
# CARAVAN_SCHEDULER_PLUGIN=path.wasm replays with `-scheduler-plugin`: every
# evaluation and /plan then runs in the WebAssembly plugin. The run fails if
# that file is missing, if the agent does not say it uses the plugin, or if
# the plugin's resident state ever had to be reloaded or failed a call.
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
data="$(mktemp -d /tmp/caravan-oracle.XXXXXX)"
log="$data/agent.log"
"$CARAVAN_BIN" agent -dev -http-port 0 -data-dir "$data/state" "${plugin_flags[@]}" >"$log" 2>&1 &
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
if [ -z "${CARAVAN_SCHEDULER_PLUGIN:-}" ]; then
    python3 tests/oracle/compare.py --run "$addr" tests/fixtures/nomad-0.6.3 "$@"
    exit
fi
grep -q "scheduling through the plugin" "$log" || { cat "$log"; echo "the agent does not use the plugin" >&2; exit 1; }
status=0
python3 tests/oracle/compare.py --run "$addr" tests/fixtures/nomad-0.6.3 "$@" || status=$?
if grep -E "scheduler plugin|the scheduler failed" "$log" >&2; then
    echo "the scheduler plugin failed or fell out of step during the replay (agent log above)" >&2
    status=1
fi
exit "$status"
