// Tests for IndexPool: every index handed out once, exhaustion is reported,
// freed indices come back most recent first, and misuse ends the process
// instead of handing one record to two connections.
#include "flow/index_pool.h"

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace synwave::flow {
namespace {

TEST(IndexPoolTest, HandsOutEveryIndexOnceThenReportsExhaustion) {
  IndexPool pool(100);
  EXPECT_EQ(pool.capacity(), 100u);
  EXPECT_EQ(pool.in_use(), 0u);
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < 100; ++i) {
    const uint32_t index = pool.Alloc();
    ASSERT_LT(index, 100u);
    EXPECT_TRUE(seen.insert(index).second) << "index " << index << " twice";
    EXPECT_EQ(pool.in_use(), i + 1);
  }
  EXPECT_EQ(pool.Alloc(), IndexPool::kNoIndex);
  EXPECT_EQ(pool.Alloc(), IndexPool::kNoIndex);
  EXPECT_EQ(pool.in_use(), 100u);
}

TEST(IndexPoolTest, FreshIndicesAscend) {
  IndexPool pool(5);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(pool.Alloc(), i);
}

TEST(IndexPoolTest, ReusesMostRecentlyFreedFirst) {
  IndexPool pool(10);
  for (int i = 0; i < 6; ++i) pool.Alloc();  // 0..5
  pool.Free(2);
  pool.Free(4);
  pool.Free(1);
  EXPECT_EQ(pool.in_use(), 3u);
  EXPECT_EQ(pool.Alloc(), 1u);
  EXPECT_EQ(pool.Alloc(), 4u);
  EXPECT_EQ(pool.Alloc(), 2u);
  // Free list empty again: back to never-used indices.
  EXPECT_EQ(pool.Alloc(), 6u);
}

TEST(IndexPoolTest, FreeAfterExhaustionMakesRoomForExactlyOne) {
  IndexPool pool(3);
  for (int i = 0; i < 3; ++i) pool.Alloc();
  ASSERT_EQ(pool.Alloc(), IndexPool::kNoIndex);
  pool.Free(1);
  EXPECT_EQ(pool.Alloc(), 1u);
  EXPECT_EQ(pool.Alloc(), IndexPool::kNoIndex);
}

TEST(IndexPoolTest, ZeroCapacityIsAlwaysExhausted) {
  IndexPool pool(0);
  EXPECT_EQ(pool.Alloc(), IndexPool::kNoIndex);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(IndexPoolTest, RandomOperationsMatchASet) {
  for (const bool check : {false, true}) {
    constexpr uint32_t kCapacity = 1000;
    IndexPool pool(kCapacity, check);
    EXPECT_EQ(pool.checks_double_free(), check);
    std::vector<uint32_t> held;
    std::set<uint32_t> held_set;
    std::mt19937 rng(42);
    for (int op = 0; op < 200000; ++op) {
      // Drift between empty and full so both ends are exercised.
      const bool alloc = (op / 5000) % 2 == 0 ? rng() % 10 < 7 : rng() % 10 < 3;
      if (alloc) {
        const uint32_t index = pool.Alloc();
        if (held.size() == kCapacity) {
          ASSERT_EQ(index, IndexPool::kNoIndex);
        } else {
          ASSERT_LT(index, kCapacity);
          ASSERT_TRUE(held_set.insert(index).second) << index;
          held.push_back(index);
        }
      } else if (!held.empty()) {
        const size_t k = rng() % held.size();
        const uint32_t index = held[k];
        held[k] = held.back();
        held.pop_back();
        held_set.erase(index);
        pool.Free(index);
        // LIFO: the next Alloc must return it.
        if (rng() % 4 == 0) {
          ASSERT_EQ(pool.Alloc(), index);
          held.push_back(index);
          held_set.insert(index);
        }
      }
      ASSERT_EQ(pool.in_use(), held.size());
    }
  }
}

TEST(IndexPoolDeathTest, DoubleFreeIsCaughtWhenChecking) {
  IndexPool pool(10, /*check_double_free=*/true);
  pool.Alloc();
  pool.Alloc();
  pool.Free(0);
  EXPECT_DEATH(pool.Free(0), "double free");
}

TEST(IndexPoolDeathTest, FreeingANeverAllocatedIndexIsAlwaysCaught) {
  IndexPool pool(10, /*check_double_free=*/false);
  pool.Alloc();
  EXPECT_DEATH(pool.Free(5), "never allocated");
  EXPECT_DEATH(pool.Free(IndexPool::kNoIndex), "never allocated");
}

TEST(IndexPoolDeathTest, MoreFreesThanAllocationsIsAlwaysCaught) {
  IndexPool pool(10, /*check_double_free=*/false);
  pool.Alloc();
  pool.Alloc();
  pool.Free(1);
  pool.Free(0);
  // Without the bitmap a single double free of a live-looking index is not
  // seen, but it can never overrun the free stack.
  EXPECT_DEATH(pool.Free(0), "more frees than allocations");
}

}  // namespace
}  // namespace synwave::flow
