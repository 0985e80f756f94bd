#!/usr/bin/env bash
# synwave side by side with dperf (baidu/dperf) over the same net_memif link:
# the same exchange in every pairing (dperf's TCP mode: the client sends 64
# bytes, the server answers 64 bytes and closes; synwave's raw mode,
# --request-bytes=64 --response-bytes=64, does the same), the
# client process on CLIENT_CPU and the server on SERVER_CPU, ROUNDS rounds
# of DURATION seconds each, in four pairings:
#   dperf -> dperf, synwave load -> synwave serve,
#   synwave load -> dperf server, dperf client -> synwave serve.
# Prints, per pairing, the median over rounds of each round's median
# completed connections per second over DURATION seconds at full rate
# (dperf's client ramps its rate up over SLOW_START seconds first, which
# are left out; a synwave client's first WARMUP seconds likewise), the
# ratios to dperf -> dperf, and for a dperf client its own error counters
# over the same seconds (SYN/FIN/ACK/data retransmissions, dropped
# segments, tx drops, socket errors; a clean run has them near zero; a
# synwave client's failures, retransmissions and drops over its run), and
# the load average at the start and the end.
#
#   DPERF=/path/to/dperf bench/dperf_compare.sh [BUILD_DIR]
#     ROUNDS=3 DURATION=10 WARMUP=3 SLOW_START=10 CLIENTS=32 CPS=800k
#     CONCURRENCY=512 RING=11 (memif rings of 2^RING slots)
#     CLIENT_CPU=0 SERVER_CPU=1 PAIRS="dd ss sd ds" (client, server: d/s) KEEP=1
#
# dperf's client does not start at CPS: it ramps up linearly over its
# slow_start (default 30 s, at least 10), then runs `duration` more
# seconds. Runs shorter than the ramp never reach the target, and a server
# stopped during the ramp leaves the client retransmitting into nothing
# (that is what an earlier form of this script measured: 180-234 k conn/s
# with heavy SYN retransmissions). CPS is dperf's target, the same for
# both dperf-client pairings; 800k is the clean rate the issue reports for
# dperf -> dperf on this machine (at 1m it retransmitted heavily).
# synwave's client runs a closed loop of CONCURRENCY connections; with
# CONCURRENCY=0 it is paced like dperf's (open loop: --cps=CPS, no bound on
# open connections). On a machine whose cores are shared with other work a
# closed loop's rate falls with every time slice either end loses, which
# dperf's open loop rides out in the rings (with retransmissions). An open
# loop at 800k collapsed synwave's client on 2026-12-03 (load average 6-8:
# 10,953 of 8,000,000 attempted connections completed, the rest failed on
# a full TCB pool); since then the generator holds an offered load above
# capacity to the capacity (--max-pending, 512 by default, and a full TCB
# pool wait instead of failing; what opened late and what the schedule
# still owed at the end are counted: load_held_pending, load_held_pool,
# load_not_opened, in the report's "connections"). The closed loop stays
# the default; CONCURRENCY=0 is the paced comparison.
#
# dperf is not part of synwave; bring your own binary (v1.9.0 was used).
# To run it on net_memif without hugepages it needs a small local patch,
# kept out of this repository: its EAL arguments taken from the environment
# variable DPERF_EAL_ARGS (appended to, or replacing, the ones it builds),
# and a port name starting with net_ accepted where it wants a PCI address
# (and not passed to -a). This script sets DPERF_EAL_ARGS with the memif
# vdev. dperf allocates sockets for every client address and port up
# front, so CLIENTS (client addresses) times 65535 must exceed twice CPS.
# Needs root (the EAL) and about 3 GiB of memory per dperf process.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SYNWAVE=$BUILD/apps/synwave/synwave
DPERF=${DPERF:?set DPERF to the path of a dperf binary (see the comment at the top)}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
SLOW_START=${SLOW_START:-10}
CLIENTS=${CLIENTS:-32}
CPS=${CPS:-800k}
RING=${RING:-11}
CONCURRENCY=${CONCURRENCY:-512}
# CPS as a number for synwave (dperf takes 800k and 1m).
CPS_NUM=$(awk -v c="$CPS" 'BEGIN {m = 1; if (c ~ /[kK]$/) m = 1000; if (c ~ /[mM]$/) m = 1000000;
  sub(/[kKmM]$/, "", c); printf "%d", c * m}')
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
PAIRS=${PAIRS:-"dd ss sd ds"}
[ -x "$SYNWAVE" ] || { echo "dperf_compare: $SYNWAVE is not built" >&2; exit 1; }
[ -x "$DPERF" ] || { echo "dperf_compare: DPERF=$DPERF is not executable" >&2; exit 1; }

