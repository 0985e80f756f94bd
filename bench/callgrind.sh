#!/usr/bin/env bash
# Instructions per segment for each TcpStack path, counted by callgrind.
#
# Runs bench/segment_cost once per path and burst under
#   valgrind --tool=callgrind --collect-atstart=no
#            --toggle-collect='synwave::bench::Measure*'
# so that only the measured rounds count (each path's rounds run inside its
# own non-inlined Measure<Path>() function; setup, recycling between rounds
# and the warm-up round are outside it). Prints a table: path, burst,
# segments, Ir (instructions executed), Ir/segment. Then, for the path with
# the most instructions per segment at the first burst listed (32: a loaded
# core), its top functions by inclusive Ir (callgrind_annotate), and the
# same for each path named in PROFILE. Counts are deterministic for a given
# build (Ir is instructions, not time: cache misses do not show here; the
# microbenchmarks in bench/tcp/segment_benchmark give cycles).
#
# Last, the same count for the whole worker path of a cookie SYN-ACK
# (bench/engine/worker_cost under callgrind: a fixed number of
# Worker::PollOnce bursts over the same prebuilt SYNs, collecting inside
# synwave::bench::MeasureWorkerPolls only: rx from the net_ring port, parse
# with software checksums, stack, SYN-ACK written in place, tx, timers,
# counters), divided by the SYN-ACKs those polls sent. Exact and repeatable
# like the other rows, so it is in the Ir budget (row worker-syn-cookie).
#
# Then synwave proxy's paths (ProxyCore::Process, burst 32): a forwarded
# data segment client -> backend and backend -> client, and a SYN answered
# with a cookie (bench/app/proxy_cost).
# Then the IPv6 paths (segment_cost --ipv6: the same paths over IPv6
# tuples) at the first burst, each with its ratio to the IPv4 row, and two
# whole connections as the sum of their segments' Ir/segment, IPv4 and IPv6:
# a passive open through the SYN queue (syn-queue, syn-queue-ack, data,
# pure-ack, established-fin, last-ack-ack) and the same with a SYN cookie
# (syn-cookie, cookie-ack instead of the first two).
# Then the parser alone: bench/parse_cost per frame kind (IPv4 and IPv6 SYN,
# ACK, data; software checksums or the NIC's good flags), collecting inside
# synwave::bench::ParseMeasure* only, Ir per frame.
#
#   bench/callgrind.sh [BUILD_DIR]
#     BURSTS="32 1"   bursts to count
#     PATHS=all       or a list of names (segment_cost --list)
#     ROUNDS=2        measured rounds of 4096 segments (4000 for TIME-WAIT)
#     TOP=25          functions shown per profile
#     PROFILE=        more paths to show the top functions of
#     WORKER=1        0: leave out the worker path
#     WORKER_ROUNDS=64  measured bursts of the worker path
#     CLIENT=1        0: leave out the load client's rows (conn_cost, conn-client-*)
#     CONN=1          0: leave out the whole-connection server path (conn_cost)
#     PROXY=1         0: leave out the proxy's paths (bench/app/proxy_cost)
#     PARSE=1         0: leave out the parser cases
#     IPV6=1          0: leave out the IPv6 paths
#     IPV6_PATHS=     the IPv6 paths to count (default: PATHS)
#     CASES=all       or a list of parser cases (parse_cost --list)
#     OUT=BUILD_DIR/callgrind   where the callgrind.out files are kept
# Or: ninja -C BUILD_DIR callgrind
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BURSTS=${BURSTS:-"32 1"}
PATHS=${PATHS:-all}
ROUNDS=${ROUNDS:-2}
TOP=${TOP:-25}
PROFILE=${PROFILE:-}
WORKER=${WORKER:-1}
PARSE=${PARSE:-1}
CASES=${CASES:-all}
EXE=$BUILD/bench/segment_cost
OUT=${OUT:-$BUILD/callgrind}
command -v valgrind >/dev/null || { echo "callgrind: valgrind is not installed" >&2; exit 1; }
[ -x "$EXE" ] || { echo "callgrind: $EXE is not built (ninja -C $BUILD bench/segment_cost)" >&2; exit 1; }
mkdir -p "$OUT"
if [ "$PATHS" = all ]; then
  PATHS=$("$EXE" --list | awk '{print $1}')
fi
first_burst=${BURSTS%% *}
declare -A SEGMENTS  # path.bBURST -> segments counted
declare -A PER       # path.bBURST -> Ir/segment (IPv4)

