#!/usr/bin/env bash
# Quota use under answer latency (issue #12), against the real daemon. Builds nothing.
#   bench/quota_latency.sh BUILD_DIR [--quick] [--latencies "0 50 250 800"] [--requests N]
#                          [--offsets "0 20 40"] [--kill-latency "L..."] [--no-kill] [--check]
#                          [--scenarios "events-uniform events-hot users"]
#     BUILD_DIR  a build with the targets tributary_bench_daemon and bench_quota_receiver
#     --quick    smoke run: latency 50 ms, one start (now, not aligned), 300 requests per run
#     --requests requests each run needs at full batches (default 1500: >= 5 minute windows at
#                300/min); events runs load 50 x N events, the users run reads 50 x N records
#     --check    exit 1 unless every run lost nothing and broke no per-user order (the 429 and
#                utilization goals are printed, not checked: they measure the code built)
#
# Each run has its own receiver (bench_quota_receiver: fixed windows of 20/s and 300/min aligned
# to the wall clock, 429 + Retry-After beyond, answers after the latency; the daemon's limits
# declare both windows `align: clock`, as a vendor's documentation would), daemon
# (tributary_bench_daemon: tributary plus the test kit's HTTP users connector), state directory
# and ports. Scenarios:
#   events-uniform  ingest -> webhook (50 events per request), users drawn uniformly from 10,000
#   events-hot      the same, one user holding 30 % of the events
#   users           dummy -> kit-http-users (50 records per request), tributary run --once
# Events carry properties.seq, their per-user sequence number, so the receiver counts order
# breaks per user; duplicates (an identity accepted twice) are counted apart.
#
# Loading: the events are loaded BEFORE the measured run, through the ingest API (/v1/batch), by a
# daemon whose webhook points at a port nobody listens on (its connection has its own
# rate_limit_scope, so its failed attempts leave no usage to the measured run); that daemon is
# stopped with SIGTERM and the measured one starts on the same state directory with the queue
# full. Utilization then measures the sender, never the loader.
#
# Every run starts at a chosen second of the wall minute (--offsets; each run is repeated from
# each offset, the table shows the minimum utilization). The runs of one offset go in parallel
# (~20 req/s each), the offsets one after another: 39 daemons bursting their last windows at once
# saturated 2 cores and measured the machine, not the sender. Receivers run under SCHED_FIFO when
# the script may (`chrt`, as root): a vendor's server stamps a request when it arrives, not when
# a CPU shared with the client under test gets round to reading it.
# Utilization = the fastest duration the receiver's windows allow for the accepted requests
# from the run's first arrival (plus the last answer's latency) / the actual duration, first
# arrival to last answer. Kill runs (one per scenario and --kill-latency, default 0, at the
# first offset): kill -9 of the daemon once half the requests were accepted, restart at once;
# "429 after" counts the 429s from the restart on. Lost = loaded events (or source records) never
# accepted. KEEP=1 keeps the run directories: RUN/requests.csv has one line per request (ms since
# the first, status, requests in flight, items), RUN/summary.json the receiver's figures, RUN/log.json
# the daemon's log. Environment (events runs): SECOND_ALIGN=clock|none (default clock: how the
# webhook declares its 20/s window; `none` leaves it to the sliding rule); every run: MAX_IN_FLIGHT=N (the
# job's max_in_flight, and the webhook's max_concurrent; default: what the receiver's 20/s bursts
# need at the run's latency, as a user would configure it: 20 x (latency + 100 ms), at least the
# job default of 8 -- 8 below 300 ms, 18 at 800 ms). Goals (issue #12): utilization >= 0.97 at every latency, 0 429s, 0 order breaks, 0
# lost, and the same across kill -9.
set -euo pipefail
build=${1:?usage: bench/quota_latency.sh BUILD_DIR [--quick] [--latencies LIST] [--requests N] [--offsets LIST] [--kill-latency "L..."] [--no-kill] [--check]}
shift
latencies="0 50 250 800"
offsets="0 20 40"
requests=1500
kill_latency=0
kill_runs=1
aligned=1
second_align=${SECOND_ALIGN:-clock}
max_in_flight=${MAX_IN_FLIGHT:-}
scenarios="events-uniform events-hot users"
check=0
while [ $# -gt 0 ]; do
    case $1 in
        --quick) latencies=50; offsets=0; requests=300; aligned=0; kill_latency=50 ;;
        --latencies) latencies=$2; shift ;;
        --requests) requests=$2; shift ;;
        --offsets) offsets=$2; shift ;;
        --kill-latency) kill_latency=$2; shift ;;
        --no-kill) kill_runs=0 ;;
        --scenarios) scenarios=$2; shift ;;
        --check) check=1 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
