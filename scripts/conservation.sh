#!/usr/bin/env bash
# The conservation test (issue #17), long version: an events job and a users job in one daemon
# against a receiver with fault profiles, killed with SIGKILL at seeded random moments and
# restarted; an independent checker then asserts that nothing acknowledged or read was lost,
# per-user order, checkpoints never ahead of delivered data, and no request beyond the receiver's
# limit windows. Prints delivered, duplicates, retries and kills survived; exit 1 on any failure.
#   scripts/conservation.sh                          # 200 kills, seed 1
#   scripts/conservation.sh --kills 20 --seed 7      # what the 20-kill report runs
#   scripts/conservation.sh --faults flaky,slow --users 5000 --time-limit 1800
#   scripts/conservation.sh --vendors none    # only the local destinations (webhook, kit-http-users)
# Options: --kills N (default 200), --seed S (the kill moments, the fault decisions and the
# dataset; default 1), --faults LIST (flaky,throttled,slow,weird,all,none; default
# flaky,throttled,slow), --users N (source records, default 3000), --post-interval-ms MS (each of
# the two event clients posts 50 events that often until the last kill; default 200), --time-limit SECONDS (default: 60 + 12 per kill), --build-dir DIR (default
# build-asan; the targets tributary-conservation and tributary_bench_daemon are built there),
# --vendors LIST (hubspot, klaviyo, klaviyo,hubspot or none; default hubspot: a users job to mock
# HubSpot runs beside the local ones, checked the same way; klaviyo adds an events job to mock
# Klaviyo, whose resends after a kill go one by one and take longer: raise --time-limit), --log
# FILE (every
# daemon's log).
# ctest runs the short version: `ctest -L conservation` (4 kills, seed 17).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-asan
kills=200
args=()
time_limit=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills=$2; shift 2 ;;
    --time-limit) time_limit=$2; shift 2 ;;
    --seed|--faults|--users|--post-interval-ms|--vendors|--log) args+=("$1" "$2"); shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "conservation.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$time_limit" ] || time_limit=$((60 + 12 * kills))

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTRIBUTARY_SANITIZE=ON
fi
cmake --build "$build_dir" --target tributary-conservation tributary_bench_daemon
exec "$build_dir/tests/tributary-conservation" --daemon "$build_dir/bench/tributary_bench_daemon" \
  --kills "$kills" --time-limit "$time_limit" "${args[@]}"
