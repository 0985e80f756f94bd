// The worker's TCP output: the stack's OutSegments written as frames, each
// straight from its OutSegment (wire/tcp_writer.h, inlined here) into the
// request's own mbuf when it answers a segment of this burst without
// payload, else into a new one. Both families; IPv6 takes the out-of-line
// branch (EmitTcp6Segment) so that the IPv4 loop keeps its registers.
#include <rte_mbuf.h>

#include <bit>

#include "engine/worker.h"
#include "wire/headers.h"
#include "wire/tcp_writer.h"

namespace synwave::engine {
namespace {

wire::TcpHeaderValues HeaderValues(const tcp::OutSegment& o) {
  wire::TcpHeaderValues v;
  v.src_port = o.key.local_port;
  v.dst_port = o.key.remote_port;
  v.seq = o.seq.value();
  v.ack = o.ack.value();
  v.flags = o.flags;
  v.window = o.window;
  v.payload_length = o.payload_length;
  return v;
}

constexpr uint8_t kTtl = 64;
constexpr uint8_t kHopLimit = 64;

// The destination MAC of an output segment, as a MAC word (the MAC in the
// low 48 bits, as the writer wants): its connection's peer, else the sender
// of the segment it answers, else the next hop's from `resolve` (an
// address lookup that may return null). False: unresolved.
template <class Resolve>
[[gnu::always_inline]] inline bool DestinationMac(const tcp::OutSegment& o,
                                                  bool reply,
                                                  const tcp::Segment* segs,
                                                  Resolve resolve,
                                                  uint64_t* dst_mac) {
  if (o.peer_l2 != 0) {
    *dst_mac = o.peer_l2;
  } else if (reply) {
    *dst_mac = segs[o.reply_to].peer_l2;  // the sender
  } else {
    const wire::MacAddress* mac = resolve();
    if (mac == nullptr) return false;
    *dst_mac = wire::MacWord(*mac);
  }
  return true;
}

}  // namespace

// The buffer for output segment `o`: a reply without payload takes over
// the received segment it answers (once: `reused` has a bit per burst
// slot), anything else a new one; then the payload, if any, is copied to
// its place after the headers of `l3_length` bytes (it goes first: the TCP
// checksum covers it). nullptr when the pool is empty.
[[gnu::always_inline]] inline rte_mbuf* Worker::TxBuffer(
    const tcp::OutSegment& o, rte_mbuf** rx, bool reply, size_t l3_length,
    uint64_t& reused) {
  rte_mbuf* m;
  const uint64_t slot = reply ? uint64_t{1} << o.reply_to : 0;
  if (reply && !(reused & slot) && o.payload_length == 0) {
    m = rx[o.reply_to];
    reused |= slot;
  } else {
    m = link_.Alloc();
    if (m == nullptr) return nullptr;
  }
  m->data_off = RTE_PKTMBUF_HEADROOM;
  if (o.payload_length != 0) {
    stack_->CopyPayload(o, rte_pktmbuf_mtod(m, uint8_t*) +
                               wire::kEthernetHeaderLength + l3_length +
                               wire::kTcpMinHeaderLength +
                               wire::TcpOptionsLength(o.options));
  }
  return m;
}

// Out of line (see the file comment).
[[gnu::noinline]] uint64_t Worker::EmitTcp6Segment(const tcp::OutSegment& o, rte_mbuf** rx,
                                 uint16_t num_rx, uint64_t reused,
                                 uint64_t now_ns) {
  const bool reply = o.reply_to < num_rx;
  const tcp::OutAddresses6& a = stack_->Addresses6(o);
  uint64_t dst_mac;
  if (!DestinationMac(o, reply, segs_, [&] {
        return nd_ != nullptr ? nd_->ResolveNextHop(a.remote, now_ns)
                              : nullptr;
      }, &dst_mac)) {
    deltas_.Add(Counter::kDropNoNeighbor);
    return reused;
  }
  // Software checksum over the IPv6 pseudo-header, payload included.
  rte_mbuf* const m =
      TxBuffer(o, rx, reply, wire::kIpv6HeaderLength, reused);
  if (m == nullptr) return reused;
  uint8_t* const frame = rte_pktmbuf_mtod(m, uint8_t*);
  const auto total = static_cast<uint16_t>(
      wire::WriteIpv6TcpHeaders(frame, dst_mac, link_.mac_word(), a.local,
                                a.remote, HeaderValues(o), o.options,
                                /*flow_label=*/0, kHopLimit,
                                wire::ChecksumMode::kSoftware) +
      o.payload_length);
  m->data_len = total;
  m->pkt_len = total;
  m->ol_flags = 0;
  link_.Transmit(m);
  return reused;
}

void Worker::EmitTcpOutput(rte_mbuf** rx, uint16_t num_rx, uint64_t now_ns) {
  // Which received buffers a reply has taken over (bit per burst slot).
  uint64_t reused = 0;
  const uint64_t src_mac = link_.mac_word();
  const wire::ChecksumMode ip_mode = link_.ip_mode();
  const wire::ChecksumMode tcp_mode = link_.tcp_mode();
  const uint64_t tx_flags = link_.tcp_tx_flags();
  for (const tcp::OutSegment& o : stack_->output()) {
    if (o.ipv6) [[unlikely]] {
      reused = EmitTcp6Segment(o, rx, num_rx, reused, now_ns);
      continue;
    }
    const bool reply = o.reply_to < num_rx;
    uint64_t dst_mac;
    if (!DestinationMac(o, reply, segs_, [&] {
          return link_.ResolveNextHop(wire::Ipv4Address{o.key.remote_ip},
                                      now_ns);
        }, &dst_mac)) {
      deltas_.Add(Counter::kDropNoNeighbor);
      continue;
    }
    rte_mbuf* const m =
        TxBuffer(o, rx, reply, wire::kIpv4MinHeaderLength, reused);
    if (m == nullptr) continue;
    uint8_t* const frame = rte_pktmbuf_mtod(m, uint8_t*);
    const auto total = static_cast<uint16_t>(
        wire::WriteIpv4TcpHeaders(frame, dst_mac, src_mac, o.key.local_ip,
                                  o.key.remote_ip, HeaderValues(o), o.options,
                                  link_.NextIpId(), kTtl, ip_mode, tcp_mode) +
        o.payload_length);
    m->data_len = total;
    m->pkt_len = total;
    m->ol_flags = tx_flags;
    if (tx_flags != 0) {
      m->l2_len = wire::kEthernetHeaderLength;
      m->l3_len = wire::kIpv4MinHeaderLength;
    }
    link_.Transmit(m);
  }
  stack_->ClearOutput();
  // The received buffers no reply took over.
  uint64_t left = ~reused & (num_rx >= 64 ? ~uint64_t{0}
                                          : (uint64_t{1} << num_rx) - 1);
  while (left != 0) {
    Drop(rx[std::countr_zero(left)]);
    left &= left - 1;
  }
}

}  // namespace synwave::engine
