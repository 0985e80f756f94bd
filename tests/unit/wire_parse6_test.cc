// Tests for ParseFrame on IPv6: one case per IPv6, ICMPv6 and neighbor
// discovery verdict (and the TCP verdicts over IPv6), frames made by scapy
// accepted with the fields they hold, extension headers, offload handling,
// and bounds safety at every truncation and payload length.
//
// As in wire_parse_test.cc, every frame is parsed from a heap buffer of
// exactly its length, so under AddressSanitizer a read past it fails.
#include <cstring>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "scapy_ipv6_frames.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"
#include "wire/verdict.h"

namespace synwave::wire {
namespace {

using testutil::BuildFrame;
using testutil::EchoBody;
using testutil::Icmp6Frame;
using testutil::Ipv6Extension;
using testutil::NdBody;
using testutil::Tcp6Frame;

constexpr RxOffload kSoftware{RxChecksum::kUnknown, RxChecksum::kUnknown};
constexpr RxOffload kAllGood{RxChecksum::kGood, RxChecksum::kGood};
constexpr size_t kL3 = 14;
constexpr size_t kL4 = kL3 + kIpv6HeaderLength;  // without extension headers

Verdict ParsePrefix(const uint8_t* frame, size_t len, RxOffload offload,
                    PacketInfo* info) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[len]);
  if (len > 0) std::memcpy(copy.get(), frame, len);
  return ParseFrame(copy.get(), static_cast<uint32_t>(len), offload, info);
}

Verdict Parse(const std::vector<uint8_t>& frame, RxOffload offload = kSoftware,
              PacketInfo* info = nullptr) {
  PacketInfo scratch;
  return ParsePrefix(frame.data(), frame.size(), offload,
                     info ? info : &scratch);
}

Ipv6Address V6(const char* text) { return *Ipv6Address::Parse(text); }

const MacAddress kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};

Tcp6Frame Syn6() {
  Tcp6Frame f;
  f.ip.src = V6("2001:db8::10");
  f.ip.dst = V6("2001:db8::20");
  f.tcp.src_port = 12345;
  f.tcp.dst_port = 80;
  f.tcp.seq = 0x01020304;
  f.tcp.flags = tcp_flags::kSyn;
  f.tcp.window = 64240;
  f.tcp.options.has_mss = true;
  f.tcp.options.mss = 1440;
  return f;
}

Icmp6Frame Echo6() {
  Icmp6Frame f;
  f.icmp.type = kIcmpv6EchoRequest;
  f.icmp.body = EchoBody(7, 1);
  return f;
}

// A solicitation from fe80::1 to the solicited-node group of fd00::2.
Icmp6Frame Ns() {
  Icmp6Frame f;
  f.eth.dst = V6("fd00::2").SolicitedNode().MulticastMac();
  f.ip.src = V6("fe80::1");
  f.ip.dst = V6("fd00::2").SolicitedNode();
  f.ip.hop_limit = kNdHopLimit;
  f.icmp.type = kIcmpv6NeighborSolicitation;
  f.icmp.body = NdBody(V6("fd00::2"), 0, kPeerMac);
  return f;
}

// The answer: solicited, override, with our link-layer address.
Icmp6Frame Na() {
  Icmp6Frame f;
  f.ip.src = V6("fd00::2");
  f.ip.dst = V6("fe80::1");
  f.ip.hop_limit = kNdHopLimit;
  f.icmp.type = kIcmpv6NeighborAdvertisement;
  f.icmp.body =
      NdBody(V6("fd00::2"), na_flags::kSolicited | na_flags::kOverride,
             kPeerMac, kNdOptionTargetLinkAddress);
  return f;
}

Ipv6Extension Ext(uint8_t type, std::vector<uint8_t> body = {}) {
  Ipv6Extension e;
  e.type = type;
  e.body = std::move(body);
  return e;
}

std::vector<uint8_t> FromArray(const uint8_t* p, size_t n) {
  return std::vector<uint8_t>(p, p + n);
}

// ---------------------------------------------------------------------------
// One table row per way to reach each verdict.

struct VerdictCase {
  std::string name;
  Verdict expected;
  std::vector<uint8_t> frame;
  RxOffload offload = kSoftware;
};

