// PartialSum: the RFC 1071 ones'-complement sum, computed in native-width
// chunks.
//
// RFC 1071 2(B): the sum is byte-order independent, so we add the buffer as
// native 64-bit words (memcpy loads, legal at any alignment) and only swap the
// folded 16-bit result into big-endian order at the end. Carries out of each
// 64-bit add are counted separately so the main loop has no dependency on the
// compare, and are added back ("end-around carry") when folding.
#include "wire/checksum.h"

#include <bit>
#include <cstring>

namespace synwave::wire {
namespace {

using checksum_internal::Add64;
using checksum_internal::Load64;
using checksum_internal::TailSum;

// Sums `len` bytes as native-order 16-bit words (ones' complement), as a
// 64-bit value still to be folded. The caller keeps `len` small enough that
// `carries` cannot wrap (it grows by at most one per 8 bytes). Always
// inlined: packets are short, so the call would cost as much as the sum.
[[gnu::always_inline]] inline uint64_t NativeSum(const uint8_t* p, size_t len) {
  uint64_t s0 = 0;
  uint64_t s1 = 0;
  uint64_t carries = 0;
  // Two independent accumulators so consecutive adds do not wait on each
  // other; 32 bytes per iteration.
  while (len >= 32) {
    uint64_t a = Load64(p);
    uint64_t b = Load64(p + 8);
    uint64_t c = Load64(p + 16);
    uint64_t d = Load64(p + 24);
    s0 += a;
    carries += s0 < a;
    s1 += b;
    carries += s1 < b;
    s0 += c;
    carries += s0 < c;
    s1 += d;
    carries += s1 < d;
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    uint64_t a = Load64(p);
    s0 += a;
    carries += s0 < a;
    p += 8;
    len -= 8;
  }
  // At most 7 bytes left: their sum fits easily in 64 bits.
  return Add64(Add64(Add64(s0, s1), TailSum(p, len)), carries);
}

}  // namespace

uint32_t PartialSum(const void* data, size_t len, uint32_t initial) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t native = 0;
  // Packets are far below this; the split only keeps the carry counter from
  // wrapping for arbitrary `len`. The chunk size is even so every chunk
  // starts at an even offset, keeping the word alignment of the bytes.
  constexpr size_t kChunk = size_t{1} << 30;
  while (len > kChunk) {
    native = Add64(native, NativeSum(p, kChunk));
    p += kChunk;
    len -= kChunk;
  }
  native = Add64(native, NativeSum(p, len));
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
  uint16_t folded = FoldSum(Add64(NativeSum(src, 16), NativeSum(dst, 16)));
  if constexpr (std::endian::native == std::endian::little) {
    folded = __builtin_bswap16(folded);
  }
  // At most 0xffff + 2 * 0xffff + 0xff: no carry out of 32 bits.
  return uint32_t{folded} + (l4_length >> 16) + (l4_length & 0xffff) +
         protocol;
}

}  // namespace synwave::wire