WORK=$(mktemp -d)
# KEEP=1 keeps the logs, configurations and reports (the folder is printed).
trap 'kill $(jobs -p) 2>/dev/null || true; if [ -n "${KEEP:-}" ]; then echo "dperf_compare: logs in $WORK" >&2; else rm -rf "$WORK"; fi' EXIT
SOCK=$WORK/memif.sock
SERVER_IP=198.18.30.1
CLIENT_IP=198.18.30.2
CLIENT_LAST=198.18.30.$((1 + CLIENTS))
SERVER_MAC=02:00:00:00:30:01
CLIENT_MAC=02:00:00:00:30:02
memif() {  # memif ROLE MAC
  echo "net_memif0,role=$1,socket=$SOCK,socket-abstract=no,id=0,mac=$2,rsize=$RING"
}
dperf_eal() {  # dperf_eal ROLE MAC PREFIX
  echo "--no-huge -m 3072 --no-pci --no-shconf --file-prefix=$3 --vdev=$(memif "$1" "$2")"
}

# dperf configurations (its own format: one key and its values a line).
dperf_conf() {  # dperf_conf client|server SECONDS
  cat <<EOF
mode        $1
cpu         $([ "$1" = client ] && echo "$CLIENT_CPU" || echo "$SERVER_CPU")
duration    ${2}s
$([ "$1" = client ] && printf 'cps         %s\nslow_start  %s\n' "$CPS" "$SLOW_START")
port        net_memif0    $([ "$1" = client ] && echo "$CLIENT_IP $SERVER_IP" || echo "$SERVER_IP $CLIENT_IP")
client      $CLIENT_IP    $CLIENTS
server      $SERVER_IP    1
listen      80            1
payload_size 64
EOF
}

# Per-second completed connections of a run at full rate, one number a
# line: dperf's client output, skClose per "seconds N" block, for the
# seconds after the ramp (1..SLOW_START) and before the launches stop.
dperf_seconds() {  # dperf_seconds LOG: "second skClose synRt finRt ackRt pushRt tcpDrop dropTx skErr"
  sed 's/\x1b\[[0-9;]*m//g' "$1" | tr -d , | awk '
    /^seconds/ {s = $2}
    /^pktRx/ {for (i = 1; i < NF; i++) if ($i == "dropTx") dt[s] = $(i + 1)}
    /^synRt/ {sr[s] = $2; fr[s] = $4; ar[s] = $6; pr[s] = $8}
    /^tcpDrop/ {td[s] = $2}
    /^skOpen/ {sc[s] = $4; se[s] = $8}
    END {for (k in sc) print k, sc[k], sr[k], fr[k], ar[k], pr[k], td[k], dt[k], se[k]}' |
    sort -n | awk -v a="$SLOW_START" -v d="$DURATION" '$1 > a + 1 && $1 <= a + 1 + d'
}
dperf_rates() { dperf_seconds "$1" | awk '{print $2}'; }
dperf_errors() {  # sums over the measured seconds
  dperf_seconds "$1" | awk '{for (i = 3; i <= 9; i++) e[i] += $i}
    END {printf "synRt %d finRt %d ackRt %d pushRt %d tcpDrop %d dropTx %d skErr %d\n",
         e[3], e[4], e[5], e[6], e[7], e[8], e[9]}'
}
synwave_rates() {  # the JSON report's timeline
  /usr/bin/python3 - "$1" "$WARMUP" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for e in r["timeline"]:
    if e.get("interval_s", 0) >= 0.5 and e["t"] > float(sys.argv[2]):
        print(int(e["completed"] / e["interval_s"]))
PY
}
synwave_errors() {  # the synwave client's whole run: failures, retransmissions, drops
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["counters"]
drops = sum(v for k, v in c.items() if k.startswith("drop_") or k.startswith("port_"))
print("failed %d synRt %d retrans %d drops %d" % (r["connections"]["failed"],
      c.get("TCPSynRetrans", 0), c.get("RetransSegs", 0), drops))
PY
}
median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print 0}'; }

