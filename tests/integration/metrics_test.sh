#!/usr/bin/env bash
# Live metrics while a run goes: `synwave loopback --metrics=127.0.0.1:0`
# (stopped with SIGTERM once the queries are done)
# serves a Prometheus text exposition, which a parser of the format
# (python3-prometheus-client) reads: counters typed `counter` with HELP
# lines, pools and per-state connections typed `gauge`, `side` and `core`
# labels, and a counter that grows between two scrapes; the DPDK telemetry
# commands /synwave/counters, /synwave/states and /synwave/pools answer
# through dpdk-telemetry.py. Needs root for the EAL; exits 77 without it,
# except under CI.
source "$(dirname "$0")/lib.sh"
require_root
require_tools "$PY" curl dpdk-telemetry.py
"$PY" -c 'import prometheus_client' 2>/dev/null ||
  skip_or_fail "missing python3-prometheus-client (scripts/setup.sh installs it)"

PREFIX=swmetrics$$
"$SYNWAVE" loopback --duration=60 --metrics=127.0.0.1:0 --json="$WORK/report.json" \
  --eal="--no-huge -m 512 --no-shconf --no-pci --file-prefix=$PREFIX" \
  >"$WORK/synwave.log" 2>&1 &
SYNWAVE_PID=$!
wait_for_line "$WORK/synwave.log" '^metrics: http://' "$SYNWAVE_PID" "synwave loopback"
url=$(sed -n 's|^metrics: \(http://.*\)$|\1|p' "$WORK/synwave.log")
sleep 1
curl -sf "$url" >"$WORK/scrape1.txt" || fail "no exposition at $url"
sleep 1
curl -sf "$url" >"$WORK/scrape2.txt" || fail "no second exposition at $url"
echo /synwave/counters | dpdk-telemetry.py -f "$PREFIX" >"$WORK/tel_counters.txt" 2>&1 ||
  fail "dpdk-telemetry.py: $(cat "$WORK/tel_counters.txt")"
printf '/synwave/states\n/synwave/pools,0\n' | dpdk-telemetry.py -f "$PREFIX" \
  >"$WORK/tel_more.txt" 2>&1 || fail "dpdk-telemetry.py: $(cat "$WORK/tel_more.txt")"
kill -0 "$SYNWAVE_PID" 2>/dev/null || fail "the run ended before the queries were done"
stop_endpoint   # SIGTERM: the run stops cleanly and writes its report

"$PY" - "$WORK/scrape1.txt" "$WORK/scrape2.txt" "$WORK/tel_counters.txt" "$WORK/tel_more.txt" <<'PY' || fail "metrics check failed"
import json, sys
from prometheus_client.parser import text_string_to_metric_families

def families(path):
    return {f.name: f for f in text_string_to_metric_families(open(path).read())}

one, two = families(sys.argv[1]), families(sys.argv[2])
def check(cond, what):
    if not cond:
        print("metrics: " + what)
        sys.exit(1)
# The parser strips a counter's _total suffix from the family name.
c = one.get("synwave_load_completed")
check(c is not None and c.type == "counter", "load_completed is not a counter")
check(c.documentation.startswith("generator connections completed"), "no HELP line")
rx = one.get("synwave_rx_packets")
check(rx is not None and rx.type == "counter", "rx_packets is not a counter")
tcbs = one.get("synwave_tcbs")
check(tcbs is not None and tcbs.type == "gauge", "tcbs is not a gauge")
states = one.get("synwave_tcp_connections")
check(states is not None and states.type == "gauge", "no per-state gauge")
check({s.labels.get("state") for s in states.samples} >= {"ESTABLISHED", "TIME-WAIT", "LISTEN"},
      "states missing")
for s in rx.samples:
    check(set(s.labels) == {"side", "core"}, "labels %r" % s.labels)
check({s.labels["side"] for s in rx.samples} == {"client", "server"}, "sides")
def completed(fams):
    return sum(s.value for s in fams["synwave_load_completed"].samples
               if s.labels["side"] == "client" and s.name.endswith("_total"))
check(completed(two) > completed(one) > 0,
      "load_completed did not grow: %s -> %s" % (completed(one), completed(two)))
# dpdk-telemetry.py prints each answer as one JSON object per line.
def answers(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            out.update(json.loads(line))
    return out
t = answers(sys.argv[3])
check(t["/synwave/counters"]["client"]["load_completed"] > 0, "telemetry counters")
m = answers(sys.argv[4])
check({"ESTABLISHED", "SYN_RECEIVED", "TIME_WAIT"} <= set(m["/synwave/states"]["server"]),
      "telemetry states: %r" % m["/synwave/states"])
check("tcbs" in m["/synwave/pools"]["client"], "telemetry pools for core 0")
print("metrics: load_completed %d -> %d between scrapes; telemetry answered" %
      (completed(one), completed(two)))
PY
echo "PASS: a Prometheus exposition and the /synwave/* telemetry commands while loopback ran"
