// ParseFrame and the Verdict names.
//
// IPv6 (RFC 8200) shares the TCP parser with IPv4 (a template on the family,
// inlined into each, so the IPv4 path is the code it was). Its extension
// headers are walked with a bound (kMaxIpv6ExtensionHeaders) and every step
// checks the header lies inside the payload. ICMPv6 neighbor discovery is
// validated as RFC 4861 7.1 asks before the engine sees it.
//
// The parser runs once per received frame, so it is written as a straight
// line of bounds checks with early returns: no allocation, no exceptions, and
// each check reads only bytes an earlier check has proved are inside the
// frame. Checks run in the order the headers appear so that the verdict names
// the outermost thing that is wrong.
//
// Checksum before options: a TCP segment whose option bytes were corrupted in
// flight fails its checksum too, and should be counted as damage
// (tcp_bad_checksum), not as a peer that sends malformed options
// (tcp_bad_option). So the checksum is verified first. When the NIC has
// checked it the order costs nothing; in software a segment with bad options is
// summed once before being dropped, which is the price of a truthful counter.
#include "wire/parse.h"

#include <cstddef>
#include <iterator>
#include <string_view>

#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::wire {
namespace {

Verdict ParseArp(const uint8_t* l3, uint32_t l3_len, PacketInfo* info) {
  if (l3_len < sizeof(ArpHeader)) return Verdict::kArpTruncated;
  const auto* arp = reinterpret_cast<const ArpHeader*>(l3);
  // RFC 826 is generic over hardware and protocol; we speak only Ethernet
  // and IPv4, for which the address lengths are fixed.
  if (arp->htype.get() != kArpHardwareEthernet ||
      arp->ptype.get() != kEtherTypeIpv4 || arp->hlen != 6 || arp->plen != 4) {
    return Verdict::kArpUnsupported;
  }
  *info = PacketInfo{};
  info->kind = PacketKind::kArp;
  info->l3_offset = kEthernetHeaderLength;
  info->src_ip = arp->SenderIp();
  info->dst_ip = arp->TargetIp();
  return Verdict::kOk;
}

// `l4`/`l4_len` are the ICMP message as bounded by the IPv4 total length.
Verdict ParseIcmp(const uint8_t* l4, uint16_t l4_len, PacketInfo* info) {
  if (l4_len < sizeof(IcmpEchoHeader)) return Verdict::kIcmpTruncated;
  // RFC 792: the checksum covers the whole message. NICs do not offload
  // ICMP, so offload flags are ignored and it is always checked here.
  if (InternetChecksum(l4, l4_len) != 0) return Verdict::kIcmpBadChecksum;
  info->kind = PacketKind::kIcmp;
  info->family = IpFamily::kIpv4;
  info->tcp_flags = 0;
  info->payload_offset = 0;
  info->payload_length = 0;
  info->src_port = 0;
  info->dst_port = 0;
  info->window = 0;
  info->seq = SeqNum();
  info->ack = SeqNum();
  info->options = TcpOptions{};
  return Verdict::kOk;
}

// `l3` is the IP header, for the pseudo-header; the IPv4 addresses are
// already in `info`. One body for both families, inlined into each so that
// IPv4 pays nothing for IPv6.
template <IpFamily kFamily>
[[gnu::always_inline]] inline Verdict ParseTcp(const uint8_t* l3,
                                               const uint8_t* l4,
                                               uint16_t l4_len,
                                               RxChecksum l4_offload,
                                               PacketInfo* info) {
  if (l4_len < kTcpMinHeaderLength) return Verdict::kTcpTruncated;
  const auto* tcp = reinterpret_cast<const TcpHeader*>(l4);
  // RFC 9293 3.1: Data Offset counts 32-bit words, at least 5.
  const uint16_t header_len = tcp->HeaderLength();
  if (header_len < kTcpMinHeaderLength || header_len > l4_len) {
    return Verdict::kTcpBadDataOffset;
  }
  // RFC 9293 3.1: the checksum covers the pseudo-header, the TCP header and
  // the payload. See the file comment for why it precedes the options.
  switch (l4_offload) {
    case RxChecksum::kGood:
      break;
    case RxChecksum::kBad:
      return Verdict::kTcpBadChecksum;
    case RxChecksum::kUnknown:
      if constexpr (kFamily == IpFamily::kIpv4) {
        if (!Ipv4TcpChecksumOk(l3, l4, l4_len)) {
          return Verdict::kTcpBadChecksum;
        }
      } else {
        const auto* ip = reinterpret_cast<const Ipv6Header*>(l3);
        if (Ipv6L4Checksum(ip->src, ip->dst, kIpProtoTcp, l4, l4_len) != 0) {
          return Verdict::kTcpBadChecksum;
        }
      }
      break;
  }
  // SYN with FIN or RST opens nothing and closes nothing in any state:
  // dropped here, before the connection table is hashed or searched.
  if ((tcp->flags & tcp_flags::kSyn) &&
      (tcp->flags & (tcp_flags::kFin | tcp_flags::kRst))) {
    return Verdict::kTcpSynFin;
  }
  if (header_len > kTcpMinHeaderLength) {
    Verdict v =
        ParseTcpOptions(l4 + kTcpMinHeaderLength,
                        header_len - kTcpMinHeaderLength, &info->options);
    if (v != Verdict::kOk) return v;
  } else {
    info->options = TcpOptions{};
  }
  info->kind = PacketKind::kTcp;
  info->family = kFamily;
  info->tcp_flags = tcp->flags;
  info->payload_offset = static_cast<uint16_t>(info->l4_offset + header_len);
  info->payload_length = static_cast<uint16_t>(l4_len - header_len);
  info->src_port = tcp->src_port.get();
  info->dst_port = tcp->dst_port.get();
  info->window = tcp->window.get();
  info->seq = SeqNum(tcp->seq.get());
  info->ack = SeqNum(tcp->ack.get());
  return Verdict::kOk;
}

Verdict ParseIpv4(const uint8_t* l3, uint32_t l3_len, RxOffload offload,
                  PacketInfo* info) {
  if (l3_len < kIpv4MinHeaderLength) return Verdict::kIpv4Truncated;
  const auto* ip = reinterpret_cast<const Ipv4Header*>(l3);
  if (ip->Version() != 4) return Verdict::kIpv4BadVersion;
  // RFC 791 3.1: IHL counts 32-bit words, at least 5.
  const uint16_t header_len = ip->HeaderLength();
  if (header_len < kIpv4MinHeaderLength || header_len > l3_len) {
    return Verdict::kIpv4BadIhl;
  }
  // Bytes past the total length are Ethernet padding (frames are at least
  // 60 bytes on the wire), so only the short side is an error.
  const uint16_t total_len = ip->total_length.get();
  if (total_len < header_len || total_len > l3_len) {
    return Verdict::kIpv4BadTotalLength;
  }
  // We do not reassemble (RFC 791 3.2): any piece of a fragmented datagram
  // is dropped. DF alone is fine.
  if ((ip->flags_fragment.get() &
       (kIpv4FlagMoreFragments | kIpv4FragmentOffsetMask)) != 0) {
    return Verdict::kIpv4Fragment;
  }
  switch (offload.ip) {
    case RxChecksum::kGood:
      break;
    case RxChecksum::kBad:
      return Verdict::kIpv4BadChecksum;
    case RxChecksum::kUnknown:
      if (Ipv4HeaderChecksum(l3, header_len) != 0) {
        return Verdict::kIpv4BadChecksum;
      }
      break;
  }
  // RFC 1122 3.2.1.3 (and RFC 1112 4 for groups): a datagram whose source
  // is not a unicast address is discarded; answering it would send a reply
  // to a group or to nobody.
  const Ipv4Address src = ip->Src();
  if (src.IsZero() || src.IsLimitedBroadcast() || src.IsMulticast()) {
    return Verdict::kIpv4BadSource;
  }
  // RFC 1122 3.2.1.3 (g): a loopback address never arrives on a wire. (The
  // subnet's directed broadcast needs the configured prefix: the engine.)
  if (src.IsLoopback()) return Verdict::kIpv4LoopbackSource;
  // A datagram from our own address to itself (LAND): never a real peer.
  if (src == ip->Dst()) return Verdict::kIpv4Land;
  info->l3_offset = kEthernetHeaderLength;
  info->l4_offset = static_cast<uint16_t>(kEthernetHeaderLength + header_len);
  info->l4_length = static_cast<uint16_t>(total_len - header_len);
  info->src_ip = src;
  info->dst_ip = ip->Dst();
  const uint8_t* l4 = l3 + header_len;
  if (ip->protocol == kIpProtoTcp) [[likely]] {
    return ParseTcp<IpFamily::kIpv4>(l3, l4, info->l4_length, offload.l4,
                                     info);
  }
  if (ip->protocol == kIpProtoIcmp) {
    return ParseIcmp(l4, info->l4_length, info);
  }
  return Verdict::kIpv4ProtoUnsupported;
}

// RFC 8200 4.2: options in hop-by-hop and destination options headers. Pad1
// and PadN are padding; any other option we do not know is skipped only
// when the two high bits of its type say so (00), and otherwise discards
// the packet. `opts`/`len` are the header past its first two bytes.
Verdict WalkIpv6Options(const uint8_t* opts, uint16_t len) {
  uint16_t i = 0;
  while (i < len) {
    const uint8_t type = opts[i];
    if (type == kIpv6OptionPad1) {
      ++i;
      continue;
    }
    if (len - i < 2) return Verdict::kIpv6BadOption;
    const uint16_t option_len = static_cast<uint16_t>(2 + opts[i + 1]);
    if (option_len > len - i) return Verdict::kIpv6BadOption;
    // PadN and Router Alert (RFC 2711, which MLD uses) are understood;
    // anything else must allow skipping.
    if (type != kIpv6OptionPadN && type != kIpv6OptionRouterAlert &&
        (type & 0xc0) != 0) {
      return Verdict::kIpv6BadOption;
    }
    i = static_cast<uint16_t>(i + option_len);
  }
  return Verdict::kOk;
}

// The options of a Neighbor Solicitation or Advertisement (RFC 4861 4.6):
// each at least 8 bytes (a length of 0 is invalid, 7.1.1) and inside the
// message. Records where the Ethernet address of the link-layer option the
// message type carries (`wanted`) starts, or 0 when there is none.
Verdict WalkNdOptions(const uint8_t* msg, uint16_t len, uint8_t wanted,
                      uint16_t* link_address_at) {
  *link_address_at = 0;
  uint16_t i = kNdMessageLength;
  while (i < len) {
    if (len - i < 2) return Verdict::kNdBadOption;
    const uint16_t option_len = static_cast<uint16_t>(msg[i + 1] * 8);
    if (option_len == 0 || option_len > len - i) return Verdict::kNdBadOption;
    if (msg[i] == wanted) {
      // Ethernet (RFC 2464 8): one 8-byte unit, 6 address bytes.
      if (option_len != kNdLinkAddressOptionLength) {
        return Verdict::kNdBadOption;
      }
      *link_address_at = static_cast<uint16_t>(i + 2);
    }
    i = static_cast<uint16_t>(i + option_len);
  }
  return Verdict::kOk;
}

// `l4`/`l4_len` are the ICMPv6 message as bounded by the payload length.
Verdict ParseIcmp6(const uint8_t* l3, const uint8_t* l4, uint16_t l4_len,
                   PacketInfo* info) {
  const auto* ip = reinterpret_cast<const Ipv6Header*>(l3);
  if (l4_len < 4) return Verdict::kIcmp6Truncated;
  // RFC 4443 2.3: the checksum covers the pseudo-header and the message;
  // never offloaded, always checked.
  if (Ipv6L4Checksum(ip->src, ip->dst, kIpProtoIcmpv6, l4, l4_len) != 0) {
    return Verdict::kIcmp6BadChecksum;
  }
  const uint8_t type = l4[0];
  uint16_t link_address_at = 0;
  switch (type) {
    case kIcmpv6EchoRequest:
    case kIcmpv6EchoReply:
      if (l4_len < sizeof(IcmpEchoHeader)) return Verdict::kIcmp6Truncated;
      // Nobody to answer.
      if (ip->Src().IsUnspecified()) return Verdict::kIpv6BadSource;
      break;
    case kIcmpv6NeighborSolicitation:
    case kIcmpv6NeighborAdvertisement: {
      // RFC 4861 7.1.1 and 7.1.2, in their order.
      if (ip->hop_limit != kNdHopLimit) return Verdict::kNdBadHopLimit;
      if (l4_len < kNdMessageLength) return Verdict::kIcmp6Truncated;
      const auto* nd = reinterpret_cast<const NeighborSolicitation*>(l4);
      if (nd->code != 0 || nd->Target().IsMulticast()) {
        return Verdict::kNdInvalid;
      }
      const bool ns = type == kIcmpv6NeighborSolicitation;
      const Verdict v = WalkNdOptions(
          l4, l4_len,
          ns ? kNdOptionSourceLinkAddress : kNdOptionTargetLinkAddress,
          &link_address_at);
      if (v != Verdict::kOk) return v;
      const Ipv6Address src = ip->Src();
      const Ipv6Address dst = ip->Dst();
      if (ns) {
        // Duplicate address detection: from ::, to the solicited-node
        // group, without a source link-layer address.
        if (src.IsUnspecified() &&
            (!dst.IsSolicitedNodeMulticast() || link_address_at != 0)) {
          return Verdict::kNdInvalid;
        }
      } else {
        if (src.IsUnspecified()) return Verdict::kIpv6BadSource;
        // A solicited advertisement answers one host, never a group.
        const auto* na = reinterpret_cast<const NeighborAdvertisement*>(l4);
        if (dst.IsMulticast() && (na->flags & na_flags::kSolicited) != 0) {
          return Verdict::kNdInvalid;
        }
      }
      break;
    }
    default:
      return Verdict::kIcmp6TypeUnsupported;
  }
  info->kind = PacketKind::kIcmp6;
  info->nd_link_address_offset =
      link_address_at == 0 ? 0
                           : static_cast<uint16_t>(info->l4_offset +
                                                   link_address_at);
  info->tcp_flags = 0;
  info->payload_offset = 0;
  info->payload_length = 0;
  info->src_port = 0;
  info->dst_port = 0;
  info->window = 0;
  info->seq = SeqNum();
  info->ack = SeqNum();
  info->options = TcpOptions{};
  return Verdict::kOk;
}

// Not inlined into ParseFrame: the IPv4 path keeps its registers and code
// layout (measured: inlined, IPv4 parsing cost 3 more instructions a frame).
[[gnu::noinline]] Verdict ParseIpv6(const uint8_t* l3, uint32_t l3_len,
                                    RxOffload offload, PacketInfo* info) {
  if (l3_len < kIpv6HeaderLength) return Verdict::kIpv6Truncated;
  const auto* ip = reinterpret_cast<const Ipv6Header*>(l3);
  if (ip->Version() != 6) return Verdict::kIpv6BadVersion;
  // Bytes past the payload are Ethernet padding. A payload length of 0 with
  // a jumbo payload option (RFC 2675) needs links of more than 64 KiB: here
  // it is an empty payload, which no upper layer accepts.
  const uint16_t payload_len = ip->payload_length.get();
  if (payload_len > l3_len - kIpv6HeaderLength) {
    return Verdict::kIpv6BadPayloadLength;
  }
  // RFC 4291 2.7: a multicast address is never a source; 2.5.3: the
  // loopback address never leaves a node; IPv4-mapped addresses are not
  // used on the wire (RFC 4038 4.2). The unspecified address is a valid
  // source for duplicate address detection only (checked per protocol).
  const Ipv6Address src = ip->Src();
  if (src.IsMulticast() || src.IsLoopback() || src.IsV4Mapped()) {
    return Verdict::kIpv6BadSource;
  }
  if (src == ip->Dst()) return Verdict::kIpv6Land;

  // Extension headers (RFC 8200 4), walked with a bound: at most
  // kMaxIpv6ExtensionHeaders, each inside the payload.
  const uint16_t end = static_cast<uint16_t>(kIpv6HeaderLength + payload_len);
  uint16_t at = kIpv6HeaderLength;
  uint8_t next = ip->next_header;
  int count = 0;
  while (next == kIpProtoHopByHop || next == kIpProtoRouting ||
         next == kIpProtoDestinationOptions || next == kIpProtoFragment)
      [[unlikely]] {
    if (++count > kMaxIpv6ExtensionHeaders) return Verdict::kIpv6ExtTooMany;
    // RFC 8200 4.3: hop-by-hop options only right after the IPv6 header.
    if (next == kIpProtoHopByHop && count != 1) {
      return Verdict::kIpv6HopByHopMisplaced;
    }
    // Every extension header is a multiple of 8 bytes, at least 8.
    if (end - at < 8) return Verdict::kIpv6ExtTruncated;
    const uint8_t* ext = l3 + at;
    // We do not reassemble (RFC 8200 4.5 makes it optional for a host that
    // advertises no larger MTU): any fragment, atomic ones included.
    if (next == kIpProtoFragment) return Verdict::kIpv6Fragment;
    const auto* h = reinterpret_cast<const Ipv6ExtensionHeader*>(ext);
    const uint16_t len = h->Bytes();
    if (len > end - at) return Verdict::kIpv6ExtTruncated;
    if (next == kIpProtoRouting) {
      const auto* rh = reinterpret_cast<const Ipv6RoutingHeader*>(ext);
      // RFC 5095: type 0 is deprecated, dropped whatever its segments left.
      if (rh->routing_type == kIpv6RoutingType0) {
        return Verdict::kIpv6RoutingType0;
      }
      // RFC 8200 4.4: with segments left we are not the final destination,
      // and a host does not forward.
      if (rh->segments_left != 0) return Verdict::kIpv6RoutingSegmentsLeft;
    } else {
      const Verdict v =
          WalkIpv6Options(ext + 2, static_cast<uint16_t>(len - 2));
      if (v != Verdict::kOk) return v;
    }
    next = h->next_header;
    at = static_cast<uint16_t>(at + len);
  }
  info->family = IpFamily::kIpv6;
  info->l3_offset = kEthernetHeaderLength;
  info->l4_offset = static_cast<uint16_t>(kEthernetHeaderLength + at);
  info->l4_length = static_cast<uint16_t>(end - at);
  info->src_ip = Ipv4Address{};
  info->dst_ip = Ipv4Address{};
  const uint8_t* l4 = l3 + at;
  if (next == kIpProtoTcp) [[likely]] {
    if (src.IsUnspecified()) return Verdict::kIpv6BadSource;
    return ParseTcp<IpFamily::kIpv6>(l3, l4, info->l4_length, offload.l4, info);
  }
  if (next == kIpProtoIcmpv6) return ParseIcmp6(l3, l4, info->l4_length, info);
  return Verdict::kIpv6ProtoUnsupported;
}

}  // namespace

