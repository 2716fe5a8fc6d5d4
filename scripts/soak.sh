#!/usr/bin/env bash
# The soak (issue #17): the real daemon for N minutes under steady load with faults — an events
# job fed by two ingest clients (about 400 events/s offered) and a users job repeating every 2 s
# (its source gets new versions every 15 s through `tributary reload`), against the test kit's
# receiver with the fault profiles flaky,slow. It samples the daemon's RSS (VmRSS), open fds,
# queue depth (`tributary status --json` over the control socket) and loop.stall lines, prints a
# table of the samples, one growth line per series and PASS or FAIL; exit 1 on growth (rule:
# tests/e2e/soak.cpp — the last quarter's median above the first quarter's after the warm-up,
# times a ratio plus a bound), on delivery stopping, on an event lost or out of order.
#   scripts/soak.sh                         # 10 minutes, Release build in build-rel
#   scripts/soak.sh --minutes 30 --seed 3
#   scripts/soak.sh --build-dir build-asan  # under the sanitizers (16 MiB ASan quarantine)
# Options: --minutes N (default 10), --seed S (default 1), --faults LIST (default flaky,slow),
# --sample-ms MS (default 5000), --build-dir DIR (default build-rel; configured as Release if
# absent; the targets tributary-soak and tributary_bench_daemon are built there).
# ctest runs the short version: `ctest -L soak` (75 s, seed 17, ASan build).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-rel
minutes=10
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --seed|--faults|--sample-ms) args+=("$1" "$2"); shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$minutes" in ''|*[!0-9]*|0) echo "soak.sh: --minutes takes a whole number >= 1" >&2; exit 2 ;; esac

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" --target tributary-soak tributary_bench_daemon
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); load:$(cut -d' ' -f1-3 /proc/loadavg)"
exec "$build_dir/tests/tributary-soak" --daemon "$build_dir/bench/tributary_bench_daemon" \
  --seconds $((minutes * 60)) "${args[@]}"
