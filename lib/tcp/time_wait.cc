// TIME-WAIT: the record pool's FIFO, entering TIME-WAIT from a TCB, the
// RFC 9293 3.10.7.4 handling of segments for a TIME-WAIT record (RFC 1337,
// RFC 6191, PAWS) and expiry after 2 MSL.
#include "tcp/time_wait.h"

#include "tcp/stack.h"
#include "wire/headers.h"

namespace synwave::tcp {

namespace tf = wire::tcp_flags;

void TimeWaitPool::PushBack(uint32_t index) {
  TimeWaitRecord& r = records_[index];
  r.prev = tail_;
  r.next = flow::kNoIndex;
  if (tail_ != flow::kNoIndex) {
    records_[tail_].next = index;
  } else {
    head_ = index;
  }
  tail_ = index;
}

void TimeWaitPool::Unlink(uint32_t index) {
  TimeWaitRecord& r = records_[index];
  if (r.prev != flow::kNoIndex) {
    records_[r.prev].next = r.next;
  } else {
    head_ = r.next;
  }
  if (r.next != flow::kNoIndex) {
    records_[r.next].prev = r.prev;
  } else {
    tail_ = r.prev;
  }
  r.prev = r.next = flow::kNoIndex;
}

uint32_t TcpStack::NewTimeWaitRecord(const Tcb& t, uint64_t now_ns) {
  uint32_t r_index = time_wait_.Alloc();
  if (r_index == kNoIndex) {
    // Pool full: recycle the oldest record (ARCHITECTURE.md "Memory").
    r_index = time_wait_.RecycleOldest();
    if (r_index == kNoIndex) return kNoIndex;  // no TIME-WAIT pool at all
    const TimeWaitRecord& old = time_wait_[r_index];
    EraseFlow(old.key, old.hash, old.ipv6, /*other=*/true);
    counters_.Add(Mib::kTimeWaitOverflow);
  }
  TimeWaitRecord& r = time_wait_[r_index];
  r = TimeWaitRecord{};
  r.key = t.key;
  r.hash = t.hash;
  r.snd_nxt = t.snd_nxt;
  r.rcv_nxt = t.rcv_nxt;
  r.ts_recent = t.ts_recent;
  r.ts_offset = t.ts_offset;
  r.timestamps = (t.flags & tcb_flags::kTimestamps) != 0;
  r.ipv6 = IsIpv6(t);
  r.expires_ns = now_ns + 2 * config_.msl_ns;
  r.last_oow_ack_ms = static_cast<uint32_t>(
      (now_ns - config_.challenge_ack_interval_ns) / kMillisecond);
  time_wait_.PushBack(r_index);
  UpdateFlow(t.key, t.hash, r.ipv6, Encode(Kind::kTimeWait, r_index));
  return r_index;
}

void TcpStack::EnterTimeWait(uint32_t index, uint64_t now_ns) {
  Tcb& t = tcbs_[index];
  const uint32_t r_index = NewTimeWaitRecord(t, now_ns);
  if (r_index == kNoIndex) {
    counters_.Add(Mib::kConnectionsClosed);
    CloseTcb(index, CloseReason::kNormal, /*notify=*/true);
    return;
  }
  time_wait_[r_index].rcv_wnd = WindowField(t);
  counters_.Add(Mib::kTimeWaitEntered);
  counters_.Add(Mib::kConnectionsClosed);
  if (t.flags & tcb_flags::kAccepted) {
    Event(AppEvent::Kind::kClosed, t, CloseReason::kNormal);
  }
  FreeTcb(index);
}

void TcpStack::Abandon(ConnId id, uint64_t now_ns) {
  Tcb* t = Lookup(id);
  if (t == nullptr) return;
  const uint32_t r_index = NewTimeWaitRecord(*t, now_ns);
  if (r_index == kNoIndex) {
    CloseTcb(id.index, CloseReason::kAbandoned, /*notify=*/true);
    return;
  }
  time_wait_[r_index].silent = true;
  if (t->flags & tcb_flags::kAccepted) {
    Event(AppEvent::Kind::kClosed, *t, CloseReason::kAbandoned);
  }
  FreeTcb(id.index);
}

void TcpStack::SendTimeWaitAck(const TimeWaitRecord& r, uint64_t now_ns) {
  // peer_l2 0: the answer goes back to the segment's sender.
  OutSegment& o = SendAck(r.key, r.snd_nxt, r.rcv_nxt, r.rcv_wnd, 0,
                          TsEcho{r.timestamps, r.ts_offset, r.ts_recent},
                          now_ns);
  if (r.ipv6) [[unlikely]] Address6(o, r.key);
}

// A SYN (without ACK) for a tuple in TIME-WAIT. (A RST is dropped by the
// table: RFC 1337, a RST must not assassinate TIME-WAIT.)
void TcpStack::OnTimeWaitSyn(const flow::FlowKey& key, uint32_t hash,
                             uint32_t index, const Segment& seg,
                             uint64_t now_ns) {
  TimeWaitRecord& r = time_wait_[index];
  if (r.silent) {
    counters_.Count(Drop::kAbandoned);
    return;
  }
  // RFC 9293 MAY-2 / RFC 6191: a SYN may reopen the tuple if it is from a
  // newer incarnation. As Linux's tcp_timewait_state_process: the SYN must
  // pass PAWS (its TSval not older than TS.Recent) and be newer by sequence
  // (above the old RCV.NXT) or by timestamp (TSval above TS.Recent). That
  // covers RFC 6191's cases: newer TSval; equal TSval and higher sequence;
  // no timestamps on the SYN and higher sequence.
  const int32_t ts_delta = r.timestamps && seg.options.has_timestamps
                               ? TsVal(seg.options.ts_val) - r.ts_recent
                               : 0;
  const bool newer = ts_delta >= 0 && (seg.seq > r.rcv_nxt || ts_delta > 0);
  Listener* l = newer ? FindListenerFor(key) : nullptr;
  if (l != nullptr) {
    counters_.Add(Mib::kTimeWaitReopened);
    iss_floor_ = r.snd_nxt;
    iss_floor_set_ = true;
    EraseFlow(r.key, r.hash, r.ipv6);
    time_wait_.Free(index);
    OnListenSyn(key, hash, static_cast<uint32_t>(l - listeners_.data()), seg,
                now_ns);
    iss_floor_set_ = false;
    return;
  }
  if (ts_delta < 0) {
    counters_.Add(Mib::kPawsEstab);
    counters_.Count(Drop::kPaws);
  } else {
    counters_.Count(Drop::kTimeWaitAck);
  }
  SendTimeWaitOowAck(r, now_ns);
}

// Any other segment for a tuple in TIME-WAIT (RFC 9293 3.10.7.4, TIME-WAIT
// rows of each step).
void TcpStack::OnTimeWait(const flow::FlowKey&, uint32_t, uint32_t index,
                          const Segment& seg, uint64_t now_ns) {
  TimeWaitRecord& r = time_wait_[index];
  if (r.silent) {
    counters_.Count(Drop::kAbandoned);
    return;
  }
  if (r.timestamps && seg.options.has_timestamps &&
      TsVal(seg.options.ts_val) < r.ts_recent) {
    counters_.Add(Mib::kPawsEstab);
    counters_.Count(Drop::kPaws);
    SendTimeWaitOowAck(r, now_ns);
    return;
  }
  // An acceptable segment that carries nothing (a bare ACK at RCV.NXT) is
  // not answered: RFC 9293 has TIME-WAIT acknowledge only the FIN, and
  // answering ACKs with ACKs would loop between two ends that are both in
  // TIME-WAIT after a simultaneous close (Linux: TCP_TW_SUCCESS, silent).
  if (seg.SegLen() == 0 && seg.seq == r.rcv_nxt) {
    counters_.Count(Drop::kTimeWaitIgnored);
    return;
  }
  counters_.Count(Drop::kTimeWaitAck);
  // The peer's FIN again (it ends at RCV.NXT): acknowledge it (always: our
  // last ACK was lost) and restart the 2 MSL timeout. Anything else is an
  // invalid segment, whose ACK is rate-limited.
  if ((seg.flags & tf::kFin) && seg.seq + seg.SegLen() == r.rcv_nxt) {
    r.expires_ns = now_ns + 2 * config_.msl_ns;
    time_wait_.MoveToBack(index);
    SendTimeWaitAck(r, now_ns);
    return;
  }
  SendTimeWaitOowAck(r, now_ns);
}

void TcpStack::SendTimeWaitOowAck(TimeWaitRecord& r, uint64_t now_ns) {
  if (!OowAckAllowedMs(r.last_oow_ack_ms, now_ns)) {
    counters_.Add(Mib::kAckSkippedTimeWait);
    return;
  }
  SendTimeWaitAck(r, now_ns);
}

// TIME-WAIT lasts a constant 2 MSL, so its records sit on a FIFO in expiry
// order: expiring them is a pop, with no timer per record.
void TcpStack::ExpireTimeWait(uint64_t now_ns) {
  uint32_t budget = config_.timer_budget;
  for (uint32_t index = time_wait_.oldest();
       index != kNoIndex && budget-- > 0 &&
       time_wait_[index].expires_ns <= now_ns;
       index = time_wait_.oldest()) {
    const TimeWaitRecord& r = time_wait_[index];
    EraseFlow(r.key, r.hash, r.ipv6, /*other=*/true);
    time_wait_.Free(index);
    counters_.Add(Mib::kTimeWaitExpired);
  }
}

}  // namespace synwave::tcp
