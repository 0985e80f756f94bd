// Tests for MacAddress, Ipv4Address, Ipv6Address and their prefixes: text
// round trips (RFC 5952 for IPv6 output, checked against inet_ntop), the
// strictness of the parsers (they read operator config), and the predicates
// the parser and neighbour code rely on.
#include "wire/addresses.h"

#include <arpa/inet.h>

#include <optional>
#include <string>
#include <utility>

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

// ---------------------------------------------------------------------------
// Ipv6Address

Ipv6Address V6(const char* text) {
  const std::optional<Ipv6Address> a = Ipv6Address::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(Ipv6Address{});
}

// What the C library makes of the same text (inet_pton accepts exactly the
// RFC 4291 2.2 forms, without zones).
std::optional<Ipv6Address> LibcParse(const char* text) {
  Ipv6Address a;
  if (inet_pton(AF_INET6, text, a.bytes.data()) != 1) return std::nullopt;
  return a;
}

TEST(Ipv6AddressTest, ParseMatchesInetPton) {
  for (const char* text : {
           "::",
           "::1",
           "1::",
           "fd00::1",
           "FD00::ABCD",
           "2001:db8:0:0:1:0:0:1",
           "2001:0db8:0000:0000:0000:0000:0000:0001",
           "1:2:3:4:5:6:7:8",
           "1:2:3:4:5:6:7::",
           "::2:3:4:5:6:7:8",
           "1::8",
           "fe80::1:2",
           "::ffff:192.0.2.1",
           "64:ff9b::10.0.0.1",
           "1:2:3:4:5:6:1.2.3.4",
           "ff02::1:ff00:2",
       }) {
    const std::optional<Ipv6Address> ours = Ipv6Address::Parse(text);
    const std::optional<Ipv6Address> libc = LibcParse(text);
    ASSERT_TRUE(libc.has_value()) << text;
    EXPECT_EQ(ours, libc) << text;
  }
}

TEST(Ipv6AddressTest, ParseRejectsMalformed) {
  for (const char* text : {
           "",
           ":",
           ":::",
           "1:2:3:4:5:6:7",        // seven groups, no ::
           "1:2:3:4:5:6:7:8:9",    // nine
           "1:2:3:4:5:6:7:8::",    // :: standing for nothing
           "::1:2:3:4:5:6:7:8",
           "1::2::3",              // two ::
           ":1::",                 // lone leading colon
           "1::2:",                // trailing colon
           "12345::",              // five digits
           "g::1",                 // not hex
           "fd00::1%eth0",         // zone
           "[fd00::1]",            // brackets
           " fd00::1",
           "fd00::1 ",
           "::1.2.3",              // short dotted quad
           "::1.2.3.256",
           "1.2.3.4::",            // dotted quad not last
           "1:2:3:4:5:6:7:1.2.3.4",  // nine groups' worth
           "10.0.0.1",
       }) {
    EXPECT_FALSE(Ipv6Address::Parse(text).has_value()) << '"' << text << '"';
    // The C library agrees, so the list itself is right.
    EXPECT_FALSE(LibcParse(text).has_value()) << '"' << text << '"';
  }
}

// RFC 5952 canonical text, as inet_ntop writes it for every case below
// (glibc follows RFC 5952 except that it prints IPv4-mapped and compatible
// addresses with a dotted quad, which none of these is).
TEST(Ipv6AddressTest, ToStringIsRfc5952) {
  const std::pair<const char*, const char*> cases[] = {
      {"::", "::"},
      {"::1", "::1"},
      {"2001:0DB8:0:0:0:0:0:1", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},  // first of equal runs
      {"2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"},    // longest run
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // one zero: no ::
      {"1:0:0:0:0:0:0:0", "1::"},
      {"fe80::0102:0304", "fe80::102:304"},
      {"ff02::1:ff00:2", "ff02::1:ff00:2"},
  };
  for (const auto& [in, want] : cases) {
    const Ipv6Address a = V6(in);
    EXPECT_EQ(a.ToString(), want) << in;
    char buf[INET6_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof(buf)), nullptr);
    EXPECT_EQ(a.ToString(), buf) << in;
    EXPECT_EQ(Ipv6Address::Parse(a.ToString()), a);
  }
}

