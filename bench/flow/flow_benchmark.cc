// Microbenchmarks for the per-core connection table.
//
// Lookups run at 10^3 live connections (the table fits in L1/L2) and at 10^6
// (about 25 MiB: not in L2, competing for L3, so misses reach memory on most
// machines), in a random order fixed up front, so that caches and the
// prefetcher cannot hide the table's size. The table is full (size ==
// capacity), its worst case for probe lengths. "single" calls Find once per
// packet; "bulk" calls FindBulk on bursts of 32, which prefetches all 32 home
// buckets before comparing. Hashes are computed before the timed loop, as
// the worker computes them in its parse stage; HashBulk times that alone.
// InsertErase is the life of a connection in the table (one insert, one
// erase) at steady size.
//
// Besides time, each case reports cycles_per_item from the TSC read around
// the whole loop. The TSC ticks at the nominal frequency, so under turbo
// this is reference cycles, not core cycles.
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <unordered_set>
#include <vector>

#include "benchmark/benchmark.h"
#include "flow/flow_key.h"
#include "flow/flow_table.h"

namespace synwave::flow {
namespace {

constexpr uint64_t kSeed = 0x243f6a8885a308d3ull;
constexpr uint32_t kBurst = 32;

uint64_t ReadTsc() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return 0;
#endif
}

struct Query {
  FlowKey key;
  uint32_t hash;
};

// A server's view: a few local addresses on port 80/443, clients spread
// over a /12 with random ports.
FlowKey RandomKey(std::mt19937_64& rng) {
  const uint64_t r = rng();
  return {0x0a000001u + static_cast<uint32_t>(r & 3),
          0xac100000u + static_cast<uint32_t>((r >> 2) & 0xfffff),
          static_cast<uint16_t>((r >> 22) & 1 ? 443 : 80),
          static_cast<uint16_t>(r >> 32)};
}

struct Fixture {
  std::unique_ptr<FlowTable> table;
  std::vector<FlowKey> live;  // keys in the table
  std::vector<Query> hits;    // live keys in random order
  std::vector<Query> misses;  // absent keys
  // Split arrays for FindBulk, as the worker holds them.
  std::vector<FlowKey> hit_keys, miss_keys;
  std::vector<uint32_t> hit_hashes, miss_hashes;
};

// Built once per size: a 10^6 table takes a while to fill.
Fixture& GetFixture(uint32_t n) {
  static std::map<uint32_t, std::unique_ptr<Fixture>> cache;
  std::unique_ptr<Fixture>& f = cache[n];
  if (f != nullptr) return *f;
  f = std::make_unique<Fixture>();
  const FlowHasher hasher(kSeed);
  std::mt19937_64 rng(n);
  f->table = std::make_unique<FlowTable>(n);
  std::unordered_set<uint64_t> seen;
  const auto fresh = [&] {
    for (;;) {
      const FlowKey k = RandomKey(rng);
      const uint64_t id = (uint64_t{k.local_ip & 3} << 36) |
                          (uint64_t{k.remote_ip & 0xfffff} << 16) |
                          (uint64_t{k.local_port == 443} << 56) | k.remote_port;
      if (seen.insert(id).second) return k;
    }
  };
  for (uint32_t i = 0; i < n; ++i) {
    const FlowKey k = fresh();
    f->table->Insert(k, hasher(k), i);
    f->live.push_back(k);
  }
  // At least 2^20 queries so that the 10^3 case also runs long, and each
  // key of the large table is visited once per pass, in random order.
  const uint32_t queries = std::max<uint32_t>(n, 1u << 20);
  for (uint32_t i = 0; i < queries; ++i) {
    const FlowKey& hit = f->live[i % n];
    f->hits.push_back({hit, hasher(hit)});
    const FlowKey miss = fresh();
    f->misses.push_back({miss, hasher(miss)});
  }
  std::shuffle(f->hits.begin(), f->hits.end(), rng);
  for (const Query& q : f->hits) {
    f->hit_keys.push_back(q.key);
    f->hit_hashes.push_back(q.hash);
  }
  for (const Query& q : f->misses) {
    f->miss_keys.push_back(q.key);
    f->miss_hashes.push_back(q.hash);
  }
  return *f;
}

void Report(benchmark::State& state, uint64_t tsc_start, uint64_t items) {
  const uint64_t cycles = ReadTsc() - tsc_start;
  state.SetItemsProcessed(static_cast<int64_t>(items));
  state.counters["cycles_per_item"] =
      items == 0 ? 0.0 : double(cycles) / double(items);
}

void FindSingle(benchmark::State& state, bool hit) {
  Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const std::vector<Query>& q = hit ? f.hits : f.misses;
  const size_t n = q.size() / kBurst * kBurst;
  size_t pos = 0;
  uint64_t items = 0;
  uint32_t sink = 0;
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    for (uint32_t i = 0; i < kBurst; ++i) {
      sink += f.table->Find(q[pos + i].key, q[pos + i].hash);
    }
    pos = pos + kBurst == n ? 0 : pos + kBurst;
    items += kBurst;
  }
  benchmark::DoNotOptimize(sink);
  Report(state, start, items);
}

