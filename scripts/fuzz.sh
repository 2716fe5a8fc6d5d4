#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, with clang-14) and runs each for a bounded time, then
# prints executions and findings per target. Exit 1 when any target found something.
#   scripts/fuzz.sh                    # each target until 10^7 executions or 1 hour
#   scripts/fuzz.sh --seconds 5 --seed 1   # each target 5 s, fixed seed (what CI runs)
#   scripts/fuzz.sh --seconds 60 router mapping   # only these targets
# Options: --seconds N (per target), --runs N (per target; default 10000000 without --seconds),
# --seed N (libFuzzer's -seed: the same inputs in the same order, so a CI pass does not fail
# on a finding that a commit did not cause; default random), --build-dir DIR (default build-fuzz). Each target starts from its committed seeds
# (fuzz/corpus/<target>/) plus what earlier runs found (DIR/corpus/<target>/, not committed);
# a finding (crash, leak, timeout, out-of-memory, broken property) is written to
# DIR/findings/<target>/ with the command that reproduces it. fuzz/README.md says what to do next.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=""
runs=""
seed=""
build_dir=build-fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ -z "$seconds" ] && [ -z "$runs" ]; then
  seconds=3600
  runs=10000000
fi

if ! command -v clang++-14 >/dev/null 2>&1 ||
   ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed"; then
  bash scripts/setup.sh --deps
fi

mkdir -p "$build_dir"
cmake -S fuzz -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 >"$build_dir/configure.log" 2>&1 ||
  { cat "$build_dir/configure.log" >&2; exit 1; }
cmake --build "$build_dir"

if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(sed -n '/^set(TRIBUTARY_FUZZ_TARGETS/,/^)/{/^  /s/^  //p}' fuzz/CMakeLists.txt)
fi

limits=()
[ -n "$seconds" ] && limits+=("-max_total_time=$seconds")
[ -n "$runs" ] && limits+=("-runs=$runs")
# -timeout: one input taking 10 s is a finding (a parser that hangs); -rss_limit_mb: so is 2 GiB.
options=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
[ -n "$seed" ] && options+=("-seed=$seed")

summary=()
failed=0
for t in "${targets[@]}"; do
  exe="$build_dir/fuzz_$t"
  [ -x "$exe" ] || { echo "fuzz.sh: no target $t (see fuzz/CMakeLists.txt)" >&2; exit 2; }
  corpus="$build_dir/corpus/$t"
  findings="$build_dir/findings/$t"
  mkdir -p "$corpus" "$findings"
  log="$build_dir/findings/$t.log"
  echo "== $t"
  stamp="$build_dir/findings/.$t.start"
  touch "$stamp"
  status=0
  "$exe" "${limits[@]}" "${options[@]}" -artifact_prefix="$findings/" "$corpus" "fuzz/corpus/$t" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  found=$(find "$findings" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' -o -name 'slow-unit-*' \) -newer "$stamp" 2>/dev/null | wc -l)
  if [ "$status" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi
  if [ "$found" -ne 0 ]; then
    failed=1
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz property violated|.*runtime error)' "$log" | head -5 || true
    echo "   reproduce: $exe $(ls -t "$findings"/crash-* "$findings"/leak-* "$findings"/timeout-* "$findings"/oom-* 2>/dev/null | head -1)"
  fi
  summary+=("$(printf '%-18s %12s %6s %7s %8s' "$t" "${execs:-?}" "${secs:-?}" "${cov:-?}" "$found")")
done

printf '\n%-18s %12s %6s %7s %8s\n' target executions secs cov findings
printf '%s\n' "${summary[@]}"
echo "logs and findings: $build_dir/findings/"
exit "$failed"
