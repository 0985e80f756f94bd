// On-the-wire header layouts: Ethernet II, ARP (Ethernet/IPv4), IPv4, ICMP
// echo and TCP.
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

inline constexpr uint16_t kEthernetHeaderLength = sizeof(EthernetHeader);
inline constexpr uint16_t kIpv4MinHeaderLength = sizeof(Ipv4Header);
inline constexpr uint16_t kTcpMinHeaderLength = sizeof(TcpHeader);
inline constexpr uint16_t kTcpMaxHeaderLength = 60;
inline constexpr uint16_t kTcpMaxOptionsLength = 40;

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_HEADERS_H_
