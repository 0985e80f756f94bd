#!/usr/bin/env bash
# synwave proxy over IPv6 between Linux clients and a Linux HTTP server,
# two ports (the IPv6 twin of tap_proxy_kernel_test):
#   namespace C (client fd00:30::1)  -- tap swt_p6c --  synwave VIP [fd00:30::2]:80
#   synwave fd00:31::1 -- tap swt_p6b -- namespace B (backend [fd00:31::2]:8080,
#                                         default route via fd00:31::1)
# What a user relies on:
#   1. the kernel on both sides finds synwave by Neighbor Discovery, and
#      synwave finds the backend (its probes answered: "backends up");
#   2. downloads of 1 B, 100 B, 1,500 B, 64 KiB and 1 MB and a 1 MB upload
#      through the IPv6 VIP are byte-exact (sha256), the multi-segment ones
#      included, and the backend sees the client's own IPv6 address;
#   3. 100 connections at once all complete;
#   4. a client without timestamps (no window scale nor SACK either, the
#      cookie carries none) still moves 1 MB each way byte-exact;
#   4b. under spoofed SYNs from random IPv6 sources (scapy), fetches
#      complete and the backend never sees a spoofed peer;
#   5. the report: flows joined, no unknown backend frame, no mbuf lost.
# The VIP needs the IPv4 --ip too (dual stack, as every mode in this
# version): it only answers ARP here.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip timeout curl sha256sum ss sysctl "$PY"

NSC=swt_p6c$$
NSB=swt_p6b$$
IFC=swt_p6c
IFB=swt_p6b
CLIENT_IP=fd00:30::1
VIP=fd00:30::2
BSIDE_IP=fd00:31::1
BACKEND_IP=fd00:31::2
HERE=$(dirname "$0")
# LCORES=0,1: two workers, each polling a queue of both taps (the
# hand-off between them, and the backend's MAC shared: the kernel answers
# every worker's solicitation on one queue).
LCORES=${LCORES:-1}

make_netns "$NSC"
make_netns "$NSB"

"$SYNWAVE" proxy --port="net_tap_${IFC},iface=${IFC}" --ip=198.18.32.2/24 \
  --ip="$VIP/64" --listen=80 \
  --backend-port="net_tap_${IFB},iface=${IFB}" --backend-ip="$BSIDE_IP/64" \
  --backend="[$BACKEND_IP]:8080" --lcores="$LCORES" --probe-interval=1 \
  --stats-interval=1 --duration=120 \
  --json="$WORK/report.json" >"$WORK/synwave.log" 2>&1 &
SYNWAVE_PID=$!
on_exit '[ -n "$SYNWAVE_PID" ] && kill -KILL "$SYNWAVE_PID" 2>/dev/null && wait "$SYNWAVE_PID" 2>/dev/null'
wait_for_line "$WORK/synwave.log" '^synwave proxy:' "$SYNWAVE_PID" "synwave proxy"

# ns IF MAC ADDR: the tap into namespace ns, without DAD (the address is
# usable at once) and without stable-privacy addresses.
setup_side() {
  local ns=$1 ifc=$2 mac=$3 addr=$4
  ip link set "$ifc" netns "$ns"
  ip -n "$ns" link set "$ifc" address "$mac"
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.accept_dad=0"
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.accept_ra=0"
  ip -n "$ns" -6 addr add "$addr/64" dev "$ifc" nodad
  ip -n "$ns" link set "$ifc" up
}
setup_side "$NSC" "$IFC" 02:00:5e:00:53:11 "$CLIENT_IP"
setup_side "$NSB" "$IFB" 02:00:5e:00:53:12 "$BACKEND_IP"
ip -n "$NSB" -6 route add default via "$BSIDE_IP" dev "$IFB"

head -c 1048576 /dev/urandom >"$WORK/big"
FAIL_LOGS=("$WORK/backend.log")
ip netns exec "$NSB" "$PY" "$HERE/proxy_backend.py" --addr "$BACKEND_IP" --port 8080 \
  --big "$WORK/big" --log "$WORK/access.log" >>"$WORK/backend.log" 2>&1 &
