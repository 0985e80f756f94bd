// On-the-wire header layouts: Ethernet II, ARP (Ethernet/IPv4), IPv4, ICMP
// echo, TCP, IPv6 with the extension headers we skip, ICMPv6 Neighbor
// Discovery.
//
// Each struct overlays the packet bytes at its offset (packed, big-endian
// fields through Be16/Be32), so a view is a cast after the parser has checked
// the length. Nothing here validates; lib/wire/parse.h does that and records
// where each header starts.
#ifndef SYNWAVE_WIRE_HEADERS_H_
#define SYNWAVE_WIRE_HEADERS_H_

#include <cstdint>

#include "wire/addresses.h"
#include "wire/byte_order.h"

namespace synwave::wire {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

struct __attribute__((packed)) EthernetHeader {
  uint8_t dst[6];
  uint8_t src[6];
  Be16 ether_type;

  MacAddress Dst() const { return MacAddress::FromBytes(dst); }
  MacAddress Src() const { return MacAddress::FromBytes(src); }
};
static_assert(sizeof(EthernetHeader) == 14);

inline constexpr uint16_t kArpHardwareEthernet = 1;
inline constexpr uint16_t kArpOpRequest = 1;
inline constexpr uint16_t kArpOpReply = 2;

// ARP for IPv4 over Ethernet only (RFC 826 with htype 1, ptype 0x0800).
struct __attribute__((packed)) ArpHeader {
  Be16 htype;
  Be16 ptype;
  uint8_t hlen;
  uint8_t plen;
  Be16 op;
  uint8_t sha[6];  // sender hardware address
  Be32 spa;        // sender protocol address
  uint8_t tha[6];  // target hardware address
  Be32 tpa;        // target protocol address

  Ipv4Address SenderIp() const { return Ipv4Address{spa.get()}; }
  Ipv4Address TargetIp() const { return Ipv4Address{tpa.get()}; }
};
static_assert(sizeof(ArpHeader) == 28);

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint16_t kIpv4FlagMoreFragments = 0x2000;
inline constexpr uint16_t kIpv4FlagDontFragment = 0x4000;
inline constexpr uint16_t kIpv4FragmentOffsetMask = 0x1fff;

struct __attribute__((packed)) Ipv4Header {
  uint8_t version_ihl;  // version (4 bits), header length in 32-bit words
  uint8_t tos;
  Be16 total_length;    // bytes, header included
  Be16 id;
  Be16 flags_fragment;  // flags (3 bits), fragment offset in 8-byte units
  uint8_t ttl;
  uint8_t protocol;
  Be16 checksum;
  Be32 src;
  Be32 dst;

  uint8_t Version() const { return version_ihl >> 4; }
  uint8_t HeaderLength() const { return (version_ihl & 0x0f) * 4; }  // bytes
  Ipv4Address Src() const { return Ipv4Address{src.get()}; }
  Ipv4Address Dst() const { return Ipv4Address{dst.get()}; }
};
static_assert(sizeof(Ipv4Header) == 20);

inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpEchoRequest = 8;

struct __attribute__((packed)) IcmpEchoHeader {
  uint8_t type;
  uint8_t code;
  Be16 checksum;  // over the whole ICMP message
  Be16 id;
  Be16 sequence;
};
static_assert(sizeof(IcmpEchoHeader) == 8);

// TCP flag bits as they sit in the 13th header byte.
namespace tcp_flags {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcp_flags

struct __attribute__((packed)) TcpHeader {
  Be16 src_port;
  Be16 dst_port;
  Be32 seq;
  Be32 ack;
  uint8_t data_offset;  // header length in 32-bit words (high 4 bits)
  uint8_t flags;        // tcp_flags bits
  Be16 window;          // unscaled
  Be16 checksum;
  Be16 urgent_pointer;

  uint8_t HeaderLength() const { return (data_offset >> 4) * 4; }  // bytes
  void SetHeaderLength(uint8_t bytes) {
    data_offset = static_cast<uint8_t>((bytes / 4) << 4);
  }
};
static_assert(sizeof(TcpHeader) == 20);

// IPv6 (RFC 8200). Addresses are kept as bytes (Ipv6Address is in network
// order), so the header holds them as arrays.
inline constexpr uint16_t kIpv6HeaderLength = 40;

struct __attribute__((packed)) Ipv6Header {
  Be32 version_class_flow;  // version (4 bits), class (8), flow label (20)
  Be16 payload_length;      // bytes after this header, extensions included
  uint8_t next_header;
  uint8_t hop_limit;
  uint8_t src[16];
  uint8_t dst[16];

  uint8_t Version() const {
    return static_cast<uint8_t>(version_class_flow.get() >> 28);
  }
  Ipv6Address Src() const { return Ipv6Address::FromBytes(src); }
  Ipv6Address Dst() const { return Ipv6Address::FromBytes(dst); }
};
static_assert(sizeof(Ipv6Header) == kIpv6HeaderLength);

// Next Header values (IANA "Assigned Internet Protocol Numbers").
inline constexpr uint8_t kIpProtoHopByHop = 0;
inline constexpr uint8_t kIpProtoRouting = 43;
inline constexpr uint8_t kIpProtoFragment = 44;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kIpProtoNoNextHeader = 59;
inline constexpr uint8_t kIpProtoDestinationOptions = 60;

// The first two bytes every extension header the parser skips shares
// (hop-by-hop, routing, destination options: RFC 8200 4.3-4.6): the next
// header and the length in 8-byte units, not counting the first 8.
struct __attribute__((packed)) Ipv6ExtensionHeader {
  uint8_t next_header;
  uint8_t length;

