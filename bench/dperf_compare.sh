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
# completed connections per second (the first WARMUP seconds of a round
# left out: dperf ramps up), and the ratios to dperf -> dperf.
#
#   DPERF=/path/to/dperf bench/dperf_compare.sh [BUILD_DIR]
#     ROUNDS=3 DURATION=10 WARMUP=3 CLIENTS=32 CPS=1m CONCURRENCY=512
#     CLIENT_CPU=0 SERVER_CPU=1 PAIRS="dd ss sd ds" (client, server: d/s) KEEP=1
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
CLIENTS=${CLIENTS:-32}
CPS=${CPS:-1m}
CONCURRENCY=${CONCURRENCY:-512}
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
  echo "net_memif0,role=$1,socket=$SOCK,socket-abstract=no,id=0,mac=$2"
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
$([ "$1" = client ] && echo "cps         $CPS")
port        net_memif0    $([ "$1" = client ] && echo "$CLIENT_IP $SERVER_IP" || echo "$SERVER_IP $CLIENT_IP")
client      $CLIENT_IP    $CLIENTS
server      $SERVER_IP    1
listen      80            1
payload_size 64
EOF
}

# Per-second completed connections of a run, one number a line.
dperf_rates() {  # dperf's client output: skClose per "seconds N" block
  awk '/^seconds/ {s = $2} /^skOpen/ {gsub(",", "", $4); print s, $4}' "$1" |
    awk -v w="$WARMUP" '$1 >= w + 2 {print $2}'  # dperf starts at second 2
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
median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print 0}'; }

run_server() {  # run_server d|s LOG: in the background, lasts the round
  local seconds=$((DURATION + 15))
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
      timeout $((DURATION + 30)) "$DPERF" -c "$WORK/client.conf" >"$2" 2>&1 || true
  else
    timeout $((DURATION + 30)) "$SYNWAVE" load --port="$(memif client $CLIENT_MAC)" \
      --ip=$CLIENT_IP/24 --client-ips=$CLIENT_IP-$CLIENT_LAST --server=$SERVER_IP:80 \
      --concurrency="$CONCURRENCY" --duration="$DURATION" --drain=1 --lcores="$CLIENT_CPU" \
      --request-bytes=64 --response-bytes=64 \
      --stats-interval=0 --json="$3" >"$2" 2>&1 || true
  fi
}

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
    if [ "$c" = d ]; then
      m=$(dperf_rates "$WORK/client.$pair.$r.log" | median)
    elif [ -s "$WORK/client.$pair.$r.json" ]; then
      m=$(synwave_rates "$WORK/client.$pair.$r.json" | median)
    else
      m=0
      echo "dperf_compare: $pair round $r wrote no report:" >&2
      tail -5 "$WORK/client.$pair.$r.log" >&2
    fi
    rounds+=("$m")
    echo "$pair round $r: $m conn/s" >&2
  done
  RESULT[$pair]=$(printf '%s\n' "${rounds[@]}" | median)
done

name() { [ "$1" = d ] && echo dperf || echo synwave; }
base=${RESULT[dd]:-0}
printf '%-32s %14s %10s\n' "client -> server" "conn/s" "vs dperf"
for pair in $PAIRS; do
  ratio=-
  [ "$base" != 0 ] && ratio=$(awk -v a="${RESULT[$pair]}" -v b="$base" 'BEGIN {printf "%.2fx", a / b}')
  printf '%-32s %14s %10s\n' "$(name "${pair:0:1}") -> $(name "${pair:1:1}")" "${RESULT[$pair]}" "$ratio"
done
