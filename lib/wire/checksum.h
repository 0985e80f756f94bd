// Internet checksums (RFC 1071): IPv4 header, TCP with the IPv4
// pseudo-header, ICMP, the IPv6 pseudo-header (TCP, ICMPv6), and incremental
// update (RFC 1624).
//
// Used where the port has no checksum offload (net_tap, net_ring) and for
// ICMP, which no NIC offloads. Sums are accumulated as 32-bit partial sums
// and folded once at the end; the incremental forms let in-place replies
// (swapped addresses, changed type) fix a checksum without re-reading the
// payload.
#ifndef SYNWAVE_WIRE_CHECKSUM_H_
#define SYNWAVE_WIRE_CHECKSUM_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wire/addresses.h"

namespace synwave::wire {

// Ones'-complement partial sum of `len` bytes taken as big-endian 16-bit
// words (an odd last byte is padded with zero), added to `initial`. The
// result is not folded; it is equal to the plain sum of the words modulo
// 0xffff (not bit for bit), so read it only through FoldSum or feed it back
// as another call's `initial`.
uint32_t PartialSum(const void* data, size_t len, uint32_t initial = 0);

// Folds a partial sum to 16 bits (no complement): 0 only for 0, else the
// value in [1, 0xffff] congruent to it modulo 0xffff. Each half-fold adds
// the value to itself rotated by half its width: the high half of that is
// the two halves' sum with the end-around carry from the low half's add.
inline uint16_t FoldSum(uint64_t sum) {
  const auto high = static_cast<uint32_t>((sum + std::rotr(sum, 32)) >> 32);
  return static_cast<uint16_t>((high + std::rotr(high, 16)) >> 16);
}

namespace checksum_internal {

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline uint32_t LoadBe32Raw(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::little) {
    v = __builtin_bswap32(v);
  }
  return v;
}
inline uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
// Ones'-complement addition of two 64-bit values (end-around carry).
inline uint64_t Add64(uint64_t a, uint64_t b) {
  const uint64_t s = a + b;
  return s + (s < b);
}
// A sum of native-order words folded to 16 bits, as the big-endian word
// sum's value (RFC 1071 2(B): swapping the folded sum equals summing
// swapped words).
inline uint32_t NativeToPartial(uint64_t native) {
  uint16_t folded = FoldSum(native);
  if constexpr (std::endian::native == std::endian::little) {
    folded = __builtin_bswap16(folded);
  }
  return folded;
}

}  // namespace checksum_internal

