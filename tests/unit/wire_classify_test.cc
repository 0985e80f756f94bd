// Tests for the receive fast path (wire/classify.h): the burst classifier's
// scalar and AVX2 forms give the same mask on crafted and random frames, it
// passes exactly the template (our MAC, an individual source, IPv4 with a
// 20-byte header, not a fragment, TCP, our address), and ParseTcp4Fast
// accepts a classified frame exactly when ParseFrame accepts it as TCP,
// with the same fields, under every checksum offload state.
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "testing/frame_builder.h"
#include "wire/classify.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::wire {
namespace {

const MacAddress kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const Ipv4Address kOurIp = Ipv4Address::FromOctets(10, 0, 0, 2);
const ClassifyKey kKey{kOurMac, kOurIp};

constexpr RxChecksum kStates[] = {RxChecksum::kUnknown, RxChecksum::kGood,
                                  RxChecksum::kBad};

testutil::TcpFrame SynFrame() {
  testutil::TcpFrame f;
  f.eth.dst = kOurMac;
  f.ip.dst = kOurIp;
  f.tcp.options.has_mss = true;
  f.tcp.options.mss = 1460;
  f.tcp.options.sack_permitted = true;
  f.tcp.options.has_timestamps = true;
  f.tcp.options.ts_val = 12345;
  f.tcp.options.has_window_scale = true;
  f.tcp.options.window_scale = 7;
  return f;
}

// Both forms over one burst; they must agree. Returns the mask.
uint64_t Classify(const BurstClassifier& c,
                  const std::vector<std::vector<uint8_t>>& frames) {
  const uint8_t* p[64];
  uint16_t len[64];
  for (size_t i = 0; i < frames.size(); ++i) {
    p[i] = frames[i].data();
    len[i] = static_cast<uint16_t>(frames[i].size());
  }
  const auto n = static_cast<uint32_t>(frames.size());
  const uint64_t scalar = c.ClassifyScalar(p, len, n);
  if (BurstClassifier::HasAvx2()) {
    EXPECT_EQ(c.ClassifyAvx2(p, len, n), scalar);
  }
  EXPECT_EQ(c.Classify(p, len, n), scalar);
  return scalar;
}

bool ClassifyOne(const std::vector<uint8_t>& frame) {
  const BurstClassifier c(kKey);
  return Classify(c, {frame}) == 1;
}

TEST(BurstClassifierTest, PassesTheCommonFrame) {
  EXPECT_TRUE(ClassifyOne(testutil::BuildFrame(SynFrame())));
  testutil::TcpFrame ack = SynFrame();
  ack.tcp.flags = tcp_flags::kAck;
  ack.tcp.options = TcpOptions{};
  ack.ip.flags_fragment = 0;  // DF clear is fine too
  EXPECT_TRUE(ClassifyOne(testutil::BuildFrame(ack)));  // 54 bytes
}

TEST(BurstClassifierTest, RefusesEveryOtherTemplateField) {
  auto with = [](auto change) {
    testutil::TcpFrame f = SynFrame();
    change(f);
    return testutil::BuildFrame(f);
  };
  EXPECT_FALSE(ClassifyOne(with([](auto& f) { f.eth.dst.bytes[0] ^= 0x10; })));
  EXPECT_FALSE(ClassifyOne(with([](auto& f) { f.eth.dst.bytes[5] ^= 1; })));
  EXPECT_FALSE(
      ClassifyOne(with([](auto& f) { f.eth.dst = MacAddress::Broadcast(); })));
  EXPECT_FALSE(ClassifyOne(with([](auto& f) { f.eth.src.bytes[0] |= 1; })));
  EXPECT_FALSE(ClassifyOne(
      with([](auto& f) { f.eth.ether_type = uint16_t{0x8100}; })));
  EXPECT_FALSE(ClassifyOne(
      with([](auto& f) { f.eth.ether_type = kEtherTypeIpv6; })));
  EXPECT_FALSE(ClassifyOne(with([](auto& f) { f.ip.version = uint8_t{6}; })));
  EXPECT_FALSE(ClassifyOne(
      with([](auto& f) { f.ip.options = {1, 1, 1, 1}; })));  // IHL 6
  EXPECT_FALSE(ClassifyOne(with([](auto& f) {
    f.ip.flags_fragment = kIpv4FlagMoreFragments;
  })));
  EXPECT_FALSE(
      ClassifyOne(with([](auto& f) { f.ip.flags_fragment = 0x0001; })));
  EXPECT_FALSE(
      ClassifyOne(with([](auto& f) { f.ip.flags_fragment = 0x1000; })));
  EXPECT_FALSE(
      ClassifyOne(with([](auto& f) { f.ip.protocol = kIpProtoIcmp; })));
  EXPECT_FALSE(ClassifyOne(with([](auto& f) { f.ip.protocol = uint8_t{17}; })));
  EXPECT_FALSE(ClassifyOne(with([](auto& f) {
    f.ip.dst = Ipv4Address::FromOctets(10, 0, 0, 3);
  })));
  EXPECT_FALSE(ClassifyOne(with([](auto& f) {
    f.ip.dst = Ipv4Address::FromOctets(11, 0, 0, 2);
  })));
  // Shorter than the three headers.
  std::vector<uint8_t> short_frame = testutil::BuildFrame(SynFrame());
  short_frame.resize(kClassifyMinLength - 1);
  EXPECT_FALSE(ClassifyOne(short_frame));
}

TEST(BurstClassifierTest, BitsFollowTheBurst) {
  const BurstClassifier c(kKey);
  std::vector<std::vector<uint8_t>> burst;
  uint64_t want = 0;
  for (int i = 0; i < 64; ++i) {
    testutil::TcpFrame f = SynFrame();
    f.tcp.src_port = static_cast<uint16_t>(1000 + i);
    if (i % 3 == 1) f.ip.dst = Ipv4Address::FromOctets(10, 0, 0, 9);
    if (i % 3 != 1) want |= uint64_t{1} << i;
    burst.push_back(testutil::BuildFrame(f));
  }
  EXPECT_EQ(Classify(c, burst), want);
  // A frame left out by a zero length.
  const uint8_t* p[1] = {burst[0].data()};
  const uint16_t len[1] = {0};
  EXPECT_EQ(c.ClassifyScalar(p, len, 1), 0u);
}

TEST(BurstClassifierTest, FormsAgreeOnRandomFrames) {
  std::mt19937 rng(2026);
  const BurstClassifier c(kKey);
  const std::vector<uint8_t> base = testutil::BuildFrame(SynFrame());
  int matched = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<std::vector<uint8_t>> burst;
    const int n = 1 + static_cast<int>(rng() % 64);
    for (int i = 0; i < n; ++i) {
      std::vector<uint8_t> f = base;
      // Mostly a byte or two of the template changed; now and then all
      // random bytes, or a random length.
      switch (rng() % 4) {
        case 0:
          break;
        case 1:
          f[rng() % 34] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 2:
          f[rng() % 34] = static_cast<uint8_t>(rng());
          f[rng() % 34] = static_cast<uint8_t>(rng());
          break;
        case 3:
          for (auto& b : f) b = static_cast<uint8_t>(rng());
          f.resize(34 + rng() % 60);
          break;
      }
      burst.push_back(std::move(f));
    }
    matched += __builtin_popcountll(Classify(c, burst));
  }
  EXPECT_GT(matched, 0);
}

