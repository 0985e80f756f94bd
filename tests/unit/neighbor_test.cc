// NeighborTable and Neighbor6Table (one template): learning, RFC 826 merge,
// expiry and the request rate limit, on a virtual clock, for both families.
#include "engine/neighbor.h"

#include "gtest/gtest.h"

namespace synwave::engine {
namespace {

using wire::Ipv4Address;
using wire::Ipv6Address;
using wire::MacAddress;

constexpr uint64_t kSecond = 1'000'000'000;
const MacAddress kMacA{{0x02, 0, 0, 0, 0, 0x0a}};
const MacAddress kMacB{{0x02, 0, 0, 0, 0, 0x0b}};

// Two neighbours of each family. For IPv6, addresses that differ only in
// their last byte and in a middle byte, so that a comparison of part of the
// address would be caught.
template <typename Table>
struct Addresses;
template <>
struct Addresses<NeighborTable> {
  static Ipv4Address A() { return Ipv4Address::FromOctets(198, 18, 0, 1); }
  static Ipv4Address B() { return Ipv4Address::FromOctets(198, 18, 0, 3); }
};
template <>
struct Addresses<Neighbor6Table> {
  static Ipv6Address A() { return Ipv6Address::FromWords(0xfd00ull << 48, 1); }
  static Ipv6Address B() {
    return Ipv6Address::FromWords((0xfd00ull << 48) | (1ull << 20), 1);
  }
};

template <typename Table>
class NeighborTableTest : public testing::Test {
 protected:
  using LearnResult = typename Table::LearnResult;
  const decltype(Addresses<Table>::A()) kA = Addresses<Table>::A();
  const decltype(Addresses<Table>::B()) kB = Addresses<Table>::B();
};

using Tables = testing::Types<NeighborTable, Neighbor6Table>;
TYPED_TEST_SUITE(NeighborTableTest, Tables);

TYPED_TEST(NeighborTableTest, LearnedEntryIsReachableUntilItsTimeout) {
  TypeParam t(4, 60 * kSecond, kSecond);
  EXPECT_EQ(t.Learn(this->kA, kMacA, 0), TypeParam::LearnResult::kAdded);
  ASSERT_NE(t.Lookup(this->kA, 59 * kSecond), nullptr);
  EXPECT_EQ(*t.Lookup(this->kA, 59 * kSecond), kMacA);
  EXPECT_EQ(t.Lookup(this->kA, 60 * kSecond), nullptr);
  EXPECT_EQ(t.Lookup(this->kB, 0), nullptr);
}

TYPED_TEST(NeighborTableTest, RelearningRefreshesAndUpdatesTheMac) {
  TypeParam t(4, 60 * kSecond, kSecond);
  t.Learn(this->kA, kMacA, 0);
  EXPECT_EQ(t.Learn(this->kA, kMacB, 50 * kSecond),
            TypeParam::LearnResult::kUpdated);
  ASSERT_NE(t.Lookup(this->kA, 100 * kSecond), nullptr);
  EXPECT_EQ(*t.Lookup(this->kA, 100 * kSecond), kMacB);
  EXPECT_EQ(t.size(), 1u);
}

TYPED_TEST(NeighborTableTest, MergeUpdatesOnlyKnownEntries) {
  TypeParam t(4, 60 * kSecond, kSecond);
  EXPECT_FALSE(t.Merge(this->kA, kMacA, 0));
  EXPECT_EQ(t.size(), 0u);
  t.Learn(this->kA, kMacA, 0);
  EXPECT_TRUE(t.Merge(this->kA, kMacB, kSecond));
  EXPECT_EQ(*t.Lookup(this->kA, kSecond), kMacB);
}

TYPED_TEST(NeighborTableTest, FullTableRefusesNewEntriesButKeepsOld) {
  TypeParam t(1, 60 * kSecond, kSecond);
  t.Learn(this->kA, kMacA, 0);
  EXPECT_EQ(t.Learn(this->kB, kMacB, 0), TypeParam::LearnResult::kTableFull);
  EXPECT_FALSE(t.ShouldRequest(this->kB, 0));
  EXPECT_NE(t.Lookup(this->kA, 0), nullptr);
}

TYPED_TEST(NeighborTableTest, RequestsAreRateLimitedPerAddress) {
  TypeParam t(4, 60 * kSecond, kSecond);
  EXPECT_TRUE(t.ShouldRequest(this->kA, 0));
  EXPECT_FALSE(t.ShouldRequest(this->kA, kSecond - 1));
  EXPECT_TRUE(t.ShouldRequest(this->kB, kSecond - 1)) << "limit is per address";
  EXPECT_TRUE(t.ShouldRequest(this->kA, kSecond));
  EXPECT_EQ(t.Lookup(this->kA, kSecond), nullptr)
      << "requested is not resolved";
}

TYPED_TEST(NeighborTableTest, FreshEntryNeedsNoRequestAndStaleOneDoes) {
  TypeParam t(4, 60 * kSecond, kSecond);
  t.Learn(this->kA, kMacA, 0);
  EXPECT_FALSE(t.ShouldRequest(this->kA, 44 * kSecond));
  // Last quarter of the reachable time: refresh while still usable.
  EXPECT_TRUE(t.ShouldRequest(this->kA, 46 * kSecond));
  EXPECT_NE(t.Lookup(this->kA, 46 * kSecond), nullptr);
}

TYPED_TEST(NeighborTableTest, ExpireRemovesDeadEntriesNotPendingOnes) {
  TypeParam t(4, 60 * kSecond, kSecond);
  t.Learn(this->kA, kMacA, 0);
  EXPECT_TRUE(t.ShouldRequest(this->kB, 100 * kSecond));  // pending request
  EXPECT_EQ(t.Expire(100 * kSecond), 1u);                 // A is gone, B waits
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.Expire(102 * kSecond), 1u);  // B never answered
  EXPECT_EQ(t.size(), 0u);
  // Freed slots are reused.
  EXPECT_EQ(t.Learn(this->kA, kMacA, 103 * kSecond),
            TypeParam::LearnResult::kAdded);
}

}  // namespace
}  // namespace synwave::engine
