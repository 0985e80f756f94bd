#!/usr/bin/env bash
# The Linux kernel, through a tap interface, sees synwave as an IPv6 host:
# it resolves synwave's global and link-local addresses by Neighbor
# Discovery (its neighbour entries hold synwave's MAC), 100 pings -6 to each
# get 100 replies, and synwave resolves a kernel address in turn (its
# gateway, one the kernel never sends from, so that only synwave's own
# solicitation can resolve it).
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip ping sysctl

IF=swt_nd6
KERNEL6=fd00:11::1
GATEWAY6=fd00:11::9
TARGET6=fd00:11::2
# IPv4 as every run has it, IPv6 beside it; a kernel address is the IPv6
# gateway, so synwave solicits it from the start.
start_tap_endpoint "$IF" 198.18.11.1/24 198.18.11.2/24 \
  --ip="$TARGET6/64" --gateway="$GATEWAY6" --stats-interval=1
# IPv6 on the tap, without duplicate address detection's delay, and a
# random link-local address for the kernel (lib.sh says why).
kernel_tap_ipv6 "$IF"
ip -6 addr add "$KERNEL6/64" dev "$IF" nodad
# The gateway's address is deprecated: never a source, still answered.
ip -6 addr add "$GATEWAY6/64" dev "$IF" nodad preferred_lft 0

MAC=$(sed -n 's/.* mac \([0-9a-f:]*\) .*/\1/p' "$WORK/synwave.log" | head -1)
LINK_LOCAL=$(sed -n 's/.* link-local \([0-9a-f:]*\),.*/\1/p' "$WORK/synwave.log" | head -1)
[ -n "$MAC" ] && [ -n "$LINK_LOCAL" ] ||
  fail "no MAC or link-local address in the start-up lines"
case "$LINK_LOCAL" in fe80::*) ;; *) fail "link-local is $LINK_LOCAL" ;; esac
ip -6 addr show dev "$IF" | grep -q "inet6 $LINK_LOCAL/" &&
  fail "the kernel holds our link-local address $LINK_LOCAL itself"

# The kernel's own address may take a moment to become usable.
for _ in $(seq 50); do
  ping -6 -c 1 -W 1 -I "$IF" "$TARGET6" >/dev/null 2>&1 && break
  sleep 0.1
done

ping -6 -I "$IF" -c 100 -i 0.01 -W 2 -q "$TARGET6" >"$WORK/ping.log" ||
  fail "ping -6 $TARGET6 failed: $(tail -3 "$WORK/ping.log")"
grep -q " 0% packet loss" "$WORK/ping.log" ||
  fail "ping -6 $TARGET6 lost packets: $(tail -2 "$WORK/ping.log")"
ping -6 -c 100 -i 0.01 -W 2 -q "$LINK_LOCAL%$IF" >"$WORK/ping_ll.log" ||
  fail "ping -6 $LINK_LOCAL failed: $(tail -3 "$WORK/ping_ll.log")"
grep -q " 0% packet loss" "$WORK/ping_ll.log" ||
  fail "ping -6 $LINK_LOCAL lost packets: $(tail -2 "$WORK/ping_ll.log")"

# The kernel learnt both addresses by Neighbor Discovery, with our MAC.
for a in "$TARGET6" "$LINK_LOCAL"; do
  entry=$(ip -6 neigh show dev "$IF" to "$a")
  echo "$entry" | grep -q "lladdr $MAC" ||
    fail "kernel neighbour entry for $a: '$entry', expected lladdr $MAC"
  echo "$entry" | grep -Eq "REACHABLE|STALE|DELAY|PROBE" ||
    fail "kernel neighbour entry for $a is not usable: '$entry'"
done

# Our side: the gateway is solicited again every
# retry interval (1 s) until answered; the pings took longer than that
# since the kernel's address came up.
sleep 1
stop_endpoint
[ "$(report 'r["pools"]["mbufs"]')" = 0 ] || fail "mbufs leaked: $(report 'r["pools"]')"
replies=$(counter icmp6_echo_replies_out)
requests=$(counter icmp6_echo_requests_in)
ns_in=$(counter nd_solicitations_in)
na_out=$(counter nd_advertisements_out)
ns_out=$(counter nd_solicitations_out)
na_in=$(counter nd_advertisements_in)
[ "$requests" -ge 200 ] || fail "icmp6_echo_requests_in is $requests, expected >= 200"
[ "$replies" = "$requests" ] || fail "icmp6_echo_replies_out $replies != requests $requests"
[ "$ns_in" -ge 2 ] || fail "nd_solicitations_in is $ns_in, expected >= 2 (both addresses)"
[ "$na_out" = "$ns_in" ] || fail "nd_advertisements_out $na_out != solicitations $ns_in"
[ "$ns_out" -ge 1 ] || fail "nd_solicitations_out is $ns_out: the gateway was never solicited"
[ "$na_in" -ge 1 ] || fail "nd_advertisements_in is $na_in: the kernel's address was never resolved"
[ "$(counter drop_ipv6_disabled)" = 0 ] || fail "IPv6 dropped as disabled"
echo "PASS: ping -6 100/100 to $TARGET6 and to $LINK_LOCAL, kernel neighbours with $MAC," \
  "NS in/NA out $ns_in/$na_out, our NS out/NA in $ns_out/$na_in"
