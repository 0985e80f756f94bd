// Applications on a worker (engine/app.h): addresses an application claims
// and the raw TCP frames it is handed, the application list's rules, and
// the SYN flood (app::Flood) end to end on an in-memory port: it resolves
// its target, sends spoofed SYNs through the worker's Link, and counts what
// comes back to its sources. Virtual clock; no NIC, no kernel.
#include <rte_mbuf.h>

#include <vector>

#include "app/counters.h"
#include "app/flood.h"
#include "engine/link.h"
#include "engine/worker.h"
#include "testing/frame_builder.h"
#include "gtest/gtest.h"
#include "ring_harness.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::engine {
namespace {

namespace tf = wire::tcp_flags;
using testutil::ArpFrame;
using testutil::Frame;
using testutil::RingHarness;
using testutil::TcpFrame;
using wire::Ipv4Address;
using wire::MacAddress;

constexpr uint64_t kSecond = 1'000'000'000;
const Ipv4Address kOurIp = Ipv4Address::FromOctets(198, 18, 0, 2);
const Ipv4Address kPeerIp = Ipv4Address::FromOctets(198, 18, 0, 1);
// The claimed range (a flood's spoofed sources): 198.18.128.0/24.
const Ipv4Address kClaimFirst = Ipv4Address::FromOctets(198, 18, 128, 0);
const Ipv4Address kClaimLast = Ipv4Address::FromOctets(198, 18, 128, 255);
const Ipv4Address kClaimed = Ipv4Address::FromOctets(198, 18, 128, 7);

WorkerConfig Config() {
  WorkerConfig c;
  c.ip = wire::Ipv4Prefix{kOurIp, 16};
  c.listen_ports = {80};
  return c;
}

// An application that keeps what it is handed: the frames' headers, and
// how often each hook ran. It frees every frame (it owns them).
struct Recorder {
  std::vector<wire::PacketInfo> frames;
  int polls = 0;
  int publishes = 0;

  static void OnFrames(void* ctx, Link& link, rte_mbuf* const* pkts,
                       const wire::PacketInfo* infos, uint16_t n, uint64_t) {
    auto* r = static_cast<Recorder*>(ctx);
    for (uint16_t i = 0; i < n; ++i) {
      r->frames.push_back(infos[i]);
      link.Free(pkts[i]);
    }
  }
  static void OnPoll(void* ctx, Link&, tcp::TcpStack*, uint64_t) {
    ++static_cast<Recorder*>(ctx)->polls;
  }
  static void OnPublish(void* ctx, CoreCounters&) {
    ++static_cast<Recorder*>(ctx)->publishes;
  }
  AppOps ops() {
    AppOps o;
    o.ctx = this;
    o.on_frames = &OnFrames;
    o.on_poll = &OnPoll;
    o.on_publish = &OnPublish;
    return o;
  }
};

class AppTest : public testing::Test {
 protected:
  AppTest() : h_(Config()) {}

  void TearDown() override {
    h_.Poll(now_);  // nothing left in flight
    EXPECT_TRUE(h_.AllMbufsReturned()) << "an mbuf leaked";
  }

