#!/usr/bin/env bash
# synwave proxy between Linux clients and a Linux HTTP server, two ports:
#   namespace C (clients, 198.18.30.1)  -- tap swt_pc --  synwave VIP 198.18.30.2:80
#   synwave 198.18.31.1 -- tap swt_pb -- namespace B (backend 198.18.31.2:8080,
#                                          default route via 198.18.31.1)
# What a user relies on:
#   1. a 1 MB download and a 1 MB upload through the proxy are byte-exact
#      (sha256), and the backend sees the client's own address;
#   2. 200 connections at once all complete;
#   3. under `hping3 --flood --rand-source -S` at the VIP, clients still
#      complete every fetch, the backend never holds a SYN-RECEIVED socket
#      for another peer than the real client or a probe (ours pass through
#      it for a moment) and sends no cookie (TcpExtSyncookiesSent
#      unchanged): it never sees a spoofed SYN;
#   3b. the option matrix: clients without timestamps, without SACK,
#      without window scaling: 1 MB each way byte-exact in each;
#   3c. 5% loss each way on both sides (iptables statistic in both
#      namespaces): 1 MB each way byte-exact;
#   4. two backends (198.18.31.2 and .3): one stopped mid-run is marked
#      down (3 refused probes) and new connections all go to the other;
#      restarted, it is up again (2 good probes) and gets connections;
#   5. with both stopped, a client's connection is reset within a second;
#   6. the report: the joined flows, no unknown backend frame, the
#      backends' probes and up/down events.
# Safety as tap_syn_flood_test: the flood and the clients run in namespace
# C, which holds only lo and the tap, has no default route and does not
# forward; the SYN-ACKs to spoofed sources end there.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip arping hping3 timeout curl sha256sum ss iptables "$PY"

NSC=swt_pxc$$
NSB=swt_pxb$$
IFC=swt_pc
IFB=swt_pb
CLIENT_IP=198.18.30.1
VIP=198.18.30.2
BSIDE_IP=198.18.31.1
BACKEND_IP=198.18.31.2
BACKEND2_IP=198.18.31.3
HERE=$(dirname "$0")
# LCORES=0,1: two workers, each polling a queue of both taps; the kernel
# spreads a connection's two directions over the queues, so frames reach
# the worker that owns their flow through the hand-off rings. QUICK=1 runs
# parts 1 and 2 only.
LCORES=${LCORES:-1}
QUICK=${QUICK:-0}
# PROBE_INTERVAL=0 with BACKEND_RMEM=67108864: no probes, so the cookie
# SYN-ACKs announce the default window scale (7) while the backend, with a
# 64 MiB receive buffer, uses 11: its windows are rescaled on the way.
PROBE_INTERVAL=${PROBE_INTERVAL:-1}
BACKEND_RMEM=${BACKEND_RMEM:-}

make_netns "$NSC"
make_netns "$NSB"

"$SYNWAVE" proxy --port="net_tap_${IFC},iface=${IFC}" --ip="$VIP/24" --listen=80 \
  --backend-port="net_tap_${IFB},iface=${IFB}" --backend-ip="$BSIDE_IP/24" \
  --backend="$BACKEND_IP:8080" --backend="$BACKEND2_IP:8080" --lcores="$LCORES" --probe-interval="$PROBE_INTERVAL" --stats-interval=1 --duration=120 \
  --json="$WORK/report.json" >"$WORK/synwave.log" 2>&1 &
SYNWAVE_PID=$!
on_exit '[ -n "$SYNWAVE_PID" ] && kill -KILL "$SYNWAVE_PID" 2>/dev/null && wait "$SYNWAVE_PID" 2>/dev/null'
wait_for_line "$WORK/synwave.log" '^synwave proxy:' "$SYNWAVE_PID" "synwave proxy"

ip link set "$IFC" netns "$NSC"
ip -n "$NSC" link set "$IFC" address 02:00:5e:00:53:01
ip -n "$NSC" addr add "$CLIENT_IP/24" dev "$IFC"
ip -n "$NSC" link set "$IFC" up
ip link set "$IFB" netns "$NSB"
ip -n "$NSB" link set "$IFB" address 02:00:5e:00:53:02
ip -n "$NSB" addr add "$BACKEND_IP/24" dev "$IFB"
ip -n "$NSB" addr add "$BACKEND2_IP/24" dev "$IFB"
ip -n "$NSB" link set "$IFB" up
ip -n "$NSB" route add default via "$BSIDE_IP"
if [ -n "$BACKEND_RMEM" ]; then
  ip netns exec "$NSB" sysctl -qw net.ipv4.tcp_rmem="4096 131072 $BACKEND_RMEM"
fi

