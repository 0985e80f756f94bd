// ProxyCore (lib/app/proxy_core.h) without an EAL, its backends' side:
// answers with no backend up, health probes (first answer decides, down
// after 3 failed, up after 2 good, the options they learn), rendezvous
// hashing (a pool change moves few flows), the owner of a flow's frames
// among several workers, and random input.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "tests/unit/proxy_test_util.h"

namespace synwave::app {
namespace {

TEST_F(ProxyTest, NoBackendUpAnswersRst) {
  core_.ProbeResult(0, false, nullptr);  // the first result decides
  EXPECT_FALSE(core_.backend(0).up);
  std::vector<uint8_t> f = BuildFrame(FromClient(kIc, 0, tf::kSyn));
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
  EXPECT_EQ(spec.flags, tf::kRst | tf::kAck);
  EXPECT_EQ(spec.ack.value(), kIc + 1);
  EXPECT_EQ(core_.count(ProxyCounter::kNoBackendRst), 1u);
}

TEST(ProxyNoBackendTest, DropModeDrops) {
  ProxyConfig c = MakeConfig();
  c.no_backend = NoBackend::kDrop;
  ProxyCore core(c);
  core.ProbeResult(0, false, nullptr);
  TcpFrame t;
  t.ip.dst = kVip;
  t.tcp.dst_port = kVport;
  std::vector<uint8_t> f = BuildFrame(t);
  wire::PacketInfo info;
  ASSERT_EQ(wire::ParseFrame(f.data(), f.size(), {}, &info), wire::Verdict::kOk);
  wire::TcpSegmentSpec spec;
  EXPECT_EQ(core.Process(f.data(), f.size(), info, kT0, &spec),
            ProxyAction::kDrop);
  EXPECT_EQ(core.count(ProxyCounter::kNoBackendDrop), 1u);
}

TEST(ProxyHealthTest, DownAfterThreeFailedUpAfterTwoGood) {
  ProxyCore core(MakeConfig());
  wire::TcpOptions o;
  o.has_mss = true;
  o.mss = 1400;
  o.has_window_scale = true;
  o.window_scale = 10;
  o.has_timestamps = true;
  core.ProbeResult(0, true, &o);
  EXPECT_TRUE(core.backend(0).up);
  EXPECT_EQ(core.Announced().mss, 1400);
  EXPECT_EQ(core.Announced().wscale, 10);
  EXPECT_FALSE(core.Announced().sack);
  core.ProbeResult(0, false, nullptr);
  core.ProbeResult(0, false, nullptr);
  EXPECT_TRUE(core.backend(0).up);
  core.ProbeResult(0, false, nullptr);
  EXPECT_FALSE(core.backend(0).up);
  EXPECT_EQ(core.PickBackend(kClient.value, 1), -1);
  core.ProbeResult(0, true, &o);
  EXPECT_FALSE(core.backend(0).up);
  core.ProbeResult(0, true, &o);
  EXPECT_TRUE(core.backend(0).up);
  EXPECT_EQ(core.count(ProxyCounter::kBackendDown), 1u);
  EXPECT_EQ(core.count(ProxyCounter::kBackendUp), 1u);
}

TEST(ProxyHealthTest, ProbeSynAnsweredBySynAckIsReset) {
  ProxyConfig c = MakeConfig();
  c.probe_interval_ns = 1'000'000'000;
  ProxyCore core(c);
  Recorder out;
  core.set_output(&out);
  core.SetBackendMac(0, &kBackendMac);
  core.Poll(kT0);
  ASSERT_EQ(out.sent.size(), 1u);
  const wire::TcpSegmentSpec probe = out.sent[0].spec;
  EXPECT_TRUE(out.sent[0].to_backend);
  EXPECT_EQ(probe.flags, tf::kSyn);
  EXPECT_EQ(probe.src_ip, kBackendSide);
  EXPECT_EQ(probe.dst_ip, kBackend);
  EXPECT_EQ(probe.dst_port, 8080);
  TcpFrame sa;
  sa.ip.src = kBackend;
  sa.ip.dst = kBackendSide;
  sa.tcp.src_port = 8080;
  sa.tcp.dst_port = probe.src_port;
  sa.tcp.seq = 99;
  sa.tcp.ack = probe.seq.value() + 1;
  sa.tcp.flags = tf::kSyn | tf::kAck;
  sa.tcp.options.has_mss = true;
  sa.tcp.options.mss = 1300;
  std::vector<uint8_t> f = BuildFrame(sa);
  wire::PacketInfo info;
  ASSERT_EQ(wire::ParseFrame(f.data(), f.size(), {}, &info), wire::Verdict::kOk);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(core.Process(f.data(), f.size(), info, kT0 + 1000, &spec),
            ProxyAction::kReplyToBackend);
  EXPECT_EQ(spec.flags, tf::kRst);
  EXPECT_EQ(spec.seq.value(), probe.seq.value() + 1);
  EXPECT_EQ(core.count(ProxyCounter::kProbesOk), 1u);
  EXPECT_EQ(core.Announced().mss, 1300);
  EXPECT_EQ(core.Announced().wscale, tcp::kCookieNoWscale);
  // Three intervals without answers: down.
  core.Poll(kT0 + 1'000'000'000);
  core.Poll(kT0 + 2'000'000'000);
  core.Poll(kT0 + 3'000'000'000);
  EXPECT_TRUE(core.backend(0).up);
  core.Poll(kT0 + 4'000'000'000);
  EXPECT_FALSE(core.backend(0).up);
  EXPECT_EQ(core.count(ProxyCounter::kProbesFailed), 3u);
}

// Rendezvous hashing: removing a backend moves only its own flows; adding
// one moves about 1/n of them, all to the new one.
TEST(ProxyHashTest, PoolChangeMovesFewFlows) {
  ProxyConfig c = MakeConfig();
  c.backends.clear();
  for (uint8_t i = 0; i < 5; ++i) {
    c.backends.push_back({Ipv4Address::FromOctets(10, 9, 1, i).value, 80});
  }
  ProxyCore core(c);
  core.ProbeResult(4, false, nullptr);  // 4 of 5 up
  constexpr int kFlows = 20000;
  std::vector<int> before(kFlows);
  std::map<int, int> per;
  for (int i = 0; i < kFlows; ++i) {
    before[i] = core.PickBackend(0xc6336400 + i / 100, 1024 + i % 100);
    ++per[before[i]];
  }
  for (int b = 0; b < 4; ++b) {
    EXPECT_GT(per[b], kFlows / 4 * 8 / 10) << b;  // spread evenly
  }
  EXPECT_EQ(per.count(4), 0u);
  // Backend 4 joins: only flows that move to it move.
  core.ProbeResult(4, true, nullptr);
  core.ProbeResult(4, true, nullptr);  // up after two good probes
  ASSERT_TRUE(core.backend(4).up);
  int moved = 0;
  for (int i = 0; i < kFlows; ++i) {
    const int now = core.PickBackend(0xc6336400 + i / 100, 1024 + i % 100);
    if (now != before[i]) {
      ++moved;
      EXPECT_EQ(now, 4);
    }
  }
  EXPECT_GT(moved, kFlows / 5 * 8 / 10);
  EXPECT_LT(moved, kFlows / 5 * 12 / 10);
  // Backend 1 leaves (three failed probes): only its flows move.
  for (int k = 0; k < 3; ++k) core.ProbeResult(1, false, nullptr);
  for (int i = 0; i < kFlows; ++i) {
    const int was = before[i];
    const int now = core.PickBackend(0xc6336400 + i / 100, 1024 + i % 100);
    if (was != 1 && now != 4) {
      EXPECT_EQ(now, was);
    }
    EXPECT_NE(now, 1);
  }
}

// Several workers: both directions of a flow have one owner, computed the
// same way everywhere; SYNs stay where they arrive; a probe's answer goes
// to the worker whose probe port it is.
TEST_F(ProxyTest, BothDirectionsOfAFlowHaveOneOwner) {
  std::map<int, int> per;
  for (uint16_t port = 1024; port < 1224; ++port) {
    TcpFrame c = FromClient(1, 2, tf::kAck);
    c.tcp.src_port = port;
    TcpFrame b = FromBackend(3, 4, tf::kAck);
    b.tcp.dst_port = port;
    wire::PacketInfo ci, bi;
    std::vector<uint8_t> cf = BuildFrame(c), bf = BuildFrame(b);
    ASSERT_EQ(wire::ParseFrame(cf.data(), cf.size(), {}, &ci), wire::Verdict::kOk);
    ASSERT_EQ(wire::ParseFrame(bf.data(), bf.size(), {}, &bi), wire::Verdict::kOk);
    const int owner = core_.Owner(ci, 4);
    ASSERT_GE(owner, 0);
    ASSERT_LT(owner, 4);
    EXPECT_EQ(core_.Owner(bi, 4), owner) << port;
    EXPECT_EQ(owner, ProxyCore::ClientOwner(kClient.value, port, 4));
    ++per[owner];
    c.tcp.flags = tf::kSyn;
    cf = BuildFrame(c);
    ASSERT_EQ(wire::ParseFrame(cf.data(), cf.size(), {}, &ci), wire::Verdict::kOk);
    EXPECT_EQ(core_.Owner(ci, 4), -1);  // answered where it arrives
  }
  EXPECT_EQ(per.size(), 4u);  // spread over the workers
  TcpFrame probe = FromBackend(5, 6, tf::kSyn | tf::kAck);
  probe.ip.dst = kBackendSide;
  probe.tcp.dst_port = ProxyCore::kProbePortBase +
                       2 * ProxyCore::kProbePortsPerWorker + 1;
  std::vector<uint8_t> pf = BuildFrame(probe);
  wire::PacketInfo pi;
  ASSERT_EQ(wire::ParseFrame(pf.data(), pf.size(), {}, &pi), wire::Verdict::kOk);
  EXPECT_EQ(core_.Owner(pi, 4), 2);
}

// Bad or odd input never crashes and never leaks a record: random
// segments (flags, numbers, options, either side, some for real flows)
// through Process and the sweep; afterwards, past every timeout, no record
// is left.
TEST_F(ProxyTest, RandomSegmentsNeitherCrashNorLeak) {
  Handshake();
  std::mt19937_64 rng(7);
  uint64_t now = kT0 + 10'000'000;
  for (int k = 0; k < 20000; ++k) {
    const uint64_t r = rng();
    const bool client_side = r & 1;
    TcpFrame t = client_side ? FromClient(static_cast<uint32_t>(rng()),
                                          static_cast<uint32_t>(rng()),
                                          static_cast<uint8_t>(r >> 8))
                             : FromBackend(static_cast<uint32_t>(rng()),
                                           static_cast<uint32_t>(rng()),
                                           static_cast<uint8_t>(r >> 8));
    if ((r >> 16) & 1) {  // another client
      (client_side ? t.tcp.src_port : t.tcp.dst_port) =
          static_cast<uint16_t>(1024 + (r >> 20) % 64);
    }
    if ((r >> 17) & 1) {
      t.tcp.options.has_timestamps = true;
      t.tcp.options.ts_val = static_cast<uint32_t>(rng());
      t.tcp.options.ts_ecr = static_cast<uint32_t>(rng());
    }
    if ((r >> 18) & 1) {
      std::vector<uint8_t> opt = {1, 1, 5, 10};
      for (int b = 0; b < 8; ++b) opt.push_back(static_cast<uint8_t>(rng()));
      t.tcp.raw_options = opt;
    }
    t.tcp.payload.resize((r >> 40) % 64, 'z');
    std::vector<uint8_t> f = BuildFrame(t);
    wire::PacketInfo info;
    if (wire::ParseFrame(f.data(), f.size(), {}, &info) != wire::Verdict::kOk) {
      continue;
    }
    wire::TcpSegmentSpec spec;
    const ProxyAction a =
        core_.Process(f.data(), static_cast<uint16_t>(f.size()), info, now, &spec);
    if (a == ProxyAction::kForwardToClient || a == ProxyAction::kForwardToBackend) {
      EXPECT_EQ(Reparse(f).verdict, wire::Verdict::kOk);  // checksums kept
    }
    now += 50'000;
    core_.Poll(now);
  }
  core_.Poll(now + 400'000'000'000);
  EXPECT_EQ(core_.flows_in_use(), 0u);
  EXPECT_EQ(core_.backend(0).counts[static_cast<size_t>(BackendCounter::kOpen)],
            0u);
}

}  // namespace
}  // namespace synwave::app
