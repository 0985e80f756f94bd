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
    "EtherType other than IPv4 or ARP (VLAN tags included)")                  \
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
  X(kIpv4Land, "ipv4_land", "source address equals destination (LAND)")     \
  X(kIpv4ProtoUnsupported, "ipv4_proto_unsupported",                          \
    "IP protocol other than ICMP or TCP")                                     \
  X(kIcmpTruncated, "icmp_truncated", "ICMP message shorter than 8 bytes")    \
  X(kIcmpBadChecksum, "icmp_bad_checksum", "ICMP checksum wrong")             \
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
