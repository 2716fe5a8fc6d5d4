#!/usr/bin/env bash
# Installs exactly the Debian 12 packages tributary needs to build and test (and,
# with npm ci, the Node SDKs the real-client test runs), then configures and
# builds. Non-interactive and idempotent.
#   scripts/setup.sh            # packages + release build in build/
#   scripts/setup.sh --deps     # packages only (build and test: also node, npm and the SDKs,
#                               # dpkg-dev and systemd for the package checks, clang-14 and
#                               # libclang-rt-14-dev for the fuzz targets)
#   scripts/setup.sh --build-deps  # packages the build needs, nothing for the tests
#   scripts/setup.sh --asan     # packages + sanitizer build in build-asan/
#   scripts/setup.sh --bench    # packages + benchmark tools (wrk, bc, the Python baselines' modules) + release build
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libspdlog-dev libfmt-dev libssl-dev libyaml-cpp-dev libsqlite3-dev zlib1g-dev
  libgtest-dev libgmock-dev openssl procps python3
)

mode=${1:-release}
# python3-requests and python3-tenacity: the Python baseline of bench/klaviyo_export.sh.
if [ "$mode" = "--bench" ]; then packages+=(wrk bc util-linux nginx-light time curl python3-requests python3-tenacity); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The real-client test (tests/sdk_compat) runs the official Node SDKs: node and npm, from Debian
# unless the machine has them already.
# Only the test modes need them: the demo and a release build do not.
test_mode=false
case "$mode" in --deps|--asan) test_mode=true ;; esac
if $test_mode; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  # The package checks (the Install.Tree test, scripts/package.sh in CI): dpkg-shlibdeps for
  # the .deb's Depends, systemd-analyze and journalctl for the unit and the journal catalog.
  # The metrics test parses /metrics with Debian's Prometheus client (its text-format parser).
  # The fuzz targets (scripts/fuzz.sh, in CI after the tests): Debian's clang and its libFuzzer.
  for p in dpkg-dev systemd python3-prometheus-client clang-14 libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  # Debian's default libboost-dev is 1.74 and conflicts with 1.81; remove it if present.
  if dpkg-query -W -f='${Status}' libboost1.74-dev 2>/dev/null | grep -q "install ok installed"; then
    "${sudo_cmd[@]}" apt-get remove -y -q libboost1.74-dev
  fi
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The SDKs at the versions pinned in package-lock.json; again only when the lock file changed.
sdk_dir=tests/sdk_compat
if $test_mode && { [ ! -f "$sdk_dir/node_modules/.package-lock.json" ] ||
   [ "$sdk_dir/package-lock.json" -nt "$sdk_dir/node_modules/.package-lock.json" ]; }; then
  npm ci --prefix "$sdk_dir" --no-audit --no-fund --loglevel=error
fi

case "$mode" in
  --deps|--build-deps) exit 0 ;;
  --asan)
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTRIBUTARY_SANITIZE=ON -DTRIBUTARY_WERROR=ON
    cmake --build build-asan
    ;;
  release|--release|--bench)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
    cmake --build build
    ;;
  *) echo "usage: scripts/setup.sh [--deps|--build-deps|--asan|--release|--bench]" >&2; exit 2 ;;
esac
