// SYN cookies (RFC 4987 3.6): when the SYN queue is full, the listener
// answers a SYN with a SYN-ACK whose ISN is a keyed hash of the connection,
// keeps nothing, and rebuilds the half-open state from the ACK that
// completes the handshake (docs/conformance.md items 30-33). Everything here is a
// pure function of its arguments and the secret: the stack reads the clock,
// chooses when to send cookies and builds the segments.
//
// Cookie layout (the 32-bit ISN of the cookie SYN-ACK, bit 31 first):
//
//   | 31 ............................ 3 |    2    |  1  0  |
//   |   MAC: 29 bits of SipHash-2-4     | counter | MSS    |
//   |                                   | parity  | index  |
//
//   MAC = bits 31..3 of the low word of SipHash-2-4(secret, msg), where msg is
//   21 bytes, little-endian: local_ip, remote_ip as one 64-bit word
//   (local_ip high), then local_port, remote_port, the client's ISN as one
//   word (local_port highest, ISN low 32 bits), then the 32-bit time counter
//   and the MSS index byte. The whole 4-tuple, the client's ISN (SEG.SEQ of
//   the SYN), the time slot and the MSS index are authenticated, so changing
//   any of them, or any bit of the cookie, invalidates it.
//
//   The time counter is not sent: only its parity is. A cookie is valid in
//   the slot it was made in and the next one, so Check picks the one
//   candidate slot with that parity (counter_now or counter_now - 1) and
//   computes one hash. A cookie from two slots ago, or from a slot in the
//   future, is checked against the wrong slot and fails the MAC. Counter
//   arithmetic is modulo 2^32, so this holds across the wrap.
//
// Forgery: an attacker who does not know the secret sends ACKs for a given
// 4-tuple and SEG.SEQ with random SEG.ACK. Bits 2..0 of SEG.ACK - 1 pick a
// slot and an MSS index, every value of them being valid; bits 31..3 must
// then equal the 29 MAC bits for that input, which the attacker cannot
// predict. So each ACK is accepted with probability exactly 2^-29 =
// 1.86e-9, SipHash taken as a PRF: about 0.0019 expected acceptances in a
// million ACKs, one per 537 million on average. No choice of SEG.ACK does
// better than another. (Linux's layout, an 8-bit counter of which 2 values
// pass and 24 bits of which 4 values pass, gives 2/2^8 * 4/2^24 = 2^-29 as
// well.)
//
// Timestamps (RFC 7323): a cookie cannot hold the client's window scale and
// SACK-permitted options, so when the SYN carried timestamps they travel in
// the low kCookieTsBits bits of our TSval and come back in the ACK's TSecr
// (EncodeCookieTsval / DecodeCookieTsecr). Without timestamps the connection
// has no window scaling and no SACK, as with Linux's cookies.
//
// The secret may be the one IsnGenerator uses: its messages are 16 bytes and
// these 21, and SipHash hashes the length in, so no input is shared.
#ifndef SYNWAVE_TCP_SYNCOOKIE_H_
#define SYNWAVE_TCP_SYNCOOKIE_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "flow/flow_key.h"
#include "tcp/siphash.h"
#include "wire/seq_num.h"

