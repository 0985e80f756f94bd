// The worker loop on an in-memory port: what a host on the link sees when it
// sends ARP, ICMP echo and malformed frames to the endpoint, and how the
// endpoint resolves its next hop. Virtual clock; no NIC, no kernel.
#include "engine/worker.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "ring_harness.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::engine {
namespace {

using testutil::ArpFrame;
using testutil::Frame;
using testutil::IcmpFrame;
using testutil::RingHarness;
using testutil::TcpFrame;
using wire::Ipv4Address;
using wire::MacAddress;

constexpr uint64_t kSecond = 1'000'000'000;
const Ipv4Address kOurIp = Ipv4Address::FromOctets(198, 18, 0, 2);
const Ipv4Address kPeerIp = Ipv4Address::FromOctets(198, 18, 0, 1);
const Ipv4Address kGateway = Ipv4Address::FromOctets(198, 18, 0, 254);

WorkerConfig Config() {
  WorkerConfig c;
  c.ip = wire::Ipv4Prefix{kOurIp, 24};
  return c;
}

class WorkerTest : public testing::Test {
 protected:
  explicit WorkerTest(WorkerConfig config = Config(),
                      bool publish_every_poll = true)
      : h_(config, {}, publish_every_poll) {}

  void TearDown() override {
    h_.Poll(now_);  // nothing left in flight
    EXPECT_TRUE(h_.AllMbufsReturned()) << "an mbuf leaked";
  }

  ArpFrame ArpRequest(Ipv4Address target) {
    ArpFrame f;
    f.eth.dst = MacAddress::Broadcast();
    f.eth.src = h_.peer_mac();
    f.arp.sha = h_.peer_mac();
    f.arp.spa = kPeerIp;
    f.arp.tpa = target;
    return f;
  }

  IcmpFrame Echo() {
    IcmpFrame f;
    f.eth.dst = h_.mac();
    f.eth.src = h_.peer_mac();
    f.ip.src = kPeerIp;
    f.ip.dst = kOurIp;
    f.icmp.id = 0x1234;
    f.icmp.sequence = 7;
    f.icmp.payload = {'s', 'y', 'n', 'w', 'a', 'v', 'e', 0, 1, 2, 3};
    return f;
  }

  RingHarness h_;
  uint64_t now_ = kSecond;
};

TEST_F(WorkerTest, AnswersArpRequestForOurAddress) {
  h_.Inject(testutil::BuildFrame(ArpRequest(kOurIp)));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  wire::PacketInfo info;
  ASSERT_EQ(wire::ParseFrame(out[0].data(), out[0].size(), {}, &info),
            wire::Verdict::kOk);
  ASSERT_EQ(info.kind, wire::PacketKind::kArp);
  const auto* eth = reinterpret_cast<const wire::EthernetHeader*>(out[0].data());
  const auto* arp = reinterpret_cast<const wire::ArpHeader*>(out[0].data() + 14);
  EXPECT_EQ(eth->Dst(), h_.peer_mac());
  EXPECT_EQ(eth->Src(), h_.mac());
  EXPECT_EQ(arp->op.get(), wire::kArpOpReply);
  EXPECT_EQ(MacAddress::FromBytes(arp->sha), h_.mac());
  EXPECT_EQ(arp->SenderIp(), kOurIp);
  EXPECT_EQ(MacAddress::FromBytes(arp->tha), h_.peer_mac());
  EXPECT_EQ(arp->TargetIp(), kPeerIp);
  EXPECT_EQ(h_.Count(Counter::kArpRequestsIn), 1u);
  EXPECT_EQ(h_.Count(Counter::kArpRepliesOut), 1u);
  // The requester is now a known neighbour (RFC 826: the target learns).
  const MacAddress* learned = h_.worker().link().neighbors().Lookup(kPeerIp, now_);
  ASSERT_NE(learned, nullptr);
  EXPECT_EQ(*learned, h_.peer_mac());
}

TEST_F(WorkerTest, IgnoresArpForAnotherAddress) {
  h_.Inject(testutil::BuildFrame(ArpRequest(kGateway)));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(Counter::kDropArpNotForUs), 1u);
  EXPECT_EQ(h_.worker().link().neighbors().size(), 0u) << "learned from a stranger";
}

