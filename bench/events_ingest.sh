#!/usr/bin/env bash
# Ingest → queue → webhook on loopback, against the real daemon (issue #6). Builds nothing.
#   bench/events_ingest.sh BUILD_DIR [CONNS] [EVENTS] [QUEUED]
#     BUILD_DIR  a RelWithDebInfo build with the targets tributary and bench_events_ingest
#     CONNS      concurrent keep-alive clients (default 8), each posting /v1/batch of 100 events
#     EVENTS     events per throughput run (default 500000)
#     QUEUED     events for the memory and drain runs (default 1000000; 0 skips them)
# Throughput runs (state.sync full, then normal): the webhook delivers to a receiver answering
# 200 at once; prints events/s acknowledged (each 200 = committed), request latency p50/p99,
# the loop.stall lines in tributary's JSON log (suppression off) and tributary's peak RSS
# (VmHWM), tributary's CPU per acknowledged event over the load (user + system, delivery work
# done meanwhile included) and the events the receiver got by the end (the load plus 2 s).
# Memory run (sync full): the webhook points at a port nobody listens on, so QUEUED
# events stay queued; prints VmHWM and VmRSS with them all queued.
# Drain run (issue #13): tributary restarts on that state with ingest idle and the webhook pointed
# at the receiver, max_events and batch.max_items 500, limits 1000000 requests/s, max_concurrent
# 4; prints the receiver's drained line (seconds from its first request to the last event,
# events/s), tributary's CPU per event and VmHWM.
# Goals (issue #13): >= 150k events/s acknowledged with p99 <= 50 ms (sync full), >= 50k events/s
# drained, <= 16 MiB peak RSS with 1M queued.
# Env: PIN=1 pins tributary to core 1 and the load generator and receiver to core 0.
set -euo pipefail
build=${1:?usage: bench/events_ingest.sh BUILD_DIR [CONNS] [EVENTS] [QUEUED]}
conns=${2:-8}
events=${3:-500000}
queued=${4:-1000000}
tributary=$build/daemon/tributary
gen=$build/bench/bench_events_ingest
for b in "$tributary" "$gen"; do
    [ -x "$b" ] || { echo "$b not built: ninja -C $build tributary bench_events_ingest" >&2; exit 2; }
done
pin_daemon=()
pin_tools=()
if [ "${PIN:-0}" = 1 ]; then
    pin_daemon=(taskset -c 1)
    pin_tools=(taskset -c 0)
fi

dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
key=bench-write-key
secret="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)  conns=$conns events=$events queued=$queued"

# write_config NAME SYNC WEBHOOK_PORT INGEST_PORT [MAX_EVENTS]
write_config() {
    local max_events=${5:-100}
    mkdir -p "$dir/$1/state"
    cat > "$dir/$1/tributary.yaml" <<CONF
state:
  dir: $dir/$1/state
  sync: $2
  queue_max_bytes: 8GiB
log:
  format: json
  level: info
  suppress_window: 0s
  suppress_burst: 0
ingest:
  listen: 127.0.0.1:$4
  write_keys: [$key]
  max_request: 1MiB
connections:
  hook:
    connector: webhook
    settings:
      url: http://127.0.0.1:$3/hook
      secrets: ["$secret"]
      max_events: $max_events
      limits: { requests: 1000000, per: 1s }
      max_concurrent: 4
jobs:
  to_hook:
    type: events
    destination:
      connection: hook
    batch:
      max_items: $max_events
      max_wait: 10ms
CONF
}

# start_daemon NAME: starts tributary, waits for ingest.listen; sets daemon_pid.
start_daemon() {
    "${pin_daemon[@]}" "$tributary" run -c "$dir/$1/tributary.yaml" 2> "$dir/$1/log.json" &
    daemon_pid=$!
    pids+=("$daemon_pid")
    for _ in $(seq 100); do
        grep -q '"ingest.listen"' "$dir/$1/log.json" && return 0
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "tributary did not start:" >&2
    tail -5 "$dir/$1/log.json" >&2
    exit 1
}

status_kib() { awk -v k="$2:" '$1==k {print $2}' /proc/"$1"/status; }
cpu_ticks() { awk '{print $14+$15}' /proc/"$1"/stat; }
# io_field PID FIELD: a counter of /proc/PID/io (syscw: write calls; write_bytes: bytes sent to disk).
io_field() { awk -v k="$2:" '$1==k {print $2}' /proc/"$1"/io; }

# stop_daemon NAME: SIGTERM, waits; prints stalls and errors from the log.
stop_daemon() {
    kill -TERM "$daemon_pid"
    wait "$daemon_pid" || echo "tributary exit code $?"
    local stalls errors
    stalls=$(grep -c '"loop.stall"' "$dir/$1/log.json" || true)
    errors=$(grep -c '"level":"error"' "$dir/$1/log.json" || true)
    echo "$1: loop_stall_lines=$stalls error_lines=$errors"
    grep '"loop.stall"' "$dir/$1/log.json" | head -3 || true
}