namespace synwave::tcp {

struct SynCookieParams {
  // A time slot lasts 2^counter_period_log2_ns ns: 2^36 ns = 68.7 s by
  // default, so a cookie is accepted for between 68.7 s and 137.4 s after
  // the SYN-ACK (its own slot and the next). Tests use short periods.
  uint32_t counter_period_log2_ns = 36;
};

// The MSS values a cookie can carry, indexed by bits 1..0 of the cookie.
// The client's MSS is rounded down to the nearest entry, so the endpoint
// never sends more than the client accepts (for an MSS of 536 and up). Chosen
// after the MSS survey by Alcock and Nelson ("An analysis of TCP maximum
// segment sizes", 2011), as Linux does:
//   536   RFC 9293 3.7.1 default when the SYN has no MSS option
//   1300  paths through VPNs and tunnels that clamp the MSS well below 1460
//   1440  PPPoE and other encapsulations (1492-byte MTU and the like)
//   1460  plain Ethernet, 1500-byte MTU, by far the most common value
// An MSS below 536 also maps to 536: an IPv4 host must accept 576-byte
// datagrams, and a tiny MSS from a SYN is more often an attempt to make us
// cut data into tiny segments than a real path limit.
inline constexpr uint16_t kCookieMssTable[4] = {536, 1300, 1440, 1460};

// The same for IPv6, Linux's table: the usual IPv6 MTUs less 60 bytes of
// IPv6 and TCP headers.
//   1220  1280, the IPv6 minimum MTU (RFC 8200 5): every path carries it,
//         and RFC 9293 3.7.1's default when the SYN has no MSS option
//   1420  1480: IPv6 over IPv4 tunnels (6in4, 6rd) and the like
//   1440  1500: plain Ethernet
//   8940  9000: jumbo frames
// An MSS below 1220 also maps to 1220, for the reason 536 does for IPv4.
inline constexpr uint16_t kCookieMssTable6[4] = {1220, 1420, 1440, 8940};

// How MakeBatch hashes a burst. All give the same cookies; kAuto (and any
// choice the CPU cannot run) resolves, when the SynCookies is built, to the
// fastest the CPU has: AVX-512F (16 cookies per step, 3x scalar), else AVX2
// (8 per step, 1.6x), else scalar. Tests and benchmarks name one to compare
// them. On Skylake-SP and Cascade Lake, 512-bit instructions can lower the
// core's clock for a while after use; there, pass kAvx2 if a benchmark of
// the whole worker shows a loss.
enum class SynCookieImpl : uint8_t { kAuto, kScalar, kAvx2, kAvx512 };

std::string_view SynCookieImplName(SynCookieImpl impl);

class SynCookies {
 public:
  explicit SynCookies(const SipKey& secret,
                      SynCookieImpl impl = SynCookieImpl::kAuto)
      : initial_(secret), impl_(Resolve(impl)) {}

  // The MakeBatch path in use (never kAuto).
  SynCookieImpl impl() const { return impl_; }

  // The time slot of `now_ns`: now_ns >> counter_period_log2_ns, modulo 2^32.
  static uint32_t Counter(uint64_t now_ns, const SynCookieParams& params = {}) {
    return static_cast<uint32_t>(now_ns >> params.counter_period_log2_ns);
  }

  // Cookie ISN for a SYN on `key` (local = us) whose SEG.SEQ is `peer_seq`
  // and whose MSS option is `peer_mss` (0: none, taken as 536), sent in
  // slot `counter`.
  wire::SeqNum Make(const flow::FlowKey& key, wire::SeqNum peer_seq,
                    uint16_t peer_mss, uint32_t counter) const {
    uint32_t aux;
    return Make(key, peer_seq, peer_mss, counter, &aux);
  }
  // The same, also giving 32 more secret bits of the same hash (its high
  // word, which the cookie does not carry): Check gives the same bits back
  // for a valid cookie, so a connection can take per-connection secrets
  // from them (our TSval offset) without hashing the tuple again.
  wire::SeqNum Make(const flow::FlowKey& key, wire::SeqNum peer_seq,
                    uint16_t peer_mss, uint32_t counter, uint32_t* aux) const {
    const unsigned index = MssIndex(peer_mss);
    const uint64_t h = Hash(key, peer_seq, counter, index);
    *aux = static_cast<uint32_t>(h >> 32);
    return wire::SeqNum(Assemble(static_cast<uint32_t>(h), counter, index));
  }

  // Make for a burst of n SYNs in the same slot: out[i] equals
  // Make(keys[i], peer_seqs[i], peer_mss[i], counter). Where the CPU has
  // AVX2 or AVX-512, hashes 8 or 16 SYNs in lockstep, one per vector lane.
  // `aux`, when not null, gets each cookie's aux bits (see Make).
  void MakeBatch(const flow::FlowKey* keys, const wire::SeqNum* peer_seqs,
                 const uint16_t* peer_mss, size_t n, uint32_t counter,
                 wire::SeqNum* out, uint32_t* aux = nullptr) const;

