// Tests for ParseFrame: one case per Verdict, the fields of accepted frames,
// offload handling, and bounds safety at every truncation length.
//
// Every frame is copied into a heap buffer of exactly its length before
// parsing, so under AddressSanitizer a read one byte past the frame fails
// the test instead of landing in a vector's spare capacity.
#include <cstring>
#include <iterator>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"
#include "wire/verdict.h"

namespace synwave::wire {
namespace {

using testutil::ArpFrame;
using testutil::BuildFrame;
using testutil::BuildIpv4Frame;
using testutil::IcmpFrame;
using testutil::kIpv4Offset;
using testutil::kL4Offset;
using testutil::TcpFrame;

constexpr RxOffload kSoftware{RxChecksum::kUnknown, RxChecksum::kUnknown};
constexpr RxOffload kAllGood{RxChecksum::kGood, RxChecksum::kGood};

// Parses a copy of the first `len` bytes of `frame` held in a buffer of
// exactly `len` bytes.
Verdict ParsePrefix(const std::vector<uint8_t>& frame, size_t len,
                    RxOffload offload, PacketInfo* info) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[len]);
  if (len > 0) std::memcpy(copy.get(), frame.data(), len);
  return ParseFrame(copy.get(), static_cast<uint32_t>(len), offload, info);
}

Verdict Parse(const std::vector<uint8_t>& frame, RxOffload offload = kSoftware,
              PacketInfo* info = nullptr) {
  PacketInfo scratch;
  return ParsePrefix(frame, frame.size(), offload, info ? info : &scratch);
}

TcpOptions SynOptions() {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = 0x11223344;
  o.ts_ecr = 0;
  o.has_window_scale = true;
  o.window_scale = 7;
  return o;
}

TcpFrame Syn() {
  TcpFrame f;
  f.ip.src = Ipv4Address::FromOctets(192, 168, 1, 10);
  f.ip.dst = Ipv4Address::FromOctets(192, 168, 1, 20);
  f.tcp.src_port = 12345;
  f.tcp.dst_port = 80;
  f.tcp.seq = 0x01020304;
  f.tcp.flags = tcp_flags::kSyn;
  f.tcp.window = 64240;
  f.tcp.options = SynOptions();
  return f;
}

std::vector<uint8_t> WithByteFlipped(std::vector<uint8_t> f, size_t offset) {
  f[offset] ^= 0x01;
  return f;
}

// ---------------------------------------------------------------------------
// One table row per way to reach each verdict.

struct VerdictCase {
  std::string name;
  Verdict expected;
  std::vector<uint8_t> frame;
  RxOffload offload = kSoftware;
};

// Names the case in failure messages instead of dumping its bytes.
void PrintTo(const VerdictCase& c, std::ostream* os) {
  *os << VerdictName(c.expected) << "/" << c.name;
}

