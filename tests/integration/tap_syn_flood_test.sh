#!/usr/bin/env bash
# SYN-flood resistance, over IPv4 (FAMILY=4, the meson test
# tap_syn_flood_test) or IPv6 (FAMILY=6, tap_ipv6_syn_flood_test):
# `synwave serve` (SYN cookies on overflow, a SYN queue of 128) under a SYN
# flood from random sources while Linux clients make their connections
# (streams of 200 one after another, and some open at once) that must each
# get the full response.
#   IPv4: `hping3 --flood --rand-source`; 4 streams and 200 at once (1,000).
#   IPv6: syn_flood6.py (scapy-built frames from random sources in
#         fd00:17::/64, about 5,000 a second; hping3 floods only IPv4) at a
#         dual-stack endpoint; 2 streams and 100 at once (500).
# From the endpoint's report: the flood reached the cookie path
# (SyncookiesSent), the clients' handshakes completed (exactly their
# PassiveOpens, over IPv6 all of them Ipv6PassiveOpens), none through a
# cookie that failed validation, the listener dropped no SYN, and once the
# flood's half-open entries have expired (--syn-ack-retries=1: about 3 s)
# no TCB, half-open entry, buffer or mbuf is left (over IPv6, no address
# pair beyond the TIME-WAIT records). Over IPv6, where the flood is slower,
# also: more than 1,000 cookies sent, and some clients' handshakes
# completed through validated cookies (SyncookiesRecv > 0).
#
# Safety: the flood's sources are random (over IPv4 possibly public)
# addresses, and we answer each with a SYN-ACK. So the flood and the
# clients run in a network namespace of their own that holds only lo and
# the tap interface, has no default route and does not forward (checked
# before the flood: the test fails otherwise). The SYN-ACKs end there: the
# kernel drops them as not for it. The endpoint is stopped before the
# namespace is removed, so nothing is sent once the interface could have
# left it.
source "$(dirname "$0")/lib.sh"
family_from_env
require_net_admin
require_tools ip timeout "$PY" $(by_family "arping hping3" sysctl)
if [ "$FAMILY" = 6 ]; then
  "$PY" -c 'import scapy.layers.inet6' 2>/dev/null || skip_or_fail "needs python3-scapy"
fi

NS=swt_$(by_family sf f6)$$
IF=swt_$(by_family sf f6)
KERNEL_IP=$(by_family 198.18.16.1 fd00:17::1)
TARGET_IP=$(by_family 198.18.16.2 fd00:17::2)
FLOOD_S=${FLOOD_S:-60}        # the flood's limit, seconds: it is stopped
                              # as soon as the clients are done
FLOOD_PPS=${FLOOD_PPS:-5000}  # IPv6: syn_flood6.py's rate
AFTER_S=${AFTER_S:-5}         # endpoint kept running after it, seconds
STREAMS=${STREAMS:-$(by_family 4 2)}          # sequential client processes
PER_STREAM=${PER_STREAM:-200}                 # connections in each, one after another
AT_ONCE=${AT_ONCE:-$(by_family 200 100)}      # connections of the concurrent client
N=$((STREAMS * PER_STREAM + AT_ONCE))
CLIENT=$(dirname "$0")/tcp_client.py

make_netns "$NS"

# --duration only caps a run whose stop never comes: the test stops the
# endpoint with SIGTERM AFTER_S seconds after the flood. (Either can take
# several seconds to act after a flood through net_tap: see the figures.)
if [ "$FAMILY" = 4 ]; then
  IP_FLAGS=(--ip="$TARGET_IP/24")
else
  IP_FLAGS=(--ip=198.18.17.2/24 --ip="$TARGET_IP/64")
fi
"$SYNWAVE" serve --port="net_tap_${IF},iface=${IF}" "${IP_FLAGS[@]}" \
  --listen=80 --response-bytes=1000 --close=server \
  --syncookies=overflow --syn-backlog=128 --max-half-open=256 \
  --syn-ack-retries=1 --duration=$((FLOOD_S + AFTER_S + 30)) \
  --json="$WORK/report.json" >"$WORK/synwave.log" 2>&1 &
SYNWAVE_PID=$!
# Registered after make_netns, so it runs first at exit: the endpoint stops
# sending before the namespace (and the interface in it) goes away.
on_exit '[ -n "$SYNWAVE_PID" ] && kill -KILL "$SYNWAVE_PID" 2>/dev/null && wait "$SYNWAVE_PID" 2>/dev/null'