void FindBulk(benchmark::State& state, bool hit) {
  Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const FlowKey* keys = hit ? f.hit_keys.data() : f.miss_keys.data();
  const uint32_t* hashes = hit ? f.hit_hashes.data() : f.miss_hashes.data();
  const size_t n =
      (hit ? f.hit_keys.size() : f.miss_keys.size()) / kBurst * kBurst;
  size_t pos = 0;
  uint64_t items = 0;
  uint32_t values[kBurst];
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    f.table->FindBulk(keys + pos, hashes + pos, kBurst, values);
    benchmark::DoNotOptimize(values);
    pos = pos + kBurst == n ? 0 : pos + kBurst;
    items += kBurst;
  }
  Report(state, start, items);
}

void BM_FindHitSingle(benchmark::State& state) { FindSingle(state, true); }
void BM_FindMissSingle(benchmark::State& state) { FindSingle(state, false); }
void BM_FindHitBulk32(benchmark::State& state) { FindBulk(state, true); }
void BM_FindMissBulk32(benchmark::State& state) { FindBulk(state, false); }
BENCHMARK(BM_FindHitSingle)->Arg(1000)->Arg(1000000);
BENCHMARK(BM_FindHitBulk32)->Arg(1000)->Arg(1000000);
BENCHMARK(BM_FindMissSingle)->Arg(1000)->Arg(1000000);
BENCHMARK(BM_FindMissBulk32)->Arg(1000)->Arg(1000000);

// The worker's whole lookup stage for a burst: hash 32 keys, then FindBulk.
void BM_HashAndFindHitBulk32(benchmark::State& state) {
  Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const FlowHasher hasher(kSeed);
  const size_t n = f.hit_keys.size() / kBurst * kBurst;
  size_t pos = 0;
  uint64_t items = 0;
  uint32_t hashes[kBurst], values[kBurst];
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    hasher.HashBulk(f.hit_keys.data() + pos, kBurst, hashes);
    f.table->FindBulk(f.hit_keys.data() + pos, hashes, kBurst, values);
    benchmark::DoNotOptimize(values);
    pos = pos + kBurst == n ? 0 : pos + kBurst;
    items += kBurst;
  }
  Report(state, start, items);
}
BENCHMARK(BM_HashAndFindHitBulk32)->Arg(1000)->Arg(1000000);

// One connection's table work at steady size: erase the oldest entry, insert
// a new one. The table stays full, and each pass of the key ring replaces
// every key, so all buckets are churned. Items are insert+erase pairs.
void BM_InsertErase(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  const FlowHasher hasher(kSeed);
  std::mt19937_64 rng(n + 1);
  // 2n distinct keys: the live window [i, i + n) slides round the ring.
  std::vector<Query> ring;
  std::unordered_set<uint64_t> seen;
  while (ring.size() < 2 * size_t{n}) {
    const FlowKey k = RandomKey(rng);
    const uint64_t id = (uint64_t{k.local_ip & 3} << 36) |
                        (uint64_t{k.remote_ip & 0xfffff} << 16) |
                        (uint64_t{k.local_port == 443} << 56) | k.remote_port;
    if (seen.insert(id).second) ring.push_back({k, hasher(k)});
  }
  FlowTable table(n);
  for (uint32_t i = 0; i < n; ++i) table.Insert(ring[i].key, ring[i].hash, i);
  size_t oldest = 0;
  size_t next = n;
  uint64_t items = 0;
  bool ok = true;
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    ok &= table.Erase(ring[oldest].key, ring[oldest].hash);
    ok &= table.Insert(ring[next].key, ring[next].hash,
                       static_cast<uint32_t>(next));
    oldest = oldest + 1 == ring.size() ? 0 : oldest + 1;
    next = next + 1 == ring.size() ? 0 : next + 1;
    ++items;
  }
  Report(state, start, items);
  if (!ok) state.SkipWithError("insert or erase failed");
}
BENCHMARK(BM_InsertErase)->Arg(1000)->Arg(1000000);

void BM_HashBulk32(benchmark::State& state) {
  Fixture& f = GetFixture(1000);
  const FlowHasher hasher(kSeed);
  const size_t n = f.hit_keys.size() / kBurst * kBurst;
  size_t pos = 0;
  uint64_t items = 0;
  uint32_t hashes[kBurst];
  const uint64_t start = ReadTsc();
  for (auto _ : state) {
    hasher.HashBulk(f.hit_keys.data() + pos, kBurst, hashes);
    benchmark::DoNotOptimize(hashes);
    pos = pos + kBurst == n ? 0 : pos + kBurst;
    items += kBurst;
  }
  Report(state, start, items);
}
BENCHMARK(BM_HashBulk32);

}  // namespace
}  // namespace synwave::flow

BENCHMARK_MAIN();