void PrintTo(const VerdictCase& c, std::ostream* os) {
  *os << VerdictName(c.expected) << "/" << c.name;
}

std::vector<VerdictCase> AllIpv6Cases() {
  std::vector<VerdictCase> cases;
  auto add = [&](std::string name, Verdict v, std::vector<uint8_t> frame,
                 RxOffload offload = kSoftware) {
    cases.push_back({std::move(name), v, std::move(frame), offload});
  };
  using testutil::kScapyEcho6;
  using testutil::kScapyNa;
  using testutil::kScapyNs;
  using testutil::kScapySyn6;
  using testutil::kScapySyn6ExtHeaders;

  // kOk: scapy's frames, ours, and the legitimate corner cases.
  add("ScapyEcho", Verdict::kOk, FromArray(kScapyEcho6, sizeof(kScapyEcho6)));
  add("ScapyNs", Verdict::kOk, FromArray(kScapyNs, sizeof(kScapyNs)));
  add("ScapyNa", Verdict::kOk, FromArray(kScapyNa, sizeof(kScapyNa)));
  add("ScapySyn", Verdict::kOk, FromArray(kScapySyn6, sizeof(kScapySyn6)));
  add("ScapySynExtHeaders", Verdict::kOk,
      FromArray(kScapySyn6ExtHeaders, sizeof(kScapySyn6ExtHeaders)));
  add("Syn", Verdict::kOk, BuildFrame(Syn6()));
  add("Echo", Verdict::kOk, BuildFrame(Echo6()));
  add("EchoReply", Verdict::kOk, [] {
    Icmp6Frame f = Echo6();
    f.icmp.type = kIcmpv6EchoReply;
    return BuildFrame(f);
  }());
  add("Ns", Verdict::kOk, BuildFrame(Ns()));
  add("NsWithoutOption", Verdict::kOk, [] {
    Icmp6Frame f = Ns();
    f.icmp.body = NdBody(V6("fd00::2"));
    return BuildFrame(f);
  }());
  add("NsAddressProbe", Verdict::kOk, [] {
    Icmp6Frame f = Ns();  // RFC 4862 5.4.2: from ::, no link-layer option
    f.ip.src = Ipv6Address{};
    f.icmp.body = NdBody(V6("fd00::2"));
    return BuildFrame(f);
  }());
  add("NsUnknownOptionSkipped", Verdict::kOk, [] {
    Icmp6Frame f = Ns();
    // A nonce option (RFC 3971, type 14) of 8 bytes after the address.
    for (uint8_t b : {14, 1, 1, 2, 3, 4, 5, 6}) f.icmp.body.push_back(b);
    return BuildFrame(f);
  }());
  add("Na", Verdict::kOk, BuildFrame(Na()));
  add("NaUnsolicitedToAllNodes", Verdict::kOk, [] {
    Icmp6Frame f = Na();
    f.ip.dst = V6("ff02::1");
    f.icmp.body = NdBody(V6("fd00::2"), na_flags::kOverride, kPeerMac,
                         kNdOptionTargetLinkAddress);
    return BuildFrame(f);
  }());
  add("FourExtensionHeaders", Verdict::kOk, [] {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoHopByHop, {5, 2, 0, 0}),  // router alert
                       Ext(kIpProtoDestinationOptions),
                       Ext(kIpProtoRouting, {4, 0}),  // SRH, segments left 0
                       Ext(kIpProtoDestinationOptions, {1, 2, 0, 0})};  // PadN
    return BuildFrame(f);
  }());
  add("UnknownSkippableOption", Verdict::kOk, [] {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoDestinationOptions, {0x1e, 2, 9, 9})};
    return BuildFrame(f);
  }());
  add("Pad1Options", Verdict::kOk, [] {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoHopByHop, {0, 0, 0, 0, 0, 0})};
    return BuildFrame(f);
  }());

  // kIpv6Truncated
  {
    std::vector<uint8_t> f = BuildFrame(Syn6());
    f.resize(kL3 + 39);
    add("ThirtyNineBytes", Verdict::kIpv6Truncated, f);
  }
  // kIpv6BadVersion
  {
    Tcp6Frame f = Syn6();
    f.ip.version = 4;
    add("Version4", Verdict::kIpv6BadVersion, BuildFrame(f));
    f.ip.version = 7;
    add("Version7", Verdict::kIpv6BadVersion, BuildFrame(f));
  }
  // kIpv6BadPayloadLength
  {
    const std::vector<uint8_t> whole = BuildFrame(Syn6());
    Tcp6Frame f = Syn6();
    f.ip.payload_length = static_cast<uint16_t>(whole.size() - kL4 + 1);
    add("OneBeyondFrame", Verdict::kIpv6BadPayloadLength, BuildFrame(f));
    f.ip.payload_length = 0xffff;
    add("Max", Verdict::kIpv6BadPayloadLength, BuildFrame(f));
  }
  // kIpv6BadSource
  for (auto [name, src] :
       {std::pair{"Multicast", "ff02::1"}, std::pair{"Loopback", "::1"},
        std::pair{"V4Mapped", "::ffff:10.0.0.1"}}) {
    Tcp6Frame f = Syn6();
    f.ip.src = V6(src);
    add(std::string("Tcp") + name, Verdict::kIpv6BadSource, BuildFrame(f));
  }
  {
    Tcp6Frame f = Syn6();
    f.ip.src = Ipv6Address{};
    add("TcpUnspecified", Verdict::kIpv6BadSource, BuildFrame(f));
    Icmp6Frame e = Echo6();
    e.ip.src = Ipv6Address{};
    add("EchoUnspecified", Verdict::kIpv6BadSource, BuildFrame(e));
    Icmp6Frame na = Na();
    na.ip.src = Ipv6Address{};
    add("NaUnspecified", Verdict::kIpv6BadSource, BuildFrame(na));
    Icmp6Frame ns = Ns();
    ns.ip.src = V6("ff02::2");
    add("NsMulticast", Verdict::kIpv6BadSource, BuildFrame(ns));
  }
  // kIpv6Land
  {
    Tcp6Frame f = Syn6();
    f.ip.src = f.ip.dst;
    add("SourceIsDestination", Verdict::kIpv6Land, BuildFrame(f));
  }
  // kIpv6ExtTooMany
  {
    Tcp6Frame f = Syn6();
    f.ip.extensions.assign(5, Ext(kIpProtoDestinationOptions));
    add("FiveDestinationOptions", Verdict::kIpv6ExtTooMany, BuildFrame(f));
    f.ip.extensions.assign(200, Ext(kIpProtoDestinationOptions));
    add("TwoHundred", Verdict::kIpv6ExtTooMany, BuildFrame(f));
  }
  // kIpv6ExtTruncated
  {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoDestinationOptions)};
    f.ip.extensions[0].length = 200;  // 1608 bytes claimed
    add("LengthPastPayload", Verdict::kIpv6ExtTruncated, BuildFrame(f));
    // Payload of 4 bytes: not even the 8 every extension header has.
    Tcp6Frame g = Syn6();
    g.ip.extensions = {Ext(kIpProtoHopByHop)};
    g.ip.payload_length = 4;
    add("PayloadShorterThanHeader", Verdict::kIpv6ExtTruncated, BuildFrame(g));
  }
  // kIpv6HopByHopMisplaced
  {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoDestinationOptions), Ext(kIpProtoHopByHop)};
    add("AfterDestinationOptions", Verdict::kIpv6HopByHopMisplaced,
        BuildFrame(f));
  }
  // kIpv6BadOption
  {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoDestinationOptions, {1, 9, 0, 0})};
    add("PadNOverruns", Verdict::kIpv6BadOption, BuildFrame(f));
    f.ip.extensions = {Ext(kIpProtoHopByHop, {0, 0, 0, 0, 0, 1})};
    add("TypeWithoutLength", Verdict::kIpv6BadOption, BuildFrame(f));
    // Types whose high bits say "discard if unknown" (RFC 8200 4.2):
    // 01, 10, 11 (jumbo payload, 0xc2, among them).
    for (uint8_t type : {0x5e, 0x9e, 0xc2}) {
      f.ip.extensions = {Ext(kIpProtoDestinationOptions, {type, 2, 0, 0})};
      add("UnknownDiscard" + std::to_string(type), Verdict::kIpv6BadOption,
          BuildFrame(f));
    }
  }
  // kIpv6Fragment
  {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoFragment, {0, 0x01, 0, 0, 0, 42})};  // M
    add("FirstFragment", Verdict::kIpv6Fragment, BuildFrame(f));
    f.ip.extensions = {Ext(kIpProtoFragment, {0, 0, 0, 0, 0, 42})};
    add("AtomicFragment", Verdict::kIpv6Fragment, BuildFrame(f));
    f.ip.extensions = {Ext(kIpProtoHopByHop),
                       Ext(kIpProtoFragment, {0, 0x08, 0, 0, 0, 42})};
    add("LaterFragmentAfterHopByHop", Verdict::kIpv6Fragment, BuildFrame(f));
  }
  // kIpv6RoutingType0
  {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoRouting, {0, 0})};
    add("SegmentsLeft0", Verdict::kIpv6RoutingType0, BuildFrame(f));
    f.ip.extensions = {Ext(kIpProtoRouting, {0, 1, 0, 0, 0, 0})};
    add("SegmentsLeft1", Verdict::kIpv6RoutingType0, BuildFrame(f));
  }
  // kIpv6RoutingSegmentsLeft
  {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoRouting, {4, 1})};
    add("SrhNotLastSegment", Verdict::kIpv6RoutingSegmentsLeft, BuildFrame(f));
  }
  // kIpv6ProtoUnsupported
  for (auto [name, proto] :
       {std::pair{"Udp", uint8_t{17}}, std::pair{"NoNextHeader", uint8_t{59}},
        std::pair{"Esp", uint8_t{50}}, std::pair{"IcmpV4", uint8_t{1}}}) {
    Tcp6Frame f = Syn6();
    f.ip.next_header = proto;
    add(name, Verdict::kIpv6ProtoUnsupported, BuildFrame(f));
  }
  {
    Tcp6Frame f = Syn6();
    f.ip.extensions = {Ext(kIpProtoDestinationOptions)};
    std::vector<uint8_t> frame = BuildFrame(f);
    frame[kL4] = 17;  // the extension header names UDP next
    add("UdpAfterExtension", Verdict::kIpv6ProtoUnsupported, frame);
  }

  // kIcmp6Truncated
  {
    Icmp6Frame f = Echo6();
    f.icmp.type = 200;
    f.icmp.body.clear();
    std::vector<uint8_t> frame = BuildFrame(f);
    frame[kL3 + 5] = 3;  // payload length 3
    add("ThreeBytes", Verdict::kIcmp6Truncated, frame);
    f = Echo6();
    f.icmp.body = {0, 7};  // 6 bytes in all
    add("EchoSixBytes", Verdict::kIcmp6Truncated, BuildFrame(f));
    Icmp6Frame ns = Ns();
    ns.icmp.body.resize(16);  // 20 bytes: the target cut short
    add("NsTwentyBytes", Verdict::kIcmp6Truncated, BuildFrame(ns));
  }
  // kIcmp6BadChecksum
  {
    std::vector<uint8_t> f = BuildFrame(Echo6());
    f[kL4 + 7] ^= 0x01;
    add("EchoSequenceCorrupted", Verdict::kIcmp6BadChecksum, f);
    // The pseudo-header is covered: the destination changed in flight.
    std::vector<uint8_t> moved = BuildFrame(Echo6());
    moved[kL3 + 39] ^= 0x04;
    add("PseudoHeaderMismatch", Verdict::kIcmp6BadChecksum, moved);
    // Never offloaded: a NIC's "good" does not skip it.
    add("OffloadGoodIgnored", Verdict::kIcmp6BadChecksum, f, kAllGood);
    std::vector<uint8_t> ns = FromArray(kScapyNs, sizeof(kScapyNs));
    ns[ns.size() - 1] ^= 0x10;  // the link-layer address
    add("NsOptionCorrupted", Verdict::kIcmp6BadChecksum, ns);
  }
  // kIcmp6TypeUnsupported
  for (auto [name, type] : {std::pair{"DestinationUnreachable", uint8_t{1}},
                            std::pair{"PacketTooBig", uint8_t{2}},
                            std::pair{"MldQuery", uint8_t{130}},
                            std::pair{"RouterAdvertisement", uint8_t{134}},
                            std::pair{"Redirect", uint8_t{137}}}) {
    Icmp6Frame f = Echo6();
    f.icmp.type = type;
    f.ip.hop_limit = 255;
    add(name, Verdict::kIcmp6TypeUnsupported, BuildFrame(f));
  }
  // kNdBadHopLimit
  {
    Icmp6Frame f = Ns();
    f.ip.hop_limit = 254;  // forwarded once: from off-link
    add("NsForwarded", Verdict::kNdBadHopLimit, BuildFrame(f));
    Icmp6Frame na = Na();
    na.ip.hop_limit = 64;
    add("Na64", Verdict::kNdBadHopLimit, BuildFrame(na));
  }
  // kNdInvalid
  {
    Icmp6Frame f = Ns();
    f.icmp.code = 1;
    add("NsCode1", Verdict::kNdInvalid, BuildFrame(f));
    f = Ns();
    f.icmp.body = NdBody(V6("ff02::1"), 0, kPeerMac);
    add("NsMulticastTarget", Verdict::kNdInvalid, BuildFrame(f));
    f = Ns();
    f.ip.src = Ipv6Address{};
    add("ProbeWithSourceOption", Verdict::kNdInvalid, BuildFrame(f));
    f.icmp.body = NdBody(V6("fd00::2"));
    f.ip.dst = V6("fd00::2");
    add("ProbeToUnicast", Verdict::kNdInvalid, BuildFrame(f));
    Icmp6Frame na = Na();
    na.ip.dst = V6("ff02::1");
    add("SolicitedNaToGroup", Verdict::kNdInvalid, BuildFrame(na));
    na = Na();
    na.icmp.body =
        NdBody(V6("ff02::1:ff00:2"), 0, kPeerMac, kNdOptionTargetLinkAddress);
    add("NaMulticastTarget", Verdict::kNdInvalid, BuildFrame(na));
  }
  // kNdBadOption
  {
    Icmp6Frame f = Ns();
    f.icmp.body = NdBody(V6("fd00::2"));
    for (uint8_t b : {1, 0, 0, 0, 0, 0, 0, 0}) f.icmp.body.push_back(b);
    add("LengthZero", Verdict::kNdBadOption, BuildFrame(f));
    f.icmp.body = NdBody(V6("fd00::2"));
    for (uint8_t b : {1, 2, 0, 0, 0, 0, 0, 0}) f.icmp.body.push_back(b);
    add("PastMessage", Verdict::kNdBadOption, BuildFrame(f));
    f.icmp.body = NdBody(V6("fd00::2"));
    f.icmp.body.push_back(1);
    add("OneByteLeft", Verdict::kNdBadOption, BuildFrame(f));
    f.icmp.body = NdBody(V6("fd00::2"));
    for (int i = 0; i < 16; ++i) {
      f.icmp.body.push_back(i == 0 ? 1 : i == 1 ? 2 : 0xaa);
    }
    add("SixteenByteLinkAddress", Verdict::kNdBadOption, BuildFrame(f));
  }

  // TCP verdicts over IPv6.
  {
    std::vector<uint8_t> f = BuildFrame(Syn6());
    std::vector<uint8_t> bad = f;
    bad[kL4 + 5] ^= 0x01;
    add("TcpSeqCorrupted", Verdict::kTcpBadChecksum, bad);
    std::vector<uint8_t> moved = f;
    moved[kL3 + 23] ^= 0x01;  // source address
    add("TcpPseudoHeaderMismatch", Verdict::kTcpBadChecksum, moved);
    add("TcpOffloadBad", Verdict::kTcpBadChecksum, f,
        {RxChecksum::kUnknown, RxChecksum::kBad});
    Tcp6Frame t = Syn6();
    t.tcp.flags |= tcp_flags::kFin;
    add("SynFin", Verdict::kTcpSynFin, BuildFrame(t));
    t = Syn6();
    t.tcp.data_offset_words = 4;
    add("DataOffset4", Verdict::kTcpBadDataOffset, BuildFrame(t));
    t = Syn6();
    t.tcp.raw_options = std::vector<uint8_t>{2, 3, 5};
    add("MssLength3", Verdict::kTcpBadOption, BuildFrame(t));
    t = Syn6();
    t.ip.payload_length = 19;
    add("NineteenBytes", Verdict::kTcpTruncated, BuildFrame(t));
  }
  return cases;
}

