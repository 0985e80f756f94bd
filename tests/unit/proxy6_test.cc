// ProxyCore as an IPv6 proxy (ProxyConfig::ipv6, Process6) without an EAL:
// what IPv6 has of its own. The translation itself is the IPv4 code's
// (proxy_test covers its values); here: the pseudo-header change of a VIP
// and a backend that differ in every word keeps the TCP checksums right
// both ways (re-parsed with software checks), the client's full address
// reaches the backend and its record (Find6), the IPv6 cookie's MSS table,
// options (SACK edges and timestamps) translated, the frames' owners the
// same from both sides, an IPv4 frame's fields never matching, and the
// backend's FIN and RST followed until the record is freed.
#include <gtest/gtest.h>

#include <vector>

#include "app/proxy_core.h"
#include "testing/frame_builder.h"
#include "tests/unit/proxy_test_util.h"
#include "wire/byte_order.h"
#include "wire/parse.h"

namespace synwave::app {
namespace {

using wire::Ipv6Address;

// Every 16-bit word differs between the VIP and the backend.
const Ipv6Address kVip6 = *Ipv6Address::Parse("2001:db8:1:2:3:4:5:6");
const Ipv6Address kSide6 = *Ipv6Address::Parse("fd7e:aaaa:bbbb:cccc::1");
const Ipv6Address kBackend6 =
    *Ipv6Address::Parse("fd7e:aaaa:bbbb:cccc:dddd:eeee:ffff:9");
const Ipv6Address kClient6 = *Ipv6Address::Parse("2a00:1450:4001:82b::200e");

ProxyConfig Config6() {
  ProxyConfig c = MakeConfig();
  c.vip = c.backend_side_ip = 0;
  c.ipv6 = true;
  c.vip6 = kVip6;
  c.backend_side_ip6 = kSide6;
  c.backends = {{0, 8080, kBackend6}};
  c.defaults.mss = 1440;
  return c;
}

class Proxy6Test : public ::testing::Test {
 protected:
  Proxy6Test() : core_(Config6()) {
    core_.set_output(&out_);
    core_.SetBackendMac(0, &kBackendMac);
  }

  testutil::Tcp6Frame Frame(bool from_client, uint32_t seq, uint32_t ack,
                            uint8_t flags) {
    testutil::Tcp6Frame t;
    t.eth.src = from_client ? kClientMac : kBackendMac;
    t.eth.dst = from_client ? kClientSideMac : kBackendSideMac;
    t.ip.src = from_client ? kClient6 : kBackend6;
    t.ip.dst = from_client ? kVip6 : kClient6;
    t.tcp.src_port = from_client ? kCport : 8080;
    t.tcp.dst_port = from_client ? kVport : kCport;
    t.tcp.seq = seq;
    t.tcp.ack = ack;
    t.tcp.flags = flags;
    return t;
  }

  ProxyAction Feed(std::vector<uint8_t>& f, uint64_t now,
                   wire::Tcp6SegmentSpec* spec, wire::PacketInfo* info) {
    EXPECT_EQ(wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                               info),
              wire::Verdict::kOk);
    return core_.Process6(f.data(), static_cast<uint16_t>(f.size()), *info,
                          now, spec);
  }

