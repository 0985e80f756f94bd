// ParseFrame: validate one Ethernet frame and describe it in a PacketInfo.
//
// This is the first stage of the burst pipeline (ARCHITECTURE.md): the worker
// runs it over every frame of an rx burst before anything else looks at the
// packets. It reads only within [frame, frame + len), checks every header
// length, IPv4, TCP, ICMP and ICMPv6 checksums (unless the NIC already did,
// as told by RxChecksum; ICMP is always checked here), and returns a named
// Verdict for the first check that fails. On kOk the PacketInfo says where
// each header starts and holds the TCP fields in host order, so later stages
// never re-parse.
//
// Not accepted: VLAN tags, IPv4 fragments, IPv6 fragments, protocols other
// than ICMP, ICMPv6 and TCP, ICMPv6 other than echo and neighbor
// solicitation/advertisement. IPv4 options are allowed and skipped. IPv6
// hop-by-hop, destination options and routing headers (not type 0, no
// segments left) are skipped, at most kMaxIpv6ExtensionHeaders of them.
// Ethernet padding past the IPv4 total length or IPv6 payload is ignored.
//
// IPv4 and IPv6 share one PacketInfo: `family` says which. IPv6 addresses are
// not copied into it (16 bytes each, and IPv4 would pay for the larger
// struct in every burst copy); they are read from the frame with Ipv6Src and
// Ipv6Dst, at a fixed offset from l3_offset.
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
  kIcmp,   // ICMP over IPv4
  kTcp,    // over either family
  kIcmp6,  // ICMPv6: echo request or reply, neighbor solicitation or
           // advertisement
};

enum class IpFamily : uint8_t {
  kIpv4,  // and ARP
  kIpv6,
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
  IpFamily family = IpFamily::kIpv4;
  uint8_t tcp_flags = 0;        // tcp_flags bits (kTcp)
  uint16_t l3_offset = 0;       // bytes from frame start to ARP/IP header
  uint16_t l4_offset = 0;       // to the ICMP/TCP header, past IPv6 extensions
  uint16_t l4_length = 0;       // ICMP message or TCP header + payload
  uint16_t payload_offset = 0;  // TCP payload (kTcp)
  uint16_t payload_length = 0;  // TCP payload bytes (kTcp)
  uint16_t src_port = 0;        // kTcp
  uint16_t dst_port = 0;        // kTcp
  uint16_t window = 0;          // kTcp, unscaled
  // kIcmp6 neighbor solicitation (advertisement): where the Ethernet address
  // of its source (target) link-layer address option starts, 0 if none.
  uint16_t nd_link_address_offset = 0;
  Ipv4Address src_ip;  // IPv4 (ARP: sender protocol address); IPv6: 0
  Ipv4Address dst_ip;  // IPv4 (ARP: target protocol address); IPv6: 0
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

// The addresses of an accepted IPv6 frame (family kIpv6), read from the
// frame `info` describes.
inline Ipv6Address Ipv6Src(const uint8_t* frame, const PacketInfo& info) {
  return Ipv6Address::FromBytes(frame + info.l3_offset + 8);
}
inline Ipv6Address Ipv6Dst(const uint8_t* frame, const PacketInfo& info) {
  return Ipv6Address::FromBytes(frame + info.l3_offset + 24);
}

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_PARSE_H_
