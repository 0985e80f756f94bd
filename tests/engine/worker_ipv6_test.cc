// IPv6 on the worker loop (engine/nd.h): what a host on the link sees when it
// solicits our addresses, pings them and answers our solicitations; the
// multicast MACs the L2 filter lets through; named drops for the rest.
// Virtual clock on an in-memory port; no kernel.
#include <algorithm>
#include <cstring>
#include <optional>

#include "app/generator.h"
#include "engine/nd.h"
#include "engine/worker.h"
#include "flow/toeplitz.h"
#include "gtest/gtest.h"
#include "ring_harness.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/icmp6.h"
#include "wire/parse.h"

namespace synwave::engine {
namespace {

using testutil::Frame;
using testutil::Icmp6Frame;
using testutil::RingHarness;
using wire::Ipv6Address;
using wire::MacAddress;

constexpr uint64_t kSecond = 1'000'000'000;
const Ipv6Address kOurIp = *Ipv6Address::Parse("fd00::2");
const Ipv6Address kPeerIp = *Ipv6Address::Parse("fd00::1");
const Ipv6Address kPeerLinkLocal = *Ipv6Address::Parse("fe80::1");
const Ipv6Address kFar = *Ipv6Address::Parse("2001:db8::9");

WorkerConfig Config() {
  WorkerConfig c;
  c.ip = wire::Ipv4Prefix{wire::Ipv4Address::FromOctets(198, 18, 0, 2), 24};
  c.ip6 = wire::Ipv6Prefix{kOurIp, 64};
  return c;
}

// An accepted ICMPv6 frame the worker sent: its parse and its fields.
struct Sent {
  wire::PacketInfo info;
  const uint8_t* frame;
  uint8_t type() const { return frame[info.l4_offset]; }
  MacAddress eth_dst() const { return MacAddress::FromBytes(frame); }
  MacAddress eth_src() const { return MacAddress::FromBytes(frame + 6); }
  Ipv6Address src() const { return wire::Ipv6Src(frame, info); }
  Ipv6Address dst() const { return wire::Ipv6Dst(frame, info); }
  uint8_t hop_limit() const { return frame[info.l3_offset + 7]; }
  // ND: target, NA flags, the link-layer address option.
  Ipv6Address target() const {
    return Ipv6Address::FromBytes(frame + info.l4_offset + 8);
  }
  uint8_t na_flags() const { return frame[info.l4_offset + 4]; }
  std::optional<MacAddress> link_address() const {
    if (info.nd_link_address_offset == 0) return std::nullopt;
    return MacAddress::FromBytes(frame + info.nd_link_address_offset);
  }
};

std::optional<Sent> ParseSent(const Frame& f) {
  Sent s{{}, f.data()};
  if (wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                       &s.info) != wire::Verdict::kOk ||
      s.info.kind != wire::PacketKind::kIcmp6) {
    return std::nullopt;
  }
  return s;
}

class WorkerIpv6Test : public testing::Test {
 protected:
  explicit WorkerIpv6Test(WorkerConfig config = Config()) : h_(config) {}

  void TearDown() override {
    h_.Poll(now_);  // nothing left in flight
    EXPECT_TRUE(h_.AllMbufsReturned()) << "an mbuf leaked";
  }

  Ipv6Address LinkLocal() const { return LinkLocalFromMac(h_.mac()); }

  // A solicitation for `target` from `src` (with its link-layer address
  // option unless src is ::), to target's solicited-node group.
  Icmp6Frame Solicitation(const Ipv6Address& target,
                          const Ipv6Address& src = kPeerIp) {
    Icmp6Frame f;
    f.ip.src = src;
    f.ip.dst = target.SolicitedNode();
    f.ip.hop_limit = 255;
    f.eth.dst = f.ip.dst.MulticastMac();
    f.eth.src = h_.peer_mac();
    f.icmp.type = wire::kIcmpv6NeighborSolicitation;
    f.icmp.body = testutil::NdBody(
        target, 0,
        src.IsUnspecified() ? std::nullopt
                            : std::optional<MacAddress>(h_.peer_mac()));
    return f;
  }

