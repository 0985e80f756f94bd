#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs
# every suite three ways:
#   1. the normal build (build/): unit, engine, fuzz replay, cli, integration;
#   2. the same suites but the kernel integration tests, built with
#      AddressSanitizer and UBSan (build-asan/);
#   3. the libFuzzer targets built with clang (build-fuzz/): the parser and
#      the TCP stack, each run for FUZZ_SECONDS (default 40) over its seed
#      corpus.
# Integration tests need root and /dev/net/tun; elsewhere they are skipped,
# except under CI=true, where they must run. Prints one summary line:
#   tests: N passed, N failed, N skipped
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-40}
passed=0 failed=0 skipped=0

tally() {  # adds the results of a meson test log
  read -r p f s < <(/usr/bin/python3 - "$1" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

run_suites() {  # run_suites BUILDDIR [meson setup options...]
  # TEST_ARGS: extra `meson test` arguments for this tree.
  local dir=$1
  shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" -Dtests=enabled "$@" >/dev/null
  ninja -C "$dir" -j "$JOBS"
  local rc=0
  # shellcheck disable=SC2086
  meson test -C "$dir" --print-errorlogs --num-processes "$JOBS" ${TEST_ARGS:-} || rc=$?
  tally "$dir/meson-logs/testlog.json"
  return $rc
}

status=0
echo "== normal build"
run_suites build || status=1
echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# The sanitizers run every suite but the kernel integration tests: those
# check behaviour against Linux (the normal tree runs them), and the same
# code paths run under the sanitizers in the engine, scripted, proxy and
# loopback suites. Leaving them out keeps the command near 20 minutes.
# -O1, as the sanitizers' own documentation advises: it keeps the reports
# exact and compiles in about 60% of -O2's time.
TEST_ARGS="--no-suite integration" \
run_suites build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Doptimization=1 -Dbenchmarks=disabled || status=1
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "== libFuzzer: parser for ${FUZZ_SECONDS}s"
[ -f build-fuzz/build.ninja ] ||
  CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dtests=enabled \
    -Dbenchmarks=disabled >/dev/null
ninja -C build-fuzz -j "$JOBS" tests/fuzz/parse_fuzzer
mkdir -p build-fuzz/corpus
if build-fuzz/tests/fuzz/parse_fuzzer -max_total_time="$FUZZ_SECONDS" \
     -print_final_stats=1 build-fuzz/corpus tests/fuzz/corpus \
     >build-fuzz/fuzz.log 2>&1; then
  grep -E "stat::number_of_executed_units|stat::new_units_added" build-fuzz/fuzz.log || true
  passed=$((passed + 1))
else
  tail -40 build-fuzz/fuzz.log
  echo "fuzzer found a crash (see build-fuzz/fuzz.log)"
  failed=$((failed + 1))
  status=1
fi

echo "== libFuzzer: TCP stack for ${FUZZ_SECONDS}s"
ninja -C build-fuzz -j "$JOBS" tests/fuzz/stack_fuzzer
mkdir -p build-fuzz/stack-corpus
if build-fuzz/tests/fuzz/stack_fuzzer -max_total_time="$FUZZ_SECONDS" -max_len=2048 \
     -print_final_stats=1 build-fuzz/stack-corpus tests/fuzz/corpus/stack \
     >build-fuzz/stack-fuzz.log 2>&1; then
  grep -E "stat::number_of_executed_units|stat::new_units_added" build-fuzz/stack-fuzz.log || true
  passed=$((passed + 1))
else
  tail -40 build-fuzz/stack-fuzz.log
  echo "stack fuzzer found a crash (see build-fuzz/stack-fuzz.log)"
  failed=$((failed + 1))
  status=1
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
