// ParseFrame: validate one Ethernet frame and describe it in a PacketInfo.
//
// This is the first stage of the burst pipeline (ARCHITECTURE.md): the worker
// runs it over every frame of an rx burst before anything else looks at the
// packets. It reads only within [frame, frame + len), checks every header
// length, IPv4 and TCP/ICMP checksums (unless the NIC already did, as told by
// RxChecksum), and returns a named Verdict for the first check that fails. On
// kOk the PacketInfo says where each header starts and holds the TCP fields
// in host order, so later stages never re-parse.
//
// Not accepted: VLAN tags, IPv4 fragments, protocols other than ICMP and TCP.
// IPv4 options are allowed and skipped. Ethernet padding past the IPv4 total
// length is ignored.
#ifndef SYNWAVE_WIRE_PARSE_H_
#define SYNWAVE_WIRE_PARSE_H_

#include <cstdint>

#include "wire/addresses.h"
#include "wire/seq_num.h"
#include "wire/tcp_options.h"
#include "wire/verdict.h"

namespace synwave::wire {

enum class PacketKind : uint8_t {
  kArp,
  kIcmp,
  kTcp,
};

// What the NIC said about a checksum (from mbuf offload flags); kUnknown
// means "check it in software".
enum class RxChecksum : uint8_t {
  kUnknown,
  kGood,
  kBad,
};

struct RxOffload {
  RxChecksum ip = RxChecksum::kUnknown;
  RxChecksum l4 = RxChecksum::kUnknown;
};

struct PacketInfo {
  PacketKind kind = PacketKind::kArp;
  uint8_t tcp_flags = 0;        // tcp_flags bits (kTcp)
  uint16_t l3_offset = 0;       // bytes from frame start to ARP/IPv4 header
  uint16_t l4_offset = 0;       // to the ICMP/TCP header (IPv4 only)
  uint16_t l4_length = 0;       // ICMP message or TCP header + payload
  uint16_t payload_offset = 0;  // TCP payload (kTcp)
  uint16_t payload_length = 0;  // TCP payload bytes (kTcp)
  uint16_t src_port = 0;        // kTcp
  uint16_t dst_port = 0;        // kTcp
  uint16_t window = 0;          // kTcp, unscaled
  Ipv4Address src_ip;           // IPv4 (ARP: sender protocol address)
  Ipv4Address dst_ip;           // IPv4 (ARP: target protocol address)
  SeqNum seq;                   // kTcp
  SeqNum ack;                   // kTcp
  TcpOptions options;           // kTcp

  // Sequence space the segment occupies: payload, plus 1 each for SYN, FIN.
  uint32_t SegmentLength() const;
};

// Validates `len` bytes at `frame` and fills `info` on kOk. On any other
// verdict `info` is unspecified.
Verdict ParseFrame(const uint8_t* frame, uint32_t len, RxOffload offload,
                   PacketInfo* info);

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_PARSE_H_