throughput_run() {
    local name=$1 sync=$2
    "${pin_tools[@]}" "$gen" receive 200 > "$dir/receiver-$name.out" &
    local rpid=$!
    pids+=("$rpid")
    for _ in $(seq 50); do grep -q '^port' "$dir/receiver-$name.out" 2>/dev/null && break; sleep 0.1; done
    local rport
    rport=$(awk '/^port/{print $2}' "$dir/receiver-$name.out")
    write_config "$name" "$sync" "$rport" "$(free_port)"
    start_daemon "$name"
    local iport
    iport=$(awk '/^ +listen:/{split($2,a,":"); print a[2]}' "$dir/$name/tributary.yaml")
    local c0 t0 c1 t1
    local w0 b0 w1 b1
    w0=$(io_field "$daemon_pid" syscw)
    b0=$(io_field "$daemon_pid" write_bytes)
    c0=$(cpu_ticks "$daemon_pid")
    t0=$(date +%s.%N)
    local out rc=0
    out=$("${pin_tools[@]}" "$gen" load "$iport" "$key" "$conns" "$events") || rc=$?
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "$daemon_pid")
    w1=$(io_field "$daemon_pid" syscw)
    b1=$(io_field "$daemon_pid" write_bytes)
    echo "$name sync=$sync $out"
    [ "$rc" = 0 ] || echo "$name: the load generator reported failed requests (exit $rc)"
    echo "$name: tributary cpu_share=$(echo "scale=2; ($c1-$c0)/$(getconf CLK_TCK)/($t1-$t0)" | bc) cpu_us_per_event=$(echo "scale=2; ($c1-$c0)*1000000/$(getconf CLK_TCK)/$events" | bc) vm_hwm_kib=$(status_kib "$daemon_pid" VmHWM) vm_rss_kib=$(status_kib "$daemon_pid" VmRSS) load_average=$(cut -d' ' -f1 /proc/loadavg)"
    # Write calls (WAL frames, answers, the webhook's requests) and disk bytes per acknowledged
    # event: fewer, larger commits write each shared page once per commit.
    echo "$name: write_calls_per_event=$(echo "scale=2; ($w1-$w0)/$events" | bc) disk_bytes_per_event=$(echo "scale=0; ($b1-$b0)/$events" | bc)"
    sleep 2  # let the sender deliver what is queued
    stop_daemon "$name"
    kill -TERM "$rpid"
    wait "$rpid" || true
    local received
    received=$(awk '/^receive/{for(i=1;i<=NF;i++) if($i ~ /^events=/){sub("events=","",$i); print $i}}' "$dir/receiver-$name.out")
    echo "$name: $(grep '^receive' "$dir/receiver-$name.out") delivered_per_s=$(echo "scale=0; $received/($t1-$t0+2)" | bc) (over the load + 2 s)"
    du -sh "$dir/$name/state" | awk -v n="$name" '{print n ": state_dir_size=" $1}'
}

throughput_run full full
throughput_run normal normal

if [ "$queued" != 0 ]; then
    name=queued
    write_config "$name" full "$(free_port)" "$(free_port)"  # nobody listens on the webhook port
    start_daemon "$name"
    iport=$(awk '/^ +listen:/{split($2,a,":"); print a[2]}' "$dir/$name/tributary.yaml")
    before=$(status_kib "$daemon_pid" VmRSS)
    out=$("${pin_tools[@]}" "$gen" load "$iport" "$key" "$conns" "$queued") || echo "$name: failed requests"
    echo "$name sync=full $out"
    sleep 1
    echo "$name: events_queued=$queued vm_rss_idle_kib=$before vm_hwm_kib=$(status_kib "$daemon_pid" VmHWM) vm_rss_kib=$(status_kib "$daemon_pid" VmRSS)"
    stop_daemon "$name"
    du -sh "$dir/$name/state" | awk -v n="$name" '{print n ": state_dir_size=" $1}'

    # Drain: the same state, ingest idle, the webhook pointed at a receiver answering at once.
    "${pin_tools[@]}" "$gen" receive 200 "$queued" > "$dir/receiver-drain.out" &
    rpid=$!
    pids+=("$rpid")
    for _ in $(seq 50); do grep -q '^port' "$dir/receiver-drain.out" 2>/dev/null && break; sleep 0.1; done
    rport=$(awk '/^port/{print $2}' "$dir/receiver-drain.out")
    write_config "$name" full "$rport" "$(free_port)" 500
    start_daemon "$name"
    c0=$(cpu_ticks "$daemon_pid")
    for _ in $(seq 6000); do
        grep -q '^drained' "$dir/receiver-drain.out" && break
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    c1=$(cpu_ticks "$daemon_pid")
    echo "drain sync=full max_events=500 $(grep '^drained' "$dir/receiver-drain.out" || echo 'drained: not within 600 s')"
    echo "drain: tributary cpu_us_per_event=$(echo "scale=2; ($c1-$c0)*1000000/$(getconf CLK_TCK)/$queued" | bc) vm_hwm_kib=$(status_kib "$daemon_pid" VmHWM) load_average=$(cut -d' ' -f1 /proc/loadavg)"
    stop_daemon "$name"
    kill -TERM "$rpid"
    wait "$rpid" || true
fi
