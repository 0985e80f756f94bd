// Tests for MacAddress, Ipv4Address and Ipv4Prefix: text round trips, the
// strictness of the parsers (they read operator config), and the predicates
// the parser and neighbour code rely on.
#include "wire/addresses.h"

#include <string>

#include "gtest/gtest.h"

namespace synwave::wire {
namespace {

TEST(MacAddressTest, ToStringIsLowercaseColonSeparated) {
  MacAddress m{{0x02, 0xAB, 0x00, 0x0f, 0xf0, 0xff}};
  EXPECT_EQ(m.ToString(), "02:ab:00:0f:f0:ff");
  EXPECT_EQ(MacAddress{}.ToString(), "00:00:00:00:00:00");
}

TEST(MacAddressTest, ParseAcceptsEitherCase) {
  auto m = MacAddress::Parse("02:AB:cd:Ef:00:9f");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(*m, (MacAddress{{0x02, 0xab, 0xcd, 0xef, 0x00, 0x9f}}));
  EXPECT_EQ(MacAddress::Parse("ff:ff:ff:ff:ff:ff"), MacAddress::Broadcast());
}

TEST(MacAddressTest, RoundTrip) {
  const MacAddress m{{0xde, 0xad, 0xbe, 0xef, 0x01, 0x23}};
  EXPECT_EQ(MacAddress::Parse(m.ToString()), m);
}

TEST(MacAddressTest, ParseRejectsMalformed) {
  for (const char* text : {
           "",
           "02:ab:cd:ef:00",        // five groups
           "02:ab:cd:ef:00:9f:01",  // seven
           "02:ab:cd:ef:00:9",      // short last group
           "2:ab:cd:ef:00:9f0",     // right length, wrong grouping
           "02-ab-cd-ef-00-9f",     // other separator
           "02:ab:cd:ef:00:9g",     // not hex
           "02:ab:cd:ef:00:9f ",    // trailing space
           " 02:ab:cd:ef:00:9f",
           "02ab:cd:ef:00:9f:0",
           "0x:ab:cd:ef:00:9f",
       }) {
    EXPECT_FALSE(MacAddress::Parse(text).has_value()) << '"' << text << '"';
  }
}

TEST(MacAddressTest, Predicates) {
  EXPECT_TRUE(MacAddress{}.IsZero());
  EXPECT_TRUE(MacAddress::Broadcast().IsBroadcast());
  EXPECT_TRUE(MacAddress::Broadcast().IsMulticast());
  EXPECT_TRUE((MacAddress{{0x01, 0x00, 0x5e, 0, 0, 1}}).IsMulticast());
  EXPECT_FALSE((MacAddress{{0x02, 0, 0, 0, 0, 1}}).IsMulticast());
  uint8_t raw[6] = {1, 2, 3, 4, 5, 6};
  MacAddress m = MacAddress::FromBytes(raw);
  uint8_t out[6] = {};
  m.CopyTo(out);
  EXPECT_EQ(std::string(out, out + 6), std::string(raw, raw + 6));
}

TEST(Ipv4AddressTest, ToString) {
  EXPECT_EQ(Ipv4Address::FromOctets(10, 0, 0, 1).ToString(), "10.0.0.1");
  EXPECT_EQ(Ipv4Address{0xffffffff}.ToString(), "255.255.255.255");
  EXPECT_EQ(Ipv4Address{}.ToString(), "0.0.0.0");
}

TEST(Ipv4AddressTest, ParseValid) {
  EXPECT_EQ(Ipv4Address::Parse("10.0.0.1"), Ipv4Address{0x0a000001});
  EXPECT_EQ(Ipv4Address::Parse("0.0.0.0"), Ipv4Address{0});
  EXPECT_EQ(Ipv4Address::Parse("255.255.255.255"), Ipv4Address{0xffffffff});
  EXPECT_EQ(Ipv4Address::Parse("192.168.100.200"),
            Ipv4Address::FromOctets(192, 168, 100, 200));
}

TEST(Ipv4AddressTest, RoundTrip) {
  for (uint32_t v : {0u, 1u, 0x7f000001u, 0xc0a80a0bu, 0xfffffffeu}) {
    EXPECT_EQ(Ipv4Address::Parse(Ipv4Address{v}.ToString()), Ipv4Address{v});
  }
}

TEST(Ipv4AddressTest, ParseRejectsMalformed) {
  for (const char* text : {
           "",
           "1.2.3",      // too few
           "1.2.3.4.5",  // too many
           "1.2.3.4.",   // trailing dot
           ".1.2.3",
           "1..3.4",     // empty part
           "256.0.0.1",  // out of range
           "1.2.3.1000",
           "01.2.3.4",  // leading zero (octal in inet_aton)
           "1.2.3.010",
           "00.0.0.0",
           "+1.2.3.4",
           "1.2.3.-4",
           " 1.2.3.4",
           "1.2.3.4 ",
           "0x1.2.3.4",
           "1.2.3.4/24",
           "a.b.c.d",
       }) {
    EXPECT_FALSE(Ipv4Address::Parse(text).has_value()) << '"' << text << '"';
  }
}

TEST(Ipv4AddressTest, Predicates) {
  EXPECT_TRUE(Ipv4Address{}.IsZero());
  EXPECT_TRUE(Ipv4Address{0xffffffff}.IsLimitedBroadcast());
  EXPECT_TRUE(Ipv4Address::FromOctets(224, 0, 0, 1).IsMulticast());
  EXPECT_TRUE(Ipv4Address::FromOctets(239, 255, 255, 255).IsMulticast());
  EXPECT_FALSE(Ipv4Address::FromOctets(223, 255, 255, 255).IsMulticast());
  EXPECT_FALSE(Ipv4Address::FromOctets(240, 0, 0, 0).IsMulticast());
  EXPECT_TRUE(Ipv4Address::FromOctets(127, 0, 0, 1).IsLoopback());
  EXPECT_FALSE(Ipv4Address::FromOctets(128, 0, 0, 1).IsLoopback());
  EXPECT_LT(Ipv4Address::FromOctets(9, 255, 255, 255),
            Ipv4Address::FromOctets(10, 0, 0, 0));
}

TEST(Ipv4PrefixTest, ParseWithLength) {
  auto p = Ipv4Prefix::Parse("10.0.0.2/24");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->address, Ipv4Address::FromOctets(10, 0, 0, 2));
  EXPECT_EQ(p->length, 24);
  EXPECT_EQ(p->Mask(), 0xffffff00u);
  EXPECT_EQ(p->Broadcast(), Ipv4Address::FromOctets(10, 0, 0, 255));
  EXPECT_TRUE(p->Contains(Ipv4Address::FromOctets(10, 0, 0, 200)));
  EXPECT_FALSE(p->Contains(Ipv4Address::FromOctets(10, 0, 1, 2)));
}

TEST(Ipv4PrefixTest, BareAddressIsSlash32) {
  auto p = Ipv4Prefix::Parse("192.168.1.1");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->length, 32);
  EXPECT_EQ(p->Mask(), 0xffffffffu);
  EXPECT_TRUE(p->Contains(Ipv4Address::FromOctets(192, 168, 1, 1)));
  EXPECT_FALSE(p->Contains(Ipv4Address::FromOctets(192, 168, 1, 2)));
}

