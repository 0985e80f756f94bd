// Building ICMPv6 replies: Neighbor Solicitation and Advertisement frames
// (RFC 4861) and echo replies (RFC 4443 4.2).
//
// The engine decides when to solicit and what to answer; this writes the
// bytes, as lib/wire/build.h does for TCP, so that the engine, the tests and
// the benchmarks share one implementation. Frames carry no extension headers
// and always a software ICMPv6 checksum (no NIC offloads it).
#ifndef SYNWAVE_WIRE_ICMP6_H_
#define SYNWAVE_WIRE_ICMP6_H_

#include <cstddef>
#include <cstdint>

#include "wire/addresses.h"
#include "wire/parse.h"

namespace synwave::wire {

// The all-nodes group, where an advertisement answering an address probe
// (duplicate address detection) goes (RFC 4861 7.2.4).
inline constexpr Ipv6Address kAllNodes =
    Ipv6Address::FromWords(0xff02000000000000ull, 1);

// One ND message in its Ethernet frame.
struct NdSpec {
  MacAddress src_mac;
  MacAddress dst_mac;
  Ipv6Address src_ip;
  Ipv6Address dst_ip;
  Ipv6Address target;
  uint8_t flags = 0;  // na_flags bits (advertisement only)
  // Append the link-layer address option (source for NS, target for NA)
  // holding src_mac. RFC 4861 4.3: omitted only when src_ip is ::.
  bool link_address_option = true;
};

// Longest ND frame written here: Ethernet, IPv6, message, one option.
inline constexpr size_t kNdFrameMaxLength = 14 + 40 + 24 + 8;

// Writes the frame (at most kNdFrameMaxLength bytes) and returns its length.
// Hop limit 255, as receivers require (RFC 4861 7.1).
size_t WriteNeighborSolicitation(uint8_t* frame, const NdSpec& spec);
size_t WriteNeighborAdvertisement(uint8_t* frame, const NdSpec& spec);

// The solicitation that resolves `target` from `our_ip` (RFC 4861 7.2.2):
// to the target's solicited-node group and its multicast MAC, with our
// link-layer address.
NdSpec SolicitationFor(const Ipv6Address& target, const Ipv6Address& our_ip,
                       const MacAddress& our_mac);

// The advertisement answering an accepted solicitation (`ns_frame`, `info`
// from ParseFrame, kind kIcmp6 type NS) for an address of ours, the target
// (RFC 4861 7.2.4): from the target, with our MAC as the target link-layer
// address and Override set; to the solicitation's source and its link-layer
// address (the option, or else the frame's Ethernet source) with Solicited
// set; or, for an address probe from ::, to all-nodes without Solicited.
NdSpec AdvertisementFor(const uint8_t* ns_frame, const PacketInfo& info,
                        const MacAddress& our_mac);

// Turns an accepted echo request (`info` from ParseFrame, kind kIcmp6 type
// 128) into its reply in the same buffer: Ethernet back to the sender from
// `our_mac`, IPv6 from `our_ip` (the request's destination, or for a
// request to a group one of our unicast addresses) with `hop_limit`, any
// extension headers of the request dropped, type 129, identifier, sequence
// and data kept, checksum recomputed. Returns the reply's length, never
// more than the request's.
size_t WriteIcmpv6EchoReply(uint8_t* frame, const PacketInfo& info,
                            const Ipv6Address& our_ip,
                            const MacAddress& our_mac, uint8_t hop_limit = 64);

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_ICMP6_H_
