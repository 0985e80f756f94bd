// ProxyCore (lib/app/proxy_core.h) without an EAL: the cookie handshake,
// the backend handshake, every translation with exact values (seq, ack,
// SACK, timestamps, window), checksums (re-parsed with software checks),
// FIN/RST following, linger, idle timeout, backend SYN retransmission,
// backend choice by rendezvous hashing, health probes.
#include "app/proxy_core.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::app {
namespace {

using testutil::BuildFrame;
using testutil::TcpFrame;
using wire::Ipv4Address;
using wire::MacAddress;
namespace tf = wire::tcp_flags;

const Ipv4Address kVip = Ipv4Address::FromOctets(192, 0, 2, 10);
const Ipv4Address kBackendSide = Ipv4Address::FromOctets(10, 9, 0, 1);
const Ipv4Address kBackend = Ipv4Address::FromOctets(10, 9, 0, 2);
const Ipv4Address kBackend2 = Ipv4Address::FromOctets(10, 9, 0, 3);
const Ipv4Address kClient = Ipv4Address::FromOctets(198, 51, 100, 7);
const MacAddress kClientSideMac{{0x02, 0, 0, 0, 0, 0x10}};
const MacAddress kBackendSideMac{{0x02, 0, 0, 0, 0, 0x20}};
const MacAddress kClientMac{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddress kBackendMac{{0x02, 0, 0, 0, 0, 0x02}};
constexpr uint16_t kVport = 80;
constexpr uint16_t kCport = 40000;
constexpr uint64_t kT0 = 5'000'000'000;  // ns

struct Recorder : ProxyOutput {
  struct Sent {
    bool to_backend;
    wire::TcpSegmentSpec spec;
  };
  std::vector<Sent> sent;
  void Send(bool to_backend, const wire::TcpSegmentSpec& spec) override {
    sent.push_back({to_backend, spec});
  }
};

ProxyConfig MakeConfig(int backends = 1) {
  ProxyConfig c;
  c.vip = kVip.value;
  c.backend_side_ip = kBackendSide.value;
  c.client_side_mac = kClientSideMac;
  c.backend_side_mac = kBackendSideMac;
  c.listen_ports = {kVport};
  c.backends.push_back({kBackend.value, 8080});
  if (backends > 1) c.backends.push_back({kBackend2.value, 8080});
  c.max_flows = 1024;
  c.secret = {0x0123456789abcdefull, 0xfedcba9876543210ull};
  c.hash_seed = 42;
  c.probe_interval_ns = 0;  // probes only where a test asks
  return c;
}

struct Parsed {
  wire::Verdict verdict;
  wire::PacketInfo info;
};

// Parses with software checksum checks: a wrong checksum is kTcpBadChecksum.
Parsed Reparse(const std::vector<uint8_t>& f) {
  Parsed p;
  p.verdict = wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                               &p.info);
  return p;
}

class ProxyTest : public ::testing::Test {
 protected:
  explicit ProxyTest(int backends = 1) : core_(MakeConfig(backends)) {
    core_.set_output(&out_);
    for (int b = 0; b < core_.num_backends(); ++b) {
      core_.SetBackendMac(b, &kBackendMac);
    }
  }

  ProxyAction Feed(std::vector<uint8_t>& f, uint64_t now,
                   wire::TcpSegmentSpec* spec) {
    wire::PacketInfo info;
    EXPECT_EQ(wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                               &info),
              wire::Verdict::kOk);
    return core_.Process(f.data(), static_cast<uint16_t>(f.size()), info, now,
                         spec);
  }

  // A client's segment to the VIP.
  TcpFrame FromClient(uint32_t seq, uint32_t ack, uint8_t flags) {
    TcpFrame t;
    t.eth.src = kClientMac;
    t.eth.dst = kClientSideMac;
    t.ip.src = kClient;
    t.ip.dst = kVip;
    t.tcp.src_port = kCport;
    t.tcp.dst_port = kVport;
    t.tcp.seq = seq;
    t.tcp.ack = ack;
    t.tcp.flags = flags;
    return t;
  }
  // The backend's segment to the client.
  TcpFrame FromBackend(uint32_t seq, uint32_t ack, uint8_t flags) {
    TcpFrame t;
    t.eth.src = kBackendMac;
    t.eth.dst = kBackendSideMac;
    t.ip.src = kBackend;
    t.ip.dst = kClient;
    t.tcp.src_port = 8080;
    t.tcp.dst_port = kCport;
    t.tcp.seq = seq;
    t.tcp.ack = ack;
    t.tcp.flags = flags;
    return t;
  }

