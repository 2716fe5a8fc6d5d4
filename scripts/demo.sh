#!/usr/bin/env bash
# Sets up (packages + release build), then runs the demo job once on
# config/examples/demo.yaml and exits with tributary's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p /tmp/tributary-demo
exec build/daemon/tributary run --once demo -c config/examples/demo.yaml
