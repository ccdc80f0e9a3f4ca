#!/bin/bash
# The scheduler's scaling from (5000, 5000) to (10000, 10000), measured as
# BENCHMARKS.md reports it: ROUNDS rounds, each the best of 7 CPU times of
# both cases, which the bench runs in turns (so that both see the same
# phase of a noisy machine), printed as "ms(5000) ms(10000) ratio".
#
# usage: scripts/sched-ratio.sh BENCH_BINARY [ROUNDS]
#   BENCH_BINARY: target/release/deps/scheduler-<hash>, from
#   `cargo bench -p caravan-core --bench scheduler --no-run`
set -euo pipefail
bin=${1:?usage: $0 BENCH_BINARY [ROUNDS]}
rounds=${2:-8}
for _ in $(seq "$rounds"); do
  SCHED_CLOCK=none SCHED_RUNS=7 SCHED_BENCH="N=5000 C=5000,N=10000" "$bin" --bench 2>&1 \
    | sed -n 's/.*best of [0-9]*: \([0-9.]*\) ms CPU.*/\1/p' | tr '\n' ' ' \
    | awk '{ printf "%.1f %.1f %.2f\n", $1, $2, $2 / $1 }'
done
