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

#include <cstddef>
#include <cstdint>

#include "wire/addresses.h"

namespace synwave::wire {

// Ones'-complement partial sum of `len` bytes taken as big-endian 16-bit
// words (an odd last byte is padded with zero), added to `initial`. The
// result is not folded; it is equal to the plain sum of the words modulo
// 0xffff (not bit for bit), so read it only through FoldSum or feed it back
// as another call's `initial`.
uint32_t PartialSum(const void* data, size_t len, uint32_t initial = 0);

// Folds a partial sum to 16 bits (no complement).
inline uint16_t FoldSum(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Checksum of a buffer: ~fold(sum). Host-order result; store with Be16::set.
inline uint16_t InternetChecksum(const void* data, size_t len) {
  return static_cast<uint16_t>(~FoldSum(PartialSum(data, len)));
}

// IPv4 header checksum over `header_len` bytes; the checksum field must be
// zero, or the result is 0 when verifying a correct header.
inline uint16_t Ipv4HeaderChecksum(const void* header, size_t header_len) {
  return InternetChecksum(header, header_len);
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
inline uint16_t TcpChecksum(Ipv4Address src, Ipv4Address dst,
                            const void* segment, size_t len) {
  uint32_t sum = PseudoHeaderSum(src, dst, 6, static_cast<uint16_t>(len));
  return static_cast<uint16_t>(~FoldSum(PartialSum(segment, len, sum)));
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