# The banner comes once the port has started: the interface can leave.
wait_for_line "$WORK/synwave.log" '^synwave serve:' "$SYNWAVE_PID" "synwave serve"
MAC=$(sed -n 's/^synwave serve: port .* mac \([0-9a-f:]*\) .*/\1/p' "$WORK/synwave.log")
[ -n "$MAC" ] || fail "no MAC in the banner"
ip link set "$IF" netns "$NS"
ip -n "$NS" link set "$IF" address 02:00:5e:00:53:01
if [ "$FAMILY" = 4 ]; then
  ip -n "$NS" addr add "$KERNEL_IP/24" dev "$IF"
else
  kernel_tap_ipv6 "$IF" "$NS"
  ip -n "$NS" -6 addr add "$KERNEL_IP/64" dev "$IF" nodad
fi
ip -n "$NS" link set "$IF" up

# The namespace must keep the SYN-ACKs to random addresses to itself.
require_contained "$NS" "$IF"
if ip link show "$IF" >/dev/null 2>&1; then fail "$IF is still in the root namespace"; fi

if [ "$FAMILY" = 4 ]; then
  netns_arping "$NS" "$IF" "$TARGET_IP"
else
  for _ in $(seq 50); do
    ip netns exec "$NS" ping -6 -c 1 -W 1 "$TARGET_IP" >/dev/null 2>&1 && break
    sleep 0.1
  done
  ip netns exec "$NS" ping -6 -c 1 -W 1 "$TARGET_IP" >/dev/null ||
    fail "synwave does not answer ping -6 in the namespace"
fi

# The flood, stopped with SIGINT (on which hping3 prints its statistics).
FAIL_LOGS=("$WORK/flood.log")
if [ "$FAMILY" = 4 ]; then
  ip netns exec "$NS" timeout -s INT -k 2 "$FLOOD_S" \
    hping3 --flood --rand-source -S -p 80 -I "$IF" "$TARGET_IP" >"$WORK/flood.log" 2>&1 &
  flood_pid=$!
else
  ip netns exec "$NS" timeout -s INT -k 2 "$FLOOD_S" "$PY" "$(dirname "$0")/syn_flood6.py" \
    --iface "$IF" --dst-mac "$MAC" --target "$TARGET_IP" --port 80 \
    --prefix fd00:17::/64 --pps "$FLOOD_PPS" --duration "$FLOOD_S" \
    >"$WORK/flood.json" 2>"$WORK/flood.log" &
  flood_pid=$!
  wait_flooding "$flood_pid" "$WORK/flood.log"
fi
flood_start=$(date +%s.%N)
# A second for the SYN queue to fill, so that the clients meet the cookies.
sleep 1
kill -0 "$flood_pid" 2>/dev/null || fail "the flood exited at start-up"

# The clients, all at the same time: job 0 opens AT_ONCE connections
# together, jobs 1..STREAMS make theirs one after another.
ACTIVE_BEFORE=$(netns_tcp_mib "$NS" ActiveOpens)
RETRANS_BEFORE=$(netns_tcp_mib "$NS" RetransSegs)
clients_start=$(date +%s.%N)
client_pids=()
for i in $(seq 0 "$STREAMS"); do
  if [ "$i" = 0 ]; then mode=(concurrent "$AT_ONCE"); else mode=(sequential "$PER_STREAM"); fi
  FAIL_LOGS+=("$WORK/client$i.log")
  ip netns exec "$NS" "$PY" "$CLIENT" "${mode[@]}" --port 80 --body 1000 --close server \
    --server "$TARGET_IP" --source "$KERNEL_IP" >"$WORK/client$i.json" 2>"$WORK/client$i.log" &
  client_pids+=($!)
done
for i in $(seq 0 "$STREAMS"); do
  wait "${client_pids[$i]}" || fail "client $i exited with an error"
