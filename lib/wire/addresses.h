// Link and network addresses: MacAddress, Ipv4Address and Ipv6Address value
// types, and their prefixes.
//
// All are small trivially-copyable values used in the per-packet path and in
// the neighbour table. Ipv4Address holds the address in host byte order so it
// compares and hashes like an integer; Ipv6Address holds its 16 bytes in
// network order, as they are in a header; conversion to and from the wire is
// explicit. Text parsing lives here too so that config and tests share it.
#ifndef SYNWAVE_WIRE_ADDRESSES_H_
#define SYNWAVE_WIRE_ADDRESSES_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace synwave::wire {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static constexpr MacAddress Broadcast() {
    return MacAddress{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  }
  static MacAddress FromBytes(const uint8_t* p) {
    MacAddress m;
    std::memcpy(m.bytes.data(), p, 6);
    return m;
  }
  void CopyTo(uint8_t* p) const { std::memcpy(p, bytes.data(), 6); }

  bool IsZero() const { return *this == MacAddress{}; }
  bool IsBroadcast() const { return *this == Broadcast(); }
  // Group bit: multicast or broadcast.
  bool IsMulticast() const { return (bytes[0] & 0x01) != 0; }

  friend bool operator==(const MacAddress&, const MacAddress&) = default;

  // "aa:bb:cc:dd:ee:ff"
  std::string ToString() const;
  static std::optional<MacAddress> Parse(std::string_view text);
};

struct Ipv4Address {
  uint32_t value = 0;  // host byte order: 10.0.0.1 is 0x0a000001

  static constexpr Ipv4Address FromOctets(uint8_t a, uint8_t b, uint8_t c,
                                          uint8_t d) {
    return Ipv4Address{(uint32_t{a} << 24) | (uint32_t{b} << 16) |
                       (uint32_t{c} << 8) | uint32_t{d}};
  }

  bool IsZero() const { return value == 0; }
  bool IsLimitedBroadcast() const { return value == 0xffffffffu; }
  bool IsMulticast() const { return (value >> 28) == 0xe; }   // 224.0.0.0/4
  bool IsLoopback() const { return (value >> 24) == 127; }    // 127.0.0.0/8

  friend auto operator<=>(const Ipv4Address&, const Ipv4Address&) = default;

  // Dotted quad.
  std::string ToString() const;
  // Strict dotted quad: four decimal octets 0-255, no leading '+', no spaces.
  static std::optional<Ipv4Address> Parse(std::string_view text);
};

// An address with a prefix length, as in --ip=10.0.0.2/24.
struct Ipv4Prefix {
  Ipv4Address address;
  uint8_t length = 32;  // prefix bits, 0-32

  uint32_t Mask() const {
    return length == 0 ? 0 : ~uint32_t{0} << (32 - length);
  }
  bool Contains(Ipv4Address a) const {
    return (a.value & Mask()) == (address.value & Mask());
  }
  // Directed broadcast of the subnet (meaningless for /31 and /32).
  Ipv4Address Broadcast() const { return Ipv4Address{address.value | ~Mask()}; }

  std::string ToString() const;
  // "A.B.C.D/N"; a bare "A.B.C.D" is taken as /32.
  static std::optional<Ipv4Prefix> Parse(std::string_view text);
};

// An IPv6 address, held as its 16 bytes in network order (as on the wire),
// so that copying it to and from a header is a memcpy. Compares as bytes,
// which is the numeric order.
struct Ipv6Address {
  std::array<uint8_t, 16> bytes{};

  static Ipv6Address FromBytes(const uint8_t* p) {
    Ipv6Address a;
    std::memcpy(a.bytes.data(), p, 16);
    return a;
  }
  void CopyTo(uint8_t* p) const { std::memcpy(p, bytes.data(), 16); }
  // The two halves as big-endian numbers (hashing, prefix arithmetic).
  uint64_t High() const { return LoadWord(0); }
  uint64_t Low() const { return LoadWord(8); }
  static constexpr Ipv6Address FromWords(uint64_t high, uint64_t low) {
    Ipv6Address a;
    for (int i = 0; i < 8; ++i) {
      a.bytes[i] = static_cast<uint8_t>(high >> (56 - 8 * i));
      a.bytes[8 + i] = static_cast<uint8_t>(low >> (56 - 8 * i));
    }
    return a;
  }

  // RFC 4291 2.5.2: ::
  bool IsUnspecified() const { return *this == Ipv6Address{}; }
  // RFC 4291 2.5.3: ::1
  bool IsLoopback() const { return High() == 0 && Low() == 1; }
  // RFC 4291 2.7: ff00::/8
  bool IsMulticast() const { return bytes[0] == 0xff; }
  // RFC 4291 2.5.6: fe80::/10
  bool IsLinkLocal() const {
    return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;
  }
  // RFC 4291 2.5.5.2: ::ffff:0:0/96, an IPv4 address in IPv6 clothes; never
  // on an IPv6 wire (RFC 4038 4.2, Linux drops it as a source).
  bool IsV4Mapped() const {
    return High() == 0 && (Low() >> 32) == 0xffff;
  }
  // RFC 4291 2.7.1: ff02::1:ff00:0/104, the group a Neighbour Solicitation
  // for an address is sent to.
  bool IsSolicitedNodeMulticast() const {
    return High() == 0xff02000000000000ull &&
           (Low() >> 24) == 0x00000001ffull;
  }
  // The solicited-node group of this address: ff02::1:ff plus its low 24
  // bits.
  Ipv6Address SolicitedNode() const {
    return FromWords(0xff02000000000000ull,
                     0x00000001ff000000ull | (Low() & 0xffffff));
  }
  // RFC 2464 7: the Ethernet address of an IPv6 multicast group, 33:33 and
  // the group's low 32 bits. Meaningful for multicast addresses only.
  MacAddress MulticastMac() const {
    return MacAddress{{0x33, 0x33, bytes[12], bytes[13], bytes[14], bytes[15]}};
  }

  friend auto operator<=>(const Ipv6Address&, const Ipv6Address&) = default;

  // RFC 5952 text: lower case, leading zeros dropped, the longest run of two
  // or more zero groups (the first of equal runs) as "::".
  std::string ToString() const;
  // RFC 4291 2.2 text: eight groups of 1-4 hex digits, one "::" standing for
  // one or more zero groups, and a dotted quad in place of the last two
  // groups. Nothing else: no zone ("%eth0"), no brackets, no spaces.
  static std::optional<Ipv6Address> Parse(std::string_view text);

 private:
  uint64_t LoadWord(int at) const {
    uint64_t v;
    std::memcpy(&v, bytes.data() + at, sizeof(v));
    return __builtin_bswap64(v);
  }
};
static_assert(sizeof(Ipv6Address) == 16);

// An IPv6 address with a prefix length, as in --ip=fd00::2/64.
struct Ipv6Prefix {
  Ipv6Address address;
  uint8_t length = 128;  // prefix bits, 0-128

  bool Contains(const Ipv6Address& a) const;

  std::string ToString() const;
  // "ADDRESS/N"; a bare address is taken as /128.
  static std::optional<Ipv6Prefix> Parse(std::string_view text);
};

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_ADDRESSES_H_