run_server() {  # run_server d|s LOG: in the background, lasts the round
  local seconds=$((SLOW_START + DURATION + 15))
  if [ "$1" = d ]; then
    dperf_conf server "$seconds" >"$WORK/server.conf"
    DPERF_EAL_ARGS=$(dperf_eal server $SERVER_MAC dps) \
      timeout $((seconds + 5)) "$DPERF" -c "$WORK/server.conf" >"$2" 2>&1 &
  else
    timeout $((seconds + 5)) "$SYNWAVE" serve --port="$(memif server $SERVER_MAC)" \
      --ip=$SERVER_IP/24 --listen=80 --lcores="$SERVER_CPU" --stats-interval=0 \
      --request-bytes=64 --response-bytes=64 \
      --duration="$seconds" >"$2" 2>&1 &
  fi
  sleep 4  # EAL start-up and the memif listener
}

run_client() {  # run_client d|s LOG JSON: in the foreground
  if [ "$1" = d ]; then
    dperf_conf client $((DURATION + 2)) >"$WORK/client.conf"
    DPERF_EAL_ARGS=$(dperf_eal client $CLIENT_MAC dpc) \
      timeout $((SLOW_START + DURATION + 30)) "$DPERF" -c "$WORK/client.conf" >"$2" 2>&1 || true
  else
    timeout $((DURATION + 30)) "$SYNWAVE" load --port="$(memif client $CLIENT_MAC)" \
      --ip=$CLIENT_IP/24 --client-ips=$CLIENT_IP-$CLIENT_LAST --server=$SERVER_IP:80 \
      $([ "$CONCURRENCY" = 0 ] && echo "--cps=$CPS_NUM --concurrency=0" || echo "--concurrency=$CONCURRENCY") \
      --duration="$DURATION" --drain=1 --lcores="$CLIENT_CPU" \
      --request-bytes=64 --response-bytes=64 \
      --stats-interval=0 --json="$3" >"$2" 2>&1 || true
  fi
}

echo "dperf_compare: load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
declare -A RESULT
for pair in $PAIRS; do
  c=${pair:0:1} s=${pair:1:1}
  rounds=()
  for r in $(seq 1 "$ROUNDS"); do
    rm -f "$SOCK"
    run_server "$s" "$WORK/server.$pair.$r.log"
    run_client "$c" "$WORK/client.$pair.$r.log" "$WORK/client.$pair.$r.json"
    kill %1 2>/dev/null || true
    wait 2>/dev/null || true
    extra=
    if [ "$c" = d ]; then
      m=$(dperf_rates "$WORK/client.$pair.$r.log" | median)
      extra=" (dperf client: $(dperf_errors "$WORK/client.$pair.$r.log"))"
    elif [ -s "$WORK/client.$pair.$r.json" ]; then
      m=$(synwave_rates "$WORK/client.$pair.$r.json" | median)
      extra=" (synwave client: $(synwave_errors "$WORK/client.$pair.$r.json"))"
    else
      m=0
      echo "dperf_compare: $pair round $r wrote no report:" >&2
      tail -5 "$WORK/client.$pair.$r.log" >&2
    fi
    rounds+=("$m")
    echo "$pair round $r: $m conn/s$extra, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  done
  RESULT[$pair]=$(printf '%s\n' "${rounds[@]}" | median)
done

echo "dperf_compare: load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
name() { [ "$1" = d ] && echo dperf || echo synwave; }
base=${RESULT[dd]:-0}
printf '%-32s %14s %10s\n' "client -> server" "conn/s" "vs dperf"
for pair in $PAIRS; do
  ratio=-
  [ "$base" != 0 ] && ratio=$(awk -v a="${RESULT[$pair]}" -v b="$base" 'BEGIN {printf "%.2fx", a / b}')
  printf '%-32s %14s %10s\n' "$(name "${pair:0:1}") -> $(name "${pair:1:1}")" "${RESULT[$pair]}" "$ratio"
done
