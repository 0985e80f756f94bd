#!/usr/bin/env bash
# A load that starts before its server (issue 15's reproduction): `synwave
# load` owns the memif socket (role=server) and waits for the server's ARP
# answer; `synwave serve` connects 3 s later. The run is timed from the
# schedule's start: the report's duration is --duration, its rate is
# completed / duration, the wait is written down (wait_s), no connection is
# left open, and the timeline starts with the load. Then a load whose
# server never answers gives up after --wait-server with a clear error and
# exit status 1.
# Needs root for the EAL; exits 77 without it, except under CI.
source "$(dirname "$0")/lib.sh"
require_root
require_tools "$PY"

DURATION=2
LATE=3
SOCK=$WORK/memif.sock
MEMIF="socket=$SOCK,socket-abstract=no,id=0"
FAIL_LOGS=("$WORK/load.log" "$WORK/serve.log")

"$SYNWAVE" load --port="net_memif0,role=server,$MEMIF" --ip=198.18.16.2/24 \
  --server=198.18.16.1:8080 --concurrency=64 --duration=$DURATION --drain=1 \
  --lcores=0 --json="$WORK/load.json" >"$WORK/load.log" 2>&1 &
load_pid=$!
wait_for_line "$WORK/load.log" '^synwave load:' "$load_pid" "synwave load"
sleep "$LATE"
"$SYNWAVE" serve --port="net_memif0,role=client,$MEMIF" --ip=198.18.16.1/24 \
  --listen=8080 --lcores=1 --duration=30 --json="$WORK/report.json" \
  >"$WORK/serve.log" 2>&1 &
SYNWAVE_PID=$!
rc=0
wait "$load_pid" || rc=$?
[ "$rc" = 0 ] || fail "synwave load exited with $rc"
stop_endpoint
grep -q 'waiting for 198.18.16.1 to answer ARP' "$WORK/load.log" ||
  fail "the load did not say it was waiting"

load() { json_file "$WORK/load.json" "$1"; }
echo "load: wait_s $(load 'r["wait_s"]') duration_s $(load 'r["duration_s"]') connections $(load 'r["connections"]') cps $(load 'r["cps"]')"
[ "$(load "$LATE - 0.5 <= r['wait_s'] <= $LATE + 5")" = True ] ||
  fail "wait_s $(load 'r["wait_s"]') is not the ~$LATE s the server took"
[ "$(load "r['duration_s'] == $DURATION")" = True ] ||
  fail "duration_s $(load 'r["duration_s"]') is not --duration=$DURATION"
[ "$(load 'r["connections"]["completed"] > 1000')" = True ] ||
  fail "too few connections completed"
[ "$(load 'abs(r["cps"]["mean"] - r["connections"]["completed"] / r["duration_s"]) <= 1')" = True ] ||
  fail "the mean rate is not completed / duration"
[ "$(load 'r["pools"]["load_open"] + r["pools"]["tcbs"]')" = 0 ] ||
  fail "connections still open: $(load 'r["pools"]')"
[ "$(load 'len(r["timeline"]) >= 2 and r["timeline"][0]["completed"] > 0')" = True ] ||
  fail "the timeline does not start with the load: $(load 'r["timeline"][:2]')"

# No server at all: give up after --wait-server.
rm -f "$SOCK"
start=$(date +%s.%N)
rc=0
"$SYNWAVE" load --port="net_memif0,role=server,$MEMIF" --ip=198.18.16.2/24 \
  --server=198.18.16.1:8080 --concurrency=64 --duration=$DURATION \
  --wait-server=1 --lcores=0 >"$WORK/nowait.log" 2>&1 || rc=$?
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$rc" = 1 ] || fail "a load without a server exited with $rc, not 1"
grep -q 'no answer to ARP for 198.18.16.1.*--wait-server' "$WORK/nowait.log" ||
  fail "no clear error: $(cat "$WORK/nowait.log")"
echo "PASS: a server $LATE s late: wait_s $(load 'round(r["wait_s"], 2)'), duration_s $DURATION, $(load 'r["connections"]["completed"]') completed, none left open;" \
  "no server: exit 1 after $took s (--wait-server=1)"