Verdict ParseFrame(const uint8_t* frame, uint32_t len, RxOffload offload,
                   PacketInfo* info) {
  if (len < kEthernetHeaderLength) return Verdict::kEthTruncated;
  const auto* eth = reinterpret_cast<const EthernetHeader*>(frame);
  // IEEE 802 4.2.2: a source address is an individual address. A frame from
  // a group address (broadcast, multicast) is forged or broken, and an
  // answer to it (a SYN-ACK, an echo reply) would reach every host on the
  // LAN: a flood of them becomes a broadcast storm.
  if (eth->src[0] & 0x01) return Verdict::kEthSrcGroup;
  const uint16_t ether_type = eth->ether_type.get();
  const uint8_t* l3 = frame + kEthernetHeaderLength;
  const uint32_t l3_len = len - kEthernetHeaderLength;
  if (ether_type == kEtherTypeIpv4) [[likely]] {
    return ParseIpv4(l3, l3_len, offload, info);
  }
  if (ether_type == kEtherTypeIpv6) return ParseIpv6(l3, l3_len, offload, info);
  if (ether_type == kEtherTypeArp) return ParseArp(l3, l3_len, info);
  // 802.1Q tags land here too: the port strips them or we do not use them.
  return Verdict::kEthTypeUnsupported;
}