  Icmp6Frame Advertisement(const Ipv6Address& target,
                           std::optional<MacAddress> tll, uint8_t flags) {
    Icmp6Frame f;
    f.ip.src = target;
    f.ip.dst = kOurIp;
    f.ip.hop_limit = 255;
    f.eth.dst = h_.mac();
    f.eth.src = tll.value_or(h_.peer_mac());
    f.icmp.type = wire::kIcmpv6NeighborAdvertisement;
    f.icmp.body = testutil::NdBody(target, flags, tll,
                                   wire::kNdOptionTargetLinkAddress);
    return f;
  }

  Icmp6Frame Echo(const Ipv6Address& dst, const Ipv6Address& src = kPeerIp) {
    Icmp6Frame f;
    f.ip.src = src;
    f.ip.dst = dst;
    f.eth.dst = dst.IsMulticast() ? dst.MulticastMac() : h_.mac();
    f.eth.src = h_.peer_mac();
    const uint8_t data[] = {'s', 'y', 'n', 'w', 'a', 'v', 'e', 6};
    f.icmp.body = testutil::EchoBody(0x4242, 9, data);
    return f;
  }

  // Injects `f`, polls once, and returns the one frame sent (fails if not
  // exactly one).
  std::optional<Sent> Exchange(const Icmp6Frame& f) {
    h_.Inject(testutil::BuildFrame(f));
    out_ = h_.Poll(now_);
    EXPECT_EQ(out_.size(), 1u);
    if (out_.size() != 1) return std::nullopt;
    return ParseSent(out_[0]);
  }

  RingHarness h_;
  std::vector<Frame> out_;
  uint64_t now_ = kSecond;
};

TEST(LinkLocalTest, ModifiedEui64FromTheMac) {
  EXPECT_EQ(LinkLocalFromMac(*MacAddress::Parse("52:54:00:12:34:56"))
                .ToString(),
            "fe80::5054:ff:fe12:3456");
  EXPECT_EQ(LinkLocalFromMac(*MacAddress::Parse("02:00:00:00:00:01"))
                .ToString(),
            "fe80::ff:fe00:1");
}

TEST(LinkLocalTest, MulticastMacsAreAllNodesAndEachSolicitedNodeGroup) {
  const std::vector<MacAddress> macs = Ipv6MulticastMacs(
      {kOurIp, *Ipv6Address::Parse("fe80::ff:fe00:1"),
       *Ipv6Address::Parse("fd00:1::2")});  // same low 24 bits as kOurIp
  ASSERT_EQ(macs.size(), 3u);
  EXPECT_EQ(macs[0].ToString(), "33:33:00:00:00:01");
  EXPECT_EQ(macs[1].ToString(), "33:33:ff:00:00:02");
  EXPECT_EQ(macs[2].ToString(), "33:33:ff:00:00:01");
}

TEST_F(WorkerIpv6Test, AnswersSolicitationForOurAddressAndLearnsTheSender) {
  std::optional<Sent> na = Exchange(Solicitation(kOurIp));
  ASSERT_TRUE(na.has_value());
  EXPECT_EQ(na->type(), wire::kIcmpv6NeighborAdvertisement);
  EXPECT_EQ(na->eth_dst(), h_.peer_mac());
  EXPECT_EQ(na->eth_src(), h_.mac());
  EXPECT_EQ(na->src(), kOurIp);
  EXPECT_EQ(na->dst(), kPeerIp);
  EXPECT_EQ(na->hop_limit(), 255);
  EXPECT_EQ(na->target(), kOurIp);
  EXPECT_EQ(na->na_flags(), wire::na_flags::kSolicited |
                                wire::na_flags::kOverride);
  EXPECT_EQ(na->link_address(), h_.mac());
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kSolicitationsIn)), 1u);
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kAdvertisementsOut)), 1u);
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kNeighborsLearned)), 1u);
  // The sender's link-layer address is learnt: no solicitation needed.
  const MacAddress* mac = h_.worker().nd()->ResolveNextHop(kPeerIp, now_);
  ASSERT_NE(mac, nullptr);
  EXPECT_EQ(*mac, h_.peer_mac());
  EXPECT_TRUE(h_.Poll(now_).empty());
}