namespace checksum_internal {

// The sum of the last `len` (< 8) bytes of a buffer as native-order 16-bit
// words, zero-padded: what is left after the 8-byte loads.
[[gnu::always_inline]] inline uint64_t TailSum(const uint8_t* p, size_t len) {
  uint64_t tail = 0;
  if (len >= 4) {
    tail += Load32(p);
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    tail += Load16(p);
    p += 2;
    len -= 2;
  }
  if (len == 1) {
    // The odd byte is the high-order byte of its zero-padded big-endian
    // word: the low byte of a native little-endian word.
    tail += std::endian::native == std::endian::little ? uint64_t{p[0]}
                                                       : uint64_t{p[0]} << 8;
  }
  return tail;
}

// Adds the 16 (32, 64) bytes at p to the ones'-complement 64-bit value s
// (native-order words, end-around carry). On x86-64 one add-with-carry
// chain: an instruction per 8 bytes and one for the end-around carry
// (compiled C needs two a word, the add and the carry's add, and a loop
// over a carry counter three). One `adc $0` is enough: an add cannot leave
// s all ones with the carry set (a + b <= 2^65 - 2), and by induction no
// adc after it can (with the carry set s <= 2^64 - 2, so s + w + 1 <=
// 2^65 - 2), so the last carry always fits. The "m" operand tells the
// compiler which bytes the chain reads (stores before it stay before it).
#if defined(__x86_64__)
[[gnu::always_inline]] inline uint64_t Add16Bytes(uint64_t s,
                                                  const uint8_t* p) {
  asm("addq (%[p]), %[s]\n\t"
      "adcq 8(%[p]), %[s]\n\t"
      "adcq $0, %[s]"
      : [s] "+r"(s)
      : [p] "r"(p), "m"(*reinterpret_cast<const uint8_t(*)[16]>(p))
      : "cc");
  return s;
}
[[gnu::always_inline]] inline uint64_t Add32Bytes(uint64_t s,
                                                  const uint8_t* p) {
  asm("addq (%[p]), %[s]\n\t"
      "adcq 8(%[p]), %[s]\n\t"
      "adcq 16(%[p]), %[s]\n\t"
      "adcq 24(%[p]), %[s]\n\t"
      "adcq $0, %[s]"
      : [s] "+r"(s)
      : [p] "r"(p), "m"(*reinterpret_cast<const uint8_t(*)[32]>(p))
      : "cc");
  return s;
}
[[gnu::always_inline]] inline uint64_t Add64Bytes(uint64_t s,
                                                  const uint8_t* p) {
  asm("addq (%[p]), %[s]\n\t"
      "adcq 8(%[p]), %[s]\n\t"
      "adcq 16(%[p]), %[s]\n\t"
      "adcq 24(%[p]), %[s]\n\t"
      "adcq 32(%[p]), %[s]\n\t"
      "adcq 40(%[p]), %[s]\n\t"
      "adcq 48(%[p]), %[s]\n\t"
      "adcq 56(%[p]), %[s]\n\t"
      "adcq $0, %[s]"
      : [s] "+r"(s)
      : [p] "r"(p), "m"(*reinterpret_cast<const uint8_t(*)[64]>(p))
      : "cc");
  return s;
}
#else
[[gnu::always_inline]] inline uint64_t Add16Bytes(uint64_t s,
                                                  const uint8_t* p) {
  return Add64(Add64(s, Load64(p)), Load64(p + 8));
}
[[gnu::always_inline]] inline uint64_t Add32Bytes(uint64_t s,
                                                  const uint8_t* p) {
  return Add16Bytes(Add16Bytes(s, p), p + 16);
}
[[gnu::always_inline]] inline uint64_t Add64Bytes(uint64_t s,
                                                  const uint8_t* p) {
  return Add32Bytes(Add32Bytes(s, p), p + 32);
}
#endif

// The sum of a short buffer as native-order 16-bit words, not folded; a
// ones'-complement 64-bit value: 32 bytes a step, then 16, 8 and the tail,
// added to `s` (a sum of the same kind).
[[gnu::always_inline]] inline uint64_t ShortNativeSum(const uint8_t* p,
                                                      size_t len,
                                                      uint64_t s = 0) {
  while (len >= 32) {
    s = Add32Bytes(s, p);
    p += 32;
    len -= 32;
  }
  if (len & 16) {
    s = Add16Bytes(s, p);
    p += 16;
  }
  if (len & 8) {
    s = Add64(s, Load64(p));
    p += 8;
  }
  // Most segments (and every header) are whole 8-byte words.
  if (len & 7) s = Add64(s, TailSum(p, len & 7));
  return s;
}

// A 16-bit big-endian word's value as it adds into a native-order sum.
inline uint64_t NativeWord(uint16_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    return __builtin_bswap16(v);
  }
  return v;
}

}  // namespace checksum_internal

// PartialSum of a short buffer (at most 64 KiB), inline: for the headers
// and small segments of the per-frame path, where the call and the generic
// loop of PartialSum cost more than the sum. Same result as PartialSum.
[[gnu::always_inline]] inline uint32_t ShortPartialSum(const void* data,
                                                       size_t len,
                                                       uint32_t initial = 0) {
  using namespace checksum_internal;
  const uint64_t total =
      uint64_t{initial} +
      NativeToPartial(ShortNativeSum(static_cast<const uint8_t*>(data), len));
  return static_cast<uint32_t>((total & 0xffffffffu) + (total >> 32));
}

// The partial sum of exactly 20 bytes (an IPv4 header without options) in
// three loads, inline.
[[gnu::always_inline]] inline uint32_t PartialSum20(const void* data) {
  using namespace checksum_internal;
  const auto* p = static_cast<const uint8_t*>(data);
  // Two 64-bit words and a 32-bit one: the carry out of the first add is
  // kept by Add64, the second cannot carry out of 64 bits after a fold.
  return NativeToPartial(Add64(Add64(Load64(p), Load64(p + 8)), Load32(p + 16)));
}

// Checksum of a buffer: ~fold(sum). Host-order result; store with Be16::set.
inline uint16_t InternetChecksum(const void* data, size_t len) {
  return static_cast<uint16_t>(~FoldSum(PartialSum(data, len)));
}

// IPv4 header checksum over `header_len` bytes; the checksum field must be
// zero, or the result is 0 when verifying a correct header.
inline uint16_t Ipv4HeaderChecksum(const void* header, size_t header_len) {
  if (header_len == 20) [[likely]] {
    return static_cast<uint16_t>(~FoldSum(PartialSum20(header)));
  }
  return static_cast<uint16_t>(~FoldSum(ShortPartialSum(header, header_len)));
}

// Partial sum of the TCP/UDP IPv4 pseudo-header (src, dst, zero, protocol,
// L4 length).
inline uint32_t PseudoHeaderSum(Ipv4Address src, Ipv4Address dst,
                                uint8_t protocol, uint16_t l4_length) {
  uint32_t sum = (src.value >> 16) + (src.value & 0xffff);
  sum += (dst.value >> 16) + (dst.value & 0xffff);
  sum += protocol;
  sum += l4_length;
  return sum;
}

