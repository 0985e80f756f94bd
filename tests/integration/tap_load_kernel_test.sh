#!/usr/bin/env bash
# `synwave load` against a Linux kernel server (linux_epoll_server) through
# net_tap. The kernel side lives in a network namespace of its own, so its
# TCP counters count only this test's connections:
#   1. --close=client, paced at 2,000 connections/s for 10 s: all 20,000
#      complete, none fails, the kernel's PassiveOpens grows by exactly our
#      completed count, and afterwards we hold one TIME-WAIT record per
#      connection and nothing else (no TCB, half-open entry or mbuf).
#   2. the default close mode (the server closes): the same checks, with the
#      TIME-WAIT records on the kernel's side and none on ours.
# In both, the kernel has no ESTABLISHED connection left.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip ss arping "$PY"
EPOLL_SERVER=${LINUX_EPOLL_SERVER:?LINUX_EPOLL_SERVER must point to linux_epoll_server}

NS=swt_lk$$
IF=swt_lk
KERNEL_IP=198.18.14.1
SYNWAVE_IP=198.18.14.2
make_netns "$NS"
FAIL_LOGS=("$WORK/server.log")

# run_load NAME SERVER_CLOSE [synwave load flags...]: starts `synwave load`
# on a new tap interface, moves that interface into $NS once the port is up,
# gives the kernel end its address and a MAC of its own, starts the kernel
# server there, and waits for the load to end. The report is $WORK/NAME.json;
# the kernel's PassiveOpens before and after are in PASSIVE_BEFORE/AFTER.
# The schedule starts with the process, and nothing is sent until the
# server's MAC is known, so the connections due during this set-up (tens of
# milliseconds) start late: they make the top latency percentiles.
run_load() {
  local name=$1 server_close=$2
  shift 2
  PASSIVE_BEFORE=$(netns_tcp_mib "$NS" PassiveOpens)
  "$SYNWAVE" load --port="net_tap_${IF},iface=${IF}" --ip="$SYNWAVE_IP/24" \
    --server="$KERNEL_IP:8080" --json="$WORK/$name.json" --stats-interval=1 \
    "$@" >"$WORK/synwave.log" 2>&1 &
  SYNWAVE_PID=$!
  # The banner comes once the port has started: DPDK is done configuring the
  # interface, and it can leave this namespace.
  wait_for_line "$WORK/synwave.log" '^synwave load:' "$SYNWAVE_PID" "synwave load"
  ip link set "$IF" netns "$NS"
  ip -n "$NS" link set "$IF" address 02:00:5e:00:53:01
  ip -n "$NS" addr add "$KERNEL_IP/24" dev "$IF"
  ip -n "$NS" link set "$IF" up
  ip netns exec "$NS" "$EPOLL_SERVER" --listen="$KERNEL_IP:8080" \
    --response-bytes=100 --close="$server_close" >"$WORK/server.log" 2>&1 &
  local server_pid=$!
  wait_for_line "$WORK/server.log" '^listening on' "$server_pid" linux_epoll_server
  # Our ARP request, so that synwave learns the kernel's MAC now instead of
  # at its next ARP retry: nothing is sent until the server is resolved.
  ip netns exec "$NS" arping -q -c 1 -w 10 -I "$IF" "$SYNWAVE_IP" ||
    fail "synwave did not answer ARP in the namespace"
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
# c = r["connections"] and p = r["pools"]) must hold.
check() {
  local name=$1 expr=$2
  [ "$(json_file "$WORK/$name.json" \
        "(lambda c, p: bool($expr))(r['connections'], r['pools'])")" = True ] ||
    fail "$name: $expr; connections $(json_file "$WORK/$name.json" 'r["connections"]'), pools $(json_file "$WORK/$name.json" 'r["pools"]')"
}

# check_run NAME: the checks common to both runs.
check_run() {
  local name=$1
  local completed
  completed=$(json_file "$WORK/$name.json" 'r["connections"]["completed"]')
  check "$name" 'c["failed"] == 0 and c["open"] == 0'
  check "$name" 'c["completed"] == c["attempted"]'
  check "$name" 'r["counters"]["ActiveOpens"] == c["completed"]'
  check "$name" 'r["counters"]["TCPSynRetrans"] == 0 and r["counters"]["EstabResets"] == 0'
  check "$name" 'p["tcbs"] == 0 and p["half_open"] == 0 and p["load_open"] == 0'
  check "$name" 'p["buffer_chunks"] == 0 and p["mbufs"] == 0'
  echo "$name: kernel PassiveOpens $PASSIVE_BEFORE -> $PASSIVE_AFTER, completed $completed," \
    "kernel ESTABLISHED left $ESTABLISHED, kernel TIME-WAIT $KERNEL_TW"
  [ $((PASSIVE_AFTER - PASSIVE_BEFORE)) = "$completed" ] ||
    fail "$name: the kernel's PassiveOpens grew by $((PASSIVE_AFTER - PASSIVE_BEFORE)), we completed $completed"
  [ "$ESTABLISHED" = 0 ] || fail "$name: $ESTABLISHED ESTABLISHED connections left in the kernel"
}

# 1. We close first. The schedule opens connection k at k/cps seconds while
#    that is before --duration, so it asks for exactly CPS * DURATION; but a
#    worker that is descheduled over the last moments of the run (a shared
#    CPU) opens none of those still due once --duration has passed. So we
#    assert that every attempted connection completed and that at most the
#    last 50 ms of the schedule (CPS / 20) went unattempted. More TIME-WAIT
#    records than that fit, so none is recycled.
CPS=${CPS:-2000}
DURATION=${DURATION:-10}
N=$((CPS * DURATION))
run_load client_close client --cps="$CPS" --duration="$DURATION" --close=client \
  --max-time-wait=$((N + 1024))
check_run client_close
check client_close "$N - $CPS // 20 <= c['attempted'] <= $N"
check client_close 'r["states"]["TIME-WAIT"] == c["completed"] and p["time_wait"] == c["completed"]'
[ "$KERNEL_TW" = 0 ] || fail "client_close: the kernel holds $KERNEL_TW TIME-WAIT sockets"
client_cps=$(json_file "$WORK/client_close.json" 'round(r["cps"]["mean"])')
client_lat=$(json_file "$WORK/client_close.json" \
  '" ".join("%s=%s" % (k, r["latency_us"]["total"][k]) for k in ("p50", "p90", "p99", "p999", "max"))')

# 2. The default close mode: the server closes; we keep no TIME-WAIT record.
N2=$((CPS * 2))
# Three seconds of drain: a SYN lost on the tap (a busy machine) is sent
# again after the 1 s initial RTO, and its connection must still finish.
run_load server_close server --cps="$CPS" --duration=2 --drain=3
check_run server_close
check server_close "$N2 - $CPS // 20 <= c['attempted'] <= $N2"
check server_close 'p["time_wait"] == 0 and r["states"]["TIME-WAIT"] == 0'
[ "$KERNEL_TW" -gt 0 ] || fail "server_close: the kernel holds no TIME-WAIT sockets"

echo "PASS: $(json_file "$WORK/client_close.json" 'r["connections"]["completed"]') of $N connections (close=client) at $client_cps conn/s, total latency (us) $client_lat;" \
  "$N2 with the default close; the kernel's PassiveOpens agree"
