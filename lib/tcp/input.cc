// Segment arrival: the burst's lookup, the dispatch table, and the RFC 9293
// 3.10.7 handlers for CLOSED, SYN-RECEIVED (a SYN-queue entry) and the
// synchronized states, in the RFC's step order. LISTEN's handlers are in
// listener.cc, SYN-SENT's and the active open's SYN-RECEIVED in
// active_open.cc, TIME-WAIT's in time_wait.cc.
#include <algorithm>
#include <array>

#include "tcp/stack.h"
#include "wire/headers.h"

namespace synwave::tcp {

namespace tf = wire::tcp_flags;

namespace {

constexpr uint64_t kPawsIdleNs = 24ull * 24 * 3600 * kSecond;  // RFC 7323 5.5

}  // namespace

uint32_t Segment::SegLen() const {
  return payload_length + ((flags & tf::kSyn) ? 1 : 0) +
         ((flags & tf::kFin) ? 1 : 0);
}

// First-level dispatch: [row][flag class] -> handler or drop reason (VPP
// tcp_dispatch_table_init). Rows for states with no record of their own
// are reached when the lookup finds nothing (CLOSED) or only a listener.
// A row with one handler in every column is a state whose RFC processing is
// one sequence of steps that every segment goes through (SYN-SENT checks
// the ACK before the RST; the synchronized states check the sequence number
// before anything else), so the flags cannot pick a handler there.
#define H(fn) Dispatch{&TcpStack::fn, Drop::kNone}
#define D(reason) Dispatch{nullptr, Drop::reason}
const TcpStack::Dispatch TcpStack::kDispatch[kNumRows][kNumFlagClasses] = {
    //               kRst                 kSyn                kSynAck                 kAck                    kNoAck
    /* CLOSED */     {D(kRstToClosedPort), H(OnClosed),        H(OnClosed),            H(OnClosed),            H(OnClosed)},
    /* LISTEN */     {D(kListenRst),       H(OnListenSyn),     H(RejectListenAck),     H(OnListenAck),         D(kListenNoSyn)},
    /* SYN-SENT */   {H(OnSynSent),        H(OnSynSent),       H(OnSynSent),           H(OnSynSent),           H(OnSynSent)},
    /* SYN-RCVD, an active open's TCB */
                     {H(OnSynReceivedActive), H(OnSynReceivedActive), H(OnSynReceivedActive), H(OnSynReceivedActive), H(OnSynReceivedActive)},
    /* ESTAB */      {H(OnSynchronized),   H(OnSynchronized),  H(OnSynchronized),      H(OnSynchronized),      H(OnSynchronized)},
    /* FIN-WAIT-1 */ {H(OnSynchronized),   H(OnSynchronized),  H(OnSynchronized),      H(OnSynchronized),      H(OnSynchronized)},
    /* FIN-WAIT-2 */ {H(OnSynchronized),   H(OnSynchronized),  H(OnSynchronized),      H(OnSynchronized),      H(OnSynchronized)},
    /* CLOSE-WAIT */ {H(OnSynchronized),   H(OnSynchronized),  H(OnSynchronized),      H(OnSynchronized),      H(OnSynchronized)},
    /* CLOSING */    {H(OnSynchronized),   H(OnSynchronized),  H(OnSynchronized),      H(OnSynchronized),      H(OnSynchronized)},
    /* LAST-ACK */   {H(OnSynchronized),   H(OnSynchronized),  H(OnSynchronized),      H(OnSynchronized),      H(OnSynchronized)},
    /* TIME-WAIT */  {D(kTimeWaitRst),     H(OnTimeWaitSyn),   H(OnTimeWait),          H(OnTimeWait),          H(OnTimeWait)},
    /* SYN-RCVD, a SYN-queue entry */
                     {H(OnSynReceived),    H(OnSynReceived),   H(OnSynReceived),       H(OnSynReceived),       H(OnSynReceived)},
};
#undef H
#undef D

// RST first, then SYN (with or without ACK), then ACK or none: one load
// from a table over the three bits that decide (every segment passes here).
TcpStack::FlagClass TcpStack::Classify(uint8_t flags) {
  constexpr uint8_t kBits = tf::kRst | tf::kSyn | tf::kAck;
  static_assert(kBits < 32);
  static constexpr auto kTable = [] {
    std::array<FlagClass, 32> t{};
    for (uint32_t f = 0; f < t.size(); ++f) {
      t[f] = (f & tf::kRst)   ? FlagClass::kRst
             : (f & tf::kSyn) ? ((f & tf::kAck) ? FlagClass::kSynAck
                                                : FlagClass::kSyn)
             : (f & tf::kAck) ? FlagClass::kAck
                              : FlagClass::kNoAck;
    }
    return t;
  }();
  return kTable[flags & kBits];
}

void TcpStack::Input(const flow::FlowKey& key, const Segment& seg,
                     uint64_t now_ns) {
  InputBurst(&key, &seg, 1, now_ns);
}

void TcpStack::InputBurst(const flow::FlowKey* keys, const Segment* segs,
                          uint32_t n, uint64_t now_ns) {
  uint32_t hashes[kMaxBurst];
  uint32_t found[kMaxBurst];
  uint32_t slots[kMaxBurst];
  while (n > 0) {
    const uint32_t group = std::min(n, kMaxBurst);
    for (uint32_t k = 0; k < group; ++k) hashes[k] = Hash(keys[k]);
    table_.FindBulk(keys, hashes, group, found, slots);
    table_.ClearChanges();
    // SYN cookies for the whole group at once (vector lanes) while SYNs are
    // being answered with cookies, then the segments one by one, each reply
    // marked with the segment it answers. A lookup is trusted only while no
    // change to the table may have touched its key (a segment that inserts,
    // re-points or erases its own tuple leaves the others' lookups valid).
    batch_.n = 0;
    if (group >= CookieBatch::kMin &&
        (CookiesLikely() || CookieAcksLikely(now_ns))) {
      PrepareCookies(keys, found, segs, group, now_ns);
    }
    for (uint32_t k = 0; k < group; ++k) {
      reply_to_ = static_cast<uint16_t>(burst_base_ + k);
      slot_hint_ = slots[k];
      Input(keys[k], hashes[k],
            table_.MayHaveChanged(hashes[k]) ? table_.Find(keys[k], hashes[k])
                                             : found[k],
            segs[k], now_ns);
    }
    keys += group;
    segs += group;
    n -= group;
    burst_base_ += group;
  }
  reply_to_ = OutSegment::kNoReply;
  slot_hint_ = flow::FlowTable::kNoSlot;
  burst_base_ = 0;
  batch_.n = 0;
}

void TcpStack::Input(const flow::FlowKey6& key, const Segment& seg,
                     uint64_t now_ns) {
  InputBurst(&key, &seg, 1, now_ns);
}

// IPv6: as InputBurst, over table6_, with in6_ naming each segment's tuple
// while it is processed; the handlers get a record key with its ports.
void TcpStack::InputBurst(const flow::FlowKey6* keys, const Segment* segs,
                          uint32_t n, uint64_t now_ns) {
  if (table6_ == nullptr) [[unlikely]] {
    for (uint32_t k = 0; k < n; ++k) counters_.Count(Drop::kIpv6Off);
    return;
  }
  uint32_t hashes[kMaxBurst];
  uint32_t found[kMaxBurst];
  while (n > 0) {
    const uint32_t group = std::min(n, kMaxBurst);
    hasher6_.HashBulk(keys, group, hashes);
    table6_->FindBulk(keys, hashes, group, found);
    table6_->ClearChanges();
    batch_.n = 0;
    if (group >= CookieBatch::kMin &&
        (CookiesLikely() || CookieAcksLikely(now_ns))) {
      PrepareCookies(keys, found, segs, group, now_ns);
    }
    for (uint32_t k = 0; k < group; ++k) {
      reply_to_ = static_cast<uint16_t>(burst_base_ + k);
      in6_ = &keys[k];
      const flow::FlowKey ports{0, 0, keys[k].local_port, keys[k].remote_port};
      Input6(ports, hashes[k],
             table6_->MayHaveChanged(hashes[k])
                 ? table6_->Find(keys[k], hashes[k])
                 : found[k],
             segs[k], now_ns);
    }
    keys += group;
    segs += group;
    n -= group;
    burst_base_ += group;
  }
  in6_ = nullptr;
  reply_to_ = OutSegment::kNoReply;
  burst_base_ = 0;
  batch_.n = 0;
}

void TcpStack::Input6(const flow::FlowKey& key, uint32_t hash, uint32_t found,
                      const Segment& seg, uint64_t now_ns) {
  counters_.Add(Mib::kInSegs);
  counters_.Add(Mib::kInSegs6);
  Row row;
  uint32_t index = kNoIndex;
  if (found >= kFoundListener) {
    // No connection: its listener, unless PrepareCookies found it already.
    row = Row::kListen;
    index = found - kFoundListener;
    if (found == flow::FlowTable6::kNotFound) {
      Listener* l = FindListener6(*in6_);
      row = l != nullptr ? Row::kListen : Row::kClosed;
      if (l != nullptr) index = static_cast<uint32_t>(l - listeners_.data());
    }
  } else {
    row = RowOfRecord(found, &index);
  }
  DispatchRow(row, key, hash, index, seg, now_ns);
}

void TcpStack::Input(const flow::FlowKey& key, uint32_t hash, uint32_t found,
                     const Segment& seg, uint64_t now_ns) {
  counters_.Add(Mib::kInSegs);
  Row row;
  uint32_t index = kNoIndex;
  if (found >= kFoundListener) {
    // No connection: its listener, unless PrepareCookies found it already.
    row = Row::kListen;
    index = found - kFoundListener;
    if (found == flow::FlowTable::kNotFound) {
      Listener* l = FindListener(key);
      row = l != nullptr ? Row::kListen : Row::kClosed;
      if (l != nullptr) index = static_cast<uint32_t>(l - listeners_.data());
    }
  } else {
    row = RowOfRecord(found, &index);
  }
  DispatchRow(row, key, hash, index, seg, now_ns);
}

// RFC 9293 3.10.7.1: no connection and no listener. (A RST is dropped by
// the table.)
void TcpStack::OnClosed(const flow::FlowKey& key, uint32_t, uint32_t,
                        const Segment& seg, uint64_t) {
  counters_.Count(Drop::kClosedPort);
  SendRstFor(key, seg);
}

// SYN-RECEIVED on a SYN-queue entry (RFC 9293 3.10.7.4 for that state).
void TcpStack::OnSynReceived(const flow::FlowKey& key, uint32_t,
                             uint32_t index, const Segment& seg,
                             uint64_t now_ns) {
  HalfOpen& h = half_open_[index];
  const SeqNum rcv_nxt = h.irs + 1;
  const SeqNum snd_nxt = h.iss + 1;
  // Our ACKs here are no SYNs: their window is scaled once both sides
  // offered scaling (RFC 7323 2.2), and they carry timestamps once the
  // SYN-ACK did (RFC 7323 3.2; docs/conformance.md item 21).
  // They answer invalid segments only, so they are rate-limited (but for
  // a retransmission of data below RCV.NXT, see SendOowAck).
  auto send_ack = [&](bool challenge) {
    if (!(!challenge && AnswerAlways(seg, rcv_nxt)) &&
        !OowAckAllowedMs(h.last_oow_ack_ms, now_ns)) {
      counters_.Add(Mib::kAckSkippedSynRecv);
      return;
    }
    if (challenge) counters_.Add(Mib::kChallengeAck);
    const uint8_t shift = h.peer_wscale != 0xff ? config_.window_scale : 0;
    OutSegment& o =
        SendAck(key, snd_nxt, rcv_nxt,
                static_cast<uint16_t>(InitialWindow() >> shift), h.peer_l2,
                TsEcho{h.timestamps, h.ts_offset, h.ts_recent}, now_ns);
    if (h.ipv6) [[unlikely]] Address6(o, h.key);
  };
  // A retransmitted SYN means our SYN-ACK was lost: send it again now
  // rather than at the next retransmission timeout (as Linux does).
  if ((seg.flags & (tf::kSyn | tf::kAck | tf::kRst)) == tf::kSyn &&
      seg.seq == h.irs) {
    counters_.Count(Drop::kSynRecvDupSyn);
    counters_.Add(Mib::kSynRetrans);
    counters_.Add(Mib::kRetransSegs);
    SendSynAck(h, now_ns);
    return;
  }
  // First: check the sequence number.
  if (!Acceptable(rcv_nxt, config_.rcv_buffer, seg)) {
    if (seg.flags & tf::kRst) {
      counters_.Count(Drop::kRstOutOfWindow);
    } else {
      counters_.Count(Drop::kOutOfWindow);
      send_ack(/*challenge=*/false);
    }
    return;
  }
  // Second: RST. From a passive open, return to LISTEN: free the entry, no
  // reply (docs/conformance.md item 8). RFC 5961 3.2: only an exact match
  // resets.
  if (seg.flags & tf::kRst) {
    if (seg.seq == rcv_nxt) {
      counters_.Add(Mib::kAttemptFails);
      EraseFlow(h.key, h.hash, h.ipv6);
      FreeHalfOpen(index);
    } else {
      counters_.Count(Drop::kRstChallenged);
      send_ack(/*challenge=*/true);
    }
    return;
  }
  // Fourth: a SYN in the window: challenge ACK (RFC 5961 4.2).
  if (seg.flags & tf::kSyn) {
    counters_.Count(Drop::kSynChallenged);
    send_ack(/*challenge=*/true);
    return;
  }
  // Fifth: the ACK field.
  if (!(seg.flags & tf::kAck)) {
    counters_.Count(Drop::kNoAckFlag);
    return;
  }
  if (!(seg.ack == snd_nxt)) {
    // SND.UNA < SEG.ACK =< SND.NXT fails: <SEQ=SEG.ACK><CTL=RST>.
    counters_.Count(Drop::kSynRecvBadAck);
    SendRstFor(key, seg);
    return;
  }
  if (listeners_[h.listener].AcceptQueueFull()) {
    // Not admitted; the entry stays, so the SYN-ACK retransmission (or the
    // client's next segment) completes it once there is room.
    CountAcceptQueueFull();
    return;
  }
  const uint32_t t_index = EstablishPassive(h, seg, now_ns);
  if (t_index == kNoIndex) {
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return;
  }
  Tcb& t = tcbs_[t_index];
  UpdateFlow(h.key, t.hash, h.ipv6, Encode(Kind::kTcb, t_index));
  FreeHalfOpen(index);
  // The rest of the segment (data, FIN) is processed as in ESTABLISHED.
  if (seg.payload_length > 0 || (seg.flags & tf::kFin)) {
    OnSynchronized(key, t.hash, t_index, seg, now_ns);
  }
}

// SYN-RECEIVED on a TCB: an active open whose SYN crossed the peer's (RFC
// 9293 3.10.7.3 fourth, then 3.10.7.4 for SYN-RECEIVED).
void TcpStack::OnSynReceivedActive(const flow::FlowKey&, uint32_t,
                                   uint32_t index, const Segment& seg,
                                   uint64_t now_ns) {
  Tcb& t = tcbs_[index];
  // The peer's own SYN-ACK, exactly at IRS and acking our SYN, completes
  // the open as an ACK would (as Linux tcp_validate_incoming lets it pass);
  // any other SYN is challenged below like in the synchronized states.
  if ((seg.flags & (tf::kSyn | tf::kAck | tf::kRst)) == (tf::kSyn | tf::kAck) &&
      seg.seq + 1 == t.rcv_nxt && seg.ack == t.snd_max) {
    // RFC 7323 4.3: SEG.SEQ = IRS <= Last.ACK.sent, so a TSval not older
    // than TS.Recent is recorded, as an ACK's would be.
    if ((t.flags & tcb_flags::kTimestamps) && seg.options.has_timestamps &&
        TsVal(seg.options.ts_val) >= t.ts_recent) {
      t.ts_recent = TsVal(seg.options.ts_val);
      t.ts_recent_ns = now_ns;
    }
    EnterEstablishedActive(t, index, seg, now_ns);
    return;
  }
  switch (CheckSegment(t, seg, now_ns)) {
    case Check::kAccept:
      break;
    case Check::kReset:
      // Second: a RST in SYN-RECEIVED from SYN-SENT: the connection was
      // refused.
      counters_.Add(Mib::kAttemptFails);
      counters_.Add(Mib::kConnectRefused);
      CloseTcb(index, CloseReason::kRefused, /*notify=*/true);
      return;
    case Check::kDone:
      return;
  }
  // Fifth: SND.UNA < SEG.ACK =< SND.NXT completes the handshake; anything
  // else gets <SEQ=SEG.ACK><CTL=RST>.
  if (!(t.snd_una < seg.ack && seg.ack <= t.snd_max)) {
    counters_.Count(Drop::kSynRecvBadAck);
    SendRstFor(t.key, seg);
    return;
  }
  EnterEstablishedActive(t, index, seg, now_ns);
  OnAcceptableSegment(t, index, seg, now_ns);
}

// RFC 9293 3.10.7.4: the synchronized states.
void TcpStack::OnSynchronized(const flow::FlowKey&, uint32_t, uint32_t index,
                              const Segment& seg, uint64_t now_ns) {
  Tcb& t = tcbs_[index];
  switch (CheckSegment(t, seg, now_ns)) {
    case Check::kAccept:
      break;
    case Check::kReset:
      // Second: the connection is reset.
      if (t.state == TcpState::kEstablished ||
          t.state == TcpState::kCloseWait) {
        counters_.Add(Mib::kEstabResets);
      }
      CloseTcb(index, CloseReason::kReset, /*notify=*/true);
      return;
    case Check::kDone:
      return;
  }
  OnAcceptableSegment(t, index, seg, now_ns);
}

// Inlined into both callers: each segment of a synchronized connection
// passes here, and a call per step costs measurably (bench/callgrind.sh).
[[gnu::always_inline]] inline TcpStack::Check TcpStack::CheckSegment(
    Tcb& t, const Segment& seg, uint64_t now_ns) {
  // RFC 5961 4.2: a SYN gets the (rate-limited) challenge ACK of the fourth
  // step "irrespective of the sequence number", so where PAWS or the first
  // step would drop it with a plain ACK, it goes to the challenge instead
  // (as Linux tcp_validate_incoming: goto syn_challenge). The ACK on the
  // wire is the same; the rate limit and the counter are the challenge's.
  const bool syn = (seg.flags & tf::kSyn) != 0;
  // RFC 7323 5.3: PAWS comes before the sequence check.
  if (PawsReject(t, seg, now_ns)) {
    if (syn) {
      counters_.Count(Drop::kSynChallenged);
      ChallengeAck(t, now_ns);
      return Check::kDone;
    }
    counters_.Add(Mib::kPawsEstab);
    counters_.Count(Drop::kPaws);
    SendOowAck(t, seg, now_ns, Mib::kAckSkippedPaws);
    return Check::kDone;
  }
  // First: check the sequence number, against the larger of the window we
  // advertised and the one we could advertise now.
  const uint32_t wnd = std::max<uint32_t>(
      RcvWindow(t), static_cast<uint32_t>(std::max(t.rcv_adv - t.rcv_nxt, 0)));
  if (!Acceptable(t.rcv_nxt, wnd, seg)) {
    if (seg.flags & tf::kRst) {
      counters_.Count(Drop::kRstOutOfWindow);
    } else if (syn) {
      counters_.Count(Drop::kSynChallenged);
      ChallengeAck(t, now_ns);
    } else {
      counters_.Count(Drop::kOutOfWindow);
      SendOowAck(t, seg, now_ns, Mib::kAckSkippedSeq);
    }
    return Check::kDone;
  }
  // Second: the RST bit (RFC 5961 3.2): a reset only when SEG.SEQ =
  // RCV.NXT; elsewhere in the window, a challenge ACK.
  if (seg.flags & tf::kRst) {
    if (seg.seq == t.rcv_nxt) return Check::kReset;
    counters_.Count(Drop::kRstChallenged);
    ChallengeAck(t, now_ns);
    return Check::kDone;
  }
  // Fourth: the SYN bit, whatever its sequence (RFC 5961 4.2).
  if (syn) {
    counters_.Count(Drop::kSynChallenged);
    ChallengeAck(t, now_ns);
    return Check::kDone;
  }
  // Fifth: the ACK field. Without it the segment is dropped.
  if (!(seg.flags & tf::kAck)) {
    counters_.Count(Drop::kNoAckFlag);
    return Check::kDone;
  }
  return Check::kAccept;
}

[[gnu::always_inline]] inline void TcpStack::OnAcceptableSegment(
    Tcb& t, uint32_t index, const Segment& seg, uint64_t now_ns) {
  // RFC 5961 5.2: SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
  if (seg.ack > t.snd_max) {
    counters_.Count(Drop::kAckUnsent);
    ChallengeAck(t, now_ns);
    return;
  }
  if (seg.ack < t.snd_una - t.max_snd_wnd) {
    counters_.Count(Drop::kAckTooOld);
    ChallengeAck(t, now_ns);
    return;
  }
  // The segment passed the sequence and ACK checks: the peer is alive.
  // Only now, so that a blind sender's out-of-window segments cannot keep
  // a dead connection from its keepalive (Linux: rcv_tstamp in tcp_ack).
  t.last_rx_ns = now_ns;
  t.keepalive_probes = 0;
  // RFC 7323 4.3: TS.Recent follows the segments that are in order.
  if ((t.flags & tcb_flags::kTimestamps) && seg.options.has_timestamps &&
      seg.seq <= t.rcv_nxt) {
    t.ts_recent = TsVal(seg.options.ts_val);
    t.ts_recent_ns = now_ns;
  }
  bool fin_acked = false;
  bool entered_fin_wait2 = false;
  ProcessAck(t, index, seg, now_ns, &fin_acked);
  switch (t.state) {
    case TcpState::kFinWait1:
      // Our FIN is acknowledged: FIN-WAIT-2, which must not last forever
      // once the application has closed (docs/conformance.md item 29). Its
      // timer is armed below, unless the peer's FIN in this same segment
      // takes the connection straight on to TIME-WAIT.
      if (fin_acked) {
        SetState(t, TcpState::kFinWait2);
        entered_fin_wait2 = true;
      }
      break;
    case TcpState::kClosing:
      if (fin_acked) {
        EnterTimeWait(index, now_ns);
      } else {
        counters_.Count(Drop::kClosingIgnored);
      }
      return;
    case TcpState::kLastAck:
      if (fin_acked) {
        counters_.Add(Mib::kConnectionsClosed);
        CloseTcb(index, CloseReason::kNormal, /*notify=*/true);
      } else {
        counters_.Count(Drop::kClosingIgnored);
      }
      return;
    case TcpState::kEstablished:
    case TcpState::kFinWait2:
    case TcpState::kCloseWait:
      break;
    case TcpState::kClosed:
    case TcpState::kListen:
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
    case TcpState::kTimeWait:
      return;  // not reached: no TCB is in these states here
  }
  // Sixth: URG is not supported (ignored). Seventh and eighth: text, FIN.
  if (seg.payload_length > 0 || (seg.flags & tf::kFin)) {
    ProcessText(t, index, seg, now_ns);
  }
  if (entered_fin_wait2 && t.state == TcpState::kFinWait2) {
    ArmAux(t, index, now_ns + config_.fin_wait2_timeout_ns);
  }
}

bool TcpStack::PawsReject(Tcb& t, const Segment& seg, uint64_t now_ns) {
  if (!(t.flags & tcb_flags::kTimestamps) || !seg.options.has_timestamps ||
      (seg.flags & tf::kRst)) {
    return false;  // a RST is never rejected by PAWS alone (RFC 7323 5.3)
  }
  if (TsVal(seg.options.ts_val) >= t.ts_recent) return false;
  if (now_ns - t.ts_recent_ns > kPawsIdleNs) {
    // RFC 7323 5.5: TS.Recent older than 24 days is invalid.
    t.ts_recent = TsVal(seg.options.ts_val);
    t.ts_recent_ns = now_ns;
    return false;
  }
  return true;
}

void TcpStack::ProcessAck(Tcb& t, uint32_t index, const Segment& seg,
                          uint64_t now_ns, bool* fin_acked) {
  if (t.snd_una < seg.ack) {  // and seg.ack <= snd_max, checked above
    const uint32_t acked = seg.ack - t.snd_una;
    const uint32_t queued = t.snd_queue.size();
    const uint32_t data_acked = std::min(acked, queued);
    // Our FIN sits right after the last data byte.
    if ((t.flags & tcb_flags::kFinQueued) && seg.ack == t.snd_una + queued + 1) {
      *fin_acked = true;
    }
    t.snd_queue.Consume(chunks_, data_acked);
    t.snd_una = seg.ack;
    if (t.snd_nxt < t.snd_una) t.snd_nxt = t.snd_una;
    t.retries = 0;
    t.last_progress_ns = now_ns;
    // RTT sample (RFC 6298 with RFC 7323 timestamps, else Karn's rule).
    if (!SampleRttFromTsecr(t, seg, now_ns) &&
        (t.flags & tcb_flags::kRttTiming) && t.rtt_seq < seg.ack) {
      t.flags &= ~tcb_flags::kRttTiming;
      UpdateRtt(t, (now_ns - t.rtt_start_ns) / 1000);
    }
    // RFC 5681: slow start, then congestion avoidance.
    if (t.cwnd < t.ssthresh) {
      t.cwnd += std::min<uint32_t>(data_acked, t.snd_mss);
    } else {
      t.cwnd += std::max<uint32_t>(1, t.snd_mss * t.snd_mss / t.cwnd);
    }
    if (t.snd_una == t.snd_max) {
      CancelTimer(t.rto_timer);
    } else {
      ArmRto(t, index, now_ns);
    }
    if (data_acked > 0 && (t.flags & tcb_flags::kAccepted)) {
      Event(AppEvent::Kind::kSent, t);
    }
    MarkDirty(t, index);
  }
  // Window update, if the segment is not older than the last one used.
  if (t.snd_una <= seg.ack &&
      (t.snd_wl1 < seg.seq || (t.snd_wl1 == seg.seq && t.snd_wl2 <= seg.ack))) {
    const uint32_t wnd = uint32_t{seg.window} << t.snd_wscale;
    if (wnd > t.snd_wnd) MarkDirty(t, index);
    t.snd_wnd = wnd;
    t.max_snd_wnd = std::max(t.max_snd_wnd, wnd);
    t.snd_wl1 = seg.seq;
    t.snd_wl2 = seg.ack;
  }
  // RFC 1122 4.2.2.17: while the receiver answers our zero-window probes
  // the connection stays open however long its window stays shut, so an
  // ACK that leaves the window at zero clears the count of unanswered
  // probes (Linux clears icsk_probes_out on every ACK). The RTO keeps its
  // backoff: the probes stay exponentially spaced. That holds while the
  // application holds the connection (the idle timeout bounds it); an
  // orphan's probes count against orphan_retries, answered or not.
  if (t.snd_wnd == 0 && !(t.flags & tcb_flags::kFinQueued)) t.retries = 0;
}

// Seventh (segment text) and eighth (FIN). Out-of-order data is dropped
// and answered with a duplicate ACK: short request/response flows gain
// little from a reassembly queue, and the peer's retransmission fills the
// gap.
void TcpStack::ProcessText(Tcb& t, uint32_t index, const Segment& seg,
                           uint64_t now_ns) {
  const bool can_receive = t.state == TcpState::kEstablished ||
                           t.state == TcpState::kFinWait1 ||
                           t.state == TcpState::kFinWait2;
  if (!can_receive) {
    // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN is already in.
    counters_.Count(Drop::kDataAfterFin);
    SendAck(t, now_ns);
    return;
  }
  const SeqNum seg_end = seg.seq + seg.payload_length;  // the FIN's number
  uint32_t skip = 0;
  if (seg.seq < t.rcv_nxt) {
    skip = std::min<uint32_t>(t.rcv_nxt - seg.seq, seg.payload_length);
  } else if (seg.seq > t.rcv_nxt) {
    counters_.Count(Drop::kOutOfOrder);
    t.flags |= tcb_flags::kAckPending;
    MarkDirty(t, index);
    return;
  }
  uint32_t len = seg.payload_length - skip;
  if (len > 0 && (t.flags & tcb_flags::kFinQueued)) {
    // New data after the application closed (FIN-WAIT-1, FIN-WAIT-2):
    // nobody will read it, so the peer learns at once, as from Linux:
    // RST, and the connection is gone (RFC 9293 3.10.7.4 seventh lets a
    // closed receiver drop such text; RFC 2525 2.17's reason for a RST).
    counters_.Add(Mib::kAbortOnData);
    SendRst(t);
    CloseTcb(index, CloseReason::kUnreadData, /*notify=*/true);
    return;
  }
  bool fin = (seg.flags & tf::kFin) != 0;
  const uint32_t wnd = RcvWindow(t);
  if (len > wnd) {
    len = wnd;
    fin = false;  // the FIN lies beyond what we take
  }
  if (len > 0) {
    const uint32_t taken =
        t.rcv_queue.Append(chunks_, seg.payload + skip, len);
    if (taken < len) {
      counters_.Count(Drop::kRcvBufferFull);
      fin = false;
    }
    if (taken > 0) {
      t.rcv_nxt += taken;
      t.last_progress_ns = now_ns;
      counters_.Add(Mib::kDataBytesIn, taken);
      if (t.flags & tcb_flags::kAccepted) Event(AppEvent::Kind::kData, t);
    }
    t.flags |= tcb_flags::kAckPending;
    MarkDirty(t, index);
  }
  // Eighth: the FIN, once everything before it is in.
  if (!fin || !(t.rcv_nxt == seg_end)) return;
  t.rcv_nxt += 1;
  t.flags |= tcb_flags::kPeerFin | tcb_flags::kAckPending;
  MarkDirty(t, index);
  if (t.flags & tcb_flags::kAccepted) Event(AppEvent::Kind::kPeerClosed, t);
  switch (t.state) {
    case TcpState::kEstablished:
      SetState(t, TcpState::kCloseWait);
      break;
    case TcpState::kFinWait1:
      // Our FIN is not acknowledged yet (else we would be in FIN-WAIT-2):
      // simultaneous close.
      SetState(t, TcpState::kClosing);
      break;
    case TcpState::kFinWait2:
      SendAck(t, now_ns);
      EnterTimeWait(index, now_ns);
      break;
    case TcpState::kClosed:
    case TcpState::kListen:
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
    case TcpState::kCloseWait:
    case TcpState::kClosing:
    case TcpState::kLastAck:
    case TcpState::kTimeWait:
      break;
  }
}

void TcpStack::ChallengeAck(Tcb& t, uint64_t now_ns) {
  // Per connection, never global (CVE-2016-5696).
  if (!OowAckAllowed(t.last_oow_ack_ns, now_ns)) {
    counters_.Count(Drop::kChallengeRateLimited);
    return;
  }
  counters_.Add(Mib::kChallengeAck);
  SendAck(t, now_ns);
}

void TcpStack::SendOowAck(Tcb& t, const Segment& seg, uint64_t now_ns,
                          Mib skipped) {
  if (!AnswerAlways(seg, t.rcv_nxt) &&
      !OowAckAllowed(t.last_oow_ack_ns, now_ns)) {
    counters_.Add(skipped);
    return;
  }
  SendAck(t, now_ns);
}

}  // namespace synwave::tcp
