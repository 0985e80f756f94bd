// FlowKey, the TCP 4-tuple that names a connection, and FlowHasher, the keyed
// hash that places it in a FlowTable; FlowKey6 and FlowHasher6, the same for
// IPv6 (at the end of the file).
//
// The hash is keyed with a per-process random seed because the remote half of
// the key (address and port) is chosen by whoever sends us a SYN. With an
// unkeyed or linear hash (CRC32, XOR folding, Toeplitz with a published RSS
// key), an attacker can compute offline a set of tuples that share one bucket
// and turn every lookup in that table region into a long scan ("hash
// flooding"). Here every bit of the bucket index depends on a 192-bit secret
// through two 64x64->128-bit multiplications, so choosing colliding tuples
// needs the seed.
//
// Construction: the 96-bit key is packed into two words a (the two addresses)
// and b (the two ports). Round one multiplies (a ^ k0) by (b ^ k1), both
// operands secret-masked, and folds the 128-bit product (lo ^ hi); the
// multiply carries make the map non-linear over GF(2), unlike CRC or Toeplitz,
// whose colliding input differences form a seed-independent (CRC) or
// learnable (Toeplitz) linear subspace. Round two multiplies (h ^ k2) by an
// odd constant and folds again, which removes the residual structure of a
// single fold (measured: one round leaves a 5% avalanche bias and visibly
// non-random bucket counts for sequential addresses; two rounds are within
// sampling noise, tested in flow_key_test.cc). This is the wyhash/absl "mum"
// construction, not a cryptographic PRF: it resists an attacker who sees no
// hash values; an attacker who could measure per-lookup timing to the
// nanosecond could in principle learn about the seed, which for a remote
// sender through NIC, queueing and scheduling jitter is not practical.
//
// Cost: about 10 cycles of latency; no tables, no memory access beyond the
// key. The seed is expanded once (SplitMix64) when the FlowHasher is built.
//
// The NIC's RSS hash is also a hash of this 4-tuple, but is Toeplitz with a
// key that is often the published default; use it to pick the core, not the
// bucket.
#ifndef SYNWAVE_FLOW_FLOW_KEY_H_
#define SYNWAVE_FLOW_FLOW_KEY_H_

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "wire/addresses.h"

namespace synwave::flow {

// One TCP connection as seen from this host. All fields in host byte order.
// 12 bytes with no padding, so the table can compare keys as raw bytes.
struct FlowKey {
  uint32_t local_ip = 0;
  uint32_t remote_ip = 0;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;

  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};
static_assert(sizeof(FlowKey) == 12);
static_assert(std::is_trivially_copyable_v<FlowKey>);
static_assert(std::has_unique_object_representations_v<FlowKey>);

namespace flow_internal {

// 64x64 -> 128-bit multiply, folded to 64 bits.
inline uint64_t MulFold(uint64_t a, uint64_t b) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

// SplitMix64 step: turns one seed into independent-looking subkeys, so that
// related seeds (0, 1, 2, ... in tests) still give unrelated hash functions.
constexpr uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace flow_internal

// A keyed hash of FlowKey. Cheap to copy (24 bytes); each core may keep its
// own copy, built from the same process-wide seed. The seed must come from a
// good random source (getrandom, rte_rand seeded at start-up) in production;
// tests pass fixed seeds for reproducibility.
class FlowHasher {
 public:
  constexpr explicit FlowHasher(uint64_t seed) {
    uint64_t state = seed;
    k0_ = flow_internal::SplitMix64(state);
    k1_ = flow_internal::SplitMix64(state);
    k2_ = flow_internal::SplitMix64(state);
  }

  uint32_t operator()(const FlowKey& key) const {
    const uint64_t a = (uint64_t{key.local_ip} << 32) | key.remote_ip;
    const uint64_t b = (uint64_t{key.local_port} << 16) | key.remote_port;
    uint64_t h = flow_internal::MulFold(a ^ k0_, b ^ k1_);
    h = flow_internal::MulFold(h ^ k2_, 0x9e3779b97f4a7c15ull);
    return static_cast<uint32_t>(h) ^ static_cast<uint32_t>(h >> 32);
  }

  // Hashes a burst; a plain loop (the multiplies of independent keys overlap
  // in the pipeline), kept so the worker's burst stage has one call site.
  void HashBulk(const FlowKey* keys, uint32_t n, uint32_t* hashes_out) const {
    for (uint32_t i = 0; i < n; ++i) hashes_out[i] = (*this)(keys[i]);
  }

 private:
  uint64_t k0_ = 0;
  uint64_t k1_ = 0;
  uint64_t k2_ = 0;
};

// One TCP connection over IPv6 as seen from this host: addresses as their
// wire bytes, ports in host order. 36 bytes with no padding.
struct FlowKey6 {
  wire::Ipv6Address local_ip;
  wire::Ipv6Address remote_ip;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;

  friend bool operator==(const FlowKey6&, const FlowKey6&) = default;
};
static_assert(sizeof(FlowKey6) == 36);
static_assert(std::is_trivially_copyable_v<FlowKey6>);
static_assert(std::has_unique_object_representations_v<FlowKey6>);

// The keyed hash of FlowKey6: the same construction as FlowHasher over a
// longer key. Each address's two halves are multiplied together under
// secret masks, the two products folded and combined with the ports in a
// third multiplication, and a final round with an odd constant (as
// FlowHasher's second round) removes the single fold's residual structure.
// A separate class so that FlowHasher, on every IPv4 packet's path, keeps
// its size and cost; built from the same seed, its subkeys are drawn after
// FlowHasher's from the same SplitMix64 stream, so the two never share one.
class FlowHasher6 {
 public:
  constexpr explicit FlowHasher6(uint64_t seed) {
    uint64_t state = seed;
    // Skip FlowHasher's three subkeys.
    for (int i = 0; i < 3; ++i) flow_internal::SplitMix64(state);
    for (uint64_t& k : k_) k = flow_internal::SplitMix64(state);
  }

  uint32_t operator()(const FlowKey6& key) const {
    using flow_internal::MulFold;
    // Native-order loads: the byte order of the halves does not matter to
    // the hash, and the loads need no swap.
    uint64_t w[4];
    std::memcpy(w, key.local_ip.bytes.data(), 16);
    std::memcpy(w + 2, key.remote_ip.bytes.data(), 16);
    const uint64_t ports = (uint64_t{key.local_port} << 16) | key.remote_port;
    uint64_t h = MulFold(w[0] ^ k_[0], w[1] ^ k_[1]) ^
                 MulFold(w[2] ^ k_[2], w[3] ^ k_[3]);
    h = MulFold(h ^ k_[4], ports ^ k_[5]);
    h = MulFold(h ^ k_[6], 0x9e3779b97f4a7c15ull);
    return static_cast<uint32_t>(h) ^ static_cast<uint32_t>(h >> 32);
  }

  void HashBulk(const FlowKey6* keys, uint32_t n, uint32_t* hashes_out) const {
    for (uint32_t i = 0; i < n; ++i) hashes_out[i] = (*this)(keys[i]);
  }

 private:
  uint64_t k_[7] = {};
};

// Convenience form. Expanding the seed costs a few extra cycles per call when
// `seed` is not a compile-time constant; hot loops should hold a FlowHasher.
inline uint32_t FlowHash(const FlowKey& key, uint64_t seed) {
  return FlowHasher(seed)(key);
}

}  // namespace synwave::flow

#endif  // SYNWAVE_FLOW_FLOW_KEY_H_