TEST(Ipv4PrefixTest, ZeroLengthContainsEverything) {
  auto p = Ipv4Prefix::Parse("0.0.0.0/0");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->length, 0);
  EXPECT_EQ(p->Mask(), 0u);
  EXPECT_TRUE(p->Contains(Ipv4Address{0xdeadbeef}));
}

TEST(Ipv4PrefixTest, ToStringRoundTrip) {
  for (const char* text :
       {"10.0.0.2/24", "0.0.0.0/0", "1.2.3.4/32", "172.16.5.4/12"}) {
    auto p = Ipv4Prefix::Parse(text);
    ASSERT_TRUE(p.has_value()) << text;
    EXPECT_EQ(p->ToString(), text);
  }
  EXPECT_EQ(Ipv4Prefix::Parse("1.2.3.4")->ToString(), "1.2.3.4/32");
}

TEST(Ipv4PrefixTest, ParseRejectsMalformed) {
  for (const char* text : {
           "",
           "/24",
           "10.0.0.2/",
           "10.0.0.2/33",
           "10.0.0.2/024",  // leading zero
           "10.0.0.2/2a",
           "10.0.0.2/-1",
           "10.0.0.2/+8",
           "10.0.0.2/24/1",
           "10.0.0.2 /24",
           "10.0.0.2/ 24",
           "10.0.0/24",
           "10.0.0.2/100",
       }) {
    EXPECT_FALSE(Ipv4Prefix::Parse(text).has_value()) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace synwave::wire