TEST_F(WorkerTest, AnswersArpProbeWithoutLearningZeroAddress) {
  ArpFrame probe = ArpRequest(kOurIp);
  probe.arp.spa = Ipv4Address{};  // RFC 5227 probe
  h_.Inject(testutil::BuildFrame(probe));
  ASSERT_EQ(h_.Poll(now_).size(), 1u);
  EXPECT_EQ(h_.worker().link().neighbors().size(), 0u);
}

TEST_F(WorkerTest, CountsArpClaimingOurAddress) {
  ArpFrame f = ArpRequest(kOurIp);
  f.arp.spa = kOurIp;
  h_.Inject(testutil::BuildFrame(f));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(Counter::kDropArpConflict), 1u);
}

TEST_F(WorkerTest, AnswersEchoRequestInPlace) {
  IcmpFrame req = Echo();
  req.eth.pad_to = 128;  // Ethernet padding must not be echoed back
  h_.Inject(testutil::BuildFrame(req));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  wire::PacketInfo info;
  // Checksums are verified in software by the parser.
  ASSERT_EQ(wire::ParseFrame(out[0].data(), out[0].size(), {}, &info),
            wire::Verdict::kOk);
  ASSERT_EQ(info.kind, wire::PacketKind::kIcmp);
  EXPECT_EQ(info.src_ip, kOurIp);
  EXPECT_EQ(info.dst_ip, kPeerIp);
  const auto* eth = reinterpret_cast<const wire::EthernetHeader*>(out[0].data());
  EXPECT_EQ(eth->Dst(), h_.peer_mac());
  EXPECT_EQ(eth->Src(), h_.mac());
  const auto* icmp = reinterpret_cast<const wire::IcmpEchoHeader*>(
      out[0].data() + info.l4_offset);
  EXPECT_EQ(icmp->type, wire::kIcmpEchoReply);
  EXPECT_EQ(icmp->id.get(), 0x1234);
  EXPECT_EQ(icmp->sequence.get(), 7);
  const Frame payload(out[0].begin() + info.l4_offset + 8, out[0].end());
  EXPECT_EQ(payload, req.icmp.payload);
  EXPECT_EQ(h_.Count(Counter::kIcmpEchoIn), 1u);
  EXPECT_EQ(h_.Count(Counter::kIcmpEchoOut), 1u);
}

TEST_F(WorkerTest, DropsEchoWithBadIpChecksumUnderItsReason) {
  IcmpFrame req = Echo();
  req.ip.checksum = 0xdead;
  h_.Inject(testutil::BuildFrame(req));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kIpv4BadChecksum)), 1u);
  EXPECT_EQ(h_.Count(Counter::kIcmpEchoOut), 0u);
}

TEST_F(WorkerTest, DropsEchoWithBadIcmpChecksum) {
  IcmpFrame req = Echo();
  req.icmp.checksum = 0xbeef;
  h_.Inject(testutil::BuildFrame(req));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kIcmpBadChecksum)), 1u);
}

TEST_F(WorkerTest, DropsIcmpThatIsNotAnEchoRequest) {
  IcmpFrame f = Echo();
  f.icmp.type = wire::kIcmpEchoReply;
  h_.Inject(testutil::BuildFrame(f));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(Counter::kDropIcmpNotEcho), 1u);
}

