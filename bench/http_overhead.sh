#!/usr/bin/env bash
# HTTP engine overhead vs wrk -t1, same server, same connection count.
# Server pinned to core 1, clients to core 0.
#   bench/http_overhead.sh [BUILD_DIR] [CONNS] [REQUESTS]
set -euo pipefail
build=${1:-build}
conns=${2:-8}
n=${3:-200000}
bin=$build/bench/bench_http_overhead
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

out=$(mktemp)
taskset -c 1 "$bin" serve >"$out" &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q port "$out" && break; sleep 0.1; done
port=$(awk '/port/{print $2}' "$out")

server_cpu() { awk '{print $14+$15}' /proc/$spid/stat; }
tick=$(getconf CLK_TCK)

c0=$(server_cpu)
wrk_out=$(taskset -c 0 wrk -t1 -c"$conns" -d10s "http://127.0.0.1:$port/ping")
c1=$(server_cpu)
wrk_rps=$(echo "$wrk_out" | awk '/Requests\/sec/{print $2}')
echo "wrk -t1 -c$conns: requests_per_s=$wrk_rps server_cpu_share=$(echo "scale=2; ($c1-$c0)/$tick/10" | bc)"

c0=$(server_cpu)
eng=$(taskset -c 0 "$bin" client "$port" "$conns" "$n")
c1=$(server_cpu)
echo "$eng"
eng_rps=$(echo "$eng" | sed -n 's/.*requests_per_s=\([0-9]*\).*/\1/p')
secs=$(echo "$eng" | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p')
echo "engine server_cpu_share=$(echo "scale=2; ($c1-$c0)/$tick/$secs" | bc)"
echo "ratio engine/wrk=$(echo "scale=3; $eng_rps/$wrk_rps" | bc)"
