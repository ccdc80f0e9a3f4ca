#!/bin/bash
# usage: scripts/eval-drain.sh BIN PORT
# One fresh agent (empty data dir): registers 4 000 jobs over 16
# connections (../shared/perf register_bench.py; no node, so every
# evaluation blocks), then polls /v1/evaluations every 0.1 s until none is
# pending; prints the registration rate, how long the eval worker took to
# drain what was left, and the server CPU spent meanwhile (polling
# included). Stops the agent by PID.
set -euo pipefail
BIN=$1; PORT=$2
source "$(dirname "$0")/fresh-agent.sh"
fresh_agent "$BIN" "$PORT"
python3 "$PERF/register_bench.py" --addr "http://127.0.0.1:$PORT" --count 4000 --concurrency 16 --warmup 0 --prefix d \
  | python3 -c "import json,sys; d=json.load(sys.stdin); print('register', d['jobs_per_s'], 'jobs/s, p99', d['p99_ms'], 'ms')"
C0=$(awk '{print $14+$15}' /proc/$P/stat); T0=$(date +%s.%N)
pending() {
  curl -s "127.0.0.1:$PORT/v1/evaluations" \
    | python3 -c "import json,sys; print(sum(1 for e in json.load(sys.stdin) if e['Status'] == 'pending'))"
}
while [ "$(pending)" != 0 ]; do sleep 0.1; done
T1=$(date +%s.%N); C1=$(awk '{print $14+$15}' /proc/$P/stat)
TICK=$(getconf CLK_TCK)
echo "drained in $(echo "$T1 - $T0" | bc) s after the registrations, server CPU $(( (C1 - C0) * 1000 / TICK )) ms"