// Issue 11, findings 4 and 5: a request from a group MAC, from 127.0.0.0/8
// or from our subnet's directed broadcast gets no answer (it would reach
// every host on the LAN), each counted under its own reason; the same
// echo from an ordinary neighbour is answered.
TEST_F(WorkerTest, NeverAnswersInvalidSources) {
  IcmpFrame broadcast_mac = Echo();
  broadcast_mac.eth.src = MacAddress::Broadcast();
  h_.Inject(testutil::BuildFrame(broadcast_mac));
  IcmpFrame multicast_mac = Echo();
  multicast_mac.eth.src = MacAddress{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x07}};
  h_.Inject(testutil::BuildFrame(multicast_mac));
  IcmpFrame loopback = Echo();
  loopback.ip.src = Ipv4Address::FromOctets(127, 0, 0, 1);
  h_.Inject(testutil::BuildFrame(loopback));
  IcmpFrame subnet_broadcast = Echo();
  subnet_broadcast.ip.src = Ipv4Address::FromOctets(198, 18, 0, 255);
  h_.Inject(testutil::BuildFrame(subnet_broadcast));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kEthSrcGroup)), 2u);
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kIpv4LoopbackSource)), 1u);
  EXPECT_EQ(h_.Count(Counter::kDropIpv4SubnetBroadcastSource), 1u);
  EXPECT_EQ(h_.Count(Counter::kIcmpEchoIn), 0u);
  // The subnet's network address and its last host are ordinary sources.
  IcmpFrame last_host = Echo();
  last_host.ip.src = Ipv4Address::FromOctets(198, 18, 0, 254);
  h_.Inject(testutil::BuildFrame(last_host));
  EXPECT_EQ(h_.Poll(now_).size(), 1u);
  EXPECT_EQ(h_.Count(Counter::kIcmpEchoOut), 1u);
}

class PointToPointTest : public WorkerTest {
 protected:
  static WorkerConfig P2p() {
    WorkerConfig c = Config();
    c.ip.length = 31;
    return c;
  }
  PointToPointTest() : WorkerTest(P2p()) {}
};

// RFC 3021: a /31 has no broadcast address; its other end is a host.
TEST_F(PointToPointTest, AnswersTheOtherAddressOfASlash31) {
  IcmpFrame f = Echo();
  f.ip.src = Ipv4Address::FromOctets(198, 18, 0, 3);
  h_.Inject(testutil::BuildFrame(f));
  EXPECT_EQ(h_.Poll(now_).size(), 1u);
  EXPECT_EQ(h_.Count(Counter::kDropIpv4SubnetBroadcastSource), 0u);
}

TEST_F(WorkerTest, DropsFramesForOtherHosts) {
  IcmpFrame other_mac = Echo();
  other_mac.eth.dst = MacAddress{{0x02, 0, 0, 0, 0, 0x77}};
  h_.Inject(testutil::BuildFrame(other_mac));
  IcmpFrame other_ip = Echo();
  other_ip.ip.dst = kGateway;
  h_.Inject(testutil::BuildFrame(other_ip));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(Counter::kDropEthNotForUs), 1u);
  EXPECT_EQ(h_.Count(Counter::kDropIpNotForUs), 1u);
}

TEST_F(WorkerTest, CountsTcpWhileNoHandlerIsInstalled) {
  TcpFrame syn;
  syn.eth.dst = h_.mac();
  syn.ip.src = kPeerIp;
  syn.ip.dst = kOurIp;
  h_.Inject(testutil::BuildFrame(syn));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(Counter::kTcpSegmentsIn), 1u);
  EXPECT_EQ(h_.Count(Counter::kDropTcpNoHandler), 1u);
}

TEST_F(WorkerTest, AnswersAFullBurstInOneGo) {
  for (int i = 0; i < 32; ++i) {
    IcmpFrame req = Echo();
    req.icmp.sequence = static_cast<uint16_t>(i);
    h_.Inject(testutil::BuildFrame(req));
  }
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 32u);
  for (int i = 0; i < 32; ++i) {
    const auto* icmp = reinterpret_cast<const wire::IcmpEchoHeader*>(
        out[i].data() + testutil::kL4Offset);
    EXPECT_EQ(icmp->sequence.get(), i) << "replies reordered";
  }
  EXPECT_EQ(h_.Count(Counter::kRxPackets), 32u);
  EXPECT_EQ(h_.Count(Counter::kTxPackets), 32u);
}

// While busy the worker publishes its counters once per
// publish_interval_ns, not after every burst (that cost about 34
// instructions per SYN); the counts are exact again at the first idle
// poll, after the interval, and whenever PublishCounters() is called.
class PublishIntervalTest : public WorkerTest {
 protected:
  static WorkerConfig IntervalConfig() {
    WorkerConfig c = Config();
    c.publish_interval_ns = 1'000'000;
    return c;
  }
  PublishIntervalTest() : WorkerTest(IntervalConfig(), false) {}