printf '%-20s %5s %9s %14s %10s\n' path burst segments Ir Ir/segment
worst_name=
worst_per=0
for burst in $BURSTS; do
  for path in $PATHS; do
    base=$OUT/$path.b$burst
    valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no \
      --toggle-collect='synwave::bench::Measure*' \
      --callgrind-out-file="$base.out" \
      "$EXE" --path="$path" --burst="$burst" --rounds="$ROUNDS" \
      >"$base.log" 2>&1 || { echo "callgrind: $path failed, see $base.log" >&2; exit 1; }
    # segment_cost prints: path burst segments tsc_cycles/seg
    segments=$(awk -v p="$path" '$1 == p {print $3}' "$base.log")
    ir=$(awk '/^totals:/ {print $2}' "$base.out")
    [ -n "$segments" ] && [ -n "$ir" ] || { echo "callgrind: no result for $path, see $base.log" >&2; exit 1; }
    per=$(awk -v i="$ir" -v s="$segments" 'BEGIN {printf "%.1f", i / s}')
    SEGMENTS[$path.b$burst]=$segments
    PER[$path.b$burst]=$per
    printf '%-20s %5s %9s %14s %10s\n' "$path" "$burst" "$segments" "$ir" "$per"
    if [ "$burst" = "$first_burst" ] &&
       awk -v a="$per" -v b="$worst_per" 'BEGIN {exit !(a > b)}'; then
      worst_per=$per
      worst_name=$path
    fi
  done
done

WORKER_EXE=$BUILD/bench/engine/worker_cost
if [ "$WORKER" != 0 ] && [ -x "$WORKER_EXE" ]; then
  for burst in $BURSTS; do
    base=$OUT/worker-syn-cookie.b$burst
    valgrind --tool=callgrind --collect-atstart=no \
      --toggle-collect='synwave::bench::MeasureWorkerPolls*' \
      --callgrind-out-file="$base.out" \
      "$WORKER_EXE" --burst="$burst" --rounds="${WORKER_ROUNDS:-64}" \
      >"$base.log" 2>&1 || { echo "callgrind: worker_cost failed, see $base.log" >&2; exit 1; }
    # worker_cost prints: worker-syn-cookie BURST SYN-ACKS
    segments=$(awk '$1 == "worker-syn-cookie" {print $3}' "$base.log")
    ir=$(awk '/^totals:/ {print $2}' "$base.out")
    [ -n "$segments" ] && [ "$segments" != 0 ] && [ -n "$ir" ] ||
      { echo "callgrind: no result for the worker, see $base.log" >&2; exit 1; }
    per=$(awk -v i="$ir" -v s="$segments" 'BEGIN {printf "%.1f", i / s}')
    SEGMENTS[worker-syn-cookie.b$burst]=$segments
    printf '%-20s %5s %9s %14s %10s\n' worker-syn-cookie "$burst" "$segments" "$ir" "$per"
  done
fi

# The client's side of whole connections (the same conn_cost run, counting
# the client Worker's PollOnce: the generator's tuple choice, Connect and
# its SYN, the request, the response check, and the stack and frames under
# them), Ir per connection the client completed, close=server and
# close=client: rows conn-client-server and conn-client-client, in the Ir
# budget (CLIENT=0 leaves them out).
CONN_EXE=$BUILD/bench/engine/conn_cost
if [ "${CLIENT:-1}" != 0 ] && [ -x "$CONN_EXE" ]; then
  for close in server client; do
    base=$OUT/conn-client.$close
    valgrind --tool=callgrind --collect-atstart=no \
      --toggle-collect='synwave::bench::MeasureClientPoll*' \
      --callgrind-out-file="$base.out" \
      "$CONN_EXE" --close=$close --warmup=2000 --iterations=2000 >"$base.log" 2>&1 ||
      { echo "callgrind: conn_cost (client) failed, see $base.log" >&2; exit 1; }
    conns=$(awk '$1 == "conn-client" {print $2}' "$base.log")
    ir=$(awk '/^totals:/ {print $2}' "$base.out")
    [ -n "$conns" ] && [ "$conns" != 0 ] && [ -n "$ir" ] ||
      { echo "callgrind: no result for conn_cost (client), see $base.log" >&2; exit 1; }
    printf '%-20s %5s %9s %14s %10s\n' "conn-client-$close" - "$conns" "$ir" \
      "$(awk -v i="$ir" -v s="$conns" 'BEGIN {printf "%.1f", i / s}')"
  done