head -c 1048576 /dev/urandom >"$WORK/big"
FAIL_LOGS=("$WORK/backend2.log" "$WORK/backend3.log")
# start_backend N: the HTTP server on 198.18.31.N:8080, its requests in
# $WORK/accessN.log.
declare -A BACKEND_PID
start_backend() {
  local n=$1
  ip netns exec "$NSB" "$PY" "$HERE/proxy_backend.py" --addr "198.18.31.$n" --port 8080 \
    --big "$WORK/big" --log "$WORK/access$n.log" >>"$WORK/backend$n.log" 2>&1 &
  BACKEND_PID[$n]=$!
  for _ in $(seq 100); do
    ip netns exec "$NSB" ss -Htln "src 198.18.31.$n:8080" | grep -q 8080 && return 0
    sleep 0.1
  done
  fail "backend $n did not start"
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
  fail "the backends never became '$1'"
}
requests() { if [ -f "$WORK/access$1.log" ]; then wc -l <"$WORK/access$1.log"; else echo 0; fi; }
start_backend 2
start_backend 3

ip netns exec "$NSC" arping -q -c 1 -w 10 -I "$IFC" "$VIP" ||
  fail "synwave did not answer ARP for the VIP"
# The backends are up once their probes were answered.
wait_backends up,up

cookies_sent() {
  ip netns exec "$NSB" awk '
    $1 == "TcpExt:" && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
    $1 == "TcpExt:" { print $col["SyncookiesSent"]; exit }' /proc/net/netstat
}
COOKIES_BEFORE=$(cookies_sent)

