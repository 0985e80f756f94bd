#!/usr/bin/env bash
# synwave proxy between Linux clients and a Linux HTTP server, two ports,
# over IPv4 (FAMILY=4: tap_proxy_kernel_test, and the QUICK variants
# tap_proxy_two_workers_test and tap_proxy_wscale_test) or IPv6 (FAMILY=6:
# tap_proxy6_kernel_test, tap_proxy6_two_workers_test):
#   namespace C (client 198.18.30.1 | fd00:30::1) -- tap -- synwave VIP 198.18.30.2 | fd00:30::2, port 80
#   synwave 198.18.31.1 | fd00:31::1 -- tap -- namespace B (backends on port
#     8080: 198.18.31.2 and .3 | fd00:31::2; default route via synwave)
# Over IPv6 the VIP has the IPv4 --ip too (dual stack); it only answers ARP.
# What a user relies on:
#   1. the kernel on both sides finds synwave (ARP or Neighbor Discovery)
#      and synwave the backends (their probes answered: "backends up");
#      downloads of 1 B, 100 B, 1,500 B, 64 KiB and 1 MB and a 1 MB upload
#      through the VIP are byte-exact (sha256), and the backend sees the
#      client's own address;
#   2. 200 (IPv6: 100) connections at once all complete;
#   (QUICK=1 stops here, with the report's checks of the hand-off.)
#   3b. the option matrix: 1 MB each way byte-exact for clients without
#      timestamps (the cookie then carries no window scale nor SACK), and
#      over IPv4 also without SACK, without window scaling;
#   3c. IPv4: 5% loss each way on both sides (iptables statistic in both
#      namespaces): 1 MB each way byte-exact;
#   3. under a SYN flood from random sources at the VIP (IPv4: `hping3
#      --flood --rand-source -S` during 50 fetches and 1 MB; IPv6: 4,000
#      SYNs from random 2001:db8::/32 sources, syn_flood6.py, during fetches
#      of 64 KiB), every fetch completes, the backend never holds a
#      SYN-RECEIVED socket for another peer than the real client or a probe
#      (ours pass through it for a moment), never sees another peer in its
#      log, and sends no cookie (TcpExtSyncookiesSent unchanged): it never
#      sees a spoofed SYN;
#   4. IPv4, two backends: one stopped mid-run is marked down (3 refused
#      probes) and new connections all go to the other; restarted, it is up
#      again (2 good probes) and gets connections;
#   5. IPv4: with both stopped, a client's connection is reset within a
#      second;
#   6. the report: the joined flows, no unknown backend frame (a few after
#      the loss phase), no invalid cookie, the backends' probes and up/down
#      events, no mbuf lost; with two workers (LCORES=0,1) the hand-off.
# Safety as tap_syn_flood_test: the flood and the clients run in namespace
# C, which holds only lo and the tap, has no default route and does not
# forward; the SYN-ACKs to spoofed sources end there.
source "$(dirname "$0")/lib.sh"
family_from_env
require_net_admin
require_tools ip timeout curl sha256sum ss sysctl "$PY" $(by_family "arping hping3 iptables" "")

HERE=$(dirname "$0")
# LCORES=0,1: two workers, each polling a queue of both taps; the kernel
# spreads a connection's two directions over the queues, so frames reach
# the worker that owns their flow through the hand-off rings (over IPv6 the
# backend's MAC is shared too: the kernel answers every worker's
# solicitation on one queue). QUICK=1 runs parts 1 and 2 only.
LCORES=${LCORES:-1}
QUICK=${QUICK:-0}
# PROBE_INTERVAL=0 with BACKEND_RMEM=67108864: no probes, so the cookie
# SYN-ACKs announce the default window scale (7) while the backend, with a
# 64 MiB receive buffer, uses 11: its windows are rescaled on the way.
PROBE_INTERVAL=${PROBE_INTERVAL:-1}
BACKEND_RMEM=${BACKEND_RMEM:-}
if [ "$FAMILY" = 4 ]; then
  NSC=swt_pxc$$ NSB=swt_pxb$$ IFC=swt_pc IFB=swt_pb
  CLIENT_IP=198.18.30.1 VIP=198.18.30.2 BSIDE_IP=198.18.31.1
  BACKENDS=(198.18.31.2 198.18.31.3)
  PREFIX=24 VIP_HOST=$VIP
  IP_FLAGS=(--ip="$VIP/24")
  AT_ONCE=200
  OPTIONS_OFF=(tcp_timestamps tcp_sack tcp_window_scaling)