// ParseTcp4Fast against ParseFrame for one classified frame, every offload
// state: accepted by one exactly when accepted as TCP by the other, with
// the same fields. Returns whether the software-checksum form accepted it.
bool FastAgrees(const std::vector<uint8_t>& frame) {
  const auto len = static_cast<uint32_t>(frame.size());
  bool accepted_sw = false;
  for (RxChecksum ip : kStates) {
    for (RxChecksum l4 : kStates) {
      const RxOffload offload{ip, l4};
      PacketInfo info;
      const bool full = ParseFrame(frame.data(), len, offload, &info) ==
                            Verdict::kOk &&
                        info.kind == PacketKind::kTcp;
      Tcp4Fields f;
      TcpOptions options;
      const bool fast =
          ParseTcp4Fast(frame.data(), len, offload, &f, &options);
      EXPECT_EQ(fast, full);
      if (!fast || !full) continue;
      if (ip == RxChecksum::kUnknown && l4 == RxChecksum::kUnknown) {
        accepted_sw = true;
      }
      EXPECT_EQ(f.src_ip, info.src_ip.value);
      EXPECT_EQ(f.dst_ip, info.dst_ip.value);
      EXPECT_EQ(f.src_port, info.src_port);
      EXPECT_EQ(f.dst_port, info.dst_port);
      EXPECT_EQ(f.seq, info.seq.value());
      EXPECT_EQ(f.ack, info.ack.value());
      EXPECT_EQ(f.flags, info.tcp_flags);
      EXPECT_EQ(f.window, info.window);
      EXPECT_EQ(f.payload_offset, info.payload_offset);
      EXPECT_EQ(f.payload_length, info.payload_length);
      EXPECT_EQ(options, info.options);
    }
  }
  return accepted_sw;
}

