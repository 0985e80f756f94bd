// app::Proxy on a worker (one-armed, one net_ring port, virtual clock):
// the glue between the engine and ProxyCore, over IPv4 and over IPv6 (the
// same tests, parameterized by the family of the VIP and the backends).
// What it must do: the VIP and the backend-side address answer ARP (IPv6:
// Neighbor Solicitations), the clients' addresses do not (the TCP-only
// claim) though their TCP from the backend reaches the proxy; a
// connection goes through (cookie SYN-ACK in the SYN's own mbuf, backend
// SYN from the client's address, the backend's SYN-ACK acknowledged and
// the window update sent, data forwarded with translated numbers and
// checksums that still verify, FINs and a RST followed both ways and the
// record freed after the linger); with two workers, a frame that arrives
// on the worker that does not own its flow is handed over and handled by
// the owner; every mbuf comes back.
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <vector>

#include "app/counters.h"
#include "app/proxy.h"
#include "engine/nd.h"
#include "engine/worker.h"
#include "gtest/gtest.h"
#include "ring_harness.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/icmp6.h"
#include "wire/parse.h"

namespace synwave::engine {
namespace {

namespace tf = wire::tcp_flags;
using testutil::ArpFrame;
using testutil::Frame;
using testutil::RingHarness;
using testutil::TcpFrame;
using wire::IpFamily;
using wire::Ipv4Address;
using wire::Ipv6Address;
using wire::MacAddress;

constexpr uint64_t kSecond = 1'000'000'000;
const Ipv4Address kVip = Ipv4Address::FromOctets(198, 18, 0, 2);
const Ipv4Address kBackendSide = Ipv4Address::FromOctets(198, 18, 0, 3);
const Ipv4Address kBackend = Ipv4Address::FromOctets(198, 18, 0, 9);
const Ipv4Address kClient = Ipv4Address::FromOctets(203, 0, 113, 7);
const Ipv6Address kVip6 = *Ipv6Address::Parse("fd00::2");
const Ipv6Address kBackendSide6 = *Ipv6Address::Parse("fd00::3");
const Ipv6Address kBackend6 = *Ipv6Address::Parse("fd00::9");
const Ipv6Address kClient6 = *Ipv6Address::Parse("2001:db8::7");

app::ProxyConfig ProxyConfigFor(const MacAddress& mac, int worker,
                                bool v6 = false) {
  app::ProxyConfig c;
  if (v6) {
    c.ipv6 = true;
    c.vip6 = kVip6;
    c.backend_side_ip6 = kBackendSide6;
    c.backends = {{0, 8080, kBackend6}};
  } else {
    c.vip = kVip.value;
    c.backend_side_ip = kBackendSide.value;
    c.backends = {{kBackend.value, 8080}};
  }
  c.client_side_mac = mac;
  c.backend_side_mac = mac;
  c.listen_ports = {80};
  c.max_flows = 256;
  c.secret = {11, 22};
  c.probe_interval_ns = 0;
  c.probe_port = static_cast<uint16_t>(app::ProxyCore::kProbePortBase +
                                       app::ProxyCore::kProbePortsPerWorker *
                                           worker);
  return c;
}

WorkerConfig Config(bool v6 = false) {
  WorkerConfig c;
  c.ip = wire::Ipv4Prefix{kVip, 16};
  if (v6) c.ip6 = wire::Ipv6Prefix{kVip6, 64};
  return c;  // no listen port: no TCP stack
}

wire::PacketInfo Parse(const Frame& f) {
  wire::PacketInfo info;
  EXPECT_EQ(wire::ParseFrame(f.data(), f.size(), {}, &info), wire::Verdict::kOk)
      << "a frame out has a bad header or checksum";
  return info;
}

// The hosts of a test, whatever the family.
enum class Host { kClient, kVip, kBackendSide, kBackend, kOther };

// A frame the worker sent: its parse, and its addresses as hosts.
struct Out {
  wire::PacketInfo info;
  Host src = Host::kOther;
  Host dst = Host::kOther;
  MacAddress eth_dst;
};

class ProxyWorkerTest : public testing::TestWithParam<IpFamily> {
 protected:
  ProxyWorkerTest()
      : h_(Config(v6())), proxy_(ProxyConfigFor(h_.mac(), 0, v6())) {
    app::RegisterCounters();
    const int slot = h_.worker().AddApp(proxy_.ops(/*primary=*/true));
    EXPECT_GE(slot, 0);
    if (v6()) {
      Ipv6Address all;
      all.bytes.fill(0xff);
      EXPECT_TRUE(h_.worker().ClaimAddresses6(kVip6, kVip6, slot));
      EXPECT_TRUE(
          h_.worker().ClaimAddresses6(kBackendSide6, kBackendSide6, slot));
      EXPECT_TRUE(h_.worker().ClaimAddresses6(Ipv6Address{}, all, slot,
                                              /*answer_nd=*/false));
      proxy_.SetNeighborDiscovery(h_.worker().nd());
    } else {
      EXPECT_TRUE(h_.worker().ClaimAddresses(kVip.value, kVip.value, slot));
      EXPECT_TRUE(h_.worker().ClaimAddresses(kBackendSide.value,
                                             kBackendSide.value, slot));
      EXPECT_TRUE(h_.worker().ClaimAddresses(0, 0xffffffff, slot,
                                             /*answer_arp=*/false));
    }
    proxy_.SetLinks(&h_.worker().link(), &h_.worker().link());
  }

