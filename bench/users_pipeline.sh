#!/usr/bin/env bash
# Users pipeline throughput and memory: dummy → jsonl in process, 100k and 1M records, one
# process per run so each peak RSS is its own (flat = the 1M run peaks where the 100k run does).
# Goals (issue #5): >= 300k records/s on one core, <= 64 MiB peak RSS.
#   bench/users_pipeline.sh [BUILD_DIR] [EXTRA_FLAGS...]     e.g. bench/users_pipeline.sh build --match
set -euo pipefail
build=${1:-build}
shift || true
bin=$build/bench/bench_users_pipeline
[ -x "$bin" ] || { echo "$bin not built: cmake --build $build --target bench_users_pipeline" >&2; exit 2; }
for n in 100000 1000000; do
    "$bin" --records "$n" "$@"
done
