#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds synwave,
# and runs `synwave loopback`: the load generator and the server in one
# process over an in-memory link (a net_ring pair), no NIC and no
# hugepages. It prints one line per second and the summary (connections/s,
# failures, latency percentiles, pools at the end). Extra arguments go to
# synwave loopback (e.g. --duration=30 --close=client --cps=100000).
# Needs root (the DPDK EAL).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build apps/synwave/synwave >/dev/null
SYNWAVE=build/apps/synwave/synwave
"$SYNWAVE" version

if [ "$(id -u)" != 0 ]; then
  echo "run-main: the DPDK EAL needs root" >&2
  exit 1
fi
exec "$SYNWAVE" loopback "$@"
