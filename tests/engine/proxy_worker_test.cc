// app::Proxy on a worker (one-armed, one net_ring port, virtual clock):
// the glue between the engine and ProxyCore. What it must do: the VIP and
// the backend-side address answer ARP, the clients' addresses do not (the
// TCP-only claim) though their TCP from the backend reaches the proxy; a
// connection goes through (cookie SYN-ACK in the SYN's own mbuf, backend
// SYN from the client's address, the backend's SYN-ACK acknowledged and
// the window update sent, data forwarded with translated numbers and
// checksums that still verify); with two workers, a frame that arrives on
// the worker that does not own its flow is handed over and handled by the
// owner; every mbuf comes back.
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <vector>

#include "app/counters.h"
#include "app/proxy.h"
#include "engine/worker.h"
#include "gtest/gtest.h"
#include "ring_harness.h"
#include "testing/frame_builder.h"
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
const Ipv4Address kVip = Ipv4Address::FromOctets(198, 18, 0, 2);
const Ipv4Address kBackendSide = Ipv4Address::FromOctets(198, 18, 0, 3);
const Ipv4Address kBackend = Ipv4Address::FromOctets(198, 18, 0, 9);
const Ipv4Address kClient = Ipv4Address::FromOctets(203, 0, 113, 7);

app::ProxyConfig ProxyConfigFor(const MacAddress& mac, int worker) {
  app::ProxyConfig c;
  c.vip = kVip.value;
  c.backend_side_ip = kBackendSide.value;
  c.client_side_mac = mac;
  c.backend_side_mac = mac;
  c.listen_ports = {80};
  c.backends = {{kBackend.value, 8080}};
  c.max_flows = 256;
  c.secret = {11, 22};
  c.probe_interval_ns = 0;
  c.probe_port = static_cast<uint16_t>(app::ProxyCore::kProbePortBase +
                                       app::ProxyCore::kProbePortsPerWorker *
                                           worker);
  return c;
}

WorkerConfig Config() {
  WorkerConfig c;
  c.ip = wire::Ipv4Prefix{kVip, 16};
  return c;  // no listen port: no TCP stack
}

wire::PacketInfo Parse(const Frame& f) {
  wire::PacketInfo info;
  EXPECT_EQ(wire::ParseFrame(f.data(), f.size(), {}, &info), wire::Verdict::kOk)
      << "a frame out has a bad header or checksum";
  return info;
}

class ProxyWorkerTest : public testing::Test {
 protected:
  ProxyWorkerTest() : h_(Config()), proxy_(ProxyConfigFor(h_.mac())) {
    app::RegisterCounters();
    const int slot = h_.worker().AddApp(proxy_.ops(/*primary=*/true));
    EXPECT_GE(slot, 0);
    EXPECT_TRUE(h_.worker().ClaimAddresses(kVip.value, kVip.value, slot));
    EXPECT_TRUE(h_.worker().ClaimAddresses(kBackendSide.value,
                                           kBackendSide.value, slot));
    EXPECT_TRUE(h_.worker().ClaimAddresses(0, 0xffffffff, slot,
                                           /*answer_arp=*/false));
    proxy_.SetLinks(&h_.worker().link(), &h_.worker().link());
  }

  void TearDown() override {
    h_.Poll(now_);
    EXPECT_TRUE(h_.AllMbufsReturned()) << "an mbuf leaked";
  }

  static app::ProxyConfig ProxyConfigFor(const MacAddress& mac) {
    return engine::ProxyConfigFor(mac, 0);
  }

  // An ARP request from `sender` (on the peer's MAC) for `target`.
  Frame ArpFrom(Ipv4Address sender, Ipv4Address target) {
    ArpFrame f;
    f.eth.dst = MacAddress::Broadcast();
    f.eth.src = h_.peer_mac();
    f.arp.sha = h_.peer_mac();
    f.arp.spa = sender;
    f.arp.tpa = target;
    return testutil::BuildFrame(f);
  }

  TcpFrame Tcp(Ipv4Address src, uint16_t sport, Ipv4Address dst,
               uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags) {
    TcpFrame t;
    t.eth.dst = h_.mac();
    t.eth.src = h_.peer_mac();
    t.ip.src = src;
    t.ip.dst = dst;
    t.tcp.src_port = sport;
    t.tcp.dst_port = dport;
    t.tcp.seq = seq;
    t.tcp.ack = ack;
    t.tcp.flags = flags;
    return t;
  }

