// Test helper: builds Ethernet frames (ARP, IPv4 + TCP, IPv4 + ICMP, IPv6 +
// TCP, IPv6 + ICMPv6, with IPv6 extension headers) from plain structs, with
// correct lengths and checksums unless told otherwise.
//
// Tests of the parser and of the engine need many slightly different frames;
// describing one by its fields ("a SYN with MSS 1460 and a bad checksum") is
// clearer than a hex dump and cannot go stale when a length changes. Every
// field that a malformed-input test may want to lie about (version, IHL,
// total length, data offset, checksums, EtherType) has an override; left
// unset, the builder computes the honest value. Header-only and free of
// GoogleTest so that fuzz drivers and benchmarks can use it too.
#ifndef SYNWAVE_TESTING_FRAME_BUILDER_H_
#define SYNWAVE_TESTING_FRAME_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "wire/addresses.h"
#include "wire/byte_order.h"
#include "wire/checksum.h"
#include "wire/headers.h"
#include "wire/tcp_options.h"

namespace synwave::testutil {

// Offsets in a frame built without IPv4 options.
inline constexpr size_t kIpv4Offset = wire::kEthernetHeaderLength;  // 14
inline constexpr size_t kL4Offset = kIpv4Offset + wire::kIpv4MinHeaderLength;
// Shortest Ethernet frame on the wire, without the FCS.
inline constexpr size_t kMinEthernetFrame = 60;

struct EthernetFields {
  wire::MacAddress dst{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
  wire::MacAddress src{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
  std::optional<uint16_t> ether_type;  // default: IPv4 or ARP, by frame kind
  size_t pad_to = 0;        // pad the frame to this length (0: no padding)
  uint8_t pad_byte = 0x00;  // with this byte
};

struct Ipv4Fields {
  wire::Ipv4Address src = wire::Ipv4Address::FromOctets(10, 0, 0, 1);
  wire::Ipv4Address dst = wire::Ipv4Address::FromOctets(10, 0, 0, 2);
  uint8_t tos = 0;
  uint16_t id = 0;
  uint16_t flags_fragment = wire::kIpv4FlagDontFragment;
  uint8_t ttl = 64;
  std::vector<uint8_t> options;  // raw; zero-padded (EOL) to a multiple of 4
  // Overrides, for malformed frames.
  std::optional<uint8_t> version;        // default 4
  std::optional<uint8_t> ihl_words;      // default from `options`
  std::optional<uint8_t> protocol;       // default from the L4 kind
  std::optional<uint16_t> total_length;  // default: header + L4 bytes
  std::optional<uint16_t> checksum;      // default: correct
};

struct TcpFields {
  uint16_t src_port = 40000;
  uint16_t dst_port = 80;
  uint32_t seq = 1000;
  uint32_t ack = 0;
  uint8_t flags = wire::tcp_flags::kSyn;
  uint16_t window = 65535;
  uint16_t urgent_pointer = 0;
  wire::TcpOptions options;  // written by wire::EmitTcpOptions
  // Written instead of `options` when set; zero-padded to a multiple of 4.
  std::optional<std::vector<uint8_t>> raw_options;
  std::vector<uint8_t> payload;
  // Overrides, for malformed frames.
  std::optional<uint8_t> data_offset_words;  // default from the options
  std::optional<uint16_t> checksum;          // default: correct
};

struct IcmpFields {
  uint8_t type = wire::kIcmpEchoRequest;
  uint8_t code = 0;
  uint16_t id = 1;
  uint16_t sequence = 1;
  std::vector<uint8_t> payload;
  std::optional<uint16_t> checksum;  // default: correct
};

struct ArpFields {
  uint16_t htype = wire::kArpHardwareEthernet;
  uint16_t ptype = wire::kEtherTypeIpv4;
  uint8_t hlen = 6;
  uint8_t plen = 4;
  uint16_t op = wire::kArpOpRequest;
  wire::MacAddress sha{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
  wire::Ipv4Address spa = wire::Ipv4Address::FromOctets(10, 0, 0, 1);
  wire::MacAddress tha;  // zero in a request
  wire::Ipv4Address tpa = wire::Ipv4Address::FromOctets(10, 0, 0, 2);
};

struct TcpFrame {
  EthernetFields eth;
  Ipv4Fields ip;
  TcpFields tcp;
};

struct IcmpFrame {
  EthernetFields eth;
  Ipv4Fields ip;
  IcmpFields icmp;
};

struct ArpFrame {
  EthernetFields eth;
  ArpFields arp;
};

namespace frame_builder_internal {

inline void AppendBe16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}

inline void AppendBe32(std::vector<uint8_t>& v, uint32_t x) {
  AppendBe16(v, static_cast<uint16_t>(x >> 16));
  AppendBe16(v, static_cast<uint16_t>(x));
}

inline void AppendMac(std::vector<uint8_t>& v, const wire::MacAddress& m) {
  v.insert(v.end(), m.bytes.begin(), m.bytes.end());
}

inline std::vector<uint8_t> EthernetHeaderBytes(const EthernetFields& eth,
                                                uint16_t default_type) {
  std::vector<uint8_t> f;
  AppendMac(f, eth.dst);
  AppendMac(f, eth.src);
  AppendBe16(f, eth.ether_type.value_or(default_type));
  return f;
}

inline void Pad(std::vector<uint8_t>& f, const EthernetFields& eth) {
  if (f.size() < eth.pad_to) f.resize(eth.pad_to, eth.pad_byte);
}

}  // namespace frame_builder_internal

// Ethernet + IPv4 around arbitrary L4 bytes (`l4` is copied as is; its
// checksum, if any, is the caller's). `protocol` is used unless
// `ip.protocol` overrides it.
inline std::vector<uint8_t> BuildIpv4Frame(const EthernetFields& eth,
                                           const Ipv4Fields& ip,
                                           uint8_t protocol,
                                           std::span<const uint8_t> l4) {
  using namespace frame_builder_internal;
  std::vector<uint8_t> f = EthernetHeaderBytes(eth, wire::kEtherTypeIpv4);
  std::vector<uint8_t> options = ip.options;
  options.resize((options.size() + 3) / 4 * 4, 0);
  const size_t header_len = wire::kIpv4MinHeaderLength + options.size();
  const uint8_t ihl =
      ip.ihl_words.value_or(static_cast<uint8_t>(header_len / 4));
  f.push_back(
      static_cast<uint8_t>((ip.version.value_or(4) << 4) | (ihl & 0x0f)));
  f.push_back(ip.tos);
  AppendBe16(f, ip.total_length.value_or(
                    static_cast<uint16_t>(header_len + l4.size())));
  AppendBe16(f, ip.id);
  AppendBe16(f, ip.flags_fragment);
  f.push_back(ip.ttl);
  f.push_back(ip.protocol.value_or(protocol));
  AppendBe16(f, 0);  // checksum, below
  AppendBe32(f, ip.src.value);
  AppendBe32(f, ip.dst.value);
  f.insert(f.end(), options.begin(), options.end());
  const uint16_t sum = ip.checksum.value_or(
      wire::Ipv4HeaderChecksum(f.data() + kIpv4Offset, header_len));
  wire::StoreBe16(f.data() + kIpv4Offset + 10, sum);
  f.insert(f.end(), l4.begin(), l4.end());
  Pad(f, eth);
  return f;
}

// The TCP segment (header, options, payload) alone, checksummed for the
// pseudo-header of `src` -> `dst`.
inline std::vector<uint8_t> BuildTcpSegment(const TcpFields& tcp,
                                            wire::Ipv4Address src,
                                            wire::Ipv4Address dst) {
  using namespace frame_builder_internal;
  std::vector<uint8_t> options;
  if (tcp.raw_options) {
    options = *tcp.raw_options;
  } else {
    options.resize(wire::kTcpMaxOptionsLength);
    options.resize(wire::EmitTcpOptions(tcp.options, options.data()));
  }
  options.resize((options.size() + 3) / 4 * 4, 0);
  const size_t header_len = wire::kTcpMinHeaderLength + options.size();
  std::vector<uint8_t> s;
  AppendBe16(s, tcp.src_port);
  AppendBe16(s, tcp.dst_port);
  AppendBe32(s, tcp.seq);
  AppendBe32(s, tcp.ack);
  s.push_back(static_cast<uint8_t>(
      tcp.data_offset_words.value_or(static_cast<uint8_t>(header_len / 4))
      << 4));
  s.push_back(tcp.flags);
  AppendBe16(s, tcp.window);
  AppendBe16(s, 0);  // checksum, below
  AppendBe16(s, tcp.urgent_pointer);
  s.insert(s.end(), options.begin(), options.end());
  s.insert(s.end(), tcp.payload.begin(), tcp.payload.end());
  const uint16_t sum =
      tcp.checksum.value_or(wire::TcpChecksum(src, dst, s.data(), s.size()));
  wire::StoreBe16(s.data() + 16, sum);
  return s;
}

inline std::vector<uint8_t> BuildFrame(const TcpFrame& frame) {
  std::vector<uint8_t> segment =
      BuildTcpSegment(frame.tcp, frame.ip.src, frame.ip.dst);
  return BuildIpv4Frame(frame.eth, frame.ip, wire::kIpProtoTcp, segment);
}

inline std::vector<uint8_t> BuildFrame(const IcmpFrame& frame) {
  using namespace frame_builder_internal;
  std::vector<uint8_t> m;
  m.push_back(frame.icmp.type);
  m.push_back(frame.icmp.code);
  AppendBe16(m, 0);  // checksum, below
  AppendBe16(m, frame.icmp.id);
  AppendBe16(m, frame.icmp.sequence);
  m.insert(m.end(), frame.icmp.payload.begin(), frame.icmp.payload.end());
  const uint16_t sum =
      frame.icmp.checksum.value_or(wire::InternetChecksum(m.data(), m.size()));
  wire::StoreBe16(m.data() + 2, sum);
  return BuildIpv4Frame(frame.eth, frame.ip, wire::kIpProtoIcmp, m);
}

inline std::vector<uint8_t> BuildFrame(const ArpFrame& frame) {
  using namespace frame_builder_internal;
  std::vector<uint8_t> f = EthernetHeaderBytes(frame.eth, wire::kEtherTypeArp);
  const ArpFields& a = frame.arp;
  AppendBe16(f, a.htype);
  AppendBe16(f, a.ptype);
  f.push_back(a.hlen);
  f.push_back(a.plen);
  AppendBe16(f, a.op);
  AppendMac(f, a.sha);
  AppendBe32(f, a.spa.value);
  AppendMac(f, a.tha);
  AppendBe32(f, a.tpa.value);
  Pad(f, frame.eth);
  return f;
}

// IPv6 (RFC 8200) frames. Extension headers are listed in order; each is
// written as next header, length, then `body` zero-padded to a multiple of 8
// bytes in all (a fragment header's body is its 6 bytes after the first two).
struct Ipv6Extension {
  uint8_t type = wire::kIpProtoDestinationOptions;
  std::vector<uint8_t> body;      // after the next-header and length bytes
  std::optional<uint8_t> length;  // default: from the padded body
};

struct Ipv6Fields {
  wire::Ipv6Address src = *wire::Ipv6Address::Parse("fd00::1");
  wire::Ipv6Address dst = *wire::Ipv6Address::Parse("fd00::2");
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  uint8_t hop_limit = 64;
  std::vector<Ipv6Extension> extensions;
  // Overrides, for malformed frames.
  std::optional<uint8_t> version;          // default 6
  std::optional<uint8_t> next_header;      // default: first extension or L4
  std::optional<uint16_t> payload_length;  // default: extensions + L4 bytes
};

struct Tcp6Frame {
  EthernetFields eth;
  Ipv6Fields ip;
  TcpFields tcp;
};

// An ICMPv6 message: type, code, checksum, then `body` (for echo: id and
// sequence then data; for ND: the rest of the message and its options).
struct Icmp6Fields {
  uint8_t type = wire::kIcmpv6EchoRequest;
  uint8_t code = 0;
  std::vector<uint8_t> body;
  std::optional<uint16_t> checksum;  // default: correct
};

struct Icmp6Frame {
  EthernetFields eth;
  Ipv6Fields ip;
  Icmp6Fields icmp;
};

// Ethernet + IPv6 (+ extensions) around arbitrary L4 bytes (copied as is).
inline std::vector<uint8_t> BuildIpv6Frame(const EthernetFields& eth,
                                           const Ipv6Fields& ip,
                                           uint8_t protocol,
                                           std::span<const uint8_t> l4) {
  using namespace frame_builder_internal;
  std::vector<uint8_t> ext;
  for (size_t i = 0; i < ip.extensions.size(); ++i) {
    const Ipv6Extension& e = ip.extensions[i];
    const uint8_t next = i + 1 < ip.extensions.size()
                             ? ip.extensions[i + 1].type
                             : protocol;
    std::vector<uint8_t> body = e.body;
    body.resize((body.size() + 2 + 7) / 8 * 8 - 2, 0);
    ext.push_back(next);
    ext.push_back(
        e.length.value_or(static_cast<uint8_t>((body.size() + 2) / 8 - 1)));
    ext.insert(ext.end(), body.begin(), body.end());
  }
  std::vector<uint8_t> f = EthernetHeaderBytes(eth, wire::kEtherTypeIpv6);
  AppendBe32(f, (uint32_t{ip.version.value_or(6)} << 28) |
                    (uint32_t{ip.traffic_class} << 20) |
                    (ip.flow_label & 0xfffff));
  AppendBe16(f, ip.payload_length.value_or(
                    static_cast<uint16_t>(ext.size() + l4.size())));
  f.push_back(ip.next_header.value_or(
      ip.extensions.empty() ? protocol : ip.extensions[0].type));
  f.push_back(ip.hop_limit);
  f.insert(f.end(), ip.src.bytes.begin(), ip.src.bytes.end());
  f.insert(f.end(), ip.dst.bytes.begin(), ip.dst.bytes.end());
  f.insert(f.end(), ext.begin(), ext.end());
  f.insert(f.end(), l4.begin(), l4.end());
  Pad(f, eth);
  return f;
}

inline std::vector<uint8_t> BuildFrame(const Tcp6Frame& frame) {
  // The segment is built with a placeholder checksum, then summed over the
  // IPv6 pseudo-header unless the test overrides it.
  TcpFields tcp = frame.tcp;
  const std::optional<uint16_t> override_sum = tcp.checksum;
  tcp.checksum = 0;
  std::vector<uint8_t> s =
      BuildTcpSegment(tcp, wire::Ipv4Address{}, wire::Ipv4Address{});
  wire::StoreBe16(s.data() + 16,
                  override_sum.value_or(wire::Ipv6L4Checksum(
                      frame.ip.src, frame.ip.dst, wire::kIpProtoTcp, s.data(),
                      s.size())));
  return BuildIpv6Frame(frame.eth, frame.ip, wire::kIpProtoTcp, s);
}

inline std::vector<uint8_t> BuildFrame(const Icmp6Frame& frame) {
  using namespace frame_builder_internal;
  std::vector<uint8_t> m;
  m.push_back(frame.icmp.type);
  m.push_back(frame.icmp.code);
  AppendBe16(m, 0);  // checksum, below
  m.insert(m.end(), frame.icmp.body.begin(), frame.icmp.body.end());
  const uint16_t sum = frame.icmp.checksum.value_or(wire::Ipv6L4Checksum(
      frame.ip.src, frame.ip.dst, wire::kIpProtoIcmpv6, m.data(), m.size()));
  wire::StoreBe16(m.data() + 2, sum);
  return BuildIpv6Frame(frame.eth, frame.ip, wire::kIpProtoIcmpv6, m);
}

// ICMPv6 bodies (after type, code, checksum).
inline std::vector<uint8_t> EchoBody(uint16_t id, uint16_t sequence,
                                     std::span<const uint8_t> data = {}) {
  using namespace frame_builder_internal;
  std::vector<uint8_t> b;
  AppendBe16(b, id);
  AppendBe16(b, sequence);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// A Neighbor Solicitation (flags 0) or Advertisement (na_flags bits) body for
// `target`, with a link-layer address option of `option_type` when
// `link_address` is set.
inline std::vector<uint8_t> NdBody(
    const wire::Ipv6Address& target, uint8_t flags = 0,
    std::optional<wire::MacAddress> link_address = std::nullopt,
    uint8_t option_type = wire::kNdOptionSourceLinkAddress) {
  using namespace frame_builder_internal;
  std::vector<uint8_t> b = {flags, 0, 0, 0};
  b.insert(b.end(), target.bytes.begin(), target.bytes.end());
  if (link_address) {
    b.push_back(option_type);
    b.push_back(1);
    AppendMac(b, *link_address);
  }
  return b;
}

// Recomputes, in place, the IPv4 header checksum and the TCP or ICMP
// checksum of an IPv4 frame whose fields a test (or a mutator) has edited.
// Uses the header's own IHL and total length; whatever does not fit in
// `len` is left alone, so it is safe on arbitrary bytes.
inline void RefreshIpv6Checksum(uint8_t* frame, size_t len);

inline void RefreshChecksums(uint8_t* frame, size_t len) {
  if (len < kIpv4Offset + wire::kIpv4MinHeaderLength) return;
  if (wire::LoadBe16(frame + 12) == wire::kEtherTypeIpv6) {
    RefreshIpv6Checksum(frame, len);
    return;
  }
  if (wire::LoadBe16(frame + 12) != wire::kEtherTypeIpv4) return;
  uint8_t* ip = frame + kIpv4Offset;
  const size_t available = len - kIpv4Offset;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  if (ihl < wire::kIpv4MinHeaderLength || ihl > available) return;
  wire::StoreBe16(ip + 10, 0);
  wire::StoreBe16(ip + 10, wire::Ipv4HeaderChecksum(ip, ihl));
  const size_t total = wire::LoadBe16(ip + 2);
  if (total < ihl || total > available) return;
  uint8_t* l4 = ip + ihl;
  const size_t l4_len = total - ihl;
  const wire::Ipv4Address src{wire::LoadBe32(ip + 12)};
  const wire::Ipv4Address dst{wire::LoadBe32(ip + 16)};
  if (ip[9] == wire::kIpProtoTcp && l4_len >= wire::kTcpMinHeaderLength) {
    wire::StoreBe16(l4 + 16, 0);
    wire::StoreBe16(l4 + 16, wire::TcpChecksum(src, dst, l4, l4_len));
  } else if (ip[9] == wire::kIpProtoIcmp && l4_len >= 4) {
    wire::StoreBe16(l4 + 2, 0);
    wire::StoreBe16(l4 + 2, wire::InternetChecksum(l4, l4_len));
  }
}

// The IPv6 half: the TCP or ICMPv6 checksum after up to 8 hop-by-hop,
// routing or destination options headers, as far as the payload length and
// `len` allow.
inline void RefreshIpv6Checksum(uint8_t* frame, size_t len) {
  if (len < kIpv4Offset + wire::kIpv6HeaderLength) return;
  uint8_t* ip = frame + kIpv4Offset;
  const size_t end = wire::kIpv6HeaderLength + wire::LoadBe16(ip + 4);
  if (end > len - kIpv4Offset) return;
  size_t at = wire::kIpv6HeaderLength;
  uint8_t next = ip[6];
  for (int i = 0; i < 8 && (next == wire::kIpProtoHopByHop ||
                            next == wire::kIpProtoRouting ||
                            next == wire::kIpProtoDestinationOptions);
       ++i) {
    if (end - at < 8) return;
    const size_t ext_len = (size_t{ip[at + 1]} + 1) * 8;
    if (ext_len > end - at) return;
    next = ip[at];
    at += ext_len;
  }
  uint8_t* l4 = ip + at;
  const size_t l4_len = end - at;
  if (next == wire::kIpProtoTcp && l4_len >= wire::kTcpMinHeaderLength) {
    wire::StoreBe16(l4 + 16, 0);
    wire::StoreBe16(l4 + 16, wire::Ipv6L4Checksum(ip + 8, ip + 24, next, l4,
                                                  l4_len));
  } else if (next == wire::kIpProtoIcmpv6 && l4_len >= 4) {
    wire::StoreBe16(l4 + 2, 0);
    wire::StoreBe16(l4 + 2, wire::Ipv6L4Checksum(ip + 8, ip + 24, next, l4,
                                                 l4_len));
  }
}

inline void RefreshChecksums(std::vector<uint8_t>& frame) {
  RefreshChecksums(frame.data(), frame.size());
}

}  // namespace synwave::testutil

#endif  // SYNWAVE_TESTING_FRAME_BUILDER_H_