  void TearDown() override {
    h_.Poll(now_);
    EXPECT_TRUE(h_.AllMbufsReturned()) << "an mbuf leaked";
  }

  bool v6() const { return GetParam() == IpFamily::kIpv6; }

  Ipv4Address Addr4(Host h) const {
    switch (h) {
      case Host::kClient: return kClient;
      case Host::kVip: return kVip;
      case Host::kBackendSide: return kBackendSide;
      case Host::kBackend: return kBackend;
      case Host::kOther: break;
    }
    return Ipv4Address{};
  }
  Ipv6Address Addr6(Host h) const {
    switch (h) {
      case Host::kClient: return kClient6;
      case Host::kVip: return kVip6;
      case Host::kBackendSide: return kBackendSide6;
      case Host::kBackend: return kBackend6;
      case Host::kOther: break;
    }
    return Ipv6Address{};
  }
  Host Which(const Ipv6Address& a) const {
    for (Host h : {Host::kClient, Host::kVip, Host::kBackendSide,
                   Host::kBackend}) {
      if (Addr6(h) == a) return h;
    }
    return Host::kOther;
  }
  Host Which(Ipv4Address a) const {
    for (Host h : {Host::kClient, Host::kVip, Host::kBackendSide,
                   Host::kBackend}) {
      if (Addr4(h) == a) return h;
    }
    return Host::kOther;
  }

  // `asker` (on the peer's MAC) asks for `target`'s MAC: an ARP request,
  // or a Neighbor Solicitation with its link-layer address (which teaches
  // the worker the asker's MAC, as the ARP request does).
  Frame Ask(Host asker, Host target) {
    if (v6()) {
      testutil::Icmp6Frame f;
      f.ip.src = Addr6(asker);
      f.ip.dst = Addr6(target).SolicitedNode();
      f.ip.hop_limit = 255;
      f.eth.dst = f.ip.dst.MulticastMac();
      f.eth.src = h_.peer_mac();
      f.icmp.type = wire::kIcmpv6NeighborSolicitation;
      f.icmp.body = testutil::NdBody(Addr6(target), 0, h_.peer_mac());
      return testutil::BuildFrame(f);
    }
    ArpFrame f;
    f.eth.dst = MacAddress::Broadcast();
    f.eth.src = h_.peer_mac();
    f.arp.sha = h_.peer_mac();
    f.arp.spa = Addr4(asker);
    f.arp.tpa = Addr4(target);
    return testutil::BuildFrame(f);
  }

  Frame Tcp(Host src, uint16_t sport, Host dst, uint16_t dport, uint32_t seq,
            uint32_t ack, uint8_t flags, std::vector<uint8_t> payload = {}) {
    testutil::TcpFields t;
    t.src_port = sport;
    t.dst_port = dport;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.payload = std::move(payload);
    if (v6()) {
      testutil::Tcp6Frame f;
      f.eth.dst = h_.mac();
      f.eth.src = h_.peer_mac();
      f.ip.src = Addr6(src);
      f.ip.dst = Addr6(dst);
      f.tcp = t;
      return testutil::BuildFrame(f);
    }
    TcpFrame f;
    f.eth.dst = h_.mac();
    f.eth.src = h_.peer_mac();
    f.ip.src = Addr4(src);
    f.ip.dst = Addr4(dst);
    f.tcp = t;
    return testutil::BuildFrame(f);
  }

  Out Sent(const Frame& f) {
    Out o;
    o.info = Parse(f);
    o.eth_dst = MacAddress::FromBytes(f.data());
    EXPECT_EQ(o.info.family, GetParam()) << "a frame out of the family";
    if (o.info.family == IpFamily::kIpv6) {
      o.src = Which(wire::Ipv6Src(f.data(), o.info));
      o.dst = Which(wire::Ipv6Dst(f.data(), o.info));
    } else {
      o.src = Which(o.info.src_ip);
      o.dst = Which(o.info.dst_ip);
    }
    return o;
  }