TEST(ParseTcp4FastTest, RefusesWhatParseFrameRefuses) {
  auto with = [](auto change) {
    testutil::TcpFrame f = SynFrame();
    change(f);
    std::vector<uint8_t> bytes = testutil::BuildFrame(f);
    EXPECT_TRUE(ClassifyOne(bytes));
    return bytes;
  };
  EXPECT_TRUE(FastAgrees(with([](auto&) {})));
  EXPECT_FALSE(FastAgrees(with([](auto& f) { f.tcp.checksum = uint16_t{1}; })));
  EXPECT_FALSE(FastAgrees(with([](auto& f) { f.ip.checksum = uint16_t{1}; })));
  for (const Ipv4Address src :
       {Ipv4Address{}, Ipv4Address{0xffffffffu},
        Ipv4Address::FromOctets(224, 0, 0, 1),
        Ipv4Address::FromOctets(127, 0, 0, 1), kOurIp}) {
    EXPECT_FALSE(FastAgrees(with([&](auto& f) { f.ip.src = src; })));
  }
  EXPECT_FALSE(FastAgrees(with([](auto& f) {
    f.tcp.flags = tcp_flags::kSyn | tcp_flags::kFin;
  })));
  EXPECT_FALSE(FastAgrees(with([](auto& f) {
    f.tcp.flags = tcp_flags::kSyn | tcp_flags::kRst;
  })));
  EXPECT_FALSE(FastAgrees(with([](auto& f) {
    f.tcp.raw_options = std::vector<uint8_t>{2, 3, 5, 0};  // MSS of length 3
  })));
  EXPECT_FALSE(FastAgrees(
      with([](auto& f) { f.ip.total_length = uint16_t{39}; })));
  EXPECT_FALSE(FastAgrees(
      with([](auto& f) { f.ip.total_length = uint16_t{1000}; })));
  EXPECT_FALSE(FastAgrees(
      with([](auto& f) { f.tcp.data_offset_words = uint8_t{4}; })));
  EXPECT_FALSE(FastAgrees(
      with([](auto& f) { f.tcp.data_offset_words = uint8_t{15}; })));
  // Padding past the total length is fine; so is a payload and no options.
  EXPECT_TRUE(FastAgrees(with([](auto& f) {
    f.tcp.flags = tcp_flags::kAck | tcp_flags::kPsh;
    f.tcp.options = TcpOptions{};
    f.tcp.payload = {1, 2, 3};
    f.eth.pad_to = 80;
    f.eth.pad_byte = 0xab;
  })));
}

TEST(ParseTcp4FastTest, AgreesWithParseFrameOnRandomFrames) {
  std::mt19937 rng(1071);
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    testutil::TcpFrame f = SynFrame();
    f.ip.src = Ipv4Address{static_cast<uint32_t>(rng())};
    if (rng() % 8 == 0) f.ip.src = kOurIp;
    f.tcp.src_port = static_cast<uint16_t>(rng());
    f.tcp.seq = static_cast<uint32_t>(rng());
    f.tcp.ack = static_cast<uint32_t>(rng());
    f.tcp.flags = static_cast<uint8_t>(rng());
    f.tcp.window = static_cast<uint16_t>(rng());
    const uint32_t bits = rng();
    f.tcp.options.has_mss = bits & 1;
    f.tcp.options.sack_permitted = bits & 2;
    f.tcp.options.has_timestamps = bits & 4;
    f.tcp.options.has_window_scale = bits & 8;
    f.tcp.payload.resize(rng() % 200);
    for (auto& b : f.tcp.payload) b = static_cast<uint8_t>(rng());
    if (rng() % 6 == 0) f.eth.pad_to = 60 + rng() % 300;
    std::vector<uint8_t> bytes = testutil::BuildFrame(f);
    // Now and then a byte past the template is damaged (lengths, checksums,
    // options, ports), or the frame is cut.
    if (rng() % 3 == 0) {
      bytes[34 + rng() % (bytes.size() - 34)] ^= static_cast<uint8_t>(rng());
    }
    if (rng() % 5 == 0) bytes[16 + rng() % 2] ^= static_cast<uint8_t>(rng());
    if (rng() % 10 == 0) bytes[24 + rng() % 2] ^= static_cast<uint8_t>(rng());
    if (rng() % 10 == 0) {
      bytes.resize(kClassifyMinLength + rng() % (bytes.size() - 53));
    }
    if (!ClassifyOne(bytes)) continue;
    accepted += FastAgrees(bytes);
  }
  EXPECT_GT(accepted, 1000);
}

}  // namespace
}  // namespace synwave::wire
