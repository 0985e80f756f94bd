#!/usr/bin/env bash
# With 5% of segments dropped at random in each direction (iptables
# statistic on the tap interface; this kernel has no netem), 1,000
# connections all complete: retransmission works on both sides.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip arping iptables "$PY"

IF=swt_loss
rules=(
  "OUTPUT -o $IF -p tcp -m statistic --mode random --probability 0.05 -j DROP"
  "INPUT -i $IF -p tcp -m statistic --mode random --probability 0.05 -j DROP"
)
drop_rules() { for r in "${rules[@]}"; do iptables -D $r 2>/dev/null || true; done; }
trap 'drop_rules; cleanup' EXIT

start_tap_endpoint "$IF" 198.18.13.1/24 198.18.13.2/24 \
  --listen=8080 --response-bytes=2000 --close=server
for r in "${rules[@]}"; do iptables -A $r || skip_or_fail "iptables statistic match unavailable"; done

# All at once: each recovers on its own timers, so the run takes seconds,
# not the sum of every lost SYN's 1 s retransmission timeout.
result=$(client concurrent "${N_CONNECTIONS:-1000}" --port 8080 --body 2000 --close server --timeout 90)
echo "with 5% loss: $result"
drop_rules
[ "$(json_get "$result" 'j["completed"]')" = "${N_CONNECTIONS:-1000}" ] || fail "connections failed under loss: $result"

stop_endpoint
[ "$(report 'r["pools"]["mbufs"]')" = 0 ] || fail "mbufs leaked: $(report 'r["pools"]')"
retrans=$(report 'r["counters"]["RetransSegs"]')
echo "endpoint RetransSegs=$retrans TCPTimeouts=$(report 'r["counters"]["TCPTimeouts"]') TCPSynRetrans=$(report 'r["counters"]["TCPSynRetrans"]')"
[ "$retrans" -gt 0 ] || fail "no retransmission happened: was loss applied?"
echo "PASS: all connections completed under 5% loss each way"