  // The handshakes, with timestamps and SACK; returns false on a failure.
  void Join() {
    testutil::Tcp6Frame syn = Frame(true, kIc, 0, tf::kSyn);
    syn.tcp.options.has_mss = true;
    syn.tcp.options.mss = 1440;
    syn.tcp.options.sack_permitted = true;
    syn.tcp.options.has_window_scale = true;
    syn.tcp.options.window_scale = 7;
    syn.tcp.options.has_timestamps = true;
    syn.tcp.options.ts_val = 1000;
    std::vector<uint8_t> f = testutil::BuildFrame(syn);
    wire::Tcp6SegmentSpec spec;
    wire::PacketInfo info;
    ASSERT_EQ(Feed(f, kT0, &spec, &info), ProxyAction::kReplyToClient);
    EXPECT_EQ(spec.src_ip, kVip6);
    EXPECT_EQ(spec.dst_ip, kClient6);
    EXPECT_EQ(spec.window, 0);
    EXPECT_EQ(spec.options.mss, 1440);
    ip_ = spec.seq.value();
    const uint32_t tp = spec.options.ts_val;

    testutil::Tcp6Frame ack = Frame(true, kIc + 1, ip_ + 1, tf::kAck);
    ack.tcp.window = 502;
    ack.tcp.options.has_timestamps = true;
    ack.tcp.options.ts_val = 1001;
    ack.tcp.options.ts_ecr = tp;
    f = testutil::BuildFrame(ack);
    ASSERT_EQ(Feed(f, kT0 + 1000, &spec, &info), ProxyAction::kReplyToBackend);
    EXPECT_EQ(spec.src_ip, kClient6);  // the client's own address
    EXPECT_EQ(spec.dst_ip, kBackend6);
    EXPECT_EQ(spec.flags, tf::kSyn);
    EXPECT_EQ(spec.seq.value(), kIc);
    EXPECT_EQ(spec.options.mss, 1440);  // from the IPv6 cookie's table
    EXPECT_TRUE(spec.options.sack_permitted);

    testutil::Tcp6Frame sa = Frame(false, kIb, kIc + 1, tf::kSyn | tf::kAck);
    sa.tcp.window = 65000;
    sa.tcp.options.has_mss = true;
    sa.tcp.options.mss = 1440;
    sa.tcp.options.has_window_scale = true;
    sa.tcp.options.window_scale = 7;
    sa.tcp.options.sack_permitted = true;
    sa.tcp.options.has_timestamps = true;
    sa.tcp.options.ts_val = kTb;
    sa.tcp.options.ts_ecr = 1001;
    f = testutil::BuildFrame(sa);
    out_.sent6.clear();
    ASSERT_EQ(Feed(f, kT0 + 2000, &spec, &info), ProxyAction::kReplyToBackend);
    EXPECT_EQ(spec.dst_ip, kBackend6);
    EXPECT_EQ(spec.ack.value(), kIb + 1);
    ASSERT_EQ(out_.sent6.size(), 1u);  // the window update
    EXPECT_EQ(out_.sent6[0].spec.dst_ip, kClient6);
    EXPECT_EQ(out_.sent6[0].spec.src_ip, kVip6);
    EXPECT_EQ(out_.sent6[0].spec.seq.value(), ip_ + 1);
    EXPECT_TRUE(out_.sent.empty()) << "an IPv4 frame from an IPv6 proxy";
  }

