// Microbenchmarks of synwave proxy's per-segment work (ProxyCore::Process,
// no DPDK): a forwarded data segment client -> backend and backend ->
// client (lookup, addresses, ports, seq/ack, timestamps, incremental
// checksums, FIN/RST bookkeeping), and the cookie path (a SYN answered with
// a cookie SYN-ACK's description; writing the frame is the link's, as in
// serve). Bursts of 32 frames of 32 flows; cycles_per_item from the TSC
// (reference cycles under turbo).
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "bench/app/proxy_fixture.h"
#include "benchmark/benchmark.h"

namespace synwave::bench {
namespace {

uint64_t ReadTsc() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return 0;
#endif
}

void Run(benchmark::State& state, ProxyFrames ProxyFixture::*frames,
         bool ipv6 = false) {
  ProxyFixture fx(ipv6);
  uint64_t now = 5'000'000'000;
  size_t done = 0;
  const uint64_t t0 = ReadTsc();
  for (auto _ : state) {
    done += ProcessBurst(fx.core(), fx.*frames, now);
    now += 1000;
  }
  const uint64_t cycles = ReadTsc() - t0;
  const double items = static_cast<double>(state.iterations()) * kProxyBurst;
  if (done != state.iterations() * kProxyBurst) {
    state.SkipWithError("a frame was dropped");
  }
  state.SetItemsProcessed(static_cast<int64_t>(items));
  state.counters["cycles_per_item"] = static_cast<double>(cycles) / items;
}

void BM_ProxyToBackend(benchmark::State& s) { Run(s, &ProxyFixture::to_backend); }
void BM_ProxyToClient(benchmark::State& s) { Run(s, &ProxyFixture::to_client); }
void BM_ProxyCookieSynAck(benchmark::State& s) { Run(s, &ProxyFixture::syns); }

void BM_Proxy6ToBackend(benchmark::State& s) {
  Run(s, &ProxyFixture::to_backend, true);
}
void BM_Proxy6ToClient(benchmark::State& s) {
  Run(s, &ProxyFixture::to_client, true);
}
void BM_Proxy6CookieSynAck(benchmark::State& s) {
  Run(s, &ProxyFixture::syns, true);
}

BENCHMARK(BM_ProxyToBackend);
BENCHMARK(BM_ProxyToClient);
BENCHMARK(BM_ProxyCookieSynAck);
BENCHMARK(BM_Proxy6ToBackend);
BENCHMARK(BM_Proxy6ToClient);
BENCHMARK(BM_Proxy6CookieSynAck);

}  // namespace
}  // namespace synwave::bench

BENCHMARK_MAIN();
