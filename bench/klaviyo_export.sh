#!/usr/bin/env bash
# Klaviyo → jsonl export of N profiles (default 100,000 of about 1,200 bytes of JSON each) against
# mock Klaviyo in a separate process with its limits off (tests/kit/klaviyo_mock_main.cpp):
# tributary's own CPU time per profile (user + system, from /usr/bin/time -v, so the mock's CPU is
# not counted) and its peak RSS. Issue #14's goal: <= 3 us of CPU per profile. Use a Release build.
# tributary still keeps Klaviyo's published windows (75/s, 750/min; config may only lower them), so
# 1,000 pages take about 80 s of wall time, most of it waiting: the CPU figure is what counts.
# In the same run, against the same mock, the committed Python baseline (bench/baseline_klaviyo_export.py:
# Debian's python3-requests and python3-tenacity, `scripts/setup.sh --bench` installs them) does
# the same export; both CPU figures are printed, and their ratio.
#   bench/klaviyo_export.sh [BUILD_DIR] [PROFILES] [BYTES]      e.g. bench/klaviyo_export.sh build-rel
set -euo pipefail
build=${1:-build}
profiles=${2:-100000}
bytes=${3:-1200}
bin=$build/daemon/tributary
mock=$build/tests/kit/tributary-klaviyo-mock
for b in "$bin" "$mock"; do
    [ -x "$b" ] || { echo "$b not built: cmake --build $build --target tributary tributary-klaviyo-mock" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (Debian: apt-get install time)" >&2; exit 2; }
/usr/bin/python3 -c 'import requests, tenacity' 2>/dev/null ||
    { echo "the baseline needs python3-requests and python3-tenacity (scripts/setup.sh --bench)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=bench/klaviyo_bench_common.sh
. "$here/klaviyo_bench_common.sh"
start_mock --profiles "$profiles" --bytes "$bytes" --no-limits
export_yaml ""

start=$(date +%s.%N)
KLAVIYO_API_KEY=$key /usr/bin/time -v "$bin" run --once export -c "$dir/export.yaml" 2>"$dir/time.txt" >/dev/null ||
    { echo "the export failed" >&2; tail -20 "$dir/time.txt" >&2; exit 1; }
end=$(date +%s.%N)
lines=$(wc -l <"$dir/users.jsonl")
user=$(sed -n 's/^\s*User time (seconds): //p' "$dir/time.txt")
sys=$(sed -n 's/^\s*System time (seconds): //p' "$dir/time.txt")
rss=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$dir/time.txt")
[ "$lines" -eq "$profiles" ] || { echo "expected $profiles lines, got $lines" >&2; exit 1; }
# The Python baseline, same mock, same profiles.
/usr/bin/time -v /usr/bin/python3 "$here/baseline_klaviyo_export.py" "$base_url" "$key" "$dir/python.jsonl" \
    2>"$dir/time-py.txt" >/dev/null || { echo "the Python baseline failed" >&2; tail -20 "$dir/time-py.txt" >&2; exit 1; }
py_lines=$(wc -l <"$dir/python.jsonl")
[ "$py_lines" -eq "$profiles" ] || { echo "Python baseline: expected $profiles lines, got $py_lines" >&2; exit 1; }
py_user=$(sed -n 's/^\s*User time (seconds): //p' "$dir/time-py.txt")
py_sys=$(sed -n 's/^\s*System time (seconds): //p' "$dir/time-py.txt")
py_rss=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$dir/time-py.txt")
requests=$(curl -s "$base_url/__mock/stats" 2>/dev/null || echo '?')
awk -v n="$profiles" -v u="$user" -v s="$sys" -v r="$rss" -v t0="$start" -v t1="$end" -v b="$bytes" \
    -v pu="$py_user" -v ps="$py_sys" -v pr="$py_rss" 'BEGIN {
    t = (u + s) * 1e6 / n; p = (pu + ps) * 1e6 / n
    printf "klaviyo export: %d profiles (~%d B each) -> jsonl, mock limits off\n", n, b
    printf "  tributary CPU: user %.2f s + sys %.2f s = %.3f us/profile (goal <= 3)\n", u, s, t
    printf "  peak RSS: %.1f MiB\n", r / 1024
    printf "  wall: %.2f s (%.0f profiles/s; paced by the spec windows 75/s, 750/min)\n", t1 - t0, n / (t1 - t0)
    printf "  python baseline (requests + tenacity) CPU: user %.2f s + sys %.2f s = %.3f us/profile, peak RSS %.1f MiB\n", pu, ps, p, pr / 1024
    printf "  ratio tributary / python: %.2f\n", t / p
}'
echo "  mock stats (both runs): $requests"
