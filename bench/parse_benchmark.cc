// Microbenchmarks for ParseFrame, the first per-packet stage of the worker.
//
// The frame is a Linux-style SYN (MSS, SACK-permitted, timestamps, window
// scale), the packet a listener sees most under load. Each case runs with
// checksums verified in software (net_tap, net_ring) and with the NIC's
// "good" flags (kGood), for one frame per iteration and for a burst of 32
// distinct buffers as rx_burst delivers them. Besides time, each case reports
// cycles_per_item from the TSC read around the whole loop; the TSC ticks at
// the nominal frequency, so under turbo this is reference cycles, not core
// cycles.
#include <x86intrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "testing/frame_builder.h"
#include "wire/checksum.h"
#include "wire/parse.h"

namespace synwave::wire {
namespace {

// A pure ACK of an established flow: NOP, NOP, timestamps.
std::vector<uint8_t> AckFrame(uint16_t src_port) {
  testutil::TcpFrame f;
  f.tcp.src_port = src_port;
  f.tcp.flags = tcp_flags::kAck;
  f.tcp.seq = 1000u + src_port;
  f.tcp.ack = 5000;
  f.tcp.options.has_timestamps = true;
  f.tcp.options.ts_val = 77;
  f.tcp.options.ts_ecr = 99;
  return testutil::BuildFrame(f);
}

std::vector<uint8_t> SynFrame(uint16_t src_port) {
  testutil::TcpFrame f;
  f.ip.src = Ipv4Address::FromOctets(192, 168, 1, 10);
  f.ip.dst = Ipv4Address::FromOctets(192, 168, 1, 20);
  f.tcp.src_port = src_port;
  f.tcp.dst_port = 80;
  f.tcp.seq = 0x01020304u + src_port;
  f.tcp.flags = tcp_flags::kSyn;
  f.tcp.window = 64240;
  f.tcp.options.has_mss = true;
  f.tcp.options.mss = 1460;
  f.tcp.options.sack_permitted = true;
  f.tcp.options.has_timestamps = true;
  f.tcp.options.ts_val = 0x11223344u + src_port;
  f.tcp.options.has_window_scale = true;
  f.tcp.options.window_scale = 7;
  return testutil::BuildFrame(f);
}

// With --benchmark_repetitions, the fastest repetition is the one least
// disturbed by other load on the machine. ("min" of a rate counter such as
// items_per_second is the slowest run; read time_per_item instead.)
double Min(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}

void ReportPerItem(benchmark::State& state, uint64_t tsc_cycles,
                   int64_t items) {
  state.SetItemsProcessed(items);
  state.counters["cycles_per_item"] =
      items > 0 ? static_cast<double>(tsc_cycles) / static_cast<double>(items)
                : 0.0;
  state.counters["time_per_item"] = benchmark::Counter(
      static_cast<double>(items),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <int kBurst>
void ParseLoop(benchmark::State& state, RxOffload offload,
               std::vector<uint8_t> (*make_frame)(uint16_t)) {
  // One buffer per burst slot, as the mbufs of an rx burst would be.
  std::vector<std::vector<uint8_t>> frames;
  for (int i = 0; i < kBurst; ++i) {
    frames.push_back(make_frame(static_cast<uint16_t>(40000 + i)));
  }
  const auto len = static_cast<uint32_t>(frames[0].size());
  PacketInfo infos[kBurst];
  for (int i = 0; i < kBurst; ++i) {
    if (ParseFrame(frames[i].data(), len, offload, &infos[i]) != Verdict::kOk) {
      state.SkipWithError("benchmark frame does not parse");
      return;
    }
  }
  const uint8_t* data[kBurst];
  for (int i = 0; i < kBurst; ++i) data[i] = frames[i].data();

  const uint64_t start = __rdtsc();
  for (auto _ : state) {
    for (int i = 0; i < kBurst; ++i) {
      Verdict v = ParseFrame(data[i], len, offload, &infos[i]);
      benchmark::DoNotOptimize(v);
    }
    benchmark::ClobberMemory();
  }
  const uint64_t cycles = __rdtsc() - start;
  ReportPerItem(state, cycles,
                static_cast<int64_t>(state.iterations()) * kBurst);
}

constexpr RxOffload kSoftware{RxChecksum::kUnknown, RxChecksum::kUnknown};
constexpr RxOffload kOffloadGood{RxChecksum::kGood, RxChecksum::kGood};

void BM_ParseSynSoftware(benchmark::State& state) {
  ParseLoop<1>(state, kSoftware, SynFrame);
}
void BM_ParseSynSoftwareBurst32(benchmark::State& state) {
  ParseLoop<32>(state, kSoftware, SynFrame);
}
void BM_ParseSynOffloadGood(benchmark::State& state) {
  ParseLoop<1>(state, kOffloadGood, SynFrame);
}
void BM_ParseSynOffloadGoodBurst32(benchmark::State& state) {
  ParseLoop<32>(state, kOffloadGood, SynFrame);
}
BENCHMARK(BM_ParseSynSoftware)->ComputeStatistics("min", Min);
BENCHMARK(BM_ParseSynSoftwareBurst32)->ComputeStatistics("min", Min);
BENCHMARK(BM_ParseSynOffloadGood)->ComputeStatistics("min", Min);
BENCHMARK(BM_ParseSynOffloadGoodBurst32)->ComputeStatistics("min", Min);

void BM_ParseAckTimestampsOffloadGoodBurst32(benchmark::State& state) {
  ParseLoop<32>(state, kOffloadGood, AckFrame);
}
BENCHMARK(BM_ParseAckTimestampsOffloadGoodBurst32)
    ->ComputeStatistics("min", Min);

// The software checksum's share of the above, and its cost on a full-size
// segment.
void BM_PartialSum(benchmark::State& state) {
  const auto len = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf(len + 1);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 7);
  const uint64_t start = __rdtsc();
  for (auto _ : state) {
    uint32_t sum = PartialSum(buf.data() + 1, len);  // unaligned on purpose
    benchmark::DoNotOptimize(sum);
  }
  const uint64_t cycles = __rdtsc() - start;
  ReportPerItem(state, cycles, static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_PartialSum)
    ->Arg(20)
    ->Arg(40)
    ->Arg(1460)
    ->ComputeStatistics("min", Min);

}  // namespace
}  // namespace synwave::wire

BENCHMARK_MAIN();
