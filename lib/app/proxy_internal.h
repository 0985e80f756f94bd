// ProxyCore's internals shared by its IPv4 and IPv6 files (proxy_edge.cc,
// proxy_flow.cc, proxy_flow6.cc): coarse time, the incremental checksum
// adjustment, the option rewriting, and the FIN/RST following of a
// forwarded segment, which are the same for both families. Inline: they
// are on the forwarding paths.
#ifndef SYNWAVE_APP_PROXY_INTERNAL_H_
#define SYNWAVE_APP_PROXY_INTERNAL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "app/proxy_core.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::app::proxy_internal {

namespace tf = wire::tcp_flags;

// Coarse time for records: now_ns >> 20, about 1.05 ms.
inline uint32_t Ms(uint64_t ns) { return static_cast<uint32_t>(ns >> 20); }
inline uint32_t MsSpan(uint64_t ns) {
  return static_cast<uint32_t>(std::min<uint64_t>(ns >> 20, 0xffffffffu));
}

// Two IPv6 addresses equal, as two 64-bit words (std::array's == calls
// memcmp; this is on every IPv6 frame's path, a few times).
inline bool Same6(const wire::Ipv6Address& a, const wire::Ipv6Address& b) {
  uint64_t x[2], y[2];
  std::memcpy(x, a.bytes.data(), 16);
  std::memcpy(y, b.bytes.data(), 16);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

// SplitMix64's finalizer: backend weights, rendezvous scores, owners.
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// A running ones'-complement adjustment of the TCP checksum: the sum of
// the new values minus the old ones, applied once (RFC 1624 eqn. 3).
struct CsumDelta {
  uint32_t sum = 0;

  // A 16-bit word at an even offset.
  void Change16(uint16_t from, uint16_t to) {
    sum += static_cast<uint16_t>(~from);
    sum += to;
  }
  // A 32-bit field at an even offset from the header start.
  void Change32(uint32_t from, uint32_t to) {
    Change16(static_cast<uint16_t>(from >> 16), static_cast<uint16_t>(to >> 16));
    Change16(static_cast<uint16_t>(from), static_cast<uint16_t>(to));
  }
  // A 32-bit field at an odd offset: its bytes fall into three words,
  // [x b0] [b1 b2] [b3 y].
  static uint16_t OddSum(uint32_t v) {
    return wire::FoldSum(uint64_t{v >> 24} + ((v >> 8) & 0xffff) +
                         ((v & 0xff) << 8));
  }
  void Change32At(size_t offset, uint32_t from, uint32_t to) {
    if ((offset & 1) == 0) {
      Change32(from, to);
    } else {
      Change16(OddSum(from), OddSum(to));
    }
  }
  uint16_t Apply(uint16_t checksum) const {
    return static_cast<uint16_t>(
        ~wire::FoldSum(uint64_t{static_cast<uint16_t>(~checksum)} + sum));
  }
};

// Big-endian 32-bit fields at any alignment (one load and a bswap).
inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline void Store32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

// Adds `add` (mod 2^32) to the 32-bit field at tcp + off.
inline void Shift32(uint8_t* tcp, size_t off, uint32_t add, CsumDelta* d) {
  const uint32_t from = Load32(tcp + off);
  const uint32_t to = from + add;
  Store32(tcp + off, to);
  d->Change32At(off, from, to);
}

// Rewrites the timestamps (TSval += tsval_add, TSecr += tsecr_add) and the
// SACK block edges (+= sack_add) of a TCP header of `hlen` bytes. The
// common layout (NOP, NOP, timestamps) is taken without a walk.
inline void RewriteOptions(uint8_t* tcp, size_t hlen, uint32_t tsval_add,
                    uint32_t tsecr_add, uint32_t sack_add, CsumDelta* d) {
  constexpr size_t kOpt = wire::kTcpMinHeaderLength;
  if (hlen == kOpt + 12 && tcp[kOpt] == 1 && tcp[kOpt + 1] == 1 &&
      tcp[kOpt + 2] == wire::tcp_option_kind::kTimestamps &&
      tcp[kOpt + 3] == 10) {
    if (tsval_add != 0) Shift32(tcp, kOpt + 4, tsval_add, d);
    if (tsecr_add != 0) Shift32(tcp, kOpt + 8, tsecr_add, d);
    return;
  }
  size_t i = kOpt;
  while (i < hlen) {
    const uint8_t kind = tcp[i];
    if (kind == wire::tcp_option_kind::kEol) break;
    if (kind == wire::tcp_option_kind::kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= hlen) break;
    const uint8_t len = tcp[i + 1];
    if (len < 2 || i + len > hlen) break;  // the parser already refused it
    if (kind == wire::tcp_option_kind::kTimestamps && len == 10) {
      if (tsval_add != 0) Shift32(tcp, i + 2, tsval_add, d);
      if (tsecr_add != 0) Shift32(tcp, i + 6, tsecr_add, d);
    } else if (kind == wire::tcp_option_kind::kSack && sack_add != 0) {
      for (size_t e = i + 2; e + 4 <= i + len; e += 4) {
        Shift32(tcp, e, sack_add, d);
      }
    }
    i += len;
  }
}

// The TCP half of forwarding a client segment to the backend (both
// families): the backend's port, the ACK and SACK edges into the
// backend's space, TSecr into its clock, the checksum adjusted by `d`
// (which holds the address change already).
inline void TranslateToBackend(const ProxyRecord& r, uint16_t bport,
                               uint8_t* tcp, const wire::PacketInfo& info,
                               CsumDelta* d) {
  auto* th = reinterpret_cast<wire::TcpHeader*>(tcp);
  if (bport != r.vport) {
    th->dst_port.set(bport);
    d->Change16(r.vport, bport);
  }
  if (info.tcp_flags & tf::kAck) {
    const uint32_t ack = info.ack.value() - r.seq_delta;
    th->ack.set(ack);
    d->Change32(info.ack.value(), ack);
  }
  const size_t hlen = th->HeaderLength();
  if (hlen > wire::kTcpMinHeaderLength) {
    RewriteOptions(tcp, hlen, 0, r.ts_off, 0u - r.seq_delta, d);
  }
  th->checksum.set(d->Apply(th->checksum.get()));
}

// The TCP half of forwarding a backend segment to the client: the VIP
// port, SEQ into our space, the window rescaled when the scales differ,
// TSval into our clock. Returns the translated SEQ.
inline uint32_t TranslateToClient(const ProxyRecord& r, uint8_t* tcp,
                                  const wire::PacketInfo& info,
                                  CsumDelta* d) {
  auto* th = reinterpret_cast<wire::TcpHeader*>(tcp);
  if (info.src_port != r.vport) {
    th->src_port.set(r.vport);
    d->Change16(info.src_port, r.vport);
  }
  const uint32_t seq = info.seq.value() + r.seq_delta;
  th->seq.set(seq);
  d->Change32(info.seq.value(), seq);
  if (r.ws_backend != r.ws_announced) {
    const uint32_t bytes = uint32_t{info.window} << r.ws_backend;
    const auto w = static_cast<uint16_t>(
        std::min<uint32_t>(bytes >> r.ws_announced, 0xffff));
    th->window.set(w);
    d->Change16(info.window, w);
  }
  const size_t hlen = th->HeaderLength();
  if (hlen > wire::kTcpMinHeaderLength) {
    RewriteOptions(tcp, hlen, 0u - r.ts_off, 0, 0, d);
  }
  th->checksum.set(d->Apply(th->checksum.get()));
  return seq;
}

// After a client segment was forwarded to the backend: the client's FIN,
// its ACK of the backend's, a RST; the record's state and activity time.
inline void FollowToBackend(ProxyRecord& r, const wire::PacketInfo& info,
                            uint64_t now_ns) {
  const uint8_t f = info.tcp_flags;
  if (f & tf::kRst) {
    r.state = kRecordLinger;
  } else {
    if (f & tf::kFin) {
      r.flags |= record_flag::kFinClient;
      r.u.fin.fin_client = info.seq.value() + info.payload_length;
    }
    if ((r.flags & record_flag::kFinBackend) && (f & tf::kAck) &&
        info.ack > wire::SeqNum(r.u.fin.fin_backend)) {
      r.flags |= record_flag::kFinBackendAcked;
    }
  }
  if (r.state == kRecordLinger) {
    // The linger runs from the first segment that ended the flow.
  } else if ((r.flags & (record_flag::kFinClientAcked |
                         record_flag::kFinBackendAcked)) ==
             (record_flag::kFinClientAcked | record_flag::kFinBackendAcked)) {
    r.state = kRecordLinger;
    r.last_ms = Ms(now_ns);
  } else {
    r.last_ms = Ms(now_ns);
  }
  if (f & tf::kRst) r.last_ms = Ms(now_ns);
}

// After a backend segment was forwarded to the client (`seq` translated).
inline void FollowToClient(ProxyRecord& r, const wire::PacketInfo& info,
                           uint32_t seq, uint64_t now_ns) {
  const uint8_t f = info.tcp_flags;
  if (f & tf::kRst) {
    r.state = kRecordLinger;
    r.last_ms = Ms(now_ns);
  } else {
    if (f & tf::kFin) {
      r.flags |= record_flag::kFinBackend;
      r.u.fin.fin_backend = seq + info.payload_length;
    }
    if ((r.flags & record_flag::kFinClient) && (f & tf::kAck) &&
        info.ack > wire::SeqNum(r.u.fin.fin_client)) {
      r.flags |= record_flag::kFinClientAcked;
    }
    if (r.state != kRecordLinger) {
      if ((r.flags & (record_flag::kFinClientAcked |
                      record_flag::kFinBackendAcked)) ==
          (record_flag::kFinClientAcked | record_flag::kFinBackendAcked)) {
        r.state = kRecordLinger;
      }
      r.last_ms = Ms(now_ns);
    }
  }
}

}  // namespace synwave::app::proxy_internal

#endif  // SYNWAVE_APP_PROXY_INTERNAL_H_