  RingHarness h_;
  app::Proxy proxy_;
  uint64_t now_ = kSecond;
};

TEST_F(ProxyWorkerTest, ArpForOursOnlyNotForTheClients) {
  h_.Inject(ArpFrom(kBackend, kVip));
  h_.Inject(ArpFrom(kBackend, kBackendSide));
  h_.Inject(ArpFrom(kBackend, kClient));  // the TCP-only claim
  const std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(h_.Count(Counter::kArpRepliesOut), 2u);
  EXPECT_EQ(h_.Count(Counter::kDropArpNotForUs), 1u);
}

TEST_F(ProxyWorkerTest, AConnectionGoesThrough) {
  // The backend is known (its ARP request taught us its MAC).
  h_.Inject(ArpFrom(kBackend, kBackendSide));
  h_.Poll(now_);
  now_ += 2'000'000;
  h_.Poll(now_);  // the proxy picks the MAC up

  const uint32_t ic = 5000, ib = 900000;
  h_.Inject(testutil::BuildFrame(Tcp(kClient, 40000, kVip, 80, ic, 0, tf::kSyn)));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  wire::PacketInfo sa = Parse(out[0]);
  EXPECT_EQ(sa.tcp_flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(sa.window, 0);
  EXPECT_EQ(sa.dst_ip, kClient);
  const uint32_t ip = sa.seq.value();

  h_.Inject(testutil::BuildFrame(
      Tcp(kClient, 40000, kVip, 80, ic + 1, ip + 1, tf::kAck)));
  out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  wire::PacketInfo syn = Parse(out[0]);
  EXPECT_EQ(syn.tcp_flags, tf::kSyn);
  EXPECT_EQ(syn.src_ip, kClient);
  EXPECT_EQ(syn.dst_ip, kBackend);
  EXPECT_EQ(syn.dst_port, 8080);
  EXPECT_EQ(syn.seq.value(), ic);

  h_.Inject(testutil::BuildFrame(Tcp(kBackend, 8080, kClient, 40000, ib,
                                     ic + 1, tf::kSyn | tf::kAck)));
  out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 2u);
  // The window update leaves first (sent while the SYN-ACK is handled),
  // then the ACK written over the SYN-ACK.
  wire::PacketInfo wu = Parse(out[0]);
  wire::PacketInfo ack = Parse(out[1]);
  EXPECT_EQ(ack.dst_ip, kBackend);
  EXPECT_EQ(ack.ack.value(), ib + 1);
  EXPECT_EQ(wu.dst_ip, kClient);
  EXPECT_EQ(wu.seq.value(), ip + 1);
  EXPECT_GT(wu.window, 0);

  TcpFrame data = Tcp(kClient, 40000, kVip, 80, ic + 1, ip + 1, tf::kAck | tf::kPsh);
  data.tcp.payload = {'G', 'E', 'T', ' ', '/'};
  h_.Inject(testutil::BuildFrame(data));
  TcpFrame reply = Tcp(kBackend, 8080, kClient, 40000, ib + 1, ic + 6, tf::kAck | tf::kPsh);
  reply.tcp.payload = {'2', '0', '0'};
  h_.Inject(testutil::BuildFrame(reply));
  out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 2u);
  wire::PacketInfo fwd = Parse(out[0]);
  wire::PacketInfo back = Parse(out[1]);
  EXPECT_EQ(fwd.dst_ip, kBackend);
  EXPECT_EQ(fwd.ack.value(), ib + 1);
  EXPECT_EQ(fwd.payload_length, 5);
  EXPECT_EQ(back.src_ip, kVip);
  EXPECT_EQ(back.src_port, 80);
  EXPECT_EQ(back.seq.value(), ip + 1);
  EXPECT_EQ(MacAddress::FromBytes(out[1].data()), h_.peer_mac());
  EXPECT_EQ(proxy_.core().count(app::ProxyCounter::kEstablished), 1u);
  EXPECT_EQ(proxy_.core().count(app::ProxyCounter::kToBackend), 1u);
  EXPECT_EQ(proxy_.core().count(app::ProxyCounter::kToClient), 1u);
  // The counters reach the worker's set.
  h_.worker().PublishCounters();
  EXPECT_EQ(h_.Count(app::CounterIndex(app::ProxyCounter::kEstablished)), 1u);
}

