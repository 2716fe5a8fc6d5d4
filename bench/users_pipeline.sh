#!/usr/bin/env bash
# Users pipeline throughput and memory against the script a user would write instead (issue #13).
# For each size (100k and 1M records), one process per run so each peak RSS is its own:
#   1. tributary dummy → jsonl          (bench_users_pipeline; its output file is kept)
#   2. the baseline, Debian's python3 bench/baseline_users.py on that file → another file
#   3. tributary jsonl → jsonl          on the very file the baseline read
# then the CPU per record of each (user + system time of the whole process, from /usr/bin/time, the
# same measure for all three) and the ratio baseline / tributary (and tributary / baseline). It
# first prints the working disk's filesystem and the p50 of 200 fsyncs of a 4 KiB append there:
# state, input and output live on that disk (BENCH_DIR, default BUILD_DIR/bench-users; never tmpfs
# unless you ask).
# Goals (issue #13), 1M records: <= 3.3 µs process CPU per record, <= 1/6 of the baseline's CPU per
# record, peak RSS <= 16 MiB; with lookup matching (a 4th run, dummy -> jsonl with --match) >= 100k
# records per process CPU-second.
#   bench/users_pipeline.sh [BUILD_DIR] [EXTRA_FLAGS...]     e.g. bench/users_pipeline.sh build --match
#   RECORDS="100000" bench/users_pipeline.sh build           sizes to run (default "100000 1000000")
set -euo pipefail
build=${1:-build}
shift || true
bin=$build/bench/bench_users_pipeline
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
[ -x "$bin" ] || { echo "$bin not built: cmake --build $build --target bench_users_pipeline" >&2; exit 2; }
[ -x "$python" ] || { echo "$python (Debian's python3) is missing" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
work=${BENCH_DIR:-$build/bench-users}
[ -e "$work" ] && { echo "$work exists; remove it or set BENCH_DIR" >&2; exit 2; }
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

fs=$(findmnt -n -o FSTYPE -T "$work" 2>/dev/null || stat -f -c %T "$work")
p50=$("$python" - "$work/fsync.probe" <<'EOF'
import os, statistics, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
samples = []
for _ in range(200):
    os.write(fd, b"x" * 4096)
    t = time.perf_counter()
    os.fsync(fd)
    samples.append(time.perf_counter() - t)
os.close(fd)
os.unlink(sys.argv[1])
print(f"{statistics.median(samples) * 1e3:.3f}")
EOF
)
echo "disk: dir=$work fs=$fs fsync_p50_ms=$p50 (200 fsyncs of a 4 KiB append)"

# Runs a command under /usr/bin/time; prints the command's output, then sets cpu_s, wall_s, rss_mib.
timed() {
    local t=$work/time.txt
    /usr/bin/time -f "%U %S %e %M" -o "$t" "$@" || { echo "failed: $*" >&2; exit 1; }
    read -r user sys wall_s rss_kib <"$t"
    cpu_s=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    rss_mib=$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')
}

# One summary line: name, records, then the figures `timed` set.
summary() {
    awk -v name="$1" -v n="$2" -v cpu="$cpu_s" -v wall="$wall_s" -v rss="$rss_mib" 'BEGIN {
        printf "  %-28s records=%d wall_s=%.2f records_per_s=%.0f cpu_s=%.2f cpu_us_per_record=%.2f peak_rss_mib=%s\n",
               name, n, wall, n / wall, cpu, cpu * 1e6 / n, rss }'
}

for n in ${RECORDS:-100000 1000000}; do
    rm -rf "$work/run"
    timed "$bin" --records "$n" --keep "$work/run" "$@"
    dummy_cpu=$cpu_s; dummy_line=$(summary "tributary dummy -> jsonl" "$n")
    input=$work/run/users.jsonl
    rm -rf "$work/state-jsonl"
    timed "$python" "$here/baseline_users.py" "$input" "$work/baseline.jsonl"
    base_cpu=$cpu_s; base_line=$(summary "baseline python3 script" "$n")
    timed "$bin" --records "$n" --source-file "$input" --keep "$work/state-jsonl" "$@"
    jsonl_cpu=$cpu_s; jsonl_line=$(summary "tributary jsonl -> jsonl" "$n")
    # Lookup matching (destination.match email -> email: jsonl has no native matching, so the job
    # keeps the match table in the store: a get_matches and a put_matches per batch).
    rm -rf "$work/state-match"
    timed "$bin" --records "$n" --match --keep "$work/state-match" "$@"
    match_cpu=$cpu_s; match_line=$(summary "tributary dummy -> jsonl match" "$n")
    rm -rf "$work/state-match"
    # The baseline wrote what tributary wrote, up to written_at.
    "$python" - "$work/baseline.jsonl" "$work/state-jsonl/users.jsonl" <<'EOF'
import json, sys
def lines(path):
    with open(path, encoding="utf-8") as f:
        for text in f:
            record = json.loads(text)
            del record["written_at"]
            yield record
for i, (a, b) in enumerate(zip(lines(sys.argv[1]), lines(sys.argv[2]), strict=True)):
    if a != b:
        sys.exit(f"line {i + 1}: the baseline and tributary wrote different users")
EOF
    echo "users $n records:"
    echo "$dummy_line"
    echo "$base_line"
    echo "$jsonl_line"
    echo "$match_line"
    awk -v b="$base_cpu" -v d="$dummy_cpu" -v j="$jsonl_cpu" -v n="$n" -v m="$match_cpu" 'BEGIN {
        printf "  ratio baseline/tributary CPU per record: dummy -> jsonl %.2f, jsonl -> jsonl %.2f (goal >= 6)\n",
               b / d, b / j
        printf "  ratio tributary/baseline CPU per record: dummy -> jsonl %.3f, jsonl -> jsonl %.3f (goal <= 0.167)\n",
               d / b, j / b
        printf "  lookup matching: %.0f records per CPU-second (goal >= 100000)\n", n / m }'
    rm -rf "$work/run" "$work/state-jsonl" "$work/baseline.jsonl"
done
