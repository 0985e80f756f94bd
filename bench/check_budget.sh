#!/usr/bin/env bash
# Instruction-count budgets: counts the instructions per segment of every
# TcpStack path, the proxy's paths and the worker's cookie SYN-ACK path
# (worker-syn-cookie: Ir per SYN, bench/engine/worker_cost; all from
# bench/callgrind.sh at burst 32), and the load client's Ir per connection
# (conn-client-server, conn-client-client: the client Worker's PollOnce in
# bench/engine/conn_cost) and compares them with
# bench/ir_budget.txt. Fails when a path costs more than its budget plus
# TOLERANCE percent (default 3), when a path has no budget, or when a budget
# names a path that no longer exists. Ir are exact for a given compiler and
# build type, so this is not a timing test; the file records both, and with
# another compiler or build type the check is skipped (exit 77), since its
# counts would not be comparable.
#
#   bench/check_budget.sh BUILD_DIR           check
#   bench/check_budget.sh BUILD_DIR --update  rewrite bench/ir_budget.txt
#
# A change that is meant to cost more updates the file in the same commit
# and says why in its message. Paths that got more than TOLERANCE percent
# cheaper are listed too, so the budget can be tightened.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:?usage: bench/check_budget.sh BUILD_DIR [--update]}
MODE=${2:-check}
TOLERANCE=${TOLERANCE:-3}
BUDGET=bench/ir_budget.txt

command -v valgrind >/dev/null || { echo "check_budget: valgrind is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
compiler=$(c++ --version | head -1)
buildtype=$(meson introspect --buildoptions "$BUILD" |
  /usr/bin/python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')
sanitize=$(meson introspect --buildoptions "$BUILD" |
  /usr/bin/python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"))')

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
BURSTS=32 WORKER=1 CLIENT=1 CONN=0 PARSE=0 PROXY=1 IPV6=0 PATHS=all ROUNDS=2 OUT=$out bench/callgrind.sh "$BUILD" >"$out/table" 2>"$out/err" ||
  { cat "$out/err" >&2; exit 1; }
# The table: path burst segments Ir Ir/segment, until the first empty line.
awk 'NR > 1 && NF == 5 {print $1, $5} NF == 0 {exit}' "$out/table" >"$out/measured"

if [ "$MODE" = --update ]; then
  {
    echo "# Instructions per segment (callgrind Ir) of each segment_cost and proxy_cost path, and"
    echo "# per SYN of the worker's cookie SYN-ACK path (worker_cost), at burst 32, and per"
    echo "# connection of the load client's PollOnce (conn_cost, conn-client-*), checked by"
    echo "# bench/check_budget.sh (meson test ir_budget) with a"
    echo "# tolerance of $TOLERANCE%. Update with: bench/check_budget.sh BUILD --update"
    echo "compiler: $compiler"
    echo "buildtype: $buildtype"
    echo "sanitize: $sanitize"
    cat "$out/measured"
  } >"$BUDGET"
  echo "check_budget: wrote $BUDGET"
  cat "$out/measured"
  exit 0
fi

[ -f "$BUDGET" ] || { echo "check_budget: $BUDGET is missing (--update writes it)" >&2; exit 1; }
want_compiler=$(sed -n 's/^compiler: //p' "$BUDGET")
want_buildtype=$(sed -n 's/^buildtype: //p' "$BUDGET")
want_sanitize=$(sed -n 's/^sanitize: //p' "$BUDGET")
if [ "$compiler" != "$want_compiler" ] || [ "$buildtype" != "$want_buildtype" ] ||
   [ "$sanitize" != "$want_sanitize" ]; then
  echo "check_budget: the budget was counted with '$want_compiler', $want_buildtype, sanitize=$want_sanitize;"
  echo "this build is '$compiler', $buildtype, sanitize=$sanitize: counts are not comparable, skipped"
  exit 77
fi

grep -v -e '^#' -e ':' "$BUDGET" >"$out/budget"
/usr/bin/python3 - "$out/budget" "$out/measured" "$TOLERANCE" <<'PY'
import sys
budget = dict(l.split() for l in open(sys.argv[1]) if l.strip())
measured = dict(l.split() for l in open(sys.argv[2]) if l.strip())
tol = float(sys.argv[3])
failed = False
print(f"{'path':<20} {'budget':>9} {'measured':>9} {'change':>8}")
for path in sorted(set(budget) | set(measured)):
    if path not in measured:
        print(f"{path:<20} {budget[path]:>9} {'-':>9}   path no longer measured: remove it from the budget")
        failed = True
        continue
    if path not in budget:
        print(f"{path:<20} {'-':>9} {measured[path]:>9}   no budget: add it (--update)")
        failed = True
        continue
    b, m = float(budget[path]), float(measured[path])
    change = (m - b) / b * 100
    verdict = ""
    if change > tol:
        verdict = f"  OVER BUDGET (more than {tol:g}%)"
        failed = True
    elif change < -tol:
        verdict = "  cheaper: tighten the budget (--update)"
    print(f"{path:<20} {b:>9.1f} {m:>9.1f} {change:>+7.1f}%{verdict}")
sys.exit(1 if failed else 0)
PY
