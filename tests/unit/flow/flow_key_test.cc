// Tests for FlowKey and FlowHasher: the hash spreads the key sets real
// traffic produces (one client, many ports; many clients in one /16) evenly
// over buckets, every input bit affects every output bit, and collisions
// depend on the seed, so an attacker cannot precompute them; the same for
// FlowKey6 and FlowHasher6 over IPv6 key sets.
#include "flow/flow_key.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace synwave::flow {
namespace {

constexpr uint64_t kSeed = 0x5eed5eed12345678ull;

// Bucket index as FlowTable computes it (high bits, multiply-shift).
uint32_t BucketOf(uint32_t hash, uint32_t buckets) {
  return static_cast<uint32_t>((uint64_t{hash} * buckets) >> 32);
}

// Chi-square statistic divided by its degrees of freedom: about 1 for a
// uniform spread; its standard deviation is sqrt(2 / (buckets - 1)).
double ChiSquarePerDof(const std::vector<FlowKey>& keys, uint32_t buckets,
                       const FlowHasher& hasher) {
  std::vector<uint32_t> count(buckets);
  for (const FlowKey& k : keys) ++count[BucketOf(hasher(k), buckets)];
  const double expected = double(keys.size()) / buckets;
  double chi = 0;
  for (uint32_t c : count) chi += (c - expected) * (c - expected) / expected;
  return chi / (buckets - 1);
}

std::vector<FlowKey> OneClientAllPorts() {
  std::vector<FlowKey> keys;
  for (uint32_t port = 0; port < 65536; ++port) {
    keys.push_back({0x0a000001, 0xc0a80105, 443, static_cast<uint16_t>(port)});
  }
  return keys;
}

std::vector<FlowKey> SequentialClientsInASlash16() {
  std::vector<FlowKey> keys;
  for (uint32_t i = 0; i < 65536; ++i) {
    keys.push_back({0x0a000001, 0xac100000 + i, 443, 40000});
  }
  return keys;
}

std::vector<FlowKey> ManyClientsManyPorts() {
  std::vector<FlowKey> keys;
  for (uint32_t ip = 0; ip < 256; ++ip) {
    for (uint32_t p = 0; p < 256; ++p) {
      keys.push_back({0x0a000001, 0xac100000 + ip * 256, 80,
                      static_cast<uint16_t>(32768 + p)});
    }
  }
  return keys;
}

// Load generator side: our ports vary, the server is fixed.
std::vector<FlowKey> OneServerManyLocalPorts() {
  std::vector<FlowKey> keys;
  for (uint32_t lip = 0; lip < 4; ++lip) {
    for (uint32_t port = 0; port < 16384; ++port) {
      keys.push_back({0x0a000001 + lip, 0x0a000100,
                      static_cast<uint16_t>(1024 + port), 80});
    }
  }
  return keys;
}

TEST(FlowKeyTest, IsTwelveBytesAndComparesAllFields) {
  static_assert(sizeof(FlowKey) == 12);
  const FlowKey a{1, 2, 3, 4};
  EXPECT_EQ(a, (FlowKey{1, 2, 3, 4}));
  EXPECT_NE(a, (FlowKey{9, 2, 3, 4}));
  EXPECT_NE(a, (FlowKey{1, 9, 3, 4}));
  EXPECT_NE(a, (FlowKey{1, 2, 9, 4}));
  EXPECT_NE(a, (FlowKey{1, 2, 3, 9}));
}

TEST(FlowHashTest, DeterministicForOneSeed) {
  const FlowHasher h1(kSeed), h2(kSeed);
  const FlowKey k{0x0a000001, 0x0a000002, 80, 12345};
  EXPECT_EQ(h1(k), h2(k));
  EXPECT_EQ(FlowHash(k, kSeed), h1(k));
}

TEST(FlowHashTest, BulkMatchesSingle) {
  const FlowHasher hasher(kSeed);
  std::vector<FlowKey> keys = ManyClientsManyPorts();
  keys.resize(100);
  std::vector<uint32_t> out(keys.size());
  hasher.HashBulk(keys.data(), static_cast<uint32_t>(keys.size()), out.data());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(out[i], hasher(keys[i]));
}

TEST(FlowHashTest, SpreadsStructuredKeySetsEvenly) {
  const FlowHasher hasher(kSeed);
  const std::vector<std::vector<FlowKey>> sets = {
      OneClientAllPorts(), SequentialClientsInASlash16(),
      ManyClientsManyPorts(), OneServerManyLocalPorts()};
  for (size_t s = 0; s < sets.size(); ++s) {
    for (const uint32_t buckets : {4096u, 16411u}) {
      // 0.15 is over 6 standard deviations at 4096 buckets and more above.
      const double chi = ChiSquarePerDof(sets[s], buckets, hasher);
      EXPECT_NEAR(chi, 1.0, 0.15) << "set " << s << ", " << buckets;
    }
  }
}

TEST(FlowHashTest, EveryInputBitAffectsEveryOutputBit) {
  const FlowHasher hasher(kSeed);
  std::mt19937_64 rng(1);
  constexpr int kSamples = 4000;
  std::vector<std::vector<int>> flips(96, std::vector<int>(32));
  for (int t = 0; t < kSamples; ++t) {
    const uint64_t r = rng(), s = rng();
    const FlowKey k{static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32),
                    static_cast<uint16_t>(s), static_cast<uint16_t>(s >> 16)};
    const uint32_t h = hasher(k);
    for (int bit = 0; bit < 96; ++bit) {
      FlowKey m = k;
      if (bit < 32) {
        m.local_ip ^= 1u << bit;
      } else if (bit < 64) {
        m.remote_ip ^= 1u << (bit - 32);
      } else if (bit < 80) {
        m.local_port ^= static_cast<uint16_t>(1u << (bit - 64));
      } else {
        m.remote_port ^= static_cast<uint16_t>(1u << (bit - 80));
      }
      const uint32_t d = h ^ hasher(m);
      for (int o = 0; o < 32; ++o) flips[bit][o] += (d >> o) & 1;
    }
  }
  // Sampling standard deviation is 0.5 / sqrt(4000) = 0.008; 0.05 is six.
  for (int bit = 0; bit < 96; ++bit) {
    for (int o = 0; o < 32; ++o) {
      EXPECT_NEAR(double(flips[bit][o]) / kSamples, 0.5, 0.05)
          << "input bit " << bit << " output bit " << o;
    }
  }
}

