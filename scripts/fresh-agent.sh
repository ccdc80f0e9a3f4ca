# Sourced by the load scripts: `fresh_agent BIN PORT` starts `caravan
# agent` on 127.0.0.1:PORT with an empty data directory, waits until it
# answers, and sets P (its PID), D (its data directory) and PERF (the
# ../shared/perf directory, CARAVAN_PERF_DIR overrides); on exit the agent
# is stopped by PID and the directory removed.
fresh_agent() {
  D=$(mktemp -d)
  PERF=${CARAVAN_PERF_DIR:-/work/shared/perf}
  "$1" agent -bind 127.0.0.1 -http-port "$2" -data-dir "$D" > /dev/null 2>&1 &
  P=$!
  trap 'kill $P 2>/dev/null; wait $P 2>/dev/null; rm -rf "$D"' EXIT
  for _ in $(seq 50); do curl -s "127.0.0.1:$2/v1/status/leader" >/dev/null && break; sleep 0.1; done
}
