#include "tcp/siphash.h"

#include <cstring>

namespace synwave::tcp {

uint64_t SipHash24(const SipKey& key, const void* data, size_t len) {
  siphash_internal::State s(key);
  const auto* p = static_cast<const uint8_t*>(data);
  const size_t whole = len & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m;
    std::memcpy(&m, p + i, 8);  // little-endian host (x86)
    s.Compress(m);
  }
  uint64_t last = uint64_t{len & 0xff} << 56;
  for (size_t i = 0; i < (len & 7); ++i) {
    last |= uint64_t{p[whole + i]} << (8 * i);
  }
  s.Compress(last);
  return s.Finish();
}

}  // namespace synwave::tcp