  // The whole handshake with timestamps, wscale 7 and SACK on the client,
  // the backend answering with wscale `backend_ws`.
  void Handshake(uint8_t backend_ws = 7, bool client_ts = true) {
    TcpFrame syn = FromClient(kIc, 0, tf::kSyn);
    syn.tcp.window = 64240;
    syn.tcp.options.has_mss = true;
    syn.tcp.options.mss = 1460;
    syn.tcp.options.has_window_scale = true;
    syn.tcp.options.window_scale = 7;
    syn.tcp.options.sack_permitted = true;
    syn.tcp.options.has_timestamps = client_ts;
    syn.tcp.options.ts_val = kClientTs;
    std::vector<uint8_t> f = BuildFrame(syn);
    wire::TcpSegmentSpec spec;
    ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
    synack_ = spec;
    ip_ = spec.seq.value();
    tp_ = spec.options.ts_val;

    TcpFrame ack = FromClient(kIc + 1, ip_ + 1, tf::kAck);
    ack.tcp.window = 502;
    ack.tcp.options.has_timestamps = client_ts;
    ack.tcp.options.ts_val = kClientTs + 1;
    ack.tcp.options.ts_ecr = tp_;
    f = BuildFrame(ack);
    ASSERT_EQ(Feed(f, kT0 + 1000, &spec), ProxyAction::kReplyToBackend);
    backend_syn_ = spec;

    TcpFrame sa = FromBackend(kIb, kIc + 1, tf::kSyn | tf::kAck);
    sa.tcp.window = 65160;
    sa.tcp.options.has_mss = true;
    sa.tcp.options.mss = 1460;
    sa.tcp.options.has_window_scale = true;
    sa.tcp.options.window_scale = backend_ws;
    sa.tcp.options.sack_permitted = true;
    sa.tcp.options.has_timestamps = client_ts;
    sa.tcp.options.ts_val = kTb;
    sa.tcp.options.ts_ecr = kClientTs + 1;
    f = BuildFrame(sa);
    out_.sent.clear();
    ASSERT_EQ(Feed(f, kT0 + 2000, &spec), ProxyAction::kReplyToBackend);
    backend_ack_ = spec;
  }

  static constexpr uint32_t kIc = 0xfffffff0;  // wraps during the test
  static constexpr uint32_t kIb = 0x10000000;
  static constexpr uint32_t kClientTs = 777000;
  static constexpr uint32_t kTb = 0xfffffff8;
  Recorder out_;
  ProxyCore core_;
  uint32_t ip_ = 0;
  uint32_t tp_ = 0;
  wire::TcpSegmentSpec synack_, backend_syn_, backend_ack_;
};

TEST(ProxyRecordTest, RecordFitsFortyEightBytes) {
  static_assert(sizeof(ProxyRecord) <= 48);
  EXPECT_LE(sizeof(ProxyRecord), 48u);
}

TEST_F(ProxyTest, CookieSynAckHasZeroWindowAndNoState) {
  TcpFrame syn = FromClient(kIc, 0, tf::kSyn);
  syn.tcp.options.has_mss = true;
  syn.tcp.options.mss = 1460;
  syn.tcp.options.has_window_scale = true;
  syn.tcp.options.window_scale = 9;
  syn.tcp.options.sack_permitted = true;
  syn.tcp.options.has_timestamps = true;
  syn.tcp.options.ts_val = kClientTs;
  std::vector<uint8_t> f = BuildFrame(syn);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
  EXPECT_EQ(spec.flags, tf::kSyn | tf::kAck);
  EXPECT_EQ(spec.ack.value(), kIc + 1);
  EXPECT_EQ(spec.window, 0);
  EXPECT_EQ(spec.src_ip, kVip);
  EXPECT_EQ(spec.dst_ip, kClient);
  EXPECT_EQ(spec.dst_mac, kClientMac);  // the sender, no ARP
  EXPECT_EQ(spec.src_mac, kClientSideMac);
  EXPECT_EQ(spec.options.mss, 1460);  // the defaults: no probe yet
  EXPECT_TRUE(spec.options.has_window_scale);
  EXPECT_EQ(spec.options.window_scale, 7);
  EXPECT_TRUE(spec.options.sack_permitted);
  EXPECT_EQ(spec.options.ts_ecr, kClientTs);
  uint8_t ws = 0;
  bool sack = false;
  ASSERT_TRUE(tcp::DecodeCookieTsecr(spec.options.ts_val, &ws, &sack));
  EXPECT_EQ(ws, 9);  // the client's, for the backend SYN
  EXPECT_TRUE(sack);
  EXPECT_EQ(core_.flows_in_use(), 0u);
  EXPECT_EQ(core_.count(ProxyCounter::kSynIn), 1u);
  EXPECT_EQ(core_.count(ProxyCounter::kCookieSynAcks), 1u);
}

