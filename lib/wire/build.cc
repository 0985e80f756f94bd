#include "wire/build.h"

#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::wire {

size_t TcpFrameHeaderLength(const TcpSegmentSpec& spec) {
  return kEthernetHeaderLength + kIpv4MinHeaderLength + kTcpMinHeaderLength +
         TcpOptionsLength(spec.options);
}

size_t WriteTcpFrameHeaders(uint8_t* frame, const TcpSegmentSpec& spec,
                            ChecksumMode ip_mode, ChecksumMode tcp_mode) {
  auto* eth = reinterpret_cast<EthernetHeader*>(frame);
  spec.dst_mac.CopyTo(eth->dst);
  spec.src_mac.CopyTo(eth->src);
  eth->ether_type.set(kEtherTypeIpv4);

  uint8_t* tcp_bytes = frame + kEthernetHeaderLength + kIpv4MinHeaderLength;
  auto* tcp = reinterpret_cast<TcpHeader*>(tcp_bytes);
  const size_t options_len =
      EmitTcpOptions(spec.options, tcp_bytes + kTcpMinHeaderLength);
  const auto tcp_header_len =
      static_cast<uint16_t>(kTcpMinHeaderLength + options_len);
  const auto l4_len = static_cast<uint16_t>(tcp_header_len + spec.payload_length);

  auto* ip = reinterpret_cast<Ipv4Header*>(frame + kEthernetHeaderLength);
  ip->version_ihl = 0x45;
  ip->tos = 0;
  ip->total_length.set(static_cast<uint16_t>(kIpv4MinHeaderLength + l4_len));
  ip->id.set(spec.ip_id);
  ip->flags_fragment.set(kIpv4FlagDontFragment);
  ip->ttl = spec.ttl;
  ip->protocol = kIpProtoTcp;
  ip->checksum.set(0);
  ip->src.set(spec.src_ip.value);
  ip->dst.set(spec.dst_ip.value);
  if (ip_mode == ChecksumMode::kSoftware) {
    ip->checksum.set(Ipv4HeaderChecksum(ip, kIpv4MinHeaderLength));
  }

  tcp->src_port.set(spec.src_port);
  tcp->dst_port.set(spec.dst_port);
  tcp->seq.set(spec.seq.value());
  tcp->ack.set(spec.ack.value());
  tcp->SetHeaderLength(static_cast<uint8_t>(tcp_header_len));
  tcp->flags = spec.flags;
  tcp->window.set(spec.window);
  tcp->checksum.set(0);
  tcp->urgent_pointer.set(0);
  if (tcp_mode == ChecksumMode::kSoftware) {
    tcp->checksum.set(TcpChecksum(spec.src_ip, spec.dst_ip, tcp, l4_len));
  } else {
    tcp->checksum.set(
        FoldSum(PseudoHeaderSum(spec.src_ip, spec.dst_ip, kIpProtoTcp, l4_len)));
  }
  return kEthernetHeaderLength + kIpv4MinHeaderLength + tcp_header_len;
}

size_t Tcp6FrameHeaderLength(const Tcp6SegmentSpec& spec) {
  return kEthernetHeaderLength + kIpv6HeaderLength + kTcpMinHeaderLength +
         TcpOptionsLength(spec.options);
}

size_t WriteTcp6FrameHeaders(uint8_t* frame, const Tcp6SegmentSpec& spec,
                             ChecksumMode tcp_mode) {
  auto* eth = reinterpret_cast<EthernetHeader*>(frame);
  spec.dst_mac.CopyTo(eth->dst);
  spec.src_mac.CopyTo(eth->src);
  eth->ether_type.set(kEtherTypeIpv6);

  uint8_t* tcp_bytes = frame + kEthernetHeaderLength + kIpv6HeaderLength;
  auto* tcp = reinterpret_cast<TcpHeader*>(tcp_bytes);
  const size_t options_len =
      EmitTcpOptions(spec.options, tcp_bytes + kTcpMinHeaderLength);
  const auto tcp_header_len =
      static_cast<uint16_t>(kTcpMinHeaderLength + options_len);
  const auto l4_len =
      static_cast<uint16_t>(tcp_header_len + spec.payload_length);

  auto* ip = reinterpret_cast<Ipv6Header*>(frame + kEthernetHeaderLength);
  ip->version_class_flow.set((uint32_t{6} << 28) | (spec.flow_label & 0xfffff));
  ip->payload_length.set(l4_len);
  ip->next_header = kIpProtoTcp;
  ip->hop_limit = spec.hop_limit;
  spec.src_ip.CopyTo(ip->src);
  spec.dst_ip.CopyTo(ip->dst);

  tcp->src_port.set(spec.src_port);
  tcp->dst_port.set(spec.dst_port);
  tcp->seq.set(spec.seq.value());
  tcp->ack.set(spec.ack.value());
  tcp->SetHeaderLength(static_cast<uint8_t>(tcp_header_len));
  tcp->flags = spec.flags;
  tcp->window.set(spec.window);
  tcp->checksum.set(0);
  tcp->urgent_pointer.set(0);
  if (tcp_mode == ChecksumMode::kSoftware) {
    tcp->checksum.set(
        Ipv6L4Checksum(ip->src, ip->dst, kIpProtoTcp, tcp, l4_len));
  } else {
    tcp->checksum.set(
        FoldSum(Ipv6PseudoHeaderSum(ip->src, ip->dst, kIpProtoTcp, l4_len)));
  }
  return kEthernetHeaderLength + kIpv6HeaderLength + tcp_header_len;
}

}  // namespace synwave::wire
