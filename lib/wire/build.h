// Building outgoing Ethernet/IPv4/TCP frames from a header description.
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

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_BUILD_H_