// The property that defeats precomputed flooding: pairs of keys that collide
// under one seed collide under another no more often than chance.
TEST(FlowHashTest, CollisionsDependOnTheSeed) {
  constexpr uint32_t kBuckets = 256;
  const FlowHasher a(1), b(2);
  const std::vector<FlowKey> keys = OneClientAllPorts();
  std::vector<std::vector<uint32_t>> by_bucket(kBuckets);
  for (uint32_t i = 0; i < keys.size(); ++i) {
    by_bucket[BucketOf(a(keys[i]), kBuckets)].push_back(i);
  }
  // Consecutive members of each bucket under seed 1: about 65280 pairs.
  uint64_t pairs = 0, still_colliding = 0;
  for (const auto& members : by_bucket) {
    for (size_t j = 1; j < members.size(); ++j) {
      ++pairs;
      still_colliding += BucketOf(b(keys[members[j - 1]]), kBuckets) ==
                         BucketOf(b(keys[members[j]]), kBuckets);
    }
  }
  const double rate = double(still_colliding) / pairs;
  EXPECT_NEAR(rate, 1.0 / kBuckets, 0.5 / kBuckets) << still_colliding;
}

TEST(FlowHashTest, DifferentSeedsGiveDifferentFunctions) {
  const FlowHasher a(0), b(1);
  int equal = 0;
  for (uint32_t port = 0; port < 1000; ++port) {
    const FlowKey k{0x0a000001, 0x0a000002, 80, static_cast<uint16_t>(port)};
    equal += a(k) == b(k);
  }
  EXPECT_LE(equal, 1);
}

// ---------------------------------------------------------------------------
// IPv6.

wire::Ipv6Address V6(uint64_t high, uint64_t low) {
  return wire::Ipv6Address::FromWords(high, low);
}

double ChiSquarePerDof6(const std::vector<FlowKey6>& keys, uint32_t buckets,
                        const FlowHasher6& hasher) {
  std::vector<uint32_t> count(buckets);
  for (const FlowKey6& k : keys) ++count[BucketOf(hasher(k), buckets)];
  const double expected = double(keys.size()) / buckets;
  double chi = 0;
  for (uint32_t c : count) chi += (c - expected) * (c - expected) / expected;
  return chi / (buckets - 1);
}

const wire::Ipv6Address kServer6 = V6(0xfd00000000000000ull, 1);

std::vector<FlowKey6> OneClientAllPorts6() {
  std::vector<FlowKey6> keys;
  for (uint32_t port = 0; port < 65536; ++port) {
    keys.push_back({kServer6, V6(0x20010db800000001ull, 0x1234),
                    443, static_cast<uint16_t>(port)});
  }
  return keys;
}

// Sequential interface identifiers in one /64 (a load generator's range).
std::vector<FlowKey6> SequentialClientsInASlash64() {
  std::vector<FlowKey6> keys;
  for (uint32_t i = 0; i < 65536; ++i) {
    keys.push_back({kServer6, V6(0x20010db800000001ull, 0x10000 + i), 443,
                    40000});
  }
  return keys;
}

// One host in each of many /64s (privacy addresses behind many routers):
// only the prefix bits vary.
std::vector<FlowKey6> ManyPrefixesSameIid() {
  std::vector<FlowKey6> keys;
  for (uint32_t i = 0; i < 65536; ++i) {
    keys.push_back({kServer6, V6(0x20010db800000000ull + (uint64_t{i} << 16),
                                 0x021122fffe334455ull),
                    80, 50000});
  }
  return keys;
}

