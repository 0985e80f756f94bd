// Tests for the ICMPv6 builders: the frames they write are byte for byte the
// ones scapy writes for the same messages (scapy_ipv6_frames.h), parse back
// with our parser, and answer what RFC 4861 7.2.4 and RFC 4443 4.2 say.
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "scapy_ipv6_frames.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/icmp6.h"
#include "wire/parse.h"

namespace synwave::wire {
namespace {

const MacAddress kMac1{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddress kMac2{{0x02, 0, 0, 0, 0, 0x02}};

Ipv6Address V6(const char* text) { return *Ipv6Address::Parse(text); }

std::vector<uint8_t> FromArray(const uint8_t* p, size_t n) {
  return std::vector<uint8_t>(p, p + n);
}

PacketInfo MustParse(const std::vector<uint8_t>& f) {
  PacketInfo info;
  EXPECT_EQ(VerdictName(ParseFrame(f.data(), static_cast<uint32_t>(f.size()),
                                   {}, &info)),
            "ok");
  return info;
}

TEST(NeighborSolicitationTest, SameBytesAsScapy) {
  // fe80::1 (02:..:01) resolving fd00::2.
  const NdSpec spec = SolicitationFor(V6("fd00::2"), V6("fe80::1"), kMac1);
  EXPECT_EQ(spec.dst_ip, V6("ff02::1:ff00:2"));
  EXPECT_EQ(spec.dst_mac, (MacAddress{{0x33, 0x33, 0xff, 0, 0, 0x02}}));
  std::vector<uint8_t> f(kNdFrameMaxLength, 0xcc);
  f.resize(WriteNeighborSolicitation(f.data(), spec));
  EXPECT_EQ(f, FromArray(testutil::kScapyNs, sizeof(testutil::kScapyNs)));
}

TEST(NeighborSolicitationTest, ProbeWithoutOptionParses) {
  NdSpec spec = SolicitationFor(V6("fd00::2"), Ipv6Address{}, kMac1);
  spec.link_address_option = false;
  std::vector<uint8_t> f(kNdFrameMaxLength);
  f.resize(WriteNeighborSolicitation(f.data(), spec));
  EXPECT_EQ(f.size(), 14u + 40 + 24);
  const PacketInfo info = MustParse(f);
  EXPECT_EQ(info.kind, PacketKind::kIcmp6);
  EXPECT_EQ(info.nd_link_address_offset, 0);
}

TEST(NeighborAdvertisementTest, AnswerToScapySolicitationIsScapysAnswer) {
  const std::vector<uint8_t> ns =
      FromArray(testutil::kScapyNs, sizeof(testutil::kScapyNs));
  const PacketInfo info = MustParse(ns);
  const NdSpec spec = AdvertisementFor(ns.data(), info, kMac2);
  EXPECT_EQ(spec.flags, na_flags::kSolicited | na_flags::kOverride);
  std::vector<uint8_t> f(kNdFrameMaxLength);
  f.resize(WriteNeighborAdvertisement(f.data(), spec));
  EXPECT_EQ(f, FromArray(testutil::kScapyNa, sizeof(testutil::kScapyNa)));
}

TEST(NeighborAdvertisementTest, WithoutSourceOptionAnswersTheEthernetSource) {
  testutil::Icmp6Frame ns;
  ns.eth.src = MacAddress{{0x02, 0, 0, 0, 0, 0x99}};
  ns.ip.src = V6("fd00::1");
  ns.ip.dst = V6("fd00::2");  // unicast solicitation (reachability check)
  ns.ip.hop_limit = kNdHopLimit;
  ns.icmp.type = kIcmpv6NeighborSolicitation;
  ns.icmp.body = testutil::NdBody(V6("fd00::2"));
  const std::vector<uint8_t> f = testutil::BuildFrame(ns);
  const NdSpec spec = AdvertisementFor(f.data(), MustParse(f), kMac2);
  EXPECT_EQ(spec.dst_mac, ns.eth.src);
  EXPECT_EQ(spec.dst_ip, V6("fd00::1"));
  EXPECT_EQ(spec.src_ip, V6("fd00::2"));
}

TEST(NeighborAdvertisementTest, AddressProbeIsAnsweredToAllNodes) {
  testutil::Icmp6Frame ns;
  ns.ip.src = Ipv6Address{};
  ns.ip.dst = V6("fd00::2").SolicitedNode();
  ns.ip.hop_limit = kNdHopLimit;
  ns.icmp.type = kIcmpv6NeighborSolicitation;
  ns.icmp.body = testutil::NdBody(V6("fd00::2"));
  const std::vector<uint8_t> probe = testutil::BuildFrame(ns);
  const NdSpec spec = AdvertisementFor(probe.data(), MustParse(probe), kMac2);
  std::vector<uint8_t> f(kNdFrameMaxLength);
  f.resize(WriteNeighborAdvertisement(f.data(), spec));
  const PacketInfo info = MustParse(f);  // passes RFC 4861 7.1.2: S clear
  const auto* eth = reinterpret_cast<const EthernetHeader*>(f.data());
  EXPECT_EQ(eth->Dst(), (MacAddress{{0x33, 0x33, 0, 0, 0, 0x01}}));
  EXPECT_EQ(Ipv6Dst(f.data(), info), V6("ff02::1"));
  EXPECT_EQ(Ipv6Src(f.data(), info), V6("fd00::2"));
  const auto* na =
      reinterpret_cast<const NeighborAdvertisement*>(f.data() + info.l4_offset);
  EXPECT_EQ(na->flags, na_flags::kOverride);
  EXPECT_EQ(na->Target(), V6("fd00::2"));
  ASSERT_NE(info.nd_link_address_offset, 0);
  EXPECT_EQ(MacAddress::FromBytes(f.data() + info.nd_link_address_offset),
            kMac2);
}

TEST(Icmpv6EchoReplyTest, SameBytesAsScapy) {
  std::vector<uint8_t> f =
      FromArray(testutil::kScapyEcho6, sizeof(testutil::kScapyEcho6));
  const PacketInfo info = MustParse(f);
  const size_t len =
      WriteIcmpv6EchoReply(f.data(), info, Ipv6Dst(f.data(), info), kMac2);
  f.resize(len);
  EXPECT_EQ(f, FromArray(testutil::kScapyEchoReply6,
                         sizeof(testutil::kScapyEchoReply6)));
}

TEST(Icmpv6EchoReplyTest, ExtensionHeadersAndPaddingAreDropped) {
  testutil::Icmp6Frame req;
  req.ip.extensions.resize(2);
  req.ip.extensions[0].type = kIpProtoHopByHop;
  req.ip.extensions[1].type = kIpProtoDestinationOptions;
  req.ip.extensions[1].body = {1, 12};  // PadN of 12: a 16-byte header
  req.ip.extensions[1].body.resize(14);
  const std::vector<uint8_t> data = {'a', 'b', 'c', 'd', 'e'};
  req.icmp.body = testutil::EchoBody(0xbeef, 3, data);
  req.eth.pad_to = 200;
  req.eth.pad_byte = 0x77;
  std::vector<uint8_t> f = testutil::BuildFrame(req);
  const PacketInfo info = MustParse(f);
  ASSERT_GT(info.l4_offset, 54);
  f.resize(WriteIcmpv6EchoReply(f.data(), info, V6("fd00::2"), kMac2, 61));
  ASSERT_EQ(f.size(), 14u + 40 + 8 + data.size());
  const PacketInfo reply = MustParse(f);
  EXPECT_EQ(reply.kind, PacketKind::kIcmp6);
  EXPECT_EQ(reply.l4_offset, 54);
  EXPECT_EQ(f[7 + 14], 61);  // hop limit
  EXPECT_EQ(Ipv6Src(f.data(), reply), V6("fd00::2"));
  EXPECT_EQ(Ipv6Dst(f.data(), reply), req.ip.src);
  const auto* echo =
      reinterpret_cast<const IcmpEchoHeader*>(f.data() + reply.l4_offset);
  EXPECT_EQ(echo->type, kIcmpv6EchoReply);
  EXPECT_EQ(echo->id.get(), 0xbeef);
  EXPECT_EQ(echo->sequence.get(), 3);
  EXPECT_EQ(0, std::memcmp(f.data() + 62, data.data(), data.size()));
  const auto* eth = reinterpret_cast<const EthernetHeader*>(f.data());
  EXPECT_EQ(eth->Dst(), req.eth.src);
  EXPECT_EQ(eth->Src(), kMac2);
}

}  // namespace
}  // namespace synwave::wire