  // The same over IPv6 4-tuples: out[i] equals Make(keys[i], ...) of the
  // FlowKey6 overload, in the same lanes as MakeBatch.
  void MakeBatch(const flow::FlowKey6* keys, const wire::SeqNum* peer_seqs,
                 const uint16_t* peer_mss, size_t n, uint32_t counter,
                 wire::SeqNum* out, uint32_t* aux = nullptr) const;

  // A burst's cookie work at once, SYNs to answer and ACKs to check mixed
  // in one set of vector lanes (both hash a message of the same layout):
  // for a kMake job, value = Make(key, peer_seq, arg, counter_now, &aux)
  // (arg: the SYN's MSS option, 0 for none); for a kCheck job, value =
  // Check(key, peer_seq, SeqNum(arg), counter_now, &aux) (peer_seq: SEG.SEQ
  // - 1, arg: SEG.ACK - 1; value 0: invalid, aux then meaningless).
  enum class Op : uint8_t { kMake, kCheck };
  struct Job {
    wire::SeqNum peer_seq;
    uint32_t arg = 0;
    Op op = Op::kMake;
  };
  void Batch(const flow::FlowKey* keys, const Job* jobs, size_t n,
             uint32_t counter_now, uint32_t* value, uint32_t* aux) const;
  void Batch(const flow::FlowKey6* keys, const Job* jobs, size_t n,
             uint32_t counter_now, uint32_t* value, uint32_t* aux) const;

  // Validates the ACK that completes a cookie handshake: `peer_seq` is
  // SEG.SEQ - 1 (the client's ISN), `cookie` is SEG.ACK - 1 (our ISN).
  // Returns the MSS the cookie carries, or 0 when the cookie is invalid or
  // older than one slot (or made in a later slot than counter_now).
  uint16_t Check(const flow::FlowKey& key, wire::SeqNum peer_seq,
                 wire::SeqNum cookie, uint32_t counter_now) const {
    uint32_t aux;
    return Check(key, peer_seq, cookie, counter_now, &aux);
  }
  // The same, giving the valid cookie's `aux` bits (see Make).
  uint16_t Check(const flow::FlowKey& key, wire::SeqNum peer_seq,
                 wire::SeqNum cookie, uint32_t counter_now, uint32_t* aux) const {
    const uint32_t c = cookie.value();
    const unsigned index = c & kIndexMask;
    // The one slot in {counter_now, counter_now - 1} with the cookie's parity.
    const uint32_t counter = CheckCounter(counter_now, c);
    const uint64_t h = Hash(key, peer_seq, counter, index);
    *aux = static_cast<uint32_t>(h >> 32);
    return ((static_cast<uint32_t>(h) ^ c) & kMacMask) == 0 ? kCookieMssTable[index] : 0;
  }

  // The same over an IPv6 4-tuple, with kCookieMssTable6. The MAC is over
  // a 45-byte message: the two addresses as on the wire (four words, local
  // first), then the IPv4 message's last 13 bytes (ports and client ISN,
  // counter, MSS index). Its length differs from every other message under
  // the secret (IPv4 cookies 21, ISNs 16 and 36).
  wire::SeqNum Make(const flow::FlowKey6& key, wire::SeqNum peer_seq,
                    uint16_t peer_mss, uint32_t counter, uint32_t* aux) const {
    const unsigned index = MssIndex6(peer_mss);
    const uint64_t h = Hash6(key, peer_seq, counter, index);
    *aux = static_cast<uint32_t>(h >> 32);
    return wire::SeqNum(Assemble(static_cast<uint32_t>(h), counter, index));
  }
  wire::SeqNum Make(const flow::FlowKey6& key, wire::SeqNum peer_seq,
                    uint16_t peer_mss, uint32_t counter) const {
    uint32_t aux;
    return Make(key, peer_seq, peer_mss, counter, &aux);
  }
  uint16_t Check(const flow::FlowKey6& key, wire::SeqNum peer_seq,
                 wire::SeqNum cookie, uint32_t counter_now,
                 uint32_t* aux) const {
    const uint32_t c = cookie.value();
    const unsigned index = c & kIndexMask;
    const uint32_t counter = CheckCounter(counter_now, c);
    const uint64_t h = Hash6(key, peer_seq, counter, index);
    *aux = static_cast<uint32_t>(h >> 32);
    return ((static_cast<uint32_t>(h) ^ c) & kMacMask) == 0
               ? kCookieMssTable6[index]
               : 0;
  }
  uint16_t Check(const flow::FlowKey6& key, wire::SeqNum peer_seq,
                 wire::SeqNum cookie, uint32_t counter_now) const {
    uint32_t aux;
    return Check(key, peer_seq, cookie, counter_now, &aux);
  }
  uint32_t Mac(const flow::FlowKey6& key, wire::SeqNum peer_seq,
               uint32_t counter, unsigned mss_index) const {
    return static_cast<uint32_t>(Hash6(key, peer_seq, counter, mss_index));
  }

