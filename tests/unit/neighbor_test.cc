// NeighborTable: learning, RFC 826 merge, expiry and the ARP request rate
// limit, on a virtual clock.
#include "engine/neighbor.h"

#include "gtest/gtest.h"

namespace synwave::engine {
namespace {

using wire::Ipv4Address;
using wire::MacAddress;

constexpr uint64_t kSecond = 1'000'000'000;
const Ipv4Address kA = Ipv4Address::FromOctets(198, 18, 0, 1);
const Ipv4Address kB = Ipv4Address::FromOctets(198, 18, 0, 3);
const MacAddress kMacA{{0x02, 0, 0, 0, 0, 0x0a}};
const MacAddress kMacB{{0x02, 0, 0, 0, 0, 0x0b}};

TEST(NeighborTableTest, LearnedEntryIsReachableUntilItsTimeout) {
  NeighborTable t(4, 60 * kSecond, kSecond);
  EXPECT_EQ(t.Learn(kA, kMacA, 0), NeighborTable::LearnResult::kAdded);
  ASSERT_NE(t.Lookup(kA, 59 * kSecond), nullptr);
  EXPECT_EQ(*t.Lookup(kA, 59 * kSecond), kMacA);
  EXPECT_EQ(t.Lookup(kA, 60 * kSecond), nullptr);
  EXPECT_EQ(t.Lookup(kB, 0), nullptr);
}

TEST(NeighborTableTest, RelearningRefreshesAndUpdatesTheMac) {
  NeighborTable t(4, 60 * kSecond, kSecond);
  t.Learn(kA, kMacA, 0);
  EXPECT_EQ(t.Learn(kA, kMacB, 50 * kSecond),
            NeighborTable::LearnResult::kUpdated);
  ASSERT_NE(t.Lookup(kA, 100 * kSecond), nullptr);
  EXPECT_EQ(*t.Lookup(kA, 100 * kSecond), kMacB);
  EXPECT_EQ(t.size(), 1u);
}

TEST(NeighborTableTest, MergeUpdatesOnlyKnownEntries) {
  NeighborTable t(4, 60 * kSecond, kSecond);
  EXPECT_FALSE(t.Merge(kA, kMacA, 0));
  EXPECT_EQ(t.size(), 0u);
  t.Learn(kA, kMacA, 0);
  EXPECT_TRUE(t.Merge(kA, kMacB, kSecond));
  EXPECT_EQ(*t.Lookup(kA, kSecond), kMacB);
}

TEST(NeighborTableTest, FullTableRefusesNewEntriesButKeepsOld) {
  NeighborTable t(1, 60 * kSecond, kSecond);
  t.Learn(kA, kMacA, 0);
  EXPECT_EQ(t.Learn(kB, kMacB, 0), NeighborTable::LearnResult::kTableFull);
  EXPECT_FALSE(t.ShouldRequest(kB, 0));
  EXPECT_NE(t.Lookup(kA, 0), nullptr);
}

TEST(NeighborTableTest, RequestsAreRateLimitedPerAddress) {
  NeighborTable t(4, 60 * kSecond, kSecond);
  EXPECT_TRUE(t.ShouldRequest(kA, 0));
  EXPECT_FALSE(t.ShouldRequest(kA, kSecond - 1));
  EXPECT_TRUE(t.ShouldRequest(kB, kSecond - 1)) << "limit is per address";
  EXPECT_TRUE(t.ShouldRequest(kA, kSecond));
  EXPECT_EQ(t.Lookup(kA, kSecond), nullptr) << "requested is not resolved";
}

TEST(NeighborTableTest, FreshEntryNeedsNoRequestAndStaleOneDoes) {
  NeighborTable t(4, 60 * kSecond, kSecond);
  t.Learn(kA, kMacA, 0);
  EXPECT_FALSE(t.ShouldRequest(kA, 44 * kSecond));
  // Last quarter of the reachable time: refresh while still usable.
  EXPECT_TRUE(t.ShouldRequest(kA, 46 * kSecond));
  EXPECT_NE(t.Lookup(kA, 46 * kSecond), nullptr);
}

TEST(NeighborTableTest, ExpireRemovesDeadEntriesNotPendingOnes) {
  NeighborTable t(4, 60 * kSecond, kSecond);
  t.Learn(kA, kMacA, 0);
  EXPECT_TRUE(t.ShouldRequest(kB, 100 * kSecond));  // pending request
  EXPECT_EQ(t.Expire(100 * kSecond), 1u);            // A is gone, B waits
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.Expire(102 * kSecond), 1u);            // B never answered
  EXPECT_EQ(t.size(), 0u);
  // Freed slots are reused.
  EXPECT_EQ(t.Learn(kA, kMacA, 103 * kSecond),
            NeighborTable::LearnResult::kAdded);
}

}  // namespace
}  // namespace synwave::engine