  static constexpr uint32_t kIc = 0xfffffff0;
  static constexpr uint32_t kIb = 0x10000000;
  static constexpr uint32_t kTb = 0x7ffffff0;
  Recorder out_;
  ProxyCore core_;
  uint32_t ip_ = 0;
};

TEST_F(Proxy6Test, DataBothWaysTranslatedWithChecksumsThatVerify) {
  Join();
  ASSERT_NE(core_.Find6(kClient6, kCport, kVport), nullptr);
  EXPECT_EQ(core_.Find6(kBackend6, kCport, kVport), nullptr);

  testutil::Tcp6Frame d = Frame(true, kIc + 1, ip_ + 1, tf::kAck | tf::kPsh);
  d.tcp.payload.assign(301, 'q');  // odd: the checksum's padding byte
  // NOP NOP TS, NOP NOP SACK with one block (edges in our space).
  std::vector<uint8_t> opt = {1, 1, 8, 10};
  auto be32 = [&](uint32_t v) {
    for (int k = 24; k >= 0; k -= 8) opt.push_back(static_cast<uint8_t>(v >> k));
  };
  be32(1002);
  be32(55);
  opt.insert(opt.end(), {1, 1, 5, 10});
  be32(ip_ + 100);
  be32(ip_ + 200);
  d.tcp.raw_options = opt;
  std::vector<uint8_t> f = testutil::BuildFrame(d);
  wire::Tcp6SegmentSpec spec;
  wire::PacketInfo info;
  ASSERT_EQ(Feed(f, kT0 + 3000, &spec, &info), ProxyAction::kForwardToBackend);
  Parsed p = Reparse(f);
  ASSERT_EQ(p.verdict, wire::Verdict::kOk) << "checksum after the rewrite";
  EXPECT_EQ(wire::Ipv6Src(f.data(), p.info), kClient6);
  EXPECT_EQ(wire::Ipv6Dst(f.data(), p.info), kBackend6);
  EXPECT_EQ(p.info.dst_port, 8080);
  EXPECT_EQ(p.info.ack.value(), kIb + 1);
  const uint8_t* sack = f.data() + p.info.l4_offset + 20 + 16;
  EXPECT_EQ(wire::LoadBe32(sack), kIb + 100);
  EXPECT_EQ(wire::LoadBe32(sack + 4), kIb + 200);
  EXPECT_EQ(p.info.options.ts_val, 1002u);
  EXPECT_EQ(p.info.payload_length, 301);
  EXPECT_EQ(MacAddress::FromBytes(f.data()), kBackendMac);

  testutil::Tcp6Frame r = Frame(false, kIb + 1, kIc + 302, tf::kAck | tf::kPsh);
  r.tcp.payload.assign(1000, 's');
  r.tcp.options.has_timestamps = true;
  r.tcp.options.ts_val = kTb + 20;
  r.tcp.options.ts_ecr = 1002;
  f = testutil::BuildFrame(r);
  ASSERT_EQ(Feed(f, kT0 + 4000, &spec, &info), ProxyAction::kForwardToClient);
  p = Reparse(f);
  ASSERT_EQ(p.verdict, wire::Verdict::kOk) << "checksum after the rewrite";
  EXPECT_EQ(wire::Ipv6Src(f.data(), p.info), kVip6);
  EXPECT_EQ(wire::Ipv6Dst(f.data(), p.info), kClient6);
  EXPECT_EQ(p.info.src_port, kVport);
  EXPECT_EQ(p.info.seq.value(), ip_ + 1);
  EXPECT_EQ(MacAddress::FromBytes(f.data()), kClientMac);
  EXPECT_EQ(core_.count(ProxyCounter::kToBackend), 1u);
  EXPECT_EQ(core_.count(ProxyCounter::kToClient), 1u);
}

// Both sides of a flow name the same worker; a SYN stays where it came.
// A burst's cookies made together (PrepareSyns6: one MakeBatch, hashed
// from the state after the VIP) are the ones Process6 makes one at a
// time; an ACK, and a SYN to another address, get no prepared cookie.
TEST_F(Proxy6Test, PreparedCookiesEqualSingleOnes) {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<wire::PacketInfo> infos;
  constexpr uint32_t kAckAt = 7;
  constexpr uint32_t kOtherDstAt = 11;
  for (uint32_t k = 0; k < 20; ++k) {
    testutil::Tcp6Frame syn =
        Frame(true, kIc + k * 1000, 0, k == kAckAt ? tf::kAck : tf::kSyn);
    syn.tcp.src_port = static_cast<uint16_t>(2000 + k);
    syn.ip.src.bytes[15] = static_cast<uint8_t>(k);
    if (k == kOtherDstAt) syn.ip.dst = kSide6;
    syn.tcp.options.has_mss = true;
    syn.tcp.options.mss = static_cast<uint16_t>(1200 + 400 * (k % 5));
    syn.tcp.options.has_timestamps = true;
    syn.tcp.options.ts_val = k;
    frames.push_back(testutil::BuildFrame(syn));
    wire::PacketInfo info;
    ASSERT_EQ(wire::ParseFrame(frames.back().data(),
                               static_cast<uint32_t>(frames.back().size()), {},
                               &info),
              wire::Verdict::kOk);
    infos.push_back(info);
  }
  std::vector<const uint8_t*> ptrs;
  for (const auto& f : frames) ptrs.push_back(f.data());
  core_.PrepareSyns6(ptrs.data(), infos.data(),
                     static_cast<uint16_t>(infos.size()), kT0);
  for (uint32_t k = 0; k < frames.size(); ++k) {
    if (k == kAckAt || k == kOtherDstAt) continue;
    std::vector<uint8_t> a = frames[k], b = frames[k];
    wire::Tcp6SegmentSpec batch, single;
    ASSERT_EQ(core_.Process6(a.data(), static_cast<uint16_t>(a.size()),
                             infos[k], kT0, &batch, static_cast<int>(k)),
              ProxyAction::kReplyToClient);
    ASSERT_EQ(core_.Process6(b.data(), static_cast<uint16_t>(b.size()),
                             infos[k], kT0, &single),
              ProxyAction::kReplyToClient);
    EXPECT_EQ(batch.seq, single.seq) << k;
    EXPECT_EQ(batch.options.ts_val, single.options.ts_val) << k;
    EXPECT_EQ(batch.options.mss, single.options.mss) << k;
  }
  EXPECT_EQ(core_.count(ProxyCounter::kCookieSynAcks), 2u * 18);
}

TEST_F(Proxy6Test, OwnersAgreeFromBothSides) {
  std::vector<uint8_t> c =
      testutil::BuildFrame(Frame(true, kIc + 1, 5, tf::kAck));
  std::vector<uint8_t> b =
      testutil::BuildFrame(Frame(false, kIb + 1, kIc + 1, tf::kAck));
  std::vector<uint8_t> s = testutil::BuildFrame(Frame(true, kIc, 0, tf::kSyn));
  wire::PacketInfo ci, bi, si;
  ASSERT_EQ(wire::ParseFrame(c.data(), c.size(), {}, &ci), wire::Verdict::kOk);
  ASSERT_EQ(wire::ParseFrame(b.data(), b.size(), {}, &bi), wire::Verdict::kOk);
  ASSERT_EQ(wire::ParseFrame(s.data(), s.size(), {}, &si), wire::Verdict::kOk);
  for (int workers : {2, 3, 8}) {
    const int owner = core_.Owner6(c.data(), ci, workers);
    EXPECT_EQ(owner, core_.Owner6(b.data(), bi, workers));
    EXPECT_EQ(owner, ProxyCore::ClientOwner(ProxyCore::ClientId(kClient6),
                                            kCport, workers));
    EXPECT_EQ(core_.Owner6(s.data(), si, workers), -1);
  }
}

TEST_F(Proxy6Test, ForgedAckAndUnknownBackendFramesAreCounted) {
  std::vector<uint8_t> f =
      testutil::BuildFrame(Frame(true, kIc + 1, 12345, tf::kAck));
  wire::Tcp6SegmentSpec spec;
  wire::PacketInfo info;
  EXPECT_EQ(Feed(f, kT0, &spec, &info), ProxyAction::kDrop);
  EXPECT_EQ(core_.count(ProxyCounter::kCookiesInvalid), 1u);
  f = testutil::BuildFrame(Frame(false, kIb, kIc + 1, tf::kAck));
  EXPECT_EQ(Feed(f, kT0, &spec, &info), ProxyAction::kDrop);
  EXPECT_EQ(core_.count(ProxyCounter::kUnknownBackendFrames), 1u);
  EXPECT_EQ(core_.flows_in_use(), 0u);
}

TEST_F(Proxy6Test, BackendFinAndRstFollowedThenTheRecordIsFreed) {
  Join();
  std::vector<uint8_t> f =
      testutil::BuildFrame(Frame(false, kIb + 1, kIc + 1, tf::kAck | tf::kFin));
  wire::Tcp6SegmentSpec spec;
  wire::PacketInfo info;
  ASSERT_EQ(Feed(f, kT0 + 3000, &spec, &info), ProxyAction::kForwardToClient);
  EXPECT_EQ(Reparse(f).verdict, wire::Verdict::kOk);
  f = testutil::BuildFrame(Frame(true, kIc + 1, ip_ + 2, tf::kRst | tf::kAck));
  ASSERT_EQ(Feed(f, kT0 + 4000, &spec, &info), ProxyAction::kForwardToBackend);
  EXPECT_EQ(Reparse(f).info.ack.value(), kIb + 2);
  EXPECT_EQ(core_.flows_in_use(), 1u);  // lingering
  for (uint64_t t = kT0 + 3'000'000'000; t < kT0 + 3'200'000'000;
       t += 1'000'000) {
    core_.Poll(t);
  }
  EXPECT_EQ(core_.flows_in_use(), 0u);
  EXPECT_EQ(core_.count(ProxyCounter::kClosed), 1u);
  EXPECT_EQ(core_.Find6(kClient6, kCport, kVport), nullptr);
}

// The backend never answers: its SYN again over IPv6, then the client RST.
TEST_F(Proxy6Test, BackendSynRetransmittedThenTheClientReset) {
  testutil::Tcp6Frame syn = Frame(true, kIc, 0, tf::kSyn);
  std::vector<uint8_t> f = testutil::BuildFrame(syn);
  wire::Tcp6SegmentSpec spec;
  wire::PacketInfo info;
  ASSERT_EQ(Feed(f, kT0, &spec, &info), ProxyAction::kReplyToClient);
  const uint32_t ip = spec.seq.value();
  f = testutil::BuildFrame(Frame(true, kIc + 1, ip + 1, tf::kAck));
  ASSERT_EQ(Feed(f, kT0, &spec, &info), ProxyAction::kReplyToBackend);
  for (uint64_t t = kT0; t < kT0 + 4'500'000'000; t += 1'000'000) {
    core_.Poll(t);
  }
  ASSERT_GE(out_.sent6.size(), 3u);
  EXPECT_TRUE(out_.sent6[0].to_backend);
  EXPECT_EQ(out_.sent6[0].spec.src_ip, kClient6);
  EXPECT_EQ(out_.sent6[0].spec.dst_ip, kBackend6);
  EXPECT_EQ(out_.sent6.back().spec.flags, tf::kRst | tf::kAck);
  EXPECT_EQ(out_.sent6.back().spec.dst_ip, kClient6);
  EXPECT_EQ(out_.sent6.back().spec.src_ip, kVip6);
  EXPECT_EQ(core_.count(ProxyCounter::kBackendSynTimeouts), 1u);
  EXPECT_EQ(core_.flows_in_use(), 0u);
  EXPECT_TRUE(out_.sent.empty());
}

}  // namespace
}  // namespace synwave::app