  uint64_t EchoAt(uint64_t t) {
    h_.Inject(testutil::BuildFrame(Echo()));
    EXPECT_EQ(h_.Poll(t).size(), 1u);
    return h_.Count(Counter::kIcmpEchoIn);
  }
};

TEST_F(PublishIntervalTest, PublishesBusyPollsOncePerIntervalAndWhenIdle) {
  EXPECT_EQ(EchoAt(now_), 1u);  // the first busy poll publishes
  EXPECT_EQ(EchoAt(now_ + 10'000), 1u);
  EXPECT_EQ(EchoAt(now_ + 20'000), 1u);
  EXPECT_TRUE(h_.Poll(now_ + 30'000).empty());  // idle: published
  EXPECT_EQ(h_.Count(Counter::kIcmpEchoIn), 3u);
  EXPECT_EQ(h_.Count(Counter::kRxPackets), 3u);
  EXPECT_EQ(EchoAt(now_ + 40'000), 3u);
  EXPECT_EQ(EchoAt(now_ + 1'030'000), 5u);  // the interval has passed
  EXPECT_EQ(EchoAt(now_ + 1'040'000), 5u);
  h_.worker().PublishCounters();  // what a reader does after stopping it
  EXPECT_EQ(h_.Count(Counter::kIcmpEchoIn), 6u);
  EXPECT_EQ(h_.Count(Counter::kIcmpEchoOut), 6u);
}

TEST_F(WorkerTest, CountsEveryMalformedFrameOnce) {
  Frame runt = {1, 2, 3};
  h_.Inject(runt);
  IcmpFrame frag = Echo();
  frag.ip.flags_fragment = wire::kIpv4FlagMoreFragments;
  h_.Inject(testutil::BuildFrame(frag));
  IcmpFrame v6 = Echo();
  v6.ip.version = 6;
  h_.Inject(testutil::BuildFrame(v6));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kEthTruncated)), 1u);
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kIpv4Fragment)), 1u);
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kIpv4BadVersion)), 1u);
  EXPECT_EQ(h_.Count(Counter::kRxPackets), 3u);
}

// The parser accepts IPv6 but the engine has no IPv6 address yet: a valid
// IPv6 echo request and SYN sent to our MAC are counted under
// ipv6_disabled, freed, and answered by nothing.
TEST_F(WorkerTest, DropsValidIpv6UnderIpv6Disabled) {
  testutil::Icmp6Frame echo;
  echo.eth.dst = h_.mac();
  echo.eth.src = h_.peer_mac();
  echo.icmp.body = testutil::EchoBody(1, 1);
  h_.Inject(testutil::BuildFrame(echo));
  testutil::Tcp6Frame syn;
  syn.eth.dst = h_.mac();
  syn.eth.src = h_.peer_mac();
  h_.Inject(testutil::BuildFrame(syn));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(WireDropIndex(wire::Verdict::kIpv6Disabled)), 2u);
  EXPECT_EQ(h_.Count(Counter::kTcpSegmentsIn), 0u);
  EXPECT_EQ(h_.Count(Counter::kDropIpNotForUs), 0u);
}

// Next-hop resolution.

bool IsArpRequestFor(const Frame& f, Ipv4Address target) {
  wire::PacketInfo info;
  if (wire::ParseFrame(f.data(), f.size(), {}, &info) != wire::Verdict::kOk ||
      info.kind != wire::PacketKind::kArp) {
    return false;
  }
  const auto* arp = reinterpret_cast<const wire::ArpHeader*>(f.data() + 14);
  const auto* eth = reinterpret_cast<const wire::EthernetHeader*>(f.data());
  return arp->op.get() == wire::kArpOpRequest && arp->TargetIp() == target &&
         eth->Dst().IsBroadcast();
}

