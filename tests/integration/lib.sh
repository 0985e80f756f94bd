# Shared helpers for tests that talk to the Linux kernel through net_tap.
#
# Sourced by the integration tests. They need root (CAP_NET_ADMIN) and
# /dev/net/tun: without them a test exits 77, which meson reports as
# skipped, except under CI (CI=true), where a test that cannot run fails.
# Every address used is on a tap interface the test creates, in the
# benchmarking range 198.18.0.0/15, and every kernel-side command is bound to
# that interface, so no packet can leave the machine.

set -euo pipefail

SYNWAVE=${SYNWAVE:?SYNWAVE must point to the synwave binary}
PY=/usr/bin/python3   # Debian's interpreter, where python3-scapy lives
WORK=$(mktemp -d)
SYNWAVE_PID=

skip_or_fail() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: cannot run under CI: $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

require_net_admin() {
  [ "$(id -u)" = 0 ] || skip_or_fail "needs root (CAP_NET_ADMIN)"
  [ -c /dev/net/tun ] || skip_or_fail "needs /dev/net/tun"
  ip tuntap add dev swcap$$ mode tap 2>/dev/null || skip_or_fail "no CAP_NET_ADMIN"
  ip link del swcap$$
}

require_tools() {
  for t in "$@"; do
    command -v "$t" >/dev/null || skip_or_fail "missing tool $t (scripts/setup.sh installs it)"
  done
}

# Commands that `on_exit` registered, run first at exit, newest first.
EXIT_HOOKS=()
on_exit() { EXIT_HOOKS=("$*" "${EXIT_HOOKS[@]}"); }
# Further logs that `fail` prints (the first synwave's is $WORK/synwave.log).
FAIL_LOGS=()

cleanup() {
  local hook
  for hook in "${EXIT_HOOKS[@]}"; do eval "$hook" || true; done
  if [ -n "$SYNWAVE_PID" ] && kill -0 "$SYNWAVE_PID" 2>/dev/null; then
    kill -KILL "$SYNWAVE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [ -f "$WORK/synwave.log" ] && sed 's/^/  synwave: /' "$WORK/synwave.log" >&2
  local log
  for log in "${FAIL_LOGS[@]}"; do
    [ -f "$log" ] && sed "s|^|  $(basename "$log" .log): |" "$log" >&2
  done
  exit 1
}