TEST_F(WorkerIpv6Test, AnswersSolicitationForOurLinkLocalAddress) {
  std::optional<Sent> na = Exchange(Solicitation(LinkLocal(), kPeerLinkLocal));
  ASSERT_TRUE(na.has_value());
  EXPECT_EQ(na->type(), wire::kIcmpv6NeighborAdvertisement);
  EXPECT_EQ(na->src(), LinkLocal());
  EXPECT_EQ(na->dst(), kPeerLinkLocal);
  EXPECT_EQ(na->target(), LinkLocal());
  EXPECT_EQ(na->link_address(), h_.mac());
}

TEST_F(WorkerIpv6Test, AnswersAUnicastSolicitation) {
  // Neighbour unreachability detection: to our unicast address and MAC.
  Icmp6Frame ns = Solicitation(kOurIp);
  ns.ip.dst = kOurIp;
  ns.eth.dst = h_.mac();
  std::optional<Sent> na = Exchange(ns);
  ASSERT_TRUE(na.has_value());
  EXPECT_EQ(na->target(), kOurIp);
  EXPECT_EQ(na->dst(), kPeerIp);
}

TEST_F(WorkerIpv6Test, DefendsOurAddressAgainstAProbeToAllNodes) {
  std::optional<Sent> na = Exchange(Solicitation(kOurIp, Ipv6Address{}));
  ASSERT_TRUE(na.has_value());
  EXPECT_EQ(na->dst(), wire::kAllNodes);
  EXPECT_EQ(na->eth_dst().ToString(), "33:33:00:00:00:01");
  EXPECT_EQ(na->na_flags(), wire::na_flags::kOverride);
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kNeighborsLearned)), 0u);
}

TEST_F(WorkerIpv6Test, IgnoresSolicitationsForOtherTargets) {
  const Ipv6Address other = *Ipv6Address::Parse("fd00::3");
  // To the other address's group: not a MAC we accept.
  h_.Inject(testutil::BuildFrame(Solicitation(other)));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(Counter::kDropEthNotForUs), 1u);
  // To us, for another target.
  Icmp6Frame ns = Solicitation(other);
  ns.ip.dst = kOurIp;
  ns.eth.dst = h_.mac();
  h_.Inject(testutil::BuildFrame(ns));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kDropNdNotForUs)), 1u);
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kAdvertisementsOut)), 0u);
}

TEST_F(WorkerIpv6Test, AnswersEchoToEachOfOurAddressesAndToAllNodes) {
  struct Case {
    Ipv6Address dst;
    Ipv6Address src;
    Ipv6Address reply_from;
  } cases[] = {
      {kOurIp, kPeerIp, kOurIp},
      {LinkLocal(), kPeerLinkLocal, LinkLocal()},
      {wire::kAllNodes, kPeerLinkLocal, LinkLocal()},
  };
  uint64_t n = 0;
  for (const Case& k : cases) {
    std::optional<Sent> reply = Exchange(Echo(k.dst, k.src));
    ASSERT_TRUE(reply.has_value()) << k.dst.ToString();
    ++n;
    EXPECT_EQ(reply->type(), wire::kIcmpv6EchoReply);
    EXPECT_EQ(reply->eth_dst(), h_.peer_mac());
    EXPECT_EQ(reply->eth_src(), h_.mac());
    EXPECT_EQ(reply->src(), k.reply_from);
    EXPECT_EQ(reply->dst(), k.src);
    EXPECT_EQ(reply->hop_limit(), 64);
    // Identifier, sequence and data come back as sent.
    const std::vector<uint8_t> body(
        reply->frame + reply->info.l4_offset + 4,
        reply->frame + reply->info.l4_offset + reply->info.l4_length);
    EXPECT_EQ(body, Echo(k.dst, k.src).icmp.body);
    EXPECT_EQ(h_.Count(NdIndex(NdCounter::kEchoIn)), n);
    EXPECT_EQ(h_.Count(NdIndex(NdCounter::kEchoOut)), n);
  }
}

