#include "wire/icmp6.h"

#include <cstring>

#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::wire {
namespace {

// Ethernet and IPv6 headers for an ICMPv6 message of `l4_len` bytes.
void WriteHeaders(uint8_t* frame, const MacAddress& src_mac,
                  const MacAddress& dst_mac, const Ipv6Address& src_ip,
                  const Ipv6Address& dst_ip, uint16_t l4_len,
                  uint8_t hop_limit) {
  auto* eth = reinterpret_cast<EthernetHeader*>(frame);
  dst_mac.CopyTo(eth->dst);
  src_mac.CopyTo(eth->src);
  eth->ether_type.set(kEtherTypeIpv6);
  auto* ip = reinterpret_cast<Ipv6Header*>(frame + kEthernetHeaderLength);
  ip->version_class_flow.set(uint32_t{6} << 28);
  ip->payload_length.set(l4_len);
  ip->next_header = kIpProtoIcmpv6;
  ip->hop_limit = hop_limit;
  src_ip.CopyTo(ip->src);
  dst_ip.CopyTo(ip->dst);
}

void SetIcmpv6Checksum(uint8_t* frame, uint16_t l4_len) {
  const uint8_t* ip = frame + kEthernetHeaderLength;
  uint8_t* l4 = frame + kEthernetHeaderLength + kIpv6HeaderLength;
  StoreBe16(l4 + 2, 0);
  StoreBe16(l4 + 2,
            Ipv6L4Checksum(ip + 8, ip + 24, kIpProtoIcmpv6, l4, l4_len));
}

// NS and NA share their layout: type, code, checksum, 4 bytes (NA flags),
// target, one optional link-layer address option.
size_t WriteNd(uint8_t* frame, const NdSpec& spec, uint8_t type,
               uint8_t option_type, uint8_t flags) {
  const uint16_t l4_len = static_cast<uint16_t>(
      kNdMessageLength +
      (spec.link_address_option ? kNdLinkAddressOptionLength : 0));
  WriteHeaders(frame, spec.src_mac, spec.dst_mac, spec.src_ip, spec.dst_ip,
               l4_len, kNdHopLimit);
  uint8_t* msg = frame + kEthernetHeaderLength + kIpv6HeaderLength;
  auto* nd = reinterpret_cast<NeighborAdvertisement*>(msg);
  nd->type = type;
  nd->code = 0;
  nd->flags = flags;
  std::memset(nd->reserved, 0, sizeof(nd->reserved));
  spec.target.CopyTo(nd->target);
  if (spec.link_address_option) {
    auto* opt = reinterpret_cast<NdLinkAddressOption*>(msg + kNdMessageLength);
    opt->type = option_type;
    opt->length = 1;
    spec.src_mac.CopyTo(opt->address);
  }
  SetIcmpv6Checksum(frame, l4_len);
  return kEthernetHeaderLength + kIpv6HeaderLength + l4_len;
}

}  // namespace

size_t WriteNeighborSolicitation(uint8_t* frame, const NdSpec& spec) {
  return WriteNd(frame, spec, kIcmpv6NeighborSolicitation,
                 kNdOptionSourceLinkAddress, 0);
}

size_t WriteNeighborAdvertisement(uint8_t* frame, const NdSpec& spec) {
  return WriteNd(frame, spec, kIcmpv6NeighborAdvertisement,
                 kNdOptionTargetLinkAddress, spec.flags);
}

NdSpec SolicitationFor(const Ipv6Address& target, const Ipv6Address& our_ip,
                       const MacAddress& our_mac) {
  NdSpec s;
  s.src_mac = our_mac;
  s.dst_ip = target.SolicitedNode();
  s.dst_mac = s.dst_ip.MulticastMac();
  s.src_ip = our_ip;
  s.target = target;
  s.link_address_option = true;
  return s;
}

NdSpec AdvertisementFor(const uint8_t* ns_frame, const PacketInfo& info,
                        const MacAddress& our_mac) {
  const auto* ns =
      reinterpret_cast<const NeighborSolicitation*>(ns_frame + info.l4_offset);
  const Ipv6Address from = Ipv6Src(ns_frame, info);
  NdSpec a;
  a.src_mac = our_mac;
  a.src_ip = ns->Target();
  a.target = ns->Target();
  a.link_address_option = true;
  if (from.IsUnspecified()) {
    a.dst_ip = kAllNodes;
    a.dst_mac = kAllNodes.MulticastMac();
    a.flags = na_flags::kOverride;
    return a;
  }
  a.dst_ip = from;
  a.dst_mac =
      info.nd_link_address_offset != 0
          ? MacAddress::FromBytes(ns_frame + info.nd_link_address_offset)
          : reinterpret_cast<const EthernetHeader*>(ns_frame)->Src();
  a.flags = na_flags::kSolicited | na_flags::kOverride;
  return a;
}

size_t WriteIcmpv6EchoReply(uint8_t* frame, const PacketInfo& info,
                            const Ipv6Address& our_ip,
                            const MacAddress& our_mac, uint8_t hop_limit) {
  const MacAddress peer_mac =
      reinterpret_cast<const EthernetHeader*>(frame)->Src();
  const Ipv6Address peer_ip = Ipv6Src(frame, info);
  const uint16_t l4_len = info.l4_length;
  // Drop the request's extension headers: the message moves down to right
  // after the IPv6 header (memmove: the ranges may overlap).
  constexpr uint16_t kReplyL4 = kEthernetHeaderLength + kIpv6HeaderLength;
  if (info.l4_offset != kReplyL4) {
    std::memmove(frame + kReplyL4, frame + info.l4_offset, l4_len);
  }
  WriteHeaders(frame, our_mac, peer_mac, our_ip, peer_ip, l4_len, hop_limit);
  frame[kReplyL4] = kIcmpv6EchoReply;
  frame[kReplyL4 + 1] = 0;
  SetIcmpv6Checksum(frame, l4_len);
  return kReplyL4 + size_t{l4_len};
}

}  // namespace synwave::wire
