// The spec-based frame writers: one body with the engine's writer,
// wire/tcp_writer.h (the checksums are summed from the values written: a
// wide load over bytes just stored in pieces waits for the stores, and the
// loop costs more than these adds; 32-bit fields are added whole into 64
// bits, since 2^16 is 1 modulo 0xffff and the folded sum is the same).
#include "wire/build.h"

#include "wire/headers.h"
#include "wire/tcp_writer.h"

namespace synwave::wire {
namespace {

// The header values of either spec.
template <typename Spec>
TcpHeaderValues HeaderValues(const Spec& spec) {
  TcpHeaderValues v;
  v.src_port = spec.src_port;
  v.dst_port = spec.dst_port;
  v.seq = spec.seq.value();
  v.ack = spec.ack.value();
  v.flags = spec.flags;
  v.window = spec.window;
  v.payload_length = spec.payload_length;
  return v;
}

}  // namespace

size_t TcpFrameHeaderLength(const TcpSegmentSpec& spec) {
  return kEthernetHeaderLength + kIpv4MinHeaderLength + kTcpMinHeaderLength +
         TcpOptionsLength(spec.options);
}

size_t WriteTcpFrameHeaders(uint8_t* frame, const TcpSegmentSpec& spec,
                            ChecksumMode ip_mode, ChecksumMode tcp_mode) {
  return WriteIpv4TcpHeaders(frame, MacWord(spec.dst_mac), MacWord(spec.src_mac),
                             spec.src_ip.value, spec.dst_ip.value,
                             HeaderValues(spec), spec.options, spec.ip_id,
                             spec.ttl, ip_mode, tcp_mode);
}

size_t Tcp6FrameHeaderLength(const Tcp6SegmentSpec& spec) {
  return kEthernetHeaderLength + kIpv6HeaderLength + kTcpMinHeaderLength +
         TcpOptionsLength(spec.options);
}

size_t WriteTcp6FrameHeaders(uint8_t* frame, const Tcp6SegmentSpec& spec,
                             ChecksumMode tcp_mode) {
  return WriteIpv6TcpHeaders(frame, MacWord(spec.dst_mac),
                             MacWord(spec.src_mac), spec.src_ip, spec.dst_ip,
                             HeaderValues(spec), spec.options, spec.flow_label,
                             spec.hop_limit, tcp_mode);
}

}  // namespace synwave::wire