  TcpFrame Segment(Ipv4Address dst, uint8_t flags) {
    TcpFrame f;
    f.eth.dst = h_.mac();
    f.eth.src = h_.peer_mac();
    f.ip.src = kPeerIp;
    f.ip.dst = dst;
    f.tcp.src_port = 80;
    f.tcp.dst_port = 40000;
    f.tcp.flags = flags;
    f.tcp.ack = flags & tf::kAck ? 1 : 0;
    return f;
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

  // Declared before the harness so that it outlives the worker, whose last
  // poll (TearDown) may still call it.
  Recorder r;
  RingHarness h_;
  uint64_t now_ = kSecond;
};

TEST_F(AppTest, ClaimedAddressesSendTheirTcpToTheApplication) {
  const int slot = h_.worker().AddApp(r.ops());
  ASSERT_GE(slot, 0);
  ASSERT_TRUE(
      h_.worker().ClaimAddresses(kClaimFirst.value, kClaimLast.value, slot));

  h_.Inject(testutil::BuildFrame(Segment(kClaimed, tf::kSyn | tf::kAck)));
  h_.Inject(testutil::BuildFrame(Segment(kClaimed, tf::kRst)));
  EXPECT_TRUE(h_.Poll(now_).empty()) << "the stack answered a claimed address";
  ASSERT_EQ(r.frames.size(), 2u);
  EXPECT_EQ(r.frames[0].dst_ip, kClaimed);
  EXPECT_EQ(r.frames[0].tcp_flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(r.frames[1].tcp_flags, tf::kRst);
  EXPECT_EQ(r.polls, 1);
  EXPECT_GE(r.publishes, 1);
  EXPECT_EQ(h_.Count(Counter::kTcpSegmentsIn), 2u);
  EXPECT_EQ(h_.Count(Counter::kDropTcpNoHandler), 0u);
  EXPECT_EQ(h_.Count(Counter::kDropIpNotForUs), 0u);
  EXPECT_EQ(h_.worker().stack()->counters().mib[static_cast<size_t>(
                tcp::Mib::kInSegs)],
            0u);
}

TEST_F(AppTest, TheStackKeepsTheAddressesNobodyClaimed) {
  const int slot = h_.worker().AddApp(r.ops());
  ASSERT_TRUE(
      h_.worker().ClaimAddresses(kClaimFirst.value, kClaimLast.value, slot));
  TcpFrame syn = Segment(kOurIp, tf::kSyn);
  syn.tcp.src_port = 40000;
  syn.tcp.dst_port = 80;  // the listener
  h_.Inject(testutil::BuildFrame(syn));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);  // the SYN-ACK from the stack
  wire::PacketInfo info;
  ASSERT_EQ(wire::ParseFrame(out[0].data(), out[0].size(), {}, &info),
            wire::Verdict::kOk);
  EXPECT_EQ(info.tcp_flags, tf::kSyn | tf::kAck);
  EXPECT_TRUE(r.frames.empty());
  // Not ours at all: dropped as before.
  h_.Inject(testutil::BuildFrame(
      Segment(Ipv4Address::FromOctets(198, 19, 0, 9), tf::kSyn)));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(h_.Count(Counter::kDropIpNotForUs), 1u);
}

TEST_F(AppTest, ClaimedAddressesAreAnsweredToArp) {
  const int slot = h_.worker().AddApp(r.ops());
  ASSERT_TRUE(
      h_.worker().ClaimAddresses(kClaimFirst.value, kClaimLast.value, slot));
  h_.Inject(testutil::BuildFrame(ArpRequest(kClaimed)));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  const auto* arp =
      reinterpret_cast<const wire::ArpHeader*>(out[0].data() + 14);
  EXPECT_EQ(arp->op.get(), wire::kArpOpReply);
  EXPECT_EQ(arp->SenderIp(), kClaimed);
  EXPECT_EQ(MacAddress::FromBytes(arp->sha), h_.mac());
}

TEST_F(AppTest, TheApplicationListHasRules) {
  AppOps stack_user;
  stack_user.ctx = &r;
  stack_user.on_event = [](void*, tcp::TcpStack&, const tcp::AppEvent&,
                           uint64_t) {};
  EXPECT_EQ(h_.worker().AddApp(stack_user), 0);
  EXPECT_EQ(h_.worker().AddApp(stack_user), -1)
      << "two applications took the stack's events";
  // An application without on_frames cannot own addresses.
  EXPECT_FALSE(
      h_.worker().ClaimAddresses(kClaimFirst.value, kClaimLast.value, 0));
  EXPECT_FALSE(
      h_.worker().ClaimAddresses(kClaimFirst.value, kClaimLast.value, 5));
  for (int i = 1; i < Worker::kMaxApps; ++i) {
    EXPECT_EQ(h_.worker().AddApp(r.ops()), i);
  }
  EXPECT_EQ(h_.worker().AddApp(r.ops()), -1);
}

// The flood on a worker, as `synwave load --flood` wires it.
class FloodTest : public AppTest {
 protected:
  void SetUp() override {
    app::FloodConfig f;
    f.target_ip = kPeerIp.value;
    f.target_port = 80;
    f.src_first = kClaimFirst.value;
    f.src_last = kClaimLast.value;
    f.burst = 8;
    flood_ = std::make_unique<app::Flood>(f);
    const int slot = h_.worker().AddApp(flood_->ops());
    ASSERT_GE(slot, 0);
    ASSERT_TRUE(h_.worker().ClaimAddresses(f.src_first, f.src_last, slot));
  }