uint32_t PacketInfo::SegmentLength() const {
  // RFC 9293 3.4: SYN and FIN each occupy one sequence number.
  return uint32_t{payload_length} + ((tcp_flags & tcp_flags::kSyn) ? 1 : 0) +
         ((tcp_flags & tcp_flags::kFin) ? 1 : 0);
}

namespace {

constexpr std::string_view kVerdictNames[] = {
#define SYNWAVE_X(e, name, help) name,
    SYNWAVE_WIRE_VERDICTS(SYNWAVE_X)
#undef SYNWAVE_X
};

constexpr std::string_view kVerdictHelp[] = {
#define SYNWAVE_X(e, name, help) help,
    SYNWAVE_WIRE_VERDICTS(SYNWAVE_X)
#undef SYNWAVE_X
};

static_assert(std::size(kVerdictNames) == kNumVerdicts);

}  // namespace

std::string_view VerdictName(Verdict v) {
  const auto i = static_cast<size_t>(v);
  return i < std::size(kVerdictNames) ? kVerdictNames[i] : "unknown";
}

std::string_view VerdictHelp(Verdict v) {
  const auto i = static_cast<size_t>(v);
  return i < std::size(kVerdictHelp) ? kVerdictHelp[i] : "unknown verdict";
}

}  // namespace synwave::wire
