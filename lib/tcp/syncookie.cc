#include "tcp/syncookie.h"

#include <algorithm>
#include <cstring>

#include "wire/tcp_options.h"

// The vector helpers below are always inlined into functions compiled for
// their instruction set, so no vector crosses a call boundary and GCC's note
// about the vector calling convention does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
// GCC 12 reports LaneState's words as maybe uninitialized where the loop
// over R first writes them (each is written before any read: a false
// positive of its vector lowering).
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace synwave::tcp {

namespace {

constexpr uint8_t kTsWscaleNone = 15;
constexpr uint32_t kTsWscaleMask = 0xf;
constexpr uint32_t kTsSack = 1u << 4;
constexpr uint32_t kTsMarker = 1u << 5;

// Views of a 32-byte vector for the shuffles of LaneState::Rotl.
using U64x4 = uint64_t __attribute__((vector_size(32)));
using V32 = uint32_t __attribute__((vector_size(32)));
using M32 = int32_t __attribute__((vector_size(32)));
using V16 = uint16_t __attribute__((vector_size(32)));
using M16 = int16_t __attribute__((vector_size(32)));

// SipHash-2-4 over R vectors of independent 64-bit lanes: the same rounds
// as siphash_internal::State, one message per lane. R = 2 gives two
// independent dependency chains; each state word is R registers of the
// machine's own width (a wider generic vector is split by the compiler
// with spills to the stack). kShuffle (AVX2, whose V is U64x4): the
// rotations by 32 and 16 bits are byte shuffles, one instruction each,
// instead of two shifts and an or (AVX-512F's vprolq does any rotation in
// one).
template <typename V, size_t R, bool kShuffle>
struct LaneState {
  V v0[R], v1[R], v2[R], v3[R];

  template <int B>
  [[gnu::always_inline]] static V Rotl(const V& x) {
    if constexpr (kShuffle && B == 32) {
      const V32 w = reinterpret_cast<V32>(x);
#if defined(__clang__)  // GCC's __builtin_shuffle is not clang's
      return reinterpret_cast<V>(
          __builtin_shufflevector(w, w, 1, 0, 3, 2, 5, 4, 7, 6));
#else
      constexpr M32 kSwap = {1, 0, 3, 2, 5, 4, 7, 6};
      return reinterpret_cast<V>(__builtin_shuffle(w, kSwap));
#endif
    } else if constexpr (kShuffle && B == 16) {
      // Little-endian halfwords of each lane move up one place.
      const V16 h = reinterpret_cast<V16>(x);
#if defined(__clang__)
      return reinterpret_cast<V>(__builtin_shufflevector(
          h, h, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14));
#else
      constexpr M16 kUp = {3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14};
      return reinterpret_cast<V>(__builtin_shuffle(h, kUp));
#endif
    } else {
      return (x << B) | (x >> (64 - B));
    }
  }

  // clang-format off
  [[gnu::always_inline]] void Round() {
    _Pragma("GCC unroll 4")
    for (size_t r = 0; r < R; ++r) {
      v0[r] += v1[r]; v1[r] = Rotl<13>(v1[r]); v1[r] ^= v0[r]; v0[r] = Rotl<32>(v0[r]);
      v2[r] += v3[r]; v3[r] = Rotl<16>(v3[r]); v3[r] ^= v2[r];
      v0[r] += v3[r]; v3[r] = Rotl<21>(v3[r]); v3[r] ^= v0[r];
      v2[r] += v1[r]; v1[r] = Rotl<17>(v1[r]); v1[r] ^= v2[r]; v2[r] = Rotl<32>(v2[r]);
    }
  }
  // clang-format on

  [[gnu::always_inline]] void Compress(const V* m) {
    _Pragma("GCC unroll 4")
    for (size_t r = 0; r < R; ++r) v3[r] ^= m[r];
    Round();
    Round();
    _Pragma("GCC unroll 4")
    for (size_t r = 0; r < R; ++r) v0[r] ^= m[r];
  }

  [[gnu::always_inline]] void Finish() {
    _Pragma("GCC unroll 4")
    for (size_t r = 0; r < R; ++r) v2[r] ^= 0xff;
    Round();
    Round();
    Round();
    Round();
    _Pragma("GCC unroll 4")
    for (size_t r = 0; r < R; ++r) v0[r] ^= v1[r] ^ v2[r] ^ v3[r];
  }
};

// A batch of n SipHash-2-4 messages of BatchOp::kWords words each:
// op.Build(i, w) writes item i's words, op.Done(i, h, last) takes its hash
// (with its last word, which holds the slot and the MSS index).
// Whole groups of N go through the vector lanes of V (N per step); the
// tail is padded to a group when it has at least N/2 items (a group costs
// about as much as N/2 scalar hashes), else hashed one by one. The message
// words are built with scalar code (the tuple layout does not vectorize
// usefully) and loaded as vectors; the rounds then run once for all lanes.
template <size_t N, typename V, size_t R, bool kShuffle, typename BatchOp>
[[gnu::always_inline]] inline void HashInLanes(
    const siphash_internal::State& init, const BatchOp& op, size_t n) {
  constexpr size_t W = static_cast<size_t>(BatchOp::kWords);
  static_assert(R * sizeof(V) == N * sizeof(uint64_t));
  const auto group = [&](size_t base, size_t m) __attribute__((always_inline)) {
    alignas(sizeof(V)) uint64_t msg[W][N];
    for (size_t l = 0; l < m; ++l) {
      uint64_t w[W];
      op.Build(base + l, w);
      for (size_t k = 0; k < W; ++k) msg[k][l] = w[k];
    }
    for (size_t l = m; l < N; ++l) {
      for (size_t k = 0; k < W; ++k) msg[k][l] = 0;
    }
    LaneState<V, R, kShuffle> s;
    _Pragma("GCC unroll 4")
    for (size_t r = 0; r < R; ++r) {
      s.v0[r] = V{} + init.v0;
      s.v1[r] = V{} + init.v1;
      s.v2[r] = V{} + init.v2;
      s.v3[r] = V{} + init.v3;
    }
    _Pragma("GCC unroll 8")
    for (size_t k = 0; k < W; ++k) {
      V word[R];
      std::memcpy(word, msg[k], sizeof(word));
      s.Compress(word);
    }
    s.Finish();
    alignas(sizeof(V)) uint64_t h[N];
    std::memcpy(h, s.v0, sizeof(h));
    for (size_t l = 0; l < m; ++l) op.Done(base + l, h[l], msg[W - 1][l]);
  };
  size_t i = 0;
  for (; i + N <= n; i += N) group(i, N);
  if (n - i >= N / 2) {
    group(i, n - i);
    return;
  }
  for (; i < n; ++i) {
    uint64_t w[W];
    op.Build(i, w);
    siphash_internal::State s = init;
    for (size_t k = 0; k < W; ++k) s.Compress(w[k]);
    op.Done(i, s.Finish(), w[W - 1]);
  }
}

// Portable path: one hash at a time. Interleaving several scalar SipHash
// states gains nothing (measured on Zen 4: 34 cycles per cookie either way,
// and a chain of dependent Make calls costs the same): one SipHash round is
// 14 ALU operations on a dependency chain about 4 deep, so a single hash
// already keeps the 4 integer ALUs busy. The gain comes from vector lanes.
template <typename BatchOp>
void HashScalar(const siphash_internal::State& init, const BatchOp& op,
                size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint64_t w[BatchOp::kWords];
    op.Build(i, w);
    siphash_internal::State s = init;
    for (size_t k = 0; k < static_cast<size_t>(BatchOp::kWords); ++k) {
      s.Compress(w[k]);
    }
    op.Done(i, s.Finish(), w[BatchOp::kWords - 1]);
  }
}

#if defined(__x86_64__)
// Lane counts measured on Zen 4 (cycles per cookie in bursts of 32, scalar
// 34; a prototype of each, kept here only as numbers): AVX2 with 4 lanes
// 23.5, 8 lanes (two ymm per state word) 19.2, 16 lanes 19.6; AVX-512 with
// 8 lanes 15.1, 16 lanes (two zmm) 10.4, 32 lanes 10.3. AVX2 has no 64-bit
// rotate (shift, shift, or; byte shuffles for 32 and 16); AVX-512F has
// vprolq. Two registers per state word give two independent dependency
// chains, which is what the single-register forms lack.
using U64x8 = uint64_t __attribute__((vector_size(64)));

template <typename BatchOp>
[[gnu::target("avx2")]] void HashAvx2(const siphash_internal::State& init,
                                      const BatchOp& op, size_t n) {
  HashInLanes<8, U64x4, 2, /*kShuffle=*/true>(init, op, n);
}

template <typename BatchOp>
[[gnu::target("avx512f")]] void HashAvx512(
    const siphash_internal::State& init, const BatchOp& op, size_t n) {
  HashInLanes<16, U64x8, 2, /*kShuffle=*/false>(init, op, n);
}
#endif

}  // namespace