class Ipv6VerdictTest : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(Ipv6VerdictTest, ParsesToExpectedVerdict) {
  const VerdictCase& c = GetParam();
  EXPECT_EQ(VerdictName(Parse(c.frame, c.offload)), VerdictName(c.expected));
}

INSTANTIATE_TEST_SUITE_P(Ipv6, Ipv6VerdictTest,
                         ::testing::ValuesIn(AllIpv6Cases()),
                         [](const ::testing::TestParamInfo<VerdictCase>& info) {
                           std::string name(VerdictName(info.param.expected));
                           return name + "_" + info.param.name;
                         });

// Every IPv6, ICMPv6 and ND verdict has a case here (wire_parse_test.cc
// covers the rest), except the one the engine gives.
TEST(Ipv6VerdictCoverageTest, EveryIpv6VerdictHasACase) {
  std::set<Verdict> covered;
  for (const VerdictCase& c : AllIpv6Cases()) covered.insert(c.expected);
  int family_verdicts = 0;
  for (int i = 0; i < kNumVerdicts; ++i) {
    const auto v = static_cast<Verdict>(i);
    const std::string_view name = VerdictName(v);
    if (name.substr(0, 5) != "ipv6_" && name.substr(0, 6) != "icmp6_" &&
        name.substr(0, 3) != "nd_") {
      continue;
    }
    ++family_verdicts;
    if (v == Verdict::kIpv6Disabled) continue;  // the worker's (worker_test)
    EXPECT_TRUE(covered.count(v)) << name << " has no test case";
  }
  EXPECT_EQ(family_verdicts, 20);
}

