// Microbenchmarks of one TCP segment through TcpStack, per path: the SYN
// answered by a cookie or by the SYN queue, the ACK that completes either
// handshake, an established data segment (its ACK going out at Flush) and a
// pure ACK, the FIN and ACK of each closing state and the transitions into
// TIME-WAIT, and TIME-WAIT insert and expiry with ~10^6 records live.
// bench/tcp/segment_paths.h describes the paths and how each is set up.
//
// The argument is the burst: 32 segments through one FindBulk and one
// Flush, as the worker does with a full rx burst, or 1 (a lightly loaded
// core: the per-burst costs are paid by every segment); the second, ipv6,
// runs the same path over IPv6 tuples (burst 32). Each round has one
// segment for each of 4096 connections (4000 for TIME-WAIT); between rounds
// the driver recycles state so the pools never fill, with the clock paused.
// Besides time, each case reports cycles_per_item from the TSC read around
// the timed part only; the TSC ticks at the nominal frequency, so under
// turbo this is reference cycles, not core cycles. time_per_item is the
// benchmark's own (CPU) time per segment.
//
// Run with --benchmark_repetitions=5 and read the medians: this machine is
// shared and noisy. TIME_WAIT_LIVE=N in the environment sets the records
// live during the TIME-WAIT paths (default 10^6).
#include <x86intrin.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <tuple>
#include <memory>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "segment_paths.h"

namespace synwave::bench {
namespace {

// With --benchmark_repetitions, the fastest repetition is the one least
// disturbed by other load on the machine.
double Min(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}

// Drivers live across the calls Google Benchmark makes while it picks an
// iteration count, so the TIME-WAIT population is built once per burst.
PathDriver& Driver(Path path, uint32_t burst, bool ipv6) {
  static std::map<std::tuple<Path, uint32_t, bool>,
                  std::unique_ptr<PathDriver>>
      drivers;
  std::unique_ptr<PathDriver>& d = drivers[{path, burst, ipv6}];
  if (d == nullptr) {
    PathOptions o;
    o.burst = burst;
    o.ipv6 = ipv6;
    if (path == Path::kTimeWaitInsert || path == Path::kTimeWaitExpire) {
      o.connections = 4000;  // 250 groups of 4000 = 10^6 records
      // TIME_WAIT_LIVE=10000000: a full-length TIME-WAIT at a high rate
      // (about 850 MB of records and table).
      if (const char* live = std::getenv("TIME_WAIT_LIVE")) {
        o.time_wait_live = static_cast<uint32_t>(std::strtoul(live, nullptr, 10));
      }
    }
    d = std::make_unique<PathDriver>(path, o);
  }
  return *d;
}

void BM_Segment(benchmark::State& state, Path path) {
  PathDriver& d = Driver(path, static_cast<uint32_t>(state.range(0)),
                         state.range(1) != 0);
  state.SetLabel(std::string(PathDescription(path)));
  uint64_t items = 0;
  uint64_t tsc = 0;
  uint64_t start = __rdtsc();
  for (auto _ : state) {
    if (d.RoundDone()) {
      tsc += __rdtsc() - start;
      if (d.stateful()) state.PauseTiming();
      const std::string error = d.CheckRound();
      if (!error.empty()) {
        if (d.stateful()) state.ResumeTiming();
        state.SkipWithError(error.c_str());
        break;
      }
      d.PrepareRound();
      if (d.stateful()) state.ResumeTiming();
      start = __rdtsc();
    }
    items += d.RunBurst();
  }
  tsc += __rdtsc() - start;
  state.SetItemsProcessed(static_cast<int64_t>(items));
  state.counters["cycles_per_item"] =
      items > 0 ? static_cast<double>(tsc) / static_cast<double>(items) : 0.0;
  state.counters["time_per_item"] = benchmark::Counter(
      static_cast<double>(items),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

#define SYNWAVE_X(e, name, what)                       \
  BENCHMARK_CAPTURE(BM_Segment, e, Path::k##e)         \
      ->ArgNames({"burst", "ipv6"})                    \
      ->Args({32, 0})                                  \
      ->Args({1, 0})                                   \
      ->Args({32, 1})                                  \
      ->ComputeStatistics("min", Min);
SYNWAVE_SEGMENT_PATHS(SYNWAVE_X)
#undef SYNWAVE_X

}  // namespace
}  // namespace synwave::bench

BENCHMARK_MAIN();
