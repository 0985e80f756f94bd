#!/usr/bin/env bash
# Smoke test of the Linux baseline tools: linux_epoll_client against
# linux_epoll_server over loopback, ~2 s in each close mode (and a short raw
# mode run). Fails unless every run completed connections and none failed.
#
# usage: smoke_test.sh SERVER_EXE CLIENT_EXE
set -euo pipefail

server_exe=$1
client_exe=$2
work=$(mktemp -d)
server_pid=""

cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts the server on a kernel-chosen free port; sets server_pid and port.
start_server() {
  "$server_exe" --listen=127.0.0.1:0 "$@" >"$work/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")
    [[ -n "$port" ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "FAIL: server did not start:" >&2
  cat "$work/server.out" >&2
  exit 1
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  echo "  server: $(tail -n 1 "$work/server.out")"
}

# Runs the client and checks its JSON: completed > 0 and failed == 0.
run_client() {
  local name=$1
  shift
  echo "$name:"
  "$client_exe" --server="127.0.0.1:$port" --concurrency=16 \
    --json="$work/$name.json" "$@" | sed 's/^/  client: /'
  /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["connections"]
if r["completed"] <= 0 or r["failed"] != 0:
    sys.exit("FAIL: %s: completed=%d failed=%d" % (sys.argv[2], r["completed"], r["failed"]))
' "$work/$name.json" "$name"
}

# The server waits for the client's FIN (or RST).
start_server --close=client
run_client close_client --close=client --duration=2
run_client close_rst --close=rst --duration=2
stop_server

# The server closes after its response; the client waits for that FIN.
start_server --close=server
run_client close_server --close=server --duration=2
stop_server

# Raw mode: 100-byte requests, 1000-byte responses, no HTTP.
start_server --close=server --request-bytes=100 --response-bytes=1000
run_client raw --close=server --duration=1 --request-bytes=100 \
  --response-bytes=1000
stop_server

echo "PASS"
