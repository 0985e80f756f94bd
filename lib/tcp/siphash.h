// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash that is
// fast on short inputs and strong enough that an outsider without the key
// cannot predict or steer its output.
//
// The endpoint hashes 4-tuples with a secret key for two things a remote
// attacker must not be able to guess: initial sequence numbers (RFC 6528)
// and SYN cookies (RFC 4987). Both hash a fixed 16-byte block per SYN, so
// this implementation has a specialised two-word entry point next to the
// general one; it is written here (rather than taken from a library) so that
// the per-SYN path is inlined and can later be batched over a burst.
#ifndef SYNWAVE_TCP_SIPHASH_H_
#define SYNWAVE_TCP_SIPHASH_H_

#include <cstddef>
#include <cstdint>

namespace synwave::tcp {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

// SipHash-2-4 of `len` bytes (the reference algorithm; test vectors from the
// paper pass through this entry point).
uint64_t SipHash24(const SipKey& key, const void* data, size_t len);

namespace siphash_internal {

inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct State {
  uint64_t v0, v1, v2, v3;

  explicit State(const SipKey& k)
      : v0(k.k0 ^ 0x736f6d6570736575ULL),
        v1(k.k1 ^ 0x646f72616e646f6dULL),
        v2(k.k0 ^ 0x6c7967656e657261ULL),
        v3(k.k1 ^ 0x7465646279746573ULL) {}

  void Round() {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  }

  void Compress(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }

  uint64_t Finish() {
    v2 ^= 0xff;
    Round();
    Round();
    Round();
    Round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

}  // namespace siphash_internal

// SipHash-2-4 of exactly 16 bytes given as two little-endian words: the same
// value SipHash24 gives for those 16 bytes, without the byte handling.
inline uint64_t SipHash24Words(const SipKey& key, uint64_t m0, uint64_t m1) {
  siphash_internal::State s(key);
  s.Compress(m0);
  s.Compress(m1);
  s.Compress(uint64_t{16} << 56);  // length byte, no tail bytes
  return s.Finish();
}

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_SIPHASH_H_
