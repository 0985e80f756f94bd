#!/usr/bin/env bash
# `synwave load` over IPv6 against a Linux kernel server (linux_epoll_server
# on [fd00:15::1]:8080) through net_tap, from 16 client addresses
# (--client-ips=fd00:15::100-fd00:15::10f), in a network namespace of its
# own so that the kernel's counters count only this test's connections:
#   1. --close=client, 2,000 connections/s for 4 s: every attempted one
#      completes over IPv6, the kernel's PassiveOpens (/proc/net/snmp, both
#      families) grows by exactly our completed count, and afterwards we
#      hold one TIME-WAIT record (and its IPv6 address pair) per connection
#      and nothing else (no TCB, half-open entry, buffer or mbuf); the
#      kernel resolved every one of the 16 client addresses by Neighbor
#      Discovery (we answer for the range), and we resolved the server's;
#   2. the default close mode (the server closes), 2 s: the same, with the
#      TIME-WAIT records on the kernel's side and no IPv6 pair left on ours.
# In both, the kernel has no ESTABLISHED connection left.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip ss sysctl "$PY"
EPOLL_SERVER=${LINUX_EPOLL_SERVER:?LINUX_EPOLL_SERVER must point to linux_epoll_server}

NS=swt_l6$$
IF=swt_l6
KERNEL6=fd00:15::1
SYNWAVE6=fd00:15::2
CLIENTS=fd00:15::100-fd00:15::10f
make_netns "$NS"
FAIL_LOGS=("$WORK/server.log")

# run_load NAME SERVER_CLOSE [synwave load flags...]: as in
# tap_load_kernel_test, over IPv6: `synwave load` on a new tap interface,
# moved into $NS once the port is up, the kernel's end given IPv6 (no
# duplicate address detection; a random link-local address, since net_tap
# hands the kernel's side the port's MAC first) and the kernel server
# started there. synwave resolves the server by Neighbor Discovery (its
# solicitations repeat each second until the namespace's end is up); the
# run is timed from then.
run_load() {
  local name=$1 server_close=$2
  shift 2
  PASSIVE_BEFORE=$(netns_tcp_mib "$NS" PassiveOpens)
  "$SYNWAVE" load --port="net_tap_${IF},iface=${IF}" --ip=198.18.15.2/24 \
    --ip="$SYNWAVE6/64" --server="[$KERNEL6]:8080" --client-ips="$CLIENTS" \
    --json="$WORK/$name.json" --stats-interval=1 --wait-server=20 \
    "$@" >"$WORK/synwave.log" 2>&1 &
  SYNWAVE_PID=$!
  wait_for_line "$WORK/synwave.log" '^synwave load:' "$SYNWAVE_PID" "synwave load"
  ip link set "$IF" netns "$NS"
  ip -n "$NS" link set "$IF" address 02:00:5e:00:53:01
  ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$IF.accept_dad=0"
  ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$IF.addr_gen_mode=3"
  ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$IF.disable_ipv6=1"
  ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$IF.disable_ipv6=0"
  ip -n "$NS" addr add 198.18.15.1/24 dev "$IF"
  ip -n "$NS" -6 addr add "$KERNEL6/64" dev "$IF" nodad
  ip -n "$NS" link set "$IF" up
  ip netns exec "$NS" "$EPOLL_SERVER" --listen="[$KERNEL6]:8080" \
    --response-bytes=100 --close="$server_close" >"$WORK/server.log" 2>&1 &
  local server_pid=$!
  wait_for_line "$WORK/server.log" '^listening on' "$server_pid" linux_epoll_server
  # While it runs (the interface goes with the process): the client
  # addresses the kernel resolved, a neighbour entry with a MAC for each.
  NEIGHBORS=0
  local n
  while kill -0 "$SYNWAVE_PID" 2>/dev/null; do
    n=$(ip -n "$NS" -6 neigh show dev "$IF" 2>/dev/null |
      grep -cE '^fd00:15::1[0-9a-f]{2} lladdr' || true)
    [ "$n" -gt "$NEIGHBORS" ] && NEIGHBORS=$n
    sleep 0.2
  done
  local rc=0
  wait "$SYNWAVE_PID" || rc=$?
  SYNWAVE_PID=
  [ "$rc" = 0 ] || fail "$name: synwave load exited with $rc"
  PASSIVE_AFTER=$(netns_tcp_mib "$NS" PassiveOpens)
  sed -n '/^load summary/,$p' "$WORK/synwave.log"
  ESTABLISHED=$(ip netns exec "$NS" ss -Htan state established | wc -l)
  KERNEL_TW=$(ip netns exec "$NS" ss -Htan state time-wait | wc -l)
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  cp "$WORK/synwave.log" "$WORK/$name.log"
}