template <typename BatchOp>
void SynCookies::Run(const BatchOp& op, size_t n) const {
  Run(initial_, op, n);
}

template <typename BatchOp>
void SynCookies::Run(const siphash_internal::State& init, const BatchOp& op,
                     size_t n) const {
  switch (impl_) {
    case SynCookieImpl::kAvx512:
#if defined(__x86_64__)
      HashAvx512(init, op, n);
      return;
#endif
    case SynCookieImpl::kAvx2:
#if defined(__x86_64__)
      HashAvx2(init, op, n);
      return;
#endif
    case SynCookieImpl::kAuto:
    case SynCookieImpl::kScalar:
      HashScalar(init, op, n);
      return;
  }
}

// An IPv6 message starts with the local address (two words). When every
// key of a batch has the same one (a server's SYNs to its address), the
// SipHash state after those two words is the same for all of them: it is
// computed once (*mid) and the lanes hash the other four words from there.
// The hashes are exactly those of the whole 45-byte message (the state
// after a prefix, as HMAC's precomputed inner state), so the whole tuple
// stays in every MAC; a batch with several local addresses hashes all six
// words.
bool SynCookies::SharedLocal6(const flow::FlowKey6* keys, size_t n,
                              siphash_internal::State* mid) const {
  uint64_t first[2];
  std::memcpy(first, keys[0].local_ip.bytes.data(), 16);
  uint64_t differ = 0;
  for (size_t i = 1; i < n; ++i) {
    uint64_t l[2];
    std::memcpy(l, keys[i].local_ip.bytes.data(), 16);
    differ |= (l[0] ^ first[0]) | (l[1] ^ first[1]);
  }
  if (differ != 0) return false;
  uint64_t w[4];
  AddressWords6(keys[0], w);
  *mid = initial_;
  mid->Compress(w[0]);
  mid->Compress(w[1]);
  return true;
}

