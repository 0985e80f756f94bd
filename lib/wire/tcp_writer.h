// The TCP frame writers' one body, inline: Ethernet + IPv4 (or IPv6) + TCP
// headers from plain values, with the checksums summed from the values
// written (build.cc's file comment says why).
//
// wire::WriteTcpFrameHeaders and WriteTcp6FrameHeaders (build.h) call these
// with a spec's fields; the engine calls them straight from the stack's
// OutSegment (engine/tcp_output.cc), so that the worker does not copy every
// output segment into a TcpSegmentSpec first (about 80 instructions a
// segment) and the writer's body is inlined into its output loop.
//
// The Ethernet addresses are passed as 64-bit words holding the six address
// bytes in memory order in their low 48 bits (engine::PeerL2's layout, on a
// little-endian host): the Ethernet header is then two 8-byte stores.
#ifndef SYNWAVE_WIRE_TCP_WRITER_H_
#define SYNWAVE_WIRE_TCP_WRITER_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wire/addresses.h"
#include "wire/build.h"
#include "wire/checksum.h"
#include "wire/headers.h"
#include "wire/tcp_options.h"

namespace synwave::wire {

// The values of a TCP segment's headers, host order.
struct TcpHeaderValues {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t payload_length = 0;
};

// A MAC address as the writers' 64-bit word (low 48 bits, memory order).
inline uint64_t MacWord(const MacAddress& mac) {
  uint64_t v = 0;
  std::memcpy(&v, mac.bytes.data(), 6);
  return v;
}

namespace writer_internal {

inline void Store64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline void Store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void Store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline uint32_t ToBe32(uint32_t v) {
  return std::endian::native == std::endian::little ? __builtin_bswap32(v) : v;
}
inline uint16_t ToBe16(uint16_t v) {
  return std::endian::native == std::endian::little ? __builtin_bswap16(v) : v;
}

// Dst then src and the EtherType: two 8-byte stores (the first one's last
// two bytes are overwritten by the second).
[[gnu::always_inline]] inline void WriteEthernet(uint8_t* frame,
                                                 uint64_t dst_mac,
                                                 uint64_t src_mac,
                                                 uint16_t ether_type) {
  static_assert(std::endian::native == std::endian::little,
                "the MAC words are little-endian");
  Store64(frame, dst_mac);
  Store64(frame + 6, (src_mac & 0xffffffffffffull) |
                         uint64_t{ToBe16(ether_type)} << 48);
}

// The options with their sum: the full set a SYN-ACK carries inline, any
// other set through EmitTcpOptions.
[[gnu::always_inline]] inline size_t WriteOptions(const TcpOptions& o,
                                                  uint8_t* out,
                                                  uint64_t* sum) {
  if (o.has_mss && o.has_timestamps && o.has_window_scale) {
    // MSS; SACK-permitted or NOP NOP; timestamps; NOP, window scale.
    const uint32_t first = uint32_t{tcp_option_kind::kMss} << 24 |
                           uint32_t{4} << 16 | o.mss;
    const uint32_t second =
        o.sack_permitted
            ? (uint32_t{tcp_option_kind::kSackPermitted} << 24 |
               uint32_t{2} << 16 | uint32_t{tcp_option_kind::kTimestamps} << 8 |
               10)
            : (uint32_t{tcp_option_kind::kNop} << 24 |
               uint32_t{tcp_option_kind::kNop} << 16 |
               uint32_t{tcp_option_kind::kTimestamps} << 8 | 10);
    const uint32_t last = uint32_t{tcp_option_kind::kNop} << 24 |
                          uint32_t{tcp_option_kind::kWindowScale} << 16 |
                          uint32_t{3} << 8 | o.window_scale;
    Store32(out, ToBe32(first));
    Store32(out + 4, ToBe32(second));
    Store32(out + 8, ToBe32(o.ts_val));
    Store32(out + 12, ToBe32(o.ts_ecr));
    Store32(out + 16, ToBe32(last));
    *sum = uint64_t{first} + second + o.ts_val + o.ts_ecr + last;
    return 20;
  }
  return EmitTcpOptions(o, out, sum);
}

// The TCP header's 20 fixed bytes (checksum and urgent pointer zero) and
// their sum.
[[gnu::always_inline]] inline uint64_t WriteTcpFixed(uint8_t* tcp,
                                                     const TcpHeaderValues& v,
                                                     uint16_t header_len) {
  const uint32_t ports = uint32_t{v.src_port} << 16 | v.dst_port;
  const uint32_t word3 =
      uint32_t{static_cast<uint8_t>((header_len / 4) << 4)} << 24 |
      uint32_t{v.flags} << 16 | v.window;
  Store32(tcp, ToBe32(ports));
  Store32(tcp + 4, ToBe32(v.seq));
  Store32(tcp + 8, ToBe32(v.ack));
  Store32(tcp + 12, ToBe32(word3));
  Store32(tcp + 16, 0);  // checksum (set later), urgent pointer
  return uint64_t{ports} + v.seq + v.ack + word3;
}

// The TCP checksum over the header's sum (pseudo-header included) and the
// payload, if any, which already sits after the header.
[[gnu::always_inline]] inline uint16_t TcpChecksumFrom(uint64_t sum,
                                                       const uint8_t* payload,
                                                       uint16_t length) {
  if (length > 0) sum = PartialSum(payload, length, FoldSum(sum));
  return static_cast<uint16_t>(~FoldSum(sum));
}

// Where a TCP frame's headers go and what both families' writers share:
// the Ethernet header and the TCP options are written first (the options'
// length gives the IP lengths), the fixed TCP header and its checksum last.
// (The header pointers are not kept here: derived from the frame's at a
// constant offset they cost nothing, kept they take registers.)
struct TcpFrameLayout {
  uint64_t options_sum;
  uint32_t tcp_header_len;
  uint32_t l4_len;  // TCP header and payload
};

// The part before the IP header: Ethernet, then the options after the
// fixed TCP header, for an IP header of kIpLength bytes.
template <size_t kIpLength>
[[gnu::always_inline]] inline TcpFrameLayout WriteTcpFrameStart(
    uint8_t* frame, uint64_t dst_mac, uint64_t src_mac, uint16_t ether_type,
    const TcpOptions& options, uint16_t payload_length) {
  WriteEthernet(frame, dst_mac, src_mac, ether_type);
  TcpFrameLayout l;
  const size_t options_len = WriteOptions(
      options, frame + kEthernetHeaderLength + kIpLength + kTcpMinHeaderLength,
      &l.options_sum);
  l.tcp_header_len = static_cast<uint32_t>(kTcpMinHeaderLength + options_len);
  l.l4_len = l.tcp_header_len + payload_length;
  return l;
}

// The part after the IP header: the fixed TCP header at `tcp` and its
// checksum, from `pseudo`, the pseudo-header's sum (unfolded). With
// tcp_mode kOffload the checksum field holds the folded pseudo-header sum,
// as the NIC wants.
[[gnu::always_inline]] inline void WriteTcpFrameEnd(uint8_t* tcp,
                                                    const TcpFrameLayout& l,
                                                    const TcpHeaderValues& v,
                                                    uint64_t pseudo,
                                                    ChecksumMode tcp_mode) {
  const uint64_t header_sum =
      WriteTcpFixed(tcp, v, static_cast<uint16_t>(l.tcp_header_len));
  uint16_t tcp_checksum;
  if (tcp_mode == ChecksumMode::kSoftware) [[likely]] {
    tcp_checksum = TcpChecksumFrom(pseudo + header_sum + l.options_sum,
                                   tcp + l.tcp_header_len, v.payload_length);
  } else {
    tcp_checksum = FoldSum(pseudo);
  }
  Store16(tcp + 16, ToBe16(tcp_checksum));
}

}  // namespace writer_internal

// Ethernet + IPv4 (no options, DF) + TCP headers at `frame`; with
// tcp_mode kSoftware the payload (v.payload_length bytes) must already sit
// after them. Returns the header length.
[[gnu::always_inline]] inline size_t WriteIpv4TcpHeaders(
    uint8_t* frame, uint64_t dst_mac, uint64_t src_mac, uint32_t src_ip,
    uint32_t dst_ip, const TcpHeaderValues& v, const TcpOptions& options,
    uint16_t ip_id, uint8_t ttl, ChecksumMode ip_mode, ChecksumMode tcp_mode) {
  using namespace writer_internal;
  const TcpFrameLayout l = WriteTcpFrameStart<kIpv4MinHeaderLength>(
      frame, dst_mac, src_mac, kEtherTypeIpv4, options, v.payload_length);
  uint8_t* const ip = frame + kEthernetHeaderLength;
  const auto total_len =
      static_cast<uint16_t>(kIpv4MinHeaderLength + l.l4_len);
  // Version/IHL, TOS, total length; id, DF; TTL, protocol, checksum.
  const uint32_t w0 = uint32_t{0x4500} << 16 | total_len;
  const uint32_t w1 = uint32_t{ip_id} << 16 | kIpv4FlagDontFragment;
  const uint32_t w2 = uint32_t{ttl} << 8 | kIpProtoTcp;  // high half
  uint16_t ip_checksum = 0;
  if (ip_mode == ChecksumMode::kSoftware) {
    ip_checksum = static_cast<uint16_t>(
        ~FoldSum(uint64_t{w0} + w1 + w2 + uint64_t{src_ip} + dst_ip));
  }
  Store64(ip, uint64_t{ToBe32(w1)} << 32 | ToBe32(w0));
  Store32(ip + 8, uint32_t{ToBe16(ip_checksum)} << 16 |
                        ToBe16(static_cast<uint16_t>(w2)));
  Store64(ip + 12, uint64_t{ToBe32(dst_ip)} << 32 | ToBe32(src_ip));
  // The pseudo-header: addresses, the words 0x0006 and the TCP length.
  WriteTcpFrameEnd(
      ip + kIpv4MinHeaderLength, l, v,
      uint64_t{src_ip} + dst_ip + (uint32_t{kIpProtoTcp} << 16 | (l.l4_len & 0xffff)),
      tcp_mode);
  return kEthernetHeaderLength + kIpv4MinHeaderLength + l.tcp_header_len;
}

// Ethernet + IPv6 (no extension headers) + TCP headers; as above.
[[gnu::always_inline]] inline size_t WriteIpv6TcpHeaders(
    uint8_t* frame, uint64_t dst_mac, uint64_t src_mac,
    const Ipv6Address& src_ip, const Ipv6Address& dst_ip,
    const TcpHeaderValues& v, const TcpOptions& options, uint32_t flow_label,
    uint8_t hop_limit, ChecksumMode tcp_mode) {
  using namespace writer_internal;
  const TcpFrameLayout l = WriteTcpFrameStart<kIpv6HeaderLength>(
      frame, dst_mac, src_mac, kEtherTypeIpv6, options, v.payload_length);
  uint8_t* const ip = frame + kEthernetHeaderLength;
  // Version, class, flow label; payload length, next header, hop limit.
  const uint32_t w0 = uint32_t{6} << 28 | (flow_label & 0xfffff);
  const uint32_t w1 = l.l4_len << 16 | uint32_t{kIpProtoTcp} << 8 |
                      hop_limit;
  Store64(ip, uint64_t{ToBe32(w1)} << 32 | ToBe32(w0));
  src_ip.CopyTo(ip + 8);
  dst_ip.CopyTo(ip + 24);
  WriteTcpFrameEnd(ip + kIpv6HeaderLength, l, v,
                   Ipv6PseudoHeaderSum(src_ip, dst_ip, kIpProtoTcp,
                                       static_cast<uint16_t>(l.l4_len)),
                   tcp_mode);
  return kEthernetHeaderLength + kIpv6HeaderLength + l.tcp_header_len;
}

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_TCP_WRITER_H_
