// Tests for SeqNum: modulo-2^32 comparisons, distances and window checks,
// especially across the wrap from 0xffffffff to 0, where raw uint32_t
// comparisons go wrong (RFC 9293 3.4).
#include "wire/seq_num.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace synwave::wire {
namespace {

constexpr SeqNum kBeforeWrap(0xfffffff0);
constexpr SeqNum kAfterWrap(0x00000010);

TEST(SeqNumTest, OrdersAcrossTheWrap) {
  EXPECT_TRUE(kBeforeWrap < kAfterWrap);
  EXPECT_TRUE(kBeforeWrap <= kAfterWrap);
  EXPECT_TRUE(kAfterWrap > kBeforeWrap);
  EXPECT_TRUE(kAfterWrap >= kBeforeWrap);
  EXPECT_FALSE(kAfterWrap < kBeforeWrap);
  EXPECT_FALSE(kBeforeWrap > kAfterWrap);
  EXPECT_NE(kBeforeWrap, kAfterWrap);
  // The raw values compare the other way: why the wrapper exists.
  EXPECT_GT(kBeforeWrap.value(), kAfterWrap.value());
}

TEST(SeqNumTest, EqualValues) {
  const SeqNum a(123);
  EXPECT_EQ(a, SeqNum(123));
  EXPECT_TRUE(a <= SeqNum(123));
  EXPECT_TRUE(a >= SeqNum(123));
  EXPECT_FALSE(a < SeqNum(123));
  EXPECT_FALSE(a > SeqNum(123));
}

TEST(SeqNumTest, SignedDistance) {
  EXPECT_EQ(kAfterWrap - kBeforeWrap, 0x20);
  EXPECT_EQ(kBeforeWrap - kAfterWrap, -0x20);
  EXPECT_EQ(SeqNum(0) - SeqNum(0xffffffff), 1);
  EXPECT_EQ(SeqNum(0x7fffffff) - SeqNum(0), INT32_MAX);
  EXPECT_EQ(SeqNum(0x80000001) - SeqNum(0), -INT32_MAX);
}

TEST(SeqNumTest, ArithmeticWraps) {
  EXPECT_EQ((kBeforeWrap + 0x20).value(), 0x10u);
  EXPECT_EQ((kAfterWrap - 0x20).value(), 0xfffffff0u);
  SeqNum s(0xffffffff);
  s += 1;
  EXPECT_EQ(s.value(), 0u);
  s -= 2;
  EXPECT_EQ(s.value(), 0xfffffffeu);
}

TEST(SeqNumTest, LargestOrderableGap) {
  const SeqNum a(0xc0000000);
  EXPECT_TRUE(a < a + 0x7fffffff);
  EXPECT_TRUE(a > a - 0x7fffffff);
}

TEST(SeqNumTest, HalfSpaceApartIsAmbiguous) {
  // At exactly 2^31 apart the signed difference is INT32_MIN both ways, so
  // each number is "before" the other (as with the kernel's before()). TCP
  // windows (at most 2^30 with scaling) never compare such a pair.
  const SeqNum a(5);
  const SeqNum b = a + 0x80000000u;
  EXPECT_TRUE(a < b);
  EXPECT_TRUE(b < a);
}

TEST(SeqNumTest, InWindowIsHalfOpen) {
  const SeqNum lo(0xfffffff0);
  const SeqNum hi = lo + 0x20;  // 0x10, past the wrap
  EXPECT_TRUE(lo.InWindow(lo, hi));
  EXPECT_TRUE(SeqNum(0xffffffff).InWindow(lo, hi));
  EXPECT_TRUE(SeqNum(0).InWindow(lo, hi));
  EXPECT_TRUE(SeqNum(0xf).InWindow(lo, hi));
  EXPECT_FALSE(hi.InWindow(lo, hi));
  EXPECT_FALSE(SeqNum(0xffffffef).InWindow(lo, hi));
  EXPECT_FALSE(SeqNum(0x11).InWindow(lo, hi));
  EXPECT_FALSE(SeqNum(0x80000000).InWindow(lo, hi));
}

TEST(SeqNumTest, EmptyWindowHoldsNothing) {
  // RFC 9293 3.10.7.4: with RCV.WND = 0 no sequence number is acceptable.
  const SeqNum lo(0xffffffff);
  EXPECT_FALSE(lo.InWindow(lo, lo));
  EXPECT_FALSE((lo + 1).InWindow(lo, lo));
  EXPECT_TRUE(lo.Between(lo, lo));
  EXPECT_FALSE((lo + 1).Between(lo, lo));
}

TEST(SeqNumTest, BetweenIsClosed) {
  // SND.UNA =< SEG.ACK =< SND.NXT (RFC 9293 3.10.7.4, fifth), across the
  // wrap.
  const SeqNum una(0xfffffffa);
  const SeqNum nxt(0x00000005);
  EXPECT_TRUE(una.Between(una, nxt));
  EXPECT_TRUE(nxt.Between(una, nxt));
  EXPECT_TRUE(SeqNum(0).Between(una, nxt));
  EXPECT_FALSE((una - 1).Between(una, nxt));
  EXPECT_FALSE((nxt + 1).Between(una, nxt));
}

TEST(SeqNumTest, MaxMin) {
  EXPECT_EQ(Max(kBeforeWrap, kAfterWrap), kAfterWrap);
  EXPECT_EQ(Min(kBeforeWrap, kAfterWrap), kBeforeWrap);
  EXPECT_EQ(Max(kAfterWrap, kBeforeWrap), kAfterWrap);
  EXPECT_EQ(Min(kAfterWrap, kBeforeWrap), kBeforeWrap);
}

TEST(SeqNumTest, UsableInConstantExpressions) {
  static_assert(SeqNum(0xffffffff) < SeqNum(0));
  static_assert((SeqNum(0xffffffff) + 1).value() == 0);
  static_assert(SeqNum(1).InWindow(SeqNum(0), SeqNum(2)));
}

// RFC 7323 5.3: PAWS orders timestamps by the sign of their difference,
// so a TSval just past the 32-bit wrap is newer than one just before it.
TEST(TsValTest, OrdersAcrossTheWrap) {
  const TsVal before(0xfffffff0);
  const TsVal after(0x00000010);
  EXPECT_LT(before, after);
  EXPECT_GT(after, before);
  EXPECT_LE(before, before);
  EXPECT_GE(after, after);
  EXPECT_EQ(after - before, 0x20);
  EXPECT_EQ(before - after, -0x20);
  // Raw comparison gets it backwards: the bug the type prevents.
  EXPECT_GT(before.value(), after.value());
  static_assert(TsVal(1) > TsVal(0xffffffff));
}

}  // namespace
}  // namespace synwave::wire
