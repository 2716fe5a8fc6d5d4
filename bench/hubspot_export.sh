#!/usr/bin/env bash
# HubSpot → jsonl export of N contacts (default 100,000) through the list endpoint, against mock
# HubSpot in a separate process with its limits off (tests/kit/hubspot_mock_main.cpp): tributary's
# own CPU time per contact (user + system, from /usr/bin/time -v, so the mock's CPU is not
# counted) and its peak RSS. Issue #15's goal: <= 3 us of CPU per contact. Use a Release build.
# tributary still keeps the tier's published window (api-limit-increase: 200 per rolling 10 s;
# config may only lower it), so 1,000 pages of 100 take about 50 s of wall time, most of it
# waiting: the CPU figure is what counts.
#   bench/hubspot_export.sh [BUILD_DIR] [CONTACTS]      e.g. bench/hubspot_export.sh build-rel
set -euo pipefail
build=${1:-build}
contacts=${2:-100000}
bin=$build/daemon/tributary
mock=$build/tests/kit/tributary-hubspot-mock
for b in "$bin" "$mock"; do
    [ -x "$b" ] || { echo "$b not built: cmake --build $build --target tributary tributary-hubspot-mock" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (Debian: apt-get install time)" >&2; exit 2; }

token=pat-na1-bench-0123456789
dir=$(mktemp -d)
mock_pid=
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

"$mock" --token "$token" --contacts "$contacts" --no-limits >"$dir/mock.out" 2>"$dir/mock.err" &
mock_pid=$!
for _ in $(seq 1 600); do
    grep -q '^listening ' "$dir/mock.out" 2>/dev/null && break
    sleep 0.1
done
base_url=$(sed -n 's/^listening //p' "$dir/mock.out")
[ -n "$base_url" ] || { echo "the mock did not start" >&2; cat "$dir/mock.err" >&2; exit 1; }

cat >"$dir/export.yaml" <<YAML
state:
  dir: $dir/state
  sync: normal
log:
  format: json
  level: warn
connections:
  hubspot:
    connector: hubspot
    settings:
      access_token: \${env:HUBSPOT_TOKEN}
      tier: api-limit-increase
    base_url: $base_url
  out:
    connector: jsonl
    settings:
      path: $dir/users.jsonl
jobs:
  export:
    type: users
    source: { connection: hubspot }
    destination: { connection: out, mode: upsert }
    lookback: 0s
    mapping:
      email: email
      first_name: firstname
      last_name: lastname
      created_at: createdate
      updated_at: lastmodifieddate
YAML

start=$(date +%s.%N)
HUBSPOT_TOKEN=$token /usr/bin/time -v "$bin" run --once export -c "$dir/export.yaml" 2>"$dir/time.txt" >/dev/null ||
    { echo "the export failed" >&2; tail -20 "$dir/time.txt" >&2; exit 1; }
end=$(date +%s.%N)
lines=$(wc -l <"$dir/users.jsonl")
user=$(sed -n 's/^\s*User time (seconds): //p' "$dir/time.txt")
sys=$(sed -n 's/^\s*System time (seconds): //p' "$dir/time.txt")
rss=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$dir/time.txt")
requests=$(curl -s "$base_url/__mock/stats" 2>/dev/null || echo '?')
[ "$lines" -eq "$contacts" ] || { echo "expected $contacts lines, got $lines" >&2; exit 1; }
awk -v n="$contacts" -v u="$user" -v s="$sys" -v r="$rss" -v t0="$start" -v t1="$end" 'BEGIN {
    printf "hubspot export: %d contacts -> jsonl, mock limits off\n", n
    printf "  tributary CPU: user %.2f s + sys %.2f s = %.3f us/contact (goal <= 3)\n", u, s, (u + s) * 1e6 / n
    printf "  peak RSS: %.1f MiB\n", r / 1024
    printf "  wall: %.2f s (%.0f contacts/s; paced by the tier window 200 per 10 s)\n", t1 - t0, n / (t1 - t0)
}'
echo "  mock stats: $requests"