  // The backend known (it asked for the backend side's MAC), the proxy
  // having picked its MAC up.
  void BackendKnown() {
    h_.Inject(Ask(Host::kBackend, Host::kBackendSide));
    h_.Poll(now_);
    now_ += 2'000'000;
    h_.Poll(now_);
  }

  // A connection through the handshakes: returns the cookie ISN (Ip).
  uint32_t Connect() {
    h_.Inject(Tcp(Host::kClient, 40000, Host::kVip, 80, kIc, 0, tf::kSyn));
    std::vector<Frame> out = h_.Poll(now_);
    EXPECT_EQ(out.size(), 1u);
    if (out.size() != 1) return 0;
    const Out sa = Sent(out[0]);
    EXPECT_EQ(sa.info.tcp_flags, tf::kSyn | tf::kAck);
    EXPECT_EQ(sa.info.window, 0);
    EXPECT_EQ(sa.src, Host::kVip);
    EXPECT_EQ(sa.dst, Host::kClient);
    const uint32_t ip = sa.info.seq.value();

    h_.Inject(Tcp(Host::kClient, 40000, Host::kVip, 80, kIc + 1, ip + 1,
                  tf::kAck));
    out = h_.Poll(now_);
    EXPECT_EQ(out.size(), 1u);
    if (out.size() != 1) return 0;
    const Out syn = Sent(out[0]);
    EXPECT_EQ(syn.info.tcp_flags, tf::kSyn);
    EXPECT_EQ(syn.src, Host::kClient);
    EXPECT_EQ(syn.dst, Host::kBackend);
    EXPECT_EQ(syn.info.dst_port, 8080);
    EXPECT_EQ(syn.info.seq.value(), kIc);

    h_.Inject(Tcp(Host::kBackend, 8080, Host::kClient, 40000, kIb, kIc + 1,
                  tf::kSyn | tf::kAck));
    out = h_.Poll(now_);
    EXPECT_EQ(out.size(), 2u);
    if (out.size() != 2) return 0;
    // The window update leaves first (sent while the SYN-ACK is handled),
    // then the ACK written over the SYN-ACK.
    const Out wu = Sent(out[0]);
    const Out ack = Sent(out[1]);
    EXPECT_EQ(ack.dst, Host::kBackend);
    EXPECT_EQ(ack.src, Host::kClient);
    EXPECT_EQ(ack.info.ack.value(), kIb + 1);
    EXPECT_EQ(wu.dst, Host::kClient);
    EXPECT_EQ(wu.src, Host::kVip);
    EXPECT_EQ(wu.info.seq.value(), ip + 1);
    EXPECT_GT(wu.info.window, 0);
    return ip;
  }

  static constexpr uint32_t kIc = 5000;
  static constexpr uint32_t kIb = 900000;
  RingHarness h_;
  app::Proxy proxy_;
  uint64_t now_ = kSecond;
};

TEST_P(ProxyWorkerTest, AddressResolutionForOursOnlyNotForTheClients) {
  h_.Inject(Ask(Host::kBackend, Host::kVip));
  h_.Inject(Ask(Host::kBackend, Host::kBackendSide));
  h_.Inject(Ask(Host::kBackend, Host::kClient));  // the TCP-only claim
  const std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 2u);
  if (v6()) {
    EXPECT_EQ(h_.Count(NdIndex(NdCounter::kAdvertisementsOut)), 2u);
    // The client's solicited-node group is not even let in (or, were it,
    // the solicitation would be refused as not ours).
    EXPECT_EQ(h_.Count(NdIndex(NdCounter::kDropNdNotForUs)) +
                  h_.Count(Counter::kDropEthNotForUs),
              1u);
  } else {
    EXPECT_EQ(h_.Count(Counter::kArpRepliesOut), 2u);
    EXPECT_EQ(h_.Count(Counter::kDropArpNotForUs), 1u);
  }
}

TEST_P(ProxyWorkerTest, AConnectionGoesThrough) {
  BackendKnown();
  const uint32_t ip = Connect();
  ASSERT_NE(ip, 0u);

  h_.Inject(Tcp(Host::kClient, 40000, Host::kVip, 80, kIc + 1, ip + 1,
                tf::kAck | tf::kPsh, {'G', 'E', 'T', ' ', '/'}));
  h_.Inject(Tcp(Host::kBackend, 8080, Host::kClient, 40000, kIb + 1, kIc + 6,
                tf::kAck | tf::kPsh, {'2', '0', '0'}));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 2u);
  const Out fwd = Sent(out[0]);
  const Out back = Sent(out[1]);
  EXPECT_EQ(fwd.dst, Host::kBackend);
  EXPECT_EQ(fwd.src, Host::kClient);
  EXPECT_EQ(fwd.info.ack.value(), kIb + 1);
  EXPECT_EQ(fwd.info.payload_length, 5);
  EXPECT_EQ(back.src, Host::kVip);
  EXPECT_EQ(back.dst, Host::kClient);
  EXPECT_EQ(back.info.src_port, 80);
  EXPECT_EQ(back.info.seq.value(), ip + 1);
  EXPECT_EQ(back.info.ack.value(), kIc + 6);
  EXPECT_EQ(back.eth_dst, h_.peer_mac());
  EXPECT_EQ(proxy_.core().count(app::ProxyCounter::kEstablished), 1u);
  EXPECT_EQ(proxy_.core().count(app::ProxyCounter::kToBackend), 1u);
  EXPECT_EQ(proxy_.core().count(app::ProxyCounter::kToClient), 1u);
  // The counters reach the worker's set.
  h_.worker().PublishCounters();
  EXPECT_EQ(h_.Count(app::CounterIndex(app::ProxyCounter::kEstablished)), 1u);
}

