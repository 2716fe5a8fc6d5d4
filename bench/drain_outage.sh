#!/usr/bin/env bash
# Time to drain a backlog after a destination outage (issue #17), against the real daemon on
# loopback. Builds nothing.
#   bench/drain_outage.sh BUILD_DIR [OUTAGE_S] [EVENTS]
#     BUILD_DIR  a Release build with the targets tributary and bench_events_ingest
#     OUTAGE_S   how long the webhook's receiver is down (default 60)
#     EVENTS     events posted through ingest at the start of the outage (default 100000)
# tributary (events job: ingest -> webhook, batches of 100, max_concurrent 4, limits out of the
# way, the default retry and back-off) starts with its webhook's port closed; EVENTS events are
# posted and acknowledged, every send attempt fails (connection refused) for OUTAGE_S seconds,
# then the receiver starts on that port. Prints the seconds from the receiver's start to its last
# expected event (the daemon's back-off after the outage included), the receiver's own drained
# line (first request to last event), and tributary's CPU per event over the drain:
#   drain_outage outage_s=60 events=100000 drain_s=... first_to_last_s=... cpu_us_per_event=...
set -euo pipefail
build=${1:?usage: bench/drain_outage.sh BUILD_DIR [OUTAGE_S] [EVENTS]}
outage=${2:-60}
events=${3:-100000}
tributary=$build/daemon/tributary
gen=$build/bench/bench_events_ingest
for b in "$tributary" "$gen"; do
    [ -x "$b" ] || { echo "$b not built: ninja -C $build tributary bench_events_ingest" >&2; exit 2; }
done
dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
key=wk_drain_outage_0123456789
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hport=$(free_port)
iport=$(free_port)
mkdir -p "$dir/state"
cat > "$dir/tributary.yaml" <<CONF
state:
  dir: $dir/state
  sync: normal
log:
  format: json
  level: info
ingest:
  listen: 127.0.0.1:$iport
  write_keys: [$key]
connections:
  hook:
    connector: webhook
    settings:
      url: http://127.0.0.1:$hport/hook
      secrets: ["whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="]
      max_events: 100
      limits: { requests: 1000000, per: 1s }
      max_concurrent: 4
jobs:
  forward:
    type: events
    destination: { connection: hook }
    batch: { max_items: 100, max_wait: 10ms }
CONF
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)  outage_s=$outage events=$events"
"$tributary" run -c "$dir/tributary.yaml" 2>"$dir/log.json" &
dpid=$!
pids+=("$dpid")
for _ in $(seq 100); do grep -q '"ingest.listen"' "$dir/log.json" && break; sleep 0.1; done
t_down=$(now)
"$gen" load "$iport" "$key" 4 "$events" >"$dir/load.out" || { echo "the load failed: $(cat "$dir/load.out")" >&2; exit 1; }
sleep "$(awk -v a="$t_down" -v b="$(now)" -v o="$outage" 'BEGIN { w = a + o - b; print (w > 0 ? w : 0) }')"
c0=$(cpu_ticks "$dpid")
t_up=$(now)
"$gen" receive 200 "$events" "$hport" >"$dir/receiver.out" &
pids+=("$!")
t_end=
for _ in $(seq 12000); do  # 600 s
    if grep -q '^drained' "$dir/receiver.out"; then t_end=$(now); break; fi
    kill -0 "$dpid" 2>/dev/null || break
    sleep 0.05
done
c1=$(cpu_ticks "$dpid")
[ -n "$t_end" ] || { echo "drain_outage: not drained within 600 s ($(tail -1 "$dir/receiver.out"))" >&2; tail -5 "$dir/log.json" >&2; exit 1; }
first_to_last=$(sed -n 's/^drained .*seconds=\([0-9.]*\).*/\1/p' "$dir/receiver.out")
awk -v o="$outage" -v n="$events" -v a="$t_up" -v b="$t_end" -v f="$first_to_last" -v c=$((c1 - c0)) \
    -v tick="$(getconf CLK_TCK)" 'BEGIN {
    printf "drain_outage outage_s=%d events=%d drain_s=%.2f first_to_last_s=%s cpu_us_per_event=%.2f\n",
           o, n, b - a, f, c * 1e6 / tick / n }'
echo "daemon: $(grep -c '"http.retry"' "$dir/log.json" || true) http.retry lines, $(grep -c '"loop.stall"' "$dir/log.json" || true) loop.stall lines"