TEST_F(WorkerIpv6Test, DropsWhatIsNotOursUnderNamedReasons) {
  // Another unicast address, on our MAC.
  h_.Inject(testutil::BuildFrame(Echo(*Ipv6Address::Parse("fd00::9"))));
  // A group we are not in (all-routers), on its MAC.
  h_.Inject(testutil::BuildFrame(Echo(*Ipv6Address::Parse("ff02::2"))));
  // An echo reply: we send no requests.
  Icmp6Frame reply = Echo(kOurIp);
  reply.icmp.type = wire::kIcmpv6EchoReply;
  h_.Inject(testutil::BuildFrame(reply));
  // TCP to our address: the stack does not take IPv6 yet.
  testutil::Tcp6Frame syn;
  syn.eth.dst = h_.mac();
  syn.eth.src = h_.peer_mac();
  syn.ip.src = kPeerIp;
  syn.ip.dst = kOurIp;
  h_.Inject(testutil::BuildFrame(syn));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kDropNotForUs)), 1u);
  EXPECT_EQ(h_.Count(Counter::kDropEthNotForUs), 1u);
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kDropIcmp6NotEcho)), 1u);
  EXPECT_EQ(h_.Count(Counter::kDropTcpNoHandler), 1u);
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kIpv6Disabled)), 0u);
}

TEST_F(WorkerIpv6Test, ResolvesAnOnLinkPeerWithASolicitation) {
  NeighborDiscovery& nd = *h_.worker().nd();
  EXPECT_EQ(nd.ResolveNextHop(kPeerIp, now_), nullptr);
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  std::optional<Sent> ns = ParseSent(out[0]);
  ASSERT_TRUE(ns.has_value());
  EXPECT_EQ(ns->type(), wire::kIcmpv6NeighborSolicitation);
  EXPECT_EQ(ns->dst().ToString(), "ff02::1:ff00:1");
  EXPECT_EQ(ns->eth_dst().ToString(), "33:33:ff:00:00:01");
  EXPECT_EQ(ns->eth_src(), h_.mac());
  EXPECT_EQ(ns->src(), kOurIp);
  EXPECT_EQ(ns->target(), kPeerIp);
  EXPECT_EQ(ns->hop_limit(), 255);
  EXPECT_EQ(ns->link_address(), h_.mac());
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kSolicitationsOut)), 1u);
  // Not again within the retry interval.
  EXPECT_EQ(nd.ResolveNextHop(kPeerIp, now_ + kSecond / 2), nullptr);
  EXPECT_TRUE(h_.Poll(now_ + kSecond / 2).empty());

  const MacAddress peer_mac{{0x02, 0, 0, 0, 0, 0x77}};
  h_.Inject(testutil::BuildFrame(Advertisement(
      kPeerIp, peer_mac,
      wire::na_flags::kSolicited | wire::na_flags::kOverride)));
  EXPECT_TRUE(h_.Poll(now_ + kSecond / 2).empty());
  const MacAddress* mac = nd.ResolveNextHop(kPeerIp, now_ + kSecond);
  ASSERT_NE(mac, nullptr);
  EXPECT_EQ(*mac, peer_mac);
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kAdvertisementsIn)), 1u);
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kNeighborsLearned)), 1u);
  // Off our prefix without a gateway: no next hop.
  EXPECT_FALSE(nd.NextHop(kFar).has_value());
  EXPECT_EQ(nd.ResolveNextHop(kFar, now_), nullptr);
}

