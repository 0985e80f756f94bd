// Verdict: why the parser rejected a frame, one named reason per check.
//
// The list is an X-macro so that the enum, its names and the engine's drop
// counters come from one place (VPP tcp_error.def, grout GR_DROP_REGISTER):
// every frame that dies in the parser is counted under exactly one of these.
#ifndef SYNWAVE_WIRE_VERDICT_H_
#define SYNWAVE_WIRE_VERDICT_H_

#include <cstdint>
#include <string_view>

namespace synwave::wire {

// X(Enumerator, "counter_name", "what it means")
#define SYNWAVE_WIRE_VERDICTS(X)                                              \
  X(kOk, "ok", "frame accepted")                                              \
  X(kEthTruncated, "eth_truncated", "frame shorter than an Ethernet header")  \
  X(kEthSrcGroup, "eth_src_group",                                            \
    "source MAC is a group address (broadcast or multicast): never answered") \
  X(kEthTypeUnsupported, "eth_type_unsupported",                              \
    "EtherType other than IPv4, IPv6 or ARP (VLAN tags included)")            \
  X(kArpTruncated, "arp_truncated", "ARP body shorter than 28 bytes")         \
  X(kArpUnsupported, "arp_unsupported",                                       \
    "ARP not for Ethernet/IPv4 (htype, ptype, hlen or plen)")                 \
  X(kIpv4Truncated, "ipv4_truncated", "shorter than a 20-byte IPv4 header")   \
  X(kIpv4BadVersion, "ipv4_bad_version", "IP version field is not 4")         \
  X(kIpv4BadIhl, "ipv4_bad_ihl",                                              \
    "IHL below 5 or header longer than the frame")                            \
  X(kIpv4BadTotalLength, "ipv4_bad_total_length",                             \
    "total length below the header length or beyond the frame")               \
  X(kIpv4Fragment, "ipv4_fragment", "fragment (MF set or offset non-zero)")   \
  X(kIpv4BadChecksum, "ipv4_bad_checksum", "IPv4 header checksum wrong")      \
  X(kIpv4BadSource, "ipv4_bad_source",                                        \
    "source is multicast, broadcast or 0.0.0.0")                              \
  X(kIpv4LoopbackSource, "ipv4_loopback_source",                             \
    "source in 127.0.0.0/8 from the wire (RFC 1122 3.2.1.3)")                 \
  X(kIpv4Land, "ipv4_land", "source address equals destination (LAND)")       \
  X(kIpv4ProtoUnsupported, "ipv4_proto_unsupported",                          \
    "IP protocol other than ICMP or TCP")                                     \
  X(kIpv6Truncated, "ipv6_truncated", "shorter than a 40-byte IPv6 header")   \
  X(kIpv6BadVersion, "ipv6_bad_version",                                      \
    "IP version field is not 6 (EtherType IPv6)")                             \
  X(kIpv6BadPayloadLength, "ipv6_bad_payload_length",                         \
    "payload length beyond the frame")                                        \
  X(kIpv6BadSource, "ipv6_bad_source",                                        \
    "source is multicast, loopback, IPv4-mapped, or :: (other than in "       \
    "duplicate address detection)")                                           \
  X(kIpv6Land, "ipv6_land", "source address equals destination (LAND)")       \
  X(kIpv6ExtTooMany, "ipv6_ext_too_many",                                     \
    "more than 4 extension headers")                                          \
  X(kIpv6ExtTruncated, "ipv6_ext_truncated",                                  \
    "extension header runs past the payload")                                 \
  X(kIpv6HopByHopMisplaced, "ipv6_hop_by_hop_misplaced",                      \
    "hop-by-hop options header not right after the IPv6 header")              \
  X(kIpv6BadOption, "ipv6_bad_option",                                        \
    "hop-by-hop or destination option overruns its header, or is unknown "    \
    "and not marked skippable")                                               \
  X(kIpv6Fragment, "ipv6_fragment", "fragment header (no reassembly)")        \
  X(kIpv6RoutingType0, "ipv6_routing_type0",                                  \
    "routing header type 0 (deprecated, RFC 5095)")                           \
  X(kIpv6RoutingSegmentsLeft, "ipv6_routing_segments_left",                   \
    "routing header with segments left: we are not the final destination")    \
  X(kIpv6ProtoUnsupported, "ipv6_proto_unsupported",                          \
    "next header other than ICMPv6 or TCP (after the extension headers)")     \
  X(kIpv6Disabled, "ipv6_disabled",                                           \
    "valid IPv6 frame, but the port has no IPv6 address")                     \
  X(kIpv4Disabled, "ipv4_disabled",                                           \
    "valid IPv4 or ARP frame, but the port has no IPv4 address (IPv6 only)")  \
  X(kIcmpTruncated, "icmp_truncated", "ICMP message shorter than 8 bytes")    \
  X(kIcmpBadChecksum, "icmp_bad_checksum", "ICMP checksum wrong")             \
  X(kIcmp6Truncated, "icmp6_truncated",                                       \
    "ICMPv6 message shorter than its type's fixed part")                      \
  X(kIcmp6BadChecksum, "icmp6_bad_checksum", "ICMPv6 checksum wrong")         \
  X(kIcmp6TypeUnsupported, "icmp6_type_unsupported",                          \
    "ICMPv6 type other than echo, neighbor solicitation or advertisement")    \
  X(kNdBadHopLimit, "nd_bad_hop_limit",                                       \
    "neighbor discovery message with hop limit other than 255")               \
  X(kNdInvalid, "nd_invalid",                                                 \
    "neighbor discovery message failing RFC 4861 7.1 (code, multicast "       \
    "target, solicited advertisement to a group, malformed address probe)")   \
  X(kNdBadOption, "nd_bad_option",                                            \
    "neighbor discovery option of length 0, past the message, or a "          \
    "link-layer address option that is not 8 bytes")                          \
  X(kTcpTruncated, "tcp_truncated", "TCP segment shorter than 20 bytes")      \
  X(kTcpBadDataOffset, "tcp_bad_data_offset",                                 \
    "data offset below 5 or header longer than the segment")                  \
  X(kTcpBadOption, "tcp_bad_option",                                          \
    "option overruns the header or has a wrong length")                       \
  X(kTcpBadChecksum, "tcp_bad_checksum", "TCP checksum wrong")                \
  X(kTcpSynFin, "tcp_syn_fin_rst",                                            \
    "SYN that also carries FIN or RST (valid in no state)")

enum class Verdict : uint8_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_WIRE_VERDICTS(SYNWAVE_X)
#undef SYNWAVE_X
};

inline constexpr int kNumVerdicts = 0
#define SYNWAVE_X(e, name, help) +1
    SYNWAVE_WIRE_VERDICTS(SYNWAVE_X)
#undef SYNWAVE_X
    ;

// Counter name of a verdict ("ipv4_bad_checksum").
std::string_view VerdictName(Verdict v);
// One-line description.
std::string_view VerdictHelp(Verdict v);

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_VERDICT_H_
