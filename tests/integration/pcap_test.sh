#!/usr/bin/env bash
# --pcap: `synwave loopback --pcap=FILE --pcap-count=N` writes both ports'
# frames to a pcapng file that tcpdump reads; it holds N frames (the
# limit), with wall-clock times of the run, and for one connection its
# whole life: the SYN, the SYN-ACK, the request and the response, both
# FINs and the last ACK, in that order. Needs root for the EAL; exits 77
# without it, except under CI.
source "$(dirname "$0")/lib.sh"
require_root
require_tools "$PY" tcpdump

PCAP=$WORK/run.pcapng
COUNT=20000
before=$(date +%s)
"$SYNWAVE" loopback --duration=2 --concurrency=8 --pcap="$PCAP" \
  --pcap-count=$COUNT --json="$WORK/report.json" >"$WORK/synwave.log" 2>&1 ||
  fail "synwave loopback exited with $?"
after=$(date +%s)
grep -q "^pcap: $COUNT frames written to $PCAP" "$WORK/synwave.log" ||
  fail "no summary line for the capture"
tcpdump -nn -tt -r "$PCAP" >"$WORK/dump.txt" 2>"$WORK/tcpdump.err" ||
  fail "tcpdump could not read the capture: $(cat "$WORK/tcpdump.err")"
FAIL_LOGS=("$WORK/tcpdump.err")
"$PY" - "$WORK/dump.txt" "$COUNT" "$before" "$after" <<'PY' || fail "the capture does not hold a whole connection"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
count, before, after = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if len(lines) != count:
    sys.exit("%d frames, not %d" % (len(lines), count))
times = [float(l.split()[0]) for l in lines]
if not (before - 1 <= times[0] and times[-1] <= after + 1):
    sys.exit("times %s..%s are not the run's (%s..%s)" % (times[0], times[-1], before, after))
pat = re.compile(r"IP (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]*)\]")
flows = {}
for l in lines:
    m = pat.search(l)
    if not m:
        continue
    a, ap, b, bp, flags = m.groups()
    client_side = bp == "80"
    key = (a, ap) if client_side else (b, bp)
    flows.setdefault(key, []).append(("c" if client_side else "s", flags))
def whole(seq):
    want = [("c", "S"), ("s", "S."), ("c", "P."), ("s", "FP."), ("c", "F."), ("s", ".")]
    i = 0
    for step in seq:
        if i < len(want) and step == want[i]:
            i += 1
    return i == len(want)
done = [k for k, seq in flows.items() if whole(seq)]
if not done:
    sys.exit("no connection with S, S., P., FP., F., . in order among %d" % len(flows))
print("pcap: %d frames; %d connections whole, e.g. %s:%s %s" %
      (len(lines), len(done), done[0][0], done[0][1],
       " ".join(f"{d}{f}" for d, f in flows[done[0]][:12])))
PY
# Both ports' frames were copied (client and server sides of the report).
[ "$(report 'r["counters"]["capture_frames"] + r["server"]["counters"]["capture_frames"] >= '$COUNT)" = True ] ||
  fail "capture_frames below $COUNT: $(report '(r["counters"]["capture_frames"], r["server"]["counters"]["capture_frames"])')"
echo "PASS: tcpdump reads the capture: $COUNT frames, whole connections"