  static uint16_t MssForIndex(unsigned i) {
    return kCookieMssTable[i & kIndexMask];
  }
  static uint16_t MssForIndex6(unsigned i) {
    return kCookieMssTable6[i & kIndexMask];
  }

  // Index of the largest table entry <= peer_mss (0 for no option or for an
  // MSS below 536).
  static unsigned MssIndex(uint16_t peer_mss) {
    unsigned i = 3;
    while (i > 0 && kCookieMssTable[i] > peer_mss) --i;
    return i;
  }
  static unsigned MssIndex6(uint16_t peer_mss) {
    unsigned i = 3;
    while (i > 0 && kCookieMssTable6[i] > peer_mss) --i;
    return i;
  }

  // The MAC word for these inputs (only bits 31..3 are used); exposed so that
  // tests can check the layout against the reference SipHash24.
  uint32_t Mac(const flow::FlowKey& key, wire::SeqNum peer_seq,
               uint32_t counter, unsigned mss_index) const {
    return static_cast<uint32_t>(Hash(key, peer_seq, counter, mss_index));
  }

 private:
  static constexpr uint32_t kIndexMask = 3;
  static constexpr uint32_t kMacMask = ~uint32_t{7};
  static constexpr uint64_t kMessageBytes = 21;

  static uint64_t Word0(const flow::FlowKey& key) {
    return (uint64_t{key.local_ip} << 32) | key.remote_ip;
  }
  static uint64_t Word1(const flow::FlowKey& key, wire::SeqNum peer_seq) {
    return PortsWord(key.local_port, key.remote_port, peer_seq);
  }
  // SipHash's final block: the message length in the top byte and the 5 tail
  // bytes (counter, MSS index) below it.
  static uint64_t LastWord(uint32_t counter, unsigned mss_index) {
    return (kMessageBytes << 56) | (uint64_t{mss_index} << 32) | counter;
  }
  // The MSS index in a message's last word (LastWord, LastWord6).
  static unsigned LastIndex(uint64_t last) {
    return static_cast<unsigned>(last >> 32) & kIndexMask;
  }
  static uint32_t Assemble(uint32_t mac, uint32_t counter, unsigned index) {
    return (mac & kMacMask) | ((counter & 1) << 2) | index;
  }

  static SynCookieImpl Resolve(SynCookieImpl wanted);

  // Runs a batch (syncookie.cc): `op` builds each item's message words and
  // takes its hash; the hashes are computed in the lanes impl_ names.
  template <typename BatchOp>
  void Run(const BatchOp& op, size_t n) const;
  // The same from the state `init` (a message's prefix already hashed).
  template <typename BatchOp>
  void Run(const siphash_internal::State& init, const BatchOp& op,
           size_t n) const;
  // True when the n keys (n >= 1) share their local address; *mid is then
  // the state after it (syncookie.cc).
  bool SharedLocal6(const flow::FlowKey6* keys, size_t n,
                    siphash_internal::State* mid) const;
  // A MakeBatch's inputs and its result, either family (syncookie.cc).
  template <typename Key>
  struct MakeOp;