// Two workers, each with its port and its proxy, joined by hand-off rings:
// the backend's SYN-ACK arrives on the worker that does not own the flow,
// goes through the ring, and the owner answers it on its own port.
TEST(ProxyHandoffTest, AFrameOnTheWrongWorkerReachesItsOwner) {
  app::RegisterCounters();
  RingHarness ha(Config()), hb(Config());
  app::ProxyConfig ca = ProxyConfigFor(ha.mac(), 0);
  app::ProxyConfig cb = ProxyConfigFor(hb.mac(), 1);
  app::Proxy pa(ca), pb(cb);
  for (auto [h, p] : {std::pair{&ha, &pa}, std::pair{&hb, &pb}}) {
    const int slot = h->worker().AddApp(p->ops(true));
    ASSERT_GE(slot, 0);
    ASSERT_TRUE(h->worker().ClaimAddresses(kVip.value, kVip.value, slot));
    ASSERT_TRUE(h->worker().ClaimAddresses(0, 0xffffffff, slot, false));
    p->SetLinks(&h->worker().link(), &h->worker().link());
  }
  rte_ring* ab = rte_ring_create("pxt_ab", 64, rte_socket_id(),
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* ba = rte_ring_create("pxt_ba", 64, rte_socket_id(),
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_NE(ab, nullptr);
  ASSERT_NE(ba, nullptr);
  pa.SetHandoff(0, {nullptr, ab}, {nullptr, ba});
  pb.SetHandoff(1, {ba, nullptr}, {ab, nullptr});
  // A client port whose flow worker 0 (a) owns.
  uint16_t cport = 40000;
  while (app::ProxyCore::ClientOwner(kClient.value, cport, 2) != 0) ++cport;
  uint64_t now = kSecond;
  auto tcp = [&](RingHarness& h, Ipv4Address src, uint16_t sport,
                 Ipv4Address dst, uint16_t dport, uint32_t seq, uint32_t ack,
                 uint8_t flags) {
    TcpFrame t;
    t.eth.dst = h.mac();
    t.eth.src = h.peer_mac();
    t.ip.src = src;
    t.ip.dst = dst;
    t.tcp.src_port = sport;
    t.tcp.dst_port = dport;
    t.tcp.seq = seq;
    t.tcp.ack = ack;
    t.tcp.flags = flags;
    h.Inject(testutil::BuildFrame(t));
  };
  {
    ArpFrame f;
    f.eth.dst = MacAddress::Broadcast();
    f.eth.src = ha.peer_mac();
    f.arp.sha = ha.peer_mac();
    f.arp.spa = kBackend;
    f.arp.tpa = kVip;
    ha.Inject(testutil::BuildFrame(f));
  }
  ha.Poll(now);
  now += 2'000'000;
  ha.Poll(now);
  tcp(ha, kClient, cport, kVip, 80, 100, 0, tf::kSyn);
  std::vector<Frame> out = ha.Poll(now);
  ASSERT_EQ(out.size(), 1u);
  const uint32_t ip = Parse(out[0]).seq.value();
  tcp(ha, kClient, cport, kVip, 80, 101, ip + 1, tf::kAck);
  out = ha.Poll(now);
  ASSERT_EQ(out.size(), 1u);  // the backend SYN
  // The backend's answer arrives on worker 1 (b).
  tcp(hb, kBackend, 8080, kClient, cport, 777, 101, tf::kSyn | tf::kAck);
  for (const Frame& f : hb.Poll(now)) {  // b may ask ARP for the backend
    EXPECT_EQ(wire::LoadBe16(f.data() + 12), wire::kEtherTypeArp)
        << "worker b answered a frame of a's flow";
  }
  EXPECT_EQ(pb.core().count(app::ProxyCounter::kHandoffOut), 1u);
  out = ha.Poll(now);
  ASSERT_EQ(out.size(), 2u);  // the window update and the ACK, from a
  EXPECT_EQ(Parse(out[1]).ack.value(), 778u);
  EXPECT_EQ(pa.core().count(app::ProxyCounter::kHandoffIn), 1u);
  EXPECT_EQ(pa.core().count(app::ProxyCounter::kEstablished), 1u);
  ha.Poll(now);
  hb.Poll(now);
  EXPECT_TRUE(ha.AllMbufsReturned());
  EXPECT_TRUE(hb.AllMbufsReturned());
}

}  // namespace
}  // namespace synwave::engine
