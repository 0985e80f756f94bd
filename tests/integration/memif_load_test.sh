#!/usr/bin/env bash
# Two synwave processes over a net_memif pair (shared memory, no NIC, no
# kernel): `synwave serve` on lcore 0 owns the memif socket (role=server),
# `synwave load` on lcore 1 connects to it (role=client) and keeps 64
# connections open at a time for 5 s. No connection fails, more than 1,000
# complete, the server's PassiveOpens equals the client's completed count,
# and both sides end with no TCB, half-open entry or mbuf in use.
# Needs root for the EAL (no tap interface); exits 77 without it, except
# under CI.
source "$(dirname "$0")/lib.sh"
require_root
require_tools "$PY"

DURATION=${DURATION:-5}
SOCK=$WORK/memif.sock
# socket-abstract=no: a socket file at that path, which the server creates
# (DPDK 22.11 defaults to the abstract namespace).
MEMIF="socket=$SOCK,socket-abstract=no,id=0"
FAIL_LOGS=("$WORK/load.log")

"$SYNWAVE" serve --port="net_memif0,role=server,$MEMIF" --ip=198.18.15.1/24 \
  --listen=8080 --lcores=0 --duration=$((DURATION + 60)) \
  --json="$WORK/report.json" >"$WORK/synwave.log" 2>&1 &
SYNWAVE_PID=$!
wait_for_line "$WORK/synwave.log" '^synwave serve:' "$SYNWAVE_PID" "synwave serve"
[ -S "$SOCK" ] || fail "synwave serve created no memif socket at $SOCK"

rc=0
"$SYNWAVE" load --port="net_memif0,role=client,$MEMIF" --ip=198.18.15.2/24 \
  --server=198.18.15.1:8080 --concurrency=64 --duration="$DURATION" --lcores=1 \
  --stats-interval=1 --json="$WORK/load.json" >"$WORK/load.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "synwave load exited with $rc"
sed -n '/^load summary/,$p' "$WORK/load.log"

stop_endpoint   # SIGTERM: serve stops and writes $WORK/report.json

load() { json_file "$WORK/load.json" "$1"; }
completed=$(load 'r["connections"]["completed"]')
echo "load: $(load 'r["connections"]')"
echo "serve: PassiveOpens $(report 'r["counters"]["PassiveOpens"]') pools $(report 'r["pools"]')"
[ "$(load 'r["connections"]["failed"]')" = 0 ] || fail "connections failed"
[ "$completed" -gt 1000 ] || fail "only $completed connections completed"
[ "$(load 'r["connections"]["attempted"]')" = "$completed" ] || fail "attempted != completed"
[ "$(report 'r["counters"]["PassiveOpens"]')" = "$completed" ] ||
  fail "serve PassiveOpens $(report 'r["counters"]["PassiveOpens"]') != load completed $completed"
[ "$(load 'r["counters"]["ActiveOpens"]')" = "$completed" ] || fail "ActiveOpens != completed"
# The server closed first (the default): every connection entered TIME-WAIT
# there, none here.
[ "$(report 'r["counters"]["TimeWaitEntered"]')" = "$completed" ] ||
  fail "serve TimeWaitEntered != completed"
for side in load report; do
  [ "$($side 'r["pools"]["tcbs"] + r["pools"]["half_open"] + r["pools"]["buffer_chunks"]')" = 0 ] ||
    fail "$side: pools not empty: $($side 'r["pools"]')"
  [ "$($side 'r["pools"]["mbufs"]')" = 0 ] || fail "$side: mbufs not returned"
done
[ "$(load 'r["pools"]["time_wait"] + r["pools"]["load_open"]')" = 0 ] ||
  fail "load: pools not empty: $(load 'r["pools"]')"
echo "PASS: $completed connections over memif in $DURATION s ($(load 'round(r["cps"]["mean"])') conn/s), none failed"
