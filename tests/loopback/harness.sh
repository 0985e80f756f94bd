# Sourced by the loopback tests: the root check, a scratch folder, and
#   run NAME ARGS...   one `synwave loopback $LOOPBACK_ARGS ARGS` with a JSON
#                      report in $WORK/NAME.json; a failing run prints its
#                      output and fails with synwave's exit status (read
#                      before anything else runs: after `cat` $? is cat's);
#   check NAME EXPR    a Python expression over the report must hold: `r`
#                      the report, `c` its connections, `s` the server's
#                      counters, `p` the proxy's (empty without one).
# Set before sourcing: LOOPBACK_ARGS (an array, may be empty) and SUMMARY
# (the lines of a run's output to show, an extended regular expression).
set -euo pipefail
SYNWAVE=${SYNWAVE:?SYNWAVE must point to the synwave binary}
PY=/usr/bin/python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = "true" ]; then echo "FAIL: needs root under CI" >&2; exit 1; fi
  echo "SKIP: needs root for the DPDK EAL" >&2
  exit 77
fi

fail() { echo "FAIL: $*" >&2; exit 1; }

run() {
  local name=$1; shift
  local rc=0
  echo "== synwave loopback ${LOOPBACK_ARGS[*]} $*"
  "$SYNWAVE" loopback "${LOOPBACK_ARGS[@]}" --json="$WORK/$name.json" "$@" \
    > "$WORK/$name.out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    cat "$WORK/$name.out"
    fail "$name: synwave exited with status $rc"
  fi
  grep -E "$SUMMARY" "$WORK/$name.out"
}

check() {
  local name=$1 expr=$2
  "$PY" - "$WORK/$name.json" "$expr" <<'PYEOF' || { cat "$WORK/$1.out" 2>/dev/null; fail "$name: $expr"; }
import json, sys
r = json.load(open(sys.argv[1]))
c = r["connections"]
s = r["server"]["counters"]
p = r["proxy"]["counters"] if "proxy" in r else {}
ok = eval(sys.argv[2])
if not ok:
    print("report:", json.dumps({k: r[k] for k in ("connections", "cps", "pools")}), file=sys.stderr)
    print("server pools:", json.dumps(r["server"]["pools"]), "server peaks:", json.dumps(r["server"]["pool_peaks"]), file=sys.stderr)
    if p:
        print("proxy:", json.dumps({k: v for k, v in p.items() if k.startswith("proxy") and v}), file=sys.stderr)
        print("proxy pools:", json.dumps(r["proxy"]["pools"]), file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF
}