# start_tap_endpoint IFACE KERNEL_IP/N SYNWAVE_IP/N [synwave flags...]
# Starts `synwave serve` on a new tap interface, gives the kernel side an
# address and a MAC of its own, and waits until the endpoint answers ARP.
start_tap_endpoint() {
  local iface=$1 kernel_ip=$2 synwave_ip=$3
  shift 3
  "$SYNWAVE" serve --port="net_tap_${iface},iface=${iface}" --ip="$synwave_ip" \
    --json="$WORK/report.json" "$@" >"$WORK/synwave.log" 2>&1 &
  SYNWAVE_PID=$!
  for _ in $(seq 100); do
    ip link show "$iface" >/dev/null 2>&1 && break
    kill -0 "$SYNWAVE_PID" 2>/dev/null || fail "synwave exited at start-up"
    sleep 0.1
  done
  ip link show "$iface" >/dev/null 2>&1 || fail "tap interface $iface never appeared"
  # The tap interface starts with the port's own MAC; the kernel needs its own.
  ip link set "$iface" address 02:00:5e:00:53:01
  ip addr add "$kernel_ip" dev "$iface"
  ip link set "$iface" up
  KERNEL_IP=${kernel_ip%/*}
  TARGET_IP=${synwave_ip%/*}
  IFACE=$iface
  for _ in $(seq 50); do
    arping -q -c 1 -w 1 -I "$iface" "$TARGET_IP" && return 0
  done
  fail "endpoint never answered ARP"
}

# stop_endpoint: SIGTERM, which must stop it cleanly and write the report.
stop_endpoint() {
  kill -TERM "$SYNWAVE_PID"
  local rc=0
  wait "$SYNWAVE_PID" || rc=$?
  SYNWAVE_PID=
  [ "$rc" = 0 ] || fail "synwave exited with $rc after SIGTERM"
  [ -s "$WORK/report.json" ] || fail "no JSON report written"
}

# counter NAME: the named counter from the final JSON report.
counter() {
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["counters"][sys.argv[2]])' \
    "$WORK/report.json" "$1"
}

# client MODE [N] [args...]: runs tcp_client.py against the endpoint from the
# kernel side and prints its JSON.
client() {
  "$PY" "$(dirname "${BASH_SOURCE[0]}")/tcp_client.py" "$@" \
    --server "$TARGET_IP" --source "$KERNEL_IP"
}

# json_get JSON EXPR: a Python expression over the parsed object `j`.
json_get() {
  "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# report EXPR: a Python expression over the final JSON report `r`.
report() {
  "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$WORK/report.json" "$1"
}

# require_root: for tests that need the EAL but no tap interface.
require_root() {
  [ "$(id -u)" = 0 ] || skip_or_fail "needs root for the DPDK EAL"
}

# json_file FILE EXPR: a Python expression over the JSON object `r` in FILE.
json_file() {
  "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# make_netns NAME: a new network namespace with its loopback up; at exit the
# processes left in it are killed and it is removed.
make_netns() {
  local ns=$1
  ip netns add "$ns" || skip_or_fail "cannot create network namespace $ns"
  on_exit "for p in \$(ip netns pids $ns 2>/dev/null); do kill -KILL \$p 2>/dev/null; done; ip netns del $ns 2>/dev/null"
  ip -n "$ns" link set lo up
}

# netns_tcp_mib NS FIELD: a Tcp counter of /proc/net/snmp (PassiveOpens,
# ActiveOpens, CurrEstab, ...) as seen inside network namespace NS.
netns_tcp_mib() {
  ip netns exec "$1" awk -v f="$2" '
    $1 == "Tcp:" && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
    $1 == "Tcp:" { print $col[f]; exit }' /proc/net/snmp
}

# wait_for_line FILE REGEX PID WHAT: waits up to 10 s until FILE has a line
# matching REGEX; fails if PID exits first.
wait_for_line() {
  local file=$1 regex=$2 pid=$3 what=$4
  for _ in $(seq 200); do
    grep -qE "$regex" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || fail "$what exited at start-up"
    sleep 0.05
  done
  fail "$what: no line matching '$regex' after 10 s"
}

# family_from_env: FAMILY (4 or 6, default 4) from meson's environment, for
# the tests that run over either IP version (one script, a meson test per
# family).
family_from_env() {
  FAMILY=${FAMILY:-4}
  case $FAMILY in
    4|6) ;;
    *) echo "FAIL: FAMILY must be 4 or 6, not '$FAMILY'" >&2; exit 1 ;;
  esac
}

# by_family IPV4_WORD IPV6_WORD: the one for $FAMILY.
by_family() {
  if [ "$FAMILY" = 4 ]; then echo "$1"; else echo "$2"; fi
}

# kernel_tap_ipv6 IFACE [NS]: IPv6 on the kernel's side of a tap interface
# (in network namespace NS if given), without duplicate address detection's
# delay. net_tap gives the kernel's side the port's MAC first (it sets it
# back when the link comes up), so an EUI-64 link-local address there would
# be our own (we defend it: the kernel's DAD fails, and traffic to it never
# leaves the kernel): the kernel's is made random instead, and IPv6
# restarted on the interface to make it. Add addresses with `nodad`.
kernel_tap_ipv6() {
  local iface=$1 ns=${2:-}
  local in_ns=()
  [ -n "$ns" ] && in_ns=(ip netns exec "$ns")
  "${in_ns[@]}" sysctl -qw "net.ipv6.conf.$iface.accept_dad=0"
  "${in_ns[@]}" sysctl -qw "net.ipv6.conf.$iface.addr_gen_mode=3"
  "${in_ns[@]}" sysctl -qw "net.ipv6.conf.$iface.disable_ipv6=1"
  "${in_ns[@]}" sysctl -qw "net.ipv6.conf.$iface.disable_ipv6=0"
}

# netns_arping NS IFACE IP: until IP answers ARP on IFACE in namespace NS
# (up to about 10 s), so that synwave has learned the kernel's MAC; fails
# the test otherwise. One request a second: a single arping right after the
# interface came up in the namespace can fail at once on a loaded machine.
netns_arping() {
  local ns=$1 iface=$2 ip=$3
  for _ in $(seq 10); do
    ip netns exec "$ns" arping -q -c 1 -w 1 -I "$iface" "$ip" && return 0
    sleep 0.1
  done
  fail "synwave did not answer ARP for $ip in namespace $ns: $(ip netns exec "$ns" arping -c 1 -w 1 -I "$iface" "$ip" 2>&1 | tail -2)"
}

# require_contained NS IFACE: before a flood from random (possibly public)
# sources is answered into namespace NS, check that the answers end there:
# no forwarding of $FAMILY, no interface but lo and IFACE, no default route.
# Fails the test otherwise.
require_contained() {
  local ns=$1 iface=$2 forward links
  if [ "$FAMILY" = 4 ]; then
    forward=$(ip netns exec "$ns" sysctl -n net.ipv4.ip_forward)
  else
    forward=$(ip netns exec "$ns" sysctl -n net.ipv6.conf.all.forwarding)
  fi
  [ "$forward" = 0 ] || fail "IPv$FAMILY forwarding is $forward in $ns; refusing to flood"
  links=$(ip -n "$ns" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ')
  [ "$links" = "lo $iface " ] || fail "$ns holds other interfaces than lo and $iface: $links"
  [ -z "$(ip -n "$ns" -"$FAMILY" route show default)" ] || fail "$ns has a default IPv$FAMILY route"
}

# wait_flooding PID LOG: until syn_flood6.py (PID, its stderr in LOG) says
# it floods; building the frames takes scapy a few seconds. Fails if it
# exits first or takes more than 30 s.
wait_flooding() {
  local pid=$1 log=$2
  for _ in $(seq 300); do
    grep -q '^flooding' "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || fail "the flood exited at start-up"
    sleep 0.1
  done
  fail "the flood did not start in 30 s"
}

# check_report EXPR [DETAIL]: a Python expression over the final report,
# with c its counters and p its pools, must hold; otherwise the test fails
# with EXPR and the value of DETAIL (a Python expression over the report
# `r`; default: the counters that are not zero).
check_report() {
  local detail=${2:-'{k: v for k, v in r["counters"].items() if v}'}
  [ "$(report "(lambda c, p: bool($1))(r['counters'], r['pools'])")" = True ] ||
    fail "$1; $(report "$detail")"
}
