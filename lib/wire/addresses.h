// Link and network addresses: MacAddress and Ipv4Address value types.
//
// Both are small trivially-copyable values used in the per-packet path and in
// the neighbour table. Ipv4Address holds the address in host byte order so it
// compares and hashes like an integer; conversion to and from the wire is
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

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_ADDRESSES_H_