// Both FINs forwarded with their numbers translated, each acknowledged
// through the proxy; the record lingers, then is freed.
TEST_P(ProxyWorkerTest, FinsBothWaysThenTheRecordIsFreed) {
  BackendKnown();
  const uint32_t ip = Connect();
  ASSERT_NE(ip, 0u);
  h_.Inject(Tcp(Host::kClient, 40000, Host::kVip, 80, kIc + 1, ip + 1,
                tf::kAck | tf::kFin));
  h_.Inject(Tcp(Host::kBackend, 8080, Host::kClient, 40000, kIb + 1, kIc + 2,
                tf::kAck | tf::kFin));
  h_.Inject(Tcp(Host::kClient, 40000, Host::kVip, 80, kIc + 2, ip + 2,
                tf::kAck));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 3u);
  const Out fin = Sent(out[0]);
  const Out bfin = Sent(out[1]);
  const Out last = Sent(out[2]);
  EXPECT_EQ(fin.dst, Host::kBackend);
  EXPECT_EQ(fin.info.tcp_flags, tf::kAck | tf::kFin);
  EXPECT_EQ(fin.info.ack.value(), kIb + 1);
  EXPECT_EQ(bfin.dst, Host::kClient);
  EXPECT_EQ(bfin.info.tcp_flags, tf::kAck | tf::kFin);
  EXPECT_EQ(bfin.info.seq.value(), ip + 1);
  EXPECT_EQ(last.dst, Host::kBackend);
  EXPECT_EQ(last.info.ack.value(), kIb + 2);
  EXPECT_EQ(proxy_.core().flows_in_use(), 1u);  // lingering
  now_ += 3 * kSecond;  // past the linger (2 s)
  h_.Poll(now_);
  now_ += 200'000'000;  // the sweep walks the whole table in 100 ms
  for (int i = 0; i < 200; ++i) {
    now_ += 1'000'000;
    h_.Poll(now_);
  }
  EXPECT_EQ(proxy_.core().flows_in_use(), 0u);
  EXPECT_EQ(proxy_.core().count(app::ProxyCounter::kClosed), 1u);
}

// A backend's RST reaches the client in our sequence space.
TEST_P(ProxyWorkerTest, RstFromTheBackendReachesTheClient) {
  BackendKnown();
  const uint32_t ip = Connect();
  ASSERT_NE(ip, 0u);
  h_.Inject(Tcp(Host::kBackend, 8080, Host::kClient, 40000, kIb + 1, kIc + 1,
                tf::kRst | tf::kAck));
  std::vector<Frame> out = h_.Poll(now_);
  ASSERT_EQ(out.size(), 1u);
  const Out rst = Sent(out[0]);
  EXPECT_EQ(rst.src, Host::kVip);
  EXPECT_EQ(rst.dst, Host::kClient);
  EXPECT_EQ(rst.info.tcp_flags, tf::kRst | tf::kAck);
  EXPECT_EQ(rst.info.seq.value(), ip + 1);
  EXPECT_EQ(proxy_.core().count(app::ProxyCounter::kToClient), 1u);
}

INSTANTIATE_TEST_SUITE_P(Families, ProxyWorkerTest,
                         testing::Values(IpFamily::kIpv4, IpFamily::kIpv6),
                         [](const testing::TestParamInfo<IpFamily>& p) {
                           return p.param == IpFamily::kIpv6 ? "Ipv6"
                                                             : "Ipv4";
                         });

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
