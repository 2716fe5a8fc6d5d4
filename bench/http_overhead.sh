#!/usr/bin/env bash
# HTTP engine overhead vs wrk -t1: same server, same connection count, server
# pinned to core 1, clients to core 0. The server must be the faster side,
# so the comparison measures the clients: nginx (one worker) serves a small
# JSON file; its CPU share during each run is printed.
#   bench/http_overhead.sh [BUILD_DIR] [CONNS] [REQUESTS]
# Needs: wrk, nginx, bc, taskset (scripts/setup.sh --bench installs them).
set -euo pipefail
build=${1:-build}
conns=${2:-8}
n=${3:-200000}
bin=$build/bench/bench_http_overhead
for tool in wrk nginx bc taskset; do
    command -v "$tool" >/dev/null || { echo "$tool is needed: scripts/setup.sh --bench" >&2; exit 2; }
done

dir=$(mktemp -d)
chmod 755 "$dir"  # nginx workers run as www-data
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$dir/www"
printf '{"ok":true,"id":12345}' > "$dir/www/ping"
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    default_type application/json;
    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        location = /ping { try_files /ping =404; }
    }
}
CONF
taskset -c 1 nginx -c "$dir/nginx.conf" -p "$dir/" &
npid=$!
trap 'kill $npid 2>/dev/null; wait $npid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do [ -f "$dir/nginx.pid" ] && break; sleep 0.1; done
sleep 0.3
wpid=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)

server_cpu() { awk '{print $14+$15}' /proc/"$wpid"/stat; }
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