else
  NSC=swt_p6c$$ NSB=swt_p6b$$ IFC=swt_p6c IFB=swt_p6b
  CLIENT_IP=fd00:30::1 VIP=fd00:30::2 BSIDE_IP=fd00:31::1
  BACKENDS=(fd00:31::2)
  PREFIX=64 VIP_HOST=[$VIP]
  IP_FLAGS=(--ip=198.18.32.2/24 --ip="$VIP/64")
  AT_ONCE=100
  OPTIONS_OFF=(tcp_timestamps)
fi
# host_port ADDR PORT: ADDR:PORT, an IPv6 address in brackets.
host_port() { if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }
BACKEND_FLAGS=()
for b in "${BACKENDS[@]}"; do BACKEND_FLAGS+=(--backend="$(host_port "$b" 8080)"); done

make_netns "$NSC"
make_netns "$NSB"

"$SYNWAVE" proxy --port="net_tap_${IFC},iface=${IFC}" "${IP_FLAGS[@]}" --listen=80 \
  --backend-port="net_tap_${IFB},iface=${IFB}" --backend-ip="$BSIDE_IP/$PREFIX" \
  "${BACKEND_FLAGS[@]}" --lcores="$LCORES" --probe-interval="$PROBE_INTERVAL" \
  --stats-interval=1 --duration=120 \
  --json="$WORK/report.json" >"$WORK/synwave.log" 2>&1 &
SYNWAVE_PID=$!
on_exit '[ -n "$SYNWAVE_PID" ] && kill -KILL "$SYNWAVE_PID" 2>/dev/null && wait "$SYNWAVE_PID" 2>/dev/null'
wait_for_line "$WORK/synwave.log" '^synwave proxy:' "$SYNWAVE_PID" "synwave proxy"

# setup_side NS IF MAC ADDR...: the tap into namespace NS with the
# addresses (over IPv6 without DAD, so they are usable at once, and without
# router advertisements).
setup_side() {
  local ns=$1 ifc=$2 mac=$3 a
  shift 3
  ip link set "$ifc" netns "$ns"
  ip -n "$ns" link set "$ifc" address "$mac"
  if [ "$FAMILY" = 6 ]; then
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.accept_dad=0"
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.accept_ra=0"
  fi
  for a in "$@"; do ip -n "$ns" addr add "$a/$PREFIX" dev "$ifc" $(by_family "" nodad); done
  ip -n "$ns" link set "$ifc" up
}
setup_side "$NSC" "$IFC" "02:00:5e:00:53:$(by_family 01 11)" "$CLIENT_IP"
setup_side "$NSB" "$IFB" "02:00:5e:00:53:$(by_family 02 12)" "${BACKENDS[@]}"
ip -n "$NSB" -"$FAMILY" route add default via "$BSIDE_IP" dev "$IFB"
if [ -n "$BACKEND_RMEM" ]; then
  ip netns exec "$NSB" sysctl -qw net.ipv4.tcp_rmem="4096 131072 $BACKEND_RMEM"
fi

head -c 1048576 /dev/urandom >"$WORK/big"
want=$(sha256sum <"$WORK/big" | cut -d' ' -f1)
# start_backend I: the HTTP server on BACKENDS[I], port 8080, its requests
# in $WORK/accessI.log.
declare -A BACKEND_PID
start_backend() {
  local i=$1 addr=${BACKENDS[$1]}
  FAIL_LOGS+=("$WORK/backend$i.log")
  ip netns exec "$NSB" "$PY" "$HERE/proxy_backend.py" --addr "$addr" --port 8080 \
    --big "$WORK/big" --log "$WORK/access$i.log" >>"$WORK/backend$i.log" 2>&1 &
  BACKEND_PID[$i]=$!  # killed at exit with the namespace's processes
  for _ in $(seq 100); do
    ip netns exec "$NSB" ss -Htln "src $(host_port "$addr" 8080)" | grep -q 8080 && return 0
    sleep 0.1
  done
  fail "backend $addr did not start"
}
stop_backend() {
  kill -KILL "${BACKEND_PID[$1]}" 2>/dev/null || true
  wait "${BACKEND_PID[$1]}" 2>/dev/null || true
}
# wait_backends STATE: until synwave's per-second line says "backends STATE".
wait_backends() {
  local mark
  mark=$(wc -l <"$WORK/synwave.log")
  for _ in $(seq 100); do
    tail -n +"$((mark + 1))" "$WORK/synwave.log" | grep -q "backends $1 " && return 0
    sleep 0.1
  done
  fail "the backends never became '$1': $(tail -2 "$WORK/synwave.log")"
}
requests() { if [ -f "$WORK/access$1.log" ]; then wc -l <"$WORK/access$1.log"; else echo 0; fi; }
fetch() { ip netns exec "$NSC" curl -sS --max-time "${2:-30}" "http://$VIP_HOST$1"; }
upload() {
  ip netns exec "$NSC" curl -sS --max-time "${1:-30}" -H 'Expect:' \
    --data-binary "@$WORK/big" "http://$VIP_HOST/upload"
}
# byte_exact WHAT: 1 MB down and up through the proxy, sha256 checked.
byte_exact() {
  local got
  got=$(fetch /big 60 | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "$1: download sha256 $got, want $want"
  got=$(upload 60)
  [ "$got" = "$want" ] || fail "$1: upload sha256 '$got', want $want"
}
# The time since the start, for the "ok:" lines.
T0=$(date +%s.%N)
took() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "(at %.1f s)", b - a }'; }
ALL_UP=$(printf 'up,%.0s' "${BACKENDS[@]}")
ALL_UP=${ALL_UP%,}
for i in "${!BACKENDS[@]}"; do start_backend "$i"; done

