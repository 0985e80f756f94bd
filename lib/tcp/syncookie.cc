#include "tcp/syncookie.h"

#include <algorithm>
#include <cstring>

#include "wire/tcp_options.h"

// The vector helpers below are always inlined into functions compiled for
// their instruction set, so no vector crosses a call boundary and GCC's note
// about the vector calling convention does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace synwave::tcp {

namespace {

constexpr uint8_t kTsWscaleNone = 15;
constexpr uint32_t kTsWscaleMask = 0xf;
constexpr uint32_t kTsSack = 1u << 4;
constexpr uint32_t kTsMarker = 1u << 5;

// SipHash-2-4 over a vector of independent 64-bit lanes: the same rounds as
// siphash_internal::State, one message per lane.
template <typename V>
struct LaneState {
  V v0, v1, v2, v3;

  template <int B>
  [[gnu::always_inline]] static V Rotl(const V& x) {
    return (x << B) | (x >> (64 - B));
  }

  // clang-format off
  [[gnu::always_inline]] void Round() {
    v0 += v1; v1 = Rotl<13>(v1); v1 ^= v0; v0 = Rotl<32>(v0);
    v2 += v3; v3 = Rotl<16>(v3); v3 ^= v2;
    v0 += v3; v3 = Rotl<21>(v3); v3 ^= v0;
    v2 += v1; v1 = Rotl<17>(v1); v1 ^= v2; v2 = Rotl<32>(v2);
  }
  // clang-format on

  [[gnu::always_inline]] void Compress(const V& m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }

  [[gnu::always_inline]] void Finish() {
    v2 ^= 0xff;
    Round();
    Round();
    Round();
    Round();
    v0 ^= v1 ^ v2 ^ v3;
  }
};

}  // namespace

// Portable path: Make in a loop. Interleaving several scalar SipHash states
// gains nothing (measured on Zen 4: 34 cycles per cookie either way, and a
// chain of dependent Make calls costs the same): one SipHash round is 14
// ALU operations on a dependency chain about 4 deep, so a single hash
// already keeps the 4 integer ALUs busy. The gain comes from vector lanes.
void SynCookies::MakeBatchScalar(const flow::FlowKey* keys,
                                 const wire::SeqNum* peer_seqs,
                                 const uint16_t* peer_mss, size_t n,
                                 uint32_t counter, wire::SeqNum* out, uint32_t* aux) const {
  for (size_t i = 0; i < n; ++i) {
    uint32_t a;
    out[i] = Make(keys[i], peer_seqs[i], peer_mss[i], counter, &a);
    if (aux != nullptr) aux[i] = a;
  }
}

// Vector path: m <= N cookies, one per 64-bit lane of V (lanes from m on
// hash zeros and are dropped). The message words are built with scalar code
// (the tuple layout does not vectorize usefully) and loaded as vectors; the
// 10 SipHash rounds then run once for all lanes.
template <size_t N, typename V>
[[gnu::always_inline]] inline void SynCookies::MakeGroup(
    const flow::FlowKey* keys, const wire::SeqNum* peer_seqs,
    const uint16_t* peer_mss, size_t m, uint32_t counter,
    wire::SeqNum* out, uint32_t* aux) const {
  static_assert(sizeof(V) == N * sizeof(uint64_t));
  alignas(sizeof(V)) uint64_t w0[N], w1[N], last[N];
  unsigned index[N];
  for (size_t l = 0; l < m; ++l) {
    index[l] = MssIndex(peer_mss[l]);
    w0[l] = Word0(keys[l]);
    w1[l] = Word1(keys[l], peer_seqs[l]);
    last[l] = LastWord(counter, index[l]);
  }
  for (size_t l = m; l < N; ++l) w0[l] = w1[l] = last[l] = 0;
  LaneState<V> s;
  s.v0 = V{} + initial_.v0;
  s.v1 = V{} + initial_.v1;
  s.v2 = V{} + initial_.v2;
  s.v3 = V{} + initial_.v3;
  V word;
  std::memcpy(&word, w0, sizeof(word));
  s.Compress(word);
  std::memcpy(&word, w1, sizeof(word));
  s.Compress(word);
  std::memcpy(&word, last, sizeof(word));
  s.Compress(word);
  s.Finish();
  uint64_t h[N];
  std::memcpy(h, &s.v0, sizeof(h));
  for (size_t l = 0; l < m; ++l) {
    out[l] =
        wire::SeqNum(Assemble(static_cast<uint32_t>(h[l]), counter, index[l]));
    if (aux != nullptr) aux[l] = static_cast<uint32_t>(h[l] >> 32);
  }
}

// Whole groups of N, then the tail: padded to a group when it has at least
// N/2 cookies (a group costs about as much as N/2 scalar cookies), else
// one by one.
template <size_t N, typename V>
[[gnu::always_inline]] inline void SynCookies::MakeBatchLanes(
    const flow::FlowKey* keys, const wire::SeqNum* peer_seqs,
    const uint16_t* peer_mss, size_t n, uint32_t counter,
    wire::SeqNum* out, uint32_t* aux) const {
  size_t i = 0;
  for (; i + N <= n; i += N) {
    MakeGroup<N, V>(keys + i, peer_seqs + i, peer_mss + i, N, counter, out + i,
                    aux == nullptr ? nullptr : aux + i);
  }
  if (n - i >= N / 2) {
    MakeGroup<N, V>(keys + i, peer_seqs + i, peer_mss + i, n - i, counter,
                    out + i, aux == nullptr ? nullptr : aux + i);
    return;
  }
  for (; i < n; ++i) {
    uint32_t a;
    out[i] = Make(keys[i], peer_seqs[i], peer_mss[i], counter, &a);
    if (aux != nullptr) aux[i] = a;
  }
}