// ---------------------------------------------------------------------------
// Accepted frames: what PacketInfo says.

TEST(ParseIpv6Test, ScapySynFillsEveryField) {
  const std::vector<uint8_t> f =
      FromArray(testutil::kScapySyn6, sizeof(testutil::kScapySyn6));
  PacketInfo info;
  info.src_ip = Ipv4Address{0x01020304};  // stale from an earlier frame
  ASSERT_EQ(Parse(f, kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.kind, PacketKind::kTcp);
  EXPECT_EQ(info.family, IpFamily::kIpv6);
  EXPECT_EQ(info.tcp_flags, tcp_flags::kSyn);
  EXPECT_EQ(info.l3_offset, 14);
  EXPECT_EQ(info.l4_offset, 54);
  EXPECT_EQ(info.l4_length, 40);
  EXPECT_EQ(info.payload_offset, 94);
  EXPECT_EQ(info.payload_length, 0);
  EXPECT_EQ(info.src_port, 12345);
  EXPECT_EQ(info.dst_port, 80);
  EXPECT_EQ(info.window, 64240);
  EXPECT_EQ(info.seq, SeqNum(0x01020304));
  EXPECT_EQ(Ipv6Src(f.data(), info), V6("2001:db8::10"));
  EXPECT_EQ(Ipv6Dst(f.data(), info), V6("2001:db8::20"));
  EXPECT_TRUE(info.src_ip.IsZero());
  EXPECT_TRUE(info.dst_ip.IsZero());
  EXPECT_TRUE(info.options.has_mss);
  EXPECT_EQ(info.options.mss, 1440);
  EXPECT_TRUE(info.options.sack_permitted);
  EXPECT_TRUE(info.options.has_timestamps);
  EXPECT_EQ(info.options.ts_val, 0x11223344u);
  EXPECT_EQ(info.options.window_scale, 7);
  EXPECT_EQ(info.SegmentLength(), 1u);
}

TEST(ParseIpv6Test, ExtensionHeadersAreSkipped) {
  const std::vector<uint8_t> f = FromArray(
      testutil::kScapySyn6ExtHeaders, sizeof(testutil::kScapySyn6ExtHeaders));
  PacketInfo info;
  ASSERT_EQ(Parse(f, kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.l4_offset, 14 + 40 + 8 + 8);
  EXPECT_EQ(info.l4_length, 20);
  EXPECT_EQ(info.window, 1000);

  // Our builder's four-header chain, with a payload.
  Tcp6Frame t = Syn6();
  t.ip.extensions = {Ext(kIpProtoHopByHop), Ext(kIpProtoDestinationOptions),
                     Ext(kIpProtoRouting, {4, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
                     Ext(kIpProtoDestinationOptions)};
  t.tcp.payload = {'a', 'b', 'c'};
  ASSERT_EQ(Parse(BuildFrame(t), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.l4_offset, 14 + 40 + 8 + 8 + 16 + 8);
  EXPECT_EQ(info.payload_length, 3);
  EXPECT_EQ(info.payload_offset, info.l4_offset + 20 + 4);  // MSS option
}

TEST(ParseIpv6Test, ScapyNeighborMessagesGiveTheLinkAddress) {
  PacketInfo info;
  const std::vector<uint8_t> ns =
      FromArray(testutil::kScapyNs, sizeof(testutil::kScapyNs));
  ASSERT_EQ(Parse(ns, kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.kind, PacketKind::kIcmp6);
  EXPECT_EQ(info.family, IpFamily::kIpv6);
  EXPECT_EQ(info.l4_offset, 54);
  EXPECT_EQ(info.l4_length, 32);
  ASSERT_EQ(info.nd_link_address_offset, 54 + 24 + 2);
  EXPECT_EQ(MacAddress::FromBytes(ns.data() + info.nd_link_address_offset),
            kPeerMac);
  const auto* msg =
      reinterpret_cast<const NeighborSolicitation*>(ns.data() + info.l4_offset);
  EXPECT_EQ(msg->Target(), V6("fd00::2"));
  EXPECT_EQ(Ipv6Dst(ns.data(), info), V6("fd00::2").SolicitedNode());

  const std::vector<uint8_t> na =
      FromArray(testutil::kScapyNa, sizeof(testutil::kScapyNa));
  ASSERT_EQ(Parse(na, kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.kind, PacketKind::kIcmp6);
  ASSERT_NE(info.nd_link_address_offset, 0);
  EXPECT_EQ(MacAddress::FromBytes(na.data() + info.nd_link_address_offset),
            (MacAddress{{0x02, 0, 0, 0, 0, 0x02}}));

  // Without the option, the offset says so.
  Icmp6Frame bare = Ns();
  bare.icmp.body = NdBody(V6("fd00::2"));
  ASSERT_EQ(Parse(BuildFrame(bare), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.nd_link_address_offset, 0);
  // An NA's source link-layer option is not its target's address.
  Icmp6Frame odd = Na();
  odd.icmp.body = NdBody(V6("fd00::2"), na_flags::kSolicited, kPeerMac,
                         kNdOptionSourceLinkAddress);
  ASSERT_EQ(Parse(BuildFrame(odd), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.nd_link_address_offset, 0);
}

TEST(ParseIpv6Test, EchoFillsOffsetsAndClearsTcpFields) {
  Icmp6Frame f = Echo6();
  f.icmp.body = EchoBody(1, 2, std::vector<uint8_t>(56, 0xab));
  PacketInfo info;
  info.src_port = 99;  // stale
  info.options.has_mss = true;
  ASSERT_EQ(Parse(BuildFrame(f), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.kind, PacketKind::kIcmp6);
  EXPECT_EQ(info.l4_offset, 54);
  EXPECT_EQ(info.l4_length, 64);
  EXPECT_EQ(info.src_port, 0);
  EXPECT_EQ(info.payload_length, 0);
  EXPECT_EQ(info.options, TcpOptions{});
}

TEST(ParseIpv6Test, Ipv4AfterIpv6SaysIpv4) {
  // PacketInfo slots are reused burst after burst: an IPv4 frame parsed
  // into a slot that held IPv6 must say IPv4.
  PacketInfo info;
  ASSERT_EQ(Parse(BuildFrame(Syn6()), kSoftware, &info), Verdict::kOk);
  ASSERT_EQ(info.family, IpFamily::kIpv6);
  ASSERT_EQ(Parse(testutil::BuildFrame(testutil::TcpFrame{}), kSoftware, &info),
            Verdict::kOk);
  EXPECT_EQ(info.family, IpFamily::kIpv4);
  ASSERT_EQ(Parse(BuildFrame(Echo6()), kSoftware, &info), Verdict::kOk);
  ASSERT_EQ(
      Parse(testutil::BuildFrame(testutil::IcmpFrame{}), kSoftware, &info),
      Verdict::kOk);
  EXPECT_EQ(info.family, IpFamily::kIpv4);
  EXPECT_EQ(info.kind, PacketKind::kIcmp);
}

TEST(ParseIpv6Test, EthernetPaddingIsIgnored) {
  Tcp6Frame f = Syn6();
  f.tcp.options = TcpOptions{};
  f.tcp.flags = tcp_flags::kAck;
  f.eth.pad_to = 128;
  f.eth.pad_byte = 0xee;
  PacketInfo info;
  ASSERT_EQ(Parse(BuildFrame(f), kSoftware, &info), Verdict::kOk);
  EXPECT_EQ(info.l4_length, 20);
  EXPECT_EQ(info.payload_length, 0);
}

TEST(ParseIpv6Test, OffloadGoodSkipsTheTcpChecksum) {
  std::vector<uint8_t> f = BuildFrame(Syn6());
  f[kL4 + 16] ^= 0xff;
  EXPECT_EQ(Parse(f, kSoftware), Verdict::kTcpBadChecksum);
  EXPECT_EQ(Parse(f, {RxChecksum::kBad, RxChecksum::kGood}), Verdict::kOk)
      << "IPv6 has no header checksum: the IP flag means nothing";
}

// ---------------------------------------------------------------------------
// Bounds: every proper prefix of a frame with extension headers fails, and
// a payload length cut short at every point never lets bytes past it in.

TEST(ParseIpv6TruncationTest, EveryPrefixFails) {
  Tcp6Frame t = Syn6();
  t.ip.extensions = {Ext(kIpProtoHopByHop, {5, 2, 0, 0}),
                     Ext(kIpProtoDestinationOptions, {1, 4})};
  t.tcp.payload = {1, 2, 3, 4, 5};
  const std::vector<uint8_t> frames[] = {BuildFrame(t), BuildFrame(Ns()),
                                         BuildFrame(Na()), BuildFrame(Echo6())};
  for (const std::vector<uint8_t>& f : frames) {
    for (RxOffload offload : {kSoftware, kAllGood}) {
      PacketInfo info;
      ASSERT_EQ(ParsePrefix(f.data(), f.size(), offload, &info), Verdict::kOk);
      for (size_t len = 0; len < f.size(); ++len) {
        const Verdict v = ParsePrefix(f.data(), len, offload, &info);
        const Verdict expected = len < 14    ? Verdict::kEthTruncated
                                 : len < kL4 ? Verdict::kIpv6Truncated
                                             : Verdict::kIpv6BadPayloadLength;
        EXPECT_EQ(VerdictName(v), VerdictName(expected)) << "prefix " << len;
      }
    }
  }
}

TEST(ParseIpv6TruncationTest, ShortPayloadLengthNeverAccepted) {
  Tcp6Frame t = Syn6();
  t.ip.extensions = {Ext(kIpProtoHopByHop), Ext(kIpProtoDestinationOptions)};
  const std::vector<uint8_t> whole = BuildFrame(t);
  const size_t payload = whole.size() - kL4;
  for (size_t p = 0; p < payload; ++p) {
    Tcp6Frame s = t;
    s.ip.payload_length = static_cast<uint16_t>(p);
    PacketInfo info;
    const Verdict v = Parse(BuildFrame(s), kAllGood, &info);
    const Verdict expected = p < 16   ? Verdict::kIpv6ExtTruncated
                             : p < 36 ? Verdict::kTcpTruncated
                                      : Verdict::kTcpBadDataOffset;
    EXPECT_EQ(VerdictName(v), VerdictName(expected)) << "payload " << p;
  }
  Icmp6Frame ns = Ns();
  const std::vector<uint8_t> whole_ns = BuildFrame(ns);
  for (size_t p = 0; p < whole_ns.size() - kL4; ++p) {
    std::vector<uint8_t> f = whole_ns;
    f[kL3 + 4] = 0;
    f[kL3 + 5] = static_cast<uint8_t>(p);
    EXPECT_NE(Parse(f), Verdict::kOk) << "payload " << p;
  }
}

}  // namespace
}  // namespace synwave::wire
