#!/usr/bin/env bash
# Reports from several runs, merged and drawn: two `synwave loopback` runs
# (one after the other, as two hosts' generators would be, side by side)
# merge into one report whose connections and latency counts are the sums
# and whose timeline holds both runs' seconds; `synwave plot` draws it (and
# a serve run's report) as PNG files with the series it names. Needs root
# for the EAL; exits 77 without it, except under CI.
source "$(dirname "$0")/lib.sh"
require_root
require_tools "$PY"
"$PY" -c 'import matplotlib' 2>/dev/null ||
  skip_or_fail "missing python3-matplotlib (scripts/setup.sh installs it)"

for run in a b; do
  "$SYNWAVE" loopback --duration=1 --drain=0.5 --json="$WORK/$run.json" \
    >"$WORK/$run.log" 2>&1 || fail "loopback run $run exited with $?"
done
"$SYNWAVE" report merge "$WORK/a.json" "$WORK/b.json" -o "$WORK/all.json" \
  >"$WORK/merge.log" 2>&1 || fail "report merge: $(cat "$WORK/merge.log")"
cat "$WORK/merge.log"
"$PY" - "$WORK/a.json" "$WORK/b.json" "$WORK/all.json" <<'PY' || fail "the merged report does not add up"
import json, sys
a, b, m = (json.load(open(p)) for p in sys.argv[1:4])
def check(cond, what):
    if not cond:
        sys.exit("merge: " + what)
for k in ("attempted", "completed", "failed"):
    check(m["connections"][k] == a["connections"][k] + b["connections"][k], k)
check(m["counters"]["ActiveOpens"] == a["counters"]["ActiveOpens"] + b["counters"]["ActiveOpens"],
      "counters")
lat = m["latency_us"]["total"]
check(lat["count"] == a["latency_us"]["total"]["count"] + b["latency_us"]["total"]["count"],
      "latency count")
check(min(a["latency_us"]["total"]["p50"], b["latency_us"]["total"]["p50"]) <= lat["p50"]
      <= max(a["latency_us"]["total"]["p50"], b["latency_us"]["total"]["p50"]), "p50")
check(lat["max"] == max(a["latency_us"]["total"]["max"], b["latency_us"]["total"]["max"]), "max")
check(sum(e["completed"] for e in m["timeline"]) ==
      sum(e["completed"] for e in a["timeline"] + b["timeline"]), "timeline sums")
check(m["duration_s"] >= a["duration_s"] + b["duration_s"], "span")
print("merge: %d + %d = %d completed, p50 %d us, timeline of %d seconds" %
      (a["connections"]["completed"], b["connections"]["completed"],
       m["connections"]["completed"], lat["p50"], len(m["timeline"])))
PY
"$SYNWAVE" plot "$WORK/all.json" -o "$WORK/all.png" >"$WORK/plot.log" 2>&1 ||
  fail "plot: $(cat "$WORK/plot.log")"
grep -q '^connections per second: completed (peak [1-9]' "$WORK/plot.log" ||
  fail "the picture has no completed connections: $(cat "$WORK/plot.log")"
grep -q '^latency of the connections completed each second (ms): p99' "$WORK/plot.log" ||
  fail "the picture has no latency"
[ "$(head -c 8 "$WORK/all.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] ||
  fail "all.png is not a PNG"

# A serve run's picture: accepted connections and cookies per second.
"$SYNWAVE" serve --port=net_null0 --ip=198.18.20.2/24 --lcores=0 --duration=2.5 \
  --json="$WORK/serve.json" >"$WORK/serve.log" 2>&1 || fail "serve exited with $?"
"$SYNWAVE" plot "$WORK/serve.json" -o "$WORK/serve.png" >"$WORK/plot2.log" 2>&1 ||
  fail "plot of serve: $(cat "$WORK/plot2.log")"
grep -q '^connections per second: cookie SYN-ACKs' "$WORK/plot2.log" ||
  fail "the serve picture has no cookie series: $(cat "$WORK/plot2.log")"
echo "PASS: two runs merged exactly and drawn; a serve run drawn"