  // The message words shared by both families after the addresses: the
  // ports and the client's ISN, then the length byte over the counter and
  // the MSS index.
  static uint64_t PortsWord(uint16_t local_port, uint16_t remote_port,
                            wire::SeqNum peer_seq) {
    return (uint64_t{local_port} << 48) | (uint64_t{remote_port} << 32) |
           peer_seq.value();
  }
  // The two addresses of an IPv6 tuple as SipHash's little-endian words.
  static void AddressWords6(const flow::FlowKey6& key, uint64_t* w) {
    std::memcpy(w, key.local_ip.bytes.data(), 16);
    std::memcpy(w + 2, key.remote_ip.bytes.data(), 16);
    if constexpr (std::endian::native == std::endian::big) {
      for (int i = 0; i < 4; ++i) w[i] = __builtin_bswap64(w[i]);
    }
  }
  // The slot Check takes for a cookie: of {counter_now, counter_now - 1},
  // the one with the cookie's parity.
  static uint32_t CheckCounter(uint32_t counter_now, uint32_t cookie) {
    return counter_now - ((counter_now ^ (cookie >> 2)) & 1);
  }

  uint64_t Hash(const flow::FlowKey& key, wire::SeqNum peer_seq,
                uint32_t counter, unsigned mss_index) const {
    siphash_internal::State s = initial_;
    s.Compress(Word0(key));
    s.Compress(Word1(key, peer_seq));
    s.Compress(LastWord(counter, mss_index));
    return s.Finish();
  }

  static constexpr uint64_t kMessageBytes6 = 45;

  uint64_t Hash6(const flow::FlowKey6& key, wire::SeqNum peer_seq,
                 uint32_t counter, unsigned mss_index) const {
    siphash_internal::State s = initial_;
    uint64_t w[4];
    AddressWords6(key, w);
    for (uint64_t x : w) s.Compress(x);
    s.Compress(PortsWord(key.local_port, key.remote_port, peer_seq));
    s.Compress(LastWord6(counter, mss_index));
    return s.Finish();
  }
  static uint64_t LastWord6(uint32_t counter, unsigned mss_index) {
    return (kMessageBytes6 << 56) | (uint64_t{mss_index} << 32) | counter;
  }

  // SipHash's state after keying, copied for each cookie.
  siphash_internal::State initial_;
  SynCookieImpl impl_;
};

// Window scale and SACK-permitted in the low bits of a cookie SYN-ACK's
// TSval (used only when the SYN carried timestamps):
//
//   | 31 ........ 6 |   5    |  4   | 3 2 1 0 |
//   |  our clock    | marker | SACK | wscale  |
//
//   wscale: the client's shift 0-14, or 15 for no window scale option.
//   SACK:   the SYN carried SACK-permitted.
//   marker: always 1, so a TSecr that does not echo a cookie TSval (0 from a
//           broken client, say) is caught half the time and 0 always.
//
// Overwriting the low bits moves TSval by less than 2^6 clock ticks; when it
// would move it ahead of our clock, one 2^6 step is taken off, so TSval is
// never later than ts_now (the peer's PAWS and RTT samples see a clock that
// lags by at most 63 ticks, never one that runs ahead).
inline constexpr unsigned kCookieTsBits = 6;
inline constexpr uint32_t kCookieTsMask = (uint32_t{1} << kCookieTsBits) - 1;
// The "no window scale option" value, as in HalfOpen::peer_wscale.
inline constexpr uint8_t kCookieNoWscale = 0xff;

// Our TSval for a cookie SYN-ACK at clock `ts_now` (the connection's TSval
// clock, offset included) for a SYN with window scale `wscale_or_none`
// (a shift above 14 is taken as 14, RFC 7323 2.3) and SACK-permitted
// `sack_ok`.
uint32_t EncodeCookieTsval(uint32_t ts_now, uint8_t wscale_or_none,
                           bool sack_ok);

// Reads the options back from the completing ACK's TSecr. Returns false (and
// leaves the outputs alone) when the bits cannot come from
// EncodeCookieTsval: the marker bit is clear.
bool DecodeCookieTsecr(uint32_t tsecr, uint8_t* wscale_or_none, bool* sack_ok);

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_SYNCOOKIE_H_