TEST(FlowKey6Test, Is36BytesAndComparesAllFields) {
  const FlowKey6 a{V6(1, 2), V6(3, 4), 5, 6};
  EXPECT_EQ(a, (FlowKey6{V6(1, 2), V6(3, 4), 5, 6}));
  EXPECT_NE(a, (FlowKey6{V6(9, 2), V6(3, 4), 5, 6}));
  EXPECT_NE(a, (FlowKey6{V6(1, 9), V6(3, 4), 5, 6}));
  EXPECT_NE(a, (FlowKey6{V6(1, 2), V6(3, 9), 5, 6}));
  EXPECT_NE(a, (FlowKey6{V6(1, 2), V6(3, 4), 9, 6}));
  EXPECT_NE(a, (FlowKey6{V6(1, 2), V6(3, 4), 5, 9}));
}

TEST(FlowHash6Test, DeterministicAndBulkMatchesSingle) {
  const FlowHasher6 h1(kSeed), h2(kSeed);
  std::vector<FlowKey6> keys = OneClientAllPorts6();
  keys.resize(100);
  std::vector<uint32_t> out(keys.size());
  h1.HashBulk(keys.data(), static_cast<uint32_t>(keys.size()), out.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(out[i], h2(keys[i]));
  }
}

TEST(FlowHash6Test, SpreadsStructuredKeySetsEvenly) {
  const FlowHasher6 hasher(kSeed);
  const std::vector<std::vector<FlowKey6>> sets = {
      OneClientAllPorts6(), SequentialClientsInASlash64(),
      ManyPrefixesSameIid()};
  for (size_t s = 0; s < sets.size(); ++s) {
    for (const uint32_t buckets : {4096u, 16411u}) {
      const double chi = ChiSquarePerDof6(sets[s], buckets, hasher);
      EXPECT_NEAR(chi, 1.0, 0.15) << "set " << s << ", " << buckets;
    }
  }
}

TEST(FlowHash6Test, EveryInputBitAffectsEveryOutputBit) {
  const FlowHasher6 hasher(kSeed);
  std::mt19937_64 rng(6);
  constexpr int kSamples = 2000;
  constexpr int kBits = 288;
  std::vector<std::vector<int>> flips(kBits, std::vector<int>(32));
  for (int t = 0; t < kSamples; ++t) {
    FlowKey6 k{V6(rng(), rng()), V6(rng(), rng()),
               static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng())};
    const uint32_t h = hasher(k);
    for (int bit = 0; bit < kBits; ++bit) {
      FlowKey6 m = k;
      if (bit < 128) {
        m.local_ip.bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      } else if (bit < 256) {
        m.remote_ip.bytes[(bit - 128) / 8] ^=
            static_cast<uint8_t>(1u << (bit % 8));
      } else if (bit < 272) {
        m.local_port ^= static_cast<uint16_t>(1u << (bit - 256));
      } else {
        m.remote_port ^= static_cast<uint16_t>(1u << (bit - 272));
      }
      const uint32_t d = h ^ hasher(m);
      for (int o = 0; o < 32; ++o) flips[bit][o] += (d >> o) & 1;
    }
  }
  // Sampling standard deviation 0.5 / sqrt(2000) = 0.011; 0.07 is six.
  for (int bit = 0; bit < kBits; ++bit) {
    for (int o = 0; o < 32; ++o) {
      EXPECT_NEAR(double(flips[bit][o]) / kSamples, 0.5, 0.07)
          << "input bit " << bit << " output bit " << o;
    }
  }
}

TEST(FlowHash6Test, CollisionsDependOnTheSeed) {
  constexpr uint32_t kBuckets = 256;
  const FlowHasher6 a(1), b(2);
  const std::vector<FlowKey6> keys = OneClientAllPorts6();
  std::vector<std::vector<uint32_t>> by_bucket(kBuckets);
  for (uint32_t i = 0; i < keys.size(); ++i) {
    by_bucket[BucketOf(a(keys[i]), kBuckets)].push_back(i);
  }
  uint64_t pairs = 0, still_colliding = 0;
  for (const auto& members : by_bucket) {
    for (size_t j = 1; j < members.size(); ++j) {
      ++pairs;
      still_colliding += BucketOf(b(keys[members[j - 1]]), kBuckets) ==
                         BucketOf(b(keys[members[j]]), kBuckets);
    }
  }
  const double rate = double(still_colliding) / pairs;
  EXPECT_NEAR(rate, 1.0 / kBuckets, 0.5 / kBuckets) << still_colliding;
}

// An IPv4 address written as IPv4-mapped IPv6 is another key in another
// table: the two hashers are unrelated functions even under one seed.
TEST(FlowHash6Test, UnrelatedToTheIpv4HasherOfTheSameSeed) {
  const FlowHasher v4(kSeed);
  const FlowHasher6 v6(kSeed);
  int equal = 0;
  for (uint32_t port = 0; port < 1000; ++port) {
    const FlowKey k{0x0a000001, 0x0a000002, 80, static_cast<uint16_t>(port)};
    const FlowKey6 k6{V6(0, 0xffff0a000001ull), V6(0, 0xffff0a000002ull), 80,
                      static_cast<uint16_t>(port)};
    equal += v4(k) == v6(k6);
  }
  EXPECT_LE(equal, 1);
}

}  // namespace
}  // namespace synwave::flow
