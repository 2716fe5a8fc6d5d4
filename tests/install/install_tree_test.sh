#!/usr/bin/env bash
# `cmake --install` of the build into scratch directories, twice:
#  - `--prefix DIR`: the unit runs DIR/bin/tributary with DIR/etc/tributary/tributary.yaml, its
#    Documentation= file exists, `systemd-analyze verify` accepts it and
#    `systemd-analyze security --offline=true` rates it <= 2.0; the example config validates;
#  - DESTDIR with prefix /usr (the .deb's layout): /etc/tributary, /usr/lib/systemd/...; the
#    journal catalog compiles (`journalctl --root --update-catalog`) with every MESSAGE_ID.
# Parts whose tool is missing (systemd-analyze, journalctl) are skipped and say so.
# Usage: install_tree_test.sh BUILD_DIR
set -euo pipefail
build_dir=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

prefix="$scratch/prefix"
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
unit="$prefix/lib/systemd/system/tributary.service"
for f in "$prefix/bin/tributary" "$unit" "$prefix/etc/tributary/tributary.yaml.example" \
    "$prefix/lib/systemd/catalog/tributary.catalog" "$prefix/lib/tmpfiles.d/tributary.conf" \
    "$prefix/lib/sysusers.d/tributary.conf" "$prefix/share/doc/tributary/README.md" \
    "$prefix/share/doc/tributary/connectors/jsonl/README.md" \
    "$prefix/share/doc/tributary/examples/tributary.service.d/credentials.conf.example"; do
  [ -f "$f" ] || fail "not installed: ${f#"$scratch"/}"
done
[ ! -e "$prefix/etc/tributary/tributary.yaml" ] || fail "the install wrote the operator's tributary.yaml"
[ -x "$prefix/bin/tributary" ] || fail "bin/tributary is not executable"
grep -qx "ExecStart=$prefix/bin/tributary run -c $prefix/etc/tributary/tributary.yaml" "$unit" ||
  fail "ExecStart does not name the installed binary and config: $(grep ExecStart= "$unit")"
grep -qx "Documentation=file://$prefix/share/doc/tributary/README.md" "$unit" ||
  fail "Documentation= does not name the installed README: $(grep Documentation= "$unit")"
grep -qx "RestartPreventExitStatus=78" "$unit" || fail "the unit restarts on exit 78 (EX_CONFIG)"
! grep -q "ExecStartPre" "$unit" || fail "the unit has an ExecStartPre= (restart loop on a bad file)"
grep -qx "ExecReload=$prefix/bin/tributary reload -c $prefix/etc/tributary/tributary.yaml" "$unit" ||
  fail "ExecReload does not run the installed tributary reload: $(grep ExecReload= "$unit" || true)"
grep -qx "Type=notify" "$unit" || fail "the unit is not Type=notify"
grep -Eqx "WatchdogSec=[1-9][0-9]*s" "$unit" || fail "the unit has no WatchdogSec="
! grep -Eq "@TRIBUTARY_(BINDIR|DOCDIR|SYSCONFDIR|SPOOLDIR)@" "$unit" "$prefix/lib/systemd/catalog/tributary.catalog" "$prefix/lib/tmpfiles.d/tributary.conf" ||
  fail "an install directory was left unsubstituted"
grep -q "@TRIBUTARY_JOB@" "$prefix/lib/systemd/catalog/tributary.catalog" ||
  fail "the catalog lost the journal's @TRIBUTARY_JOB@"
STATE_DIRECTORY="$scratch/state" "$prefix/bin/tributary" validate --log-level error \
  -c "$prefix/etc/tributary/tributary.yaml.example" >/dev/null || fail "the example config does not validate"

if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
  out=$(systemd-analyze security --offline=true "$unit" 2>&1) || true
  level=$(sed -n 's/.*Overall exposure level for tributary.service: \([0-9.]*\).*/\1/p' <<<"$out")
  [ -n "$level" ] || fail "systemd-analyze security printed no exposure level: $out"
  awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure $level > 2.0: $out"
  echo "systemd-analyze verify: ok; security --offline=true: $level"
else
  echo "SKIPPED: systemd-analyze verify and security (systemd-analyze is not installed)"
fi

root="$scratch/root"
DESTDIR="$root" cmake --install "$build_dir" --prefix /usr >/dev/null
for f in "$root/usr/bin/tributary" "$root/usr/lib/systemd/system/tributary.service" \
    "$root/etc/tributary/tributary.yaml.example" "$root/usr/lib/systemd/catalog/tributary.catalog" \
    "$root/usr/share/doc/tributary/README.md"; do
  [ -f "$f" ] || fail "not installed with prefix /usr: ${f#"$root"}"
done
grep -qx "ExecStart=/usr/bin/tributary run -c /etc/tributary/tributary.yaml" "$root/usr/lib/systemd/system/tributary.service" ||
  fail "prefix /usr: $(grep ExecStart= "$root/usr/lib/systemd/system/tributary.service")"
if command -v journalctl >/dev/null; then
  journalctl --root="$root" --update-catalog || fail "journalctl --update-catalog refused the catalog"
  listed=$(journalctl --root="$root" --list-catalog)
  ids=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$root/usr/lib/systemd/catalog/tributary.catalog")
  [ -n "$ids" ] || fail "the catalog has no entries"
  for id in $ids; do
    grep -q "^$id " <<<"$listed" || fail "the compiled catalog lacks $id: $listed"
  done
  echo "journal catalog: $(wc -w <<<"$ids") entries compiled"
else
  echo "SKIPPED: journal catalog check (journalctl is not installed)"
fi
echo "install tree: ok"
