#!/usr/bin/env bash
# Builds the Debian package of tributary and checks it:
#   scripts/package.sh [--build-dir DIR] [--install]
# DIR (default build-package/) is configured as packagers build (Release, tests off) unless it
# is configured already — CI passes its Release build, so the binary is built once. Then cpack
# writes DIR/package/tributary_VERSION-1_ARCH.deb, and this script checks its control fields
# (Depends: the packages of every library the binary links, found with ldd and dpkg -S), its
# contents, and the tree it unpacks to (dpkg -x into a scratch root: the unit's ExecStart names
# the packaged binary, `systemd-analyze security --offline=true` rates the unit <= 2.0, the
# example config passes `tributary validate`). With --install (root, or sudo) it also installs the
# package with dpkg -i, runs `systemd-analyze verify` on the installed unit, checks the spool
# group and directory, and removes the package again; it refuses when tributary is already
# installed on the machine. Prints the .deb's path last.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-package
install=false
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --install) install=true; shift ;;
    *) echo "usage: scripts/package.sh [--build-dir DIR] [--install]" >&2; exit 2 ;;
  esac
done

fail() { echo "package.sh: $*" >&2; exit 1; }
for tool in cpack dpkg-deb dpkg-shlibdeps systemd-analyze; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh --deps installs it)"
done

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIBUTARY_BUILD_TESTS=OFF "${launcher[@]}"
fi
grep -q '^TRIBUTARY_BUILD_TESTS:BOOL=OFF' "$build_dir/CMakeCache.txt" ||
  fail "$build_dir builds the tests: package a build configured with -DTRIBUTARY_BUILD_TESTS=OFF"
cmake --build "$build_dir" --target tributary

rm -rf "$build_dir/package"
(cd "$build_dir" && cpack -G DEB -B package >/dev/null) || fail "cpack failed (run: cd $build_dir && cpack -G DEB)"
debs=("$build_dir"/package/tributary_*.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack wrote no single tributary_*.deb in $build_dir/package"
deb=${debs[0]}

# Control fields.
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build_dir/CMakeCache.txt")
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = tributary ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version-1" ] || fail "Version: $(field Version), expected $version-1"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Description)" ] || fail "no Description"
depends=$(field Depends)
# Every library the binary links (its NEEDED entries, found with ldd) is shipped by a package that
# Depends names, itself or by a name it Provides (libspdlog1.10 provides libspdlog1.10-fmt9). The
# libraries those pull in (libfmt9 for spdlog) come with them.
owner() {  # the package shipping library $1 (merged /usr: /lib/X is /usr/lib/X)
  local p out
  for p in "$1" "$(readlink -f "$1")" "/usr$1" "${1#/usr}"; do
    out=$(dpkg -S "$p" 2>/dev/null) && { echo "${out%%:*}"; return 0; }
  done
  return 1
}
depends_on() {  # whether Depends names $1
  [[ ", $depends," == *", $1 "* || ", $depends," == *", $1,"* ]]
}
binary="$build_dir/daemon/tributary"
resolved=$(ldd "$binary")
for name in $(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  lib=$(awk -v n="$name" '$1 == n && $3 ~ /^\// { print $3 }' <<<"$resolved")
  [ -n "$lib" ] || fail "ldd does not resolve $name"
  pkg=$(owner "$lib") || fail "no package ships $lib (dpkg -S)"
  ok=false
  for candidate in "$pkg" $(dpkg-query -W -f='${Provides}' "$pkg" | sed 's/([^)]*)//g; s/,/ /g'); do
    depends_on "$candidate" && ok=true
  done
  $ok || fail "Depends lacks $pkg (for $lib): $depends"
done

# Contents.
contents=$(dpkg-deb --contents "$deb" | awk '{ print $6 }')
for path in ./usr/bin/tributary ./usr/lib/systemd/system/tributary.service \
    ./etc/tributary/tributary.yaml.example ./usr/lib/systemd/catalog/tributary.catalog \
    ./usr/lib/tmpfiles.d/tributary.conf ./usr/lib/sysusers.d/tributary.conf \
    ./usr/share/doc/tributary/README.md ./usr/share/doc/tributary/connectors/jsonl/README.md \
    ./usr/share/doc/tributary/connectors/dummy/README.md ./usr/share/doc/tributary/connectors/webhook/README.md \
    ./usr/share/doc/tributary/examples/tributary.service.d/credentials.conf.example; do
  grep -qx "$path" <<<"$contents" || fail "the .deb lacks $path"
done
conffiles=$(dpkg-deb --info "$deb" conffiles)
[ "$conffiles" = /etc/tributary/tributary.yaml.example ] || fail "conffiles: $conffiles"

# The unpacked tree.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
dpkg-deb -x "$deb" "$scratch/root"
unit="$scratch/root/usr/lib/systemd/system/tributary.service"
grep -qx 'ExecStart=/usr/bin/tributary run -c /etc/tributary/tributary.yaml' "$unit" ||
  fail "unexpected ExecStart: $(grep ExecStart= "$unit")"
grep -qx 'Documentation=file:///usr/share/doc/tributary/README.md' "$unit" || fail "unexpected Documentation="
"$scratch/root/usr/bin/tributary" --version | grep -q "^tributary $version " || fail "the packaged binary's --version"
STATE_DIRECTORY="$scratch/state" "$scratch/root/usr/bin/tributary" validate --log-level error \
  -c "$scratch/root/etc/tributary/tributary.yaml.example" >/dev/null || fail "the example config does not validate"
security() {  # prints the exposure, fails above 2.0
  local out level
  out=$(systemd-analyze security --offline=true "$1" 2>&1) || true
  level=$(sed -n 's/.*Overall exposure level for tributary.service: \([0-9.]*\).*/\1/p' <<<"$out")
  [ -n "$level" ] || fail "systemd-analyze security printed no exposure level: $out"
  awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "systemd-analyze security rates the unit $level (> 2.0)"
  echo "$level"
}
echo "unit exposure (systemd-analyze security --offline=true): $(security "$unit")"

if $install; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  if dpkg-query -W -f='${Status}' tributary 2>/dev/null | grep -q "install ok installed"; then
    fail "tributary is installed on this machine already; --install would replace and remove it"
  fi
  "${sudo_cmd[@]}" dpkg -i "$deb" >/dev/null
  removed=false
  remove() { $removed || "${sudo_cmd[@]}" dpkg -r tributary >/dev/null; removed=true; }
  trap 'remove; rm -rf "$scratch"' EXIT
  systemd-analyze verify /usr/lib/systemd/system/tributary.service || fail "systemd-analyze verify failed"
  echo "installed unit exposure: $(security /usr/lib/systemd/system/tributary.service)"
  getent group tributary >/dev/null || fail "postinst made no group tributary"
  [ "$(stat -c '%a %G' /var/spool/tributary)" = "2770 tributary" ] ||
    fail "/var/spool/tributary is $(stat -c '%a %G' /var/spool/tributary), expected 2770 tributary"
  /usr/bin/tributary --version >/dev/null || fail "the installed binary does not run"
  remove
  [ ! -e /usr/bin/tributary ] || fail "dpkg -r left /usr/bin/tributary"
  [ -e /etc/tributary/tributary.yaml.example ] || fail "dpkg -r removed the conffile (only purge does)"
  "${sudo_cmd[@]}" dpkg -P tributary >/dev/null
  echo "installed, verified and removed"
fi
echo "$deb"