std::vector<VerdictCase> AllVerdictCases() {
  std::vector<VerdictCase> cases;
  auto add = [&](std::string name, Verdict v, std::vector<uint8_t> frame,
                 RxOffload offload = kSoftware) {
    cases.push_back({std::move(name), v, std::move(frame), offload});
  };

  // kOk
  add("TcpSyn", Verdict::kOk, BuildFrame(Syn()));
  add("Arp", Verdict::kOk, BuildFrame(ArpFrame{}));
  add("IcmpEcho", Verdict::kOk, BuildFrame(IcmpFrame{}));

  // kEthTruncated
  add("Empty", Verdict::kEthTruncated, {});
  {
    std::vector<uint8_t> f = BuildFrame(Syn());
    f.resize(13);
    add("ThirteenBytes", Verdict::kEthTruncated, f);
  }

  // kEthSrcGroup: broadcast and multicast sources, whatever follows them
  // (issue 11, finding 4); a locally administered unicast source is fine.
  {
    TcpFrame f = Syn();
    f.eth.src = MacAddress::Broadcast();
    add("SourceBroadcastSyn", Verdict::kEthSrcGroup, BuildFrame(f));
    f.eth.src = MacAddress{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
    add("SourceIpv4MulticastSyn", Verdict::kEthSrcGroup, BuildFrame(f));
    f.eth.src = MacAddress{{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}};
    add("SourceIpv6MulticastSyn", Verdict::kEthSrcGroup, BuildFrame(f));
    IcmpFrame echo;
    echo.eth.src = MacAddress::Broadcast();
    add("SourceBroadcastEcho", Verdict::kEthSrcGroup, BuildFrame(echo));
    ArpFrame arp;
    arp.eth.src = MacAddress{{0x03, 0, 0, 0, 0, 1}};
    add("SourceGroupArp", Verdict::kEthSrcGroup, BuildFrame(arp));
    f.eth.src = MacAddress{{0x02, 0xff, 0xff, 0xff, 0xff, 0xff}};
    add("SourceLocalUnicast", Verdict::kOk, BuildFrame(f));
  }

  // kEthTypeUnsupported
  {
    TcpFrame f = Syn();
    f.eth.ether_type = kEtherTypeVlan;
    add("Vlan", Verdict::kEthTypeUnsupported, BuildFrame(f));
    f.eth.ether_type = 0x88cc;
    add("Lldp", Verdict::kEthTypeUnsupported, BuildFrame(f));
  }

  // kArpTruncated
  {
    std::vector<uint8_t> f = BuildFrame(ArpFrame{});
    f.pop_back();
    add("Arp27", Verdict::kArpTruncated, f);
  }

  // kArpUnsupported
  {
    ArpFrame f;
    f.arp.htype = 6;
    add("ArpHtype", Verdict::kArpUnsupported, BuildFrame(f));
    f = ArpFrame{};
    f.arp.ptype = 0x86dd;
    add("ArpPtype", Verdict::kArpUnsupported, BuildFrame(f));
    f = ArpFrame{};
    f.arp.hlen = 8;
    add("ArpHlen", Verdict::kArpUnsupported, BuildFrame(f));
    f = ArpFrame{};
    f.arp.plen = 16;
    add("ArpPlen", Verdict::kArpUnsupported, BuildFrame(f));
  }

  // kIpv4Truncated
  {
    std::vector<uint8_t> f = BuildFrame(Syn());
    f.resize(kIpv4Offset + 19);
    add("Ipv4Header19", Verdict::kIpv4Truncated, f);
  }

  // kIpv4BadVersion
  {
    TcpFrame f = Syn();
    f.ip.version = 6;
    add("Version6", Verdict::kIpv4BadVersion, BuildFrame(f));
  }

  // kIpv4BadIhl
  {
    TcpFrame f = Syn();
    f.ip.ihl_words = 4;
    add("Ihl4", Verdict::kIpv4BadIhl, BuildFrame(f));
    f = Syn();
    f.tcp.options = {};
    f.ip.ihl_words = 15;  // 60 bytes, but only 40 follow the Ethernet header
    add("IhlPastFrame", Verdict::kIpv4BadIhl, BuildFrame(f));
  }

  // kIpv4BadTotalLength
  {
    TcpFrame f = Syn();
    f.ip.total_length = 19;
    add("TotalBelowHeader", Verdict::kIpv4BadTotalLength, BuildFrame(f));
    std::vector<uint8_t> ok = BuildFrame(Syn());
    f.ip.total_length = static_cast<uint16_t>(ok.size() - kIpv4Offset + 1);
    add("TotalPastFrame", Verdict::kIpv4BadTotalLength, BuildFrame(f));
  }

  // kIpv4Fragment
  {
    TcpFrame f = Syn();
    f.ip.flags_fragment = kIpv4FlagMoreFragments;
    add("MoreFragments", Verdict::kIpv4Fragment, BuildFrame(f));
    f.ip.flags_fragment = kIpv4FlagDontFragment | 1;
    add("FragmentOffset", Verdict::kIpv4Fragment, BuildFrame(f));
    f.ip.flags_fragment = 0x1fff;
    add("LastFragmentOffset", Verdict::kIpv4Fragment, BuildFrame(f));
  }

  // kIpv4BadChecksum
  {
    std::vector<uint8_t> f = BuildFrame(Syn());
    add("Ipv4ChecksumWrong", Verdict::kIpv4BadChecksum,
        WithByteFlipped(f, kIpv4Offset + 11));
    add("Ipv4TtlCorrupted", Verdict::kIpv4BadChecksum,
        WithByteFlipped(f, kIpv4Offset + 8));
    add("Ipv4OffloadBad", Verdict::kIpv4BadChecksum, f,
        {RxChecksum::kBad, RxChecksum::kUnknown});
  }

  // kIpv4BadSource
  for (auto [name, src] :
       {std::pair{"SourceZero", Ipv4Address{0}},
        std::pair{"SourceBroadcast", Ipv4Address{0xffffffff}},
        std::pair{"SourceMulticastLow", Ipv4Address::FromOctets(224, 0, 0, 1)},
        std::pair{"SourceMulticastHigh",
                  Ipv4Address::FromOctets(239, 255, 255, 255)}}) {
    TcpFrame f = Syn();
    f.ip.src = src;
    add(name, Verdict::kIpv4BadSource, BuildFrame(f));
  }

  // kIpv4LoopbackSource: all of 127.0.0.0/8 (issue 11, finding 5).
  for (auto [name, src] :
       {std::pair{"SourceLoopback", Ipv4Address::FromOctets(127, 0, 0, 1)},
        std::pair{"SourceLoopbackHigh",
                  Ipv4Address::FromOctets(127, 255, 255, 254)}}) {
    TcpFrame f = Syn();
    f.ip.src = src;
    add(name, Verdict::kIpv4LoopbackSource, BuildFrame(f));
  }

  // kIpv4Land: from our own address to itself.
  {
    TcpFrame f = Syn();
    f.ip.src = f.ip.dst;
    add("SourceIsDestination", Verdict::kIpv4Land, BuildFrame(f));
  }

  // kIpv4ProtoUnsupported
  {
    const std::vector<uint8_t> udp(8, 0);
    add("Udp", Verdict::kIpv4ProtoUnsupported,
        BuildIpv4Frame({}, {}, /*protocol=*/17, udp));
  }

  // kIcmpTruncated: the padding makes the frame long enough, but the IPv4
  // total length says the message is 7 bytes.
  {
    const std::vector<uint8_t> icmp = {8, 0, 0xf7, 0xff, 0, 0, 0};
    testutil::EthernetFields eth;
    eth.pad_to = testutil::kMinEthernetFrame;
    add("Icmp7", Verdict::kIcmpTruncated,
        BuildIpv4Frame(eth, {}, kIpProtoIcmp, icmp));
  }

  // kIcmpBadChecksum, also when the NIC claims the L4 checksum is good:
  // NICs do not check ICMP.
  {
    IcmpFrame f;
    f.icmp.payload = {'p', 'i', 'n', 'g'};
    std::vector<uint8_t> bad = WithByteFlipped(BuildFrame(f), kL4Offset + 9);
    add("IcmpPayloadCorrupted", Verdict::kIcmpBadChecksum, bad);
    add("IcmpOffloadGoodIgnored", Verdict::kIcmpBadChecksum, bad, kAllGood);
  }

  // kTcpTruncated
  {
    const std::vector<uint8_t> tcp(19, 0);
    add("Tcp19", Verdict::kTcpTruncated,
        BuildIpv4Frame({}, {}, kIpProtoTcp, tcp));
  }

  // kTcpBadDataOffset
  {
    TcpFrame f = Syn();
    f.tcp.data_offset_words = 4;
    add("DataOffset4", Verdict::kTcpBadDataOffset, BuildFrame(f));
    f.tcp.data_offset_words = 15;  // 60 bytes in a 40-byte segment
    add("DataOffsetPastSegment", Verdict::kTcpBadDataOffset, BuildFrame(f));
    f = Syn();
    f.tcp.options = {};
    f.tcp.data_offset_words = 6;
    add("DataOffsetOneWordOver", Verdict::kTcpBadDataOffset, BuildFrame(f));
  }

  // kTcpBadOption (checksum correct)
  {
    TcpFrame f = Syn();
    f.tcp.raw_options = std::vector<uint8_t>{2, 3, 0x05, 0xb4};
    add("MssLength3", Verdict::kTcpBadOption, BuildFrame(f));
    f.tcp.raw_options = std::vector<uint8_t>{1, 1, 1, 30};  // no length byte
    add("MissingLength", Verdict::kTcpBadOption, BuildFrame(f));
  }

  // kTcpBadChecksum
  {
    std::vector<uint8_t> f = BuildFrame(Syn());
    add("TcpChecksumWrong", Verdict::kTcpBadChecksum,
        WithByteFlipped(f, kL4Offset + 17));
    add("TcpSeqCorrupted", Verdict::kTcpBadChecksum,
        WithByteFlipped(f, kL4Offset + 5));
    // The pseudo-header is covered: a changed destination address (with a
    // fixed-up IPv4 header checksum) must fail the TCP checksum.
    TcpFrame other = Syn();
    other.ip.dst = Ipv4Address::FromOctets(192, 168, 1, 21);
    std::vector<uint8_t> moved = BuildFrame(other);
    std::memcpy(moved.data() + kL4Offset, f.data() + kL4Offset,
                f.size() - kL4Offset);
    add("TcpPseudoHeaderMismatch", Verdict::kTcpBadChecksum, moved);
    add("TcpOffloadBad", Verdict::kTcpBadChecksum, f,
        {RxChecksum::kUnknown, RxChecksum::kBad});
  }
  // kTcpSynFin: SYN with FIN, with RST, with both.
  for (auto [name, extra] :
       {std::pair{"SynFin", wire::tcp_flags::kFin},
        std::pair{"SynRst", wire::tcp_flags::kRst},
        std::pair{"SynFinRstAck", static_cast<uint8_t>(wire::tcp_flags::kFin |
                                                       wire::tcp_flags::kRst |
                                                       wire::tcp_flags::kAck)}}) {
    TcpFrame f = Syn();
    f.tcp.flags = static_cast<uint8_t>(f.tcp.flags | extra);
    add(name, Verdict::kTcpSynFin, BuildFrame(f));
  }
  return cases;
}

class VerdictCaseTest : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(VerdictCaseTest, ParsesToExpectedVerdict) {
  const VerdictCase& c = GetParam();
  EXPECT_EQ(VerdictName(Parse(c.frame, c.offload)), VerdictName(c.expected));
}

INSTANTIATE_TEST_SUITE_P(AllVerdicts, VerdictCaseTest,
                         ::testing::ValuesIn(AllVerdictCases()),
                         [](const ::testing::TestParamInfo<VerdictCase>& info) {
                           std::string name(VerdictName(info.param.expected));
                           return name + "_" + info.param.name;
                         });

// The IPv6, ICMPv6 and neighbor discovery verdicts have theirs in
// wire_parse6_test.cc; ipv4_disabled is the worker's (worker_ipv6_test).
TEST(VerdictCoverageTest, EveryVerdictHasACase) {
  std::set<Verdict> covered;
  for (const VerdictCase& c : AllVerdictCases()) covered.insert(c.expected);
  for (int i = 0; i < kNumVerdicts; ++i) {
    const std::string_view name = VerdictName(static_cast<Verdict>(i));
    if (name.substr(0, 5) == "ipv6_" || name.substr(0, 6) == "icmp6_" ||
        name.substr(0, 3) == "nd_" ||
        static_cast<Verdict>(i) == Verdict::kIpv4Disabled) {
      continue;
    }
    EXPECT_TRUE(covered.count(static_cast<Verdict>(i)))
        << name << " has no test case";
  }
}

// ---------------------------------------------------------------------------
// Verdict names.

TEST(VerdictNameTest, EachReasonHasItsCounterName) {
  const std::pair<Verdict, std::string_view> expected[] = {
      {Verdict::kOk, "ok"},
      {Verdict::kEthTruncated, "eth_truncated"},
      {Verdict::kEthSrcGroup, "eth_src_group"},
      {Verdict::kEthTypeUnsupported, "eth_type_unsupported"},
      {Verdict::kArpTruncated, "arp_truncated"},
      {Verdict::kArpUnsupported, "arp_unsupported"},
      {Verdict::kIpv4Truncated, "ipv4_truncated"},
      {Verdict::kIpv4BadVersion, "ipv4_bad_version"},
      {Verdict::kIpv4BadIhl, "ipv4_bad_ihl"},
      {Verdict::kIpv4BadTotalLength, "ipv4_bad_total_length"},
      {Verdict::kIpv4Fragment, "ipv4_fragment"},
      {Verdict::kIpv4BadChecksum, "ipv4_bad_checksum"},
      {Verdict::kIpv4BadSource, "ipv4_bad_source"},
      {Verdict::kIpv4LoopbackSource, "ipv4_loopback_source"},
      {Verdict::kIpv4Land, "ipv4_land"},
      {Verdict::kIpv4ProtoUnsupported, "ipv4_proto_unsupported"},
      {Verdict::kIpv6Truncated, "ipv6_truncated"},
      {Verdict::kIpv6BadVersion, "ipv6_bad_version"},
      {Verdict::kIpv6BadPayloadLength, "ipv6_bad_payload_length"},
      {Verdict::kIpv6BadSource, "ipv6_bad_source"},
      {Verdict::kIpv6Land, "ipv6_land"},
      {Verdict::kIpv6ExtTooMany, "ipv6_ext_too_many"},
      {Verdict::kIpv6ExtTruncated, "ipv6_ext_truncated"},
      {Verdict::kIpv6HopByHopMisplaced, "ipv6_hop_by_hop_misplaced"},
      {Verdict::kIpv6BadOption, "ipv6_bad_option"},
      {Verdict::kIpv6Fragment, "ipv6_fragment"},
      {Verdict::kIpv6RoutingType0, "ipv6_routing_type0"},
      {Verdict::kIpv6RoutingSegmentsLeft, "ipv6_routing_segments_left"},
      {Verdict::kIpv6ProtoUnsupported, "ipv6_proto_unsupported"},
      {Verdict::kIpv6Disabled, "ipv6_disabled"},
      {Verdict::kIpv4Disabled, "ipv4_disabled"},
      {Verdict::kIcmpTruncated, "icmp_truncated"},
      {Verdict::kIcmpBadChecksum, "icmp_bad_checksum"},
      {Verdict::kIcmp6Truncated, "icmp6_truncated"},
      {Verdict::kIcmp6BadChecksum, "icmp6_bad_checksum"},
      {Verdict::kIcmp6TypeUnsupported, "icmp6_type_unsupported"},
      {Verdict::kNdBadHopLimit, "nd_bad_hop_limit"},
      {Verdict::kNdInvalid, "nd_invalid"},
      {Verdict::kNdBadOption, "nd_bad_option"},
      {Verdict::kTcpTruncated, "tcp_truncated"},
      {Verdict::kTcpBadDataOffset, "tcp_bad_data_offset"},
      {Verdict::kTcpBadOption, "tcp_bad_option"},
      {Verdict::kTcpBadChecksum, "tcp_bad_checksum"},
      {Verdict::kTcpSynFin, "tcp_syn_fin_rst"},
  };
  ASSERT_EQ(std::size(expected), static_cast<size_t>(kNumVerdicts));
  for (const auto& [v, name] : expected) EXPECT_EQ(VerdictName(v), name);
}

TEST(VerdictNameTest, NamesAreUniqueAndEveryReasonIsExplained) {
  std::set<std::string_view> names;
  for (int i = 0; i < kNumVerdicts; ++i) {
    const auto v = static_cast<Verdict>(i);
    EXPECT_TRUE(names.insert(VerdictName(v)).second) << VerdictName(v);
    EXPECT_FALSE(VerdictHelp(v).empty()) << VerdictName(v);
  }
  EXPECT_EQ(VerdictHelp(Verdict::kIpv4Fragment),
            "fragment (MF set or offset non-zero)");
}

TEST(VerdictNameTest, OutOfRangeValueIsUnknown) {
  EXPECT_EQ(VerdictName(static_cast<Verdict>(kNumVerdicts)), "unknown");
  EXPECT_EQ(VerdictName(static_cast<Verdict>(255)), "unknown");
}

// ---------------------------------------------------------------------------
// Accepted frames: what PacketInfo says.

TEST(ParseFrameTest, TcpSynFillsEveryField) {
  const std::vector<uint8_t> f = BuildFrame(Syn());
  ASSERT_EQ(f.size(), 14u + 20 + 40);
  PacketInfo info;
  ASSERT_EQ(Parse(f, kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.kind, PacketKind::kTcp);
  EXPECT_EQ(info.tcp_flags, tcp_flags::kSyn);
  EXPECT_EQ(info.l3_offset, 14);
  EXPECT_EQ(info.l4_offset, 34);
  EXPECT_EQ(info.l4_length, 40);
  EXPECT_EQ(info.payload_offset, 74);
  EXPECT_EQ(info.payload_length, 0);
  EXPECT_EQ(info.src_port, 12345);
  EXPECT_EQ(info.dst_port, 80);
  EXPECT_EQ(info.window, 64240);
  EXPECT_EQ(info.src_ip, Ipv4Address::FromOctets(192, 168, 1, 10));
  EXPECT_EQ(info.dst_ip, Ipv4Address::FromOctets(192, 168, 1, 20));
  EXPECT_EQ(info.seq, SeqNum(0x01020304));
  EXPECT_EQ(info.ack, SeqNum(0));
  EXPECT_EQ(info.options, SynOptions());
  EXPECT_EQ(info.SegmentLength(), 1u);
}

TEST(ParseFrameTest, TcpPayloadAndSegmentLength) {
  TcpFrame f;
  f.tcp.flags = tcp_flags::kAck | tcp_flags::kPsh | tcp_flags::kFin;
  f.tcp.seq = 0xfffffffe;
  f.tcp.ack = 77;
  f.tcp.payload = {'h', 'e', 'l', 'l', 'o'};
  PacketInfo info;
  ASSERT_EQ(Parse(BuildFrame(f), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.payload_offset, 54);
  EXPECT_EQ(info.payload_length, 5);
  EXPECT_EQ(info.l4_length, 25);
  EXPECT_EQ(info.seq, SeqNum(0xfffffffe));
  EXPECT_EQ(info.ack, SeqNum(77));
  EXPECT_EQ(info.options, TcpOptions{});
  EXPECT_EQ(info.SegmentLength(), 6u);  // 5 bytes + FIN

  f.tcp.flags = tcp_flags::kSyn;
  ASSERT_EQ(Parse(BuildFrame(f), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.SegmentLength(), 6u);  // 5 bytes + SYN

  f.tcp.flags = tcp_flags::kAck;
  f.tcp.payload.clear();
  ASSERT_EQ(Parse(BuildFrame(f), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.SegmentLength(), 0u);
}

TEST(ParseFrameTest, ArpFillsAddresses) {
  ArpFrame f;
  f.arp.op = kArpOpReply;
  f.arp.spa = Ipv4Address::FromOctets(10, 1, 2, 3);
  f.arp.tpa = Ipv4Address::FromOctets(10, 4, 5, 6);
  f.eth.pad_to = testutil::kMinEthernetFrame;
  PacketInfo info;
  ASSERT_EQ(Parse(BuildFrame(f), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.kind, PacketKind::kArp);
  EXPECT_EQ(info.l3_offset, 14);
  EXPECT_EQ(info.src_ip, Ipv4Address::FromOctets(10, 1, 2, 3));
  EXPECT_EQ(info.dst_ip, Ipv4Address::FromOctets(10, 4, 5, 6));
  EXPECT_EQ(info.l4_offset, 0);
  EXPECT_EQ(info.l4_length, 0);
}

TEST(ParseFrameTest, IcmpEchoFillsOffsets) {
  IcmpFrame f;
  f.icmp.payload.assign(56, 0xab);  // ping's default size
  f.ip.src = Ipv4Address::FromOctets(172, 16, 0, 9);
  PacketInfo info;
  ASSERT_EQ(Parse(BuildFrame(f), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.kind, PacketKind::kIcmp);
  EXPECT_EQ(info.l3_offset, 14);
  EXPECT_EQ(info.l4_offset, 34);
  EXPECT_EQ(info.l4_length, 64);
  EXPECT_EQ(info.src_ip, Ipv4Address::FromOctets(172, 16, 0, 9));
  EXPECT_EQ(info.payload_length, 0);
}

TEST(ParseFrameTest, IcmpOddLengthChecksum) {
  IcmpFrame f;
  f.icmp.payload = {1, 2, 3};
  EXPECT_EQ(Parse(BuildFrame(f)), Verdict::kOk);
}

TEST(ParseFrameTest, Ipv4OptionsAreSkipped) {
  TcpFrame f = Syn();
  // Record Route (RFC 791 3.1) with room for one address, then EOL padding.
  f.ip.options = {7, 7, 4, 0, 0, 0, 0};
  f.tcp.payload = {'x', 'y'};
  const std::vector<uint8_t> frame = BuildFrame(f);
  ASSERT_EQ(frame[kIpv4Offset] & 0x0f, 7);
  PacketInfo info;
  ASSERT_EQ(Parse(frame, kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.l4_offset, 14 + 28);
  EXPECT_EQ(info.l4_length, 42);
  EXPECT_EQ(info.payload_offset, 14 + 28 + 40);
  EXPECT_EQ(info.payload_length, 2);
  EXPECT_EQ(info.src_port, 12345);
  EXPECT_EQ(info.options, SynOptions());
}

TEST(ParseFrameTest, EthernetPaddingIsIgnored) {
  TcpFrame f;
  f.tcp.flags = tcp_flags::kAck;
  f.eth.pad_to = testutil::kMinEthernetFrame;
  f.eth.pad_byte = 0xee;  // not zero: padding must not enter any checksum
  const std::vector<uint8_t> frame = BuildFrame(f);
  ASSERT_EQ(frame.size(), 60u);
  PacketInfo info;
  ASSERT_EQ(Parse(frame, kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.l4_length, 20);
  EXPECT_EQ(info.payload_length, 0);

  IcmpFrame icmp;
  icmp.eth.pad_to = 64;
  icmp.eth.pad_byte = 0x5a;
  ASSERT_EQ(Parse(BuildFrame(icmp), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.l4_length, 8);
}

TEST(ParseFrameTest, UnknownTcpOptionIsSkipped) {
  TcpFrame f = Syn();
  // MSS, then an unknown kind 253 (RFC 4727 experiment) of length 6.
  f.tcp.raw_options =
      std::vector<uint8_t>{2, 4, 0x05, 0xb4, 253, 6, 0xde, 0xad, 0xbe, 0xef};
  PacketInfo info;
  ASSERT_EQ(Parse(BuildFrame(f), kSoftware, &info), Verdict::kOk);
  EXPECT_TRUE(info.options.has_mss);
  EXPECT_EQ(info.options.mss, 1460);
  EXPECT_FALSE(info.options.has_timestamps);
}

TEST(ParseFrameTest, ChecksumIsCheckedBeforeOptions) {
  // A segment whose options are malformed and whose checksum is also wrong
  // counts as damaged in flight...
  TcpFrame f = Syn();
  f.tcp.raw_options = std::vector<uint8_t>{3, 4, 7, 0};  // WS of length 4
  f.tcp.checksum = 0x1234;
  const std::vector<uint8_t> frame = BuildFrame(f);
  EXPECT_EQ(Parse(frame), Verdict::kTcpBadChecksum);
  // ...and as a bad option once the checksum is known to be right.
  EXPECT_EQ(Parse(frame, {RxChecksum::kUnknown, RxChecksum::kGood}),
            Verdict::kTcpBadOption);
}

// ---------------------------------------------------------------------------
// Offload flags.

TEST(ParseFrameOffloadTest, GoodSkipsSoftwareChecks) {
  std::vector<uint8_t> f = BuildFrame(Syn());
  f[kIpv4Offset + 10] ^= 0xff;  // IPv4 checksum wrong
  f[kL4Offset + 16] ^= 0xff;    // TCP checksum wrong
  EXPECT_EQ(Parse(f, kSoftware), Verdict::kIpv4BadChecksum);
  EXPECT_EQ(Parse(f, {RxChecksum::kGood, RxChecksum::kUnknown}),
            Verdict::kTcpBadChecksum);
  PacketInfo info;
  EXPECT_EQ(Parse(f, kAllGood, &info), Verdict::kOk);
  EXPECT_EQ(info.options, SynOptions());
}

TEST(ParseFrameOffloadTest, BadRejectsCorrectChecksums) {
  const std::vector<uint8_t> f = BuildFrame(Syn());
  ASSERT_EQ(Parse(f), Verdict::kOk);
  EXPECT_EQ(Parse(f, {RxChecksum::kBad, RxChecksum::kGood}),
            Verdict::kIpv4BadChecksum);
  EXPECT_EQ(Parse(f, {RxChecksum::kGood, RxChecksum::kBad}),
            Verdict::kTcpBadChecksum);
}

TEST(ParseFrameOffloadTest, IcmpIgnoresL4Offload) {
  const std::vector<uint8_t> f = BuildFrame(IcmpFrame{});
  EXPECT_EQ(Parse(f, {RxChecksum::kUnknown, RxChecksum::kBad}), Verdict::kOk);
  EXPECT_EQ(Parse(f, {RxChecksum::kGood, RxChecksum::kBad}), Verdict::kOk);
}

TEST(ParseFrameOffloadTest, ArpIgnoresOffload) {
  const std::vector<uint8_t> f = BuildFrame(ArpFrame{});
  EXPECT_EQ(Parse(f, {RxChecksum::kBad, RxChecksum::kBad}), Verdict::kOk);
}

// ---------------------------------------------------------------------------
// Truncation: every proper prefix of a valid frame is rejected, with the
// verdict of the first header it cuts into, and nothing reads past it.

TEST(ParseFrameTruncationTest, EveryPrefixOfTcpFrameFails) {
  TcpFrame spec = Syn();
  spec.ip.options = {1, 1, 1, 0};  // NOPs and EOL
  spec.tcp.payload = {1, 2, 3, 4, 5, 6, 7};
  const std::vector<uint8_t> f = BuildFrame(spec);
  for (RxOffload offload : {kSoftware, kAllGood}) {
    PacketInfo info;
    ASSERT_EQ(ParsePrefix(f, f.size(), offload, &info), Verdict::kOk);
    for (size_t len = 0; len < f.size(); ++len) {
      Verdict expected = len < 14   ? Verdict::kEthTruncated
                         : len < 34 ? Verdict::kIpv4Truncated
                         : len < 38 ? Verdict::kIpv4BadIhl
                                    : Verdict::kIpv4BadTotalLength;
      EXPECT_EQ(VerdictName(ParsePrefix(f, len, offload, &info)),
                VerdictName(expected))
          << "prefix length " << len;
    }
  }
}

TEST(ParseFrameTruncationTest, EveryPrefixOfArpAndIcmpFails) {
  IcmpFrame icmp;
  icmp.icmp.payload = {9, 8, 7};
  for (const std::vector<uint8_t>& f :
       {BuildFrame(ArpFrame{}), BuildFrame(icmp)}) {
    PacketInfo info;
    ASSERT_EQ(ParsePrefix(f, f.size(), kSoftware, &info), Verdict::kOk);
    for (size_t len = 0; len < f.size(); ++len) {
      EXPECT_NE(ParsePrefix(f, len, kSoftware, &info), Verdict::kOk)
          << "prefix length " << len;
    }
  }
}

// The lengths inside the headers lie while the frame is whole: a segment
// whose IPv4 total length is cut short at every point must never be
// accepted with bytes outside it.
TEST(ParseFrameTruncationTest, ShortTotalLengthBoundsTheSegment) {
  const std::vector<uint8_t> whole = BuildFrame(Syn());
  const size_t ip_len = whole.size() - kIpv4Offset;
  for (size_t total = 20; total < ip_len; ++total) {
    TcpFrame spec = Syn();
    spec.ip.total_length = static_cast<uint16_t>(total);
    PacketInfo info;
    Verdict v = Parse(BuildFrame(spec), kAllGood, &info);
    Verdict expected =
        total < 40 ? Verdict::kTcpTruncated : Verdict::kTcpBadDataOffset;
    EXPECT_EQ(VerdictName(v), VerdictName(expected)) << "total " << total;
  }
}

}  // namespace
}  // namespace synwave::wire
