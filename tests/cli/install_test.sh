#!/usr/bin/env bash
# `meson install` puts in place what a user runs: the synwave binary, its
# man page (made from --help by help2man), synwave-plot beside it, and the
# commented configuration of each use under <sysconfdir>/synwave, and the
# systemd unit of synwave proxy. Installs
# into a scratch DESTDIR; needs no privileges.
set -uo pipefail
BUILD=${BUILD_ROOT:?}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
meson install -C "$BUILD" --destdir "$WORK/root" --no-rebuild --quiet \
  >"$WORK/install.log" 2>&1 || { echo "FAIL meson install:"; cat "$WORK/install.log"; exit 1; }
failures=0
want() {  # want PATTERN: a file matching it was installed
  local f
  f=$(find "$WORK/root" -path "*$1" | head -1)
  if [ -z "$f" ]; then
    echo "FAIL nothing installed at */$1"
    failures=$((failures + 1))
  else
    echo "ok   ${f#"$WORK/root"}"
  fi
}
want bin/synwave
want bin/synwave-plot
want man1/synwave.1
for c in serve load flood proxy synwave; do want "etc/synwave/$c.toml"; done
man=$(find "$WORK/root" -name synwave.1 | head -1)
if [ -n "$man" ]; then
  # roff writes a dash as \-.
  sed 's/\\//g' "$man" >"$WORK/man.txt"
  for flag in port listen cps metrics pcap secret-file wait-server; do
    grep -q -- "--$flag" "$WORK/man.txt" || { echo "FAIL the man page lacks --$flag"; failures=$((failures + 1)); }
  done
fi
want systemd/system/synwave-proxy.service
unit=$(find "$WORK/root" -name synwave-proxy.service | head -1)
if [ -n "$unit" ]; then
  # The unit runs the installed binary on the installed config, and every
  # placeholder was filled in.
  exec_path=$(sed -n 's/^ExecStart=\([^ ]*\) proxy .*/\1/p' "$unit")
  config=$(sed -n 's/^ExecStart=.* --config=\([^ ]*\).*/\1/p' "$unit")
  [ -n "$exec_path" ] && [ -x "$WORK/root$exec_path" ] ||
    { echo "FAIL the unit's ExecStart ($exec_path) is not the installed synwave"; failures=$((failures + 1)); }
  [ -n "$config" ] && [ -f "$WORK/root$config" ] ||
    { echo "FAIL the unit's --config ($config) is not the installed proxy.toml"; failures=$((failures + 1)); }
  ! grep -q '@[A-Z]*@' "$unit" ||
    { echo "FAIL the unit has unfilled placeholders"; failures=$((failures + 1)); }
fi
[ -x "$(find "$WORK/root" -path '*bin/synwave-plot' | head -1)" ] ||
  { echo "FAIL synwave-plot is not executable"; failures=$((failures + 1)); }
[ "$failures" = 0 ] || exit 1
echo "all installed"