fi

# The server's side of whole connections through the worker
# (bench/engine/conn_cost: client and server Workers on one net_ring pair,
# virtual clock; only the server's PollOnce counts), per connection the
# client completed, for close=server and close=client, with its top
# functions. Not in the Ir budget: it moves with the stack and the
# responder as much as with the engine.
CONN_EXE=$BUILD/bench/engine/conn_cost
if [ "${CONN:-1}" != 0 ] && [ -x "$CONN_EXE" ]; then
  for close in server client; do
    base=$OUT/conn-server.$close
    valgrind --tool=callgrind --collect-atstart=no --dump-instr=no \
      --toggle-collect='synwave::bench::MeasureServerPoll*' \
      --callgrind-out-file="$base.out" \
      "$CONN_EXE" --close=$close >"$base.log" 2>&1 ||
      { echo "callgrind: conn_cost failed, see $base.log" >&2; exit 1; }
    conns=$(awk '$1 == "conn-server" {print $2}' "$base.log")
    ir=$(awk '/^totals:/ {print $2}' "$base.out")
    [ -n "$conns" ] && [ "$conns" != 0 ] && [ -n "$ir" ] ||
      { echo "callgrind: no result for conn_cost, see $base.log" >&2; exit 1; }
    printf '%-20s %5s %9s %14s %10s  (Ir per connection)\n' "conn-server-$close" - "$conns" "$ir" \
      "$(awk -v i="$ir" -v s="$conns" 'BEGIN {printf "%.1f", i / s}')"
  done
  echo
  echo "top functions (inclusive) of conn-server-server:"
  callgrind_annotate --inclusive=yes "$OUT/conn-server.server.out" 2>/dev/null |
    awk -v top="$TOP" '/file:function/ {on = 1; next} on && NF && n++ < top'
  echo
fi

# synwave proxy's paths (bench/app/proxy_cost, ProxyCore::Process only):
# a forwarded data segment each way and a cookie SYN-ACK, burst 32.
PROXY_EXE=$BUILD/bench/app/proxy_cost
if [ "${PROXY:-1}" != 0 ] && [ -x "$PROXY_EXE" ]; then
  for path in $("$PROXY_EXE" --list); do
    base=$OUT/$path.b32
    valgrind --tool=callgrind --collect-atstart=no \
      --toggle-collect='synwave::bench::MeasureProxy*' \
      --callgrind-out-file="$base.out" \
      "$PROXY_EXE" --path="$path" >"$base.log" 2>&1 ||
      { echo "callgrind: proxy_cost $path failed, see $base.log" >&2; exit 1; }
    segments=$(awk -v p="$path" '$1 == p {print $3}' "$base.log")
    ir=$(awk '/^totals:/ {print $2}' "$base.out")
    [ -n "$segments" ] && [ -n "$ir" ] || { echo "callgrind: no result for $path" >&2; exit 1; }
    SEGMENTS[$path.b32]=$segments
    printf '%-20s %5s %9s %14s %10s\n' "$path" 32 "$segments" "$ir" \
      "$(awk -v i="$ir" -v s="$segments" 'BEGIN {printf "%.1f", i / s}')"
  done
fi