TEST_F(WorkerTest, ResolvesOnLinkPeerWithArp) {
  EXPECT_EQ(h_.worker().link().ResolveNextHop(kPeerIp, now_), nullptr);
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(IsArpRequestFor(out[0], kPeerIp));
  // Asking again within the retry interval sends nothing more.
  EXPECT_EQ(h_.worker().link().ResolveNextHop(kPeerIp, now_ + kSecond / 2), nullptr);
  EXPECT_TRUE(h_.Poll(now_ + kSecond / 2).empty());

  ArpFrame reply = ArpRequest(kOurIp);
  reply.eth.dst = h_.mac();
  reply.arp.op = wire::kArpOpReply;
  reply.arp.tha = h_.mac();
  h_.Inject(testutil::BuildFrame(reply));
  EXPECT_TRUE(h_.Poll(now_ + kSecond / 2).empty());
  const MacAddress* mac = h_.worker().link().ResolveNextHop(kPeerIp, now_ + kSecond);
  ASSERT_NE(mac, nullptr);
  EXPECT_EQ(*mac, h_.peer_mac());
  EXPECT_EQ(h_.Count(Counter::kArpRepliesIn), 1u);
  EXPECT_EQ(h_.Count(Counter::kArpRequestsOut), 1u);
}

TEST_F(WorkerTest, HasNoNextHopOffSubnetWithoutGateway) {
  const Ipv4Address far = Ipv4Address::FromOctets(203, 0, 113, 9);
  EXPECT_FALSE(h_.worker().link().NextHop(far).has_value());
  EXPECT_EQ(h_.worker().link().ResolveNextHop(far, now_), nullptr);
  EXPECT_TRUE(h_.Poll(now_).empty());
}

// Admission control in the loop (engine/admission.h): while the RX queue
// stands past the target, the SYNs of new connections are dropped before
// the stack (drop_tcp_admission) and every other segment still reaches it;
// once the queue empties, SYNs are answered again.
class AdmissionWorkerTest : public WorkerTest {
 protected:
  static WorkerConfig WithAdmission() {
    WorkerConfig c = Config();
    c.listen_ports = {80};
    c.burst = 4;  // a full burst is 4 frames
    c.admission.target_ns = kSecond / 1000;
    c.admission.backlog = 0;
    return c;
  }
  AdmissionWorkerTest() : WorkerTest(WithAdmission()) {}

  void Send(uint16_t src_port, uint8_t flags) {
    TcpFrame f;
    f.eth.dst = h_.mac();
    f.eth.src = h_.peer_mac();
    f.ip.src = kPeerIp;
    f.ip.dst = kOurIp;
    f.tcp.src_port = src_port;
    f.tcp.flags = flags;
    f.tcp.ack = flags & wire::tcp_flags::kAck ? 12345 : 0;
    h_.Inject(testutil::BuildFrame(f));
  }
};