TEST_F(ProxyTest, ClientWithoutTimestampsGetsNoWscaleNorSack) {
  TcpFrame syn = FromClient(kIc, 0, tf::kSyn);
  syn.tcp.options.has_mss = true;
  syn.tcp.options.mss = 1400;
  syn.tcp.options.has_window_scale = true;
  syn.tcp.options.window_scale = 7;
  syn.tcp.options.sack_permitted = true;
  std::vector<uint8_t> f = BuildFrame(syn);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
  EXPECT_FALSE(spec.options.has_timestamps);
  EXPECT_FALSE(spec.options.has_window_scale);
  EXPECT_FALSE(spec.options.sack_permitted);
  // The ACK: the backend SYN carries MSS 1300 (1400 rounded down to the
  // cookie table), no window scale, no SACK, no timestamps.
  TcpFrame ack = FromClient(kIc + 1, spec.seq.value() + 1, tf::kAck);
  ack.tcp.window = 29200;
  f = BuildFrame(ack);
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToBackend);
  EXPECT_EQ(spec.flags, tf::kSyn);
  EXPECT_EQ(spec.seq.value(), kIc);
  EXPECT_EQ(spec.options.mss, 1300);
  EXPECT_FALSE(spec.options.has_window_scale);
  EXPECT_FALSE(spec.options.sack_permitted);
  EXPECT_FALSE(spec.options.has_timestamps);
  EXPECT_EQ(spec.window, 29200);
}

TEST_F(ProxyTest, CookieAckOpensTheBackendWithTheClientsIsnAndOptions) {
  Handshake();
  EXPECT_EQ(backend_syn_.flags, tf::kSyn);
  EXPECT_EQ(backend_syn_.src_ip, kClient);  // the client's own address
  EXPECT_EQ(backend_syn_.src_port, kCport);
  EXPECT_EQ(backend_syn_.dst_ip, kBackend);
  EXPECT_EQ(backend_syn_.dst_port, 8080);
  EXPECT_EQ(backend_syn_.dst_mac, kBackendMac);
  EXPECT_EQ(backend_syn_.src_mac, kBackendSideMac);
  EXPECT_EQ(backend_syn_.seq.value(), kIc);
  EXPECT_EQ(backend_syn_.options.mss, 1460);
  EXPECT_TRUE(backend_syn_.options.has_window_scale);
  EXPECT_EQ(backend_syn_.options.window_scale, 7);
  EXPECT_TRUE(backend_syn_.options.sack_permitted);
  EXPECT_EQ(backend_syn_.options.ts_val, kClientTs + 1);
  EXPECT_EQ(backend_syn_.options.ts_ecr, 0u);
  EXPECT_EQ(backend_syn_.window, 502 << 7);  // unscaled in a SYN
  // Our ACK over the backend's SYN-ACK.
  EXPECT_EQ(backend_ack_.flags, tf::kAck);
  EXPECT_EQ(backend_ack_.seq.value(), kIc + 1);
  EXPECT_EQ(backend_ack_.ack.value(), kIb + 1);
  EXPECT_EQ(backend_ack_.window, 502);
  EXPECT_EQ(backend_ack_.options.ts_val, kClientTs + 1);
  EXPECT_EQ(backend_ack_.options.ts_ecr, kTb);
  // The window update to the client: our sequence space, the backend's
  // window in the announced scale, our TSval.
  ASSERT_EQ(out_.sent.size(), 1u);
  const wire::TcpSegmentSpec& wu = out_.sent[0].spec;
  EXPECT_FALSE(out_.sent[0].to_backend);
  EXPECT_EQ(wu.flags, tf::kAck);
  EXPECT_EQ(wu.seq.value(), ip_ + 1);
  EXPECT_EQ(wu.ack.value(), kIc + 1);
  EXPECT_EQ(wu.window, 65160 >> 7);
  EXPECT_EQ(wu.options.ts_val, tp_);
  EXPECT_EQ(wu.options.ts_ecr, kClientTs + 1);
  EXPECT_EQ(wu.dst_mac, kClientMac);
  EXPECT_EQ(core_.count(ProxyCounter::kEstablished), 1u);
  EXPECT_EQ(core_.backend(0).counts[static_cast<size_t>(
                BackendCounter::kConnections)],
            1u);
  EXPECT_EQ(core_.flows_in_use(), 1u);
}

