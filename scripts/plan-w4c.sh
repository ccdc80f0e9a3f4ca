#!/bin/bash
# usage: scripts/plan-w4c.sh BIN PORT
# One fresh agent (empty data dir), three W4c plans of warm-up, then 100
# measured plans of the 50-group job with its diff (../shared/perf
# plan_bench.py); prints p50/p90/mean and the server CPU per plan from
# /proc/<pid>/stat. Stops the agent by PID.
set -euo pipefail
BIN=$1; PORT=$2
source "$(dirname "$0")/fresh-agent.sh"
fresh_agent "$BIN" "$PORT"
OUT=$D/w4c.json
python3 "$PERF/plan_bench.py" --addr "http://127.0.0.1:$PORT" --variant bigdiff --count 1 --warmup 3 > /dev/null
C0=$(awk '{print $14+$15}' /proc/$P/stat)
python3 "$PERF/plan_bench.py" --addr "http://127.0.0.1:$PORT" --variant bigdiff --count 100 --warmup 0 --job-id big-w4c > "$OUT"
C1=$(awk '{print $14+$15}' /proc/$P/stat)
TICK=$(getconf CLK_TCK)
export OUT NAME=$(basename "$BIN") CPU_MS=$(( (C1 - C0) * 1000 / TICK ))
python3 - <<'PY'
import json, os
d = json.load(open(os.environ["OUT"]))
print(os.environ["NAME"], "p50 %.2f p90 %.2f mean %.2f ms" % (d["p50_ms"], d["p90_ms"], d["mean_ms"]),
      "server CPU %.1f ms/plan (incl. one registration)" % (int(os.environ["CPU_MS"]) / 100),
      "load", open("/proc/loadavg").read().split()[:3])
PY
