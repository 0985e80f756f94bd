#!/usr/bin/env bash
# Linux clients against `synwave serve --close=client`: the client sends the
# first FIN, so the kernel holds TIME-WAIT (ss shows it) and the endpoint
# goes CLOSE-WAIT -> LAST-ACK -> CLOSED and keeps nothing.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip arping ss "$PY"

N=${N_SEQUENTIAL:-2000}
start_tap_endpoint swt_tcpc 198.18.12.1/24 198.18.12.2/24 \
  --listen=8080 --response-bytes=300 --close=client

result=$(client sequential "$N" --port 8080 --body 300 --close client)
echo "sequential: $result"
[ "$(json_get "$result" 'j["completed"]')" = "$N" ] || fail "sequential: $result"
sleep 0.5
kernel_tw=$(ss -Htan state time-wait dst "$TARGET_IP" | wc -l)
echo "kernel TIME-WAIT sockets to $TARGET_IP: $kernel_tw"
[ "$kernel_tw" -ge "$N" ] || fail "kernel holds $kernel_tw TIME-WAIT sockets, want >= $N"

stop_endpoint
[ "$(report 'r["pools"]["mbufs"]')" = 0 ] || fail "mbufs leaked: $(report 'r["pools"]')"
echo "endpoint states: $(report 'r["states"]')"
[ "$(report 'r["states"]["TIME-WAIT"]')" = 0 ] || fail "endpoint holds TIME-WAIT records"
[ "$(report 'r["counters"]["ConnectionsClosed"]')" = "$N" ] || fail "ConnectionsClosed is not $N"
[ "$(report 'r["pools"]["tcbs"]')" = 0 ] || fail "TCBs still in use"
echo "PASS: $N connections closed by the client; kernel holds TIME-WAIT"