BACKEND_PID=$!
on_exit "kill -KILL $BACKEND_PID 2>/dev/null"
for _ in $(seq 100); do
  ip netns exec "$NSB" ss -Htln "src [$BACKEND_IP]:8080" | grep -q 8080 && break
  sleep 0.1
done
ip netns exec "$NSB" ss -Htln "src [$BACKEND_IP]:8080" | grep -q 8080 ||
  fail "the backend did not start"

# 1. Neighbor Discovery both ways; the backend up (its probes answered).
for _ in $(seq 100); do
  grep -q "backends up " "$WORK/synwave.log" && break
  sleep 0.1
done
grep -q "backends up " "$WORK/synwave.log" ||
  fail "the backend never came up (probes over IPv6): $(tail -3 "$WORK/synwave.log")"
for _ in $(seq 50); do
  ip netns exec "$NSC" curl -6 -s -o /dev/null --max-time 2 "http://[$VIP]/small" && break
  sleep 0.1
done
ip -n "$NSC" -6 neigh show "$VIP" | grep -qE "lladdr [0-9a-f:]+" ||
  fail "the client's kernel did not resolve the VIP: $(ip -n "$NSC" -6 neigh show)"
echo "ok: the VIP and the backend side resolved by Neighbor Discovery, backend up"

