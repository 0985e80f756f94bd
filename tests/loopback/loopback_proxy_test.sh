#!/bin/bash
# synwave loopback --proxy: generator -> synwave proxy -> server in one
# process over two net_ring pairs. What a user relies on:
#   - every connection through the proxy completes (zero failures), in the
#     server-close and client-close modes and with keep-alive requests;
#   - the server sees only joined connections (its PassiveOpens equal the
#     proxy's joined flows), never a SYN queue: under a SYN flood at the VIP
#     the server sends no cookie and holds no half-open entry;
#   - afterwards the proxy's flow records (after their linger) and every
#     mbuf are back: pools at zero; no backend frame was unknown;
#   - a full flow table resets the clients it cannot take (counted).
# LOOPBACK_FAMILY=ipv6 (the meson test loopback_proxy_ipv6_test) runs every
# case through an IPv6 proxy (`synwave loopback --proxy --ipv6`: every end
# IPv6 only) with the same assertions, each connection counted as IPv6 on
# both sides and no IPv4 frame anywhere.
# Needs root for the EAL; exits 77 without it, except under CI.
case "${LOOPBACK_FAMILY:-ipv4}" in
  ipv4) LOOPBACK_ARGS=(--proxy --proxy-linger=0.2); V6=0 ;;
  ipv6) LOOPBACK_ARGS=(--proxy --ipv6 --proxy-linger=0.2); V6=1 ;;
  *) echo "FAIL: LOOPBACK_FAMILY must be ipv4 or ipv6" >&2; exit 1 ;;
esac
SUMMARY='load summary|connections|pools|proxy:'
# shellcheck source=harness.sh
source "$(dirname "$0")/harness.sh"

check_clean() {
  local name=$1
  check "$name" 'c["completed"] > 0 and c["failed"] == 0 and c["attempted"] == c["completed"]'
  check "$name" 'p["proxy_established"] == c["completed"] and s["PassiveOpens"] == c["completed"]'
  check "$name" 'p["proxy_unknown_backend_frames"] == 0 and p["proxy_backend_refused"] == 0 and p["proxy_backend_syn_timeouts"] == 0'
  check "$name" 'r["proxy"]["pools"]["proxy_flows"] == 0 and r["proxy"]["pools"]["mbufs"] == 0 and r["pools"]["mbufs"] == 0 and r["server"]["pools"]["mbufs"] == 0'
  check "$name" 'r["pools"]["tcbs"] == 0 and r["server"]["pools"]["tcbs"] == 0 and r["server"]["pools"]["half_open"] == 0'
  check "$name" 'p["proxy_backend0_probes_ok"] >= 1 and p["proxy_backend0_up"] == 1'
  check "$name" "r['counters']['load_ipv6_completed'] == $V6 * c['completed'] and s['Ipv6PassiveOpens'] == $V6 * s['PassiveOpens']"
  check "$name" "r['counters']['drop_ipv4_disabled'] == 0 and s['drop_ipv4_disabled'] == 0 and r['counters']['drop_ipv6_disabled'] == 0"
}

# 1. The server closes first.
run default --duration=3
check_clean default

# 2. The client closes first, keep-alive with 3 requests of 1000-byte
#    responses each (1 s: how each connection ends is checked, not a rate).
run keepalive --duration=1 --close=client --keepalive-requests=3 --response-bytes=1000
check_clean keepalive
check keepalive 'r["counters"]["load_responses"] == 3 * c["completed"]'

# 3. A SYN flood at the VIP while 2000 connections/s are made: every
#    legitimate connection completes, the server never sees a spoofed SYN
#    (no cookie sent, no half-open entry), the proxy answers the flood
#    with cookies and keeps no state for it.
run flood --duration=4 --cps=2000 --concurrency=0 --flood-pps=100000 --close=client \
  --drain=6
check_clean flood
check flood 'r["flood"]["syns_sent"] >= 300000 and p["proxy_cookie_synacks_out"] >= r["flood"]["syns_sent"] * 0.9'
check flood 's["SyncookiesSent"] == 0 and r["server"]["pool_peaks"]["half_open"] <= 64'

# 4. A flow table far too small for the rate: a completing ACK that finds
#    no record gets a RST (counted), so every connection ends, completed or
#    reset, and none is left hanging in a flow that does not exist.
run tablefull --duration=1 --max-flows=1024
check tablefull 'p["proxy_drop_table_full"] > 0 and c["completed"] > 0 and c["failed"] == c["failed_by_reason"]["reset"]'
check tablefull 'c["attempted"] == c["completed"] + c["failed"] and r["pools"]["tcbs"] == 0'
check tablefull 'r["proxy"]["pools"]["mbufs"] == 0 and r["pools"]["mbufs"] == 0 and r["server"]["pools"]["mbufs"] == 0'

echo "PASS"
