#!/bin/bash
# The scheduler's cases for two (or more) bench binaries, alternated, as
# BENCHMARKS.md reports them: ROUNDS rounds, each running every binary once
# with SCHED_RUNS=15 pinned to CPU 1, then per case and binary the minimum
# and the median of the rounds' best-of-15 CPU times, and the (5000, 5000)
# → (10000, 10000) ratio of each.
#
# usage: scripts/sched-ab.sh ROUNDS BENCH_BINARY...
#   BENCH_BINARY: a copy of target/release/deps/scheduler-<hash>, from
#   `cargo bench -p caravan-core --bench scheduler --no-run`
set -euo pipefail
rounds=${1:?usage: $0 ROUNDS BENCH_BINARY...}
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    SCHED_CLOCK=none SCHED_RUNS=15 taskset -c 1 "$bin" --bench 2>&1 \
      | grep "best of" \
      | sed "s|^|$(basename "$bin")\t|; s/: best of 15: /\t/; s/ ms CPU.*//" >> "$out"
  done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
times = collections.defaultdict(list)
cases, bins = [], []
for line in open(sys.argv[1]):
    b, case, ms = line.rstrip("\n").split("\t")
    times[(case, b)].append(float(ms))
    cases += [case] if case not in cases else []
    bins += [b] if b not in bins else []
print("case".ljust(36) + "".join(f"{b} min / median".rjust(30) for b in bins))
for c in cases:
    cells = (times[(c, b)] for b in bins)
    print(c.ljust(36) + "".join(f"{min(t):.2f} / {statistics.median(t):.2f}".rjust(30) for t in cells))
small, big = "service N=5000 C=5000", "service N=10000 C=10000"
for b in bins:
    if (small, b) in times and (big, b) in times:
        lo = min(times[(big, b)]) / min(times[(small, b)])
        mid = statistics.median(times[(big, b)]) / statistics.median(times[(small, b)])
        print(f"{b}: (10000, 10000) / (5000, 5000) = {lo:.2f} (minimums), {mid:.2f} (medians)")
PY
