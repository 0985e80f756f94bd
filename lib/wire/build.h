// Building outgoing Ethernet/IPv4/TCP and Ethernet/IPv6/TCP frames from a
// header description.
//
// The TCP state machine decides what to send (sequence numbers, flags,
// window, options); this writes the bytes. It is pure so that the same code
// builds frames for the engine, the tests and the benchmarks. Checksums are
// computed in software or left for the NIC: with TX offload the TCP checksum
// field must hold the pseudo-header sum (as DPDK's offload contract asks).
#ifndef SYNWAVE_WIRE_BUILD_H_
#define SYNWAVE_WIRE_BUILD_H_

#include <cstddef>
#include <cstdint>

#include "wire/addresses.h"
#include "wire/seq_num.h"
#include "wire/tcp_options.h"

namespace synwave::wire {

struct TcpSegmentSpec {
  MacAddress src_mac;
  MacAddress dst_mac;
  Ipv4Address src_ip;
  Ipv4Address dst_ip;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  SeqNum seq;
  SeqNum ack;
  uint8_t flags = 0;      // tcp_flags bits
  uint16_t window = 0;    // as written (already scaled down)
  TcpOptions options;     // emitted with EmitTcpOptions
  uint16_t payload_length = 0;
  uint16_t ip_id = 0;
  uint8_t ttl = 64;
};

// The same over IPv6 (no extension headers).
struct Tcp6SegmentSpec {
  MacAddress src_mac;
  MacAddress dst_mac;
  Ipv6Address src_ip;
  Ipv6Address dst_ip;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  SeqNum seq;
  SeqNum ack;
  uint8_t flags = 0;
  uint16_t window = 0;
  TcpOptions options;
  uint16_t payload_length = 0;
  uint32_t flow_label = 0;  // 20 bits (RFC 6437)
  uint8_t hop_limit = 64;
};

enum class ChecksumMode : uint8_t {
  kSoftware,  // compute the full checksum
  kOffload,   // leave it to the NIC (IPv4: zero; TCP: pseudo-header sum)
};

// Ethernet + IPv4 + TCP header bytes for `spec` (options included).
size_t TcpFrameHeaderLength(const TcpSegmentSpec& spec);

// Writes the headers at `frame`; the payload (spec.payload_length bytes)
// must already sit right after them when tcp_mode is kSoftware, since the
// checksum covers it. Returns the header length.
size_t WriteTcpFrameHeaders(uint8_t* frame, const TcpSegmentSpec& spec,
                            ChecksumMode ip_mode, ChecksumMode tcp_mode);

// Ethernet + IPv6 + TCP header bytes for `spec` (options included).
size_t Tcp6FrameHeaderLength(const Tcp6SegmentSpec& spec);

// As WriteTcpFrameHeaders, over IPv6: no header checksum; with kOffload the
// TCP checksum field holds the folded IPv6 pseudo-header sum (what DPDK's
// rte_ipv6_phdr_cksum gives and the NIC completes).
size_t WriteTcp6FrameHeaders(uint8_t* frame, const Tcp6SegmentSpec& spec,
                             ChecksumMode tcp_mode);

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_BUILD_H_
