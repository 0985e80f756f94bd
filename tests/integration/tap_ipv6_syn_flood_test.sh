#!/usr/bin/env bash
# SYN-flood resistance over IPv6: `synwave serve` (dual stack, SYN cookies
# on overflow, a SYN queue of 128) under a SYN flood from random IPv6
# sources (syn_flood6.py: scapy-built frames, about 5,000 a second; hping3
# floods only IPv4) while Linux clients make 500 IPv6 connections (2
# streams of 200 one after another, and 100 open at once) that must each
# get the full response. From the endpoint's report: the flood filled the
# SYN queue and was answered with cookies (SyncookiesSent), the clients'
# handshakes completed through validated cookies (SyncookiesRecv > 0,
# SyncookiesFailed = 0), exactly the clients' 500 passive opens, all over
# IPv6, and once the flood's half-open entries have expired
# (--syn-ack-retries=1: about 3 s) no TCB, half-open entry, buffer or mbuf
# is left, and no IPv6 address pair beyond the TIME-WAIT records.
#
# Safety, as tap_syn_flood_test: the flood and the clients run in a network
# namespace that holds only lo and the tap interface, has no default route
# and does not forward, so the SYN-ACKs to the random sources (all in
# fd00:17::/64, on the tap's link) end there.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip sysctl timeout "$PY"
"$PY" -c 'import scapy.layers.inet6' 2>/dev/null || skip_or_fail "needs python3-scapy"

NS=swt_f6$$
IF=swt_f6
KERNEL6=fd00:17::1
TARGET6=fd00:17::2
FLOOD_S=${FLOOD_S:-60}        # the flood's limit: it stops once the clients are done
FLOOD_PPS=${FLOOD_PPS:-5000}
AFTER_S=${AFTER_S:-5}         # endpoint kept running after it, seconds
STREAMS=${STREAMS:-2}
PER_STREAM=${PER_STREAM:-200}
AT_ONCE=${AT_ONCE:-100}
N=$((STREAMS * PER_STREAM + AT_ONCE))
CLIENT=$(dirname "$0")/tcp_client.py
FLOOD=$(dirname "$0")/syn_flood6.py

make_netns "$NS"

"$SYNWAVE" serve --port="net_tap_${IF},iface=${IF}" --ip=198.18.17.2/24 \
  --ip="$TARGET6/64" --listen=80 --response-bytes=1000 --close=server \
  --syncookies=overflow --syn-backlog=128 --max-half-open=256 \
  --syn-ack-retries=1 --duration=$((FLOOD_S + AFTER_S + 30)) \
  --json="$WORK/report.json" >"$WORK/synwave.log" 2>&1 &
SYNWAVE_PID=$!
on_exit '[ -n "$SYNWAVE_PID" ] && kill -KILL "$SYNWAVE_PID" 2>/dev/null && wait "$SYNWAVE_PID" 2>/dev/null'

wait_for_line "$WORK/synwave.log" '^synwave serve:' "$SYNWAVE_PID" "synwave serve"
MAC=$(sed -n 's/^synwave serve: port .* mac \([0-9a-f:]*\) .*/\1/p' "$WORK/synwave.log")
[ -n "$MAC" ] || fail "no MAC in the banner"
ip link set "$IF" netns "$NS"
ip -n "$NS" link set "$IF" address 02:00:5e:00:53:01
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$IF.accept_dad=0"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$IF.addr_gen_mode=3"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$IF.disable_ipv6=1"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$IF.disable_ipv6=0"
ip -n "$NS" -6 addr add "$KERNEL6/64" dev "$IF" nodad
ip -n "$NS" link set "$IF" up

