// Tests for WriteTcp6FrameHeaders: a SYN written from the fields scapy was
// given is scapy's frame byte for byte; segments with payload parse back to
// their fields; the offload mode leaves the pseudo-header sum the NIC
// completes into the right checksum.
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "scapy_ipv6_frames.h"
#include "wire/build.h"
#include "wire/checksum.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::wire {
namespace {

Tcp6SegmentSpec ScapySyn() {
  Tcp6SegmentSpec s;
  s.src_mac = MacAddress{{0x02, 0, 0, 0, 0, 0x01}};
  s.dst_mac = MacAddress{{0x02, 0, 0, 0, 0, 0x02}};
  s.src_ip = *Ipv6Address::Parse("2001:db8::10");
  s.dst_ip = *Ipv6Address::Parse("2001:db8::20");
  s.src_port = 12345;
  s.dst_port = 80;
  s.seq = SeqNum(0x01020304);
  s.flags = tcp_flags::kSyn;
  s.window = 64240;
  s.options.has_mss = true;
  s.options.mss = 1440;
  s.options.sack_permitted = true;
  s.options.has_timestamps = true;
  s.options.ts_val = 0x11223344;
  s.options.has_window_scale = true;
  s.options.window_scale = 7;
  return s;
}

TEST(Tcp6FrameTest, SynIsScapysFrame) {
  const Tcp6SegmentSpec spec = ScapySyn();
  std::vector<uint8_t> f(Tcp6FrameHeaderLength(spec), 0xcc);
  ASSERT_EQ(WriteTcp6FrameHeaders(f.data(), spec, ChecksumMode::kSoftware),
            f.size());
  EXPECT_EQ(f, std::vector<uint8_t>(
                   testutil::kScapySyn6,
                   testutil::kScapySyn6 + sizeof(testutil::kScapySyn6)));
}

TEST(Tcp6FrameTest, SegmentWithPayloadParsesBack) {
  Tcp6SegmentSpec spec = ScapySyn();
  spec.flags = tcp_flags::kAck | tcp_flags::kPsh;
  spec.options = TcpOptions{};
  spec.options.has_timestamps = true;
  spec.options.ts_val = 5;
  spec.options.ts_ecr = 6;
  spec.ack = SeqNum(0xfffffff0);
  spec.payload_length = 333;
  spec.flow_label = 0xabcde;
  spec.hop_limit = 7;
  const size_t header_len = Tcp6FrameHeaderLength(spec);
  std::vector<uint8_t> f(header_len + spec.payload_length);
  for (size_t i = header_len; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i);
  ASSERT_EQ(WriteTcp6FrameHeaders(f.data(), spec, ChecksumMode::kSoftware),
            header_len);
  PacketInfo info;
  ASSERT_EQ(VerdictName(ParseFrame(f.data(), static_cast<uint32_t>(f.size()),
                                   {}, &info)),
            "ok");
  EXPECT_EQ(info.family, IpFamily::kIpv6);
  EXPECT_EQ(info.payload_offset, header_len);
  EXPECT_EQ(info.payload_length, 333);
  EXPECT_EQ(info.ack, spec.ack);
  EXPECT_EQ(info.options, spec.options);
  EXPECT_EQ(Ipv6Src(f.data(), info), spec.src_ip);
  EXPECT_EQ(Ipv6Dst(f.data(), info), spec.dst_ip);
  const auto* ip = reinterpret_cast<const Ipv6Header*>(f.data() + 14);
  EXPECT_EQ(ip->version_class_flow.get(), 0x600abcdeu);
  EXPECT_EQ(ip->hop_limit, 7);
}

TEST(Tcp6FrameTest, OffloadLeavesThePseudoHeaderSumForTheNic) {
  Tcp6SegmentSpec spec = ScapySyn();
  spec.payload_length = 11;
  const size_t header_len = Tcp6FrameHeaderLength(spec);
  std::vector<uint8_t> f(header_len + spec.payload_length, 0x5a);
  WriteTcp6FrameHeaders(f.data(), spec, ChecksumMode::kOffload);
  uint8_t* tcp = f.data() + 54;
  const size_t l4_len = f.size() - 54;
  EXPECT_EQ(LoadBe16(tcp + 16),
            FoldSum(Ipv6PseudoHeaderSum(spec.src_ip, spec.dst_ip, 6,
                                        static_cast<uint32_t>(l4_len))));
  // What the NIC does: sum the segment starting from that value.
  const uint16_t seed = LoadBe16(tcp + 16);
  StoreBe16(tcp + 16, 0);
  const uint16_t nic =
      static_cast<uint16_t>(~FoldSum(PartialSum(tcp, l4_len, seed)));
  StoreBe16(tcp + 16, nic);
  PacketInfo info;
  EXPECT_EQ(VerdictName(ParseFrame(f.data(), static_cast<uint32_t>(f.size()),
                                   {}, &info)),
            "ok");
}

}  // namespace
}  // namespace synwave::wire