  uint16_t Bytes() const { return static_cast<uint16_t>((length + 1) * 8); }
};

// Options in hop-by-hop and destination options headers (RFC 8200 4.2):
// type, length of the data (not counting these two bytes); Pad1 is one byte.
inline constexpr uint8_t kIpv6OptionPad1 = 0;
inline constexpr uint8_t kIpv6OptionPadN = 1;
inline constexpr uint8_t kIpv6OptionRouterAlert = 5;  // RFC 2711

// The most extension headers the parser walks before giving up. RFC 8200
// 4.1's order allows hop-by-hop, destination options, routing and
// destination options again before a fragment header (which we drop) or
// AH/ESP (which we do not speak): four is every legitimate chain we accept.
inline constexpr int kMaxIpv6ExtensionHeaders = 4;

// RFC 8200 4.4.
struct __attribute__((packed)) Ipv6RoutingHeader {
  uint8_t next_header;
  uint8_t length;
  uint8_t routing_type;  // 0 is deprecated (RFC 5095)
  uint8_t segments_left;
};
inline constexpr uint8_t kIpv6RoutingType0 = 0;

// RFC 8200 4.5.
struct __attribute__((packed)) Ipv6FragmentHeader {
  uint8_t next_header;
  uint8_t reserved;
  Be16 offset_flags;  // offset in 8-byte units (13 bits), 2 reserved, M
  Be32 id;
};
static_assert(sizeof(Ipv6FragmentHeader) == 8);

// ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861).
inline constexpr uint8_t kIcmpv6EchoRequest = 128;
inline constexpr uint8_t kIcmpv6EchoReply = 129;
inline constexpr uint8_t kIcmpv6RouterSolicitation = 133;
inline constexpr uint8_t kIcmpv6RouterAdvertisement = 134;
inline constexpr uint8_t kIcmpv6NeighborSolicitation = 135;
inline constexpr uint8_t kIcmpv6NeighborAdvertisement = 136;

// Echo request and reply have the ICMP echo layout (IcmpEchoHeader); the
// checksum covers the IPv6 pseudo-header as well (RFC 4443 2.3).

// Neighbor Solicitation (RFC 4861 4.3), options after it.
struct __attribute__((packed)) NeighborSolicitation {
  uint8_t type;
  uint8_t code;
  Be16 checksum;
  Be32 reserved;
  uint8_t target[16];

  Ipv6Address Target() const { return Ipv6Address::FromBytes(target); }
};
static_assert(sizeof(NeighborSolicitation) == 24);

// Neighbor Advertisement flags, in the first byte after the checksum.
namespace na_flags {
inline constexpr uint8_t kRouter = 0x80;
inline constexpr uint8_t kSolicited = 0x40;
inline constexpr uint8_t kOverride = 0x20;
}  // namespace na_flags

// Neighbor Advertisement (RFC 4861 4.4), options after it.
struct __attribute__((packed)) NeighborAdvertisement {
  uint8_t type;
  uint8_t code;
  Be16 checksum;
  uint8_t flags;  // na_flags bits
  uint8_t reserved[3];
  uint8_t target[16];

  Ipv6Address Target() const { return Ipv6Address::FromBytes(target); }
};
static_assert(sizeof(NeighborAdvertisement) == 24);

// ND options (RFC 4861 4.6): type, length in 8-byte units (0 is invalid).
inline constexpr uint8_t kNdOptionSourceLinkAddress = 1;
inline constexpr uint8_t kNdOptionTargetLinkAddress = 2;
inline constexpr uint16_t kNdMessageLength = 24;
// A link-layer address option for Ethernet: type, length 1, 6 bytes.
inline constexpr uint16_t kNdLinkAddressOptionLength = 8;
// ND messages must arrive with hop limit 255 (RFC 4861 7.1.1): proof that no
// router forwarded them.
inline constexpr uint8_t kNdHopLimit = 255;

struct __attribute__((packed)) NdLinkAddressOption {
  uint8_t type;
  uint8_t length;  // 1 for Ethernet
  uint8_t address[6];
};
static_assert(sizeof(NdLinkAddressOption) == kNdLinkAddressOptionLength);

inline constexpr uint16_t kEthernetHeaderLength = sizeof(EthernetHeader);
inline constexpr uint16_t kIpv4MinHeaderLength = sizeof(Ipv4Header);
inline constexpr uint16_t kTcpMinHeaderLength = sizeof(TcpHeader);
inline constexpr uint16_t kTcpMaxHeaderLength = 60;
inline constexpr uint16_t kTcpMaxOptionsLength = 40;

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_HEADERS_H_
