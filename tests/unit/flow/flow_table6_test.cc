// Tests for FlowTable6, the connection table over IPv6 4-tuples (FlowKey6):
// the same template as FlowTable with a 36-byte key, three slots to a
// 128-byte bucket and a word-by-word compare. What the worker relies on:
// a key differing from a stored one in any single byte is a different key,
// an insert succeeds whenever size() < capacity() whatever the hashes,
// FindBulk answers as Find does, and a reference map agrees over long churn
// near full load with the table's invariants holding throughout.
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "flow/flow_key.h"
#include "flow/flow_table.h"
#include "gtest/gtest.h"
#include "wire/addresses.h"

namespace synwave::flow {

// For the reference map only.
template <typename H>
H AbslHashValue(H h, const FlowKey6& k) {
  return H::combine(std::move(h), k.local_ip.bytes, k.remote_ip.bytes,
                    k.local_port, k.remote_port);
}

namespace {

constexpr uint64_t kSeed = 0x0123456789abcdefull;
constexpr uint32_t kNotFound = FlowTable6::kNotFound;
using HashFn = std::function<uint32_t(const FlowKey6&)>;

FlowKey6 Key(uint64_t remote_low, uint16_t remote_port) {
  return FlowKey6{wire::Ipv6Address::FromWords(0xfd00000000000000ull, 1),
                  wire::Ipv6Address::FromWords(0x20010db800000000ull,
                                               remote_low),
                  443, remote_port};
}

FlowKey6 RandomKey(std::mt19937_64& rng) {
  const uint64_t r = rng();
  // Few distinct addresses and ports, so keys share most of their bytes.
  return FlowKey6{
      wire::Ipv6Address::FromWords(0xfd00000000000000ull, 1 + (r & 1)),
      wire::Ipv6Address::FromWords(0x20010db800000000ull | ((r >> 1) & 0xf),
                                   (r >> 5) & 0xfff),
      static_cast<uint16_t>(80 + ((r >> 17) & 1)),
      static_cast<uint16_t>(r >> 18)};
}

TEST(FlowTable6Test, InsertFindUpdateErase) {
  FlowTable6 table(64);
  const FlowHasher6 hash(kSeed);
  const FlowKey6 k = Key(7, 40000);
  EXPECT_EQ(table.Find(k, hash(k)), kNotFound);
  ASSERT_TRUE(table.Insert(k, hash(k), 5));
  EXPECT_FALSE(table.Insert(k, hash(k), 6));  // already there: kept
  EXPECT_EQ(table.Find(k, hash(k)), 5u);
  ASSERT_TRUE(table.Update(k, hash(k), 9));
  EXPECT_EQ(table.Find(k, hash(k)), 9u);
  ASSERT_TRUE(table.Erase(k, hash(k)));
  EXPECT_FALSE(table.Erase(k, hash(k)));
  EXPECT_EQ(table.Find(k, hash(k)), kNotFound);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.CheckInvariants(), "");
}

// Every byte of the key counts: a key one bit away from a stored one, in
// any of its 36 bytes, is not found, even when both hash to one bucket.
TEST(FlowTable6Test, EveryByteOfTheKeyCounts) {
  FlowTable6 table(64);
  const FlowKey6 k = Key(7, 40000);
  ASSERT_TRUE(table.Insert(k, /*hash=*/0, 1));
  for (size_t byte = 0; byte < sizeof(FlowKey6); ++byte) {
    FlowKey6 other = k;
    reinterpret_cast<uint8_t*>(&other)[byte] ^= 0x10;
    EXPECT_EQ(table.Find(other, 0), kNotFound) << "byte " << byte;
    ASSERT_TRUE(table.Insert(other, 0, 100 + static_cast<uint32_t>(byte)));
  }
  EXPECT_EQ(table.Find(k, 0), 1u);
  EXPECT_EQ(table.size(), 1 + sizeof(FlowKey6));
  EXPECT_EQ(table.CheckInvariants(), "");
}

// The free-slot fill pattern (all ones) is an ordinary key, and so is zero.
TEST(FlowTable6Test, AllOnesAndAllZeroKeysAreOrdinaryKeys) {
  FlowTable6 table(16);
  FlowKey6 ones;
  std::memset(static_cast<void*>(&ones), 0xff, sizeof(ones));
  const FlowKey6 zero{};
  EXPECT_EQ(table.Find(ones, 0), kNotFound);
  EXPECT_EQ(table.Find(zero, 0), kNotFound);
  ASSERT_TRUE(table.Insert(ones, 0, 1));
  ASSERT_TRUE(table.Insert(zero, 0, 2));
  EXPECT_EQ(table.Find(ones, 0), 1u);
  EXPECT_EQ(table.Find(zero, 0), 2u);
}

TEST(FlowTable6Test, FillsToExactlyCapacityEvenWithAConstantHash) {
  for (const uint32_t capacity : {1u, 2u, 3u, 100u, 1000u}) {
    FlowTable6 table(capacity);
    for (uint32_t i = 0; i < capacity; ++i) {
      ASSERT_TRUE(table.Insert(Key(i, 1), /*hash=*/0x12345678, i)) << i;
    }
    EXPECT_FALSE(table.Insert(Key(capacity, 1), 0x12345678, 0));
    for (uint32_t i = 0; i < capacity; ++i) {
      ASSERT_EQ(table.Find(Key(i, 1), 0x12345678), i);
    }
    EXPECT_EQ(table.CheckInvariants(), "") << capacity;
  }
}

TEST(FlowTable6Test, FindBulkMatchesFindForEveryBurstSize) {
  constexpr uint32_t kCapacity = 2000;
  FlowTable6 table(kCapacity);
  const FlowHasher6 hash(kSeed);
  std::mt19937_64 rng(11);
  std::vector<FlowKey6> keys;
  absl::flat_hash_map<FlowKey6, uint32_t> stored;
  while (stored.size() < kCapacity) {
    const FlowKey6 k = RandomKey(rng);
    if (stored.contains(k)) continue;
    const uint32_t v = static_cast<uint32_t>(stored.size());
    ASSERT_TRUE(table.Insert(k, hash(k), v));
    stored[k] = v;
    keys.push_back(k);
  }
  for (uint32_t n = 0; n <= FlowTable6::kMaxBulk + 3; ++n) {
    std::vector<FlowKey6> burst(n);
    std::vector<uint32_t> hashes(n), found(n);
    for (uint32_t i = 0; i < n; ++i) {
      // Half hits, half keys that are very likely absent.
      burst[i] = i % 2 == 0 ? keys[rng() % keys.size()] : RandomKey(rng);
      hashes[i] = hash(burst[i]);
    }
    table.FindBulk(burst.data(), hashes.data(), n, found.data());
    for (uint32_t i = 0; i < n; ++i) {
      const auto it = stored.find(burst[i]);
      ASSERT_EQ(found[i], it == stored.end() ? kNotFound : it->second);
    }
  }
}

void ChurnAgainstAReferenceMap(uint32_t capacity, const HashFn& hash,
                               uint32_t operations) {
  FlowTable6 table(capacity);
  absl::flat_hash_map<FlowKey6, uint32_t> ref;
  std::vector<FlowKey6> live;
  std::mt19937_64 rng(capacity);
  for (uint32_t op = 0; op < operations; ++op) {
    const uint64_t r = rng() % 10;
    if (r < 5 || live.empty()) {  // insert (refused when full or present)
      const FlowKey6 k = RandomKey(rng);
      const bool room = ref.size() < capacity && !ref.contains(k);
      ASSERT_EQ(table.Insert(k, hash(k), op), room);
      if (room) {
        ref[k] = op;
        live.push_back(k);
      }
    } else if (r < 8) {  // erase a live key
      const size_t i = rng() % live.size();
      const FlowKey6 k = live[i];
      ASSERT_TRUE(table.Erase(k, hash(k)));
      ref.erase(k);
      live[i] = live.back();
      live.pop_back();
    } else {  // re-point a live key
      const FlowKey6 k = live[rng() % live.size()];
      ASSERT_TRUE(table.Update(k, hash(k), op));
      ref[k] = op;
    }
    if (op % 997 == 0) {
      ASSERT_EQ(table.size(), ref.size());
      for (const auto& [k, v] : ref) ASSERT_EQ(table.Find(k, hash(k)), v);
      ASSERT_EQ(table.CheckInvariants(), "");
    }
  }
  for (const auto& [k, v] : ref) ASSERT_EQ(table.Find(k, hash(k)), v);
  ASSERT_EQ(table.CheckInvariants(), "");
}

TEST(FlowTable6Test, MatchesAReferenceMapUnderChurn) {
  ChurnAgainstAReferenceMap(500, FlowHasher6(kSeed), 60'000);
}

// Only 256 distinct hashes: long clusters, wrap-around and backward shifts.
TEST(FlowTable6Test, MatchesAReferenceMapWithAWeakHash) {
  ChurnAgainstAReferenceMap(
      300,
      [h = FlowHasher6(kSeed)](const FlowKey6& k) {
        return h(k) & 0xff000000u;
      },
      30'000);
}

// Sized as the IPv4 table (capacity per memory), with two lines a bucket.
TEST(FlowTable6Test, MemoryIsProportionalToCapacity) {
  const FlowTable6 table(100'000);
  EXPECT_GE(table.bucket_count() * FlowTable6::kSlotsPerBucket * 70,
            100'000u * 100);
  EXPECT_LT(table.memory_bytes(),
            static_cast<size_t>(100'000 * FlowTable6::BytesPerEntry() * 1.05) +
                4096);
}

}  // namespace
}  // namespace synwave::flow
