#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds synwave,
# and shows the endpoint answering on the network. Until `synwave loopback`
# exists, that means: `synwave serve` on a tap interface (sw0), with the
# Linux kernel on the other side arping and pinging it and fetching from it
# over HTTP with curl, then the endpoint's per-second lines and final
# counters. Needs root (tap).
# Addresses are 198.18.0.0/24 (the benchmarking range), on sw0 only.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build apps/synwave/synwave >/dev/null
SYNWAVE=build/apps/synwave/synwave
"$SYNWAVE" version

if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
  echo "run-main: needs root and /dev/net/tun for the tap interface" >&2
  exit 1
fi

IFACE=sw0
OUT=$(mktemp -d)
"$SYNWAVE" serve --port="net_tap0,iface=$IFACE" --ip=198.18.0.2/24 --listen=80 \
  --response-bytes=512 --duration="${DURATION:-8}" --stats-interval=1 \
  --json="$OUT/report.json" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$OUT"' EXIT
for _ in $(seq 100); do ip link show "$IFACE" >/dev/null 2>&1 && break; sleep 0.1; done
ip link show "$IFACE" >/dev/null 2>&1 || { echo "run-main: $IFACE did not appear" >&2; exit 1; }
ip link set "$IFACE" address 02:00:5e:00:53:01
ip addr add 198.18.0.1/24 dev "$IFACE"
ip link set "$IFACE" up

echo "--- kernel: arping -I $IFACE 198.18.0.2"
arping -c 3 -w 5 -I "$IFACE" 198.18.0.2 || true
echo "--- kernel: ping -I $IFACE 198.18.0.2"
ping -I "$IFACE" -c 20 -i 0.05 -W 1 198.18.0.2 | tail -3 || true
echo "--- kernel: 200 x curl --interface $IFACE http://198.18.0.2/"
ok=0
for _ in $(seq 200); do
  curl -s -m 2 --interface "$IFACE" -o /dev/null -w '%{http_code}\n' http://198.18.0.2/ | grep -q 200 && ok=$((ok + 1))
done
echo "$ok of 200 requests answered with 200 OK"
echo "--- synwave:"
wait $pid
echo "(JSON report: $(wc -c <"$OUT/report.json") bytes, e.g. icmp_echo_replies_out =" \
  "$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["counters"]["icmp_echo_replies_out"])' "$OUT/report.json"))"
