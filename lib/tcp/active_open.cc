// The active open (RFC 9293 3.10.7.3 and the client's side of 3.10.7.4):
// Connect, our SYN and its retransmission's segment, SYN-SENT, and the
// simultaneous open through SYN-RECEIVED on the TCB.
#include <algorithm>

#include "tcp/stack.h"
#include "wire/headers.h"

namespace synwave::tcp {

namespace tf = wire::tcp_flags;

bool TcpStack::TupleFree(const flow::FlowKey& key) const {
  return table_.Find(key, Hash(key)) == flow::FlowTable::kNotFound;
}

ConnId TcpStack::Connect(const flow::FlowKey& key, uint64_t now_ns,
                         uint64_t peer_l2, ConnectError* error) {
  auto fail = [&](ConnectError e) {
    if (error != nullptr) *error = e;
    return ConnId{};
  };
  const uint32_t hash = Hash(key);
  // A tuple in TIME-WAIT is not reused: its old segments may still arrive.
  if (table_.Find(key, hash) != flow::FlowTable::kNotFound) {
    return fail(ConnectError::kTupleInUse);
  }
  const uint32_t index = AllocTcb();
  if (index == kNoIndex) return fail(ConnectError::kNoTcb);
  if (!table_.Insert(key, hash, Encode(Kind::kTcb, index))) {
    tcb_ids_.Free(index);
    return fail(ConnectError::kTableFull);
  }
  uint32_t ts_offset;
  const SeqNum iss = isn_.IsnAndOffset(key, now_ns, &ts_offset);
  StartActiveOpen(index, key, hash, /*ipv6=*/false, iss, ts_offset, peer_l2,
                  now_ns);
  if (error != nullptr) *error = ConnectError::kNone;
  return ConnId{index, tcbs_[index].generation};
}

bool TcpStack::TupleFree(const flow::FlowKey6& key) const {
  return table6_ != nullptr &&
         table6_->Find(key, hasher6_(key)) == flow::FlowTable6::kNotFound;
}

ConnId TcpStack::Connect(const flow::FlowKey6& key, uint64_t now_ns,
                         uint64_t peer_l2, ConnectError* error) {
  auto fail = [&](ConnectError e) {
    if (error != nullptr) *error = e;
    return ConnId{};
  };
  if (table6_ == nullptr) return fail(ConnectError::kTableFull);
  const uint32_t hash = hasher6_(key);
  if (table6_->Find(key, hash) != flow::FlowTable6::kNotFound) {
    return fail(ConnectError::kTupleInUse);
  }
  const uint32_t index = AllocTcb();
  if (index == kNoIndex) return fail(ConnectError::kNoTcb);
  flow::FlowKey record_key;
  if (!InsertFlow6(key, hash, Encode(Kind::kTcb, index), &record_key)) {
    tcb_ids_.Free(index);
    return fail(ConnectError::kTableFull);
  }
  uint32_t ts_offset;
  const SeqNum iss = isn_.IsnAndOffset(key, now_ns, &ts_offset);
  counters_.Add(Mib::kActiveOpens6);
  StartActiveOpen(index, record_key, hash, /*ipv6=*/true, iss, ts_offset,
                  peer_l2, now_ns);
  if (error != nullptr) *error = ConnectError::kNone;
  return ConnId{index, tcbs_[index].generation};
}

void TcpStack::StartActiveOpen(uint32_t index, const flow::FlowKey& key,
                               uint32_t hash, bool ipv6, SeqNum iss,
                               uint32_t ts_offset, uint64_t peer_l2,
                               uint64_t now_ns) {
  Tcb& t = tcbs_[index];
  const uint32_t generation = t.generation + 1;
  t = Tcb{};
  t.generation = generation;
  // The application owns an active open from the start: no accept.
  t.flags = tcb_flags::kInUse | tcb_flags::kAccepted;
  if (ipv6) t.flags |= tcb_flags::kIpv6;
  t.key = key;
  t.hash = hash;
  t.listener = 0xffff;
  t.peer_l2 = peer_l2;
  t.iss = iss;
  t.ts_offset = ts_offset;
  t.snd_una = t.iss;
  t.snd_nxt = t.iss + 1;
  t.snd_max = t.snd_nxt;
  t.offered_wscale = config_.window_scale;
  t.rto_us = static_cast<uint32_t>(config_.rto_initial_ns / 1000);
  t.last_rx_ns = now_ns;
  t.last_progress_ns = now_ns;
  t.last_oow_ack_ns = now_ns - config_.challenge_ack_interval_ns;
  // Karn: the SYN is timed unless it is retransmitted (or timestamps time it).
  if (!config_.timestamps) {
    t.flags |= tcb_flags::kRttTiming;
    t.rtt_seq = t.iss;
    t.rtt_start_ns = now_ns;
  }
  SetState(t, TcpState::kSynSent);
  counters_.Add(Mib::kActiveOpens);
  SendSyn(t, now_ns, /*with_ack=*/false);
  ArmRto(t, index, now_ns);
}

void TcpStack::SendSyn(Tcb& t, uint64_t now_ns, bool with_ack) {
  OutSegment& o = Emit(t.key, t.iss, with_ack ? t.rcv_nxt : SeqNum(0),
                       with_ack ? (tf::kSyn | tf::kAck) : tf::kSyn,
                       InitialWindow());
  o.peer_l2 = t.peer_l2;
  o.retransmission = t.retries > 0;
  o.options.has_mss = true;
  o.options.mss = OurMss(IsIpv6(t));
  if (IsIpv6(t)) Address6(o, t.key);
  if (!with_ack) {
    // Our offer (RFC 7323, RFC 2018).
    o.options.has_window_scale = t.offered_wscale != 0;
    o.options.window_scale = t.offered_wscale;
    o.options.sack_permitted = config_.sack_permitted;
    AddTimestamps(o, TsEcho{config_.timestamps, t.ts_offset, TsVal(0)},
                  now_ns);
    return;
  }
  // Simultaneous open: answer what the peer's SYN offered.
  o.options.has_window_scale = t.rcv_wscale != 0;
  o.options.window_scale = t.rcv_wscale;
  o.options.sack_permitted = (t.flags & tcb_flags::kSackOk) != 0;
  AddTimestamps(o, TsOf(t), now_ns);
}

// RFC 9293 3.10.7.3: SYN-SENT.
void TcpStack::OnSynSent(const flow::FlowKey& key, uint32_t, uint32_t index,
                         const Segment& seg, uint64_t now_ns) {
  Tcb& t = tcbs_[index];
  const bool has_ack = (seg.flags & tf::kAck) != 0;
  // First: the ACK bit. Unacceptable unless ISS < SEG.ACK =< SND.NXT:
  // <SEQ=SEG.ACK><CTL=RST> (unless it is a RST), and stay in SYN-SENT.
  if (has_ack && !(t.iss < seg.ack && seg.ack <= t.snd_max)) {
    if (seg.flags & tf::kRst) {
      counters_.Count(Drop::kSynSentRst);
      return;
    }
    counters_.Count(Drop::kSynSentBadAck);
    SendRstFor(key, seg);
    return;
  }
  // Second: the RST bit. With an acceptable ACK the connection is refused;
  // without an ACK it is dropped (RFC 5961 3.2 keeps blind RSTs out).
  if (seg.flags & tf::kRst) {
    if (!has_ack) {
      counters_.Count(Drop::kSynSentRst);
      return;
    }
    counters_.Add(Mib::kAttemptFails);
    counters_.Add(Mib::kConnectRefused);
    CloseTcb(index, CloseReason::kRefused, /*notify=*/true);
    return;
  }
  // Fourth: the SYN bit. Without it (and without RST) the segment dies.
  if (!(seg.flags & tf::kSyn)) {
    counters_.Count(Drop::kSynSentNoSyn);
    return;
  }
  t.irs = seg.seq;
  t.rcv_nxt = seg.seq + 1;
  t.rcv_adv = t.rcv_nxt + InitialWindow();
  const wire::TcpOptions& o = seg.options;
  if (o.has_window_scale && t.offered_wscale != 0) {
    t.snd_wscale = std::min(o.window_scale, wire::kMaxWindowScale);
    t.rcv_wscale = t.offered_wscale;
  }
  if (o.sack_permitted && config_.sack_permitted) t.flags |= tcb_flags::kSackOk;
  if (o.has_timestamps && config_.timestamps) {
    t.flags |= tcb_flags::kTimestamps;
    t.ts_recent = TsVal(o.ts_val);
    t.ts_recent_ns = now_ns;
  }
  t.snd_mss = SendMss(o.has_mss ? o.mss : 0,
                      (t.flags & tcb_flags::kTimestamps) != 0, IsIpv6(t));
  t.cwnd = config_.initial_cwnd_segments * t.snd_mss;
  t.ssthresh = 0xffffffff;
  if (has_ack) {
    // Our SYN is acknowledged: ESTABLISHED, and the ACK is owed (it leaves
    // at the next Flush, so a request the application sends on kConnected
    // carries it).
    EnterEstablishedActive(t, index, seg, now_ns);
    t.flags |= tcb_flags::kAckPending;
    MarkDirty(t, index);
    // Sixth onward: text or FIN that came on the SYN-ACK, after its SYN.
    if (seg.payload_length > 0 || (seg.flags & tf::kFin)) {
      Segment rest = seg;
      rest.seq = seg.seq + 1;
      rest.flags = static_cast<uint8_t>(seg.flags & ~tf::kSyn);
      ProcessText(t, index, rest, now_ns);
    }
    return;
  }
  // A SYN without ACK: simultaneous open. SYN-RECEIVED, <SEQ=ISS>
  // <ACK=RCV.NXT><CTL=SYN,ACK>; data on the SYN waits for the handshake.
  t.snd_wnd = seg.window;  // a SYN's window is never scaled (RFC 7323 2.2)
  t.max_snd_wnd = t.snd_wnd;
  t.snd_wl1 = seg.seq;
  t.snd_wl2 = seg.ack;
  t.flags &= ~tcb_flags::kRttTiming;
  SetState(t, TcpState::kSynReceived);
  SendSyn(t, now_ns, /*with_ack=*/true);
  ArmRto(t, index, now_ns);
}

void TcpStack::EnterEstablishedActive(Tcb& t, uint32_t index,
                                      const Segment& seg, uint64_t now_ns) {
  t.snd_una = seg.ack;
  // The window of a SYN-ACK is never scaled; that of a later ACK is.
  const uint32_t wnd = (seg.flags & tf::kSyn)
                           ? uint32_t{seg.window}
                           : uint32_t{seg.window} << t.snd_wscale;
  t.snd_wnd = wnd;
  t.max_snd_wnd = wnd;
  t.snd_wl1 = seg.seq;
  t.snd_wl2 = seg.ack;
  if (!SampleRttFromTsecr(t, seg, now_ns) &&
      (t.flags & tcb_flags::kRttTiming)) {
    UpdateRtt(t, (now_ns - t.rtt_start_ns) / 1000);
  }
  t.flags &= ~tcb_flags::kRttTiming;
  t.retries = 0;
  CancelTimer(t.rto_timer);
  t.last_rx_ns = now_ns;
  t.last_progress_ns = now_ns;
  SetState(t, TcpState::kEstablished);
  if (config_.keepalive) ArmAux(t, index, now_ns + config_.keepalive_idle_ns);
  Event(AppEvent::Kind::kConnected, t);
}

}  // namespace synwave::tcp
