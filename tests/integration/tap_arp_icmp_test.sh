#!/usr/bin/env bash
# The Linux kernel, through a tap interface, sees synwave as a host: ARP is
# answered, 100 pings get 100 replies, and a frame with a corrupted IPv4
# checksum is counted under drop_ipv4_bad_checksum and never answered.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip arping ping "$PY"
"$PY" -c 'import scapy' 2>/dev/null || skip_or_fail "python3-scapy missing"

start_tap_endpoint swt_icmp 198.18.10.1/24 198.18.10.2/24 --stats-interval=1

arping -c 5 -w 5 -I "$IFACE" "$TARGET_IP" >"$WORK/arping.log" ||
  fail "arping got no answer: $(cat "$WORK/arping.log")"
grep -q "Received 5 response" "$WORK/arping.log" ||
  fail "arping: $(tail -2 "$WORK/arping.log")"

ping -I "$IFACE" -c 100 -i 0.01 -W 2 -q "$TARGET_IP" >"$WORK/ping.log" ||
  fail "ping failed: $(tail -3 "$WORK/ping.log")"
grep -q " 0% packet loss" "$WORK/ping.log" || fail "ping lost packets: $(tail -2 "$WORK/ping.log")"

# One echo request with a wrong IP header checksum: no reply may come.
"$PY" - "$IFACE" "$KERNEL_IP" "$TARGET_IP" <<'PYEOF' || fail "corrupted frame was answered"
import sys
from scapy.all import Ether, IP, ICMP, AsyncSniffer, sendp, get_if_hwaddr, getmacbyip, conf
conf.verb = 0
iface, src, dst = sys.argv[1:4]
mac = getmacbyip(dst)
if mac is None:
    sys.exit("no ARP answer for " + dst)
frame = Ether(src=get_if_hwaddr(iface), dst=mac) / IP(src=src, dst=dst, chksum=0xdead) / ICMP(id=0x5757, seq=1) / b"corrupt"
sniffer = AsyncSniffer(iface=iface, filter="icmp and src host " + dst, store=True)
sniffer.start()
sendp(frame, iface=iface)
import time; time.sleep(1.0)
replies = [p for p in sniffer.stop() if ICMP in p and p[ICMP].id == 0x5757]
sys.exit(1 if replies else 0)
PYEOF

stop_endpoint
[ "$(report 'r["pools"]["mbufs"]')" = 0 ] || fail "mbufs leaked: $(report 'r["pools"]')"
bad=$(counter drop_ipv4_bad_checksum)
replies=$(counter icmp_echo_replies_out)
[ "$bad" = 1 ] || fail "drop_ipv4_bad_checksum is $bad, expected 1"
[ "$replies" = 100 ] || fail "icmp_echo_replies_out is $replies, expected 100"
grep -q "final counters:" "$WORK/synwave.log" || fail "no final counters printed"
echo "PASS: arping 5/5, ping 100/100, bad checksum counted ($bad) and unanswered"