TEST_F(ProxyTest, ClientToBackendTranslatesAckSackAndTsecr) {
  Handshake();
  const uint32_t delta = ip_ - kIb;
  TcpFrame d = FromClient(kIc + 1, ip_ + 1 + 300, tf::kAck | tf::kPsh);
  d.tcp.window = 501;
  // NOP NOP TS, NOP NOP SACK with two blocks (edges in our space).
  std::vector<uint8_t> opt = {1, 1, 8, 10};
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) opt.push_back(static_cast<uint8_t>(v >> s));
  };
  be32(kClientTs + 5);
  be32(tp_ + 3);
  opt.insert(opt.end(), {1, 1, 5, 18});
  be32(ip_ + 1 + 1000);
  be32(ip_ + 1 + 2000);
  be32(ip_ + 1 + 3000);
  be32(ip_ + 1 + 4000);
  d.tcp.raw_options = opt;
  d.tcp.payload = std::vector<uint8_t>(100, 'x');
  std::vector<uint8_t> f = BuildFrame(d);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0 + 3000, &spec), ProxyAction::kForwardToBackend);
  const Parsed p = Reparse(f);
  ASSERT_EQ(p.verdict, wire::Verdict::kOk);  // checksums still right
  EXPECT_EQ(p.info.src_ip, kClient);
  EXPECT_EQ(p.info.dst_ip, kBackend);
  EXPECT_EQ(p.info.src_port, kCport);
  EXPECT_EQ(p.info.dst_port, 8080);
  EXPECT_EQ(p.info.seq.value(), kIc + 1);               // unchanged
  EXPECT_EQ(p.info.ack.value(), kIb + 1 + 300);         // ack - delta
  EXPECT_EQ(p.info.ack.value(), ip_ + 1 + 300 - delta);
  EXPECT_EQ(p.info.window, 501);                        // same scale
  EXPECT_EQ(p.info.options.ts_val, kClientTs + 5);
  EXPECT_EQ(p.info.options.ts_ecr, kTb + 3);            // tsecr + ts_off
  const uint8_t* sack = f.data() + p.info.l4_offset + 20 + 16;
  EXPECT_EQ(wire::LoadBe32(sack), kIb + 1 + 1000);
  EXPECT_EQ(wire::LoadBe32(sack + 4), kIb + 1 + 2000);
  EXPECT_EQ(wire::LoadBe32(sack + 8), kIb + 1 + 3000);
  EXPECT_EQ(wire::LoadBe32(sack + 12), kIb + 1 + 4000);
  EXPECT_EQ(MacAddress::FromBytes(f.data()), kBackendMac);
  EXPECT_EQ(MacAddress::FromBytes(f.data() + 6), kBackendSideMac);
  EXPECT_EQ(core_.count(ProxyCounter::kToBackend), 1u);
}

