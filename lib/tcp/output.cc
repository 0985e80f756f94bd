// Output: segments into output() — replies (ACK, RST), our SYN and SYN-ACK,
// the options they carry — and Flush, which sends what connections can send
// now (data within the windows, the FIN, owed ACKs).
#include <algorithm>

#include "tcp/stack.h"
#include "wire/headers.h"

namespace synwave::tcp {

namespace tf = wire::tcp_flags;

namespace {

constexpr uint16_t kDefaultMss = 536;  // RFC 9293 3.7.1, when no option came
constexpr uint16_t kDefaultMss6 = 1220;  // the same for IPv6 (RFC 8200 5)
constexpr uint16_t kMinMss = 48;       // Linux's tcp_min_snd_mss
constexpr uint16_t kTimestampOptionSpace = 12;  // NOP NOP TS

}  // namespace

// Inlined into Address6 and Reply6: the index from the element's offset
// (a subtraction and a multiply by the inverse of its size), the two
// addresses as two 16-byte stores. False, with nothing written, when
// output6_ is shorter than the output: the caller grows it out of line
// (a tail call, so that the common case saves no registers) and tries
// again.
[[gnu::always_inline]] inline bool TcpStack::SetAddresses6(
    OutSegment& o, const wire::Ipv6Address& local,
    const wire::Ipv6Address& remote) {
  const size_t i = static_cast<size_t>(&o - output_.data());
  if (i >= output6_.size()) [[unlikely]] return false;
  o.ipv6 = true;
  OutAddresses6& a = output6_[i];
  a.local = local;
  a.remote = remote;
  o.key.local_ip = 0;
  o.key.remote_ip = 0;
  counters_.Add(Mib::kOutSegs6);
  return true;
}

void TcpStack::Address6(OutSegment& o, const flow::FlowKey& record_key) {
  const wire::Ipv6Address& local = tuples6_->local(record_key);
  const wire::Ipv6Address& remote = tuples6_->remote(record_key);
  if (!SetAddresses6(o, local, remote)) [[unlikely]] {
    GrowAddresses6(o, local, remote);
  }
}

void TcpStack::Reply6(OutSegment& o) {
  if (!SetAddresses6(o, in6_->local_ip, in6_->remote_ip)) [[unlikely]] {
    GrowAddresses6(o, in6_->local_ip, in6_->remote_ip);
  }
}

void TcpStack::GrowAddresses6(OutSegment& o, const wire::Ipv6Address& local,
                              const wire::Ipv6Address& remote) {
  // To the output's capacity, so that this happens once per growth of the
  // output (reserved at start for 256).
  const size_t i = static_cast<size_t>(&o - output_.data());
  output6_.resize(std::max(i + 1, output_.capacity()));
  SetAddresses6(o, local, remote);
}

void TcpStack::SendAck(Tcb& t, uint64_t now_ns) {
  OutSegment& o = SendAck(t.key, t.snd_nxt, t.rcv_nxt, WindowField(t),
                          t.peer_l2, TsOf(t), now_ns);
  if (IsIpv6(t)) [[unlikely]] Address6(o, t.key);
  t.flags &= ~tcb_flags::kAckPending;
}

void TcpStack::SendRstFor(const flow::FlowKey& key, const Segment& seg) {
  // If the ACK bit is off, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
  // if it is on, <SEQ=SEG.ACK><CTL=RST>.
  OutSegment& o =
      (seg.flags & tf::kAck)
          ? Emit(key, seg.ack, SeqNum(0), tf::kRst, 0)
          : Emit(key, SeqNum(0), seg.seq + seg.SegLen(), tf::kRst | tf::kAck,
                 0);
  // It answers the segment being processed: an IPv6 one while in6_ is set.
  if (in6_ != nullptr) [[unlikely]] Reply6(o);
  counters_.Add(Mib::kOutRsts);
}

void TcpStack::SendRst(const Tcb& t) {
  OutSegment& o = Emit(t.key, t.snd_nxt, t.rcv_nxt, tf::kRst | tf::kAck, 0);
  o.peer_l2 = t.peer_l2;
  if (IsIpv6(t)) [[unlikely]] Address6(o, t.key);
  counters_.Add(Mib::kOutRsts);
}

uint16_t TcpStack::SendMss(uint16_t peer_mss, bool timestamps,
                           bool ipv6) const {
  // The floor applies to the MSS, before the options' bytes come off it
  // (RFC 6691: the MSS counts data and options beyond the fixed header), so
  // a segment never exceeds what the peer asked for unless the peer asked
  // for less than any sane link carries (Linux: 48).
  const uint16_t default_mss = ipv6 ? kDefaultMss6 : kDefaultMss;
  const uint16_t mss = std::max<uint16_t>(
      std::min<uint16_t>(peer_mss != 0 ? peer_mss : default_mss, OurMss(ipv6)),
      kMinMss);
  return timestamps ? mss - kTimestampOptionSpace : mss;
}

void TcpStack::MarkDirty(Tcb& t, uint32_t index) {
  if (t.flags & tcb_flags::kDirty) return;
  t.flags |= tcb_flags::kDirty;
  dirty_.push_back(index);
}

void TcpStack::Flush(uint64_t now_ns) {
  for (size_t i = 0; i < dirty_.size(); ++i) {
    const uint32_t index = dirty_[i];
    Tcb& t = tcbs_[index];
    if (!(t.flags & tcb_flags::kInUse) || !(t.flags & tcb_flags::kDirty)) {
      continue;
    }
    t.flags &= ~tcb_flags::kDirty;
    Output(t, index, now_ns, /*force_probe=*/false);
  }
  dirty_.clear();
}

// Sends what the windows allow from SND.NXT: data, then the FIN once all
// data is out; an owed ACK rides on the first segment or goes alone.
void TcpStack::Output(Tcb& t, uint32_t index, uint64_t now_ns,
                      bool force_probe) {
  const bool can_send = t.state == TcpState::kEstablished ||
                        t.state == TcpState::kCloseWait ||
                        t.state == TcpState::kFinWait1 ||
                        t.state == TcpState::kClosing ||
                        t.state == TcpState::kLastAck;
  if (can_send) {
    for (;;) {
      const uint32_t queued = t.snd_queue.size();
      const uint32_t in_flight = t.snd_nxt - t.snd_una;  // may include FIN
      const SeqNum data_end = t.snd_una + queued;
      const uint32_t unsent =
          t.snd_nxt < data_end ? static_cast<uint32_t>(data_end - t.snd_nxt) : 0;
      const uint32_t wnd = std::min(t.snd_wnd, t.cwnd);
      uint32_t usable = wnd > in_flight ? wnd - in_flight : 0;
      if (usable == 0 && force_probe && unsent > 0) usable = 1;  // persist
      force_probe = false;
      const uint32_t len = std::min({unsent, usable, uint32_t{t.snd_mss}});
      // The FIN follows the last data byte, once; after an RTO rewinds
      // SND.NXT it is sent again with that data.
      const bool fin = (t.flags & tcb_flags::kFinQueued) &&
                       t.snd_nxt <= data_end && t.snd_nxt + len == data_end;
      if (len == 0 && !fin) break;
      uint8_t flags = tf::kAck;
      if (len > 0 && len == unsent) flags |= tf::kPsh;
      if (fin) flags |= tf::kFin;
      OutSegment& o = Emit(t.key, t.snd_nxt, t.rcv_nxt, flags, WindowField(t));
      o.peer_l2 = t.peer_l2;
      if (IsIpv6(t)) [[unlikely]] Address6(o, t.key);
      o.conn = index;
      o.payload_length = static_cast<uint16_t>(len);
      o.payload_offset = static_cast<uint32_t>(t.snd_nxt - t.snd_una);
      AddTimestamps(o, TsOf(t), now_ns);
      const SeqNum end = t.snd_nxt + len + (fin ? 1 : 0);
      if (t.snd_nxt < t.snd_max) {
        o.retransmission = true;
        counters_.Add(Mib::kRetransSegs);
      } else {
        counters_.Add(Mib::kDataBytesOut, len);
        if (!(t.flags & tcb_flags::kRttTiming) &&
            !(t.flags & tcb_flags::kTimestamps) && len > 0) {
          t.flags |= tcb_flags::kRttTiming;
          t.rtt_seq = t.snd_nxt;
          t.rtt_start_ns = now_ns;
        }
      }
      t.snd_nxt = end;
      if (t.snd_max < end) t.snd_max = end;
      t.flags &= ~tcb_flags::kAckPending;
      if (t.rto_timer == timer::TimerWheel::kInvalidHandle) {
        ArmRto(t, index, now_ns);
      }
      if (fin) break;
    }
    // Data waiting on a zero window with nothing in flight: the RTO timer
    // doubles as the persist timer (a 1-byte probe when it fires).
    if (t.snd_wnd == 0 && t.snd_queue.size() > 0 && t.snd_una == t.snd_max &&
        t.rto_timer == timer::TimerWheel::kInvalidHandle) {
      ArmRto(t, index, now_ns);
    }
  }
  if (t.flags & tcb_flags::kAckPending) SendAck(t, now_ns);
}

void TcpStack::CopyPayload(const OutSegment& seg, uint8_t* out) {
  if (seg.payload_length == 0) return;
  tcbs_[seg.conn].snd_queue.CopyOut(chunks_, seg.payload_offset,
                                    seg.payload_length, out);
}

}  // namespace synwave::tcp