daemon=$build/bench/tributary_bench_daemon
receiver=$build/bench/bench_quota_receiver
for b in "$daemon" "$receiver"; do
    [ -x "$b" ] || { echo "$b not built: cmake --build $build --target tributary_bench_daemon bench_quota_receiver" >&2; exit 2; }
done
batch=50
events=$((requests * batch))
users=10000
key=bench-write-key
secret="whsec_$(head -c 32 /dev/urandom | base64 -w0)"

dir=$(mktemp -d)
cleanup() {
    # Only what this script started: the pid files its runs wrote.
    for f in "$dir"/*/pid.*; do
        [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    [ "${KEEP:-0}" = 1 ] && echo "kept $dir" >&2 || rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# summary_of PORT: the receiver's summary JSON (HTTP/1.0 over bash's /dev/tcp: no curl needed).
summary_of() {
    local reply
    exec 3<> "/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET /summary HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    reply=$(cat <&3)
    exec 3>&-
    [[ $reply == "HTTP/1.0 200"* || $reply == "HTTP/1.1 200"* ]] || return 1
    echo "${reply##*$'\r\n\r\n'}"
}
# field JSON NAME: an integer member of the receiver's flat summary.
field() { [[ $1 =~ \"$2\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 0; }

# write_config RUN SCENARIO WEBHOOK_URL SCOPE: the run's tributary.yaml (its ports in RUN/ports).
write_config() {
    local run=$1 scenario=$2 url=$3 scope=$4 latency=${5:-0}
    local ingest_port base_url
    local max_in_flight=$max_in_flight
    if [ -z "$max_in_flight" ]; then
        max_in_flight=$(( (20 * (latency + 100) + 999) / 1000 ))
        [ "$max_in_flight" -le 8 ] && max_in_flight=""
    fi
    read -r ingest_port base_url < "$dir/$run/ports"
    {
        cat <<CONF
state:
  dir: $dir/$run/state
  sync: normal
log:
  format: json
  level: info
  suppress_window: 0s
  suppress_burst: 0
  progress_interval: 0s
CONF
        if [ "$scenario" = users ]; then
            cat <<CONF
connections:
  people:
    connector: dummy
    settings: { seed: 12, count: $events, page_size: 500 }
  vendor:
    connector: kit-http-users
    base_url: $base_url
    settings: { max_records: $batch }
jobs:
  users_job:
    type: users
    source: { connection: people }
    destination: { connection: vendor, mode: upsert }
    batch: { max_items: $batch }
    lookback: 15m
$([ -n "$max_in_flight" ] && echo "    max_in_flight: $max_in_flight")
CONF
        else
            cat <<CONF
ingest:
  listen: 127.0.0.1:$ingest_port
  write_keys: [$key]
  max_request: 4MiB
  max_batch_events: 1000
connections:
  hook:
    connector: webhook
    rate_limit_scope: $scope
    settings:
      url: $url
      secrets: ["$secret"]
      max_events: $batch
$([ -n "$max_in_flight" ] && echo "      max_concurrent: $max_in_flight")
      limits:
        - { kind: fixed_window, requests: 20, per: 1s$([ "$second_align" = clock ] && echo ", align: clock") }
        - { kind: fixed_window, requests: 300, per: 1m, align: clock }
jobs:
  events_job:
    type: events
    destination: { connection: hook }
    batch: { max_items: $batch, max_wait: 100ms }
$([ -n "$max_in_flight" ] && echo "    max_in_flight: $max_in_flight")
CONF
        fi
    } > "$dir/$run/tributary.yaml"
}

# start_daemon RUN [--once JOB]: starts the bench daemon; waits for ingest.listen (events runs).
start_daemon() {
    local run=$1
    shift
    "$daemon" run "$@" -c "$dir/$run/tributary.yaml" 2>> "$dir/$run/log.json" &
    echo $! > "$dir/$run/pid.daemon"
    [ $# -gt 0 ] && return 0
    for _ in $(seq 300); do
        grep -q '"ingest.listen"' "$dir/$run/log.json" 2>/dev/null && return 0
        kill -0 "$(cat "$dir/$run/pid.daemon")" 2>/dev/null || break
        sleep 0.1
    done
    echo "$run: tributary did not start:" >&2
    tail -5 "$dir/$run/log.json" >&2
    return 1
}

stop_daemon() {
    local pid
    pid=$(cat "$dir/$1/pid.daemon")
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$dir/$1/pid.daemon"
}

# load RUN SCENARIO: the run's events into its queue through /v1/batch (see the top).
load() {
    local run=$1 scenario=$2
    mkdir -p "$dir/$run/state"
    echo "$(free_port) http://127.0.0.1:0" > "$dir/$run/ports"
    write_config "$run" "$scenario" "http://127.0.0.1:$(free_port)/hook" loading
    start_daemon "$run"
    local ingest_port
    read -r ingest_port _ < "$dir/$run/ports"
    python3 - "$ingest_port" "$key" "$events" "$users" "$scenario" "$run" <<'PY'
import base64, http.client, json, random, sys
port, key, events, users, scenario, run = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
rng = random.Random(run)
seq = {}
auth = "Basic " + base64.b64encode((key + ":").encode()).decode()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
sent = 0
while sent < events:
    batch = []
    for i in range(min(1000, events - sent)):
        if scenario == "events-hot" and rng.random() < 0.30:
            user = "hot"
        else:
            user = "user-%d" % rng.randrange(users)
        n = seq.get(user, 0) + 1
        seq[user] = n
        batch.append({"type": "track", "messageId": "%s-%d" % (run, sent + i), "userId": user,
                      "event": "Order Completed", "properties": {"seq": n, "total": 42.5},
                      "timestamp": "2026-12-01T00:00:00.000Z"})
    body = json.dumps({"batch": batch})
    conn.request("POST", "/v1/batch", body, {"Content-Type": "application/json", "Authorization": auth})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("load: status %d" % r.status)
    sent += len(batch)
PY
    stop_daemon "$run"
}

# measure RUN SCENARIO LATENCY OFFSET KILL: the measured run; writes RUN/result.
measure() {
    local run=$1 scenario=$2 latency=$3 offset=$4 kill=$5
    mkdir -p "$dir/$run/state"
    "${realtime[@]}" "$receiver" --latency-ms "$latency" --summary "$dir/$run/summary.json" --log "$dir/$run/requests.csv" \
        > "$dir/$run/receiver.out" &
    echo $! > "$dir/$run/pid.receiver"
    local rport=""
    for _ in $(seq 100); do
        rport=$(awk '/^port/{print $2}' "$dir/$run/receiver.out" 2>/dev/null)
        [ -n "$rport" ] && break
        sleep 0.1
    done
    if [ "$scenario" = users ]; then
        echo "0 http://127.0.0.1:$rport" > "$dir/$run/ports"
    else
        local ingest_port
        read -r ingest_port _ < "$dir/$run/ports"
        echo "$ingest_port http://127.0.0.1:$rport" > "$dir/$run/ports"
    fi
    write_config "$run" "$scenario" "http://127.0.0.1:$rport/hook" "receiver" "$latency"
    # Start at the chosen second of the shared start minute.
    if [ "$aligned" = 1 ]; then
        local at=$((start_minute + offset))
        while [ "$(date +%s)" -lt "$at" ]; do sleep 0.05; done
    fi
    local once=()
    [ "$scenario" = users ] && once=(--once users_job)
    start_daemon "$run" "${once[@]}"
    # The time limit allows twice the requests at 5/s (a hot user makes batches smaller: more
    # requests than at full batches) plus each answer's latency; reaching it is reported.
    local expected=$events rejected_before=0 killed=0 limit=$((SECONDS + 300 + requests * 2 * (200 + latency) / 1000))
    local s distinct accepted in_flight
    while [ $SECONDS -lt $limit ]; do
        # Twice a second while a kill is due (so it lands mid-run), else every 2 s.
        if [ "$kill" = 1 ] && [ $killed = 0 ]; then sleep 0.5; else sleep 2; fi
        s=$(summary_of "$rport") || continue
        distinct=$(field "$s" distinct)
        accepted=$(field "$s" accepted)
        in_flight=$(field "$s" in_flight)
        if [ "$kill" = 1 ] && [ $killed = 0 ] && [ "$accepted" -ge $((requests / 2)) ]; then
            kill -9 "$(cat "$dir/$run/pid.daemon")"
            wait "$(cat "$dir/$run/pid.daemon")" 2>/dev/null || true
            rejected_before=$(field "$(summary_of "$rport")" rejected_429)
            killed=1
            start_daemon "$run" "${once[@]}"
            continue
        fi
        if [ "$scenario" = users ]; then
            kill -0 "$(cat "$dir/$run/pid.daemon")" 2>/dev/null || break
        elif [ "$distinct" -ge "$expected" ] && [ "$in_flight" = 0 ]; then
            break
        fi
    done
    [ $SECONDS -ge $limit ] && echo "$run: stopped at the time limit (what was not delivered counts as lost)" >&2
    stop_daemon "$run"
    kill -TERM "$(cat "$dir/$run/pid.receiver")"
    wait "$(cat "$dir/$run/pid.receiver")" 2>/dev/null || true
    rm -f "$dir/$run/pid.receiver"
    python3 - "$dir/$run/summary.json" "$scenario" "$latency" "$offset" "$kill" "$expected" "$rejected_before" \
        > "$dir/$run/result" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
scenario, latency, offset, kill, expected, before = sys.argv[2:8]
lost = max(0, int(expected) - s["distinct"])
after = s["rejected_429"] - int(before) if kill == "1" else "-"
print("\t".join(map(str, [scenario, latency, offset, kill, "%.3f" % s.get("utilization", 0), s["rejected_429"], after,
                          s["order_breaks"], s["duplicates"], lost, s["max_in_flight"], "%.2f" % s.get("mean_in_flight", 0),
                          s["accepted"], "%.1f" % s.get("duration_s", 0), "%.1f" % s.get("optimal_s", 0),
                          "%.3f" % s.get("bound_utilization", 0)])))
PY
}

runs=()
for scenario in $scenarios; do
    for latency in $latencies; do
        for offset in $offsets; do runs+=("$scenario $latency $offset 0"); done
    done
    if [ "$kill_runs" = 1 ]; then
        for latency in $kill_latency; do runs+=("$scenario $latency ${offsets%% *} 1"); done
    fi
done
name_of() { echo "$1-$2ms-at$3$([ "$4" = 1 ] && echo -kill9)"; }

realtime=()
chrt -f 10 true 2> /dev/null && realtime=(chrt -f 10)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)  runs: ${#runs[@]}  requests/run: $requests  batch: $batch  receivers: $([ ${#realtime[@]} -gt 0 ] && echo SCHED_FIFO || echo 'normal priority (chrt refused)')"
t0=$SECONDS
# Phase 1: load the events runs' queues, four at a time.
for r in "${runs[@]}"; do
    set -- $r
    [ "$1" = users ] && continue
    while [ "$(jobs -rp | wc -l)" -ge 4 ]; do sleep 0.2; done
    load "$(name_of "$@")" "$1" &
done
wait
echo "loaded $events events into each events run in $((SECONDS - t0)) s"

# Phase 2: the runs of each offset at once, from that offset in the next wall minute at least
# 5 s away; one offset after another (see the top).
for group in $offsets; do
    now=$(date +%s)
    start_minute=$(( (now + 5 + 59) / 60 * 60 ))
    [ "$aligned" = 1 ] && echo "runs at offset $group start at $(date -u -d @$((start_minute + group)) +%H:%M:%S)"
    for r in "${runs[@]}"; do
        set -- $r
        [ "$3" = "$group" ] || continue
        measure "$(name_of "$@")" "$@" &
    done
    wait
done
echo "all runs done in $((SECONDS - t0)) s"

python3 - "$dir" "$check" <<'PY'
import glob, os, sys
rows = [open(f).read().split("\t") for f in sorted(glob.glob(os.path.join(sys.argv[1], "*", "result")))]
rows = [[c.strip() for c in r] for r in rows if len(r) >= 16]
print()
print("per run: scenario latency_ms offset_s kill9 utilization 429s 429s_after_restart order_breaks duplicates lost max_in_flight mean_in_flight accepted duration_s optimal_s order_bound_utilization")
for r in rows:
    print("  " + " ".join(r))
groups = {}
for r in rows:
    groups.setdefault((r[0], int(r[1]), r[3]), []).append(r)
print()
hdr = "%-15s %7s %6s %11s %9s %5s %10s %12s %10s %5s %13s %14s" % ("scenario", "latency", "kill9", "utilization", "vs_bound", "429s", "429s_after", "order_breaks", "duplicates", "lost", "max_in_flight", "mean_in_flight")
print(hdr)
print("-" * len(hdr))
bad = 0
for (scenario, latency, kill), rs in sorted(groups.items(), key=lambda k: (k[0][0], k[0][2], k[0][1])):
    util = min(float(r[4]) for r in rs)
    total = lambda i: sum(int(r[i]) for r in rs)
    after = sum(int(r[6]) for r in rs) if kill == "1" else "-"
    print("%-15s %7d %6s %11.3f %9.3f %5d %10s %12d %10d %5d %13d %14.2f" % (
        scenario, latency, "yes" if kill == "1" else "no", util, min(float(r[15]) for r in rs), total(5), after,
        total(7), total(8), total(9),
        max(int(r[10]) for r in rs), max(float(r[11]) for r in rs)))
    bad += total(7) + total(9)
print("utilization: the minimum over the start offsets (kill runs: one); 429s, order breaks, duplicates, lost: summed")
print("vs_bound: the same against the larger of the windows' optimum and per-user order's bound (the busiest")
print("  user's requests one after another, each one latency long): what no sender keeping per-user order can beat")
if sys.argv[2] == "1" and bad:
    print("FAIL: order breaks or lost items")
    sys.exit(1)
PY
