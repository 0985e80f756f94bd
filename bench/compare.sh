#!/usr/bin/env bash
# synwave against the Linux kernel on this machine, in the same run.
#
# The same exchange on both: a connection, one HTTP GET, a response with a
# 64-byte body, and the close (--close=server: the server's FIN first;
# client: the client's), unpaced with 512 connections open at once.
#   synwave: `synwave loopback` (generator and server in one process over
#            net_ring; client on CPU 0, server on CPU 1, or both on CPU 0);
#   Linux:   bench/linux/linux_epoll_server and linux_epoll_client over the
#            loopback interface, pinned the same way, clients spread over
#            127.0.0.2-254 so TIME-WAIT does not run out of ports.
# Each pair runs ROUNDS times, alternating, and the table gives medians and
# the ratio synwave/Linux, plus synwave's server-side cycles per completed
# connection (busy TSC cycles of the server core / connections) and, last,
# cookie SYN-ACKs per second under a flood from the other core.
#
#   bench/compare.sh [BUILD_DIR]   (ROUNDS=3 DURATION=5 by default; root)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
SYNWAVE=$BUILD/apps/synwave/synwave
SERVER=$BUILD/bench/linux/linux_epoll_server
CLIENT=$BUILD/bench/linux/linux_epoll_client
PY=/usr/bin/python3
for f in "$SYNWAVE" "$SERVER" "$CLIENT"; do
  [ -x "$f" ] || { echo "compare: $f is not built (ninja -C $BUILD)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "compare: needs root (DPDK EAL)" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill $SERVER_PID 2>/dev/null; rm -rf "$WORK"' EXIT

jget() { "$PY" -c 'import json,sys
r=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): r=r[k]
print(r)' "$1" "$2"; }

# synwave_run NAME CLOSE LCORES [extra...] -> prints cps and server cycles
synwave_run() {
  local name=$1 close=$2 lcores=$3; shift 3
  "$SYNWAVE" loopback --lcores="$lcores" --duration="$DURATION" --close="$close" \
    --concurrency=512 --response-bytes=64 --drain=0.5 --json="$WORK/$name.json" \
    "$@" >"$WORK/$name.out" 2>&1 || { cat "$WORK/$name.out" >&2; return 1; }
  "$PY" - "$WORK/$name.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["server"]["counters"]
done = r["connections"]["completed"]
fails = r["connections"]["failed"]
cycles = s["busy_cycles"] / max(done, 1)
print(f'{r["cps"]["mean"]:.0f} {cycles:.0f} {fails} {s["SyncookiesSent"] / r["duration_s"]:.0f}')
PYEOF
}

# linux_run NAME CLOSE SERVER_CPU CLIENT_CPU -> prints cps
linux_run() {
  local name=$1 close=$2 scpu=$3 ccpu=$4
  local port=$((20000 + RANDOM % 20000))
  "$SERVER" --listen=127.0.0.1:$port --response-bytes=64 --close="$close" \
    --cpu="$scpu" >"$WORK/$name.server" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 50); do grep -q "listening" "$WORK/$name.server" && break; sleep 0.1; done
  "$CLIENT" --server=127.0.0.1:$port --concurrency=512 --duration="$DURATION" \
    --response-bytes=64 --close="$close" --cpu="$ccpu" --json="$WORK/$name.json" \
    >"$WORK/$name.out" 2>&1 || { cat "$WORK/$name.out" >&2; }
  kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null || true
  SERVER_PID=
  echo "$(jget "$WORK/$name.json" cps.mean) $(jget "$WORK/$name.json" connections.failed)"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {m=(NR+1)/2; if (NR%2) print a[m]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "synwave vs Linux, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%F), $ROUNDS rounds of ${DURATION}s"
printf '%-34s %12s %12s %8s %14s\n' "exchange (cores)" "synwave c/s" "Linux c/s" "ratio" "srv cycles/conn"
for cores in 2 1; do
  if [ "$cores" = 2 ]; then sw_lcores=0,1; scpu=1; ccpu=0; else sw_lcores=0; scpu=0; ccpu=0; fi
  for close in server client; do
    sw=() lx=() cy=()
    for r in $(seq "$ROUNDS"); do
      read -r cps cycles fails _ < <(synwave_run "sw_${cores}_${close}_$r" "$close" "$sw_lcores")
      [ "$fails" = 0 ] || echo "  (synwave round $r: $fails failed connections)" >&2
      sw+=("$cps"); cy+=("$cycles")
      read -r lcps lfails < <(linux_run "lx_${cores}_${close}_$r" "$close" "$scpu" "$ccpu")
      [ "$lfails" = 0 ] || echo "  (Linux round $r: $lfails failed connections)" >&2
      lx+=("$lcps")
    done
    msw=$(echo "${sw[*]}" | median); mlx=$(echo "${lx[*]}" | median); mcy=$(echo "${cy[*]}" | median)
    printf '%-34s %12.0f %12.0f %7.1fx %14.0f\n' "GET+64B, close=$close ($cores core$([ $cores = 2 ] && echo s))" \
      "$msw" "$mlx" "$(echo "$msw / $mlx" | bc -l)" "$mcy"
  done
done
# Cookie SYN-ACKs per second on the server core, the flood on the other.
fl=()
for r in $(seq "$ROUNDS"); do
  read -r _ _ _ cookies < <(synwave_run "flood_$r" server 0,1 --flood-pps=0 --cps=0 --concurrency=0)
  fl+=("$cookies")
done
printf '%-34s %12.0f\n' "cookie SYN-ACKs/s (flood, 1 core)" "$(echo "${fl[*]}" | median)"