# 1. ARP or Neighbor Discovery both ways; the backends up (their probes
#    answered; without probes they are up from the start).
if [ "$FAMILY" = 4 ]; then
  netns_arping "$NSC" "$IFC" "$VIP"
fi
wait_backends "$ALL_UP"
for _ in $(seq 50); do
  fetch /small 2 >/dev/null 2>&1 && break
  sleep 0.1
done
ip -n "$NSC" neigh show "$VIP" | grep -qE "lladdr [0-9a-f:]+" ||
  fail "the client's kernel did not resolve the VIP: $(ip -n "$NSC" neigh show)"
echo "ok: the VIP and the backend side resolved, backends $ALL_UP $(took)"

# Byte-exact, several sizes (1 MB down and up).
for n in 1 100 1500 65536 1048576; do
  w=$(head -c "$n" "$WORK/big" | sha256sum | cut -d' ' -f1)
  got=$(fetch "/bytes/$n" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$w" ] || fail "download of $n bytes: sha256 $got, want $w"
done
got=$(upload)
[ "$got" = "$want" ] || fail "upload: the backend read sha256 '$got', want $want"
grep -qh "^$CLIENT_IP GET /bytes/1048576" "$WORK"/access*.log ||
  fail "the backend did not see the client's address: $(cat "$WORK"/access*.log | head -3)"
echo "ok: 1 B, 100 B, 1500 B, 64 KiB, 1 MB down and 1 MB up byte-exact; the backend saw $CLIENT_IP $(took)"

# 2. Many at once.
r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" concurrent "$AT_ONCE" --server "$VIP")
[ "$(json_get "$r" 'j["completed"]')" = "$AT_ONCE" ] || fail "$AT_ONCE at once: $r"
echo "ok: $AT_ONCE connections at once: $r $(took)"

# check EXPR: a Python expression over the final report (c its counters, p
# its pools) must hold.
check() {
  check_report "$1" '"counters %s" % {k: v for k, v in r["counters"].items() if v and k.startswith("proxy")}'
}
check_handoff() {
  # Two workers: frames reached their flow's worker through the hand-off.
  [ "$LCORES" = 1 ] ||
    check 'c["proxy_handoff_in"] > 0 and c["proxy_handoff_in"] == c["proxy_handoff_out"] and c["proxy_drop_handoff_full"] == 0'
}
if [ "$QUICK" = 1 ]; then
  stop_endpoint
  check 'c["proxy_unknown_backend_frames"] == 0 and p["mbufs"] == 0'
  check_handoff
  echo "figures: $(report '{k: v for k, v in r["counters"].items() if v and k.startswith("proxy_") and "backend" not in k}')"
  echo "PASS (quick, IPv$FAMILY, lcores $LCORES, probe interval $PROBE_INTERVAL${BACKEND_RMEM:+, backend rmem $BACKEND_RMEM})"
  exit 0
fi

# 3b. The clients' options: each switched off in turn (the sysctls apply to
#     both families).
for opt in "${OPTIONS_OFF[@]}"; do
  ip netns exec "$NSC" sysctl -qw "net.ipv4.$opt=0"
  byte_exact "without $opt"
  ip netns exec "$NSC" sysctl -qw "net.ipv4.$opt=1"
done
echo "ok: 1 MB each way byte-exact for clients without: ${OPTIONS_OFF[*]} $(took)"

# 3c. 5% loss each way, on both sides.
if [ "$FAMILY" = 4 ]; then
  for ns in "$NSC" "$NSB"; do
    for chain in INPUT OUTPUT; do
      ip netns exec "$ns" iptables -A "$chain" -m statistic --mode random --probability 0.05 -j DROP
    done
  done
  byte_exact "with 5% loss"
  for ns in "$NSC" "$NSB"; do
    ip netns exec "$ns" iptables -F
  done
  echo "ok: 1 MB each way byte-exact with 5% loss each way on both sides $(took)"
fi

# 3. Under a flood from random sources.
cookies_sent() {
  ip netns exec "$NSB" awk '
    $1 == "TcpExt:" && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
    $1 == "TcpExt:" { print $col["SyncookiesSent"]; exit }' /proc/net/netstat
}
COOKIES_BEFORE=$(cookies_sent)
require_contained "$NSC" "$IFC"
# spoofed_syn_recv: the backend's SYN-RECEIVED sockets of other peers than
# the client and our backend side. Our own handshakes (a joined client's, a
# probe's) pass through SYN-RECEIVED for a moment; any other peer came from
# the flood.
spoofed_syn_recv() {
  ip netns exec "$NSB" ss -Htan state syn-recv |
    { grep -vE " \[?($CLIENT_IP|$BSIDE_IP)\]?:[0-9]+ *\$" || true; } | wc -l
}
syn_recv_max=0
FAIL_LOGS+=("$WORK/flood.log")
if [ "$FAMILY" = 4 ]; then
  ip netns exec "$NSC" timeout -s INT -k 2 60 \
    hping3 --flood --rand-source -S -p 80 -I "$IFC" "$VIP" >"$WORK/flood.log" 2>&1 &
  flood_pid=$!
  sleep 1
  kill -0 "$flood_pid" 2>/dev/null || fail "hping3 exited at start-up"
  r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" sequential 50 --server "$VIP" --timeout 30 &
      cpid=$!
      while kill -0 "$cpid" 2>/dev/null; do
        n=$(spoofed_syn_recv)
        [ "$n" -gt "$syn_recv_max" ] && syn_recv_max=$n
        echo "$syn_recv_max" >"$WORK/syn_recv_max"
        sleep 0.2
      done
      wait "$cpid")
  got=$(fetch /big 60 | sha256sum | cut -d' ' -f1)
  flood_on=yes
  kill -0 "$flood_pid" 2>/dev/null || flood_on=no
  kill -INT "$flood_pid" 2>/dev/null || true
  wait "$flood_pid" || true
  [ "$flood_on" = yes ] || fail "the flood ended before the clients did"
  [ "$(json_get "$r" 'j["completed"]')" = 50 ] || fail "under the flood: $r"
  [ "$got" = "$want" ] || fail "download under the flood: sha256 $got, want $want"
  syn_recv_max=$(cat "$WORK/syn_recv_max" 2>/dev/null || echo 0)
  sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$WORK/flood.log")
  under="50 fetches and 1 MB"