# The namespace must keep the SYN-ACKs to random addresses to itself.
forward=$(ip netns exec "$NS" sysctl -n net.ipv6.conf.all.forwarding)
[ "$forward" = 0 ] || fail "IPv6 forwarding is $forward in $NS; refusing to flood"
links=$(ip -n "$NS" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ')
[ "$links" = "lo $IF " ] || fail "$NS holds other interfaces than lo and $IF: $links"
[ -z "$(ip -n "$NS" -6 route show default)" ] || fail "$NS has a default IPv6 route"
if ip link show "$IF" >/dev/null 2>&1; then fail "$IF is still in the root namespace"; fi

for _ in $(seq 50); do
  ip netns exec "$NS" ping -6 -c 1 -W 1 "$TARGET6" >/dev/null 2>&1 && break
  sleep 0.1
done
ip netns exec "$NS" ping -6 -c 1 -W 1 "$TARGET6" >/dev/null ||
  fail "synwave does not answer ping -6 in the namespace"

FAIL_LOGS=("$WORK/flood.log")
ip netns exec "$NS" timeout -s INT -k 2 "$FLOOD_S" "$PY" "$FLOOD" \
  --iface "$IF" --dst-mac "$MAC" --target "$TARGET6" --port 80 \
  --prefix fd00:17::/64 --pps "$FLOOD_PPS" --duration "$FLOOD_S" \
  >"$WORK/flood.json" 2>"$WORK/flood.log" &
flood_pid=$!
# Building the frames takes scapy a few seconds (it says when it floods);
# then a second for the SYN queue to fill, so that the clients meet the
# cookies.
for _ in $(seq 300); do
  grep -q '^flooding' "$WORK/flood.log" 2>/dev/null && break
  kill -0 "$flood_pid" 2>/dev/null || fail "the flood exited at start-up"
  sleep 0.1
done
grep -q '^flooding' "$WORK/flood.log" || fail "the flood did not start in 30 s"
sleep 1

clients_start=$(date +%s.%N)
client_pids=()
for i in $(seq 0 "$STREAMS"); do
  if [ "$i" = 0 ]; then mode=(concurrent "$AT_ONCE"); else mode=(sequential "$PER_STREAM"); fi
  FAIL_LOGS+=("$WORK/client$i.log")
  ip netns exec "$NS" "$PY" "$CLIENT" "${mode[@]}" --port 80 --body 1000 --close server \
    --server "$TARGET6" --source "$KERNEL6" >"$WORK/client$i.json" 2>"$WORK/client$i.log" &
  client_pids+=($!)
done
for i in $(seq 0 "$STREAMS"); do
  wait "${client_pids[$i]}" || fail "client $i exited with an error"
done
clients_s=$(awk -v a="$clients_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
flood_on=yes
kill -0 "$flood_pid" 2>/dev/null || flood_on=no

for i in $(seq 0 "$STREAMS"); do
  r=$(cat "$WORK/client$i.json")
  echo "client $i: $r"
  want=$PER_STREAM
  [ "$i" = 0 ] && want=$AT_ONCE
  [ "$(json_get "$r" 'j["completed"]')" = "$want" ] ||
    fail "client $i: not every connection got its full response: $r"
done
[ "$flood_on" = yes ] ||
  fail "the flood ended before the clients did ($clients_s s): not every connection met it"
kill -INT "$flood_pid" 2>/dev/null || true
wait "$flood_pid" || true
sent=$(json_get "$(cat "$WORK/flood.json")" 'j["sent"]' 2>/dev/null || echo '?')

sleep "$AFTER_S"
stop_endpoint

check() {
  [ "$(report "(lambda c, p: bool($1))(r['counters'], r['pools'])")" = True ] ||
    fail "$1; counters $(report '{k: v for k, v in r["counters"].items() if v}'), pools $(report 'r["pools"]')"
}
check 'c["SyncookiesSent"] > 1000 and c["SyncookiesRecv"] > 0 and c["SyncookiesFailed"] == 0'
check "c['PassiveOpens'] == $N and c['Ipv6PassiveOpens'] == $N and c['SyncookiesRecv'] <= $N"
check 'c["ListenDrops"] == 0 and c["drop_tcp_syn_queue_full"] == 0 and c["drop_tcp_tables_full"] == 0'
check 'c["EstabResets"] == 0 and c["SynRecvTimeouts"] > 0'
check 'p["tcbs"] == 0 and p["half_open"] == 0 and p["mbufs"] == 0 and p["buffer_chunks"] == 0'
check 'p["ipv6_tuples"] == p["time_wait"]'
echo "PASS: $N IPv6 connections under an IPv6 SYN flood ($sent SYNs from random sources)," \
  "none failed: SyncookiesSent=$(report 'r["counters"]["SyncookiesSent"]')" \
  "SyncookiesRecv=$(report 'r["counters"]["SyncookiesRecv"]')" \
  "SynRecvTimeouts=$(report 'r["counters"]["SynRecvTimeouts"]');" \
  "clients took $clients_s s; no TCB, half-open entry, buffer or mbuf left"
