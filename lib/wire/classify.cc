// BurstClassifier's two forms and the choice between them.
//
// The template covers bytes 0-33 of a frame: destination MAC (0-5), the
// source MAC's group bit (6), EtherType (12-13), version and IHL (14), the
// fragment bits (MF and the offset, 20-21), protocol (23) and destination
// address (30-33). Everything else in those bytes is masked out.
#include "wire/classify.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace synwave::wire {
namespace {

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

}  // namespace

BurstClassifier::BurstClassifier(const ClassifyKey& key) {
  for (int i = 0; i < 6; ++i) {
    value_[i] = key.mac.bytes[i];
    mask_[i] = 0xff;
  }
  mask_[6] = 0x01;  // an individual source: the group bit clear
  value_[12] = 0x08;  // EtherType IPv4
  value_[13] = 0x00;
  mask_[12] = mask_[13] = 0xff;
  value_[14] = 0x45;  // version 4, 20-byte header
  mask_[14] = 0xff;
  mask_[20] = 0x3f;  // MF and the fragment offset clear; DF may be set
  mask_[21] = 0xff;
  value_[23] = kIpProtoTcp;
  mask_[23] = 0xff;
  const uint32_t ip = key.ip.value;
  for (int i = 0; i < 4; ++i) {
    value_[30 + i] = static_cast<uint8_t>(ip >> (24 - 8 * i));
    mask_[30 + i] = 0xff;
  }
}

bool BurstClassifier::HasAvx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

const BurstClassifier::Impl BurstClassifier::kImpl =
    BurstClassifier::HasAvx2() ? &BurstClassifier::ClassifyAvx2
                               : &BurstClassifier::ClassifyScalar;

const char* BurstClassifier::ImplName() {
  return kImpl == &BurstClassifier::ClassifyScalar ? "scalar" : "avx2";
}

// Bytes 0-7, 8-15, 16-23, 24-31 and 26-33 as masked 64-bit compares (the
// last overlaps the fourth so that it stays one load).
uint64_t BurstClassifier::ClassifyScalar(const uint8_t* const* frames,
                                         const uint16_t* lens,
                                         uint32_t n) const {
  static constexpr int kAt[5] = {0, 8, 16, 24, 26};
  uint64_t value[5];
  uint64_t mask[5];
  for (int w = 0; w < 5; ++w) {
    value[w] = Load64(value_ + kAt[w]);
    mask[w] = Load64(mask_ + kAt[w]);
  }
  uint64_t bits = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (lens[i] < kClassifyMinLength) continue;
    const uint8_t* p = frames[i];
    const uint64_t diff = ((Load64(p) & mask[0]) ^ value[0]) |
                          ((Load64(p + 8) & mask[1]) ^ value[1]) |
                          ((Load64(p + 16) & mask[2]) ^ value[2]) |
                          ((Load64(p + 24) & mask[3]) ^ value[3]) |
                          ((Load64(p + 26) & mask[4]) ^ value[4]);
    bits |= uint64_t{diff == 0} << i;
  }
  return bits;
}

#if defined(__x86_64__)
// Bytes 2-33 in one register (xor with the template, test under the mask),
// bytes 0-1 (the MAC's first two) as a 16-bit compare.
[[gnu::target("avx2")]] uint64_t BurstClassifier::ClassifyAvx2(
    const uint8_t* const* frames, const uint16_t* lens, uint32_t n) const {
  const __m256i value =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(value_ + 2));
  const __m256i mask =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask_ + 2));
  const uint16_t mac01 = Load16(value_);
  uint64_t bits = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (lens[i] < kClassifyMinLength) continue;
    const uint8_t* p = frames[i];
    const __m256i v =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
    const bool match = _mm256_testz_si256(_mm256_xor_si256(v, value), mask) &&
                       Load16(p) == mac01;
    bits |= uint64_t{match} << i;
  }
  return bits;
}
#else
uint64_t BurstClassifier::ClassifyAvx2(const uint8_t* const* frames,
                                       const uint16_t* lens,
                                       uint32_t n) const {
  return ClassifyScalar(frames, lens, n);
}
#endif

}  // namespace synwave::wire