# 1. Byte-exact both ways.
want=$(sha256sum <"$WORK/big" | cut -d' ' -f1)
got=$(ip netns exec "$NSC" curl -sS --max-time 30 "http://$VIP/big" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "download: sha256 $got, want $want"
got=$(ip netns exec "$NSC" curl -sS --max-time 30 -H 'Expect:' --data-binary "@$WORK/big" "http://$VIP/upload")
[ "$got" = "$want" ] || fail "upload: the backend read sha256 '$got', want $want"
grep -qh "^$CLIENT_IP GET /big" "$WORK"/access*.log ||
  fail "the backend did not see the client's address: $(cat "$WORK"/access*.log | head -3)"
echo "ok: 1 MB down and up byte-exact; the backend saw $CLIENT_IP"

# 2. 200 at once.
r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" concurrent 200 --server "$VIP")
[ "$(json_get "$r" 'j["completed"]')" = 200 ] || fail "200 at once: $r"
echo "ok: 200 connections at once: $r"

if [ "$QUICK" = 1 ]; then
  stop_endpoint
  [ "$(report 'r["counters"]["proxy_unknown_backend_frames"]')" = 0 ] || fail "unknown backend frames"
  if [ "$LCORES" != 1 ]; then
    [ "$(report 'r["counters"]["proxy_handoff_in"] > 0 and r["counters"]["proxy_handoff_in"] == r["counters"]["proxy_handoff_out"] and r["counters"]["proxy_drop_handoff_full"] == 0')" = True ] ||
      fail "hand-off: $(report '{k: v for k, v in r["counters"].items() if "handoff" in k}')"
  fi
  echo "figures: $(report '{k: v for k, v in r["counters"].items() if v and k.startswith("proxy_") and "backend" not in k}')"
  echo "PASS (quick, lcores $LCORES, probe interval $PROBE_INTERVAL${BACKEND_RMEM:+, backend rmem $BACKEND_RMEM})"
  exit 0
fi

# byte_exact WHAT: 1 MB down and up through the proxy, sha256 checked.
byte_exact() {
  local got
  got=$(ip netns exec "$NSC" curl -sS --max-time 60 "http://$VIP/big" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "$1: download sha256 $got, want $want"
  got=$(ip netns exec "$NSC" curl -sS --max-time 60 -H 'Expect:' --data-binary "@$WORK/big" "http://$VIP/upload")
  [ "$got" = "$want" ] || fail "$1: upload sha256 '$got', want $want"
}

# 3b. The clients' options: each switched off in turn.
for opt in tcp_timestamps tcp_sack tcp_window_scaling; do
  ip netns exec "$NSC" sysctl -qw "net.ipv4.$opt=0"
  byte_exact "without $opt"
  ip netns exec "$NSC" sysctl -qw "net.ipv4.$opt=1"
done
echo "ok: 1 MB each way byte-exact for clients without timestamps, without SACK, without window scaling"

# 3c. 5% loss each way, on both sides.
for ns in "$NSC" "$NSB"; do
  for chain in INPUT OUTPUT; do
    ip netns exec "$ns" iptables -A "$chain" -m statistic --mode random --probability 0.05 -j DROP
  done
done
byte_exact "with 5% loss"
for ns in "$NSC" "$NSB"; do
  ip netns exec "$ns" iptables -F
done
echo "ok: 1 MB each way byte-exact with 5% loss each way on both sides"

# 3. Under a flood from random sources.
forward=$(ip netns exec "$NSC" sysctl -n net.ipv4.ip_forward)
[ "$forward" = 0 ] || fail "net.ipv4.ip_forward is $forward in $NSC; refusing to flood"
links=$(ip -n "$NSC" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ')
[ "$links" = "lo $IFC " ] || fail "$NSC holds other interfaces than lo and $IFC: $links"
[ -z "$(ip -n "$NSC" route show default)" ] || fail "$NSC has a default route"
FAIL_LOGS+=("$WORK/hping3.log")
ip netns exec "$NSC" timeout -s INT -k 2 60 \
  hping3 --flood --rand-source -S -p 80 -I "$IFC" "$VIP" >"$WORK/hping3.log" 2>&1 &
flood_pid=$!
sleep 1
kill -0 "$flood_pid" 2>/dev/null || fail "hping3 exited at start-up"
syn_recv_max=0
r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" sequential 50 --server "$VIP" --timeout 30 &
    cpid=$!
    while kill -0 "$cpid" 2>/dev/null; do
      # Our own handshakes (a joined client's, a probe's) pass through
      # SYN-RECEIVED for a moment; any other peer came from the flood.
      n=$(ip netns exec "$NSB" ss -Htan state syn-recv |
        grep -vE " ($CLIENT_IP|$BSIDE_IP):[0-9]+ *\$" | wc -l)
      [ "$n" -gt "$syn_recv_max" ] && syn_recv_max=$n
      echo "$syn_recv_max" >"$WORK/syn_recv_max"
      sleep 0.2
    done
    wait "$cpid")
got=$(ip netns exec "$NSC" curl -sS --max-time 60 "http://$VIP/big" | sha256sum | cut -d' ' -f1)
flood_on=yes
kill -0 "$flood_pid" 2>/dev/null || flood_on=no
kill -INT "$flood_pid" 2>/dev/null || true
wait "$flood_pid" || true
[ "$flood_on" = yes ] || fail "the flood ended before the clients did"
[ "$(json_get "$r" 'j["completed"]')" = 50 ] || fail "under the flood: $r"
[ "$got" = "$want" ] || fail "download under the flood: sha256 $got, want $want"
syn_recv_max=$(cat "$WORK/syn_recv_max" 2>/dev/null || echo 0)
[ "$syn_recv_max" = 0 ] || fail "the backend held $syn_recv_max SYN-RECEIVED sockets of spoofed peers"
COOKIES_AFTER=$(cookies_sent)
[ "$COOKIES_AFTER" = "$COOKIES_BEFORE" ] ||
  fail "the backend sent SYN cookies: $COOKIES_BEFORE -> $COOKIES_AFTER"
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$WORK/hping3.log")
echo "ok: under a flood of ${sent:-?} SYNs, 50 fetches and 1 MB complete; backend syn-recv of spoofed peers 0, SyncookiesSent unchanged"

# 4. One of two backends stopped: down, and every new connection goes to
#    the other; restarted: up, and it takes connections again.
stop_backend 3
wait_backends up,down
before2=$(requests 2)
before3=$(requests 3)
r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" sequential 50 --server "$VIP")
[ "$(json_get "$r" 'j["completed"]')" = 50 ] || fail "with backend 3 down: $r"
[ "$(($(requests 2) - before2))" = 50 ] || fail "backend 2 got $(($(requests 2) - before2)) of 50"
[ "$(requests 3)" = "$before3" ] || fail "the stopped backend got requests"
start_backend 3
wait_backends up,up
before3=$(requests 3)
r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" sequential 50 --server "$VIP")
[ "$(json_get "$r" 'j["completed"]')" = 50 ] || fail "after backend 3 came back: $r"
[ "$(requests 3)" -gt "$before3" ] || fail "the restarted backend got no connection"
echo "ok: backend 3 stopped: down, 50 fetches all on backend 2; restarted: up, it takes $(($(requests 3) - before3)) of 50"

# 5. No backend up: the client is reset at once.
stop_backend 2
stop_backend 3
wait_backends down,down
t0=$(date +%s.%N)
rc=0
ip netns exec "$NSC" curl -sS --max-time 5 "http://$VIP/small" >/dev/null 2>"$WORK/curl.err" || rc=$?
t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
[ "$rc" = 7 ] || fail "with no backend curl exited $rc ($(cat "$WORK/curl.err")), want 7 (refused)"
awk -v t="$t" 'BEGIN { exit !(t < 1) }' || fail "the reset took $t s"
echo "ok: no backend up: the connection was refused in $t s"

stop_endpoint
check() {
  [ "$(report "(lambda c, p: bool($1))(r['counters'], r['pools'])")" = True ] ||
    fail "$1; counters $(report '{k: v for k, v in r["counters"].items() if v and k.startswith("proxy")}')"
}
# Unknown backend frames come only from the loss phase: a probe's SYN-ACK
# retransmitted after our RST was lost, a FIN retransmitted after the
# linger. A few, never a flow's worth.
check 'c["proxy_established"] >= 360 and c["proxy_unknown_backend_frames"] <= 64'
check 'c["proxy_backend_refused"] == 0 and c["proxy_backend_syn_timeouts"] == 0'
check 'c["proxy_cookie_synacks_out"] > 1000 and c["proxy_backend0_probes_ok"] >= 1'
check 'c["proxy_backend0_connections"] > 0 and c["proxy_backend1_connections"] > 0'
check 'c["proxy_backend_down_events"] >= 3 and c["proxy_backend_up_events"] >= 1 and c["proxy_no_backend_rst"] >= 1'
check 'p["mbufs"] == 0'
echo "figures: $(report '{k: v for k, v in r["counters"].items() if v and k.startswith("proxy_") and "backend0" not in k}')"
echo "PASS"