TEST_F(ProxyTest, BackendToClientTranslatesSeqTsvalAndKeepsSack) {
  Handshake();
  TcpFrame d = FromBackend(kIb + 1 + 5000, kIc + 1 + 100, tf::kAck);
  d.tcp.window = 509;
  std::vector<uint8_t> opt = {1, 1, 8, 10};
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) opt.push_back(static_cast<uint8_t>(v >> s));
  };
  be32(kTb + 40);
  be32(kClientTs + 9);
  opt.insert(opt.end(), {1, 1, 5, 10});
  be32(kIc + 1 + 200);  // the client's data: not translated
  be32(kIc + 1 + 300);
  d.tcp.raw_options = opt;
  d.tcp.payload = std::vector<uint8_t>(1448, 'y');
  std::vector<uint8_t> f = BuildFrame(d);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0 + 4000, &spec), ProxyAction::kForwardToClient);
  const Parsed p = Reparse(f);
  ASSERT_EQ(p.verdict, wire::Verdict::kOk);
  EXPECT_EQ(p.info.src_ip, kVip);
  EXPECT_EQ(p.info.src_port, kVport);
  EXPECT_EQ(p.info.dst_ip, kClient);
  EXPECT_EQ(p.info.seq.value(), ip_ + 1 + 5000);        // seq + delta
  EXPECT_EQ(p.info.ack.value(), kIc + 1 + 100);         // unchanged
  EXPECT_EQ(p.info.window, 509);                        // equal scales
  EXPECT_EQ(p.info.options.ts_val, tp_ + 40);           // tsval - ts_off
  EXPECT_EQ(p.info.options.ts_ecr, kClientTs + 9);
  const uint8_t* sack = f.data() + p.info.l4_offset + 20 + 16;
  EXPECT_EQ(wire::LoadBe32(sack), kIc + 1 + 200);
  EXPECT_EQ(wire::LoadBe32(sack + 4), kIc + 1 + 300);
  EXPECT_EQ(MacAddress::FromBytes(f.data()), kClientMac);
  EXPECT_EQ(MacAddress::FromBytes(f.data() + 6), kClientSideMac);
}

TEST_F(ProxyTest, BackendWindowRescaledWhenItsScaleDiffers) {
  Handshake(/*backend_ws=*/9);  // we announced 7
  TcpFrame d = FromBackend(kIb + 1, kIc + 1, tf::kAck);
  d.tcp.window = 100;  // 100 << 9 bytes = 400 << 7
  std::vector<uint8_t> f = BuildFrame(d);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0 + 4000, &spec), ProxyAction::kForwardToClient);
  const Parsed p = Reparse(f);
  ASSERT_EQ(p.verdict, wire::Verdict::kOk);
  EXPECT_EQ(p.info.window, 400);
  // Clamped at 65535 when the client's scale cannot say it.
  d.tcp.window = 60000;
  f = BuildFrame(d);
  ASSERT_EQ(Feed(f, kT0 + 4000, &spec), ProxyAction::kForwardToClient);
  EXPECT_EQ(Reparse(f).info.window, 65535);
}

TEST_F(ProxyTest, TimestampAtAnOddOffsetKeepsTheChecksumRight) {
  Handshake();
  TcpFrame d = FromClient(kIc + 1, ip_ + 1, tf::kAck);
  std::vector<uint8_t> opt = {1, 8, 10};
  for (uint32_t v : {kClientTs + 7, tp_ + 11}) {
    for (int s = 24; s >= 0; s -= 8) opt.push_back(static_cast<uint8_t>(v >> s));
  }
  opt.push_back(1);
  d.tcp.raw_options = opt;
  d.tcp.payload = {1, 2, 3};
  std::vector<uint8_t> f = BuildFrame(d);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0 + 3000, &spec), ProxyAction::kForwardToBackend);
  const Parsed p = Reparse(f);
  ASSERT_EQ(p.verdict, wire::Verdict::kOk);
  EXPECT_EQ(p.info.options.ts_ecr, kTb + 11);
  EXPECT_EQ(p.info.options.ts_val, kClientTs + 7);
}

