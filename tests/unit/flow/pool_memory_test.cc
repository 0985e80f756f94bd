// Tests for the pools' memory (flow/pool_memory.h): a large pool is 2 MiB
// aligned, zero-filled and present before it is returned (writing all of
// it then takes no page fault: the packet path's guarantee), a pool
// populated on first use is not present until touched, vectors on it
// value-initialise their elements, and small pools behave the same.
#include "flow/pool_memory.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace synwave::flow {
namespace {

constexpr size_t kLarge = size_t{64} << 20;  // 32 huge pages

// How many of the pages of [p, p + bytes) are resident.
size_t ResidentPages(const void* p, size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((bytes + page - 1) / page);
  EXPECT_EQ(mincore(const_cast<void*>(p), bytes, vec.data()), 0);
  size_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

long MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

TEST(PoolMemoryTest, LargePoolIsAlignedZeroedAndPresent) {
  PoolArray<uint32_t> a(kLarge / sizeof(uint32_t));
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % (size_t{2} << 20), 0u);
  EXPECT_EQ(ResidentPages(a.data(), kLarge), kLarge / page);
  uint64_t sum = 0;
  for (size_t i = 0; i < a.size(); i += 1024) sum += a[i];
  EXPECT_EQ(sum, 0u);
  // Writing every byte of it takes no page fault (a pool faulted on use
  // would take one per 4 KiB page, or per 2 MiB huge page: 32).
  MinorFaults();
  const long before = MinorFaults();
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint32_t>(i);
  EXPECT_LE(MinorFaults() - before, 2);
  EXPECT_EQ(a[a.size() - 1], a.size() - 1);
}

TEST(PoolMemoryTest, PopulatedOnFirstUseOnlyWhereTouched) {
  PoolArray<uint8_t> a(kLarge, Populate::kOnFirstUse);
  EXPECT_EQ(ResidentPages(a.data(), kLarge), 0u);
  a[0] = 1;
  EXPECT_GT(ResidentPages(a.data(), kLarge), 0u);
  EXPECT_LT(ResidentPages(a.data(), kLarge),
            kLarge / static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  EXPECT_EQ(a[kLarge - 1], 0);
}

struct Record {
  uint32_t prev = 0xffffffffu;
  uint32_t next = 0xffffffffu;
  uint64_t value = 7;
};

TEST(PoolMemoryTest, VectorValueInitialisesItsElements) {
  for (size_t n : {size_t{3}, kLarge / sizeof(Record) + 5}) {
    PoolVector<Record> v(n);
    ASSERT_EQ(v.size(), n);
    for (size_t i : {size_t{0}, n / 2, n - 1}) {
      EXPECT_EQ(v[i].prev, 0xffffffffu);
      EXPECT_EQ(v[i].next, 0xffffffffu);
      EXPECT_EQ(v[i].value, 7u);
    }
    v[n - 1].value = 9;  // the last element is writable
    EXPECT_EQ(v[n - 1].value, 9u);
  }
}

TEST(PoolMemoryTest, SmallPoolIsZeroedAndAligned) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}}) {
    PoolArray<uint64_t> a(n);
    EXPECT_EQ(a.size(), n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 64, 0u);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(a[i], 0u) << i;
  }
}

}  // namespace
}  // namespace synwave::flow