TEST(Ipv6AddressTest, WordsAreBigEndianHalves) {
  const Ipv6Address a = V6("102:304:506:708:90a:b0c:d0e:f10");
  EXPECT_EQ(a.High(), 0x0102030405060708ull);
  EXPECT_EQ(a.Low(), 0x090a0b0c0d0e0f10ull);
  EXPECT_EQ(Ipv6Address::FromWords(a.High(), a.Low()), a);
  EXPECT_LT(V6("fd00::1"), V6("fd00::2"));
  EXPECT_LT(V6("fd00::ff"), V6("fd00::100"));  // numeric, not text, order
}

TEST(Ipv6AddressTest, Predicates) {
  EXPECT_TRUE(Ipv6Address{}.IsUnspecified());
  EXPECT_FALSE(V6("::1").IsUnspecified());
  EXPECT_TRUE(V6("::1").IsLoopback());
  EXPECT_FALSE(V6("::2").IsLoopback());
  EXPECT_FALSE(V6("1::1").IsLoopback());
  EXPECT_TRUE(V6("ff02::1").IsMulticast());
  EXPECT_FALSE(V6("fe80::1").IsMulticast());
  EXPECT_TRUE(V6("fe80::1").IsLinkLocal());
  EXPECT_TRUE(V6("febf::1").IsLinkLocal());
  EXPECT_FALSE(V6("fec0::1").IsLinkLocal());
  EXPECT_FALSE(V6("fd00::1").IsLinkLocal());
  EXPECT_TRUE(V6("::ffff:10.0.0.1").IsV4Mapped());
  EXPECT_FALSE(V6("64:ff9b::10.0.0.1").IsV4Mapped());
  EXPECT_FALSE(V6("::10.0.0.1").IsV4Mapped());
}

// RFC 4291 2.7.1 and RFC 2464 7, with the examples of RFC 4861 and the
// addresses Linux uses.
TEST(Ipv6AddressTest, SolicitedNodeGroupAndItsMac) {
  const Ipv6Address a = V6("fd00::abcd:1234:5678");
  EXPECT_EQ(a.SolicitedNode(), V6("ff02::1:ff34:5678"));
  EXPECT_TRUE(a.SolicitedNode().IsSolicitedNodeMulticast());
  EXPECT_TRUE(a.SolicitedNode().IsMulticast());
  EXPECT_FALSE(a.IsSolicitedNodeMulticast());
  EXPECT_FALSE(V6("ff02::1").IsSolicitedNodeMulticast());
  EXPECT_FALSE(V6("ff02::2:ff00:1").IsSolicitedNodeMulticast());
  EXPECT_FALSE(V6("ff05::1:ff00:1").IsSolicitedNodeMulticast());  // site scope
  EXPECT_EQ(a.SolicitedNode().MulticastMac(),
            (MacAddress{{0x33, 0x33, 0xff, 0x34, 0x56, 0x78}}));
  EXPECT_EQ(V6("ff02::1").MulticastMac(),
            (MacAddress{{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}}));
  EXPECT_TRUE(V6("ff02::1").MulticastMac().IsMulticast());
}

TEST(Ipv6PrefixTest, ParseAndContains) {
  const std::optional<Ipv6Prefix> p = Ipv6Prefix::Parse("fd00:1:2::5/48");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->length, 48);
  EXPECT_EQ(p->address, V6("fd00:1:2::5"));
  EXPECT_TRUE(p->Contains(V6("fd00:1:2:ffff::1")));
  EXPECT_FALSE(p->Contains(V6("fd00:1:3::1")));
  EXPECT_EQ(p->ToString(), "fd00:1:2::5/48");
  EXPECT_EQ(Ipv6Prefix::Parse("fd00::1")->length, 128);
}

TEST(Ipv6PrefixTest, ContainsAtEveryLength) {
  const Ipv6Address base = V6("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
  for (int len = 0; len <= 128; ++len) {
    const Ipv6Prefix p{base, static_cast<uint8_t>(len)};
    EXPECT_TRUE(p.Contains(base)) << len;
    // Flipping a bit inside the prefix leaves it; flipping the first bit
    // after it does not.
    for (int bit = 0; bit < 128; ++bit) {
      Ipv6Address other = base;
      other.bytes[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
      EXPECT_EQ(p.Contains(other), bit >= len) << len << " " << bit;
    }
  }
}

TEST(Ipv6PrefixTest, ParseRejectsMalformed) {
  for (const char* text :
       {"fd00::/129", "fd00::/", "fd00::/01", "/64", "fd00::/-1",
        "fd00::/64/1", "10.0.0.0/8", "fd00::/ 64"}) {
    EXPECT_FALSE(Ipv6Prefix::Parse(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace synwave::wire
