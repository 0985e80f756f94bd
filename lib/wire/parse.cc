// ParseFrame and the Verdict names.
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

Verdict ParseTcp(const uint8_t* l4, uint16_t l4_len, RxChecksum l4_offload,
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
      if (TcpChecksum(info->src_ip, info->dst_ip, l4, l4_len) != 0) {
        return Verdict::kTcpBadChecksum;
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
    return ParseTcp(l4, info->l4_length, offload.l4, info);
  }
  if (ip->protocol == kIpProtoIcmp) {
    return ParseIcmp(l4, info->l4_length, info);
  }
  return Verdict::kIpv4ProtoUnsupported;
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