TEST_F(WorkerIpv6Test, AdvertisementsOnlyUpdateNeighboursWeResolve) {
  // Unsolicited, for a neighbour we never asked about.
  h_.Inject(testutil::BuildFrame(Advertisement(
      kPeerIp, MacAddress{{0x02, 0, 0, 0, 0, 0x77}}, 0)));
  // Another host claiming our address, to all-nodes.
  Icmp6Frame claim =
      Advertisement(kOurIp, MacAddress{{0x02, 0, 0, 0, 0, 0x66}}, 0);
  claim.ip.dst = wire::kAllNodes;
  claim.eth.dst = wire::kAllNodes.MulticastMac();
  h_.Inject(testutil::BuildFrame(claim));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kDropNdNotForUs)), 1u);
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kDropNdConflict)), 1u);
  EXPECT_EQ(h_.worker().nd()->neighbors().size(), 0u);
}

TEST_F(WorkerIpv6Test, ArpAndIcmpStillAnsweredWithIpv6On) {
  testutil::ArpFrame arp;
  arp.eth.dst = MacAddress::Broadcast();
  arp.eth.src = h_.peer_mac();
  arp.arp.sha = h_.peer_mac();
  arp.arp.spa = wire::Ipv4Address::FromOctets(198, 18, 0, 1);
  arp.arp.tpa = wire::Ipv4Address::FromOctets(198, 18, 0, 2);
  h_.Inject(testutil::BuildFrame(arp));
  EXPECT_EQ(h_.Poll(now_).size(), 1u);
  EXPECT_EQ(h_.Count(Counter::kArpRepliesOut), 1u);
}

// TCP over IPv6 to the stack: a listener on our IPv6 address answers a SYN
// with an IPv6 SYN-ACK written over it, checksummed over the IPv6
// pseudo-header; IPv4 on the same port is answered as before.
class Ipv6TcpTest : public WorkerIpv6Test {
 protected:
  static WorkerConfig Listening() {
    WorkerConfig c = Config();
    c.listen_ports = {80};
    return c;
  }
  Ipv6TcpTest() : WorkerIpv6Test(Listening()) {}
  explicit Ipv6TcpTest(WorkerConfig config) : WorkerIpv6Test(config) {}

  testutil::Tcp6Frame Syn6() {
    testutil::Tcp6Frame syn;
    syn.eth.dst = h_.mac();
    syn.eth.src = h_.peer_mac();
    syn.ip.src = kPeerIp;
    syn.ip.dst = kOurIp;
    syn.tcp.seq = 5000;
    syn.tcp.options.has_mss = true;
    syn.tcp.options.mss = 1440;
    return syn;
  }
};

TEST_F(Ipv6TcpTest, AnswersASynOnOurIpv6AddressWithAnIpv6SynAck) {
  h_.Inject(testutil::BuildFrame(Syn6()));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  wire::PacketInfo info;
  ASSERT_EQ(wire::ParseFrame(out[0].data(), out[0].size(), {}, &info),
            wire::Verdict::kOk)
      << "checksums over the IPv6 pseudo-header";
  EXPECT_EQ(info.kind, wire::PacketKind::kTcp);
  EXPECT_EQ(info.family, wire::IpFamily::kIpv6);
  EXPECT_EQ(info.tcp_flags, wire::tcp_flags::kSyn | wire::tcp_flags::kAck);
  EXPECT_EQ(info.ack.value(), 5001u);
  EXPECT_EQ(info.src_port, 80);
  EXPECT_EQ(info.dst_port, 40000);
  EXPECT_EQ(wire::Ipv6Src(out[0].data(), info), kOurIp);
  EXPECT_EQ(wire::Ipv6Dst(out[0].data(), info), kPeerIp);
  EXPECT_EQ(out[0][14 + 7], 64) << "hop limit";
  EXPECT_EQ(MacAddress::FromBytes(out[0].data()), h_.peer_mac());
  EXPECT_EQ(MacAddress::FromBytes(out[0].data() + 6), h_.mac());
  EXPECT_EQ(h_.Count(Counter::kTcpSegmentsIn), 1u);
  EXPECT_EQ(h_.Count(Counter::kDropTcpNoHandler), 0u);
}