TEST_F(ProxyTest, FinsBothWaysThenLingerThenFree) {
  Handshake();
  wire::TcpSegmentSpec spec;
  // Client FIN at seq Ic+1 (after no data).
  std::vector<uint8_t> f =
      BuildFrame(FromClient(kIc + 1, ip_ + 1, tf::kFin | tf::kAck));
  ASSERT_EQ(Feed(f, kT0 + 10'000'000, &spec), ProxyAction::kForwardToBackend);
  // Backend ACKs it with its own FIN.
  f = BuildFrame(FromBackend(kIb + 1, kIc + 2, tf::kFin | tf::kAck));
  ASSERT_EQ(Feed(f, kT0 + 11'000'000, &spec), ProxyAction::kForwardToClient);
  EXPECT_EQ(Reparse(f).info.seq.value(), ip_ + 1);
  // The client's last ACK.
  f = BuildFrame(FromClient(kIc + 2, ip_ + 2, tf::kAck));
  ASSERT_EQ(Feed(f, kT0 + 12'000'000, &spec), ProxyAction::kForwardToBackend);
  EXPECT_EQ(Reparse(f).info.ack.value(), kIb + 2);
  EXPECT_EQ(core_.Find(kClient.value, kCport, kVport)->state, kRecordLinger);
  // A retransmitted FIN in the linger still translates.
  f = BuildFrame(FromBackend(kIb + 1, kIc + 2, tf::kFin | tf::kAck));
  ASSERT_EQ(Feed(f, kT0 + 13'000'000, &spec), ProxyAction::kForwardToClient);
  core_.Poll(kT0 + 500'000'000);
  EXPECT_EQ(core_.flows_in_use(), 1u);
  core_.Poll(kT0 + 3'000'000'000);  // past the 2 s linger
  EXPECT_EQ(core_.flows_in_use(), 0u);
  EXPECT_EQ(core_.count(ProxyCounter::kClosed), 1u);
  EXPECT_EQ(core_.backend(0).counts[static_cast<size_t>(BackendCounter::kOpen)],
            0u);
  // Afterwards, backend frames for the flow are unknown.
  f = BuildFrame(FromBackend(kIb + 2, kIc + 2, tf::kAck));
  EXPECT_EQ(Feed(f, kT0 + 3'100'000'000, &spec), ProxyAction::kDrop);
  EXPECT_EQ(core_.count(ProxyCounter::kUnknownBackendFrames), 1u);
}

TEST_F(ProxyTest, RstFromBackendIsForwardedAndEndsTheFlow) {
  Handshake();
  wire::TcpSegmentSpec spec;
  std::vector<uint8_t> f = BuildFrame(FromBackend(kIb + 1, kIc + 1, tf::kRst | tf::kAck));
  ASSERT_EQ(Feed(f, kT0 + 10'000'000, &spec), ProxyAction::kForwardToClient);
  EXPECT_EQ(Reparse(f).info.seq.value(), ip_ + 1);
  core_.Poll(kT0 + 3'000'000'000);
  EXPECT_EQ(core_.flows_in_use(), 0u);
}

TEST_F(ProxyTest, IdleFlowsEnd) {
  Handshake();
  core_.Poll(kT0 + 100'000'000'000);
  EXPECT_EQ(core_.flows_in_use(), 1u);
  core_.Poll(kT0 + 310'000'000'000);
  EXPECT_EQ(core_.flows_in_use(), 0u);
  EXPECT_EQ(core_.count(ProxyCounter::kIdleTimeouts), 1u);
}

TEST_F(ProxyTest, InvalidCookieIsDroppedAndCounted) {
  std::vector<uint8_t> f = BuildFrame(FromClient(1000, 123456, tf::kAck));
  wire::TcpSegmentSpec spec;
  EXPECT_EQ(Feed(f, kT0, &spec), ProxyAction::kDrop);
  EXPECT_EQ(core_.count(ProxyCounter::kCookiesInvalid), 1u);
  EXPECT_EQ(core_.flows_in_use(), 0u);
}

TEST_F(ProxyTest, LostAckThenWindowProbeStillOpensTheFlow) {
  TcpFrame syn = FromClient(kIc, 0, tf::kSyn);
  std::vector<uint8_t> f = BuildFrame(syn);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
  const uint32_t ip = spec.seq.value();
  // The completing ACK was lost; the zero-window probe has SEG.SEQ = ISN.
  f = BuildFrame(FromClient(kIc, ip + 1, tf::kAck));
  ASSERT_EQ(Feed(f, kT0 + 200'000'000, &spec), ProxyAction::kReplyToBackend);
  EXPECT_EQ(spec.seq.value(), kIc);
  EXPECT_EQ(core_.count(ProxyCounter::kCookiesValidProbe), 1u);
}

TEST_F(ProxyTest, EarlyDataIsDroppedAndCounted) {
  TcpFrame syn = FromClient(kIc, 0, tf::kSyn);
  std::vector<uint8_t> f = BuildFrame(syn);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
  TcpFrame ack = FromClient(kIc + 1, spec.seq.value() + 1, tf::kAck);
  ack.tcp.payload = {'G', 'E', 'T'};
  f = BuildFrame(ack);
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToBackend);
  f = BuildFrame(ack);
  EXPECT_EQ(Feed(f, kT0, &spec), ProxyAction::kDrop);
  EXPECT_EQ(core_.count(ProxyCounter::kEarlyDataDropped), 2u);
}

TEST_F(ProxyTest, BackendSynRetransmittedTwiceThenClientReset) {
  TcpFrame syn = FromClient(kIc, 0, tf::kSyn);
  std::vector<uint8_t> f = BuildFrame(syn);
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
  const uint32_t ip = spec.seq.value();
  f = BuildFrame(FromClient(kIc + 1, ip + 1, tf::kAck));
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToBackend);
  core_.Poll(kT0 + 500'000'000);
  EXPECT_TRUE(out_.sent.empty());
  core_.Poll(kT0 + 1'100'000'000);
  core_.Poll(kT0 + 2'200'000'000);
  ASSERT_EQ(out_.sent.size(), 2u);
  for (const auto& s : out_.sent) {
    EXPECT_TRUE(s.to_backend);
    EXPECT_EQ(s.spec.flags, tf::kSyn);
    EXPECT_EQ(s.spec.seq.value(), kIc);
  }
  core_.Poll(kT0 + 3'300'000'000);
  ASSERT_EQ(out_.sent.size(), 3u);
  const wire::TcpSegmentSpec& rst = out_.sent[2].spec;
  EXPECT_FALSE(out_.sent[2].to_backend);
  EXPECT_EQ(rst.flags, tf::kRst | tf::kAck);
  EXPECT_EQ(rst.seq.value(), ip + 1);
  EXPECT_EQ(rst.ack.value(), kIc + 1);
  EXPECT_EQ(core_.count(ProxyCounter::kBackendSynRetransmits), 2u);
  EXPECT_EQ(core_.count(ProxyCounter::kBackendSynTimeouts), 1u);
  EXPECT_EQ(core_.flows_in_use(), 0u);
}

TEST_F(ProxyTest, BackendRefusalResetsTheClient) {
  std::vector<uint8_t> f = BuildFrame(FromClient(kIc, 0, tf::kSyn));
  wire::TcpSegmentSpec spec;
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
  const uint32_t ip = spec.seq.value();
  f = BuildFrame(FromClient(kIc + 1, ip + 1, tf::kAck));
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToBackend);
  f = BuildFrame(FromBackend(0, kIc + 1, tf::kRst | tf::kAck));
  ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
  EXPECT_EQ(spec.flags, tf::kRst | tf::kAck);
  EXPECT_EQ(spec.seq.value(), ip + 1);
  EXPECT_EQ(spec.dst_mac, kClientMac);
  EXPECT_EQ(core_.count(ProxyCounter::kBackendRefused), 1u);
  EXPECT_EQ(core_.flows_in_use(), 0u);
}

TEST_F(ProxyTest, NewCookieAckReplacesAClosingRecord) {
  Handshake();
  wire::TcpSegmentSpec spec;
  std::vector<uint8_t> f =
      BuildFrame(FromClient(kIc + 1, ip_ + 1, tf::kFin | tf::kAck));
  ASSERT_EQ(Feed(f, kT0 + 10'000'000, &spec), ProxyAction::kForwardToBackend);
  // The same tuple, a new connection (ISN far ahead).
  const uint32_t ic2 = kIc + 1'000'000;
  f = BuildFrame(FromClient(ic2, 0, tf::kSyn));
  ASSERT_EQ(Feed(f, kT0 + 20'000'000, &spec), ProxyAction::kReplyToClient);
  f = BuildFrame(FromClient(ic2 + 1, spec.seq.value() + 1, tf::kAck));
  ASSERT_EQ(Feed(f, kT0 + 21'000'000, &spec), ProxyAction::kReplyToBackend);
  EXPECT_EQ(spec.seq.value(), ic2);
  EXPECT_EQ(core_.count(ProxyCounter::kReopened), 1u);
  EXPECT_EQ(core_.flows_in_use(), 1u);
  EXPECT_EQ(core_.Find(kClient.value, kCport, kVport)->state,
            kRecordConnecting);
}

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

TEST_F(ProxyTest, UnknownBackendFramesAreCounted) {
  std::vector<uint8_t> f = BuildFrame(FromBackend(1, 2, tf::kAck));
  wire::TcpSegmentSpec spec;
  EXPECT_EQ(Feed(f, kT0, &spec), ProxyAction::kDrop);
  EXPECT_EQ(core_.count(ProxyCounter::kUnknownBackendFrames), 1u);
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
