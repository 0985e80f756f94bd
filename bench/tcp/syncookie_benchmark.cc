// Microbenchmarks for SYN cookies: the cost of answering one SYN of a flood
// (Make, one at a time and as a burst through MakeBatch on each of its
// paths) and of validating the completing ACK (Check, for a valid cookie and
// for a forged one).
//
// Each case works on 32 different 4-tuples per iteration, as a 32-packet RX
// burst would, with inputs prepared before the timed loop. Besides time,
// each reports cycles_per_item from the TSC read around the whole loop. The
// TSC ticks at the nominal frequency, so under turbo this is reference
// cycles, not core cycles.
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <cstdint>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "flow/flow_key.h"
#include "tcp/syncookie.h"
#include "wire/seq_num.h"

namespace synwave::tcp {
namespace {

using flow::FlowKey;
using wire::SeqNum;

constexpr size_t kBurst = 32;
constexpr uint32_t kCounter = 0x1234;

uint64_t ReadTsc() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return 0;
#endif
}

// One burst of SYNs to a server: a few local addresses on 443, clients
// spread over a /12 with random ports, ISNs and MSS values.
struct Burst {
  FlowKey keys[kBurst];
  SeqNum isns[kBurst];
  uint16_t mss[kBurst];
  SeqNum cookies[kBurst];  // valid cookies for the above at kCounter
};

Burst MakeBurst(const SynCookies& cookies) {
  std::mt19937_64 rng(1);
  Burst b;
  for (size_t i = 0; i < kBurst; ++i) {
    const uint64_t r = rng();
    b.keys[i] = {0x0a000001u + static_cast<uint32_t>(r & 3),
                 0xac100000u + static_cast<uint32_t>((r >> 2) & 0xfffff), 443,
                 static_cast<uint16_t>(r >> 32)};
    b.isns[i] = SeqNum(static_cast<uint32_t>(rng()));
    b.mss[i] = kCookieMssTable[rng() & 3];
    b.cookies[i] = cookies.Make(b.keys[i], b.isns[i], b.mss[i], kCounter);
  }
  return b;
}

SynCookies Cookies(SynCookieImpl impl = SynCookieImpl::kAuto) {
  return SynCookies(SipKey{0x243f6a8885a308d3ull, 0x13198a2e03707344ull}, impl);
}

void Finish(benchmark::State& state, uint64_t tsc_start) {
  const uint64_t cycles = ReadTsc() - tsc_start;
  const double items = static_cast<double>(state.iterations()) * kBurst;
  state.SetItemsProcessed(static_cast<int64_t>(items));
  state.counters["cycles_per_item"] = static_cast<double>(cycles) / items;
}

void BM_MakeSingle(benchmark::State& state) {
  const SynCookies cookies = Cookies();
  Burst b = MakeBurst(cookies);
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    for (size_t i = 0; i < kBurst; ++i) {
      b.cookies[i] = cookies.Make(b.keys[i], b.isns[i], b.mss[i], kCounter);
    }
    benchmark::DoNotOptimize(b.cookies);
    benchmark::ClobberMemory();
  }
  Finish(state, start);
}
BENCHMARK(BM_MakeSingle);

// Make where each call's input depends on the previous cookie, so calls
// cannot overlap: the latency of one cookie, as when Make sits inside a
// long per-packet path.
void BM_MakeChained(benchmark::State& state) {
  const SynCookies cookies = Cookies();
  Burst b = MakeBurst(cookies);
  SeqNum prev(0);
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    for (size_t i = 0; i < kBurst; ++i) {
      prev =
          cookies.Make(b.keys[i], b.isns[i] + prev.value(), b.mss[i], kCounter);
    }
    benchmark::DoNotOptimize(prev);
  }
  Finish(state, start);
}
BENCHMARK(BM_MakeChained);

// MakeBatch on each path the CPU has (argument: SynCookieImpl).
void BM_MakeBatch(benchmark::State& state) {
  const auto impl = static_cast<SynCookieImpl>(state.range(0));
  const SynCookies cookies = Cookies(impl);
  if (cookies.impl() != impl) {
    state.SkipWithError("not supported by this CPU");
    return;
  }
  state.SetLabel(std::string(SynCookieImplName(impl)));
  Burst b = MakeBurst(cookies);
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    cookies.MakeBatch(b.keys, b.isns, b.mss, kBurst, kCounter, b.cookies);
    benchmark::DoNotOptimize(b.cookies);
    benchmark::ClobberMemory();
  }
  Finish(state, start);
}
BENCHMARK(BM_MakeBatch)
    ->Arg(static_cast<int>(SynCookieImpl::kScalar))
    ->Arg(static_cast<int>(SynCookieImpl::kAvx2))
    ->Arg(static_cast<int>(SynCookieImpl::kAvx512));

// Check of the completing ACK at age 1 (the counter has moved on by one).
void BM_CheckValid(benchmark::State& state) {
  const SynCookies cookies = Cookies();
  const Burst b = MakeBurst(cookies);
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    uint32_t sum = 0;
    for (size_t i = 0; i < kBurst; ++i) {
      sum += cookies.Check(b.keys[i], b.isns[i], b.cookies[i], kCounter + 1);
    }
    benchmark::DoNotOptimize(sum);
  }
  Finish(state, start);
}
BENCHMARK(BM_CheckValid);

// Check of forged ACKs (random SEG.ACK): the same work, all rejected.
void BM_CheckInvalid(benchmark::State& state) {
  const SynCookies cookies = Cookies();
  Burst b = MakeBurst(cookies);
  std::mt19937_64 rng(2);
  for (SeqNum& c : b.cookies) c = SeqNum(static_cast<uint32_t>(rng()));
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    uint32_t sum = 0;
    for (size_t i = 0; i < kBurst; ++i) {
      sum += cookies.Check(b.keys[i], b.isns[i], b.cookies[i], kCounter);
    }
    benchmark::DoNotOptimize(sum);
  }
  Finish(state, start);
}
BENCHMARK(BM_CheckInvalid);

}  // namespace
}  // namespace synwave::tcp

BENCHMARK_MAIN();