  void AnswerArp(uint64_t now) {
    ArpFrame reply = ArpRequest(kOurIp);
    reply.eth.dst = h_.mac();
    reply.arp.op = wire::kArpOpReply;
    reply.arp.tha = h_.mac();
    h_.Inject(testutil::BuildFrame(reply));
    h_.Poll(now);
  }

  uint64_t FloodCount(app::FloodCounter c) {
    h_.worker().PublishCounters();
    return h_.Count(app::CounterIndex(c));
  }

  std::unique_ptr<app::Flood> flood_;
};

TEST_F(FloodTest, SendsNothingUntilScheduled) {
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(FloodCount(app::FloodCounter::kSynsOut), 0u);
}

TEST_F(FloodTest, ResolvesItsTargetThenSendsSpoofedSyns) {
  flood_->SetSchedule(now_, now_ + 10 * kSecond);
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u) << "an ARP request for the target first";
  AnswerArp(now_);
  out = h_.Poll(now_ + 1000);
  ASSERT_EQ(out.size(), 8u);
  for (const Frame& f : out) {
    wire::PacketInfo info;
    ASSERT_EQ(wire::ParseFrame(f.data(), f.size(), {}, &info),
              wire::Verdict::kOk);
    EXPECT_EQ(info.tcp_flags, tf::kSyn);
    EXPECT_EQ(info.dst_ip, kPeerIp);
    EXPECT_EQ(info.dst_port, 80);
    EXPECT_GE(info.src_ip.value, kClaimFirst.value);
    EXPECT_LE(info.src_ip.value, kClaimLast.value);
    EXPECT_TRUE(info.options.has_mss);
    const auto* eth = reinterpret_cast<const wire::EthernetHeader*>(f.data());
    EXPECT_EQ(eth->Dst(), h_.peer_mac());
  }
  // The first burst went out with the one that resolved the target.
  EXPECT_EQ(FloodCount(app::FloodCounter::kSynsOut), 16u);
  // After the schedule: nothing.
  EXPECT_TRUE(h_.Poll(now_ + 11 * kSecond).empty());
}

TEST_F(FloodTest, CountsWhatComesBackToItsSources) {
  h_.Inject(testutil::BuildFrame(Segment(kClaimed, tf::kSyn | tf::kAck)));
  h_.Inject(testutil::BuildFrame(Segment(kClaimed, tf::kSyn | tf::kAck)));
  h_.Inject(testutil::BuildFrame(Segment(kClaimed, tf::kRst)));
  h_.Inject(testutil::BuildFrame(Segment(kClaimed, tf::kAck)));
  EXPECT_TRUE(h_.Poll(now_).empty());
  EXPECT_EQ(FloodCount(app::FloodCounter::kSynAcksIn), 2u);
  EXPECT_EQ(FloodCount(app::FloodCounter::kRstsIn), 1u);
  EXPECT_EQ(FloodCount(app::FloodCounter::kOtherIn), 1u);
  EXPECT_EQ(h_.Count(Counter::kTcpSegmentsIn), 4u);
}

TEST_F(FloodTest, PacesToItsRate) {
  app::FloodConfig f = flood_->config();
  f.pps = 1000;  // one SYN per millisecond
  app::Flood paced(f);
  RingHarness h(Config());
  const int slot = h.worker().AddApp(paced.ops());
  ASSERT_TRUE(h.worker().ClaimAddresses(f.src_first, f.src_last, slot));
  paced.SetSchedule(now_, ~uint64_t{0});
  h.Poll(now_);
  ArpFrame reply = ArpRequest(kOurIp);
  reply.eth.dst = h.mac();
  reply.eth.src = h.peer_mac();
  reply.arp.sha = h.peer_mac();
  reply.arp.op = wire::kArpOpReply;
  reply.arp.tha = h.mac();
  h.Inject(testutil::BuildFrame(reply));
  size_t sent = h.Poll(now_).size();
  for (uint64_t ms = 1; ms <= 5; ++ms) {
    sent += h.Poll(now_ + ms * 1'000'000).size();
  }
  EXPECT_EQ(sent, 6u);  // one at the start, then one per millisecond
  EXPECT_EQ(paced.count(app::FloodCounter::kSynsOut), 6u);
  h.Poll(now_ + 6'000'000);
  h.Poll(now_ + 6'000'000);
  EXPECT_TRUE(h.AllMbufsReturned());
}

}  // namespace
}  // namespace synwave::engine
