#!/usr/bin/env bash
# Linux clients against `synwave serve --close=server` through a tap
# interface: 10,000 sequential connections and 200 concurrent ones each get
# the full response; the endpoint holds the TIME-WAIT records (it closed
# first); a client that aborts with RST leaves no connection behind.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip arping "$PY"

N=${N_SEQUENTIAL:-10000}
start_tap_endpoint swt_tcps 198.18.11.1/24 198.18.11.2/24 \
  --listen=8080 --response-bytes=1000 --close=server --stats-interval=5

seq_result=$(client sequential "$N" --port 8080 --body 1000 --close server)
echo "sequential: $seq_result"
[ "$(json_get "$seq_result" 'j["completed"]')" = "$N" ] || fail "sequential: $seq_result"

conc_result=$(client concurrent 200 --port 8080 --body 1000 --close server)
echo "concurrent: $conc_result"
[ "$(json_get "$conc_result" 'j["completed"]')" = 200 ] || fail "concurrent: $conc_result"
[ "$(json_get "$conc_result" 'j["open_at_once"]')" = 200 ] || fail "not 200 at once: $conc_result"

client abort --port 8080 >/dev/null || fail "abort client failed"
sleep 0.5

stop_endpoint
[ "$(report 'r["pools"]["mbufs"]')" = 0 ] || fail "mbufs leaked: $(report 'r["pools"]')"
total=$((N + 200 + 1))
echo "endpoint: PassiveOpens=$(report 'r["counters"]["PassiveOpens"]') states=$(report 'r["states"]')"
[ "$(report 'r["counters"]["PassiveOpens"]')" = "$total" ] || fail "PassiveOpens is not $total"
# Every connection left a TIME-WAIT record here, except where the kernel
# reused a port and its new SYN reopened the tuple (RFC 6191).
tw=$(report 'r["states"]["TIME-WAIT"]')
reopened=$(report 'r["counters"]["TimeWaitReopened"]')
[ "$tw" -gt 0 ] || fail "the endpoint holds no TIME-WAIT records"
[ $((tw + reopened)) = $((N + 200)) ] ||
  fail "TIME-WAIT records $tw + reopened $reopened != $((N + 200)) connections"
[ "$(report 'r["counters"]["CurrEstab"]')" = 0 ] || fail "CurrEstab not 0 after the abort"
[ "$(report 'r["counters"]["EstabResets"]')" -ge 1 ] || fail "the client's RST was not counted"
[ "$(report 'r["pools"]["tcbs"]')" = 0 ] || fail "TCBs still in use: $(report 'r["pools"]')"
[ "$(report 'r["pools"]["half_open"]')" = 0 ] || fail "half-open entries left"
echo "PASS: $N sequential ($(json_get "$seq_result" 'j["cps"]') conn/s) and 200 concurrent connections, RST abort cleaned up"
