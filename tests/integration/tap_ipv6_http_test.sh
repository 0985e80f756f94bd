#!/usr/bin/env bash
# HTTP over TCP over IPv6 against synwave serve through a tap interface: the
# kernel's curl -6 fetches 1,000 times, every one a 200 with the body the
# responder sends, and synwave's IPv6 passive opens are those 1,000.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip curl sysctl

IF=swt_http6
KERNEL6=fd00:13::1
TARGET6=fd00:13::2
start_tap_endpoint "$IF" 198.18.13.1/24 198.18.13.2/24 \
  --ip="$TARGET6/64" --response-bytes=100
# IPv6 on the tap, without duplicate address detection's delay, and a
# random link-local address for the kernel (lib.sh says why).
kernel_tap_ipv6 "$IF"
ip -6 addr add "$KERNEL6/64" dev "$IF" nodad

N=1000
for _ in $(seq 50); do
  curl -6 -s -o /dev/null --max-time 2 "http://[$TARGET6]:80/" && break
  sleep 0.1
done
codes=$WORK/codes
: >"$codes"
# 100 fetches per curl (a process per fetch made this test take 40 s); the
# responder closes after each response, so every fetch is a new connection
# (the passive-open count below proves it).
urls=()
for _ in $(seq 100); do urls+=(-o /dev/null "http://[$TARGET6]:80/"); done
for i in $(seq $((N / 100))); do
  curl -6 -s -w '%{http_code} %{size_download}\n' --max-time 5 "${urls[@]}" \
    >>"$codes" || echo "curl failed in batch $i" >>"$codes"
done
ok=$(grep -c '^200 100$' "$codes" || true)
[ "$ok" = "$N" ] ||
  fail "$ok of $N fetches were 200 with 100 bytes: $(sort "$codes" | uniq -c | head -5)"

stop_endpoint
[ "$(report 'r["pools"]["mbufs"]')" = 0 ] || fail "mbufs leaked: $(report 'r["pools"]')"
opens=$(counter Ipv6PassiveOpens)
total=$(counter PassiveOpens)
# The first, readiness fetch(es) included: N and a few more, all over IPv6.
[ "$opens" -ge "$N" ] && [ "$opens" -le $((N + 50)) ] ||
  fail "Ipv6PassiveOpens is $opens, expected $N (+ the readiness fetches)"
[ "$total" = "$opens" ] || fail "PassiveOpens $total != Ipv6PassiveOpens $opens"
[ "$(counter drop_tcp_no_handler)" = 0 ] || fail "IPv6 TCP found no handler"
echo "PASS: curl -6 $N/$N 200, Ipv6PassiveOpens $opens of PassiveOpens $total"
