// Tests for WriteTcpFrameHeaders and WriteTcp6FrameHeaders' software
// checksums, which are summed from the values written (not read back from
// the frame): over random headers, option sets and payloads they must equal,
// bit for bit, a full recompute over the bytes, and the frame must parse
// back to the fields it was written from.
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "wire/build.h"
#include "wire/checksum.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::wire {
namespace {

TcpOptions RandomOptions(std::mt19937& rng) {
  TcpOptions o;
  const uint32_t bits = rng();
  o.has_mss = bits & 1;
  o.sack_permitted = bits & 2;
  o.has_timestamps = bits & 4;
  o.has_window_scale = bits & 8;
  o.mss = static_cast<uint16_t>(rng());
  o.window_scale = static_cast<uint8_t>(rng() % 15);
  // All ones now and then: the words that carry.
  o.ts_val = bits & 16 ? 0xffffffffu : static_cast<uint32_t>(rng());
  o.ts_ecr = bits & 32 ? 0xffffffffu : static_cast<uint32_t>(rng());
  return o;
}

template <typename Spec>
void RandomTcpFields(std::mt19937& rng, Spec& s) {
  for (auto& b : s.src_mac.bytes) b = static_cast<uint8_t>(rng());
  for (auto& b : s.dst_mac.bytes) b = static_cast<uint8_t>(rng());
  s.src_mac.bytes[0] &= 0xfe;
  s.src_port = static_cast<uint16_t>(rng());
  s.dst_port = static_cast<uint16_t>(rng());
  s.seq = SeqNum(static_cast<uint32_t>(rng()));
  s.ack = SeqNum(static_cast<uint32_t>(rng()));
  // Any flags but the combinations the parser refuses (SYN with FIN or RST).
  s.flags = static_cast<uint8_t>(rng());
  if (s.flags & tcp_flags::kSyn) s.flags &= ~(tcp_flags::kFin | tcp_flags::kRst);
  s.window = rng() % 8 == 0 ? 0xffff : static_cast<uint16_t>(rng());
  s.options = RandomOptions(rng);
  // Odd lengths too: the payload's last byte is padded.
  s.payload_length = static_cast<uint16_t>(rng() % 4 == 0 ? 0 : rng() % 1500);
}

TEST(TcpFrameChecksumTest, Ipv4EqualsFullRecompute) {
  std::mt19937 rng(1624);
  for (int trial = 0; trial < 20000; ++trial) {
    TcpSegmentSpec s;
    RandomTcpFields(rng, s);
    // Unicast sources the parser accepts (10/8), any other destination.
    s.src_ip = Ipv4Address{0x0a000000 | (static_cast<uint32_t>(rng()) >> 8)};
    s.dst_ip = Ipv4Address{static_cast<uint32_t>(rng()) | 0x80000000};
    s.ip_id = trial % 7 == 0 ? 0xffff : static_cast<uint16_t>(rng());
    s.ttl = static_cast<uint8_t>(rng());
    const size_t header_len = TcpFrameHeaderLength(s);
    std::vector<uint8_t> f(header_len + s.payload_length);
    for (size_t i = header_len; i < f.size(); ++i) {
      f[i] = trial % 11 == 0 ? 0xff : static_cast<uint8_t>(rng());
    }
    ASSERT_EQ(WriteTcpFrameHeaders(f.data(), s, ChecksumMode::kSoftware,
                                   ChecksumMode::kSoftware),
              header_len);
    auto* ip = reinterpret_cast<Ipv4Header*>(f.data() + kEthernetHeaderLength);
    auto* tcp = reinterpret_cast<TcpHeader*>(f.data() + kEthernetHeaderLength +
                                             kIpv4MinHeaderLength);
    const uint16_t ip_written = ip->checksum.get();
    const uint16_t tcp_written = tcp->checksum.get();
    // The full recompute with the fields zeroed, through the generic sum.
    ip->checksum.set(0);
    tcp->checksum.set(0);
    const size_t l4_len = f.size() - kEthernetHeaderLength - kIpv4MinHeaderLength;
    ASSERT_EQ(ip_written, static_cast<uint16_t>(~FoldSum(PartialSum(
                              ip, kIpv4MinHeaderLength))))
        << "trial " << trial;
    ASSERT_EQ(tcp_written,
              static_cast<uint16_t>(~FoldSum(PartialSum(
                  tcp, l4_len,
                  PseudoHeaderSum(s.src_ip, s.dst_ip, kIpProtoTcp,
                                  static_cast<uint16_t>(l4_len))))))
        << "trial " << trial;
    ip->checksum.set(ip_written);
    tcp->checksum.set(tcp_written);

    // And the parser, with software checksums, takes it back.
    PacketInfo info;
    ASSERT_EQ(ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {}, &info),
              Verdict::kOk)
        << "trial " << trial;
    EXPECT_EQ(info.seq, s.seq);
    EXPECT_EQ(info.ack, s.ack);
    EXPECT_EQ(info.tcp_flags, s.flags);
    EXPECT_EQ(info.window, s.window);
    EXPECT_EQ(info.payload_length, s.payload_length);
    TcpOptions want = s.options;
    if (!want.has_timestamps) want.ts_val = want.ts_ecr = 0;
    if (!want.has_mss) want.mss = 0;
    if (!want.has_window_scale) want.window_scale = 0;
    EXPECT_EQ(info.options, want);
  }
}

