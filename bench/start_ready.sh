#!/usr/bin/env bash
# Start-to-READY time (issue #17): from exec of `tributary run` to the READY=1 it sends to
# $NOTIFY_SOCKET (what systemd waits for with Type=notify), on loopback. Builds nothing.
#   bench/start_ready.sh BUILD_DIR [RUNS] [QUEUED]
#     BUILD_DIR  a Release build with the targets tributary and bench_events_ingest
#     RUNS       starts measured per case (default 5; the median and the maximum are printed)
#     QUEUED     events left queued for the second case (default 100000)
# The config: an events job (ingest -> webhook, the webhook's port closed) and a users job
# (dummy -> jsonl, on demand), state.sync full. Cases:
#   fresh   a new state directory each start (the store is created)
#   queued  one state directory holding QUEUED events (loaded once through ingest), restarted
# Each start is stopped with SIGTERM once READY arrived. Prints
#   start_ready case=fresh runs=5 median_ms=... max_ms=...
set -euo pipefail
build=${1:?usage: bench/start_ready.sh BUILD_DIR [RUNS] [QUEUED]}
runs=${2:-5}
queued=${3:-100000}
tributary=$build/daemon/tributary
gen=$build/bench/bench_events_ingest
for b in "$tributary" "$gen"; do
    [ -x "$b" ] || { echo "$b not built: ninja -C $build tributary bench_events_ingest" >&2; exit 2; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
key=wk_start_ready_0123456789
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# write_config DIR INGEST_PORT
write_config() {
    mkdir -p "$1/state"
    cat > "$1/tributary.yaml" <<CONF
state:
  dir: $1/state
  sync: full
log:
  format: json
  level: info
ingest:
  listen: 127.0.0.1:$2
  write_keys: [$key]
control:
  socket: $1/control.sock
connections:
  hook:
    connector: webhook
    settings:
      url: http://127.0.0.1:$(free_port)/hook
      secrets: ["whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="]
  people:
    connector: dummy
    settings: { count: 1000 }
  out:
    connector: jsonl
    settings: { path: $1/users.jsonl }
jobs:
  forward:
    type: events
    destination: { connection: hook }
  sync:
    type: users
    source: { connection: people }
    destination: { connection: out, mode: upsert }
CONF
}

# measure CONFIG: one start; prints the milliseconds from exec to READY=1 (the daemon is stopped).
measure() {
    python3 - "$tributary" "$1" "$dir/notify.sock" <<'PY'
import os, signal, socket, subprocess, sys, time
tributary, config, path = sys.argv[1:4]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(60)
env = dict(os.environ, NOTIFY_SOCKET=path)
t0 = time.monotonic()
p = subprocess.Popen([tributary, "run", "-c", config], env=env, stdout=subprocess.DEVNULL,
                     stderr=open(config + ".log", "ab"))
ready = None
try:
    while ready is None:
        msg = s.recv(4096).decode(errors="replace")
        if "READY=1" in msg.split("\n"):
            ready = time.monotonic() - t0
except socket.timeout:
    pass
p.send_signal(signal.SIGTERM)
p.wait(60)
if ready is None:
    sys.exit("no READY=1 within 60 s")
print("%.1f" % (ready * 1000))
PY
}

summarize() {  # NAME then the values
    local name=$1; shift
    printf '%s\n' "$@" | sort -n | awk -v name="$name" -v n="$#" '{ v[NR] = $1 } END {
        m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        printf "start_ready case=%s runs=%d median_ms=%.1f max_ms=%.1f\n", name, n, m, v[n] }'
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)"
fresh=()
for i in $(seq "$runs"); do
    write_config "$dir/fresh$i" "$(free_port)"
    fresh+=("$(measure "$dir/fresh$i/tributary.yaml")")
    rm -rf "$dir/fresh$i"
done
summarize fresh "${fresh[@]}"

if [ "$queued" != 0 ]; then
    iport=$(free_port)
    write_config "$dir/queued" "$iport"
    NOTIFY_SOCKET= "$tributary" run -c "$dir/queued/tributary.yaml" 2>"$dir/queued/load.log" &
    dpid=$!
    for _ in $(seq 100); do grep -q '"ingest.listen"' "$dir/queued/load.log" && break; sleep 0.1; done
    "$gen" load "$iport" "$key" 4 "$queued" >/dev/null
    kill -TERM "$dpid"; wait "$dpid" || true
    with=()
    for i in $(seq "$runs"); do with+=("$(measure "$dir/queued/tributary.yaml")"); done
    summarize "queued=$queued" "${with[@]}"
fi
