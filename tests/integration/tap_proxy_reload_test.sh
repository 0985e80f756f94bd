#!/usr/bin/env bash
# synwave proxy reloading its backends on SIGHUP (issue 15 item 6):
#   namespace C (client 198.18.34.1) -- tap swt_rc -- synwave VIP 198.18.34.2:80
#   synwave 198.18.35.1 -- tap swt_rb -- namespace B (backends 198.18.35.2
#                                         and .3 on :8080)
# The backends come from a --config file. What a user relies on:
#   1. a slow 1 MB download from backend .2 runs while the file is changed
#      to backend .3 only and SIGHUP is sent: the download completes
#      byte-exact (an established flow of a removed backend goes on);
#      synwave says "backends reloaded: 1"; every new connection goes to .3;
#   2. a bad file on SIGHUP keeps the list in use, with an error line, and
#      connections still go to .3;
#   3. the report counts the reload on every worker.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip arping timeout curl sha256sum ss "$PY"

NSC=swt_rlc$$
NSB=swt_rlb$$
IFC=swt_rc
IFB=swt_rb
CLIENT_IP=198.18.34.1
VIP=198.18.34.2
BSIDE_IP=198.18.35.1
HERE=$(dirname "$0")
LCORES=${LCORES:-1}

make_netns "$NSC"
make_netns "$NSB"

CONF="$WORK/proxy.toml"
printf 'backend = ["198.18.35.2:8080"]\n' >"$CONF"
"$SYNWAVE" proxy --config="$CONF" --port="net_tap_${IFC},iface=${IFC}" --ip="$VIP/24" \
  --listen=80 --backend-port="net_tap_${IFB},iface=${IFB}" --backend-ip="$BSIDE_IP/24" \
  --lcores="$LCORES" --probe-interval=0.2 --stats-interval=1 --duration=60 \
  --json="$WORK/report.json" >"$WORK/synwave.log" 2>&1 &
SYNWAVE_PID=$!
on_exit '[ -n "$SYNWAVE_PID" ] && kill -KILL "$SYNWAVE_PID" 2>/dev/null && wait "$SYNWAVE_PID" 2>/dev/null'
wait_for_line "$WORK/synwave.log" '^synwave proxy:' "$SYNWAVE_PID" "synwave proxy"

ip link set "$IFC" netns "$NSC"
ip -n "$NSC" link set "$IFC" address 02:00:5e:00:53:11
ip -n "$NSC" addr add "$CLIENT_IP/24" dev "$IFC"
ip -n "$NSC" link set "$IFC" up
ip link set "$IFB" netns "$NSB"
ip -n "$NSB" link set "$IFB" address 02:00:5e:00:53:12
ip -n "$NSB" addr add 198.18.35.2/24 dev "$IFB"
ip -n "$NSB" addr add 198.18.35.3/24 dev "$IFB"
ip -n "$NSB" link set "$IFB" up
ip -n "$NSB" route add default via "$BSIDE_IP"

head -c 1048576 /dev/urandom >"$WORK/big"
FAIL_LOGS=("$WORK/backend2.log" "$WORK/backend3.log")
declare -A BACKEND_PID
start_backend() {
  local n=$1
  ip netns exec "$NSB" "$PY" "$HERE/proxy_backend.py" --addr "198.18.35.$n" --port 8080 \
    --big "$WORK/big" --log "$WORK/access$n.log" >>"$WORK/backend$n.log" 2>&1 &
  BACKEND_PID[$n]=$!
  on_exit "kill -KILL ${BACKEND_PID[$n]} 2>/dev/null"
  for _ in $(seq 100); do
    ip netns exec "$NSB" ss -Htln "src 198.18.35.$n:8080" | grep -q 8080 && return 0
    sleep 0.1
  done
  fail "backend $n did not start"
}
requests() { if [ -f "$WORK/access$1.log" ]; then wc -l <"$WORK/access$1.log"; else echo 0; fi; }
# wait_log PATTERN: until synwave's output has a line matching PATTERN.
wait_log() {
  for _ in $(seq 100); do
    grep -q "$1" "$WORK/synwave.log" && return 0
    sleep 0.1
  done
  fail "synwave never said '$1'"
}
start_backend 2
start_backend 3
ip netns exec "$NSC" arping -q -c 1 -w 10 -I "$IFC" "$VIP" ||
  fail "synwave did not answer ARP for the VIP"
wait_log "backends up "

# 1. A slow download from .2 across the reload.
want=$(sha256sum <"$WORK/big" | cut -d' ' -f1)
ip netns exec "$NSC" curl -sS --max-time 40 --limit-rate 200k "http://$VIP/big" \
  -o "$WORK/download" 2>"$WORK/curl.err" &
curl_pid=$!
for _ in $(seq 50); do
  [ "$(requests 2)" -ge 1 ] && break
  sleep 0.1
done
[ "$(requests 2)" = 1 ] || fail "the download did not reach backend .2"
printf '# reloaded\nbackend = ["198.18.35.3:8080"]\n' >"$CONF"
kill -HUP "$SYNWAVE_PID"
wait_log "backends reloaded: 1 (198.18.35.3:8080); removed, keeping their flows: 198.18.35.2:8080"
kill -0 "$curl_pid" 2>/dev/null || fail "the download ended before the reload took effect"
r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" sequential 20 --server "$VIP")
[ "$(json_get "$r" 'j["completed"]')" = 20 ] || fail "after the reload: $r"
[ "$(requests 3)" = 20 ] || fail "backend .3 got $(requests 3) of 20 new connections"
[ "$(requests 2)" = 1 ] || fail "the removed backend got new connections"
wait "$curl_pid" || fail "the download across the reload failed: $(cat "$WORK/curl.err")"
got=$(sha256sum <"$WORK/download" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the download across the reload: sha256 $got, want $want"
echo "ok: SIGHUP moved new connections to .3 (20 of 20); the download from the removed .2 completed byte-exact"

# 2. A bad file keeps the list in use.
printf 'backend = ["198.18.99.3:8080"]\n' >"$CONF"
kill -HUP "$SYNWAVE_PID"
wait_log "reload failed, keeping the 1 backends in use: .*not another host on the subnet"
r=$(ip netns exec "$NSC" "$PY" "$HERE/proxy_clients.py" sequential 10 --server "$VIP")
[ "$(json_get "$r" 'j["completed"]')" = 10 ] || fail "after a bad reload: $r"
[ "$(requests 3)" = 30 ] || fail "after a bad reload backend .3 has $(requests 3) of 30"
echo "ok: a bad file on SIGHUP: $(grep 'reload failed' "$WORK/synwave.log")"

stop_endpoint
workers=$(awk -F, '{ print NF }' <<<"$LCORES")
[ "$(report 'r["counters"]["proxy_backend_reloads"]')" = "$workers" ] ||
  fail "proxy_backend_reloads $(report 'r["counters"]["proxy_backend_reloads"]'), want $workers"
echo "PASS"
