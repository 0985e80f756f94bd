#!/usr/bin/env bash
# Clients that never read cannot lock the others out (issue 11, finding 1),
# at a small scale: with --max-connections=512 (a pool of 1,024 buffer
# chunks), 270 Linux clients with a tiny receive buffer (their window soon
# shut) each pipeline 300 requests for 1,000-byte responses (about 330 KB
# owed per client, 89 MB in all) and never read. The responder stops
# reading them once their responses no longer fit (serve_reads_paused), so
# each holds at most its send and receive buffers, and resets those that
# pipelined once the buffer pool is down to its reserve
# (serve_reset_under_pressure); meanwhile 20 ordinary clients, one after
# another, each get their whole response. When the
# hostile clients go, nothing stays wedged: no connection, no buffer chunk.
source "$(dirname "$0")/lib.sh"
require_net_admin
require_tools ip arping "$PY"

HOSTILE=${HOSTILE:-270}
start_tap_endpoint swt_zwin 198.18.15.1/24 198.18.15.2/24 \
  --listen=8080 --response-bytes=1000 --close=server --max-connections=512 \
  --stats-interval=1

"$PY" - "$TARGET_IP" "$KERNEL_IP" "$HOSTILE" "$WORK/hostile.ready" \
  >"$WORK/hostile.log" 2>&1 <<'PYEOF' &
import socket, sys, time
server, source, n, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 300
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # the minimum
    s.bind((source, 0))
    s.settimeout(10)
    s.connect((server, 8080))
    s.setblocking(False)
    socks.append(s)
sent = 0
for s in socks:
    try:
        sent += s.send(request)  # what fits now; never read
    except BlockingIOError:
        pass
print("hostile clients connected:", len(socks), "request bytes sent:", sent)
open(ready, "w").write("ready\n")
time.sleep(600)
PYEOF
HOSTILE_PID=$!
on_exit "kill $HOSTILE_PID 2>/dev/null"
FAIL_LOGS+=("$WORK/hostile.log")
for _ in $(seq 300); do
  [ -f "$WORK/hostile.ready" ] && break
  kill -0 "$HOSTILE_PID" 2>/dev/null || fail "the hostile clients failed"
  sleep 0.1
done
[ -f "$WORK/hostile.ready" ] || fail "the hostile clients never got connected"
sleep 2  # the responses pile up and the windows shut

result=$(client sequential 20 --port 8080 --body 1000 --close server --timeout 5)
echo "ordinary clients meanwhile: $result"
if [ "$(json_get "$result" 'j["completed"]')" != 20 ]; then
  stop_endpoint
  fail "ordinary clients locked out: $result; $(report '{k: v for k, v in r["counters"].items() if v and (k.startswith("drop") or k.startswith("serve"))}') $(report 'r["pools"]')"
fi

kill "$HOSTILE_PID"
wait "$HOSTILE_PID" 2>/dev/null || true
sleep 1  # the kernel resets the hostile connections as their sockets close
stop_endpoint
echo "endpoint: $(report 'r["pools"]') paused=$(counter serve_reads_paused)" \
  "reset=$(counter serve_reset_under_pressure)" \
  "rcv_buffer_full=$(counter drop_tcp_rcv_buffer_full)"
[ "$(report 'r["pools"]["mbufs"]')" = 0 ] || fail "mbufs leaked: $(report 'r["pools"]')"
paused=$(counter serve_reads_paused)
[ "$paused" -gt 0 ] || fail "serve_reads_paused is 0"
[ "$(counter serve_reset_under_pressure)" -gt 0 ] || fail "no connection was reset under pressure"
[ "$(report 'r["pools"]["tcbs"]')" = 0 ] || fail "TCBs wedged: $(report 'r["pools"]')"
[ "$(report 'r["pools"]["buffer_chunks"]')" = 0 ] || fail "buffer chunks wedged: $(report 'r["pools"]')"
echo "PASS: $HOSTILE clients that never read ($paused reads paused), 20 ordinary clients served meanwhile"
