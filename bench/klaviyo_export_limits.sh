#!/usr/bin/env bash
# Klaviyo → jsonl export with mock Klaviyo's windows ON, scaled down by a divisor (default 25: Get
# Profiles at 3/s and 30/min instead of 75/s and 750/min) and the connection's `profiles-read`
# limits lowered to the same numbers: how much of the profiles endpoint's windows tributary uses
# and whether it ever goes beyond one. Issue #14's goal: utilization >= 0.97, 0 429s.
# Utilization = the requests the mock accepted over the most any client could have had accepted
# between tributary's first and last request to the endpoint (tests/kit/limit_enforcer.hpp
# max_acceptable: both fixed windows, aligned to the UTC clock as Klaviyo's are). The mock's
# answers carry Klaviyo's RateLimit-* headers, from which tributary learns where the minute starts.
# The default run (9,000 profiles, 90 pages at 30/min) takes about 3 minutes of wall time.
#   bench/klaviyo_export_limits.sh [BUILD_DIR] [PROFILES] [DIVISOR]   e.g. bench/klaviyo_export_limits.sh build-rel
set -euo pipefail
build=${1:-build}
profiles=${2:-9000}
divisor=${3:-25}
bin=$build/daemon/tributary
mock=$build/tests/kit/tributary-klaviyo-mock
for b in "$bin" "$mock"; do
    [ -x "$b" ] || { echo "$b not built: cmake --build $build --target tributary tributary-klaviyo-mock" >&2; exit 2; }
done
per_second=$((75 / divisor)); [ "$per_second" -ge 1 ] || per_second=1
per_minute=$((750 / divisor)); [ "$per_minute" -ge 1 ] || per_minute=1

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/klaviyo_bench_common.sh
. "$here/klaviyo_bench_common.sh"
start_mock --profiles "$profiles" --bytes 400 --limit-divisor "$divisor"
export_yaml "    limits:
      profiles-read:
        limits:
          - { kind: fixed_window, requests: $per_second, per: 1s }
          - { kind: fixed_window, requests: $per_minute, per: 1m }"

start=$(date +%s.%N)
KLAVIYO_API_KEY=$key "$bin" run --once export -c "$dir/export.yaml" 2>"$dir/err.txt" >/dev/null ||
    { echo "the export failed" >&2; tail -20 "$dir/err.txt" >&2; exit 1; }
end=$(date +%s.%N)
lines=$(wc -l <"$dir/users.jsonl")
[ "$lines" -eq "$profiles" ] || { echo "expected $profiles lines, got $lines" >&2; exit 1; }
curl -s "$base_url/__mock/stats" >"$dir/stats.json"
/usr/bin/python3 - "$dir/stats.json" "$profiles" "$divisor" "$start" "$end" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
profiles, divisor, t0, t1 = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
w = s["windows"]["get_profiles"]
print("klaviyo export, limits on: %d profiles -> jsonl, Get Profiles windows %d/s and %d/min (spec / %d)"
      % (profiles, w["per_second"], w["per_minute"], divisor))
print("  requests: %d, accepted by the windows %d, 429s %d (all endpoints: %d)"
      % (s["requests"], w["accepted"], w["rejected"], s["rate_limited"]))
print("  utilization of the profiles windows: %.3f (%d accepted of at most %d between the first and last request; goal >= 0.97, 0 429s)"
      % (w["utilization"], w["accepted"], w["max_acceptable"]))
print("  wall: %.1f s" % (t1 - t0))
PY