#if defined(__x86_64__)
// Lane counts measured on Zen 4 (cycles per cookie in bursts of 32, scalar
// 34; a prototype of each, kept here only as numbers): AVX2 with 4 lanes
// 23.5, 8 lanes (two ymm per state word) 19.2, 16 lanes 19.6; AVX-512 with
// 8 lanes 15.1, 16 lanes (two zmm) 10.4, 32 lanes 10.3. AVX2 has no 64-bit
// rotate (shift, shift, or); AVX-512F has vprolq. Two registers per state word
// give two independent dependency chains, which is what the single-register
// forms lack.
using U64x8 = uint64_t __attribute__((vector_size(64)));
using U64x16 = uint64_t __attribute__((vector_size(128)));

[[gnu::target("avx2")]] void SynCookies::MakeBatchAvx2(
    const flow::FlowKey* keys, const wire::SeqNum* peer_seqs,
    const uint16_t* peer_mss, size_t n, uint32_t counter,
    wire::SeqNum* out, uint32_t* aux) const {
  MakeBatchLanes<8, U64x8>(keys, peer_seqs, peer_mss, n, counter, out, aux);
}

[[gnu::target("avx512f")]] void SynCookies::MakeBatchAvx512(
    const flow::FlowKey* keys, const wire::SeqNum* peer_seqs,
    const uint16_t* peer_mss, size_t n, uint32_t counter,
    wire::SeqNum* out, uint32_t* aux) const {
  MakeBatchLanes<16, U64x16>(keys, peer_seqs, peer_mss, n, counter, out, aux);
}
#endif

SynCookieImpl SynCookies::Resolve(SynCookieImpl wanted) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool avx2 = __builtin_cpu_supports("avx2");
#else
  const bool avx512 = false;
  const bool avx2 = false;
#endif
  switch (wanted) {
    case SynCookieImpl::kAuto:
    case SynCookieImpl::kAvx512:
      if (avx512) return SynCookieImpl::kAvx512;
      [[fallthrough]];
    case SynCookieImpl::kAvx2:
      if (avx2) return SynCookieImpl::kAvx2;
      [[fallthrough]];
    case SynCookieImpl::kScalar:
      return SynCookieImpl::kScalar;
  }
  return SynCookieImpl::kScalar;
}

void SynCookies::MakeBatch(const flow::FlowKey* keys,
                           const wire::SeqNum* peer_seqs,
                           const uint16_t* peer_mss, size_t n, uint32_t counter,
                           wire::SeqNum* out, uint32_t* aux) const {
  switch (impl_) {
    case SynCookieImpl::kAvx512:
#if defined(__x86_64__)
      MakeBatchAvx512(keys, peer_seqs, peer_mss, n, counter, out, aux);
      return;
#endif
    case SynCookieImpl::kAvx2:
#if defined(__x86_64__)
      MakeBatchAvx2(keys, peer_seqs, peer_mss, n, counter, out, aux);
      return;
#endif
    case SynCookieImpl::kAuto:
    case SynCookieImpl::kScalar:
      MakeBatchScalar(keys, peer_seqs, peer_mss, n, counter, out, aux);
      return;
  }
}

std::string_view SynCookieImplName(SynCookieImpl impl) {
  switch (impl) {
    case SynCookieImpl::kAuto:
      return "auto";
    case SynCookieImpl::kScalar:
      return "scalar";
    case SynCookieImpl::kAvx2:
      return "avx2";
    case SynCookieImpl::kAvx512:
      return "avx512";
  }
  return "?";
}

uint32_t EncodeCookieTsval(uint32_t ts_now, uint8_t wscale_or_none,
                           bool sack_ok) {
  const uint32_t wscale =
      wscale_or_none == kCookieNoWscale
          ? kTsWscaleNone
          : std::min<uint32_t>(wscale_or_none, wire::kMaxWindowScale);
  const uint32_t bits = kTsMarker | (sack_ok ? kTsSack : 0) | wscale;
  uint32_t tsval = (ts_now & ~kCookieTsMask) | bits;
  // Never ahead of our clock: step back one 2^6 block (modulo 2^32, so a
  // clock below 2^6 gives a TSval just before the wrap, still "earlier").
  if (tsval > ts_now) tsval -= kCookieTsMask + 1;
  return tsval;
}

bool DecodeCookieTsecr(uint32_t tsecr, uint8_t* wscale_or_none, bool* sack_ok) {
  if ((tsecr & kTsMarker) == 0) return false;
  const uint32_t wscale = tsecr & kTsWscaleMask;
  *wscale_or_none =
      wscale == kTsWscaleNone ? kCookieNoWscale : static_cast<uint8_t>(wscale);
  *sack_ok = (tsecr & kTsSack) != 0;
  return true;
}

}  // namespace synwave::tcp
