#!/usr/bin/env bash
# The command-line contract a user scripts against: version and help exit 0;
# every bad flag, bad value, unknown command or missing device is one line on
# stderr that names the flag, with exit code 2; a config file sets flags and
# the command line overrides it. Runs without privileges: the device runs
# use net_null, an in-process DPDK driver.
set -uo pipefail
SYNWAVE=${SYNWAVE:?}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0

check() {  # check NAME EXPECTED_RC STDERR_PATTERN -- args...
  local name=$1 want_rc=$2 pattern=$3
  shift 4
  local rc=0
  timeout 60 "$SYNWAVE" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  # Only synwave's own line counts; DPDK may log other lines.
  local err
  err=$(grep '^synwave: ' "$WORK/err" || true)
  if [ "$rc" != "$want_rc" ]; then
    echo "FAIL $name: exit $rc, want $want_rc; stderr: $(cat "$WORK/err")"
    failures=$((failures + 1))
  elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$err"; then
    echo "FAIL $name: stderr '$err' does not match '$pattern'"
    failures=$((failures + 1))
  elif [ -n "$pattern" ] && [ "$(wc -l <<<"$err")" != 1 ]; then
    echo "FAIL $name: error is not one line: $err"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

NULLDEV=(--port=net_null0 --ip=198.18.20.2/24 --lcores=0)

check version 0 "" -- version
grep -q '^synwave [0-9]' "$WORK/out" || { echo "FAIL version output: $(cat "$WORK/out")"; failures=$((failures + 1)); }
check help 0 "" -- --help
for flag in port ip gateway lcores eal duration json stats-interval config; do
  grep -q -- "--$flag" "$WORK/out" || { echo "FAIL --help does not list --$flag"; failures=$((failures + 1)); }
done
check no-command 2 "" --
check unknown-command 2 "unknown command 'bogus'" -- bogus
check unknown-flag 2 "^synwave: --frobnicate: unknown flag" -- serve --frobnicate=1
check missing-value 2 "^synwave: --ip: missing value" -- serve --ip
check bad-duration 2 "^synwave: --duration: " -- serve "${NULLDEV[@]}" --duration=soon
check negative-duration 2 "^synwave: --duration: " -- serve "${NULLDEV[@]}" --duration=-1
check bad-ip 2 "^synwave: --ip: '10.0.0.300/24'" -- serve --port=net_null0 --ip=10.0.0.300/24
check bad-prefix 2 "^synwave: --ip: " -- serve --port=net_null0 --ip=198.18.20.2/33
check network-address 2 "^synwave: --ip: " -- serve --port=net_null0 --ip=198.18.20.0/24
check no-ip 2 "^synwave: --ip: " -- serve --port=net_null0
check no-port 2 "^synwave: --port: " -- serve --ip=198.18.20.2/24
check bad-gateway 2 "^synwave: --gateway: 'x'" -- serve "${NULLDEV[@]}" --gateway=x
check off-subnet-gateway 2 "^synwave: --gateway: .*not on the subnet" -- serve "${NULLDEV[@]}" --gateway=198.19.0.1
check bad-mac 2 "^synwave: --mac: " -- serve "${NULLDEV[@]}" --mac=01:00:5e:00:00:01
check bad-lcores 2 "^synwave: --lcores: " -- serve --port=net_null0 --ip=198.18.20.2/24 --lcores=1-x
check missing-cpu 2 "^synwave: --lcores: CPU 1000 does not exist" -- serve --port=net_null0 --ip=198.18.20.2/24 --lcores=1000
check eal-sets-cores 2 "^synwave: --eal: " -- serve "${NULLDEV[@]}" --eal="-l 0-3"
check bad-burst 2 "^synwave: --burst: " -- serve "${NULLDEV[@]}" --burst=65
check json-dir-missing 2 "^synwave: --json: " -- serve "${NULLDEV[@]}" --json=/nonexistent/dir/r.json
check missing-device 2 "^synwave: --port" -- serve --port=net_nosuchdriver0 --ip=198.18.20.2/24 --lcores=0
check missing-pci-device 2 "^synwave: --port: no DPDK device" -- serve --port=0000:ff:1f.7 --ip=198.18.20.2/24 --lcores=0 --duration=1
check missing-config 2 "^synwave: --config: " -- serve --config="$WORK/none.toml"

# A config file sets the flags; the command line wins over it.
cat >"$WORK/ok.toml" <<TOML
port = "net_null0"
ip = "198.18.20.2/24"
lcores = "0"
duration = 3600
json = "$WORK/report.json"
TOML
start=$(date +%s)
check config-file-run 0 "" -- serve --config="$WORK/ok.toml" --duration=0.3
[ $(( $(date +%s) - start )) -lt 30 ] || { echo "FAIL --duration on the command line did not override the config"; failures=$((failures + 1)); }
/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["counters"]; assert c["rx_packets"] > 0 and all(isinstance(v, int) for v in c.values())' "$WORK/report.json" ||
  { echo "FAIL JSON report from the config-file run"; failures=$((failures + 1)); }

# The example config shipped in config/ is valid as it stands.
check example-config 0 "" -- serve --config="${SOURCE_ROOT:?}/config/synwave.toml" \
  --port=net_null0 --lcores=0 --duration=0.2 --stats-interval=0
# So are the files for each use, with the device and the EAL overridden (a
# load against nobody then gives up on ARP: every key was taken).
NOHUGE="--no-huge -m 512 --no-shconf --no-pci"
check config-serve 0 "" -- serve --config="$SOURCE_ROOT/config/serve.toml" \
  --port=net_null0 --lcores=0 --eal="$NOHUGE" --duration=0.2 --stats-interval=0
for use in load flood; do
  check "config-$use" 1 "^synwave: no answer to ARP for 198.18.1.1" -- load \
    --config="$SOURCE_ROOT/config/$use.toml" --port=net_null0 --lcores=0 \
    --eal="$NOHUGE" --wait-server=0.2 --json="$WORK/$use.json" --stats-interval=0
done

# The proxy's, one-armed on net_null (its backend-port overridden).
check config-proxy 0 "" -- proxy --config="$SOURCE_ROOT/config/proxy.toml" \
  --port=net_null0 --backend-port=net_null0 --ip=10.9.0.10/24 --lcores=0 \
  --eal="$NOHUGE" --duration=0.2 --stats-interval=0

printf 'ip = "not-an-ip"\n' >"$WORK/bad.toml"
check config-bad-value 2 "^synwave: --ip: 'not-an-ip'" -- serve --config="$WORK/bad.toml" --port=net_null0 --lcores=0
check config-overridden-bad-value 0 "" -- serve --config="$WORK/bad.toml" "${NULLDEV[@]}" --duration=0.2
printf 'frobnicate = 1\n' >"$WORK/unknown.toml"
check config-unknown-key 2 "^synwave: --config: .*unknown key 'frobnicate'" -- serve --config="$WORK/unknown.toml"
printf 'ip = [\n' >"$WORK/syntax.toml"
check config-syntax 2 "^synwave: --config: .*syntax.toml:" -- serve --config="$WORK/syntax.toml"

# load and loopback: the same contract.
check load-no-server 2 "^synwave: --server:" -- load "${NULLDEV[@]}"
check load-bad-server 2 "^synwave: --server: '198.18.20.1' is not a server" -- load "${NULLDEV[@]}" --server=198.18.20.1
check load-bad-cps 2 "^synwave: --cps:" -- load "${NULLDEV[@]}" --server=198.18.20.1:80 --cps=-5
check load-bad-concurrency 2 "^synwave: --concurrency:" -- load "${NULLDEV[@]}" --server=198.18.20.1:80 --concurrency=-2
check load-bad-client-ips 2 "^synwave: --client-ips:" -- load "${NULLDEV[@]}" --server=198.18.20.1:80 --client-ips=10.0.0.9-10.0.0.1
check load-bad-client-ports 2 "^synwave: --client-ports:" -- load "${NULLDEV[@]}" --server=198.18.20.1:80 --client-ports=0-10
check load-bad-keepalive 2 "^synwave: --keepalive-requests:" -- load "${NULLDEV[@]}" --server=198.18.20.1:80 --keepalive-requests=0
check load-bad-ramp 2 "^synwave: --ramp:" -- load "${NULLDEV[@]}" --server=198.18.20.1:80 --ramp=-1
check load-bad-close 2 "^synwave: --close: 'later' is not server, client or rst" -- load "${NULLDEV[@]}" --server=198.18.20.1:80 --close=later
check serve-no-rst-close 2 "^synwave: --close: 'rst' is not server or client" -- serve "${NULLDEV[@]}" --close=rst
check loopback-bad-cps 2 "^synwave: --cps:" -- loopback --cps=abc
# A load run against nobody (net_null swallows every frame): the server
# never answers ARP, so after --wait-server the run gives up, exit 1, with
# one line that says which server and which flag.
check load-nobody 1 "^synwave: no answer to ARP for 198.18.20.1 .*--wait-server" -- load "${NULLDEV[@]}" --server=198.18.20.1:80 --duration=0.5 --drain=0.2 --wait-server=0.5
check bad-wait-server 2 "^synwave: --wait-server:" -- load "${NULLDEV[@]}" --server=198.18.20.1:80 --wait-server=-1
# Load over IPv6: the bracketed server form, IPv6 client ranges (one per
# family, bounded), IPv6 flood sources for an IPv6 target, and a run that
# gives up waiting for Neighbor Discovery of a server nobody answers for.
DUAL=(--port=net_null0 --ip=198.18.20.2/24 --ip=fd00:20::2/64 --lcores=0)
check load6-no-brackets 2 "^synwave: --server: 'fd00:20::1:80': an IPv6 server takes brackets" -- load "${DUAL[@]}" --server=fd00:20::1:80
check load6-bad-server 2 "^synwave: --server: '\[fd00:20::1\]' is not a server" -- load "${DUAL[@]}" --server='[fd00:20::1]'
check load6-no-ip6 2 "^synwave: --server: \[fd00:20::1\]:80 is IPv6 but no IPv6 --ip" -- load "${NULLDEV[@]}" --server='[fd00:20::1]:80'
check load6-bad-client-ips 2 "^synwave: --client-ips: 'fd00:20::9-fd00:20::1': the range ends before it starts" -- load "${DUAL[@]}" --server='[fd00:20::1]:80' --client-ips=fd00:20::9-fd00:20::1
check load6-huge-client-ips 2 "^synwave: --client-ips: .* holds more than 16777216 addresses" -- load "${DUAL[@]}" --server='[fd00:20::1]:80' --client-ips=fd00:20::/64
check load6-two-client-ranges 2 "^synwave: --client-ips: at most one IPv6 range" -- load "${DUAL[@]}" --server='[fd00:20::1]:80' --client-ips=fd00:20::100 --client-ips=fd00:20::200
check load6-flood-family 2 "^synwave: --flood-sources: IPv4 sources for an IPv6 target" -- load "${DUAL[@]}" --server='[fd00:20::1]:80' --flood --flood-sources=10.128.0.0/9
check load6-ipv6-not-loopback 2 "^synwave: --ipv6: is for loopback" -- load "${DUAL[@]}" --server='[fd00:20::1]:80' --ipv6
check load6-nobody 1 "^synwave: no answer to Neighbor Discovery for fd00:20::1 .*--wait-server" -- load "${DUAL[@]}" --server='[fd00:20::1]:80' --client-ips=fd00:20::100-fd00:20::1ff --duration=0.5 --drain=0.2 --wait-server=0.5

# IPv6 only: an IPv6 --ip alone serves, loads and proxies (the start line
# names no IPv4 address); what needs an IPv4 address without one is refused
# by name.
ONLY6=(--port=net_null0 --ip=fd00:20::2/64 --lcores=0)
check serve6-only 0 "" -- serve "${ONLY6[@]}" --duration=0.2 --stats-interval=0
grep -q "^synwave serve: port net_null0 mac [0-9a-f:]* ip6 fd00:20::2/64," "$WORK/out" || { echo "FAIL serve6-only start line: $(head -1 "$WORK/out")"; failures=$((failures + 1)); }
check serve6-only-ipv4-gateway 2 "^synwave: --gateway: 198.18.20.1 is IPv4 but no IPv4 --ip" -- serve "${ONLY6[@]}" --gateway=198.18.20.1
check load6-only-nobody 1 "^synwave: no answer to Neighbor Discovery for fd00:20::1 .*--wait-server" -- load "${ONLY6[@]}" --server='[fd00:20::1]:80' --duration=0.5 --drain=0.2 --wait-server=0.5
grep -q "^synwave load: port net_null0 mac [0-9a-f:]* ip6 fd00:20::2/64, clients fd00:20::2-fd00:20::2 " "$WORK/out" || { echo "FAIL load6-only start line: $(head -1 "$WORK/out")"; failures=$((failures + 1)); }
check load6-only-ipv4-server 2 "^synwave: --server: 198.18.20.1:80 is IPv4 but no IPv4 --ip" -- load "${ONLY6[@]}" --server=198.18.20.1:80
check load6-only-ipv4-clients 2 "^synwave: --client-ips: IPv4 clients need an IPv4 --ip" -- load "${ONLY6[@]}" --server='[fd00:20::1]:80' --client-ips=10.0.0.1
check proxy6-only 0 "" -- proxy "${ONLY6[@]}" --backend-ip=fd00:20::1/64 --backend='[fd00:20::3]:80' --duration=0.5 --stats-interval=0
grep -q "^synwave proxy: VIP fd00:20::2/64 port net_null0" "$WORK/out" || { echo "FAIL proxy6-only start line: $(head -1 "$WORK/out")"; failures=$((failures + 1)); }
check proxy6-only-ipv4-backends 2 "^synwave: --ip: fd00:20::2/64 is IPv6 but --backend-ip is IPv4" -- proxy "${ONLY6[@]}" --backend-ip=10.9.0.1/24 --backend=10.9.0.2:80

# Live metrics, capture and the shared secret: bad values are one line.
check bad-metrics 2 "^synwave: --metrics: 'nowhere' is not ADDR:PORT" -- serve "${NULLDEV[@]}" --metrics=nowhere
check bad-pcap-dir 2 "^synwave: --pcap: cannot write" -- serve "${NULLDEV[@]}" --pcap=/nonexistent/dir/x.pcapng --duration=0.1
check bad-pcap-snaplen 2 "^synwave: --pcap-snaplen:" -- serve "${NULLDEV[@]}" --pcap=x --pcap-snaplen=10
check missing-secret 2 "^synwave: --secret-file: cannot read .*synwave secret generate" -- serve "${NULLDEV[@]}" --secret-file="$WORK/none"
check secret-generate 0 "" -- secret generate "$WORK/secret"
[ "$(stat -c %a "$WORK/secret")" = 600 ] || { echo "FAIL the secret's mode is $(stat -c %a "$WORK/secret")"; failures=$((failures + 1)); }
check secret-exists 2 "^synwave: secret: cannot create .*it exists" -- secret generate "$WORK/secret"
check secret-serve 0 "" -- serve "${NULLDEV[@]}" --secret-file="$WORK/secret" --duration=0.1
chmod 644 "$WORK/secret"
check secret-readable 2 "^synwave: --secret-file: .*readable by others.*chmod 600" -- serve "${NULLDEV[@]}" --secret-file="$WORK/secret"
check secret-usage 2 "^synwave: secret:" -- secret
echo '{}' >"$WORK/empty.json"
check merge-no-output 2 "^synwave: report merge: no -o OUTPUT" -- report merge "$WORK/empty.json" "$WORK/empty.json"
check merge-not-load 2 "^synwave: .*empty.json: not the report of a load run" -- report merge "$WORK/empty.json" "$WORK/empty.json" -o "$WORK/all.json"
check merge-missing 2 "^synwave: report merge: cannot read" -- report merge "$WORK/none.json" "$WORK/empty.json" -o "$WORK/all.json"

# synwave proxy: its flags' errors name the flag; a one-armed run on
# net_null writes a report with the proxy's members (the backend never
# answers ARP: its first probe fails and it is down).
PROXY=(proxy "${NULLDEV[@]}" --backend-ip=198.18.20.1/24)
check proxy-no-backend-ip 2 "^synwave: --backend-ip: the proxy needs" -- proxy "${NULLDEV[@]}" --backend=198.18.20.3:80
check proxy-bad-backend-ip 2 "^synwave: --backend-ip: 'x'" -- "${PROXY[@]}" --backend-ip=x --backend=198.18.20.3:80
check proxy-no-backend 2 "^synwave: --backend: the proxy needs a backend" -- "${PROXY[@]}"
check proxy-bad-backend 2 "^synwave: --backend: 'nowhere' is not IP or IP:PORT" -- "${PROXY[@]}" --backend=nowhere
check proxy-off-subnet 2 "^synwave: --backend: 10.1.1.1 is not another host on the subnet" -- "${PROXY[@]}" --backend=10.1.1.1:80
check proxy-port-and-listens 2 "^synwave: --backend: with several --listen ports" -- "${PROXY[@]}" --backend=198.18.20.3:80 --listen=80 --listen=443
check proxy-twice 2 "^synwave: --backend: 198.18.20.3 is given twice" -- "${PROXY[@]}" --backend=198.18.20.3:80 --backend=198.18.20.3:80
check proxy-vip-is-backend-ip 2 "^synwave: --backend-ip: must differ" -- proxy "${NULLDEV[@]}" --backend-ip=198.18.20.2/24 --backend=198.18.20.3:80
check proxy-bad-no-backend 2 "^synwave: --no-backend: 'maybe' is not rst or drop" -- "${PROXY[@]}" --backend=198.18.20.3:80 --no-backend=maybe
check proxy-bad-max-flows 2 "^synwave: --max-flows:" -- "${PROXY[@]}" --backend=198.18.20.3:80 --max-flows=0
check proxy-bad-linger 2 "^synwave: --proxy-linger:" -- "${PROXY[@]}" --backend=198.18.20.3:80 --proxy-linger=0
check proxy-run 0 "" -- "${PROXY[@]}" --backend=198.18.20.3:8080 --backend=198.18.20.4 --duration=1.5 --json="$WORK/proxy.json" --stats-interval=0.5
grep -q "synwave proxy: VIP 198.18.20.2/24.*one-armed" "$WORK/out" || { echo "FAIL proxy start line: $(head -1 "$WORK/out")"; failures=$((failures + 1)); }
grep -q "syn .*/s  cookies-ok .*backends down,down" "$WORK/out" || { echo "FAIL proxy stats line: $(grep -m1 '^\[' "$WORK/out")"; failures=$((failures + 1)); }
/usr/bin/python3 - "$WORK/proxy.json" <<'PYEOF' || { echo "FAIL proxy report"; failures=$((failures + 1)); }
import json, sys
r = json.load(open(sys.argv[1]))
b = r["proxy"]["backends"]
assert [x["address"] for x in b] == ["198.18.20.3", "198.18.20.4"], b
assert [x["port"] for x in b] == [8080, 0], b
assert all(x["up"] == 0 and x["probes_failed"] >= 1 for x in b), b
assert r["counters"]["proxy_backend_down_events"] == 2, r["counters"]
assert r["pools"]["proxy_flows"] == 0 and r["pools"]["mbufs"] == 0
# A timeline of its own: one entry a second (and the end), proxy fields.
tl = [e for e in r["timeline"] if e.get("interval_s")]
assert len(tl) >= 1, r["timeline"]
for k in ("syn_in", "cookies_sent", "cookies_recv", "accepted", "failed", "flows", "rx_packets"):
    assert k in tl[0], (k, tl[0])
PYEOF
# ... and synwave plot draws it as a proxy run.
if /usr/bin/python3 "$SOURCE_ROOT/scripts/synwave-plot" "$WORK/proxy.json" -o "$WORK/proxy.png" >"$WORK/plot.out" 2>&1; then
  grep -q "^flows: proxy records in use" "$WORK/plot.out" && grep -q "^per second: cookie SYN-ACKs" "$WORK/plot.out" && [ -s "$WORK/proxy.png" ] ||
    { echo "FAIL proxy plot: $(cat "$WORK/plot.out")"; failures=$((failures + 1)); }
else
  echo "FAIL synwave-plot on the proxy report: $(cat "$WORK/plot.out")"; failures=$((failures + 1))
fi

if [ "$failures" != 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all CLI checks passed"
