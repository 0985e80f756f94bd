// The worker's local address table: which addresses are ours, and who
// takes the TCP addressed to each (engine/local_addresses.h).
#include "engine/local_addresses.h"

#include "gtest/gtest.h"

namespace synwave::engine {
namespace {

using LA = LocalAddresses;

TEST(LocalAddressesTest, EmptyTableHasNoLocalAddress) {
  LA t;
  EXPECT_EQ(t.Find(0), LA::kNotLocal);
  EXPECT_EQ(t.Find(0xc6120002), LA::kNotLocal);
  EXPECT_EQ(t.Find(0xffffffff), LA::kNotLocal);
  EXPECT_FALSE(t.IsLocal(0xc6120002));
}

TEST(LocalAddressesTest, FindsTheOwnerOfEachRangeInclusive) {
  LA t;
  ASSERT_TRUE(t.Add(0xc6120002, 0xc6120002, LA::kStack));
  ASSERT_TRUE(t.Add(0x0a000101, 0x0a0001fe, LA::kStack));
  ASSERT_TRUE(t.Add(0x0a800001, 0x0afffffe, 1));
  EXPECT_EQ(t.Find(0xc6120002), LA::kStack);
  EXPECT_EQ(t.Find(0xc6120001), LA::kNotLocal);
  EXPECT_EQ(t.Find(0xc6120003), LA::kNotLocal);
  EXPECT_EQ(t.Find(0x0a000101), LA::kStack);
  EXPECT_EQ(t.Find(0x0a0001fe), LA::kStack);
  EXPECT_EQ(t.Find(0x0a0001ff), LA::kNotLocal);
  EXPECT_EQ(t.Find(0x0a800001), 1);
  EXPECT_EQ(t.Find(0x0afffffe), 1);
  EXPECT_EQ(t.Find(0x0affffff), LA::kNotLocal);
  EXPECT_EQ(t.size(), 3u);
}

TEST(LocalAddressesTest, WholeAddressSpaceAndEdges) {
  LA t;
  ASSERT_TRUE(t.Add(0, 0, 0));
  ASSERT_TRUE(t.Add(0xffffffff, 0xffffffff, 2));
  EXPECT_EQ(t.Find(0), 0);
  EXPECT_EQ(t.Find(0xffffffff), 2);
  EXPECT_EQ(t.Find(1), LA::kNotLocal);
  LA all;
  ASSERT_TRUE(all.Add(0, 0xffffffff, LA::kNoOwner));
  EXPECT_EQ(all.Find(0x12345678), LA::kNoOwner);
}

TEST(LocalAddressesTest, AnApplicationsClaimWinsOverTheStack) {
  LA t;
  ASSERT_TRUE(t.Add(0x0a000000, 0x0a0000ff, LA::kStack));
  ASSERT_TRUE(t.Add(0x0a000080, 0x0a00008f, 0));  // claimed later, wins
  ASSERT_TRUE(t.Add(0x0a000088, 0x0a000088, 1));  // a later claim loses
  EXPECT_EQ(t.Find(0x0a000080), 0);
  EXPECT_EQ(t.Find(0x0a000088), 0);
  EXPECT_EQ(t.Find(0x0a000090), LA::kStack);
  EXPECT_EQ(t.Find(0x0a000001), LA::kStack);
}

TEST(LocalAddressesTest, NoOwnerIsLocalButHasNoTcpHandler) {
  LA t;
  ASSERT_TRUE(t.Add(0xc6120002, 0xc6120002, LA::kNoOwner));
  EXPECT_TRUE(t.IsLocal(0xc6120002));
  EXPECT_EQ(t.Find(0xc6120002), LA::kNoOwner);
}

TEST(LocalAddressesTest, RefusesBadRangesAndAFullTable) {
  LA t;
  EXPECT_FALSE(t.Add(10, 9, LA::kStack));
  EXPECT_FALSE(t.Add(10, 10, LA::kNotLocal));
  for (uint32_t i = 0; i < LA::kCapacity; ++i) {
    ASSERT_TRUE(t.Add(100 * i, 100 * i + 9, i % 2 == 0 ? LA::kStack : 3));
  }
  EXPECT_FALSE(t.Add(5000, 5000, LA::kStack));
  EXPECT_FALSE(t.Add(6000, 6000, 1));
  // Every range is still found, and nothing else.
  for (uint32_t i = 0; i < LA::kCapacity; ++i) {
    EXPECT_EQ(t.Find(100 * i + 5), i % 2 == 0 ? LA::kStack : 3) << i;
    EXPECT_EQ(t.Find(100 * i + 50), LA::kNotLocal) << i;
  }
}

// A SYN proxy's backend side: every address routes TCP to the proxy, but
// only its own address is answered to ARP and ICMP echo.
TEST(LocalAddressesTest, TcpOnlyClaimRoutesButIsNotLocal) {
  LA t;
  ASSERT_TRUE(t.Add(0x0a090001, 0x0a090001, LA::kNoOwner));
  ASSERT_TRUE(t.Add(0x0a090001, 0x0a090001, 2));
  ASSERT_TRUE(t.Add(0, 0xffffffff, 2, /*answer_arp=*/false));
  EXPECT_EQ(t.Find(0xc6336407), 2);  // a client's address
  EXPECT_FALSE(t.IsLocal(0xc6336407));
  EXPECT_EQ(t.Find(0x0a090001), 2);
  EXPECT_TRUE(t.IsLocal(0x0a090001));
}

}  // namespace
}  // namespace synwave::engine