done
clients_s=$(awk -v a="$clients_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
flood_on=yes
kill -0 "$flood_pid" 2>/dev/null || flood_on=no
ACTIVE_AFTER=$(netns_tcp_mib "$NS" ActiveOpens)
RETRANS_AFTER=$(netns_tcp_mib "$NS" RetransSegs)

for i in $(seq 0 "$STREAMS"); do
  r=$(cat "$WORK/client$i.json")
  echo "client $i: $r"
  want=$PER_STREAM
  [ "$i" = 0 ] && want=$AT_ONCE
  [ "$(json_get "$r" 'j["completed"]')" = "$want" ] ||
    fail "client $i: not every connection got its full response: $r"
done
[ "$(json_get "$(cat "$WORK/client0.json")" 'j["open_at_once"]')" = "$AT_ONCE" ] ||
  fail "client 0 did not hold $AT_ONCE connections open at once"
[ "$flood_on" = yes ] ||
  fail "the flood ended before the clients did ($clients_s s): not every connection met it"

# The flood met every connection: stop it now, rather than after a fixed
# time that a slow, shared machine can outlast.
kill -INT "$flood_pid" 2>/dev/null || true  # timeout passes it on
wait "$flood_pid" || true  # timeout's status when it had to stop the flood
flood_s=$(awk -v a="$flood_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
if [ "$FAMILY" = 4 ]; then
  sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$WORK/flood.log")
else
  sent=$(json_get "$(cat "$WORK/flood.json")" 'j["sent"]' 2>/dev/null || true)
fi
[ -n "$sent" ] || sent='?'

# The flood's half-open entries expire (one SYN-ACK retransmission, about
# 3 s); then the endpoint stops and reports.
sleep "$AFTER_S"
stop_start=$(date +%s.%N)
stop_endpoint
stop_s=$(awk -v a="$stop_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

# check EXPR: a Python expression over the report (c its counters, p its
# pools) must hold.
check() {
  check_report "$1" '"counters %s, pools %s" % ({k: v for k, v in r["counters"].items() if v}, r["pools"])'
}
check 'c["SyncookiesSent"] > 0 and c["SyncookiesFailed"] == 0'
check "c['PassiveOpens'] == $N and c['SyncookiesRecv'] <= c['PassiveOpens']"
check 'c["ListenDrops"] == 0 and c["drop_tcp_syn_queue_full"] == 0 and c["drop_tcp_tables_full"] == 0'
check 'c["EstabResets"] == 0'
check 'c["SynRecvTimeouts"] > 0'
# The report has no high-water mark of the half-open pool, only its final
# use. With one listener on one worker its use is bounded by --syn-backlog,
# below --max-half-open, and past that bound the SYNs got cookies (above).
check 'p["tcbs"] == 0 and p["half_open"] == 0 and p["mbufs"] == 0 and p["buffer_chunks"] == 0'
if [ "$FAMILY" = 6 ]; then
  check 'c["SyncookiesSent"] > 1000 and c["SyncookiesRecv"] > 0'
  check "c['Ipv6PassiveOpens'] == $N"
  check 'p["ipv6_tuples"] == p["time_wait"]'
fi

# The figures. The flood rate as the endpoint saw it: its TCP segments over
# the flood's length (the clients add about 5 per connection). Not from
# --stats-interval lines: while frames arrive this fast, net_tap's per-frame
# signal keeps interrupting the main thread's sleep, and the lines (like the
# end of --duration, and the stop on SIGTERM) come late.
segs=$(report 'r["counters"]["tcp_segments_in"]')
echo "flood: $sent SYNs in $flood_s s; the endpoint took" \
  "$(awk -v n="$segs" -v s="$flood_s" 'BEGIN { printf "%.0f", n / s }') TCP segments/s;" \
  "SyncookiesSent=$(report 'r["counters"]["SyncookiesSent"]')" \
  "SynRecvTimeouts=$(report 'r["counters"]["SynRecvTimeouts"]')" \
  "drop_ipv4_bad_source=$(report 'r["counters"]["drop_ipv4_bad_source"]');" \
  "the endpoint took $stop_s s to stop on SIGTERM"
latency=$(for i in $(seq "$STREAMS"); do cat "$WORK/client$i.json"; echo; done |
  "$PY" -c 'import json,sys; e=[json.loads(l)["elapsed_s"] for l in sys.stdin if l.strip()]
n='"$PER_STREAM"'; print("mean %.1f ms, slowest stream %.1f ms" % (1000*sum(e)/len(e)/n, 1000*max(e)/n))')
echo "clients: $N connections in $clients_s s under the flood" \
  "($(awk -v n="$N" -v s="$clients_s" 'BEGIN { printf "%.0f", n / s }') conn/s);" \
  "sequential connection time $latency; $AT_ONCE at once in" \
  "$(json_get "$(cat "$WORK/client0.json")" 'j["elapsed_s"]') s;" \
  "SyncookiesRecv=$(report 'r["counters"]["SyncookiesRecv"]') PassiveOpens=$(report 'r["counters"]["PassiveOpens"]');" \
  "kernel ActiveOpens +$((ACTIVE_AFTER - ACTIVE_BEFORE)) RetransSegs +$((RETRANS_AFTER - RETRANS_BEFORE))"
echo "PASS: $N IPv$FAMILY connections under a $flood_s s SYN flood, none failed; no half-open entry, TCB, buffer or mbuf left"
