#!/usr/bin/env bash
# Overload: does `synwave serve` keep serving when offered twice what it can
# answer by clients that give up and vanish (issue 11)?
#
# Two processes over net_memif (shared memory, no NIC): `synwave serve` on
# CPU 0, `synwave load` on CPU 1.
#   1. capacity: load unpaced with 512 connections open at once for
#      DURATION s; the completed connections per second are C.
#   2. overload: load paced at 2C new connections per second for DURATION
#      s, each forgotten without a RST if not finished after ABANDON s
#      (--abandon); the served rate S is what completed per second.
#   3. recovery: after the load stops, the server's pools (read from its
#      --metrics exposition each second) must empty within WAIT s: no TCB,
#      SYN-queue entry or buffer chunk left to the abandoned connections
#      (the idle timeout, the orphan retries and the SYN-ACK retries
#      reclaim them; retransmission timers backed off under overload make
#      that take a while); then the server stops and no mbuf may be out.
# It prints C, 2C, S and S/C, and fails (exit 1) if S < 0.8 C or a pool
# stayed wedged. Timings on a shared machine are noisy: report the figures
# with the command line.
#
#   bench/overload.sh [BUILD_DIR]
#   (DURATION=10 ABANDON=0.5 WAIT=180 METRICS=127.0.0.1:9177
#    SERVE_FLAGS="--idle-timeout=5 --orphan-retries=3 --syn-ack-retries=2"
#    by default; root, for the EAL)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DURATION=${DURATION:-10}
ABANDON=${ABANDON:-0.5}
WAIT=${WAIT:-180}
METRICS=${METRICS:-127.0.0.1:9177}
SERVE_FLAGS=${SERVE_FLAGS:---idle-timeout=5 --orphan-retries=3 --syn-ack-retries=2}
SYNWAVE=$BUILD/apps/synwave/synwave
PY=/usr/bin/python3
[ -x "$SYNWAVE" ] || { echo "overload: $SYNWAVE is not built (ninja -C $BUILD)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "overload: needs root (DPDK EAL)" >&2; exit 1; }
WORK=$(mktemp -d)
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill -KILL $SERVE_PID 2>/dev/null; rm -rf "$WORK"' EXIT

jget() { "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

SOCK=$WORK/memif.sock
MEMIF="socket=$SOCK,socket-abstract=no,id=0"
# shellcheck disable=SC2086
"$SYNWAVE" serve --port="net_memif0,role=server,$MEMIF" --ip=198.18.16.1/24 \
  --listen=8080 --lcores=0 --stats-interval=1 --json="$WORK/serve.json" \
  --metrics="$METRICS" \
  $SERVE_FLAGS >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { cat "$WORK/serve.log"; echo "overload: serve did not start" >&2; exit 1; }

# load NAME [flags...]: one load run against the server.
load() {
  local name=$1
  shift
  "$SYNWAVE" load --port="net_memif0,role=client,$MEMIF" --ip=198.18.16.2/24 \
    --client-ips=198.18.16.10-198.18.16.250 --server=198.18.16.1:8080 \
    --lcores=1 --duration="$DURATION" --stats-interval=1 \
    --json="$WORK/$name.json" "$@" >"$WORK/$name.log" 2>&1 ||
    { cat "$WORK/$name.log"; echo "overload: load ($name) failed" >&2; exit 1; }
}

load capacity --concurrency=512
capacity=$(jget "$WORK/capacity.json" 'round(r["cps"]["mean"])')
offered=$((2 * capacity))
echo "capacity: $capacity conn/s (unpaced, 512 open at once, $DURATION s)"

# The client holds what 2C connections for ABANDON s take (its own TCB pool
# must not be what limits the offered rate).
load overload --cps="$offered" --concurrency=0 --abandon="$ABANDON" --drain=0 \
  --max-connections=262144 --max-time-wait=262144
served=$(jget "$WORK/overload.json" 'round(r["cps"]["mean"])')
o() { jget "$WORK/overload.json" "$1"; }
echo "overload: offered $offered conn/s (attempted $(o 'round(r["connections"]["attempted"] / r["duration_s"])')/s)," \
  "served $served conn/s" \
  "($(o 'r["connections"]["completed"]') completed," \
  "$(o 'r["counters"]["load_abandoned"]') abandoned after $ABANDON s," \
  "$(o 'r["connections"]["failed"]') failed of $(o 'r["connections"]["attempted"]'):" \
  "$(o 'r["connections"]["failed_by_reason"]'))"
echo "overload, client side: pool_peaks $(o 'r["pool_peaks"]')," \
  "load_tuples_busy $(o 'r["counters"]["load_tuples_busy"]')"

# held: the server's TCBs, SYN-queue entries and buffer chunks now.
held() {
  "$PY" - "$METRICS" <<'PYEOF'
import re, sys, urllib.request
text = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=5).read().decode()
total = 0
for name in ("tcbs", "half_open", "buffer_chunks"):
    for m in re.finditer(r"^synwave_%s\{[^}]*\} (\d+)$" % name, text, re.M):
        total += int(m.group(1))
print(total)
PYEOF
}
waited=0
while [ "$(held)" != 0 ] && [ "$waited" -lt "$WAIT" ]; do
  sleep 1
  waited=$((waited + 1))
done
echo "serve: pools held by the load empty $waited s after it stopped (limit $WAIT s)"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || true
SERVE_PID=
s() { jget "$WORK/serve.json" "$1"; }
echo "serve: PassiveOpens $(s 'r["counters"]["PassiveOpens"]')," \
  "TCPAbortOnIdle $(s 'r["counters"]["TCPAbortOnIdle"]')," \
  "TCPAbortOnTimeout $(s 'r["counters"]["TCPAbortOnTimeout"]')," \
  "TCPAbortOnMemory $(s 'r["counters"]["TCPAbortOnMemory"]')," \
  "ListenDrops $(s 'r["counters"]["ListenDrops"]')," \
  "drop_tcp_tables_full $(s 'r["counters"]["drop_tcp_tables_full"]')"
echo "serve drops: $(s '{k: v for k, v in r["counters"].items() if v and (k.startswith("drop") or k.startswith("port_"))}')"
echo "client drops: $(o '{k: v for k, v in r["counters"].items() if v and (k.startswith("drop") or k.startswith("port_"))}')"
echo "serve pools at exit: $(s 'r["pools"]')"

ratio=$("$PY" -c "print(f'{$served / max($capacity, 1):.2f}')")
echo "served/capacity: $ratio"
status=0
"$PY" -c "import sys; sys.exit(0 if $served >= 0.8 * $capacity else 1)" ||
  { echo "overload: FAIL: served $served < 80% of capacity $capacity" >&2; status=1; }
[ "$(s 'r["pools"]["tcbs"] + r["pools"]["half_open"] + r["pools"]["buffer_chunks"] + r["pools"]["mbufs"]')" = 0 ] ||
  { echo "overload: FAIL: pools wedged after the load: $(s 'r["pools"]')" >&2; status=1; }
exit $status
