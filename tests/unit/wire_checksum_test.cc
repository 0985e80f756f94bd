// Tests for the Internet checksum: known vectors (IPv4 and, from scapy
// frames, the IPv6 pseudo-header for TCP and ICMPv6), the fast PartialSum
// against a byte-at-a-time RFC 1071 reference, and RFC 1624 incremental
// updates.
#include "wire/checksum.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "scapy_ipv6_frames.h"
#include "wire/byte_order.h"

namespace synwave::wire {
namespace {

// RFC 1071 4.1, written for clarity: add big-endian 16-bit words into a wide
// accumulator, pad an odd byte with zero, fold at the end.
uint16_t ReferenceFoldedSum(const uint8_t* p, size_t len, uint32_t initial) {
  uint64_t sum = initial;
  for (size_t i = 0; i + 1 < len; i += 2) {
    sum += (uint32_t{p[i]} << 8) | p[i + 1];
  }
  if (len % 2 == 1) sum += uint32_t{p[len - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

std::vector<uint8_t> RandomBytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// The classic example IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199) whose
// checksum field holds 0xb861.
constexpr uint8_t kIpv4Header[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
                                     0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
                                     0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

TEST(ChecksumTest, Ipv4HeaderVector) {
  uint8_t h[20];
  std::memcpy(h, kIpv4Header, sizeof(h));
  // Verifying a correct header gives 0.
  EXPECT_EQ(Ipv4HeaderChecksum(h, sizeof(h)), 0);
  // With the field zeroed it gives the value to store.
  h[10] = h[11] = 0;
  EXPECT_EQ(Ipv4HeaderChecksum(h, sizeof(h)), 0xb861);
  // Any single-bit error is detected.
  for (size_t bit = 0; bit < 160; ++bit) {
    std::memcpy(h, kIpv4Header, sizeof(h));
    h[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_NE(Ipv4HeaderChecksum(h, sizeof(h)), 0) << "bit " << bit;
  }
}

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0x2ddf0, which
  // folds to 0xddf2.
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(FoldSum(PartialSum(b, sizeof(b))), 0xddf2);
  EXPECT_EQ(InternetChecksum(b, sizeof(b)), 0x220d);
}

TEST(ChecksumTest, OddByteIsHighOrder) {
  const uint8_t b[] = {0xab};
  EXPECT_EQ(FoldSum(PartialSum(b, 1)), 0xab00);
  const uint8_t c[] = {0x12, 0x34, 0x56};
  EXPECT_EQ(FoldSum(PartialSum(c, 3)), 0x1234 + 0x5600);
}

TEST(ChecksumTest, EmptyBufferReturnsInitial) {
  EXPECT_EQ(PartialSum(nullptr, 0), 0u);
  EXPECT_EQ(FoldSum(PartialSum(nullptr, 0, 0x12345)), 0x2346);
}

TEST(ChecksumTest, InitialNearWrapKeepsCarry) {
  const uint8_t b[] = {0xff, 0xff, 0xff, 0xff};
  const uint32_t initial = 0xfffffff0;
  EXPECT_EQ(FoldSum(PartialSum(b, sizeof(b), initial)),
            ReferenceFoldedSum(b, sizeof(b), initial));
}

// A TCP SYN made with Scapy 2.5.0:
//   IP(src="192.168.1.10", dst="192.168.1.20", flags="DF", id=0x1c46) /
//   TCP(sport=12345, dport=80, seq=0x01020304, flags="S", window=64240,
//       options=[("MSS",1460), ("SAckOK",b""),
//                ("Timestamp",(0x11223344,0)), ("NOP",None), ("WScale",7)])
// bytes(pkt)[20:] is the segment below; Scapy put 0x50ab in its checksum.
constexpr uint8_t kScapySyn[40] = {
    0x30, 0x39, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00,
    0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x50, 0xab, 0x00, 0x00,
    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x11, 0x22,
    0x33, 0x44, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07};

// Scapy 2.5.0, odd length (25 bytes, 5 of payload):
//   IP(src="10.0.0.1", dst="10.0.0.2") /
//   TCP(sport=80, dport=40000, seq=0xfffffff0, ack=0x10, flags="PA",
//       window=502) / b"hello"
// Checksum 0xb96b.
constexpr uint8_t kScapyHello[25] = {0x00, 0x50, 0x9c, 0x40, 0xff, 0xff, 0xff,
                                     0xf0, 0x00, 0x00, 0x00, 0x10, 0x50, 0x18,
                                     0x01, 0xf6, 0xb9, 0x6b, 0x00, 0x00, 0x68,
                                     0x65, 0x6c, 0x6c, 0x6f};

struct TcpVector {
  const uint8_t* bytes;
  size_t len;
  Ipv4Address src;
  Ipv4Address dst;
  uint16_t checksum;
};

TEST(ChecksumTest, TcpVectorsFromScapy) {
  const TcpVector vectors[] = {
      {kScapySyn, sizeof(kScapySyn), Ipv4Address::FromOctets(192, 168, 1, 10),
       Ipv4Address::FromOctets(192, 168, 1, 20), 0x50ab},
      {kScapyHello, sizeof(kScapyHello), Ipv4Address::FromOctets(10, 0, 0, 1),
       Ipv4Address::FromOctets(10, 0, 0, 2), 0xb96b},
  };
  for (const TcpVector& v : vectors) {
    std::vector<uint8_t> seg(v.bytes, v.bytes + v.len);
    EXPECT_EQ(TcpChecksum(v.src, v.dst, seg.data(), seg.size()), 0);
    seg[16] = seg[17] = 0;
    EXPECT_EQ(TcpChecksum(v.src, v.dst, seg.data(), seg.size()), v.checksum);
    // Swapping the addresses leaves the sum unchanged (addition commutes);
    // changing one does not.
    EXPECT_EQ(TcpChecksum(v.dst, v.src, seg.data(), seg.size()), v.checksum);
    EXPECT_NE(TcpChecksum(Ipv4Address{v.src.value + 1}, v.dst, seg.data(),
                          seg.size()),
              v.checksum);
  }
}

TEST(ChecksumTest, PseudoHeaderSum) {
  const Ipv4Address src = Ipv4Address::FromOctets(0x12, 0x34, 0x56, 0x78);
  const Ipv4Address dst = Ipv4Address::FromOctets(0x9a, 0xbc, 0xde, 0xf0);
  EXPECT_EQ(PseudoHeaderSum(src, dst, 6, 40),
            0x1234u + 0x5678 + 0x9abc + 0xdef0 + 6 + 40);
}

// The IPv6 pseudo-header (RFC 8200 8.1) written out byte by byte and summed
// with the reference: the independent form of Ipv6PseudoHeaderSum.
uint16_t ReferenceIpv6PseudoSum(const uint8_t* src, const uint8_t* dst,
                                uint8_t protocol, uint32_t length) {
  uint8_t p[40] = {};
  std::memcpy(p, src, 16);
  std::memcpy(p + 16, dst, 16);
  StoreBe32(p + 32, length);
  p[39] = protocol;
  return ReferenceFoldedSum(p, sizeof(p), 0);
}

TEST(ChecksumTest, Ipv6PseudoHeaderSumMatchesReference) {
  std::mt19937 rng(6);
  for (int i = 0; i < 1000; ++i) {
    const std::vector<uint8_t> a = RandomBytes(rng, 32);
    const uint32_t length = i < 500 ? static_cast<uint32_t>(rng() & 0xffff)
                                    : static_cast<uint32_t>(rng());
    const uint8_t protocol = static_cast<uint8_t>(rng());
    EXPECT_EQ(FoldSum(Ipv6PseudoHeaderSum(a.data(), a.data() + 16, protocol,
                                          length)),
              ReferenceIpv6PseudoSum(a.data(), a.data() + 16, protocol,
                                     length));
  }
  // All ones everywhere: the sum must still fold to the reference.
  const std::vector<uint8_t> ones(32, 0xff);
  EXPECT_EQ(FoldSum(Ipv6PseudoHeaderSum(ones.data(), ones.data() + 16, 0xff,
                                        0xffffffffu)),
            ReferenceIpv6PseudoSum(ones.data(), ones.data() + 16, 0xff,
                                   0xffffffffu));
}

struct Ipv6Vector {
  const char* name;
  const uint8_t* frame;
  size_t len;
  size_t l4_offset;      // in the frame
  size_t checksum_at;    // offset of the checksum in the L4 message
  uint8_t protocol;
  uint16_t checksum;     // what scapy wrote
};

// Frames from scapy (scapy_ipv6_frames.h): our checksum over the L4 message
// with the field zeroed must be scapy's, and over the frame as sent 0.
TEST(ChecksumTest, Ipv6VectorsFromScapy) {
  using namespace testutil;
  const Ipv6Vector vectors[] = {
      {"echo", kScapyEcho6, sizeof(kScapyEcho6), 54, 2, 58, 0xec0b},
      {"ns", kScapyNs, sizeof(kScapyNs), 54, 2, 58, 0x7c17},
      {"na", kScapyNa, sizeof(kScapyNa), 54, 2, 58, 0x1b1a},
      {"syn", kScapySyn6, sizeof(kScapySyn6), 54, 16, 6, 0x788c},
      {"syn_ext", kScapySyn6ExtHeaders, sizeof(kScapySyn6ExtHeaders), 70, 16,
       6, 0x1fcf},
  };
  for (const Ipv6Vector& v : vectors) {
    SCOPED_TRACE(v.name);
    const uint8_t* src = v.frame + 14 + 8;
    const uint8_t* dst = v.frame + 14 + 24;
    std::vector<uint8_t> l4(v.frame + v.l4_offset, v.frame + v.len);
    ASSERT_EQ(LoadBe16(l4.data() + v.checksum_at), v.checksum);
    EXPECT_EQ(Ipv6L4Checksum(src, dst, v.protocol, l4.data(), l4.size()), 0);
    l4[v.checksum_at] = l4[v.checksum_at + 1] = 0;
    EXPECT_EQ(Ipv6L4Checksum(src, dst, v.protocol, l4.data(), l4.size()),
              v.checksum);
    // The Ipv6Address form is the same function.
    EXPECT_EQ(Ipv6L4Checksum(Ipv6Address::FromBytes(src),
                             Ipv6Address::FromBytes(dst), v.protocol,
                             l4.data(), l4.size()),
              v.checksum);
    // Every address byte is covered, and the next header value too.
    for (int i = 0; i < 32; ++i) {
      uint8_t addrs[32];
      std::memcpy(addrs, src, 32);
      addrs[i] ^= 0x01;
      EXPECT_NE(Ipv6L4Checksum(addrs, addrs + 16, v.protocol, l4.data(),
                               l4.size()),
                v.checksum)
          << "address byte " << i;
    }
    EXPECT_NE(Ipv6L4Checksum(src, dst, 17, l4.data(), l4.size()), v.checksum);
  }
}

// The fast path reads 32, 8, 4, 2 and 1 bytes at a time from any alignment:
// every length up to 300 at every offset in a word must agree with the
// reference.
TEST(PartialSumTest, MatchesReferenceAtAllLengthsAndOffsets) {
  std::mt19937 rng(1071);
  std::vector<uint8_t> buf = RandomBytes(rng, 300 + 8);
  const uint32_t initials[] = {0, 1, 0xffff, 0x1fffe, 0xfffffffe, 0xffffffff};
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len = 0; len + offset <= buf.size() && len <= 300; ++len) {
      // Exactly sized copy so an overread is caught under ASan.
      std::unique_ptr<uint8_t[]> copy(new uint8_t[len + offset]);
      std::memcpy(copy.get(), buf.data(), len + offset);
      const uint8_t* p = copy.get() + offset;
      for (uint32_t initial : initials) {
        ASSERT_EQ(FoldSum(PartialSum(p, len, initial)),
                  ReferenceFoldedSum(p, len, initial))
            << "offset " << offset << " len " << len << " initial " << initial;
      }
    }
  }
}

// The inline sums of the per-frame path (short segments, the 20-byte IPv4
// header) give PartialSum's result, at every length and alignment.
TEST(PartialSumTest, ShortAndFixedSumsMatchReference) {
  std::mt19937 rng(1141);
  const uint32_t initials[] = {0, 1, 0xffff, 0x1fffe, 0xfffffffe, 0xffffffff};
  for (int trial = 0; trial < 200; ++trial) {
    // Every fourth buffer all ones: every add carries.
    std::vector<uint8_t> buf = trial % 4 == 3
                                   ? std::vector<uint8_t>(kShortSumMax + 8, 0xff)
                                   : RandomBytes(rng, kShortSumMax + 8);
    for (size_t offset = 0; offset < 8; ++offset) {
      for (size_t len = 0; len <= kShortSumMax; ++len) {
        std::unique_ptr<uint8_t[]> copy(new uint8_t[len + offset]);
        std::memcpy(copy.get(), buf.data(), len + offset);
        const uint8_t* p = copy.get() + offset;
        const uint32_t initial = initials[(trial + len) % 6];
        ASSERT_EQ(FoldSum(ShortPartialSum(p, len, initial)),
                  ReferenceFoldedSum(p, len, initial))
            << "offset " << offset << " len " << len;
        if (len == 20) {
          ASSERT_EQ(FoldSum(PartialSum20(p)), ReferenceFoldedSum(p, 20, 0));
          ASSERT_EQ(Ipv4HeaderChecksum(p, 20),
                    static_cast<uint16_t>(~ReferenceFoldedSum(p, 20, 0)));
        }
      }
    }
  }
}

// FoldSum (two rotate-and-add half-folds) against the end-around loop.
TEST(FoldSumTest, MatchesRepeatedFolding) {
  auto reference = [](uint64_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
  };
  std::mt19937_64 rng(1071);
  const uint64_t edges[] = {0,
                            1,
                            0xffff,
                            0x10000,
                            0x1fffe,
                            0xffffffffull,
                            0x100000000ull,
                            0xffff0000ffffull,
                            0xfffffffffffeull,
                            0xffffffffffffffffull,
                            0x8000000000000000ull,
                            0xffffffff00000001ull};
  for (uint64_t e : edges) EXPECT_EQ(FoldSum(e), reference(e)) << e;
  for (int i = 0; i < 1000000; ++i) {
    const uint64_t s = rng() >> (i % 64);
    ASSERT_EQ(FoldSum(s), reference(s)) << s;
  }
}

TEST(PartialSumTest, AllOnesAndAllZeros) {
  // The carry path: every 64-bit add overflows.
  std::vector<uint8_t> ones(1500, 0xff);
  for (size_t len : {0, 1, 2, 7, 8, 31, 32, 33, 1499, 1500}) {
    EXPECT_EQ(FoldSum(PartialSum(ones.data(), len)),
              ReferenceFoldedSum(ones.data(), len, 0))
        << len;
  }
  std::vector<uint8_t> zeros(1500, 0);
  EXPECT_EQ(PartialSum(zeros.data(), zeros.size()), 0u);
}

TEST(PartialSumTest, LargeRandomBuffers) {
  std::mt19937 rng(42);
  for (size_t len : {1499, 1500, 9000, 65535, 65536 + 3}) {
    std::vector<uint8_t> b = RandomBytes(rng, len);
    EXPECT_EQ(FoldSum(PartialSum(b.data(), len)),
              ReferenceFoldedSum(b.data(), len, 0))
        << len;
  }
}

TEST(PartialSumTest, SumsChain) {
  // Summing in two pieces split at an even offset equals one pass.
  std::mt19937 rng(7);
  std::vector<uint8_t> b = RandomBytes(rng, 101);
  for (size_t split = 0; split <= 100; split += 2) {
    uint32_t first = PartialSum(b.data(), split);
    EXPECT_EQ(FoldSum(PartialSum(b.data() + split, b.size() - split, first)),
              FoldSum(PartialSum(b.data(), b.size())))
        << split;
  }
}

// The add-with-carry chains (64, 32, 16 and 8 bytes a step) where every
// step carries, and where the running sum is all ones just before a word of
// all ones: buffers of 0x00, 0xff, 0x80, 0x7f and random bytes mixed, at
// every length up to 300 and every alignment, against the reference.
TEST(PartialSumTest, CarryChainsMatchReference) {
  std::mt19937 rng(1624);
  const uint8_t fills[] = {0x00, 0xff, 0x80, 0x7f, 0xfe, 0x01};
  for (int trial = 0; trial < 64; ++trial) {
    std::vector<uint8_t> buf(300 + 8);
    for (size_t i = 0; i < buf.size(); ++i) {
      // Runs of one fill value, 8 bytes long (a whole word), or random.
      const uint32_t r = rng();
      buf[i] = (trial % 3 == 2) ? static_cast<uint8_t>(r)
                                : fills[((i / 8) * 7 + trial) % 6];
    }
    for (size_t offset = 0; offset < 8; offset += 3) {
      for (size_t len = 0; len <= 300; ++len) {
        std::unique_ptr<uint8_t[]> copy(new uint8_t[len + offset]);
        std::memcpy(copy.get(), buf.data(), len + offset);
        const uint8_t* p = copy.get() + offset;
        ASSERT_EQ(FoldSum(PartialSum(p, len, 0)), ReferenceFoldedSum(p, len, 0))
            << "trial " << trial << " offset " << offset << " len " << len;
        if (len <= kShortSumMax) {
          ASSERT_EQ(FoldSum(ShortPartialSum(p, len, 0)),
                    ReferenceFoldedSum(p, len, 0))
              << "trial " << trial << " offset " << offset << " len " << len;
        }
      }
    }
  }
  // A running sum of exactly all ones (0x8000... + 0x7fff...) followed by
  // words of all ones: the case where an add-with-carry could lose the
  // end-around carry.
  uint8_t words[64];
  std::memset(words, 0xff, sizeof(words));
  const uint64_t high = 0x8000000000000000ull;
  const uint64_t low = 0x7fffffffffffffffull;
  std::memcpy(words, &high, 8);
  std::memcpy(words + 8, &low, 8);
  for (size_t len = 16; len <= sizeof(words); len += 8) {
    EXPECT_EQ(FoldSum(PartialSum(words, len)),
              ReferenceFoldedSum(words, len, 0))
        << len;
    EXPECT_EQ(FoldSum(ShortPartialSum(words, len)),
              ReferenceFoldedSum(words, len, 0))
        << len;
  }
}

// The receive check of a TCP segment over IPv4 (inline up to kShortSumMax
// bytes, PartialSum past it) accepts a segment exactly when its checksum
// field holds the reference checksum: random segments of every length up
// to 300 (odd ones too), all-ones payloads, and a wrong checksum.
TEST(ChecksumTest, Ipv4TcpChecksumOkMatchesReference) {
  std::mt19937 rng(793);
  for (int trial = 0; trial < 8; ++trial) {
    for (size_t len = 20; len <= 300; ++len) {
      // An IPv4 header (only the addresses are read) and the segment.
      std::vector<uint8_t> ip = RandomBytes(rng, 20);
      std::vector<uint8_t> seg = trial % 4 == 3
                                     ? std::vector<uint8_t>(len, 0xff)
                                     : RandomBytes(rng, len);
      seg[16] = seg[17] = 0;
      // The reference: pseudo-header words, then the segment.
      std::vector<uint8_t> whole(ip.begin() + 12, ip.end());
      whole.push_back(0);
      whole.push_back(6);
      whole.push_back(static_cast<uint8_t>(len >> 8));
      whole.push_back(static_cast<uint8_t>(len));
      whole.insert(whole.end(), seg.begin(), seg.end());
      const auto checksum = static_cast<uint16_t>(
          ~ReferenceFoldedSum(whole.data(), whole.size(), 0));
      seg[16] = static_cast<uint8_t>(checksum >> 8);
      seg[17] = static_cast<uint8_t>(checksum);
      ASSERT_TRUE(Ipv4TcpChecksumOk(ip.data(), seg.data(), len))
          << "trial " << trial << " len " << len;
      seg[17] ^= 1;
      ASSERT_FALSE(Ipv4TcpChecksumOk(ip.data(), seg.data(), len))
          << "trial " << trial << " len " << len;
    }
  }
}

// RFC 1624: after changing a field, the incremental update must equal a
// full recompute (exactly, not just modulo the two zeros).
TEST(ChecksumUpdateTest, MatchesRecomputeAfterFieldChange) {
  std::mt19937 rng(1624);
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> h = RandomBytes(rng, 40);
    h[10] = h[11] = 0;
    const uint16_t before = InternetChecksum(h.data(), h.size());
    StoreBe16(h.data() + 10, before);
    ASSERT_EQ(InternetChecksum(h.data(), h.size()), 0);

    // A 16-bit field at an even offset other than the checksum itself.
    size_t off16 = 2 * (rng() % 20);
    if (off16 == 10) off16 = 12;
    const uint16_t old16 = LoadBe16(h.data() + off16);
    const uint16_t new16 = trial % 5 == 0 ? static_cast<uint16_t>(~old16)
                                          : static_cast<uint16_t>(rng());
    StoreBe16(h.data() + off16, new16);
    const uint16_t incremental16 = ChecksumUpdate16(before, old16, new16);
    h[10] = h[11] = 0;
    ASSERT_EQ(incremental16, InternetChecksum(h.data(), h.size()))
        << "trial " << trial;
    StoreBe16(h.data() + 10, incremental16);

    // A 32-bit field (an address) at a 4-byte offset past the checksum.
    const size_t off32 = 12 + 4 * (rng() % 7);
    const uint32_t old32 = LoadBe32(h.data() + off32);
    const uint32_t new32 = static_cast<uint32_t>(rng());
    StoreBe32(h.data() + off32, new32);
    const uint16_t incremental32 =
        ChecksumUpdate32(incremental16, old32, new32);
    h[10] = h[11] = 0;
    ASSERT_EQ(incremental32, InternetChecksum(h.data(), h.size()))
        << "trial " << trial;
  }
}

TEST(ChecksumUpdateTest, TtlDecrementOnKnownHeader) {
  // Router-style TTL decrement on the classic header: TTL 0x40 -> 0x3f in
  // the TTL/protocol word.
  uint8_t h[20];
  std::memcpy(h, kIpv4Header, sizeof(h));
  const uint16_t updated = ChecksumUpdate16(0xb861, 0x4011, 0x3f11);
  h[8] = 0x3f;
  h[10] = h[11] = 0;
  EXPECT_EQ(updated, Ipv4HeaderChecksum(h, sizeof(h)));
  EXPECT_EQ(updated, 0xb961);
}

TEST(ChecksumUpdateTest, SwappingAddressesKeepsChecksum) {
  // An in-place reply swaps src and dst: two 32-bit updates that cancel.
  const uint32_t a = 0xc0a80001;
  const uint32_t b = 0xc0a800c7;
  uint16_t c = ChecksumUpdate32(0xb861, a, b);
  c = ChecksumUpdate32(c, b, a);
  EXPECT_EQ(c, 0xb861);
}

}  // namespace
}  // namespace synwave::wire