template <typename Key>
struct SynCookies::MakeOp {
  const Key* keys;
  const wire::SeqNum* peer_seqs;
  const uint16_t* peer_mss;
  uint32_t counter;
  wire::SeqNum* out;
  uint32_t* aux;
  void Done(size_t i, uint64_t h, uint64_t last) const {
    out[i] = wire::SeqNum(
        Assemble(static_cast<uint32_t>(h), counter, LastIndex(last)));
    if (aux != nullptr) aux[i] = static_cast<uint32_t>(h >> 32);
  }
};

void SynCookies::MakeBatch(const flow::FlowKey* keys,
                           const wire::SeqNum* peer_seqs,
                           const uint16_t* peer_mss, size_t n, uint32_t counter,
                           wire::SeqNum* out, uint32_t* aux) const {
  struct Op : MakeOp<flow::FlowKey> {
    enum : size_t { kWords = 3 };
    void Build(size_t i, uint64_t* w) const {
      w[0] = Word0(keys[i]);
      w[1] = Word1(keys[i], peer_seqs[i]);
      w[2] = LastWord(counter, MssIndex(peer_mss[i]));
    }
  };
  Run(Op{{keys, peer_seqs, peer_mss, counter, out, aux}}, n);
}

void SynCookies::MakeBatch(const flow::FlowKey6* keys,
                           const wire::SeqNum* peer_seqs,
                           const uint16_t* peer_mss, size_t n, uint32_t counter,
                           wire::SeqNum* out, uint32_t* aux) const {
  struct Op : MakeOp<flow::FlowKey6> {
    enum : size_t { kWords = 6 };
    void Build(size_t i, uint64_t* w) const {
      AddressWords6(keys[i], w);
      w[4] = PortsWord(keys[i].local_port, keys[i].remote_port, peer_seqs[i]);
      w[5] = LastWord6(counter, MssIndex6(peer_mss[i]));
    }
  };
  // From the state after the shared local address: the other four words.
  struct TailOp : Op {
    enum : size_t { kWords = 4 };
    void Build(size_t i, uint64_t* w) const {
      uint64_t all[Op::kWords];
      Op::Build(i, all);
      std::memcpy(w, all + 2, kWords * sizeof(uint64_t));
    }
  };
  const Op op{{keys, peer_seqs, peer_mss, counter, out, aux}};
  siphash_internal::State mid = initial_;
  if (n > 1 && SharedLocal6(keys, n, &mid)) {
    Run(mid, TailOp{op}, n);
    return;
  }
  Run(op, n);
}

