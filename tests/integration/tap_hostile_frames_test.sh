#!/usr/bin/env bash
# Frames a hostile or broken host sends, through a tap interface (issue 11,
# findings 4 and 5): SYNs and echo requests from a group source MAC
# (broadcast, IPv4 multicast), from 127.0.0.1 and from the subnet's
# directed broadcast. None may be answered (an answer to a group MAC is a
# broadcast storm; RFC 1122 3.2.1.3 says such sources are discarded), each
# is counted under its own reason, and an ordinary SYN still gets its
# SYN-ACK. Then, with the tap's MTU at 9000, echo requests in frames of
# 2,100, 3,000 and 9,014 bytes (larger than one mbuf; there is no scattered
# receive): unanswered, and counted by the port (port_ierrors) or the
# worker (drop_rx_multi_segment), never lost without a count (finding 6).
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip arping "$PY"
"$PY" -c 'import scapy' 2>/dev/null || skip_or_fail "python3-scapy missing"

start_tap_endpoint swt_hostile 198.18.14.1/24 198.18.14.2/24 --listen=8080
# The endpoint's MAC, from its answer to ARP.
SW_MAC=$(arping -c 1 -w 2 -I "$IFACE" "$TARGET_IP" |
  sed -n 's/.*reply from [0-9.]* \[\([0-9A-Fa-f:]*\)\].*/\1/p' | head -1)
[ -n "$SW_MAC" ] || fail "no ARP answer from $TARGET_IP"

"$PY" - "$IFACE" "$KERNEL_IP" "$TARGET_IP" "$SW_MAC" <<'PYEOF' || fail "hostile frames were answered"
import sys, time
from scapy.all import (Ether, IP, TCP, ICMP, AsyncSniffer, sendp,
                       get_if_hwaddr, conf)
conf.verb = 0
iface, src, dst, mac = sys.argv[1:5]
own = get_if_hwaddr(iface)
# What the endpoint sends has its address as the IP source (the kernel side
# may share its MAC), whatever it answers.
subnet_broadcast = dst.rsplit(".", 1)[0] + ".255"
hostile = []
for i, smac in enumerate(["ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01"]):
    hostile.append(Ether(src=smac, dst=mac) / IP(src=src, dst=dst) /
                   TCP(sport=40000 + i, dport=8080, flags="S", seq=1000))
    hostile.append(Ether(src=smac, dst=mac) / IP(src=src, dst=dst) /
                   ICMP(id=0x4747, seq=i))
for i, sip in enumerate(["127.0.0.1", subnet_broadcast]):
    hostile.append(Ether(src=own, dst=mac) / IP(src=sip, dst=dst) /
                   TCP(sport=41000 + i, dport=8080, flags="S", seq=2000))
    hostile.append(Ether(src=own, dst=mac) / IP(src=sip, dst=dst) /
                   ICMP(id=0x4848, seq=i))
sniffer = AsyncSniffer(iface=iface, filter="ip src host " + dst, store=True)
sniffer.start()
time.sleep(0.3)
sendp(hostile, iface=iface)
time.sleep(1.5)
answers = sniffer.stop()
if answers:
    for p in answers:
        print("answered:", p.summary(), file=sys.stderr)
    sys.exit(1)
# An ordinary SYN from the same host is answered (the filter is not blind).
sniffer = AsyncSniffer(iface=iface, filter="tcp and ip src host " + dst,
                       store=True)
sniffer.start()
time.sleep(0.3)
sendp(Ether(src=own, dst=mac) / IP(src=src, dst=dst) /
      TCP(sport=42000, dport=8080, flags="S", seq=3000), iface=iface)
time.sleep(1.0)
synacks = [p for p in sniffer.stop()
           if TCP in p and p[TCP].dport == 42000 and p[TCP].flags & 0x12 == 0x12]
if not synacks:
    sys.exit("the ordinary SYN got no SYN-ACK")
PYEOF

ip link set "$IFACE" mtu 9000
"$PY" - "$IFACE" "$KERNEL_IP" "$TARGET_IP" "$SW_MAC" <<'PYEOF' || fail "an oversized frame was answered"
import sys, time
from scapy.all import Ether, IP, ICMP, AsyncSniffer, sendp, get_if_hwaddr, conf
conf.verb = 0
iface, src, dst, mac = sys.argv[1:5]
own = get_if_hwaddr(iface)
frames = [Ether(src=own, dst=mac) / IP(src=src, dst=dst) / ICMP(id=0x4949, seq=i) /
          (b"x" * (size - 14 - 20 - 8))
          for i, size in enumerate([2100, 3000, 9014])]
assert [len(f) for f in frames] == [2100, 3000, 9014]
sniffer = AsyncSniffer(iface=iface, filter="icmp and src host " + dst, store=True)
sniffer.start()
time.sleep(0.3)
sendp(frames, iface=iface)
time.sleep(1.0)
sys.exit(1 if sniffer.stop() else 0)
PYEOF

stop_endpoint
[ "$(report 'r["pools"]["mbufs"]')" = 0 ] || fail "mbufs leaked: $(report 'r["pools"]')"
group=$(counter drop_eth_src_group)
loopback=$(counter drop_ipv4_loopback_source)
bcast=$(counter drop_ipv4_subnet_broadcast_source)
[ "$group" = 4 ] || fail "drop_eth_src_group is $group, expected 4"
[ "$loopback" = 2 ] || fail "drop_ipv4_loopback_source is $loopback, expected 2"
[ "$bcast" = 2 ] || fail "drop_ipv4_subnet_broadcast_source is $bcast, expected 2"
[ "$(counter icmp_echo_replies_out)" = 0 ] || fail "an echo request was answered"
oversize=$(( $(counter port_ierrors) + $(counter drop_rx_multi_segment) ))
[ "$oversize" -ge 3 ] ||
  fail "3 oversized frames, counted $oversize times (port_ierrors $(counter port_ierrors), drop_rx_multi_segment $(counter drop_rx_multi_segment))"
echo "PASS: group MAC ($group), 127/8 ($loopback), subnet broadcast ($bcast), oversized frames ($oversize; xstats $(report 'r["port_xstats"]')) dropped and unanswered"
