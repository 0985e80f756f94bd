// A reload of the backend list (SIGHUP, issue 15 item 6) on ProxyCore: a
// removed backend gets no new flows while its established flows go on both
// ways; an added one gets new flows; a backend keeps its slot, removed or
// back; a list that needs more than kMaxProxyBackends slots is refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/proxy_test_util.h"

namespace synwave::app {
namespace {

class ProxyReloadTest : public ProxyTest {
 protected:
  // A new client (port `port`) through the handshake without timestamps;
  // the SYN the proxy sends to the backend it picked.
  wire::TcpSegmentSpec NewFlow(uint16_t port, uint64_t now) {
    TcpFrame syn = FromClient(kIc, 0, tf::kSyn);
    syn.tcp.src_port = port;
    syn.tcp.options.has_mss = true;
    syn.tcp.options.mss = 1460;
    std::vector<uint8_t> f = BuildFrame(syn);
    wire::TcpSegmentSpec spec;
    EXPECT_EQ(Feed(f, now, &spec), ProxyAction::kReplyToClient);
    TcpFrame ack = FromClient(kIc + 1, spec.seq.value() + 1, tf::kAck);
    ack.tcp.src_port = port;
    f = BuildFrame(ack);
    EXPECT_EQ(Feed(f, now + 1000, &spec), ProxyAction::kReplyToBackend);
    return spec;
  }

  void Reload(const std::vector<ProxyBackend>& list) {
    ProxyBackendSlots next;
    std::string error;
    ASSERT_TRUE(core_.backend_slots().Plan(list, &next, &error)) << error;
    core_.SetBackends(next);
    for (int b = 0; b < core_.num_backends(); ++b) {
      core_.SetBackendMac(b, &kBackendMac);
    }
  }

  const ProxyBackend kA{kBackend.value, 8080};
  const ProxyBackend kB{kBackend2.value, 8080};
};

TEST_F(ProxyReloadTest, RemovedBackendKeepsItsFlowsAndGetsNoNewOnes) {
  Handshake(7, /*client_ts=*/false);  // a flow to kBackend
  Reload({kB});
  EXPECT_EQ(core_.num_backends(), 2);
  EXPECT_TRUE(core_.backend(0).removed);
  EXPECT_FALSE(core_.backend(1).removed);
  EXPECT_EQ(core_.count(ProxyCounter::kBackendReloads), 1u);
  EXPECT_EQ(core_.backend(0).counts[static_cast<size_t>(BackendCounter::kUp)],
            0u);

  // The established flow still goes to the removed backend, both ways.
  TcpFrame d = FromClient(kIc + 1, ip_ + 1, tf::kAck);
  d.tcp.payload = {1, 2, 3};
  std::vector<uint8_t> f = BuildFrame(d);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0 + 3000, &spec), ProxyAction::kForwardToBackend);
  Parsed p = Reparse(f);
  ASSERT_EQ(p.verdict, wire::Verdict::kOk);
  EXPECT_EQ(p.info.dst_ip, kBackend);
  TcpFrame r = FromBackend(kIb + 1, kIc + 4, tf::kAck);
  r.tcp.payload = {4, 5};
  f = BuildFrame(r);
  ASSERT_EQ(Feed(f, kT0 + 4000, &spec), ProxyAction::kForwardToClient);
  p = Reparse(f);
  ASSERT_EQ(p.verdict, wire::Verdict::kOk);
  EXPECT_EQ(p.info.dst_ip, kClient);
  EXPECT_EQ(p.info.src_ip, kVip);

  // Every new flow goes to the added backend.
  for (uint16_t port = 41000; port < 41064; ++port) {
    const wire::TcpSegmentSpec syn = NewFlow(port, kT0 + 10'000);
    EXPECT_EQ(syn.flags, tf::kSyn);
    EXPECT_EQ(syn.dst_ip, kBackend2) << port;
  }
  EXPECT_EQ(core_.count(ProxyCounter::kUnknownBackendFrames), 0u);
}

TEST_F(ProxyReloadTest, AddedBackendSharesNewFlowsAndAReaddedOneKeepsItsSlot) {
  Reload({kA, kB});
  int to_b = 0;
  for (uint16_t port = 41000; port < 41064; ++port) {
    to_b += NewFlow(port, kT0).dst_ip == kBackend2 ? 1 : 0;
  }
  EXPECT_GT(to_b, 0);   // rendezvous hashing spreads them
  EXPECT_LT(to_b, 64);
  Reload({kB});
  Reload({kB, kA});  // back: the same slot, no new one
  EXPECT_EQ(core_.num_backends(), 2);
  EXPECT_EQ(core_.backend(0).addr.ip, kBackend.value);
  EXPECT_FALSE(core_.backend(0).removed);
  EXPECT_EQ(core_.count(ProxyCounter::kBackendReloads), 3u);
}

TEST_F(ProxyReloadTest, NoBackendLeftAnswersRst) {
  Reload({});
  TcpFrame syn = FromClient(kIc, 0, tf::kSyn);
  std::vector<uint8_t> f = BuildFrame(syn);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
  EXPECT_TRUE(spec.flags & tf::kRst);
}

TEST(ProxyBackendSlotsTest, RemovedBackendsHoldTheirSlots) {
  ProxyBackendSlots now;
  std::vector<ProxyBackend> list;
  for (int i = 0; i < kMaxProxyBackends; ++i) {
    list.push_back({static_cast<uint32_t>(0x0a090010 + i), 80});
  }
  std::string error;
  ProxyBackendSlots full;
  ASSERT_TRUE(now.Plan(list, &full, &error));
  EXPECT_EQ(full.num_active(), kMaxProxyBackends);
  // One replaced by a new one: its slot stays held, the list is refused.
  list.back().ip = 0x0a090099;
  ProxyBackendSlots next;
  EXPECT_FALSE(full.Plan(list, &next, &error));
  EXPECT_NE(error.find("removed backends keep"), std::string::npos) << error;
  // Fewer: the others inactive, in their slots.
  list.resize(2);
  ASSERT_TRUE(full.Plan(list, &next, &error));
  EXPECT_EQ(next.slots.size(), full.slots.size());
  EXPECT_EQ(next.num_active(), 2);
  EXPECT_TRUE(next.active[0]);
  EXPECT_FALSE(next.active[2]);
}

}  // namespace
}  // namespace synwave::app
