#!/usr/bin/env bash
# One command, every benchmark (issue #17): runs each bench/*.sh N times (default 3) one after
# another and prints one table — figure, median over the runs, baseline (measured in the same
# run where the figure has one), ratio (figure ÷ baseline, the median of the per-run ratios),
# goal, and the machine (cores, CPU model, load average before and after). Builds nothing.
#   bench/report.sh BUILD_DIR [--runs N] [--quick] [--only "NAME..."] [--out FILE]
#     BUILD_DIR  a Release build with the targets tributary tributary_bench_daemon
#                bench_quota_receiver bench_http_overhead bench_users_pipeline bench_events_ingest
#                tributary-klaviyo-mock tributary-hubspot-mock
#     --quick    a smoke version with small sizes (about 10 minutes a run; its figures are not the
#                goals' sizes: the table header says so)
#     --only     a subset of: quota_latency http_overhead users_pipeline events_ingest
#                klaviyo_export hubspot_export drain_outage start_ready
#     --out      where the table goes as well (default BUILD_DIR/bench-report.txt); every
#                benchmark's own output is kept next to it in BUILD_DIR/bench-report.d/
# A benchmark that fails (or whose tools are missing) is named in the table with its exit code;
# the others still run. The full version takes long: quota_latency alone is about 25 minutes a run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench/report.sh BUILD_DIR [--runs N] [--quick] [--only "NAME..."] [--out FILE]}
shift
runs=3
quick=0
only="quota_latency http_overhead users_pipeline events_ingest klaviyo_export hubspot_export drain_outage start_ready"
out=$build/bench-report.txt
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        --only) only=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "report.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
case "$runs" in ''|*[!0-9]*|0) echo "report.sh: --runs takes a whole number >= 1" >&2; exit 2 ;; esac
logs=$build/bench-report.d
rm -rf "$logs"
mkdir -p "$logs"

# args NAME: the benchmark's command line (full or quick sizes).
args() {
    if [ "$quick" = 1 ]; then
        case "$1" in
            quota_latency) echo "$here/quota_latency.sh $build --quick" ;;
            http_overhead) echo "$here/http_overhead.sh $build 8 50000" ;;
            users_pipeline) echo "env RECORDS=100000 $here/users_pipeline.sh $build" ;;
            events_ingest) echo "$here/events_ingest.sh $build 8 100000 200000" ;;
            klaviyo_export) echo "$here/klaviyo_export.sh $build 10000" ;;
            hubspot_export) echo "$here/hubspot_export.sh $build 10000" ;;
            drain_outage) echo "$here/drain_outage.sh $build 15 20000" ;;
            start_ready) echo "$here/start_ready.sh $build 3 20000" ;;
        esac
    else
        case "$1" in
            quota_latency) echo "$here/quota_latency.sh $build" ;;
            http_overhead) echo "$here/http_overhead.sh $build 8 200000" ;;
            users_pipeline) echo "env RECORDS=1000000 $here/users_pipeline.sh $build" ;;
            events_ingest) echo "$here/events_ingest.sh $build 8 500000 1000000" ;;
            klaviyo_export) echo "$here/klaviyo_export.sh $build 100000" ;;
            hubspot_export) echo "$here/hubspot_export.sh $build 100000" ;;
            drain_outage) echo "$here/drain_outage.sh $build 60 100000" ;;
            start_ready) echo "$here/start_ready.sh $build 5 100000" ;;
        esac
    fi
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for i in $(seq "$runs"); do
    for name in $only; do
        cmd=$(args "$name")
        [ -n "$cmd" ] || { echo "report.sh: unknown benchmark $name" >&2; exit 2; }
        echo "run $i/$runs: $name ($cmd)" >&2
        t0=$SECONDS
        rc=0
        $cmd >"$logs/$name.$i.txt" 2>"$logs/$name.$i.err" || rc=$?
        echo "$rc $((SECONDS - t0))" >"$logs/$name.$i.rc"
    done
done

python3 - "$logs" "$runs" "$quick" "$only" "$started" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(nproc)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
    "$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')" <<'PY' | tee "$out"
import os, re, statistics, sys

logs, runs, quick, only, started, load0, load1, cores, cpu, commit = sys.argv[1:11]
runs = int(runs)
names = only.split()

def num(pattern, text, group=1):
    m = re.search(pattern, text, re.M)
    return float(m.group(group)) if m else None

# Each parser: text of one run -> list of (figure, value, baseline, goal); baseline None when none.
def quota_latency(t):
    out = []
    for m in re.finditer(r"^(events-uniform|events-hot|users)\s+(\d+)\s+(yes|no)\s+([\d.]+)\s+([\d.]+)\s+(\d+)", t, re.M):
        scen, lat, kill, util, vs_bound, r429 = m.groups()
        tag = f"{scen} {lat} ms{' kill -9' if kill == 'yes' else ''}"
        out.append((f"quota utilization, {tag} (÷ optimal schedule)", float(util), 1.0, ">= 0.97"))
        out.append((f"429s, {tag}", float(r429), None, "0"))
    return out

def http_overhead(t):
    wrk = num(r"^wrk .*requests_per_s=([\d.]+)", t)
    eng = num(r"^engine .*requests_per_s=([\d.]+)", t)
    return [("engine requests/s (÷ wrk -t1, same connections)", eng, wrk, "ratio >= 0.6"),
            ("engine client CPU s per 10k requests", num(r"^engine .*cpu_s_per_10k=([\d.]+)", t), None, ""),
            ("engine client peak RSS MiB", (num(r"^engine .*peak_rss_kib=(\d+)", t) or 0) / 1024 or None, None, "")]