TEST_F(Ipv6TcpTest, ABurstOfBothFamiliesIsAnsweredInFamily) {
  testutil::TcpFrame syn4;
  syn4.eth.dst = h_.mac();
  syn4.eth.src = h_.peer_mac();
  syn4.ip.src = wire::Ipv4Address::FromOctets(198, 18, 0, 1);
  syn4.ip.dst = wire::Ipv4Address::FromOctets(198, 18, 0, 2);
  h_.Inject(testutil::BuildFrame(syn4));
  h_.Inject(testutil::BuildFrame(Syn6()));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 2u);
  int v4 = 0, v6 = 0;
  for (const Frame& f : out) {
    wire::PacketInfo info;
    ASSERT_EQ(wire::ParseFrame(f.data(), f.size(), {}, &info),
              wire::Verdict::kOk);
    EXPECT_EQ(info.tcp_flags, wire::tcp_flags::kSyn | wire::tcp_flags::kAck);
    (info.family == wire::IpFamily::kIpv6 ? v6 : v4)++;
  }
  EXPECT_EQ(v4, 1);
  EXPECT_EQ(v6, 1);
}

// IPv6 only (no IPv4 --ip): the worker serves over IPv6, and every IPv4
// frame to it, ARP included, is a drop named ipv4_disabled, unanswered.
class Ipv6OnlyTest : public Ipv6TcpTest {
 protected:
  static WorkerConfig Only6() {
    WorkerConfig c = Listening();
    c.ip = wire::Ipv4Prefix{};  // 0.0.0.0: none
    return c;
  }
  Ipv6OnlyTest() : Ipv6TcpTest(Only6()) {}
};

TEST_F(Ipv6OnlyTest, ServesOverIpv6AndDropsIpv4AsDisabled) {
  // The handshake over IPv6 completes: SYN, SYN-ACK, ACK.
  testutil::Tcp6Frame syn = Syn6();
  h_.Inject(testutil::BuildFrame(syn));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  wire::PacketInfo info;
  ASSERT_EQ(wire::ParseFrame(out[0].data(), out[0].size(), {}, &info),
            wire::Verdict::kOk);
  EXPECT_EQ(info.tcp_flags, wire::tcp_flags::kSyn | wire::tcp_flags::kAck);
  testutil::Tcp6Frame ack = Syn6();
  ack.tcp.flags = wire::tcp_flags::kAck;
  ack.tcp.seq = 5001;
  ack.tcp.ack = info.seq.value() + 1;
  ack.tcp.options = {};
  h_.Inject(testutil::BuildFrame(ack));
  h_.Poll(now_ + 1000);
  EXPECT_EQ(h_.worker().stack()->counters().Get(tcp::Mib::kPassiveOpens), 1u);

  // IPv4: a SYN, an echo request and an ARP request, to the address an
  // IPv4 --ip would have had.
  const wire::Ipv4Address v4 = wire::Ipv4Address::FromOctets(198, 18, 0, 2);
  testutil::TcpFrame syn4;
  syn4.eth.dst = h_.mac();
  syn4.eth.src = h_.peer_mac();
  syn4.ip.src = wire::Ipv4Address::FromOctets(198, 18, 0, 1);
  syn4.ip.dst = v4;
  testutil::IcmpFrame echo4;
  echo4.eth = syn4.eth;
  echo4.ip.src = syn4.ip.src;
  echo4.ip.dst = v4;
  testutil::ArpFrame arp;
  arp.eth.dst = MacAddress::Broadcast();
  arp.eth.src = h_.peer_mac();
  arp.arp.sha = h_.peer_mac();
  arp.arp.spa = syn4.ip.src;
  arp.arp.tpa = v4;
  h_.Inject(testutil::BuildFrame(syn4));
  h_.Inject(testutil::BuildFrame(echo4));
  h_.Inject(testutil::BuildFrame(arp));
  EXPECT_TRUE(h_.Poll(now_ + 2000).empty());
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kIpv4Disabled)), 3u);
  EXPECT_EQ(h_.Count(Counter::kArpRepliesOut), 0u);
  EXPECT_EQ(h_.Count(Counter::kIcmpEchoOut), 0u);
  EXPECT_EQ(h_.Count(Counter::kDropIpNotForUs), 0u);
  EXPECT_EQ(h_.worker().stack()->counters().Get(tcp::Mib::kPassiveOpens), 1u);
}