if [ "${IPV6:-1}" != 0 ]; then
  declare -A PER6
  echo
  printf '%-20s %5s %9s %14s %10s %8s\n' ipv6-path burst segments Ir Ir/segment vs-ipv4
  for path in ${IPV6_PATHS:-$PATHS}; do
    base=$OUT/$path.v6.b$first_burst
    valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no \
      --toggle-collect='synwave::bench::Measure*' \
      --callgrind-out-file="$base.out" \
      "$EXE" --ipv6 --path="$path" --burst="$first_burst" --rounds="$ROUNDS" \
      >"$base.log" 2>&1 || { echo "callgrind: $path (IPv6) failed, see $base.log" >&2; exit 1; }
    segments=$(awk -v p="$path" '$1 == p {print $3}' "$base.log")
    ir=$(awk '/^totals:/ {print $2}' "$base.out")
    [ -n "$segments" ] && [ -n "$ir" ] || { echo "callgrind: no result for $path (IPv6), see $base.log" >&2; exit 1; }
    per=$(awk -v i="$ir" -v s="$segments" 'BEGIN {printf "%.1f", i / s}')
    PER6[$path]=$per
    v4=${PER[$path.b$first_burst]:-}
    ratio=-
    [ -n "$v4" ] && ratio=$(awk -v a="$per" -v b="$v4" 'BEGIN {printf "%+.1f%%", (a - b) / b * 100}')
    printf '%-20s %5s %9s %14s %10s %8s\n' "$path" "$first_burst" "$segments" "$ir" "$per" "$ratio"
  done
  whole() {  # name, paths: the sum of Ir/segment over both families
    local name=$1 v4=0 v6=0 p
    shift
    for p in "$@"; do
      [ -n "${PER[$p.b$first_burst]:-}" ] && [ -n "${PER6[$p]:-}" ] || return 0
      v4=$(awk -v a="$v4" -v b="${PER[$p.b$first_burst]}" 'BEGIN {print a + b}')
      v6=$(awk -v a="$v6" -v b="${PER6[$p]}" 'BEGIN {print a + b}')
    done
    printf '%-20s %10.1f %10.1f %8s\n' "$name" "$v4" "$v6" \
      "$(awk -v a="$v6" -v b="$v4" 'BEGIN {printf "%+.1f%%", (a - b) / b * 100}')"
  }
  echo
  printf '%-20s %10s %10s %8s\n' connection ipv4-Ir ipv6-Ir ipv6
  whole conn-syn-queue syn-queue syn-queue-ack data pure-ack established-fin last-ack-ack
  whole conn-syn-cookie syn-cookie cookie-ack data pure-ack established-fin last-ack-ack
fi

PARSE_EXE=$BUILD/bench/parse_cost
if [ "$PARSE" != 0 ] && [ -x "$PARSE_EXE" ]; then
  [ "$CASES" = all ] && CASES=$("$PARSE_EXE" --list | awk '{print $1}')
  echo
  printf '%-20s %9s %14s %10s\n' parse-case frames Ir Ir/frame
  for c in $CASES; do
    base=$OUT/parse-$c
    valgrind --tool=callgrind --collect-atstart=no \
      --toggle-collect='synwave::bench::ParseMeasure*' \
      --callgrind-out-file="$base.out" \
      "$PARSE_EXE" --case="$c" >"$base.log" 2>&1 ||
      { echo "callgrind: parse_cost $c failed, see $base.log" >&2; exit 1; }
    frames=$(awk -v c="$c" '$1 == c {print $2}' "$base.log")
    ir=$(awk '/^totals:/ {print $2}' "$base.out")
    [ -n "$frames" ] && [ -n "$ir" ] ||
      { echo "callgrind: no result for parse $c, see $base.log" >&2; exit 1; }
    printf '%-20s %9s %14s %10s\n' "$c" "$frames" "$ir" \
      "$(awk -v i="$ir" -v f="$frames" 'BEGIN {printf "%.1f", i / f}')"
  done
fi

# The top functions of one profile by inclusive Ir, with Ir per segment in
# front: the totals, then TOP functions. Left out: the callers above the
# measured function (callgrind counts all of it as their inclusive cost),
# the unknown file names, the path of our own binary (a shared library's
# name stays: unnamed functions there are DPDK's, e.g. net_ring rx/tx).
top_functions() {
  local file=$OUT/$1.b$first_burst.out
  local segments=${SEGMENTS[$1.b$first_burst]:-}
  [ -n "$segments" ] || return 0
  echo
  echo "$1, burst $first_burst: top $TOP functions by inclusive Ir ($file)"
  printf '%9s  %s\n' Ir/seg "Ir (share)  function"
  callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null |
    awk -v top="$TOP" -v segs="$segments" '
      function value() { v = $1; gsub(",", "", v); return v + 0 }
      function line() { printf "%9.1f  %s\n", value() / segs, $0 }
      /PROGRAM TOTALS/ {total = value(); line(); next}
      /^-+$/ {dashes++; next}
      dashes >= 4 && /^ *[0-9,]+ / && n < top {
        if (value() == total && !/Measure/) next
        line(); n++
      }' |
    sed -E -e 's/\?\?\?://' -e 's# \[/[^]]*/([^]/]*\.so[^]/]*)\]$# [\1]#' \
      -e 's# \[/[^]]*\]$##'
}
echo
echo "Most expensive at burst $first_burst: $worst_name, $worst_per Ir/segment."
top_functions "$worst_name"
for path in $PROFILE; do
  top_functions "$path"
done