def users_pipeline(t):
    out = []
    parts = re.split(r"^users (\d+) records:$", t, flags=re.M)
    for n, body in zip(parts[1::2], parts[2::2]):
        base = num(r"baseline python3 script .*cpu_us_per_record=([\d.]+)", body)
        for kind in ("dummy -> jsonl", "jsonl -> jsonl"):
            k = re.escape(kind)
            cpu = num(rf"tributary {k} .*cpu_us_per_record=([\d.]+)", body)
            rss = num(rf"tributary {k} .*peak_rss_mib=([\d.]+)", body)
            out.append((f"users CPU µs/record, {kind}, {int(n):,} (÷ Python script)", cpu, base, "<= 3.3 µs, ratio <= 0.167 (1M)"))
            out.append((f"users peak RSS MiB, {kind}, {int(n):,}", rss, None, "<= 16 (1M)"))
    return out

def events_ingest(t):
    out = []
    for run in ("full", "normal"):
        out.append((f"events/s acknowledged, sync={run}", num(rf"^{run} sync={run} load .* events_per_s=(\d+)", t), None, ">= 150000 (full)"))
        out.append((f"ingest p99 ms, sync={run}", num(rf"^{run} sync={run} load .* p99_ms=([\d.]+)", t), None, "<= 50 (full)"))
        out.append((f"events/s delivered, sync={run}", num(rf"^{run}: receive .*delivered_per_s=(\d+)", t), None, ""))
        out.append((f"ingest CPU µs/event, sync={run}", num(rf"^{run}: tributary .*cpu_us_per_event=([\d.]+)", t), None, ""))
    q = num(r"^queued: events_queued=(\d+)", t)
    hwm = num(r"^queued: .*vm_hwm_kib=(\d+)", t)
    out.append((f"peak RSS MiB with {int(q or 0):,} queued", hwm / 1024 if hwm else None, None, "<= 16 (1M)"))
    out.append(("events/s drained (queue -> webhook)", num(r"^drain sync=full .*events_per_s=(\d+)", t), None, ">= 50000"))
    return out

def klaviyo_export(t):
    return [("Klaviyo export CPU µs/profile (÷ Python requests+tenacity)", num(r"tributary CPU: .*= ([\d.]+) us/profile", t),
             num(r"python baseline .*= ([\d.]+) us/profile", t), "<= 3 µs"),
            ("Klaviyo export peak RSS MiB", num(r"^\s*peak RSS: ([\d.]+) MiB", t), None, "")]

def hubspot_export(t):
    return [("HubSpot export CPU µs/contact", num(r"tributary CPU: .*= ([\d.]+) us/contact", t), None, "<= 3 µs"),
            ("HubSpot export peak RSS MiB", num(r"^\s*peak RSS: ([\d.]+) MiB", t), None, "")]

def drain_outage(t):
    o = num(r"^drain_outage outage_s=(\d+)", t)
    n = num(r"^drain_outage .*events=(\d+)", t)
    tag = f"{int(o or 0)} s outage, {int(n or 0):,} events"
    return [(f"drain s after a {tag} (receiver up -> last event)", num(r"drain_s=([\d.]+)", t), None, ""),
            (f"drain CPU µs/event after a {tag}", num(r"^drain_outage .*cpu_us_per_event=([\d.]+)", t), None, "")]

def start_ready(t):
    return [(f"start -> READY ms, {m.group(1)} state", float(m.group(2)), None, "")
            for m in re.finditer(r"^start_ready case=(\S+) runs=\d+ median_ms=([\d.]+)", t, re.M)]

parsers = dict(quota_latency=quota_latency, http_overhead=http_overhead, users_pipeline=users_pipeline,
               events_ingest=events_ingest, klaviyo_export=klaviyo_export, hubspot_export=hubspot_export,
               drain_outage=drain_outage, start_ready=start_ready)

def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"

rows, failed = [], []
for name in names:
    per_figure = {}
    order = []
    for i in range(1, runs + 1):
        path = os.path.join(logs, f"{name}.{i}.txt")
        rc, secs = open(os.path.join(logs, f"{name}.{i}.rc")).read().split()
        if rc != "0":
            failed.append(f"{name} run {i}: exit {rc} after {secs} s (see {os.path.join(logs, f'{name}.{i}.err')})")
            continue
        for fig, v, base, goal in parsers[name](open(path).read()):
            if v is None:
                continue
            if fig not in per_figure:
                per_figure[fig] = ([], [], [], goal)
                order.append(fig)
            vals, bases, ratios, _ = per_figure[fig]
            vals.append(v)
            if base:
                bases.append(base)
                ratios.append(v / base)
    for fig in order:
        vals, bases, ratios, goal = per_figure[fig]
        rows.append((name, fig, statistics.median(vals), len(vals), statistics.median(bases) if bases else None,
                     statistics.median(ratios) if ratios else None, goal))

kind = "QUICK smoke sizes (not the goals' sizes)" if quick == "1" else "full sizes"
print(f"tributary benchmarks — {kind}; median of {runs} run(s); commit {commit}; started {started}")
print(f"machine: {cores} cores, {cpu}; load average before {load0}, after {load1}")
print()
w = max([len(r[1]) for r in rows] + [6])
hdr = f"{'benchmark':<15} {'figure':<{w}} {'median':>10} {'runs':>4} {'baseline':>10} {'ratio':>7}  goal"
print(hdr)
print("-" * len(hdr))
for name, fig, med, n, base, ratio, goal in rows:
    print(f"{name:<15} {fig:<{w}} {fmt(med):>10} {n:>4} {fmt(base):>10} {fmt(ratio):>7}  {goal}")
for f in failed:
    print(f"FAILED {f}")
PY