// A job's MSS index and time slot: a Make's from the SYN's MSS and the
// current slot, a Check's from the cookie's low bits and its parity.
#define SYNWAVE_COOKIE_JOB_SLOT(table_index)                                 \
  const Job& j = jobs[i];                                                     \
  const unsigned index =                                                      \
      j.op == Op::kMake ? table_index(static_cast<uint16_t>(j.arg))           \
                        : (j.arg & kIndexMask);                               \
  const uint32_t counter =                                                    \
      j.op == Op::kMake ? counter_now : CheckCounter(counter_now, j.arg)
// A job's result from its hash: the cookie, or the MSS a valid one carries.
#define SYNWAVE_COOKIE_JOB_DONE(mss_table)                                   \
  const Job& j = jobs[i];                                                     \
  const unsigned index = LastIndex(last);                                     \
  const auto mac = static_cast<uint32_t>(h);                                  \
  value[i] = j.op == Op::kMake ? Assemble(mac, static_cast<uint32_t>(last),   \
                                          index)                              \
             : ((mac ^ j.arg) & kMacMask) == 0 ? mss_table[index]             \
                                               : 0;                           \
  aux[i] = static_cast<uint32_t>(h >> 32)

void SynCookies::Batch(const flow::FlowKey* keys, const Job* jobs, size_t n,
                       uint32_t counter_now, uint32_t* value,
                       uint32_t* aux) const {
  struct BatchOp {
    enum : size_t { kWords = 3 };
    const flow::FlowKey* keys;
    const Job* jobs;
    uint32_t counter_now;
    uint32_t* value;
    uint32_t* aux;
    void Build(size_t i, uint64_t* w) const {
      SYNWAVE_COOKIE_JOB_SLOT(MssIndex);
      w[0] = Word0(keys[i]);
      w[1] = Word1(keys[i], j.peer_seq);
      w[2] = LastWord(counter, index);
    }
    void Done(size_t i, uint64_t h, uint64_t last) const {
      SYNWAVE_COOKIE_JOB_DONE(kCookieMssTable);
    }
  };
  Run(BatchOp{keys, jobs, counter_now, value, aux}, n);
}

void SynCookies::Batch(const flow::FlowKey6* keys, const Job* jobs, size_t n,
                       uint32_t counter_now, uint32_t* value,
                       uint32_t* aux) const {
  struct BatchOp {
    enum : size_t { kWords = 6 };
    const flow::FlowKey6* keys;
    const Job* jobs;
    uint32_t counter_now;
    uint32_t* value;
    uint32_t* aux;
    void Build(size_t i, uint64_t* w) const {
      SYNWAVE_COOKIE_JOB_SLOT(MssIndex6);
      AddressWords6(keys[i], w);
      w[4] = PortsWord(keys[i].local_port, keys[i].remote_port, j.peer_seq);
      w[5] = LastWord6(counter, index);
    }
    void Done(size_t i, uint64_t h, uint64_t last) const {
      SYNWAVE_COOKIE_JOB_DONE(kCookieMssTable6);
    }
  };
  // As MakeBatch's: from the state after the shared local address.
  struct TailOp : BatchOp {
    enum : size_t { kWords = 4 };
    void Build(size_t i, uint64_t* w) const {
      uint64_t all[BatchOp::kWords];
      BatchOp::Build(i, all);
      std::memcpy(w, all + 2, kWords * sizeof(uint64_t));
    }
  };
  const BatchOp op{keys, jobs, counter_now, value, aux};
  siphash_internal::State mid = initial_;
  if (n > 1 && SharedLocal6(keys, n, &mid)) {
    Run(mid, TailOp{op}, n);
    return;
  }
  Run(op, n);
}
#undef SYNWAVE_COOKIE_JOB_SLOT
#undef SYNWAVE_COOKIE_JOB_DONE

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
