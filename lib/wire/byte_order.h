// Network byte order fields for on-the-wire header structs.
//
// Header structs in lib/wire overlay packet bytes directly, so their fields
// hold big-endian values at arbitrary alignment. Be16/Be32 keep the raw bytes
// and convert on access; the structs that use them are packed, so loads and
// stores are legal at any address (UBSan checks this).
#ifndef SYNWAVE_WIRE_BYTE_ORDER_H_
#define SYNWAVE_WIRE_BYTE_ORDER_H_

#include <cstdint>

namespace synwave::wire {

struct __attribute__((packed)) Be16 {
  uint16_t raw;  // network byte order

  constexpr uint16_t get() const { return __builtin_bswap16(raw); }
  constexpr void set(uint16_t v) { raw = __builtin_bswap16(v); }
};

struct __attribute__((packed)) Be32 {
  uint32_t raw;  // network byte order

  constexpr uint32_t get() const { return __builtin_bswap32(raw); }
  constexpr void set(uint32_t v) { raw = __builtin_bswap32(v); }
};

static_assert(sizeof(Be16) == 2 && sizeof(Be32) == 4);

// Big-endian loads and stores on raw byte pointers (option parsing).
inline uint16_t LoadBe16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_BYTE_ORDER_H_