class Ipv6GatewayTest : public WorkerIpv6Test {
 protected:
  static WorkerConfig WithGateway() {
    WorkerConfig c = Config();
    c.gateway6 = kPeerLinkLocal;
    c.neighbor_reachable_ns = 60 * kSecond;
    return c;
  }
  Ipv6GatewayTest() : WorkerIpv6Test(WithGateway()) {}
};

TEST_F(Ipv6GatewayTest, ResolvesTheGatewayAndRoutesOffPrefixThroughIt) {
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  std::optional<Sent> ns = ParseSent(out[0]);
  ASSERT_TRUE(ns.has_value());
  EXPECT_EQ(ns->type(), wire::kIcmpv6NeighborSolicitation);
  EXPECT_EQ(ns->target(), kPeerLinkLocal);
  EXPECT_EQ(ns->src(), LinkLocal()) << "a link-local target, from ours";

  const MacAddress router{{0x02, 0, 0, 0, 0, 0xfe}};
  Icmp6Frame na = Advertisement(
      kPeerLinkLocal, router,
      wire::na_flags::kRouter | wire::na_flags::kSolicited);
  na.ip.dst = LinkLocal();
  h_.Inject(testutil::BuildFrame(na));
  h_.Poll(now_ + kSecond);
  const MacAddress* mac =
      h_.worker().nd()->ResolveNextHop(kFar, now_ + 2 * kSecond);
  ASSERT_NE(mac, nullptr);
  EXPECT_EQ(*mac, router);
  // Refreshed in the last quarter of the reachable time; unanswered, it
  // expires and is counted.
  out = h_.Poll(now_ + 50 * kSecond);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(h_.worker().nd()->ResolveNextHop(kFar, now_ + 62 * kSecond),
            nullptr);
  h_.Poll(now_ + 64 * kSecond);
  h_.Poll(now_ + 70 * kSecond);
  EXPECT_GE(h_.Count(NdIndex(NdCounter::kNeighborsExpired)), 1u);
}

class Ipv6RangeTest : public WorkerIpv6Test {
 protected:
  static WorkerConfig WithClients() {
    WorkerConfig c = Config();
    c.local_ip6_first = *Ipv6Address::Parse("fd00::100");
    c.local_ip6_last = *Ipv6Address::Parse("fd00::1ff");
    return c;
  }
  Ipv6RangeTest() : WorkerIpv6Test(WithClients()) {}
};

TEST_F(Ipv6RangeTest, AnswersForEveryAddressOfTheClientRange) {
  for (const char* text : {"fd00::100", "fd00::17f", "fd00::1ff"}) {
    const Ipv6Address a = *Ipv6Address::Parse(text);
    std::optional<Sent> na = Exchange(Solicitation(a));
    ASSERT_TRUE(na.has_value()) << text;
    EXPECT_EQ(na->target(), a);
    EXPECT_EQ(na->src(), a);
    std::optional<Sent> reply = Exchange(Echo(a));
    ASSERT_TRUE(reply.has_value()) << text;
    EXPECT_EQ(reply->src(), a);
  }
  // Just past the range: its group passes the filter, the target does not.
  h_.Inject(testutil::BuildFrame(
      Solicitation(*Ipv6Address::Parse("fd00::200"))));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(NdIndex(NdCounter::kDropNdNotForUs)), 1u);
}

