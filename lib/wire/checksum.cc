// PartialSum: the RFC 1071 ones'-complement sum, computed in native-width
// chunks.
//
// RFC 1071 2(B): the sum is byte-order independent, so we add the buffer as
// native 64-bit words (unaligned loads are legal on x86-64) and only swap
// the folded 16-bit result into big-endian order at the end. The words are
// added with end-around carry in add-with-carry chains
// (checksum_internal::Add64Bytes), so no carry counter is kept.
#include "wire/checksum.h"

#include <bit>
#include <cstring>

namespace synwave::wire {
namespace {

using checksum_internal::Add16Bytes;
using checksum_internal::Add64Bytes;
using checksum_internal::ShortNativeSum;

// Sums `len` bytes as native-order 16-bit words (ones' complement), as a
// 64-bit value still to be folded: 64 bytes a step in one add-with-carry
// chain (checksum.h), then the short buffer's steps (ShortNativeSum: 32,
// 16, 8 and the tail). Always inlined: packets are short, so the call
// would cost as much as the sum.
[[gnu::always_inline]] inline uint64_t NativeSum(const uint8_t* p, size_t len) {
  uint64_t s = 0;
  while (len >= 64) {
    s = Add64Bytes(s, p);
    p += 64;
    len -= 64;
  }
  return ShortNativeSum(p, len, s);
}

}  // namespace

uint32_t PartialSum(const void* data, size_t len, uint32_t initial) {
  const auto* p = static_cast<const uint8_t*>(data);
  const uint64_t native = NativeSum(p, len);
  uint16_t folded = FoldSum(native);
  if constexpr (std::endian::native == std::endian::little) {
    // RFC 1071 2(B): swapping the folded sum equals summing swapped words.
    folded = __builtin_bswap16(folded);
  }
  // End-around carry so the result stays a valid 32-bit partial sum even when
  // `initial` is close to 2^32.
  uint64_t total = uint64_t{initial} + folded;
  return static_cast<uint32_t>((total & 0xffffffffu) + (total >> 32));
}

uint32_t Ipv6PseudoHeaderSum(const uint8_t* src, const uint8_t* dst,
                             uint8_t protocol, uint32_t l4_length) {
  uint16_t folded = FoldSum(Add16Bytes(Add16Bytes(0, src), dst));
  if constexpr (std::endian::native == std::endian::little) {
    folded = __builtin_bswap16(folded);
  }
  // At most 0xffff + 2 * 0xffff + 0xff: no carry out of 32 bits.
  return uint32_t{folded} + (l4_length >> 16) + (l4_length & 0xffff) +
         protocol;
}

}  // namespace synwave::wire
