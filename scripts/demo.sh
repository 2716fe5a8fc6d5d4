#!/usr/bin/env bash
# Sets up (packages + release build of the tributary binary), then runs the
# demo job once on config/examples/demo.yaml and exits with tributary's exit
# code. The demo copies 1000 generated users into /tmp/tributary-demo/users.jsonl;
# its state lives in /tmp/tributary-demo/state (a second run finds every user
# already delivered and writes nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --build-deps
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target tributary
mkdir -p /tmp/tributary-demo
status=0
build/daemon/tributary run --once demo -c config/examples/demo.yaml || status=$?
echo "demo: exit code $status; output: /tmp/tributary-demo/users.jsonl ($(wc -l < /tmp/tributary-demo/users.jsonl 2>/dev/null || echo 0) lines)"
exit "$status"