// With both checksums offloaded the IPv4 header checksum is left zero and
// the TCP field holds the folded pseudo-header sum (DPDK's contract: the
// NIC adds the segment to it), whatever the lengths and addresses; the two
// families' writers share the code that stores it.
TEST(TcpFrameChecksumTest, Ipv4OffloadLeavesThePseudoHeaderSum) {
  std::mt19937 rng(793);
  for (int trial = 0; trial < 20000; ++trial) {
    TcpSegmentSpec s;
    RandomTcpFields(rng, s);
    s.src_ip = Ipv4Address{trial % 5 == 0 ? 0xffffffffu
                                          : static_cast<uint32_t>(rng())};
    s.dst_ip = Ipv4Address{trial % 7 == 0 ? 0xffffffffu
                                          : static_cast<uint32_t>(rng())};
    const size_t header_len = TcpFrameHeaderLength(s);
    std::vector<uint8_t> f(header_len + s.payload_length);
    ASSERT_EQ(WriteTcpFrameHeaders(f.data(), s, ChecksumMode::kOffload,
                                   ChecksumMode::kOffload),
              header_len);
    auto* ip = reinterpret_cast<Ipv4Header*>(f.data() + kEthernetHeaderLength);
    auto* tcp = reinterpret_cast<TcpHeader*>(f.data() + kEthernetHeaderLength +
                                             kIpv4MinHeaderLength);
    const size_t l4_len = f.size() - kEthernetHeaderLength - kIpv4MinHeaderLength;
    ASSERT_EQ(ip->checksum.get(), 0) << "trial " << trial;
    ASSERT_EQ(tcp->checksum.get(),
              FoldSum(PseudoHeaderSum(s.src_ip, s.dst_ip, kIpProtoTcp,
                                      static_cast<uint16_t>(l4_len))))
        << "trial " << trial;
  }
}

TEST(TcpFrameChecksumTest, Ipv6EqualsFullRecompute) {
  std::mt19937 rng(8200);
  for (int trial = 0; trial < 10000; ++trial) {
    Tcp6SegmentSpec s;
    RandomTcpFields(rng, s);
    for (auto& b : s.src_ip.bytes) b = static_cast<uint8_t>(rng());
    for (auto& b : s.dst_ip.bytes) b = static_cast<uint8_t>(rng());
    s.flow_label = static_cast<uint32_t>(rng());
    const size_t header_len = Tcp6FrameHeaderLength(s);
    std::vector<uint8_t> f(header_len + s.payload_length);
    for (size_t i = header_len; i < f.size(); ++i) {
      f[i] = static_cast<uint8_t>(rng());
    }
    ASSERT_EQ(WriteTcp6FrameHeaders(f.data(), s, ChecksumMode::kSoftware),
              header_len);
    auto* tcp = reinterpret_cast<TcpHeader*>(f.data() + kEthernetHeaderLength +
                                             kIpv6HeaderLength);
    const uint16_t written = tcp->checksum.get();
    tcp->checksum.set(0);
    const size_t l4_len = f.size() - kEthernetHeaderLength - kIpv6HeaderLength;
    ASSERT_EQ(written, Ipv6L4Checksum(s.src_ip, s.dst_ip, kIpProtoTcp, tcp,
                                      l4_len))
        << "trial " << trial;
  }
}

}  // namespace
}  // namespace synwave::wire
