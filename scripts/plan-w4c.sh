#!/bin/bash
# usage: scripts/plan-w4c.sh BIN PORT
# One fresh agent (empty data dir), three W4c plans of warm-up, then 100
# measured plans of the 50-group job with its diff (../shared/perf
# plan_bench.py); prints p50/p90/mean and the server CPU per plan from
# /proc/<pid>/stat. Stops the agent by PID.
BIN=$1; PORT=$2; D=$(mktemp -d)
$BIN agent -bind 127.0.0.1 -http-port $PORT -data-dir $D > /dev/null 2>&1 &
PID=$!
for i in $(seq 50); do curl -s 127.0.0.1:$PORT/v1/status/leader >/dev/null && break; sleep 0.1; done
python3 ${CARAVAN_PERF_DIR:-/work/shared/perf}/plan_bench.py --addr http://127.0.0.1:$PORT --variant bigdiff --count 1 --warmup 3 > /dev/null
C0=$(awk '{print $14+$15}' /proc/$PID/stat)
python3 ${CARAVAN_PERF_DIR:-/work/shared/perf}/plan_bench.py --addr http://127.0.0.1:$PORT --variant bigdiff --count 100 --warmup 0 --job-id big-w4c > $D.json
C1=$(awk '{print $14+$15}' /proc/$PID/stat)
kill $PID; wait $PID 2>/dev/null
export OUT=$D.json NAME=$(basename $BIN) CPU=$((C1-C0))
python3 - <<'PY'
import json, os
d = json.load(open(os.environ["OUT"]))
print(os.environ["NAME"], "p50 %.2f p90 %.2f mean %.2f ms" % (d["p50_ms"], d["p90_ms"], d["mean_ms"]),
      "server CPU %.1f ms/plan (incl. one registration)" % (int(os.environ["CPU"]) * 10 / 100),
      "load", open("/proc/loadavg").read().split()[:3])
PY
rm -rf $D $D.json