// TCP checksum of `segment` (header and payload, `len` bytes) with the
// pseudo-header. With the checksum field zeroed it gives the value to store;
// over a received segment it gives 0 when the checksum is right.
// Segments of up to kShortSumMax bytes (a SYN, an ACK, a small request) are
// summed inline.
inline constexpr size_t kShortSumMax = 128;
inline uint16_t TcpChecksum(Ipv4Address src, Ipv4Address dst,
                            const void* segment, size_t len) {
  uint32_t sum = PseudoHeaderSum(src, dst, 6, static_cast<uint16_t>(len));
  sum = len <= kShortSumMax ? ShortPartialSum(segment, len, sum)
                            : PartialSum(segment, len, sum);
  return static_cast<uint16_t>(~FoldSum(sum));
}

// Verifies a received TCP segment over IPv4: true when its checksum is
// right. `ip_header` is its IPv4 header (the addresses are read from it),
// `segment` the TCP header and payload, `len` bytes. The pseudo-header and
// the segment are summed in native word order and folded once (a correct
// sum folds to 0xffff in either order).
inline bool Ipv4TcpChecksumOk(const void* ip_header, const void* segment,
                              size_t len) {
  using namespace checksum_internal;
  if (len > kShortSumMax) {
    const auto* ip = static_cast<const uint8_t*>(ip_header);
    const Ipv4Address src{LoadBe32Raw(ip + 12)};
    const Ipv4Address dst{LoadBe32Raw(ip + 16)};
    return TcpChecksum(src, dst, segment, len) == 0;
  }
  const auto* ip = static_cast<const uint8_t*>(ip_header);
  // Source and destination as stored, then the words 0x0006 and the length.
  const uint64_t pseudo =
      Add64(Load64(ip + 12),
            NativeWord(6) + NativeWord(static_cast<uint16_t>(len)));
  const uint64_t sum =
      Add64(pseudo, ShortNativeSum(static_cast<const uint8_t*>(segment), len));
  return FoldSum(sum) == 0xffff;
}

// Partial sum of the IPv6 pseudo-header (RFC 8200 8.1): the 16-byte source
// and destination addresses (network order, as in the header), the
// upper-layer length as 32 bits, three zero bytes and the next header value.
uint32_t Ipv6PseudoHeaderSum(const uint8_t* src, const uint8_t* dst,
                             uint8_t protocol, uint32_t l4_length);
inline uint32_t Ipv6PseudoHeaderSum(const Ipv6Address& src,
                                    const Ipv6Address& dst, uint8_t protocol,
                                    uint32_t l4_length) {
  return Ipv6PseudoHeaderSum(src.bytes.data(), dst.bytes.data(), protocol,
                             l4_length);
}

// Checksum of an upper-layer message over IPv6 (TCP, ICMPv6: RFC 4443 2.3)
// with its pseudo-header; as TcpChecksum, 0 over a correct received message.
inline uint16_t Ipv6L4Checksum(const uint8_t* src, const uint8_t* dst,
                               uint8_t protocol, const void* data,
                               size_t len) {
  const uint32_t sum =
      Ipv6PseudoHeaderSum(src, dst, protocol, static_cast<uint32_t>(len));
  return static_cast<uint16_t>(~FoldSum(PartialSum(data, len, sum)));
}
inline uint16_t Ipv6L4Checksum(const Ipv6Address& src, const Ipv6Address& dst,
                               uint8_t protocol, const void* data,
                               size_t len) {
  return Ipv6L4Checksum(src.bytes.data(), dst.bytes.data(), protocol, data,
                        len);
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field changing from
// `old_value` to `new_value`. All values host order.
inline uint16_t ChecksumUpdate16(uint16_t checksum, uint16_t old_value,
                                 uint16_t new_value) {
  uint32_t sum = static_cast<uint16_t>(~checksum);
  sum += static_cast<uint16_t>(~old_value);
  sum += new_value;
  return static_cast<uint16_t>(~FoldSum(sum));
}

// The same for a 32-bit field (two 16-bit words).
inline uint16_t ChecksumUpdate32(uint16_t checksum, uint32_t old_value,
                                 uint32_t new_value) {
  uint32_t sum = static_cast<uint16_t>(~checksum);
  sum += static_cast<uint16_t>(~(old_value >> 16));
  sum += static_cast<uint16_t>(~(old_value & 0xffff));
  sum += new_value >> 16;
  sum += new_value & 0xffff;
  return static_cast<uint16_t>(~FoldSum(sum));
}

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_CHECKSUM_H_