# check NAME EXPR: a Python expression over the report `r` (with
# c = r["connections"], p = r["pools"] and k = r["counters"]) must hold.
check() {
  local name=$1 expr=$2
  [ "$(json_file "$WORK/$name.json" \
        "(lambda c, p, k: bool($expr))(r['connections'], r['pools'], r['counters'])")" = True ] ||
    fail "$name: $expr; connections $(json_file "$WORK/$name.json" 'r["connections"]'), pools $(json_file "$WORK/$name.json" 'r["pools"]')"
}

check_run() {
  local name=$1 cps=$2 seconds=$3
  local n=$((cps * seconds)) completed
  completed=$(json_file "$WORK/$name.json" 'r["connections"]["completed"]')
  check "$name" 'c["failed"] == 0 and c["open"] == 0 and c["completed"] == c["attempted"]'
  # As in tap_load_kernel_test: at most the last 50 ms of the schedule may
  # go unattempted on a busy machine.
  check "$name" "$n - $cps // 20 <= c['attempted'] <= $n"
  # Every connection over IPv6, counted per family and in the totals.
  check "$name" 'c["ipv6"]["attempted"] == c["attempted"] and c["ipv6"]["completed"] == c["completed"]'
  check "$name" 'k["ActiveOpens"] == c["completed"] and k["Ipv6ActiveOpens"] == c["completed"]'
  check "$name" 'k["Ipv6OutSegs"] == k["OutSegs"] and k["Ipv6InSegs"] == k["InSegs"]'
  check "$name" 'k["TCPSynRetrans"] == 0 and k["EstabResets"] == 0'
  check "$name" 'k["nd_solicitations_out"] >= 1 and k["nd_advertisements_in"] >= 1'
  check "$name" 'p["tcbs"] == 0 and p["half_open"] == 0 and p["load_open"] == 0'
  check "$name" 'p["buffer_chunks"] == 0 and p["mbufs"] == 0'
  check "$name" 'p["ipv6_tuples"] == p["time_wait"]'
  echo "$name: kernel PassiveOpens $PASSIVE_BEFORE -> $PASSIVE_AFTER, completed $completed," \
    "kernel ESTABLISHED left $ESTABLISHED, kernel TIME-WAIT $KERNEL_TW," \
    "client addresses the kernel resolved $NEIGHBORS"
  [ $((PASSIVE_AFTER - PASSIVE_BEFORE)) = "$completed" ] ||
    fail "$name: the kernel's PassiveOpens grew by $((PASSIVE_AFTER - PASSIVE_BEFORE)), we completed $completed"
  [ "$ESTABLISHED" = 0 ] || fail "$name: $ESTABLISHED ESTABLISHED connections left in the kernel"
  [ "$NEIGHBORS" = 16 ] ||
    fail "$name: the kernel resolved $NEIGHBORS of the 16 client addresses"
}

CPS=${CPS:-2000}
DURATION=${DURATION:-4}
N=$((CPS * DURATION))

# 1. We close first: the TIME-WAIT records (and their IPv6 pairs) are ours.
run_load client_close client --cps="$CPS" --duration="$DURATION" --close=client \
  --max-time-wait=$((N + 1024))
check_run client_close "$CPS" "$DURATION"
check client_close 'r["states"]["TIME-WAIT"] == c["completed"] and p["time_wait"] == c["completed"]'
[ "$KERNEL_TW" = 0 ] || fail "client_close: the kernel holds $KERNEL_TW TIME-WAIT sockets"

# 2. The server closes: we keep no TIME-WAIT record and no IPv6 pair.
# Three seconds of drain, as tap_load_kernel_test: a SYN lost on a busy
# machine's tap is sent again after the 1 s initial RTO.
run_load server_close server --cps="$CPS" --duration=2 --drain=3
check_run server_close "$CPS" 2
check server_close 'p["time_wait"] == 0 and p["ipv6_tuples"] == 0'
[ "$KERNEL_TW" -gt 0 ] || fail "server_close: the kernel holds no TIME-WAIT sockets"

echo "PASS: over IPv6, $(json_file "$WORK/client_close.json" 'r["connections"]["completed"]') of $N connections (close=client)" \
  "and $(json_file "$WORK/server_close.json" 'r["connections"]["completed"]') (close=server) from 16 client addresses;" \
  "the kernel's PassiveOpens agree"
