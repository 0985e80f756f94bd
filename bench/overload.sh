#!/usr/bin/env bash
# Overload: does `synwave serve` keep serving when offered twice what it can
# answer by clients that give up and vanish (issue 11)?
#
# Two processes over net_memif (shared memory, no NIC): `synwave serve` on
# CPU 0, `synwave load` on CPU 1. The server spends --request-work cycles of
# busy work on each request, as an application does (default 40,000, about
# 19 us at 2.1 GHz): without it the client, which does about as much work
# per connection as the server, is the bottleneck at twice the server's
# capacity (it was: 85% busy against the server's 48%, its own TX ring
# overflowing), and the test would measure the generator. The rings hold
# 4,096 frames (memif rsize=12, a NIC's usual RX ring; memif's default is
# 1,024): with admission control's backlog of 512 handshakes, a worker 2x
# overloaded holds about 4 x 512 frames in its RX ring (the requests, the
# SYNs that arrive while it serves them, the FINs).
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
# It prints C, 2C, S and S/C, who was busy (the busy cycles of each side per
# connection, each side's TX drops: the bottleneck must be the server), the
# SYNs admission control refused (drop_tcp_admission), and fails (exit 1) if
# S < 0.8 C or a pool stayed wedged. Timings on a shared machine are noisy:
# report the figures with the command line.
#
#   bench/overload.sh [BUILD_DIR]
#   (DURATION=10 ABANDON=0.5 WAIT=180 METRICS=127.0.0.1:9177 RSIZE=12
#    SERVE_FLAGS="--idle-timeout=5 --orphan-retries=3 --syn-ack-retries=2
#    --request-work=40000" by default, admission control at serve's
#    defaults; add --admission-target=0 to SERVE_FLAGS to see it without;
#    root, for the EAL)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DURATION=${DURATION:-10}
ABANDON=${ABANDON:-0.5}
WAIT=${WAIT:-180}
METRICS=${METRICS:-127.0.0.1:9177}
RSIZE=${RSIZE:-12}
SERVE_FLAGS=${SERVE_FLAGS:---idle-timeout=5 --orphan-retries=3 --syn-ack-retries=2 --request-work=40000}
SYNWAVE=$BUILD/apps/synwave/synwave
PY=/usr/bin/python3
[ -x "$SYNWAVE" ] || { echo "overload: $SYNWAVE is not built (ninja -C $BUILD)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "overload: needs root (DPDK EAL)" >&2; exit 1; }
WORK=$(mktemp -d)
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill -KILL $SERVE_PID 2>/dev/null; rm -rf "$WORK"' EXIT

jget() { "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

SOCK=$WORK/memif.sock
MEMIF="socket=$SOCK,socket-abstract=no,id=0,rsize=$RSIZE"
# shellcheck disable=SC2086
"$SYNWAVE" serve --port="net_memif0,role=server,$MEMIF" --ip=198.18.16.1/24 \
  --listen=8080 --lcores=0 --stats-interval=1 --json="$WORK/serve.json" \
  --metrics="$METRICS" \
  $SERVE_FLAGS >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { cat "$WORK/serve.log"; echo "overload: serve did not start" >&2; exit 1; }

# metric NAME: the server's counter NAME now, summed over its workers.
metric() {
  "$PY" - "$METRICS" "$1" <<'PYEOF'
import re, sys, time, urllib.request
for attempt in range(50):
    try:
        text = urllib.request.urlopen("http://%s/metrics" % sys.argv[1],
                                      timeout=5).read().decode()
        break
    except OSError:
        time.sleep(0.1)
print(sum(int(m.group(1)) for m in re.finditer(
    r"^synwave_%s(?:_total)?(?:\{[^}]*\})? (\d+)$" % sys.argv[2], text, re.M)))
PYEOF
}
# who_busy NAME BEFORE AFTER: each side's busy cycles per connection the
# load completed in step NAME, and each side's TX drops (a full TX ring: the
# other side did not keep up).
who_busy() {
  local name=$1 before=$2 after=$3
  "$PY" - "$WORK/$name.json" "$before" "$after" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
b = [int(x) for x in sys.argv[2].split()]
a = [int(x) for x in sys.argv[3].split()]
done = max(r["connections"]["completed"], 1)
c = r["counters"]
print("  busy cycles per completed connection: server %d, client %d;"
      " TX drops (ring full): server %d, client %d"
      % ((a[0] - b[0]) / done, c["busy_cycles"] / done, a[1] - b[1],
         c.get("drop_tx_queue_full", 0)))
PYEOF
}
snapshot() { echo "$(metric busy_cycles) $(metric drop_tx_queue_full)"; }

# load NAME CLIENT_IPS [flags...]: one load run against the server. Each
# step has its own client addresses: a tuple of the first step reused by
# the second (a new process, other timestamp clocks) would meet the
# server's TIME-WAIT record of it and be refused (PAWS), which is not
# what this measures.
load() {
  local name=$1 clients=$2
  shift 2
  "$SYNWAVE" load --port="net_memif0,role=client,$MEMIF" --ip=198.18.16.2/24 \
    --client-ips="$clients" --server=198.18.16.1:8080 \
    --lcores=1 --duration="$DURATION" --stats-interval=1 \
    --json="$WORK/$name.json" "$@" >"$WORK/$name.log" 2>&1 ||
    { cat "$WORK/$name.log"; echo "overload: load ($name) failed" >&2; exit 1; }
}

before=$(snapshot)
load capacity 198.18.16.10-198.18.16.129 --concurrency=512
after=$(snapshot)
capacity=$(jget "$WORK/capacity.json" 'round(r["cps"]["mean"])')
offered=$((2 * capacity))
echo "capacity: $capacity conn/s (unpaced, 512 open at once, $DURATION s)"
who_busy capacity "$before" "$after"

# The client holds what 2C connections for ABANDON s take (its own TCB pool
# must not be what limits the offered rate).
admission_before=$(metric drop_tcp_admission)
before=$(snapshot)
load overload 198.18.16.130-198.18.16.250 --cps="$offered" --concurrency=0 --abandon="$ABANDON" --drain=0 \
  --max-connections=262144 --max-time-wait=262144
after=$(snapshot)
admission_after=$(metric drop_tcp_admission)
served=$(jget "$WORK/overload.json" 'round(r["cps"]["mean"])')
o() { jget "$WORK/overload.json" "$1"; }
echo "overload: offered $offered conn/s (attempted $(o 'round(r["connections"]["attempted"] / r["duration_s"])')/s)," \
  "served $served conn/s" \
  "($(o 'r["connections"]["completed"]') completed," \
  "$(o 'r["counters"]["load_abandoned"]') abandoned after $ABANDON s," \
  "$(o 'r["connections"]["failed"]') failed of $(o 'r["connections"]["attempted"]'):" \
  "$(o 'r["connections"]["failed_by_reason"]'))"
who_busy overload "$before" "$after"
echo "  SYNs refused by admission control (drop_tcp_admission):" \
  "$((admission_after - admission_before))"
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
