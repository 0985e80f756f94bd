#include "wire/build.h"

#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::wire {
namespace {

// The frame writers sum the words they store from the values instead of
// reading them back (a wide load over bytes just stored in pieces waits for
// the stores, and the loop costs more than these adds). 32-bit fields are
// added whole into 64 bits: 2^16 is 1 modulo 0xffff, so the folded sum is
// the same.

// The TCP header's fixed 20 bytes as written for `spec` (checksum and
// urgent pointer zero).
template <typename Spec>
inline uint64_t TcpFixedHeaderSum(const Spec& spec, uint16_t header_len) {
  return (uint64_t{spec.src_port} << 16 | spec.dst_port) + spec.seq.value() +
         spec.ack.value() +
         (uint32_t{static_cast<uint8_t>((header_len / 4) << 4)} << 24 |
          uint32_t{spec.flags} << 16 | spec.window);
}

}  // namespace

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
  uint64_t options_sum;
  const size_t options_len = EmitTcpOptions(
      spec.options, tcp_bytes + kTcpMinHeaderLength, &options_sum);
  const auto tcp_header_len =
      static_cast<uint16_t>(kTcpMinHeaderLength + options_len);
  const auto l4_len = static_cast<uint16_t>(tcp_header_len + spec.payload_length);
  const auto total_len = static_cast<uint16_t>(kIpv4MinHeaderLength + l4_len);

  auto* ip = reinterpret_cast<Ipv4Header*>(frame + kEthernetHeaderLength);
  ip->version_ihl = 0x45;
  ip->tos = 0;
  ip->total_length.set(total_len);
  ip->id.set(spec.ip_id);
  ip->flags_fragment.set(kIpv4FlagDontFragment);
  ip->ttl = spec.ttl;
  ip->protocol = kIpProtoTcp;
  ip->src.set(spec.src_ip.value);
  ip->dst.set(spec.dst_ip.value);
  if (ip_mode == ChecksumMode::kSoftware) {
    // The header's ten words from the values just stored (checksum zero).
    const uint64_t sum = (uint64_t{0x4500} << 16 | total_len) +
                         (uint32_t{spec.ip_id} << 16 | kIpv4FlagDontFragment) +
                         (uint32_t{spec.ttl} << 8 | kIpProtoTcp) +
                         uint64_t{spec.src_ip.value} + spec.dst_ip.value;
    ip->checksum.set(static_cast<uint16_t>(~FoldSum(sum)));
  } else {
    ip->checksum.set(0);
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
    uint64_t sum = uint64_t{spec.src_ip.value} + spec.dst_ip.value +
                   (uint32_t{kIpProtoTcp} << 16 | l4_len) +
                   TcpFixedHeaderSum(spec, tcp_header_len) + options_sum;
    if (spec.payload_length > 0) {
      sum = PartialSum(tcp_bytes + tcp_header_len, spec.payload_length,
                       FoldSum(sum));
    }
    tcp->checksum.set(static_cast<uint16_t>(~FoldSum(sum)));
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
  uint64_t options_sum;
  const size_t options_len = EmitTcpOptions(
      spec.options, tcp_bytes + kTcpMinHeaderLength, &options_sum);
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
    uint64_t sum = Ipv6PseudoHeaderSum(spec.src_ip, spec.dst_ip, kIpProtoTcp,
                                       l4_len) +
                   TcpFixedHeaderSum(spec, tcp_header_len) + options_sum;
    if (spec.payload_length > 0) {
      sum = PartialSum(tcp_bytes + tcp_header_len, spec.payload_length,
                       FoldSum(sum));
    }
    tcp->checksum.set(static_cast<uint16_t>(~FoldSum(sum)));
  } else {
    tcp->checksum.set(
        FoldSum(Ipv6PseudoHeaderSum(ip->src, ip->dst, kIpProtoTcp, l4_len)));
  }
  return kEthernetHeaderLength + kIpv6HeaderLength + tcp_header_len;
}

}  // namespace synwave::wire