TEST_F(AdmissionWorkerTest, DropsNewSynsOnlyWhileBehind) {
  namespace tf = wire::tcp_flags;
  // A full burst (ACKs for no connection: each answered with a RST) starts
  // the standing queue; not behind yet.
  for (uint16_t p = 0; p < 4; ++p) Send(41000 + p, tf::kAck);
  EXPECT_EQ(h_.Poll(now_).size(), 4u);
  // Full bursts 2 ms later: behind, and the backlog (0) is full.
  for (uint16_t p = 4; p < 8; ++p) Send(40000 + p, tf::kSyn);
  EXPECT_TRUE(h_.Poll(now_ + 2 * kSecond / 1000).empty());
  EXPECT_EQ(h_.Count(Counter::kDropTcpAdmission), 4u);
  // An ACK (not a new connection) in a full burst still reaches the stack,
  // which answers it with a RST; the SYNs beside it are dropped.
  Send(41100, tf::kAck);
  for (uint16_t p = 8; p < 11; ++p) Send(40000 + p, tf::kSyn);
  std::vector<Frame> out = h_.Poll(now_ + 3 * kSecond / 1000);
  ASSERT_EQ(out.size(), 1u);
  wire::PacketInfo info;
  ASSERT_EQ(wire::ParseFrame(out[0].data(), static_cast<uint32_t>(out[0].size()),
                             {}, &info),
            wire::Verdict::kOk);
  EXPECT_EQ(info.tcp_flags & tf::kRst, tf::kRst);
  EXPECT_EQ(info.dst_port, 41100);
  EXPECT_EQ(h_.Count(Counter::kDropTcpAdmission), 7u);
  // The queue empties: the next SYN is answered.
  EXPECT_TRUE(h_.Poll(now_ + 4 * kSecond / 1000).empty());
  Send(42000, tf::kSyn);
  out = h_.Poll(now_ + 5 * kSecond / 1000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(h_.Count(Counter::kDropTcpAdmission), 7u);
}

TEST_F(WorkerTest, AdmissionIsOffByDefault) {
  // Config() sets no admission: a listening worker answers every SYN,
  // however long its queue stands.
  WorkerConfig c = Config();
  c.listen_ports = {80};
  c.burst = 1;
  testutil::RingHarness h(c);
  for (int i = 0; i < 3; ++i) {
    TcpFrame f;
    f.eth.dst = h.mac();
    f.eth.src = h.peer_mac();
    f.ip.src = kPeerIp;
    f.ip.dst = kOurIp;
    f.tcp.src_port = static_cast<uint16_t>(40000 + i);
    h.Inject(testutil::BuildFrame(f));
  }
  for (int i = 0; i < 3; ++i) {
    // Full bursts (of 1) 2 ms apart: past any target.
    EXPECT_EQ(h.Poll(now_ + i * 2 * kSecond / 1000).size(), 1u);
  }
  EXPECT_EQ(h.Count(Counter::kDropTcpAdmission), 0u);
  h.Poll(now_ + 4 * kSecond);
  EXPECT_TRUE(h.AllMbufsReturned());
}

class GatewayTest : public WorkerTest {
 protected:
  static WorkerConfig WithGateway() {
    WorkerConfig c = Config();
    c.gateway = kGateway;
    c.neighbor_reachable_ns = 60 * kSecond;
    return c;
  }
  GatewayTest() : WorkerTest(WithGateway()) {}

  void AnswerAsGateway(uint64_t now) {
    ArpFrame reply;
    reply.eth.dst = h_.mac();
    reply.eth.src = kGatewayMac;
    reply.arp.op = wire::kArpOpReply;
    reply.arp.sha = kGatewayMac;
    reply.arp.spa = kGateway;
    reply.arp.tha = h_.mac();
    reply.arp.tpa = kOurIp;
    h_.Inject(testutil::BuildFrame(reply));
    h_.Poll(now);
  }

  const MacAddress kGatewayMac{{0x02, 0, 0, 0, 0, 0xfe}};
};

TEST_F(GatewayTest, ResolvesGatewayAtStartAndRetriesUntilAnswered) {
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(IsArpRequestFor(out[0], kGateway));
  EXPECT_TRUE(h_.Poll(now_ + kSecond / 2).empty()) << "retried too soon";
  out = h_.Poll(now_ + kSecond + kSecond / 10);
  ASSERT_EQ(out.size(), 1u) << "no retry after the retry interval";
  EXPECT_TRUE(IsArpRequestFor(out[0], kGateway));

  AnswerAsGateway(now_ + 2 * kSecond);
  // Off-subnet destinations now go to the gateway's MAC.
  const Ipv4Address far = Ipv4Address::FromOctets(203, 0, 113, 9);
  const MacAddress* mac = h_.worker().link().ResolveNextHop(far, now_ + 3 * kSecond);
  ASSERT_NE(mac, nullptr);
  EXPECT_EQ(*mac, kGatewayMac);
  EXPECT_TRUE(h_.Poll(now_ + 10 * kSecond).empty()) << "refreshed too early";
}

TEST_F(GatewayTest, RefreshesGatewayBeforeItExpires) {
  h_.Poll(now_);
  AnswerAsGateway(now_);
  // In the last quarter of the reachable time a refresh request goes out
  // while the entry is still in use.
  std::vector<Frame> out = h_.Poll(now_ + 50 * kSecond);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(IsArpRequestFor(out[0], kGateway));
  EXPECT_NE(h_.worker().link().neighbors().Lookup(kGateway, now_ + 50 * kSecond),
            nullptr);
  // Unanswered, the entry expires after the reachable time.
  EXPECT_EQ(h_.worker().link().neighbors().Lookup(kGateway, now_ + 61 * kSecond),
            nullptr);
}

}  // namespace
}  // namespace synwave::engine