else
  VIP_MAC=$(ip -n "$NSC" -6 neigh show "$VIP" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
  [ -n "$VIP_MAC" ] || fail "no MAC for the VIP in $NSC"
  # syn_flood6.py: 4,000 SYNs (1,000 distinct ones) from random sources
  # in 2001:db8::/32 at 2,000 a second, once scapy has built them.
  ip netns exec "$NSC" "$PY" "$HERE/syn_flood6.py" --iface "$IFC" --dst-mac "$VIP_MAC" \
    --target "$VIP" --port 80 --prefix 2001:db8::/32 --frames 1000 --count 4000 \
    --pps 2000 >"$WORK/flood.json" 2>"$WORK/flood.log" &
  flood_pid=$!
  wait_flooding "$flood_pid" "$WORK/flood.log"
  fetched=0
  w=$(head -c 65536 "$WORK/big" | sha256sum | cut -d' ' -f1)
  while [ "$fetched" = 0 ] || kill -0 "$flood_pid" 2>/dev/null; do
    got=$(fetch /bytes/65536 10 | sha256sum | cut -d' ' -f1)
    [ "$got" = "$w" ] || fail "a fetch under the flood: sha256 $got"
    fetched=$((fetched + 1))
    n=$(spoofed_syn_recv)
    if [ "$n" -gt "$syn_recv_max" ]; then syn_recv_max=$n; fi
  done
  wait "$flood_pid" || fail "the flood failed: $(cat "$WORK/flood.log")"
  sent=$(json_get "$(cat "$WORK/flood.json")" 'j["sent"]')
  [ "$sent" = 4000 ] || fail "the flood sent $sent SYNs, not 4000"
  under="$fetched fetches of 64 KiB"
fi
[ "$syn_recv_max" = 0 ] || fail "the backend held $syn_recv_max SYN-RECEIVED sockets of spoofed peers"
if cat "$WORK"/access*.log | grep -v "^$CLIENT_IP " | grep -q .; then
  fail "the backend saw another peer: $(cat "$WORK"/access*.log | grep -v "^$CLIENT_IP " | head -3)"
fi
COOKIES_AFTER=$(cookies_sent)
[ "$COOKIES_AFTER" = "$COOKIES_BEFORE" ] ||
  fail "the backend sent SYN cookies: $COOKIES_BEFORE -> $COOKIES_AFTER"
echo "ok: under a flood of ${sent:-?} SYNs, $under complete; backend syn-recv of spoofed peers 0, SyncookiesSent unchanged $(took)"

if [ "${#BACKENDS[@]}" -ge 2 ]; then
  # 4. One of two backends stopped: down, and every new connection goes to
  #    the other; restarted: up, and it takes connections again.
  stop_backend 1
  wait_backends up,down
  before0=$(requests 0)
  before1=$(requests 1)
  r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" sequential 50 --server "$VIP")
  [ "$(json_get "$r" 'j["completed"]')" = 50 ] || fail "with backend 1 down: $r"
  [ "$(($(requests 0) - before0))" = 50 ] || fail "backend 0 got $(($(requests 0) - before0)) of 50"
  [ "$(requests 1)" = "$before1" ] || fail "the stopped backend got requests"
  start_backend 1
  wait_backends up,up
  before1=$(requests 1)
  r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" sequential 50 --server "$VIP")
  [ "$(json_get "$r" 'j["completed"]')" = 50 ] || fail "after backend 1 came back: $r"
  [ "$(requests 1)" -gt "$before1" ] || fail "the restarted backend got no connection"
  echo "ok: backend 1 stopped: down, 50 fetches all on backend 0; restarted: up, it takes $(($(requests 1) - before1)) of 50 $(took)"

  # 5. No backend up: the client is reset at once.
  stop_backend 0
  stop_backend 1
  wait_backends down,down
  t0=$(date +%s.%N)
  rc=0
  fetch /small 5 >/dev/null 2>"$WORK/curl.err" || rc=$?
  t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  [ "$rc" = 7 ] || fail "with no backend curl exited $rc ($(cat "$WORK/curl.err")), want 7 (refused)"
  awk -v t="$t" 'BEGIN { exit !(t < 1) }' || fail "the reset took $t s"
  echo "ok: no backend up: the connection was refused in $t s $(took)"
fi

# 6. The report. Every fetch above joined a flow: over IPv4 (6 + 200 + 6 +
#    2 + 51 + 100) at least 360, over IPv6 (6 + 100 + 2) at least 108, and
#    the readiness fetches. Unknown backend frames come only from the loss
#    phase: a probe's SYN-ACK retransmitted after our RST was lost, a FIN
#    retransmitted after the linger. A few, never a flow's worth.
stop_endpoint
check "c['proxy_established'] >= $(by_family 360 108)"
check "c['proxy_unknown_backend_frames'] <= $(by_family 64 0)"
check 'c["proxy_backend_refused"] == 0 and c["proxy_backend_syn_timeouts"] == 0'
check 'c["proxy_backend0_probes_ok"] >= 1 and c["proxy_cookies_invalid"] == 0'
if [ "$FAMILY" = 4 ]; then
  check 'c["proxy_cookie_synacks_out"] > 1000'
  check 'c["proxy_backend0_connections"] > 0 and c["proxy_backend1_connections"] > 0'
  check 'c["proxy_backend_down_events"] >= 3 and c["proxy_backend_up_events"] >= 1 and c["proxy_no_backend_rst"] >= 1'
else
  # Every SYN (the flood's and the clients') answered with a cookie.
  check "c['proxy_syn_in'] >= $sent + 108 and c['proxy_cookie_synacks_out'] == c['proxy_syn_in']"
fi
check 'p["mbufs"] == 0'
check_handoff
echo "figures: $(report '{k: v for k, v in r["counters"].items() if v and k.startswith("proxy_") and "backend0" not in k}')"
echo "PASS (IPv$FAMILY, lcores $LCORES)"
