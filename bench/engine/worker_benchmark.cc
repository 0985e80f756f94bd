// Microbenchmark of the whole worker path for the SYN flood case: a burst of
// SYN frames to a listener with syncookies=always, one Worker::PollOnce,
// the cookie SYN-ACKs out, each written into its SYN's own mbuf. This is the
// figure for the target "a cookie SYN-ACK in at most 100 cycles, rx and tx
// on the in-memory port included".
//
// The worker owns one queue of a net_ring port; the benchmark is the host
// at the other end of the link (the peer port of the pair). Per iteration,
// untimed: allocate `burst` mbufs, copy in prebuilt SYN frames (Linux-style
// options: MSS, SACK-permitted, timestamps, window scale; 1024 different
// 4-tuples in turn) and transmit them to the worker. Timed: PollOnce, which
// receives them (rte_eth_rx_burst on the ring), parses and verifies the
// checksums in software (net_ring has no offloads), looks the burst up,
// runs the stack, rewrites each SYN into its SYN-ACK in place, computes the
// checksums, transmits the burst (rte_eth_tx_burst), advances the timers and
// publishes its counters. Untimed again: the peer receives the SYN-ACKs and
// frees them. The setup checks that every SYN got a SYN-ACK in its own mbuf.
//
// cycles_per_item is TSC cycles of PollOnce per SYN (the TSC ticks at the
// nominal frequency: under turbo these are reference cycles, not core
// cycles); tcp_cycles_per_item is the worker's own tcp_cycles counter per
// SYN (lookup and state machine, reply frames included), the rest being rx,
// parse, tx and the loop. Time is the same TSC span (manual time).
//
// Needs the EAL, started as the engine tests start it: no hugepages, no
// PCI, no privileges. Run with --benchmark_repetitions=5 and read the
// medians: this machine is shared and noisy.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "bench/engine/worker_rig.h"
#include "engine/counters.h"
#include "port/eal.h"

namespace synwave::engine {
namespace {

using rig::Rig;

double Min(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}

// One rig per burst, kept across the calls Google Benchmark makes; main()
// clears them (closing the ports) before the EAL is cleaned up.
std::map<uint16_t, std::unique_ptr<Rig>>& Rigs() {
  static std::map<uint16_t, std::unique_ptr<Rig>> rigs;
  return rigs;
}

void BM_WorkerCookieSynAck(benchmark::State& state) {
  const auto burst = static_cast<uint16_t>(state.range(0));
  std::unique_ptr<Rig>& rig = Rigs()[burst];
  if (rig == nullptr) {
    rig = std::make_unique<Rig>(burst);
    if (rig->error().empty()) {
      const std::string e = rig->Check(burst);
      if (!e.empty()) rig->set_error(e);
    }
  }
  if (!rig->error().empty()) {
    state.SkipWithError(rig->error().c_str());
    return;
  }
  const double tsc_hz = static_cast<double>(rte_get_tsc_hz());
  const uint64_t tcp_before = rig->counters().Read(Counter::kTcpCycles);
  const uint64_t tx_before = rig->counters().Read(Counter::kTxPackets);
  uint64_t items = 0;
  uint64_t cycles = 0;
  rte_mbuf* bufs[kMaxBurst];
  for (auto _ : state) {
    if (!rig->Inject(burst, bufs)) {
      state.SkipWithError("could not inject (mbuf pool or ring full)");
      break;
    }
    const uint64_t c = rig->Poll();
    state.SetIterationTime(static_cast<double>(c) / tsc_hz);
    cycles += c;
    items += burst;
    rig->Drain(bufs, kMaxBurst);
  }
  const uint64_t tx = rig->counters().Read(Counter::kTxPackets) - tx_before;
  if (tx != items) state.SkipWithError("not every SYN was answered");
  state.SetItemsProcessed(static_cast<int64_t>(items));
  const double n = items > 0 ? static_cast<double>(items) : 1.0;
  state.counters["cycles_per_item"] = static_cast<double>(cycles) / n;
  state.counters["tcp_cycles_per_item"] =
      static_cast<double>(rig->counters().Read(Counter::kTcpCycles) -
                          tcp_before) /
      n;
  state.counters["time_per_item"] = benchmark::Counter(
      static_cast<double>(items),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_WorkerCookieSynAck)
    ->ArgName("burst")
    ->Arg(32)
    ->Arg(1)
    ->UseManualTime()
    ->ComputeStatistics("min", Min);

}  // namespace
}  // namespace synwave::engine

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::string prefix = "synwave_bench_" + std::to_string(getpid());
  const absl::Status s = synwave::port::InitEal(
      {"worker_benchmark", "--no-huge", "-m", "256", "--no-pci",
       "--no-shconf", "--log-level=warning", "-l", "0",
       "--file-prefix=" + prefix});
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fprintf(stderr, "worker_benchmark: %llu polls, %llu replies\n",
               static_cast<unsigned long long>(synwave::engine::rig::total_polls),
               static_cast<unsigned long long>(synwave::engine::rig::total_replies));
  synwave::engine::Rigs().clear();
  synwave::port::CleanupEal();
  return 0;
}
