// Initial sequence numbers per RFC 6528: ISN = M + F(4-tuple, secret), with
// M a clock ticking every 4 microseconds and F a keyed hash (SipHash-2-4).
//
// F makes the ISN unpredictable to anyone who does not know the secret, and
// M makes successive ISNs for the same 4-tuple increase over time, so a new
// incarnation's sequence space starts above the old one's (docs/conformance.md
// item 5). The same keyed hash gives each connection its timestamp offset
// (RFC 7323 5.4: TSval should not reveal the host's uptime).
#ifndef SYNWAVE_TCP_ISN_H_
#define SYNWAVE_TCP_ISN_H_

#include <bit>
#include <cstdint>
#include <cstring>

#include "flow/flow_key.h"
#include "tcp/siphash.h"
#include "wire/seq_num.h"

namespace synwave::tcp {

class IsnGenerator {
 public:
  explicit IsnGenerator(const SipKey& secret) : secret_(secret) {
    const uint64_t any[2] = {0, 0};  // the IPv6 cache starts at ::
    NewLocal6(any);
  }

  // RFC 6528 ISN for `key` at time `now_ns`.
  wire::SeqNum Isn(const flow::FlowKey& key, uint64_t now_ns) const {
    return wire::SeqNum(static_cast<uint32_t>(now_ns / 4000) +
                        static_cast<uint32_t>(Hash(key)));
  }

  // Offset added to our millisecond clock in this connection's TSval.
  uint32_t TimestampOffset(const flow::FlowKey& key) const {
    return static_cast<uint32_t>(Hash(key) >> 32);
  }

  // Both from one hash: Isn(key, now) and TimestampOffset(key).
  wire::SeqNum IsnAndOffset(const flow::FlowKey& key, uint64_t now_ns,
                            uint32_t* offset) const {
    const uint64_t h = Hash(key);
    *offset = static_cast<uint32_t>(h >> 32);
    return wire::SeqNum(static_cast<uint32_t>(now_ns / 4000) +
                        static_cast<uint32_t>(h));
  }

  // The same over an IPv6 4-tuple: SipHash-2-4 of its 36 bytes (the two
  // addresses as on the wire, then the ports as in the IPv4 message), a
  // message of another length than any IPv4 one, so no input is shared.
  wire::SeqNum Isn(const flow::FlowKey6& key, uint64_t now_ns) const {
    return wire::SeqNum(static_cast<uint32_t>(now_ns / 4000) +
                        static_cast<uint32_t>(Hash(key)));
  }
  uint32_t TimestampOffset(const flow::FlowKey6& key) const {
    return static_cast<uint32_t>(Hash(key) >> 32);
  }
  wire::SeqNum IsnAndOffset(const flow::FlowKey6& key, uint64_t now_ns,
                            uint32_t* offset) const {
    const uint64_t h = Hash(key);
    *offset = static_cast<uint32_t>(h >> 32);
    return wire::SeqNum(static_cast<uint32_t>(now_ns / 4000) +
                        static_cast<uint32_t>(h));
  }

 private:
  uint64_t Hash(const flow::FlowKey& key) const {
    const uint64_t m0 = (uint64_t{key.local_ip} << 32) | key.remote_ip;
    const uint64_t m1 = (uint64_t{key.local_port} << 16) | key.remote_port;
    return SipHash24Words(secret_, m0, m1);
  }

  uint64_t Hash(const flow::FlowKey6& key) const {
    uint64_t w[4];
    std::memcpy(w, key.local_ip.bytes.data(), 16);
    std::memcpy(w + 2, key.remote_ip.bytes.data(), 16);
    // The state after the local address (the message's first two words):
    // one of our few addresses, so it is kept for the last one seen and
    // the hash goes on from there. The same value as hashing from the
    // start (SipHash's state after a prefix), two compressions fewer.
    if (((w[0] ^ local6_[0]) | (w[1] ^ local6_[1])) != 0) [[unlikely]] {
      NewLocal6(w);
    }
    siphash_internal::State s = after_local6_;
    if constexpr (std::endian::native == std::endian::big) {
      w[2] = __builtin_bswap64(w[2]);  // SipHash reads LE
      w[3] = __builtin_bswap64(w[3]);
    }
    s.Compress(w[2]);
    s.Compress(w[3]);
    // Length 36 in the top byte, the 4 tail bytes (ports) below it.
    s.Compress((uint64_t{36} << 56) |
               ((uint64_t{key.local_port} << 16) | key.remote_port));
    return s.Finish();
  }

  [[gnu::noinline]] void NewLocal6(const uint64_t* w) const {
    siphash_internal::State s(secret_);
    for (int i = 0; i < 2; ++i) {
      uint64_t x = w[i];
      if constexpr (std::endian::native == std::endian::big) {
        x = __builtin_bswap64(x);
      }
      s.Compress(x);
    }
    after_local6_ = s;
    local6_[0] = w[0];
    local6_[1] = w[1];
  }

  SipKey secret_;
  // IPv6: the last local address hashed (native-order words) and the
  // SipHash state after it. A cache, so mutable: an IsnGenerator belongs
  // to one core's stack and is not shared between threads.
  mutable uint64_t local6_[2] = {};
  mutable siphash_internal::State after_local6_{SipKey{}};
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_ISN_H_
