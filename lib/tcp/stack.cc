// TcpStack's records and states (creating, closing and freeing TCBs, the
// per-state counts) and the application API. The state machine starts in
// input.cc; stack.h says where each concern lives.
#include "tcp/stack.h"

#include <algorithm>

namespace synwave::tcp {
namespace {

// The cookie MAC's key: the process secret, domain-separated from the ISN
// hash that uses the same secret.
SipKey CookieKey(const SipKey& secret) {
  return SipKey{secret.k0 ^ 0x636f6f6b69657331ull, secret.k1 ^ 0x73796e636f6f6b31ull};
}

uint32_t OrphanRingSize(uint32_t max_connections) {
  uint32_t n = 2;
  while (n < 2 * max_connections) n <<= 1;
  return n;
}

uint32_t ChunksFor(uint32_t bytes) {
  return (bytes + ChunkPool::kChunkSize - 1) / ChunkPool::kChunkSize + 1;
}

uint32_t TimerCapacity(const TcpConfig& c) {
  if (c.max_timers != 0) return c.max_timers;
  // Two per TCB (retransmission, keepalive/FIN-WAIT-2), one per half-open.
  return 2 * c.max_connections + c.max_half_open + 64;
}

}  // namespace

TcpStack::TcpStack(const TcpConfig& config, const SipKey& secret,
                   uint64_t hash_seed, uint64_t now_ns)
    : config_(config),
      isn_(secret),
      cookies_(CookieKey(secret)),
      cookie_params_{config.syncookie_period_log2_ns},
      hasher_(hash_seed),
      table_(config.max_connections + config.max_half_open +
             config.max_time_wait),
      hasher6_(hash_seed),
      timers_(TimerCapacity(config), config.timer_tick_ns, now_ns),
      chunks_(config.buffer_chunks),
      tcbs_(config.max_connections),
      tcb_count_(config.max_connections),
      tcb_ids_(config.max_connections),
      orphan_ring_(OrphanRingSize(config.max_connections), kNoIndex),
      orphan_mask_(OrphanRingSize(config.max_connections) - 1),
      max_orphans_(config.max_orphans != 0
                       ? config.max_orphans
                       : std::max<uint32_t>(config.max_connections / 2, 1)),
      buffer_reserve_(config.buffer_reserve_chunks != 0
                          ? config.buffer_reserve_chunks
                          : config.buffer_chunks / 4),
      rcv_guard_(buffer_reserve_ + ChunksFor(config.rcv_buffer)),
      snd_guard_(buffer_reserve_ + ChunksFor(config.snd_buffer)),
      half_open_(config.max_half_open),
      half_open_ids_(config.max_half_open),
      time_wait_(config.max_time_wait),
      listener_by_port_(65536, 0) {
  output_.reserve(256);
  events_.reserve(256);
  if (config.ipv6) {
    const uint32_t flows6 =
        config.max_flows6 != 0 ? config.max_flows6 : table_.capacity();
    table6_ = std::make_unique<flow::FlowTable6>(flows6);
    // One address slot per tuple the table can hold.
    tuples6_ = std::make_unique<Ipv6Tuples>(table6_->capacity());
    listener_by_port6_.assign(65536, 0);
    output6_.resize(256);
  }
  // Window scale is meaningless above 14 (RFC 7323 2.3).
  config_.window_scale = std::min(config_.window_scale, wire::kMaxWindowScale);
}

TcpStack::~TcpStack() = default;

// ---------------------------------------------------------------------------
// States and records

void TcpStack::SetState(Tcb& t, TcpState s) {
  if (t.state != TcpState::kClosed) {
    --state_count_[static_cast<size_t>(t.state)];
  }
  t.state = s;
  if (s != TcpState::kClosed) ++state_count_[static_cast<size_t>(s)];
}

uint32_t TcpStack::StateCount(TcpState s) const {
  switch (s) {
    case TcpState::kTimeWait:
      return time_wait_.in_use();
    case TcpState::kSynReceived:
      return half_open_ids_.in_use() + state_count_[static_cast<size_t>(s)];
    case TcpState::kListen:
      return static_cast<uint32_t>(listeners_.size());
    case TcpState::kClosed:
    case TcpState::kSynSent:
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
    case TcpState::kCloseWait:
    case TcpState::kClosing:
    case TcpState::kLastAck:
      break;
  }
  return state_count_[static_cast<size_t>(s)];
}

void TcpStack::EraseFlow6(const flow::FlowKey& key, uint32_t hash) {
  table6_->Erase(Key6(key), hash);
  tuples6_->Give(key);
}

bool TcpStack::InsertFlow6(const flow::FlowKey6& key, uint32_t hash,
                           uint32_t value, flow::FlowKey* record_key) {
  // The table and the slots have the same capacity, and a slot is in use
  // exactly while its tuple is in the table: a slot is free when the table
  // has room.
  if (table6_->size() >= table6_->capacity()) return false;
  flow::FlowKey taken;
  if (!tuples6_->Take(key, &taken)) return false;
  if (!table6_->Insert(key, hash, value)) {
    tuples6_->Give(taken);
    return false;
  }
  *record_key = taken;
  return true;
}

uint32_t TcpStack::ReclaimAndAllocTcb() {
  return ReclaimOrphan() ? tcb_ids_.Alloc() : kNoIndex;
}

// Every field is written once, in the order of the record (no clearing of
// the whole TCB first, then a second store to most fields). What a free
// slot already holds is kept: FreeTcb left its queues empty and its timers
// cancelled, and a slot never used is as Tcb{} built it.
uint32_t TcpStack::NewTcb(const HalfOpen& h, uint64_t now_ns) {
  const uint32_t index = AllocTcb();
  if (index == kNoIndex) return kNoIndex;
  Tcb& t = tcbs_[index];
  const bool wscale = h.peer_wscale != 0xff;
  t.key = h.key;
  t.hash = h.hash;
  t.generation += 1;
  t.state = TcpState::kClosed;  // SetState below counts the new state
  t.snd_wscale = wscale ? h.peer_wscale : 0;
  t.rcv_wscale = wscale ? config_.window_scale : 0;
  t.retries = 0;
  t.flags = static_cast<uint16_t>(
      tcb_flags::kInUse | (h.ipv6 ? tcb_flags::kIpv6 : 0) |
      (h.timestamps ? tcb_flags::kTimestamps : 0) |
      (h.sack_ok ? tcb_flags::kSackOk : 0));
  t.snd_mss = SendMss(h.peer_mss, h.timestamps, h.ipv6);
  t.listener = h.listener;
  t.offered_wscale = 0;
  t.keepalive_probes = 0;
  t.iss = h.iss;
  t.snd_una = h.iss + 1;
  t.snd_nxt = t.snd_una;
  t.snd_max = t.snd_una;
  t.snd_wl1 = SeqNum();
  t.snd_wl2 = SeqNum();
  t.snd_wnd = 0;
  t.max_snd_wnd = 0;
  t.cwnd = config_.initial_cwnd_segments * t.snd_mss;
  t.ssthresh = 0xffffffff;
  t.irs = h.irs;
  t.rcv_nxt = h.irs + 1;
  t.rcv_adv = t.rcv_nxt + InitialWindow();
  t.ts_recent = h.ts_recent;
  t.ts_offset = h.ts_offset;
  t.ts_recent_ns = now_ns;
  t.srtt_us = 0;
  t.rttvar_us = 0;
  t.rto_us = static_cast<uint32_t>(config_.rto_initial_ns / 1000);
  t.rtt_seq = SeqNum();
  t.rtt_start_ns = 0;
  t.last_rx_ns = now_ns;
  t.last_progress_ns = now_ns;
  // No ACK to an invalid segment yet: the first one may go at once
  // (unsigned arithmetic, so this holds for a clock that starts at 0 too).
  t.last_oow_ack_ns = now_ns - config_.challenge_ack_interval_ns;
  t.peer_l2 = h.peer_l2;
  t.orphan_slot = 0;
  t.app_data = 0;
  SetState(t, TcpState::kEstablished);
  if (config_.keepalive) ArmAux(t, index, now_ns + config_.keepalive_idle_ns);
  return index;
}

void TcpStack::FreeTcb(uint32_t index) {
  Tcb& t = tcbs_[index];
  if (t.flags & tcb_flags::kFinQueued) Unorphan(t);
  CancelTimer(t.rto_timer);
  CancelTimer(t.aux_timer);
  t.snd_queue.Clear(chunks_);
  t.rcv_queue.Clear(chunks_);
  SetState(t, TcpState::kClosed);
  t.flags = 0;  // not in use: skipped by Flush and the accept queue
  tcb_ids_.Free(index);
}

void TcpStack::CloseTcb(uint32_t index, CloseReason reason, bool notify) {
  Tcb& t = tcbs_[index];
  EraseFlow(t.key, t.hash, IsIpv6(t));
  if (notify && (t.flags & tcb_flags::kAccepted)) {
    Event(AppEvent::Kind::kClosed, t, reason);
  }
  FreeTcb(index);
}

void TcpStack::Orphan(Tcb& t, uint32_t index) {
  if (orphan_tail_ - orphan_head_ > orphan_mask_) {
    // Full: pack the orphans to the front. The ring holds twice the TCBs,
    // so at least half its slots are holes and the next pack is that many
    // orphans away.
    uint32_t to = orphan_head_;
    for (uint32_t from = orphan_head_; from != orphan_tail_; ++from) {
      const uint32_t i = orphan_ring_[from & orphan_mask_];
      if (i == kNoIndex) continue;
      orphan_ring_[to & orphan_mask_] = i;
      tcbs_[i].orphan_slot = to & orphan_mask_;
      ++to;
    }
    for (uint32_t k = to; k != orphan_tail_; ++k) {
      orphan_ring_[k & orphan_mask_] = kNoIndex;
    }
    orphan_tail_ = to;
  }
  t.orphan_slot = orphan_tail_ & orphan_mask_;
  orphan_ring_[t.orphan_slot] = index;
  ++orphan_tail_;
  ++orphans_;
}

bool TcpStack::ReclaimOrphan() {
  while (orphan_head_ != orphan_tail_ &&
         orphan_ring_[orphan_head_ & orphan_mask_] == kNoIndex) {
    ++orphan_head_;
  }
  if (orphan_head_ == orphan_tail_) return false;
  const uint32_t index = orphan_ring_[orphan_head_ & orphan_mask_];
  counters_.Add(Mib::kAbortOnMemory);
  // The RST answers no segment of a burst being processed.
  const uint16_t reply_to = reply_to_;
  reply_to_ = OutSegment::kNoReply;
  SendRst(tcbs_[index]);
  reply_to_ = reply_to;
  CloseTcb(index, CloseReason::kReclaimed, /*notify=*/true);
  return true;
}

void TcpStack::SweepIdle(uint64_t now_ns) {
  if (config_.idle_timeout_ns == 0 || now_ns < next_sweep_ns_) return;
  // Every TCB is looked at once per quarter of the timeout, so one times
  // out between 1 and 1.25 timeouts after its last progress. The work is
  // spread over steps of 16 TCBs; a clock that jumped (a stalled loop, a
  // test) does at most one full pass.
  constexpr uint32_t kStep = 16;
  const uint32_t capacity = static_cast<uint32_t>(tcbs_.size());
  const uint64_t pass_ns = config_.idle_timeout_ns / 4;
  const uint64_t steps_per_pass = (capacity + kStep - 1) / kStep;
  const uint64_t step_ns = std::max<uint64_t>(pass_ns / steps_per_pass, 1);
  uint64_t steps =
      next_sweep_ns_ == 0 ? 1 : (now_ns - next_sweep_ns_) / step_ns + 1;
  steps = std::min(steps, steps_per_pass);
  next_sweep_ns_ = now_ns + step_ns;
  for (uint64_t n = steps * kStep; n > 0; --n) {
    const uint32_t index = sweep_cursor_;
    sweep_cursor_ = sweep_cursor_ + 1 == capacity ? 0 : sweep_cursor_ + 1;
    Tcb& t = tcbs_[index];
    if (!(t.flags & tcb_flags::kInUse) ||
        (t.state != TcpState::kEstablished &&
         t.state != TcpState::kCloseWait) ||
        now_ns - t.last_progress_ns < config_.idle_timeout_ns) {
      continue;
    }
    counters_.Add(Mib::kIdleTimeouts);
    SendRst(t);
    CloseTcb(index, CloseReason::kIdleTimeout, /*notify=*/true);
  }
}

// ---------------------------------------------------------------------------
// Application API

bool TcpStack::Key6(ConnId id, flow::FlowKey6* key) const {
  const Tcb* t = Find(id);
  if (t == nullptr || !IsIpv6(*t)) return false;
  *key = Key6(t->key);
  return true;
}

TcpState TcpStack::StateOf(ConnId id) const {
  const Tcb* t = Find(id);
  return t == nullptr ? TcpState::kClosed : t->state;
}

uint32_t TcpStack::Send(ConnId id, const uint8_t* data, uint32_t len) {
  Tcb* t = Lookup(id);
  if (t == nullptr || (t->flags & tcb_flags::kFinQueued) ||
      (t->state != TcpState::kEstablished && t->state != TcpState::kCloseWait)) {
    return 0;
  }
  const uint32_t n = t->snd_queue.Append(
      chunks_, data,
      std::min(len, chunks_.Room(t->snd_queue.size(), config_.snd_buffer,
                                 snd_guard_, buffer_reserve_)));
  if (n > 0) MarkDirty(*t, id.index);
  return n;
}

uint32_t TcpStack::Read(ConnId id, uint8_t* out, uint32_t max) {
  Tcb* t = Lookup(id);
  if (t == nullptr) return 0;
  const uint32_t n = std::min(max, t->rcv_queue.size());
  if (n == 0) return 0;
  t->rcv_queue.CopyOut(chunks_, 0, n, out);
  t->rcv_queue.Consume(chunks_, n);
  // Tell the peer when the window opened by a useful amount (RFC 9293
  // 3.8.6.2.2, receiver's silly window avoidance).
  const SeqNum edge = t->rcv_nxt + RcvWindow(*t);
  if (edge - t->rcv_adv >= static_cast<int32_t>(std::min<uint32_t>(
                               config_.rcv_buffer / 2, 2u * t->snd_mss))) {
    t->flags |= tcb_flags::kAckPending;
    MarkDirty(*t, id.index);
  }
  return n;
}

void TcpStack::Close(ConnId id, uint64_t now_ns) {
  Tcb* t = Lookup(id);
  if (t == nullptr || (t->flags & tcb_flags::kFinQueued)) return;
  if (!t->rcv_queue.empty()) {
    // RFC 2525 2.17: closing with unread data resets the connection, so
    // the peer learns its data was not consumed.
    counters_.Add(Mib::kAbortOnData);
    SendRst(*t);
    CloseTcb(id.index, CloseReason::kUnreadData, /*notify=*/true);
    return;
  }
  switch (t->state) {
    case TcpState::kSynSent:
      // RFC 9293 3.10.4: nothing was agreed yet; delete the TCB.
      CloseTcb(id.index, CloseReason::kAborted, /*notify=*/true);
      return;
    case TcpState::kSynReceived:
      // An active open caught in a simultaneous open: rather than a FIN
      // before our SYN is acknowledged, end it with RST (as an abort).
      Abort(id, now_ns);
      return;
    case TcpState::kEstablished:
      SetState(*t, TcpState::kFinWait1);
      break;
    case TcpState::kCloseWait:
      SetState(*t, TcpState::kLastAck);
      break;
    case TcpState::kClosed:
    case TcpState::kListen:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
    case TcpState::kClosing:
    case TcpState::kLastAck:
    case TcpState::kTimeWait:
      return;
  }
  // The application lets go: the connection is an orphan from now on,
  // and the oldest goes when there are too many.
  t->flags |= tcb_flags::kFinQueued;
  Orphan(*t, id.index);
  MarkDirty(*t, id.index);
  if (orphans_ > max_orphans_) ReclaimOrphan();  // the oldest: not this one
}

void TcpStack::Abort(ConnId id, uint64_t) {
  Tcb* t = Lookup(id);
  if (t == nullptr) return;
  counters_.Add(Mib::kAbortOnClose);
  if (t->state == TcpState::kSynSent) {
    // No RST: the peer has no state to reset (RFC 9293 3.10.5).
    CloseTcb(id.index, CloseReason::kAborted, /*notify=*/true);
    return;
  }
  SendRst(*t);
  CloseTcb(id.index, CloseReason::kAborted, /*notify=*/true);
}

}  // namespace synwave::tcp
