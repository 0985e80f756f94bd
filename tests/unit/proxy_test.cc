// ProxyCore (lib/app/proxy_core.h) without an EAL: the cookie handshake,
// the backend handshake, every translation with exact values (seq, ack,
// SACK, timestamps, window), checksums (re-parsed with software checks),
// FIN/RST following, linger, idle timeout, backend SYN retransmission and
// refusal, a closing tuple reopened. The backends' side is
// proxy_backends_test.
#include "tests/unit/proxy_test_util.h"

#include <gtest/gtest.h>

#include <vector>

namespace synwave::app {
namespace {

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

// A burst's cookies made together (PrepareSyns, vector lanes) are the
// ones made one at a time; frames that are not SYNs to a VIP port are left
// alone.
TEST_F(ProxyTest, PreparedCookiesEqualSingleOnes) {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<wire::PacketInfo> infos;
  for (uint32_t k = 0; k < 20; ++k) {
    TcpFrame syn = FromClient(kIc + k * 1000, 0, k == 7 ? tf::kAck : tf::kSyn);
    syn.tcp.src_port = static_cast<uint16_t>(2000 + k);
    syn.tcp.options.has_mss = true;
    syn.tcp.options.mss = static_cast<uint16_t>(536 + 50 * k);
    syn.tcp.options.has_timestamps = true;
    syn.tcp.options.ts_val = k;
    frames.push_back(BuildFrame(syn));
    wire::PacketInfo info;
    ASSERT_EQ(wire::ParseFrame(frames.back().data(), frames.back().size(), {},
                               &info),
              wire::Verdict::kOk);
    infos.push_back(info);
  }
  core_.PrepareSyns(infos.data(), static_cast<uint16_t>(infos.size()), kT0);
  for (size_t k = 0; k < frames.size(); ++k) {
    if (k == 7) continue;
    std::vector<uint8_t> a = frames[k], b = frames[k];
    wire::TcpSegmentSpec batch, single;
    ASSERT_EQ(core_.Process(a.data(), a.size(), infos[k], kT0, &batch,
                            static_cast<int>(k)),
              ProxyAction::kReplyToClient);
    ASSERT_EQ(core_.Process(b.data(), b.size(), infos[k], kT0, &single),
              ProxyAction::kReplyToClient);
    EXPECT_EQ(batch.seq, single.seq) << k;
    EXPECT_EQ(batch.options.ts_val, single.options.ts_val) << k;
  }
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

TEST_F(ProxyTest, UnknownBackendFramesAreCounted) {
  std::vector<uint8_t> f = BuildFrame(FromBackend(1, 2, tf::kAck));
  wire::TcpSegmentSpec spec;
  EXPECT_EQ(Feed(f, kT0, &spec), ProxyAction::kDrop);
  EXPECT_EQ(core_.count(ProxyCounter::kUnknownBackendFrames), 1u);
}

}  // namespace
}  // namespace synwave::app