// A load generator over IPv6 on a 4-queue RSS port that hashes IPv6 TCP
// (Generator rss6): each queue's worker opens IPv6 connections, and the
// reply of every one (server -> client) hashes, by the NIC's Toeplitz
// function of the IPv6 4-tuple through the redirection table, to the queue
// that opened it. IPv6 only, as `load --ip=fd00::2/64` alone.
TEST(Ipv6RssGeneratorTest, EachQueueOpensConnectionsWhoseRepliesComeBack) {
  const auto& key = flow::kMicrosoftRssKey;
  const flow::ToeplitzIpv4Tcp rss(key.data(), key.size());
  const flow::ToeplitzIpv6Tcp rss6(key.data(), key.size());
  std::vector<uint16_t> reta(128);
  for (size_t i = 0; i < reta.size(); ++i) reta[i] = i % 4;
  for (uint16_t q = 0; q < 4; ++q) {
    WorkerConfig c;  // no IPv4 address
    c.ip6 = wire::Ipv6Prefix{kOurIp, 64};
    c.tcp_active = true;
    c.local_ip6_first = *Ipv6Address::Parse("fd00::100");
    c.local_ip6_last = *Ipv6Address::Parse("fd00::1ff");
    RingHarness h(c);
    app::GeneratorConfig gc;
    gc.servers = {app::LoadTarget::Ipv6(kPeerIp, 80)};
    gc.client_ip6_first = c.local_ip6_first;
    gc.client_ip6_last = c.local_ip6_last;
    gc.concurrency = 32;
    gc.max_connections = c.tcp.max_connections;
    gc.queue_id = q;
    gc.num_queues = 4;
    gc.rss = &rss;
    gc.rss6 = &rss6;
    gc.reta = reta;
    app::Generator gen(gc);
    ASSERT_GE(h.worker().AddApp(gen.ops()), 0);
    uint64_t now = kSecond;
    gen.SetSchedule(now, now + 10 * kSecond);
    h.Poll(now);  // the solicitation of the server
    Icmp6Frame na;
    na.ip.src = kPeerIp;
    na.ip.dst = kOurIp;
    na.ip.hop_limit = 255;
    na.eth.dst = h.mac();
    na.eth.src = h.peer_mac();
    na.icmp.type = wire::kIcmpv6NeighborAdvertisement;
    na.icmp.body = testutil::NdBody(kPeerIp, wire::na_flags::kSolicited,
                                    h.peer_mac(),
                                    wire::kNdOptionTargetLinkAddress);
    h.Inject(testutil::BuildFrame(na));
    int syns = 0;
    for (int i = 0; i < 3; ++i) {
      now += 1000;
      for (const Frame& f : h.Poll(now)) {
        wire::PacketInfo info;
        ASSERT_EQ(wire::ParseFrame(f.data(), f.size(), {}, &info),
                  wire::Verdict::kOk);
        if (info.kind != wire::PacketKind::kTcp) continue;
        ASSERT_EQ(info.family, wire::IpFamily::kIpv6);
        ASSERT_EQ(info.tcp_flags, wire::tcp_flags::kSyn);
        ++syns;
        // The reply's 36 input bytes, as the NIC reads them.
        uint8_t input[36];
        std::memcpy(input, wire::Ipv6Dst(f.data(), info).bytes.data(), 16);
        std::memcpy(input + 16, wire::Ipv6Src(f.data(), info).bytes.data(),
                    16);
        input[32] = static_cast<uint8_t>(info.dst_port >> 8);
        input[33] = static_cast<uint8_t>(info.dst_port);
        input[34] = static_cast<uint8_t>(info.src_port >> 8);
        input[35] = static_cast<uint8_t>(info.src_port);
        const uint32_t hash =
            flow::ToeplitzHash(key.data(), key.size(), input, sizeof(input));
        EXPECT_EQ(flow::RssQueue(hash, reta.data(), reta.size()), q)
            << "port " << info.src_port;
      }
    }
    EXPECT_EQ(syns, 32) << "queue " << q << " opens its share";
    gen.StopOpening();
  }
}

}  // namespace
}  // namespace synwave::engine