# 2. Byte-exact, several sizes (1 MB down and up).
for n in 1 100 1500 65536 1048576; do
  want=$(head -c "$n" "$WORK/big" | sha256sum | cut -d' ' -f1)
  got=$(ip netns exec "$NSC" curl -6 -sS --max-time 30 "http://[$VIP]/bytes/$n" |
    sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "download of $n bytes: sha256 $got, want $want"
done
want=$(sha256sum <"$WORK/big" | cut -d' ' -f1)
got=$(ip netns exec "$NSC" curl -6 -sS --max-time 30 -H 'Expect:' \
  --data-binary "@$WORK/big" "http://[$VIP]/upload")
[ "$got" = "$want" ] || fail "upload: the backend read sha256 '$got', want $want"
grep -q "^$CLIENT_IP GET /bytes/1048576" "$WORK/access.log" ||
  fail "the backend did not see the client's address: $(head -3 "$WORK/access.log")"
echo "ok: 1 B, 100 B, 1500 B, 64 KiB, 1 MB down and 1 MB up byte-exact; the backend saw $CLIENT_IP"

# 3. 100 at once.
r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" concurrent 100 --server "$VIP")
[ "$(json_get "$r" 'j["completed"]')" = 100 ] || fail "100 at once: $r"
echo "ok: 100 connections at once: $r"

# 4. A client without timestamps.
ip netns exec "$NSC" sysctl -qw net.ipv4.tcp_timestamps=0
got=$(ip netns exec "$NSC" curl -6 -sS --max-time 30 "http://[$VIP]/big" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "without timestamps: download sha256 $got, want $want"
got=$(ip netns exec "$NSC" curl -6 -sS --max-time 30 -H 'Expect:' \
  --data-binary "@$WORK/big" "http://[$VIP]/upload")
[ "$got" = "$want" ] || fail "without timestamps: upload sha256 '$got', want $want"
ip netns exec "$NSC" sysctl -qw net.ipv4.tcp_timestamps=1
echo "ok: 1 MB each way byte-exact for a client without timestamps"

# 4b. Spoofed SYNs from random IPv6 sources (scapy, in namespace C, which
#     holds only lo and the tap and does not forward: the SYN-ACKs to the
#     spoofed sources end there) while a client fetches: every fetch
#     completes, the backend never holds a SYN-RECEIVED socket of a spoofed
#     peer nor sees one in its log, and every SYN was answered with a cookie.
[ "$(ip netns exec "$NSC" sysctl -n net.ipv6.conf.all.forwarding)" = 0 ] ||
  fail "$NSC forwards IPv6; refusing to flood"
VIP_MAC=$(ip -n "$NSC" -6 neigh show "$VIP" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
[ -n "$VIP_MAC" ] || fail "no MAC for the VIP in $NSC"
FLOOD=4000
ip netns exec "$NSC" "$PY" - "$IFC" "$VIP_MAC" "$VIP" "$FLOOD" >"$WORK/flood.log" 2>&1 <<'PYEOF' &
import random, sys
from scapy.all import Ether, IPv6, TCP, sendp, conf
conf.verb = 0
iface, mac, vip, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rnd = random.Random(7)
frames = [Ether(dst=mac) / IPv6(src="2001:db8:%x:%x::%x" % (rnd.getrandbits(16), rnd.getrandbits(16), rnd.getrandbits(16)), dst=vip) /
          TCP(sport=rnd.randrange(1024, 65535), dport=80, flags="S", seq=rnd.getrandbits(32))
          for _ in range(n)]
sendp(frames, iface=iface)
print("sent", n)
PYEOF
flood_pid=$!
FAIL_LOGS+=("$WORK/flood.log")
syn_recv_max=0
fetched=0
while kill -0 "$flood_pid" 2>/dev/null; do
  got=$(ip netns exec "$NSC" curl -6 -sS --max-time 10 "http://[$VIP]/bytes/65536" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$(head -c 65536 "$WORK/big" | sha256sum | cut -d' ' -f1)" ] ||
    fail "a fetch under the flood: sha256 $got"
  fetched=$((fetched + 1))
  # Our own handshakes (a joined client's, a probe's) pass through
  # SYN-RECEIVED for a moment; any other peer came from the flood.
  n=$(ip netns exec "$NSB" ss -Htan state syn-recv |
    { grep -vE " \[?($CLIENT_IP|$BSIDE_IP)\]?:[0-9]+ *\$" || true; } | wc -l)
  if [ "$n" -gt "$syn_recv_max" ]; then syn_recv_max=$n; fi
done
wait "$flood_pid" || fail "the flood failed: $(cat "$WORK/flood.log")"
[ "$syn_recv_max" = 0 ] || fail "the backend held $syn_recv_max SYN-RECEIVED sockets of spoofed peers"
if grep -v "^$CLIENT_IP " "$WORK/access.log" | grep -q .; then
  fail "the backend saw another peer: $(grep -v "^$CLIENT_IP " "$WORK/access.log" | head -3)"
fi
echo "ok: $FLOOD spoofed IPv6 SYNs while $fetched fetches of 64 KiB completed; backend syn-recv of spoofed peers 0"

# 5. The report: every fetch above joined a flow (5 sizes, 2 uploads, 100
#    at once, 1 without timestamps: 108, and the readiness fetches).
stop_endpoint
check() {
  [ "$(report "(lambda c, p: bool($1))(r['counters'], r['pools'])")" = True ] ||
    fail "$1; counters $(report '{k: v for k, v in r["counters"].items() if v and k.startswith("proxy")}')"
}
check 'c["proxy_established"] >= 108 and c["proxy_unknown_backend_frames"] == 0'
check 'c["proxy_backend_refused"] == 0 and c["proxy_backend_syn_timeouts"] == 0'
check 'c["proxy_backend0_probes_ok"] >= 1 and c["proxy_cookies_invalid"] == 0'
check "c['proxy_syn_in'] >= $FLOOD + 108 and c['proxy_cookie_synacks_out'] == c['proxy_syn_in']"
check 'p["mbufs"] == 0'
if [ "$LCORES" != 1 ]; then
  # Two workers: frames reached their flow's worker through the hand-off.
  check 'c["proxy_handoff_in"] > 0 and c["proxy_handoff_in"] == c["proxy_handoff_out"] and c["proxy_drop_handoff_full"] == 0'
fi
echo "figures: $(report '{k: v for k, v in r["counters"].items() if v and k.startswith("proxy_") and "backend0" not in k}')"
echo "PASS"
