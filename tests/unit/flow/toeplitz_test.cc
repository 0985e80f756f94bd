// Toeplitz RSS hash: both forms reproduce the Microsoft verification examples
// (so they agree with what a NIC computes), IPv4 and IPv6, the table forms
// equal the bitwise form for any key and tuple, the 0x6d5a key is symmetric, and RssQueue
// indexes the RETA with the hash's low bits, so a client can choose a source
// port whose reply lands on a given queue.
#include "flow/toeplitz.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace synwave::flow {
namespace {

constexpr uint32_t Ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

// Input bytes as RSS defines them: network order src_ip, dst_ip, src_port,
// dst_port.
std::array<uint8_t, 12> Ipv4TcpInput(uint32_t src_ip, uint32_t dst_ip,
                                     uint16_t src_port, uint16_t dst_port) {
  return {
      static_cast<uint8_t>(src_ip >> 24),  static_cast<uint8_t>(src_ip >> 16),
      static_cast<uint8_t>(src_ip >> 8),   static_cast<uint8_t>(src_ip),
      static_cast<uint8_t>(dst_ip >> 24),  static_cast<uint8_t>(dst_ip >> 16),
      static_cast<uint8_t>(dst_ip >> 8),   static_cast<uint8_t>(dst_ip),
      static_cast<uint8_t>(src_port >> 8), static_cast<uint8_t>(src_port),
      static_cast<uint8_t>(dst_port >> 8), static_cast<uint8_t>(dst_port)};
}

uint32_t Bitwise(const uint8_t* key, size_t key_len, uint32_t src_ip,
                 uint32_t dst_ip, uint16_t src_port, uint16_t dst_port) {
  const auto input = Ipv4TcpInput(src_ip, dst_ip, src_port, dst_port);
  return ToeplitzHash(key, key_len, input.data(), input.size());
}

// Microsoft, "Verifying the RSS Hash Calculation": the five IPv4 examples
// with the key kMicrosoftRssKey.
struct MicrosoftExample {
  uint32_t src_ip;
  uint16_t src_port;
  uint32_t dst_ip;
  uint16_t dst_port;
  uint32_t ipv4_hash;      // input: src_ip, dst_ip
  uint32_t ipv4_tcp_hash;  // input: src_ip, dst_ip, src_port, dst_port
};
constexpr MicrosoftExample kExamples[] = {
    {Ip(66, 9, 149, 187), 2794, Ip(161, 142, 100, 80), 1766, 0x323e8fc2,
     0x51ccc178},
    {Ip(199, 92, 111, 2), 14230, Ip(65, 69, 140, 83), 4739, 0xd718262a,
     0xc626b0ea},
    {Ip(24, 19, 198, 95), 12898, Ip(12, 22, 207, 184), 38024, 0xd2d0a5de,
     0x5c2b394a},
    {Ip(38, 27, 205, 30), 48228, Ip(209, 142, 163, 6), 2217, 0x82989176,
     0xafc7327f},
    {Ip(153, 39, 163, 191), 44251, Ip(202, 188, 127, 2), 1303, 0x5d1809c5,
     0x10e828a2},
};

TEST(ToeplitzTest, BitwiseMatchesMicrosoftExamples) {
  const auto& key = kMicrosoftRssKey;
  for (const MicrosoftExample& e : kExamples) {
    const auto input = Ipv4TcpInput(e.src_ip, e.dst_ip, e.src_port, e.dst_port);
    EXPECT_EQ(ToeplitzHash(key.data(), key.size(), input.data(), 8),
              e.ipv4_hash);
    EXPECT_EQ(ToeplitzHash(key.data(), key.size(), input.data(), 12),
              e.ipv4_tcp_hash);
  }
}

TEST(ToeplitzTest, TableMatchesMicrosoftExamples) {
  const ToeplitzIpv4Tcp hasher(kMicrosoftRssKey.data(),
                               kMicrosoftRssKey.size());
  for (const MicrosoftExample& e : kExamples) {
    EXPECT_EQ(hasher.Hash(e.src_ip, e.dst_ip, e.src_port, e.dst_port),
              e.ipv4_tcp_hash);
  }
}

// IPv6: the three IPv6 examples of the same page, as 16-byte addresses.
struct MicrosoftExample6 {
  std::array<uint8_t, 16> src_ip;
  uint16_t src_port;
  std::array<uint8_t, 16> dst_ip;
  uint16_t dst_port;
  uint32_t ipv6_hash;      // input: src_ip, dst_ip
  uint32_t ipv6_tcp_hash;  // input: src_ip, dst_ip, src_port, dst_port
};
// Groups of 16 bits, as an address is written (no :: shorthand).
constexpr std::array<uint8_t, 16> Ip6(std::array<uint16_t, 8> groups) {
  std::array<uint8_t, 16> b{};
  for (size_t i = 0; i < 8; ++i) {
    b[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
    b[2 * i + 1] = static_cast<uint8_t>(groups[i]);
  }
  return b;
}
constexpr MicrosoftExample6 kExamples6[] = {
    // 3ffe:2501:200:1fff::7 port 2794 -> 3ffe:2501:200:3::1 port 1766
    {Ip6({0x3ffe, 0x2501, 0x200, 0x1fff, 0, 0, 0, 7}), 2794,
     Ip6({0x3ffe, 0x2501, 0x200, 3, 0, 0, 0, 1}), 1766, 0x2cc18cd5,
     0x40207d3d},
    // 3ffe:501:8::260:97ff:fe40:efab port 14230 -> ff02::1 port 4739
    {Ip6({0x3ffe, 0x501, 8, 0, 0x260, 0x97ff, 0xfe40, 0xefab}), 14230,
     Ip6({0xff02, 0, 0, 0, 0, 0, 0, 1}), 4739, 0x0f0c461c, 0xdde51bbf},
    // 3ffe:1900:4545:3:200:f8ff:fe21:67cf port 44251
    //   -> fe80::200:f8ff:fe21:67cf port 38024
    {Ip6({0x3ffe, 0x1900, 0x4545, 3, 0x200, 0xf8ff, 0xfe21, 0x67cf}), 44251,
     Ip6({0xfe80, 0, 0, 0, 0x200, 0xf8ff, 0xfe21, 0x67cf}), 38024,
     0x4b61e985, 0x02d1feef},
};

std::array<uint8_t, 36> Ipv6TcpInput(const std::array<uint8_t, 16>& src_ip,
                                     const std::array<uint8_t, 16>& dst_ip,
                                     uint16_t src_port, uint16_t dst_port) {
  std::array<uint8_t, 36> in{};
  std::copy(src_ip.begin(), src_ip.end(), in.begin());
  std::copy(dst_ip.begin(), dst_ip.end(), in.begin() + 16);
  in[32] = static_cast<uint8_t>(src_port >> 8);
  in[33] = static_cast<uint8_t>(src_port);
  in[34] = static_cast<uint8_t>(dst_port >> 8);
  in[35] = static_cast<uint8_t>(dst_port);
  return in;
}

TEST(ToeplitzTest, BitwiseMatchesMicrosoftIpv6Examples) {
  const auto& key = kMicrosoftRssKey;
  for (const MicrosoftExample6& e : kExamples6) {
    const auto input =
        Ipv6TcpInput(e.src_ip, e.dst_ip, e.src_port, e.dst_port);
    EXPECT_EQ(ToeplitzHash(key.data(), key.size(), input.data(), 32),
              e.ipv6_hash);
    EXPECT_EQ(ToeplitzHash(key.data(), key.size(), input.data(), 36),
              e.ipv6_tcp_hash);
  }
}

TEST(ToeplitzTest, Ipv6TableMatchesMicrosoftExamples) {
  const ToeplitzIpv6Tcp hasher(kMicrosoftRssKey.data(),
                               kMicrosoftRssKey.size());
  for (const MicrosoftExample6& e : kExamples6) {
    EXPECT_EQ(hasher.Hash(e.src_ip.data(), e.dst_ip.data(), e.src_port,
                          e.dst_port),
              e.ipv6_tcp_hash);
  }
}

TEST(ToeplitzTest, Ipv6TableEqualsBitwiseOnRandomKeysAndTuples) {
  std::mt19937_64 rng(6);
  for (size_t len : {40, 52, 40}) {
    std::vector<uint8_t> key(len);
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    const ToeplitzIpv6Tcp hasher(key.data(), key.size());
    for (int i = 0; i < 5'000; ++i) {
      std::array<uint8_t, 16> src, dst;
      for (auto& b : src) b = static_cast<uint8_t>(rng());
      for (auto& b : dst) b = static_cast<uint8_t>(rng());
      const auto ports = static_cast<uint32_t>(rng());
      const auto sp = static_cast<uint16_t>(ports);
      const auto dp = static_cast<uint16_t>(ports >> 16);
      const auto input = Ipv6TcpInput(src, dst, sp, dp);
      ASSERT_EQ(hasher.Hash(src.data(), dst.data(), sp, dp),
                ToeplitzHash(key.data(), key.size(), input.data(),
                             input.size()));
    }
  }
}

TEST(ToeplitzTest, EmptyInputHashesToZero) {
  EXPECT_EQ(ToeplitzHash(kMicrosoftRssKey.data(), kMicrosoftRssKey.size(),
                         nullptr, 0),
            0u);
}

TEST(ToeplitzTest, TableEqualsBitwiseOnRandomKeysAndTuples) {
  std::mt19937_64 rng(42);
  std::vector<std::vector<uint8_t>> keys = {
      {kMicrosoftRssKey.begin(), kMicrosoftRssKey.end()},
      {kSymmetricRssKey.begin(), kSymmetricRssKey.end()},
      std::vector<uint8_t>(40, 0xff),
  };
  for (size_t len : {40, 52, 40, 52}) {
    std::vector<uint8_t> key(len);
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    keys.push_back(key);
  }
  for (const auto& key : keys) {
    const ToeplitzIpv4Tcp hasher(key.data(), key.size());
    for (int i = 0; i < 20'000; ++i) {
      const uint64_t r = rng();
      const uint32_t src_ip = static_cast<uint32_t>(r);
      const uint32_t dst_ip = static_cast<uint32_t>(r >> 32);
      const uint32_t ports = static_cast<uint32_t>(rng());
      const uint16_t src_port = static_cast<uint16_t>(ports);
      const uint16_t dst_port = static_cast<uint16_t>(ports >> 16);
      ASSERT_EQ(
          hasher.Hash(src_ip, dst_ip, src_port, dst_port),
          Bitwise(key.data(), key.size(), src_ip, dst_ip, src_port, dst_port));
    }
  }
}

TEST(ToeplitzTest, OnlyTheFirstSixteenKeyBytesMatterForTheFourTuple) {
  // 12 input bytes read key bits 0..126: a 52-byte key that shares the first
  // 16 bytes of a 40-byte key gives the same 4-tuple hash.
  std::array<uint8_t, 52> long_key{};
  for (size_t i = 0; i < long_key.size(); ++i) {
    long_key[i] = i < 16 ? kMicrosoftRssKey[i] : static_cast<uint8_t>(i * 37);
  }
  const ToeplitzIpv4Tcp short_hasher(kMicrosoftRssKey.data(), 16);
  const ToeplitzIpv4Tcp long_hasher(long_key.data(), long_key.size());
  for (const MicrosoftExample& e : kExamples) {
    EXPECT_EQ(short_hasher.Hash(e.src_ip, e.dst_ip, e.src_port, e.dst_port),
              e.ipv4_tcp_hash);
    EXPECT_EQ(long_hasher.Hash(e.src_ip, e.dst_ip, e.src_port, e.dst_port),
              e.ipv4_tcp_hash);
  }
}

TEST(ToeplitzTest, SymmetricKeyHashesBothDirectionsAlike) {
  const ToeplitzIpv4Tcp symmetric(kSymmetricRssKey.data(),
                                  kSymmetricRssKey.size());
  const ToeplitzIpv4Tcp microsoft(kMicrosoftRssKey.data(),
                                  kMicrosoftRssKey.size());
  std::mt19937_64 rng(7);
  int asymmetric = 0;
  for (int i = 0; i < 10'000; ++i) {
    const uint64_t r = rng();
    const uint32_t a = static_cast<uint32_t>(r);
    const uint32_t b = static_cast<uint32_t>(r >> 32);
    const uint16_t pa = static_cast<uint16_t>(rng());
    const uint16_t pb = static_cast<uint16_t>(rng());
    ASSERT_EQ(symmetric.Hash(a, b, pa, pb), symmetric.Hash(b, a, pb, pa));
    asymmetric += microsoft.Hash(a, b, pa, pb) != microsoft.Hash(b, a, pb, pa);
  }
  // The property comes from the key, not from the hash: the Microsoft key
  // separates the directions almost always.
  EXPECT_GT(asymmetric, 9'900);
}

TEST(ToeplitzTest, RssQueueIndexesTheRetaWithTheLowBits) {
  std::array<uint16_t, 128> reta;
  for (size_t i = 0; i < reta.size(); ++i) reta[i] = static_cast<uint16_t>(i);
  for (uint32_t hash : {0u, 1u, 127u, 128u, 0x51ccc178u, 0xffffffffu}) {
    EXPECT_EQ(RssQueue(hash, reta.data(), reta.size()), hash & 127);
  }
  // A 4-queue RETA filled round robin, as DPDK fills it by default.
  std::array<uint16_t, 512> reta4;
  for (size_t i = 0; i < reta4.size(); ++i) {
    reta4[i] = static_cast<uint16_t>(i % 4);
  }
  EXPECT_EQ(RssQueue(0x51ccc178, reta4.data(), reta4.size()), 0x178 % 4);
}

TEST(ToeplitzTest, ClientCanChooseAPortWhoseReplyLandsOnItsQueue) {
  // The reply is hashed with the server as source.
  constexpr uint32_t kServer = Ip(198, 18, 0, 1);
  constexpr uint32_t kClient = Ip(198, 18, 1, 7);
  constexpr uint16_t kServerPort = 80;
  const ToeplitzIpv4Tcp hasher(kMicrosoftRssKey.data(),
                               kMicrosoftRssKey.size());
  std::array<uint16_t, 128> reta;
  for (size_t i = 0; i < reta.size(); ++i) {
    reta[i] = static_cast<uint16_t>(i % 4);
  }
  for (uint16_t queue = 0; queue < 4; ++queue) {
    int found = 0;
    for (uint32_t port = 1024; port < 65536; ++port) {
      const uint32_t hash = hasher.Hash(kServer, kClient, kServerPort,
                                        static_cast<uint16_t>(port));
      if (RssQueue(hash, reta.data(), reta.size()) != queue) continue;
      ++found;
      ASSERT_EQ(hash, Bitwise(kMicrosoftRssKey.data(), kMicrosoftRssKey.size(),
                              kServer, kClient, kServerPort,
                              static_cast<uint16_t>(port)));
    }
    // About a quarter of the ports serve each queue.
    EXPECT_GT(found, (65536 - 1024) / 4 * 9 / 10) << "queue " << queue;
  }
}

}  // namespace
}  // namespace synwave::flow
