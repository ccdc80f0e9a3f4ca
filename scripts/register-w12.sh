#!/bin/bash
# usage: scripts/register-w12.sh BIN PORT
# One fresh agent (empty data dir): W1 (1 000 sequential registrations)
# then W2 (2 000 registrations over 16 connections) of ../shared/perf
# register_bench.py; prints "w1 jobs/s/p50 ms w2 jobs/s/p99 ms". Stops the
# agent by PID.
set -euo pipefail
BIN=$1; PORT=$2
source "$(dirname "$0")/fresh-agent.sh"
fresh_agent "$BIN" "$PORT"
w1=$(python3 "$PERF/register_bench.py" --addr "http://127.0.0.1:$PORT" --count 1000 --concurrency 1 --warmup 20 --prefix s \
  | python3 -c "import json,sys; d=json.load(sys.stdin); print('%d/%.2f' % (d['jobs_per_s'], d['p50_ms']))")
sleep 1
w2=$(python3 "$PERF/register_bench.py" --addr "http://127.0.0.1:$PORT" --count 2000 --concurrency 16 --warmup 32 --prefix c \
  | python3 -c "import json,sys; d=json.load(sys.stdin); print('%d/%.1f' % (d['jobs_per_s'], d['p99_ms']))")
echo "$(basename "$BIN") w1 $w1 w2 $w2"
