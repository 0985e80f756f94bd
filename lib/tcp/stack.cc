#include "tcp/stack.h"

#include <algorithm>

#include "wire/headers.h"

namespace synwave::tcp {

namespace tf = wire::tcp_flags;

namespace {

constexpr uint64_t kPawsIdleNs = 24ull * 24 * 3600 * kSecond;  // RFC 7323 5.5
constexpr uint16_t kDefaultMss = 536;  // RFC 9293 3.7.1, when no option came
constexpr uint32_t kTimestampOptionSpace = 12;  // NOP NOP TS

// The cookie MAC's key: the process secret, domain-separated from the ISN
// hash that uses the same secret.
SipKey CookieKey(const SipKey& secret) {
  return SipKey{secret.k0 ^ 0x636f6f6b69657331ull, secret.k1 ^ 0x73796e636f6f6b31ull};
}

uint32_t TimerCapacity(const TcpConfig& c) {
  if (c.max_timers != 0) return c.max_timers;
  // Two per TCB (retransmission, keepalive/FIN-WAIT-2), one per half-open.
  return 2 * c.max_connections + c.max_half_open + 64;
}

}  // namespace

std::string_view CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kNormal:
      return "normal";
    case CloseReason::kReset:
      return "reset";
    case CloseReason::kTimeout:
      return "timeout";
    case CloseReason::kAborted:
      return "aborted";
    case CloseReason::kUnreadData:
      return "unread-data";
    case CloseReason::kFinWait2Timeout:
      return "fin-wait-2-timeout";
    case CloseReason::kRefused:
      return "refused";
    case CloseReason::kConnectTimeout:
      return "connect-timeout";
  }
  return "?";
}

uint32_t Segment::SegLen() const {
  return payload_length + ((flags & tf::kSyn) ? 1 : 0) +
         ((flags & tf::kFin) ? 1 : 0);
}

struct TcpStack::Listener {
  uint32_t ip = 0;
  uint16_t port = 0;
  uint32_t syn_count = 0;            // half-open entries of this listener
  std::vector<ConnId> accept_queue;  // ring of established, not accepted
  uint32_t aq_head = 0;
  uint32_t aq_count = 0;

  bool AcceptQueueFull() const { return aq_count == accept_queue.size(); }
  void Push(ConnId id) {
    accept_queue[(aq_head + aq_count) % accept_queue.size()] = id;
    ++aq_count;
  }
  ConnId Pop() {
    const ConnId id = accept_queue[aq_head];
    aq_head = (aq_head + 1) % accept_queue.size();
    --aq_count;
    return id;
  }
};

// First-level dispatch: [state][flag class] -> handler or drop reason
// (VPP tcp_dispatch_table_init). Rows for states with no record of their own
// are reached when the lookup finds nothing (CLOSED) or only a listener.
#define H(fn) Dispatch{&TcpStack::fn, Drop::kNone}
#define D(reason) Dispatch{nullptr, Drop::reason}
const TcpStack::Dispatch
    TcpStack::kDispatch[kNumTcpStates][static_cast<int>(FlagClass::kCount)] = {
        //            kRst                 kSyn               kSynAck            kAck               kNoAck
        /* CLOSED */ {D(kRstToClosedPort), H(OnClosed), H(OnClosed), H(OnClosed), H(OnClosed)},
        /* LISTEN */ {D(kListenRst), H(OnListen), H(OnListen), H(OnListen), D(kListenNoSyn)},
        /* SYN-SENT */ {H(OnSynSent), H(OnSynSent), H(OnSynSent), H(OnSynSent), H(OnSynSent)},
        // SYN-RECEIVED here is a SYN-queue entry; a TCB in SYN-RECEIVED (an
        // active open that met a simultaneous SYN) goes to OnSynchronized.
        /* SYN-RCVD */ {H(OnSynReceived), H(OnSynReceived), H(OnSynReceived), H(OnSynReceived), H(OnSynReceived)},
        /* ESTAB */ {H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized)},
        /* FIN-WAIT-1 */ {H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized)},
        /* FIN-WAIT-2 */ {H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized)},
        /* CLOSE-WAIT */ {H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized)},
        /* CLOSING */ {H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized)},
        /* LAST-ACK */ {H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized), H(OnSynchronized)},
        /* TIME-WAIT */ {H(OnTimeWait), H(OnTimeWait), H(OnTimeWait), H(OnTimeWait), H(OnTimeWait)},
};
#undef H
#undef D

TcpStack::FlagClass TcpStack::Classify(uint8_t flags) {
  if (flags & tf::kRst) return FlagClass::kRst;
  if (flags & tf::kSyn) {
    return (flags & tf::kAck) ? FlagClass::kSynAck : FlagClass::kSyn;
  }
  return (flags & tf::kAck) ? FlagClass::kAck : FlagClass::kNoAck;
}

TcpStack::TcpStack(const TcpConfig& config, const SipKey& secret,
                   uint64_t hash_seed, uint64_t now_ns)
    : config_(config),
      isn_(secret),
      cookies_(CookieKey(secret)),
      cookie_params_{config.syncookie_period_log2_ns},
      hasher_(hash_seed),
      table_(config.max_connections + config.max_half_open +
             config.max_time_wait),
      timers_(TimerCapacity(config), config.timer_tick_ns, now_ns),
      chunks_(config.buffer_chunks),
      tcbs_(config.max_connections),
      tcb_ids_(config.max_connections),
      half_open_(config.max_half_open),
      half_open_ids_(config.max_half_open),
      time_wait_(config.max_time_wait),
      time_wait_ids_(config.max_time_wait),
      listener_by_port_(65536, 0) {
  output_.reserve(256);
  events_.reserve(256);
  // Window scale is meaningless above 14 (RFC 7323 2.3).
  config_.window_scale = std::min(config_.window_scale, wire::kMaxWindowScale);
}

TcpStack::~TcpStack() = default;

uint32_t TcpStack::Hash(const flow::FlowKey& key) const {
  return hasher_(key);
}

bool TcpStack::Listen(uint32_t ip, uint16_t port) {
  if (listener_by_port_[port] != 0 || listeners_.size() >= 0xfffe) return false;
  Listener l;
  l.ip = ip;
  l.port = port;
  l.accept_queue.resize(std::max<uint32_t>(config_.accept_backlog, 1));
  listeners_.push_back(std::move(l));
  listener_by_port_[port] = static_cast<uint16_t>(listeners_.size());
  return true;
}

TcpStack::Listener* TcpStack::FindListener(const flow::FlowKey& key) {
  const uint16_t i = listener_by_port_[key.local_port];
  if (i == 0) return nullptr;
  Listener& l = listeners_[i - 1];
  return (l.ip == key.local_ip || l.ip == 0) ? &l : nullptr;
}

// ---------------------------------------------------------------------------
// Input

void TcpStack::Input(const flow::FlowKey& key, const Segment& seg,
                     uint64_t now_ns) {
  InputBurst(&key, &seg, 1, now_ns);
}

void TcpStack::InputBurst(const flow::FlowKey* keys, const Segment* segs,
                          uint32_t n, uint64_t now_ns) {
  uint32_t hashes[kMaxBurst];
  uint32_t found[kMaxBurst];
  while (n > 0) {
    const uint32_t group = std::min(n, kMaxBurst);
    for (uint32_t k = 0; k < group; ++k) hashes[k] = Hash(keys[k]);
    table_.FindBulk(keys, hashes, group, found);
    const uint64_t epoch = table_.epoch();
    // SYN cookies for the whole group at once (vector lanes), then the
    // segments one by one, each reply marked with the segment it answers.
    PrepareCookies(keys, found, segs, group, now_ns);
    for (uint32_t k = 0; k < group; ++k) {
      reply_to_ = static_cast<uint16_t>(burst_base_ + k);
      Input(keys[k], hashes[k],
            epoch == table_.epoch() ? found[k] : table_.Find(keys[k], hashes[k]),
            segs[k], now_ns);
    }
    keys += group;
    segs += group;
    n -= group;
    burst_base_ += group;
  }
  reply_to_ = OutSegment::kNoReply;
  burst_base_ = 0;
}

void TcpStack::Input(const flow::FlowKey& key, uint32_t hash, uint32_t found,
                     const Segment& seg, uint64_t now_ns) {
  counters_.Add(Mib::kInSegs);
  TcpState state;
  uint32_t index = kNoIndex;
  bool tcb_syn_received = false;
  if (found == flow::FlowTable::kNotFound) {
    Listener* l = FindListener(key);
    state = l != nullptr ? TcpState::kListen : TcpState::kClosed;
    if (l != nullptr) index = static_cast<uint32_t>(l - listeners_.data());
  } else {
    index = found & 0x3fffffff;
    switch (static_cast<Kind>(found >> 30)) {
      case Kind::kTcb:
        state = tcbs_[index].state;
        tcb_syn_received = state == TcpState::kSynReceived;
        break;
      case Kind::kHalfOpen:
        state = TcpState::kSynReceived;
        break;
      case Kind::kTimeWait:
        state = TcpState::kTimeWait;
        break;
      default:
        state = TcpState::kClosed;
        break;
    }
  }
  const Dispatch& d =
      kDispatch[static_cast<int>(state)][static_cast<int>(Classify(seg.flags))];
  if (tcb_syn_received) {
    OnSynchronized(key, hash, index, seg, now_ns);
    return;
  }
  if (d.handler == nullptr) {
    counters_.Count(d.drop);
    return;
  }
  (this->*d.handler)(key, hash, index, seg, now_ns);
}

// ---------------------------------------------------------------------------
// Active open

bool TcpStack::TupleFree(const flow::FlowKey& key) const {
  return table_.Find(key, Hash(key)) == flow::FlowTable::kNotFound;
}

ConnId TcpStack::Connect(const flow::FlowKey& key, uint64_t now,
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
  const uint32_t index = tcb_ids_.Alloc();
  if (index == flow::IndexPool::kNoIndex) return fail(ConnectError::kNoTcb);
  if (!table_.Insert(key, hash, Encode(Kind::kTcb, index))) {
    tcb_ids_.Free(index);
    return fail(ConnectError::kTableFull);
  }
  Tcb& t = tcbs_[index];
  const uint32_t generation = t.generation + 1;
  t = Tcb{};
  t.generation = generation;
  // The application owns an active open from the start: no accept.
  t.flags = tcb_flags::kInUse | tcb_flags::kActive | tcb_flags::kAccepted;
  t.key = key;
  t.hash = hash;
  t.listener = 0xffff;
  t.peer_l2 = peer_l2;
  t.iss = isn_.IsnAndOffset(key, now, &t.ts_offset);
  t.snd_una = t.iss;
  t.snd_nxt = t.iss + 1;
  t.snd_max = t.snd_nxt;
  t.offered_wscale = config_.window_scale;
  t.rto_us = static_cast<uint32_t>(config_.rto_initial_ns / 1000);
  t.last_rx_ns = now;
  t.last_challenge_ns = now - config_.challenge_ack_interval_ns;
  // Karn: the SYN is timed unless it is retransmitted (or timestamps time it).
  if (!config_.timestamps) {
    t.flags |= tcb_flags::kRttTiming;
    t.rtt_seq = t.iss;
    t.rtt_start_ns = now;
  }
  SetState(t, TcpState::kSynSent);
  counters_.Add(Mib::kActiveOpens);
  SendSyn(t, now, /*with_ack=*/false);
  ArmRto(t, index, now);
  if (error != nullptr) *error = ConnectError::kNone;
  return ConnId{index, t.generation};
}

void TcpStack::SendSyn(Tcb& t, uint64_t now, bool with_ack) {
  OutSegment& o = Emit(t.key, t.iss, with_ack ? t.rcv_nxt : SeqNum(0),
                       with_ack ? (tf::kSyn | tf::kAck) : tf::kSyn,
                       static_cast<uint16_t>(std::min<uint32_t>(
                           config_.rcv_buffer, 65535)));
  o.peer_l2 = t.peer_l2;
  o.retransmission = t.retries > 0;
  o.options.has_mss = true;
  o.options.mss = config_.mss;
  if (!with_ack) {
    // Our offer (RFC 7323, RFC 2018).
    o.options.has_window_scale = t.offered_wscale != 0;
    o.options.window_scale = t.offered_wscale;
    o.options.sack_permitted = config_.sack_permitted;
    if (config_.timestamps) {
      o.options.has_timestamps = true;
      o.options.ts_val = TsNow(now, t.ts_offset);
      o.options.ts_ecr = 0;
    }
    return;
  }
  // Simultaneous open: answer what the peer's SYN offered.
  o.options.has_window_scale = t.rcv_wscale != 0;
  o.options.window_scale = t.rcv_wscale;
  o.options.sack_permitted = (t.flags & tcb_flags::kSackOk) != 0;
  AddTimestamps(o, t, now);
}

// RFC 9293 3.10.7.3: SYN-SENT.
void TcpStack::OnSynSent(const flow::FlowKey& key, uint32_t, uint32_t index,
                         const Segment& seg, uint64_t now) {
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
  t.rcv_adv = t.rcv_nxt + std::min<uint32_t>(config_.rcv_buffer, 65535);
  const wire::TcpOptions& o = seg.options;
  if (o.has_window_scale && t.offered_wscale != 0) {
    t.snd_wscale = std::min(o.window_scale, wire::kMaxWindowScale);
    t.rcv_wscale = t.offered_wscale;
  }
  if (o.sack_permitted && config_.sack_permitted) t.flags |= tcb_flags::kSackOk;
  if (o.has_timestamps && config_.timestamps) {
    t.flags |= tcb_flags::kTimestamps;
    t.ts_recent = o.ts_val;
    t.ts_recent_ns = now;
  }
  uint16_t mss = std::min<uint16_t>(o.has_mss ? o.mss : kDefaultMss, config_.mss);
  if (t.flags & tcb_flags::kTimestamps) {
    // Saturating: an MSS option below 12 must not wrap to 64 KB segments.
    mss = static_cast<uint16_t>(
        mss > kTimestampOptionSpace ? mss - kTimestampOptionSpace : 0);
  }
  t.snd_mss = std::max<uint16_t>(mss, 64);
  t.cwnd = config_.initial_cwnd_segments * t.snd_mss;
  t.ssthresh = 0xffffffff;
  if (has_ack) {
    // Our SYN is acknowledged: ESTABLISHED, and the ACK is owed (it leaves
    // at the next Flush, so a request the application sends on kConnected
    // carries it).
    EnterEstablishedActive(t, index, seg, now);
    t.flags |= tcb_flags::kAckPending;
    MarkDirty(t, index);
    // Sixth onward: text or FIN that came on the SYN-ACK, after its SYN.
    if (seg.payload_length > 0 || (seg.flags & tf::kFin)) {
      Segment rest = seg;
      rest.seq = seg.seq + 1;
      rest.flags = static_cast<uint8_t>(seg.flags & ~tf::kSyn);
      ProcessText(t, index, rest, now);
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
  SendSyn(t, now, /*with_ack=*/true);
  ArmRto(t, index, now);
}

void TcpStack::EnterEstablishedActive(Tcb& t, uint32_t index,
                                      const Segment& seg, uint64_t now) {
  t.snd_una = seg.ack;
  // The window of a SYN-ACK is never scaled; that of a later ACK is.
  const uint32_t wnd = (seg.flags & tf::kSyn)
                           ? uint32_t{seg.window}
                           : uint32_t{seg.window} << t.snd_wscale;
  t.snd_wnd = wnd;
  t.max_snd_wnd = wnd;
  t.snd_wl1 = seg.seq;
  t.snd_wl2 = seg.ack;
  if ((t.flags & tcb_flags::kTimestamps) && seg.options.has_timestamps &&
      seg.options.ts_ecr != 0) {
    const uint32_t rtt_ms = TsNow(now, t.ts_offset) - seg.options.ts_ecr;
    if (rtt_ms < 60'000) UpdateRtt(t, uint64_t{rtt_ms} * 1000);
  } else if (t.flags & tcb_flags::kRttTiming) {
    UpdateRtt(t, (now - t.rtt_start_ns) / 1000);
  }
  t.flags &= ~tcb_flags::kRttTiming;
  t.retries = 0;
  CancelTimer(t.rto_timer);
  t.last_rx_ns = now;
  SetState(t, TcpState::kEstablished);
  if (config_.keepalive) ArmAux(t, index, now + config_.keepalive_idle_ns);
  Event(AppEvent::Kind::kConnected, t);
}

// RFC 9293 3.10.7.1: no connection and no listener.
void TcpStack::OnClosed(const flow::FlowKey& key, uint32_t, uint32_t,
                        const Segment& seg, uint64_t) {
  counters_.Count(Drop::kClosedPort);
  SendRstFor(key, seg);
}

void TcpStack::SendRstFor(const flow::FlowKey& key, const Segment& seg) {
  // If the ACK bit is off, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
  // if it is on, <SEQ=SEG.ACK><CTL=RST>.
  if (seg.flags & tf::kAck) {
    Emit(key, seg.ack, SeqNum(0), tf::kRst, 0);
  } else {
    Emit(key, SeqNum(0), seg.seq + seg.SegLen(), tf::kRst | tf::kAck, 0);
  }
  counters_.Add(Mib::kOutRsts);
}

// RFC 9293 3.10.7.2: LISTEN. (First, RST: ignored by the dispatch table.)
void TcpStack::OnListen(const flow::FlowKey& key, uint32_t hash,
                        uint32_t index, const Segment& seg, uint64_t now) {
  Listener& l = listeners_[index];
  // Second: any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>,
  // unless it completes a SYN-cookie handshake (CONFORMANCE.md item 32).
  if (seg.flags & tf::kAck) {
    if (!(seg.flags & tf::kSyn) && TryCookieAck(key, hash, index, seg, now)) {
      return;
    }
    counters_.Count(Drop::kListenAck);
    SendRstFor(key, seg);
    return;
  }
  // Third: SYN. A SYN that also carries FIN or RST is not an opening.
  if (seg.flags & (tf::kFin | tf::kRst)) {
    counters_.Count(Drop::kSynFin);
    return;
  }
  if (l.AcceptQueueFull()) {
    // As Linux: no point in a handshake the application cannot accept.
    counters_.Count(Drop::kAcceptQueueFull);
    counters_.Add(Mib::kListenOverflows);
    counters_.Add(Mib::kListenDrops);
    return;
  }
  // CONFORMANCE.md items 30 and 35: a cookie instead of SYN-queue state
  // always, or when the SYN queue (or the half-open pool, or the table) is
  // full; without cookies such a SYN is dropped.
  const SynCookieMode mode = config_.syncookies;
  if (mode == SynCookieMode::kAlways) {
    SendCookieSynAck(key, seg, now);
    return;
  }
  if (l.syn_count >= config_.syn_backlog) {
    if (mode == SynCookieMode::kOverflow) {
      SendCookieSynAck(key, seg, now);
      return;
    }
    counters_.Count(Drop::kSynQueueFull);
    counters_.Add(Mib::kListenDrops);
    return;
  }
  const uint32_t h_index = half_open_ids_.Alloc();
  if (h_index == flow::IndexPool::kNoIndex) {
    if (mode == SynCookieMode::kOverflow) {
      SendCookieSynAck(key, seg, now);
      return;
    }
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return;
  }
  if (!table_.Insert(key, hash, Encode(Kind::kHalfOpen, h_index))) {
    half_open_ids_.Free(h_index);
    if (mode == SynCookieMode::kOverflow) {
      SendCookieSynAck(key, seg, now);
      return;
    }
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return;
  }
  HalfOpen& h = half_open_[h_index];
  h = HalfOpen{};
  h.key = key;
  h.hash = hash;
  h.irs = seg.seq;
  h.iss = isn_.IsnAndOffset(key, now, &h.ts_offset);
  if (iss_floor_set_ && h.iss <= iss_floor_) {
    // RFC 6191: a new incarnation starts above the old one's sequence space.
    h.iss = iss_floor_ + 65536;
  }
  h.listener = static_cast<uint16_t>(index);
  h.peer_l2 = seg.peer_l2;
  const wire::TcpOptions& o = seg.options;
  h.peer_mss = o.has_mss ? o.mss : 0;
  h.peer_wscale = o.has_window_scale && config_.window_scale != 0
                      ? std::min(o.window_scale, wire::kMaxWindowScale)
                      : 0xff;
  h.sack_ok = o.sack_permitted && config_.sack_permitted;
  h.timestamps = o.has_timestamps && config_.timestamps;
  h.ts_recent = o.ts_val;
  ++l.syn_count;
  // Data on the SYN is not queued before the handshake completes
  // (CONFORMANCE.md item 4): RCV.NXT = IRS + 1, the peer resends it.
  h.timer = timers_.Arm(now + config_.rto_initial_ns,
                        TimerCookie(TimerKind::kSynAck, h_index));
  SendSynAck(h, now);
}

void TcpStack::SendSynAck(const HalfOpen& h, uint64_t now) {
  OutSegment& o = Emit(h.key, h.iss, h.irs + 1, tf::kSyn | tf::kAck,
                       static_cast<uint16_t>(std::min<uint32_t>(
                           config_.rcv_buffer, 65535)));
  o.peer_l2 = h.peer_l2;
  o.options.has_mss = true;
  o.options.mss = config_.mss;
  if (h.peer_wscale != 0xff) {
    o.options.has_window_scale = true;
    o.options.window_scale = config_.window_scale;
  }
  o.options.sack_permitted = h.sack_ok;
  if (h.timestamps) {
    o.options.has_timestamps = true;
    o.options.ts_val = TsNow(now, h.ts_offset);
    o.options.ts_ecr = h.ts_recent;
  }
}

// SYN-RECEIVED, on a SYN-queue entry (RFC 9293 3.10.7.4 for that state).
void TcpStack::OnSynReceived(const flow::FlowKey& key, uint32_t,
                             uint32_t index, const Segment& seg,
                             uint64_t now) {
  HalfOpen& h = half_open_[index];
  const SeqNum rcv_nxt = h.irs + 1;
  const SeqNum snd_nxt = h.iss + 1;
  // Our ACKs here are no SYNs: their window is scaled once both sides
  // offered scaling (RFC 7323 2.2), and they carry timestamps once the
  // SYN-ACK did (RFC 7323 3.2; CONFORMANCE.md item 21).
  auto send_ack = [&] {
    const uint32_t wnd = std::min<uint32_t>(config_.rcv_buffer, 65535);
    const uint8_t shift = h.peer_wscale != 0xff ? config_.window_scale : 0;
    OutSegment& o = Emit(key, snd_nxt, rcv_nxt, tf::kAck,
                         static_cast<uint16_t>(wnd >> shift));
    o.peer_l2 = h.peer_l2;
    if (h.timestamps) {
      o.options.has_timestamps = true;
      o.options.ts_val = TsNow(now, h.ts_offset);
      o.options.ts_ecr = h.ts_recent;
    }
  };
  // A retransmitted SYN means our SYN-ACK was lost: send it again now
  // rather than at the next retransmission timeout (as Linux does).
  if ((seg.flags & (tf::kSyn | tf::kAck | tf::kRst)) == tf::kSyn &&
      seg.seq == h.irs) {
    counters_.Count(Drop::kSynRecvDupSyn);
    counters_.Add(Mib::kSynRetrans);
    counters_.Add(Mib::kRetransSegs);
    SendSynAck(h, now);
    return;
  }
  // First: check the sequence number.
  const uint32_t wnd = config_.rcv_buffer;
  const uint32_t len = seg.SegLen();
  bool acceptable;
  if (len == 0) {
    acceptable = seg.seq.InWindow(rcv_nxt, rcv_nxt + wnd);
  } else {
    acceptable = seg.seq.InWindow(rcv_nxt, rcv_nxt + wnd) ||
                 (seg.seq + (len - 1)).InWindow(rcv_nxt, rcv_nxt + wnd);
  }
  if (!acceptable) {
    if (seg.flags & tf::kRst) {
      counters_.Count(Drop::kRstOutOfWindow);
    } else {
      counters_.Count(Drop::kOutOfWindow);
      send_ack();
    }
    return;
  }
  // Second: RST. From a passive open, return to LISTEN: free the entry, no
  // reply (CONFORMANCE.md item 8). RFC 5961 3.2: only an exact match resets.
  if (seg.flags & tf::kRst) {
    if (seg.seq == rcv_nxt) {
      counters_.Add(Mib::kAttemptFails);
      table_.Erase(h.key, h.hash);
        FreeHalfOpen(index);
    } else {
      counters_.Count(Drop::kRstChallenged);
      counters_.Add(Mib::kChallengeAck);
      send_ack();
    }
    return;
  }
  // Fourth: a SYN in the window: challenge ACK (RFC 5961 4.2).
  if (seg.flags & tf::kSyn) {
    counters_.Count(Drop::kSynChallenged);
    counters_.Add(Mib::kChallengeAck);
    send_ack();
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
  Listener& l = listeners_[h.listener];
  if (l.AcceptQueueFull()) {
    // Not admitted; the entry stays, so the SYN-ACK retransmission (or the
    // client's next segment) completes it once there is room.
    counters_.Count(Drop::kAcceptQueueFull);
    counters_.Add(Mib::kListenOverflows);
    counters_.Add(Mib::kListenDrops);
    return;
  }
  const uint32_t t_index = EstablishPassive(h, seg, now);
  if (t_index == kNoIndex) {
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return;
  }
  Tcb& t = tcbs_[t_index];
  table_.Update(key, t.hash, Encode(Kind::kTcb, t_index));
  FreeHalfOpen(index);
  // The rest of the segment (data, FIN) is processed as in ESTABLISHED.
  if (seg.payload_length > 0 || (seg.flags & tf::kFin)) {
    OnSynchronized(key, t.hash, t_index, seg, now);
  }
}

uint32_t TcpStack::EstablishPassive(const HalfOpen& h, const Segment& seg,
                                    uint64_t now) {
  const uint32_t t_index = NewTcb(h, now);
  if (t_index == kNoIndex) return kNoIndex;
  Tcb& t = tcbs_[t_index];
  // RFC 7323 4.3: the completing ACK is in sequence (SEG.SEQ = RCV.NXT =
  // Last.ACK.sent), so a TSval not older than the SYN's is TS.Recent.
  if ((t.flags & tcb_flags::kTimestamps) && seg.options.has_timestamps &&
      static_cast<int32_t>(seg.options.ts_val - t.ts_recent) >= 0) {
    t.ts_recent = seg.options.ts_val;
    t.ts_recent_ns = now;
  }
  // The window of the ACK is scaled now that the handshake is done.
  t.snd_wnd = uint32_t{seg.window} << t.snd_wscale;
  t.max_snd_wnd = t.snd_wnd;
  t.snd_wl1 = seg.seq;
  t.snd_wl2 = seg.ack;
  if ((t.flags & tcb_flags::kTimestamps) && seg.options.has_timestamps &&
      seg.options.ts_ecr != 0) {
    const uint32_t rtt_ms = TsNow(now, t.ts_offset) - seg.options.ts_ecr;
    if (rtt_ms < 60'000) UpdateRtt(t, uint64_t{rtt_ms} * 1000);
  }
  counters_.Add(Mib::kPassiveOpens);
  listeners_[h.listener].Push(ConnId{t_index, t.generation});
  return t_index;
}

// The SYN-ACK of a SYN answered without state: our ISN is the cookie; the
// client's window scale and SACK-permitted travel in our TSval when it
// offered timestamps (without them, neither option is offered back, as it
// could not be remembered). Never retransmitted (CONFORMANCE.md item 33).
void TcpStack::SendCookieSynAck(const flow::FlowKey& key, const Segment& seg,
                                uint64_t now) {
  const wire::TcpOptions& o = seg.options;
  const uint32_t counter = SynCookies::Counter(now, cookie_params_);
  // The TSval offset comes from the cookie's own hash (its secret high
  // word), so the ACK's Check finds it again: one SipHash per SYN, done for
  // the whole burst by PrepareCookies when it could be.
  const uint16_t peer_mss = o.has_mss ? o.mss : 0;
  uint32_t ts_offset = 0;
  SeqNum iss;
  bool prepared = false;
  if (counter == batch_counter_) {
    for (uint32_t j = batch_next_; j < batch_n_; ++j) {
      if (batch_keys_[j] == key && batch_seqs_[j] == seg.seq &&
          batch_mss_[j] == peer_mss) {
        iss = batch_iss_[j];
        ts_offset = batch_aux_[j];
        batch_next_ = j + 1;
        prepared = true;
        break;
      }
    }
  }
  if (!prepared) iss = cookies_.Make(key, seg.seq, peer_mss, counter, &ts_offset);
  OutSegment& out = Emit(key, iss, seg.seq + 1, tf::kSyn | tf::kAck,
                         static_cast<uint16_t>(std::min<uint32_t>(
                             config_.rcv_buffer, 65535)));
  out.peer_l2 = seg.peer_l2;
  out.syn_cookie = true;
  out.options.has_mss = true;
  out.options.mss = config_.mss;
  if (o.has_timestamps && config_.timestamps) {
    const bool wscale = o.has_window_scale && config_.window_scale != 0;
    const bool sack = o.sack_permitted && config_.sack_permitted;
    out.options.has_window_scale = wscale;
    out.options.window_scale = config_.window_scale;
    out.options.sack_permitted = sack;
    out.options.has_timestamps = true;
    out.options.ts_val = EncodeCookieTsval(
        TsNow(now, ts_offset),
        wscale ? o.window_scale : kCookieNoWscale, sack);
    out.options.ts_ecr = o.ts_val;
  }
  cookies_sent_ = true;
  last_cookie_ns_ = now;
  counters_.Add(Mib::kSyncookiesSent);
}

void TcpStack::PrepareCookies(const flow::FlowKey* keys, const uint32_t* found,
                              const Segment* segs, uint32_t n, uint64_t now) {
  batch_n_ = 0;
  batch_next_ = 0;
  if (config_.syncookies == SynCookieMode::kOff) return;
  const bool pool_full = half_open_ids_.in_use() >= config_.max_half_open;
  for (uint32_t k = 0; k < n && batch_n_ < kCookieBatch; ++k) {
    const Segment& seg = segs[k];
    if ((seg.flags & (tf::kSyn | tf::kAck | tf::kRst | tf::kFin)) != tf::kSyn ||
        found[k] != flow::FlowTable::kNotFound) {
      continue;
    }
    const Listener* l = FindListener(keys[k]);
    if (l == nullptr ||
        (config_.syncookies == SynCookieMode::kOverflow && !pool_full &&
         l->syn_count < config_.syn_backlog)) {
      continue;
    }
    batch_keys_[batch_n_] = keys[k];
    batch_seqs_[batch_n_] = seg.seq;
    batch_mss_[batch_n_] = seg.options.has_mss ? seg.options.mss : 0;
    ++batch_n_;
  }
  // A handful is cheaper one at a time (a vector group costs about half
  // its width in single cookies).
  if (batch_n_ < 4) {
    batch_n_ = 0;
    return;
  }
  batch_counter_ = SynCookies::Counter(now, cookie_params_);
  cookies_.MakeBatch(batch_keys_, batch_seqs_, batch_mss_, batch_n_,
                     batch_counter_, batch_iss_, batch_aux_);
}

bool TcpStack::TryCookieAck(const flow::FlowKey& key, uint32_t hash,
                            uint32_t listener, const Segment& seg,
                            uint64_t now) {
  if (config_.syncookies == SynCookieMode::kOff) return false;
  // As Linux: an ACK is only taken for a cookie while cookies are being
  // sent (within two slots of the last one), so that a blind attacker
  // cannot probe for valid cookies when there is no flood.
  const uint64_t window = uint64_t{2} << cookie_params_.counter_period_log2_ns;
  if (config_.syncookies != SynCookieMode::kAlways &&
      (!cookies_sent_ || now - last_cookie_ns_ > window)) {
    return false;
  }
  const uint32_t counter = SynCookies::Counter(now, cookie_params_);
  uint32_t ts_offset;
  const uint16_t mss =
      cookies_.Check(key, seg.seq - 1, seg.ack - 1, counter, &ts_offset);
  uint8_t wscale = kCookieNoWscale;
  bool sack = false;
  const bool ts = seg.options.has_timestamps && config_.timestamps;
  if (mss == 0 ||
      (ts && !DecodeCookieTsecr(seg.options.ts_ecr, &wscale, &sack))) {
    counters_.Add(Mib::kSyncookiesFailed);
    return false;  // the caller answers with RST
  }
  Listener& l = listeners_[listener];
  if (l.AcceptQueueFull()) {
    // Not admitted (CONFORMANCE.md item 34): no state, no answer; the
    // client's retransmission of its data (or its next segment) finds
    // room later, its cookie still valid.
    counters_.Count(Drop::kAcceptQueueFull);
    counters_.Add(Mib::kListenOverflows);
    counters_.Add(Mib::kListenDrops);
    return true;
  }
  HalfOpen h;
  h.key = key;
  h.hash = hash;
  h.iss = seg.ack - 1;
  h.irs = seg.seq - 1;
  h.ts_offset = ts_offset;
  h.listener = static_cast<uint16_t>(listener);
  h.peer_l2 = seg.peer_l2;
  h.peer_mss = mss;
  h.peer_wscale = wscale == kCookieNoWscale ? 0xff : wscale;
  h.sack_ok = sack;
  h.timestamps = ts;
  h.ts_recent = seg.options.ts_val;
  // The key is not in the table (we are in LISTEN for it), and an insert
  // succeeds whenever the table is below capacity: check that first, so
  // the TCB's index can go in directly.
  if (table_.size() >= table_.capacity()) {
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return true;
  }
  const uint32_t t_index = EstablishPassive(h, seg, now);
  if (t_index == kNoIndex) {
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return true;
  }
  table_.Insert(key, hash, Encode(Kind::kTcb, t_index));
  counters_.Add(Mib::kSyncookiesRecv);
  // Data or FIN on the completing ACK: as in ESTABLISHED (item 32).
  if (seg.payload_length > 0 || (seg.flags & tf::kFin)) {
    OnSynchronized(key, hash, t_index, seg, now);
  }
  return true;
}

uint32_t TcpStack::NewTcb(const HalfOpen& h, uint64_t now) {
  const uint32_t index = tcb_ids_.Alloc();
  if (index == flow::IndexPool::kNoIndex) return kNoIndex;
  Tcb& t = tcbs_[index];
  const uint32_t generation = t.generation + 1;
  t = Tcb{};
  t.generation = generation;
  t.flags = tcb_flags::kInUse;
  t.key = h.key;
  t.hash = h.hash;
  t.listener = h.listener;
  t.peer_l2 = h.peer_l2;
  t.iss = h.iss;
  t.snd_una = h.iss + 1;
  t.snd_nxt = t.snd_una;
  t.snd_max = t.snd_una;
  t.irs = h.irs;
  t.rcv_nxt = h.irs + 1;
  t.rcv_adv = t.rcv_nxt + std::min<uint32_t>(config_.rcv_buffer, 65535);
  if (h.peer_wscale != 0xff) {
    t.snd_wscale = h.peer_wscale;
    t.rcv_wscale = config_.window_scale;
  }
  if (h.timestamps) t.flags |= tcb_flags::kTimestamps;
  if (h.sack_ok) t.flags |= tcb_flags::kSackOk;
  t.ts_recent = h.ts_recent;
  t.ts_recent_ns = now;
  t.ts_offset = h.ts_offset;
  uint16_t mss = std::min<uint16_t>(h.peer_mss != 0 ? h.peer_mss : kDefaultMss,
                                    config_.mss);
  if (h.timestamps) {
    // Saturating: an MSS option below 12 must not wrap to 64 KB segments.
    mss = static_cast<uint16_t>(
        mss > kTimestampOptionSpace ? mss - kTimestampOptionSpace : 0);
  }
  t.snd_mss = std::max<uint16_t>(mss, 64);
  t.rto_us = static_cast<uint32_t>(config_.rto_initial_ns / 1000);
  t.cwnd = config_.initial_cwnd_segments * t.snd_mss;
  t.ssthresh = 0xffffffff;
  t.last_rx_ns = now;
  // No challenge ACK yet: the first one may go at once (unsigned
  // arithmetic, so this holds for a clock that starts at 0 too).
  t.last_challenge_ns = now - config_.challenge_ack_interval_ns;
  SetState(t, TcpState::kEstablished);
  if (config_.keepalive) ArmAux(t, index, now + config_.keepalive_idle_ns);
  return index;
}

// RFC 9293 3.10.7.4: the synchronized states.
void TcpStack::OnSynchronized(const flow::FlowKey&, uint32_t, uint32_t index,
                              const Segment& seg, uint64_t now) {
  Tcb& t = tcbs_[index];
  // An active open in SYN-RECEIVED (simultaneous open): the peer's own
  // SYN-ACK, exactly at IRS and acking our SYN, completes it as an ACK
  // would (as Linux tcp_validate_incoming lets it pass); any other SYN is
  // challenged below like in the synchronized states.
  if (t.state == TcpState::kSynReceived &&
      (seg.flags & (tf::kSyn | tf::kAck | tf::kRst)) == (tf::kSyn | tf::kAck) &&
      seg.seq + 1 == t.rcv_nxt && seg.ack == t.snd_max) {
    // RFC 7323 4.3: SEG.SEQ = IRS <= Last.ACK.sent, so a TSval not older
    // than TS.Recent is recorded, as an ACK's would be.
    if ((t.flags & tcb_flags::kTimestamps) && seg.options.has_timestamps &&
        static_cast<int32_t>(seg.options.ts_val - t.ts_recent) >= 0) {
      t.ts_recent = seg.options.ts_val;
      t.ts_recent_ns = now;
    }
    EnterEstablishedActive(t, index, seg, now);
    return;
  }
  // RFC 5961 4.2: a SYN gets the (rate-limited) challenge ACK of the fourth
  // step "irrespective of the sequence number", so where PAWS or the first
  // step would drop it with a plain ACK, it goes to the challenge instead
  // (as Linux tcp_validate_incoming: goto syn_challenge). The ACK on the
  // wire is the same; the rate limit and the counter are the challenge's.
  const bool syn = (seg.flags & tf::kSyn) != 0;
  // RFC 7323 5.3: PAWS comes before the sequence check.
  if (PawsReject(t, seg, now)) {
    if (syn) {
      counters_.Count(Drop::kSynChallenged);
      ChallengeAck(t, index, now);
      return;
    }
    counters_.Add(Mib::kPawsEstab);
    counters_.Count(Drop::kPaws);
    SendAck(t, now);
    return;
  }
  // First: check the sequence number.
  if (!Acceptable(t, seg)) {
    if (seg.flags & tf::kRst) {
      counters_.Count(Drop::kRstOutOfWindow);
    } else if (syn) {
      counters_.Count(Drop::kSynChallenged);
      ChallengeAck(t, index, now);
    } else {
      counters_.Count(Drop::kOutOfWindow);
      SendAck(t, now);
    }
    return;
  }
  // Second: the RST bit (RFC 5961 3.2): reset only when SEG.SEQ = RCV.NXT;
  // elsewhere in the window, a challenge ACK.
  if (seg.flags & tf::kRst) {
    if (seg.seq == t.rcv_nxt) {
      if (t.state == TcpState::kSynReceived) {
        // From SYN-SENT: the connection was refused (RFC 9293 3.10.7.4).
        counters_.Add(Mib::kAttemptFails);
        counters_.Add(Mib::kConnectRefused);
        CloseTcb(index, CloseReason::kRefused, /*notify=*/true);
        return;
      }
      if (t.state == TcpState::kEstablished ||
          t.state == TcpState::kCloseWait) {
        counters_.Add(Mib::kEstabResets);
      }
      CloseTcb(index, CloseReason::kReset, /*notify=*/true);
    } else {
      counters_.Count(Drop::kRstChallenged);
      ChallengeAck(t, index, now);
    }
    return;
  }
  // Fourth: the SYN bit, whatever its sequence (RFC 5961 4.2).
  if (syn) {
    counters_.Count(Drop::kSynChallenged);
    ChallengeAck(t, index, now);
    return;
  }
  // Fifth: the ACK field. Without it the segment is dropped.
  if (!(seg.flags & tf::kAck)) {
    counters_.Count(Drop::kNoAckFlag);
    return;
  }
  if (t.state == TcpState::kSynReceived) {
    // SYN-RECEIVED (active side): SND.UNA < SEG.ACK =< SND.NXT completes
    // the handshake; anything else gets <SEQ=SEG.ACK><CTL=RST>.
    if (!(t.snd_una < seg.ack && seg.ack <= t.snd_max)) {
      counters_.Count(Drop::kSynRecvBadAck);
      SendRstFor(t.key, seg);
      return;
    }
    EnterEstablishedActive(t, index, seg, now);
  }
  // RFC 5961 5.2: SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
  if (seg.ack > t.snd_max) {
    counters_.Count(Drop::kAckUnsent);
    SendAck(t, now);
    return;
  }
  if (seg.ack < t.snd_una - t.max_snd_wnd) {
    counters_.Count(Drop::kAckTooOld);
    SendAck(t, now);
    return;
  }
  // The segment passed the sequence and ACK checks: the peer is alive.
  // Only now, so that a blind sender's out-of-window segments cannot keep
  // a dead connection from its keepalive (Linux: rcv_tstamp in tcp_ack).
  t.last_rx_ns = now;
  t.keepalive_probes = 0;
  // RFC 7323 4.3: TS.Recent follows the segments that are in order.
  if ((t.flags & tcb_flags::kTimestamps) && seg.options.has_timestamps &&
      seg.seq <= t.rcv_nxt) {
    t.ts_recent = seg.options.ts_val;
    t.ts_recent_ns = now;
  }
  bool fin_acked = false;
  bool entered_fin_wait2 = false;
  ProcessAck(t, index, seg, now, &fin_acked);
  switch (t.state) {
    case TcpState::kFinWait1:
      // Our FIN is acknowledged: FIN-WAIT-2, which must not last forever
      // once the application has closed (CONFORMANCE.md item 29). Its
      // timer is armed below, unless the peer's FIN in this same segment
      // takes the connection straight on to TIME-WAIT.
      if (fin_acked) {
        SetState(t, TcpState::kFinWait2);
        entered_fin_wait2 = true;
      }
      break;
    case TcpState::kClosing:
      if (fin_acked) {
        EnterTimeWait(index, now);
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
    ProcessText(t, index, seg, now);
  }
  if (entered_fin_wait2 && t.state == TcpState::kFinWait2) {
    ArmAux(t, index, now + config_.fin_wait2_timeout_ns);
  }
}

bool TcpStack::PawsReject(Tcb& t, const Segment& seg, uint64_t now) {
  if (!(t.flags & tcb_flags::kTimestamps) || !seg.options.has_timestamps ||
      (seg.flags & tf::kRst)) {
    return false;  // a RST is never rejected by PAWS alone (RFC 7323 5.3)
  }
  if (static_cast<int32_t>(seg.options.ts_val - t.ts_recent) >= 0) return false;
  if (now - t.ts_recent_ns > kPawsIdleNs) {
    // RFC 7323 5.5: TS.Recent older than 24 days is invalid.
    t.ts_recent = seg.options.ts_val;
    t.ts_recent_ns = now;
    return false;
  }
  return true;
}

uint32_t TcpStack::RcvWindow(const Tcb& t) const {
  const uint32_t used = t.rcv_queue.size();
  const uint32_t free = used >= config_.rcv_buffer ? 0 : config_.rcv_buffer - used;
  return std::min<uint32_t>(free, uint32_t{65535} << t.rcv_wscale);
}

// RFC 9293 3.10.7.4 first: the four cases of segment acceptability, against
// the larger of the window we advertised and the one we could now.
bool TcpStack::Acceptable(const Tcb& t, const Segment& seg) const {
  const uint32_t wnd =
      std::max<uint32_t>(RcvWindow(t), static_cast<uint32_t>(
                                           std::max(t.rcv_adv - t.rcv_nxt, 0)));
  const uint32_t len = seg.SegLen();
  const SeqNum lo = t.rcv_nxt;
  const SeqNum hi = t.rcv_nxt + wnd;
  if (len == 0) {
    return wnd == 0 ? seg.seq == lo : seg.seq.InWindow(lo, hi);
  }
  if (wnd == 0) return false;
  return seg.seq.InWindow(lo, hi) || (seg.seq + (len - 1)).InWindow(lo, hi);
}

void TcpStack::ProcessAck(Tcb& t, uint32_t index, const Segment& seg,
                          uint64_t now, bool* fin_acked) {
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
    // RTT sample (RFC 6298 with RFC 7323 timestamps, else Karn's rule).
    if ((t.flags & tcb_flags::kTimestamps) && seg.options.has_timestamps &&
        seg.options.ts_ecr != 0) {
      const uint32_t rtt_ms = TsNow(now, t.ts_offset) - seg.options.ts_ecr;
      if (rtt_ms < 60'000) UpdateRtt(t, uint64_t{rtt_ms} * 1000);
    } else if ((t.flags & tcb_flags::kRttTiming) && t.rtt_seq < seg.ack) {
      t.flags &= ~tcb_flags::kRttTiming;
      UpdateRtt(t, (now - t.rtt_start_ns) / 1000);
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
      ArmRto(t, index, now);
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
  // backoff: the probes stay exponentially spaced.
  if (t.snd_wnd == 0) t.retries = 0;
}

// Seventh (segment text) and eighth (FIN). Out-of-order data is dropped
// and answered with a duplicate ACK: short request/response flows gain
// little from a reassembly queue, and the peer's retransmission fills the
// gap.
void TcpStack::ProcessText(Tcb& t, uint32_t index, const Segment& seg,
                           uint64_t now) {
  const bool can_receive = t.state == TcpState::kEstablished ||
                           t.state == TcpState::kFinWait1 ||
                           t.state == TcpState::kFinWait2;
  if (!can_receive) {
    // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN is already in.
    counters_.Count(Drop::kDataAfterFin);
    SendAck(t, now);
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
      SendAck(t, now);
      EnterTimeWait(index, now);
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

void TcpStack::ChallengeAck(Tcb& t, uint32_t, uint64_t now) {
  // Per connection, never global (CVE-2016-5696).
  if (now - t.last_challenge_ns < config_.challenge_ack_interval_ns) {
    counters_.Count(Drop::kChallengeRateLimited);
    return;
  }
  t.last_challenge_ns = now;
  counters_.Add(Mib::kChallengeAck);
  SendAck(t, now);
}

// TIME-WAIT, on the compact record.
void TcpStack::OnTimeWait(const flow::FlowKey& key, uint32_t hash,
                          uint32_t index, const Segment& seg, uint64_t now) {
  TimeWaitRecord& r = time_wait_[index];
  auto send_ack = [&] {
    OutSegment& o = Emit(key, r.snd_nxt, r.rcv_nxt, tf::kAck, r.rcv_wnd);
    if (r.timestamps) {
      o.options.has_timestamps = true;
      o.options.ts_val = TsNow(now, r.ts_offset);
      o.options.ts_ecr = r.ts_recent;
    }
  };
  const bool has_ts = r.timestamps && seg.options.has_timestamps;
  // RFC 1337: a RST must not assassinate TIME-WAIT.
  if (seg.flags & tf::kRst) {
    counters_.Count(Drop::kTimeWaitRst);
    return;
  }
  if ((seg.flags & (tf::kSyn | tf::kAck)) == tf::kSyn) {
    // RFC 9293 MAY-2 / RFC 6191: a SYN may reopen the tuple if it is from
    // a newer incarnation: a newer timestamp, or (without timestamps) a
    // sequence number above the old one.
    // As Linux's tcp_timewait_state_process: the SYN must pass PAWS (its
    // TSval not older than TS.Recent) and be newer by sequence (above the
    // old RCV.NXT) or by timestamp (TSval above TS.Recent). That covers
    // RFC 6191's cases: newer TSval; equal TSval and higher sequence; no
    // timestamps on the SYN and higher sequence.
    const int32_t ts_delta =
        has_ts ? static_cast<int32_t>(seg.options.ts_val - r.ts_recent) : 0;
    const bool newer = ts_delta >= 0 && (seg.seq > r.rcv_nxt || ts_delta > 0);
    if (newer && FindListener(key) != nullptr) {
      counters_.Add(Mib::kTimeWaitReopened);
      iss_floor_ = r.snd_nxt;
      iss_floor_set_ = true;
      table_.Erase(key, hash);
        FreeTimeWait(index);
      Listener* l = FindListener(key);
      OnListen(key, hash, static_cast<uint32_t>(l - listeners_.data()), seg,
               now);
      iss_floor_set_ = false;
      return;
    }
    if (ts_delta < 0) {
      counters_.Add(Mib::kPawsEstab);
      counters_.Count(Drop::kPaws);
    } else {
      counters_.Count(Drop::kTimeWaitAck);
    }
    send_ack();
    return;
  }
  if (has_ts && static_cast<int32_t>(seg.options.ts_val - r.ts_recent) < 0) {
    counters_.Add(Mib::kPawsEstab);
    counters_.Count(Drop::kPaws);
    send_ack();
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
  // A retransmitted FIN: acknowledge it and restart the 2 MSL timeout.
  if (seg.flags & tf::kFin) {
    r.expires_ns = now + 2 * config_.msl_ns;
    TimeWaitUnlink(index);
    TimeWaitPushBack(index);
  }
  counters_.Count(Drop::kTimeWaitAck);
  send_ack();
}

// ---------------------------------------------------------------------------
// State changes and records

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
      return time_wait_ids_.in_use();
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

void TcpStack::FreeTcb(uint32_t index) {
  Tcb& t = tcbs_[index];
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
  table_.Erase(t.key, t.hash);
  if (notify && (t.flags & tcb_flags::kAccepted)) {
    Event(AppEvent::Kind::kClosed, t, reason);
  }
  FreeTcb(index);
}

void TcpStack::EnterTimeWait(uint32_t index, uint64_t now) {
  Tcb& t = tcbs_[index];
  uint32_t r_index = time_wait_ids_.Alloc();
  if (r_index == flow::IndexPool::kNoIndex && tw_head_ != kNoIndex) {
    // Pool full: recycle the oldest record (ARCHITECTURE.md "Memory").
    r_index = tw_head_;
    TimeWaitRecord& old = time_wait_[r_index];
    table_.Erase(old.key, old.hash);
    TimeWaitUnlink(r_index);
    counters_.Add(Mib::kTimeWaitOverflow);
  }
  if (r_index == kNoIndex) {  // no TIME-WAIT pool at all
    counters_.Add(Mib::kConnectionsClosed);
    CloseTcb(index, CloseReason::kNormal, /*notify=*/true);
    return;
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
  r.rcv_wnd = WindowField(t);
  r.expires_ns = now + 2 * config_.msl_ns;
  TimeWaitPushBack(r_index);
  table_.Update(t.key, t.hash, Encode(Kind::kTimeWait, r_index));
  counters_.Add(Mib::kTimeWaitEntered);
  counters_.Add(Mib::kConnectionsClosed);
  if (t.flags & tcb_flags::kAccepted) {
    Event(AppEvent::Kind::kClosed, t, CloseReason::kNormal);
  }
  FreeTcb(index);
}

void TcpStack::FreeHalfOpen(uint32_t index) {
  HalfOpen& h = half_open_[index];
  CancelTimer(h.timer);
  --listeners_[h.listener].syn_count;
  half_open_ids_.Free(index);
}

void TcpStack::FreeTimeWait(uint32_t index) {
  TimeWaitUnlink(index);
  time_wait_ids_.Free(index);
}

void TcpStack::TimeWaitPushBack(uint32_t index) {
  TimeWaitRecord& r = time_wait_[index];
  r.prev = tw_tail_;
  r.next = kNoIndex;
  if (tw_tail_ != kNoIndex) {
    time_wait_[tw_tail_].next = index;
  } else {
    tw_head_ = index;
  }
  tw_tail_ = index;
}

void TcpStack::TimeWaitUnlink(uint32_t index) {
  TimeWaitRecord& r = time_wait_[index];
  if (r.prev != kNoIndex) {
    time_wait_[r.prev].next = r.next;
  } else {
    tw_head_ = r.next;
  }
  if (r.next != kNoIndex) {
    time_wait_[r.next].prev = r.prev;
  } else {
    tw_tail_ = r.prev;
  }
  r.prev = r.next = kNoIndex;
}

// ---------------------------------------------------------------------------
// Output

OutSegment& TcpStack::Emit(const flow::FlowKey& key, SeqNum seq, SeqNum ack,
                           uint8_t flags, uint16_t window) {
  OutSegment& o = output_.emplace_back();
  o.key = key;
  o.seq = seq;
  o.ack = ack;
  o.flags = flags;
  o.window = window;
  o.reply_to = reply_to_;
  counters_.Add(Mib::kOutSegs);
  return o;
}

uint16_t TcpStack::WindowField(Tcb& t) {
  const uint32_t wnd = RcvWindow(t);
  const uint32_t field = std::min<uint32_t>(wnd >> t.rcv_wscale, 65535);
  const SeqNum edge = t.rcv_nxt + (field << t.rcv_wscale);
  if (t.rcv_adv < edge) t.rcv_adv = edge;
  return static_cast<uint16_t>(field);
}

void TcpStack::AddTimestamps(OutSegment& o, const Tcb& t, uint64_t now) {
  if (!(t.flags & tcb_flags::kTimestamps)) return;
  o.options.has_timestamps = true;
  o.options.ts_val = TsNow(now, t.ts_offset);
  o.options.ts_ecr = t.ts_recent;
}

void TcpStack::SendAck(Tcb& t, uint64_t now) {
  OutSegment& o = Emit(t.key, t.snd_nxt, t.rcv_nxt, tf::kAck, WindowField(t));
  o.peer_l2 = t.peer_l2;
  AddTimestamps(o, t, now);
  t.flags &= ~tcb_flags::kAckPending;
}

void TcpStack::MarkDirty(Tcb& t, uint32_t index) {
  if (t.flags & tcb_flags::kDirty) return;
  t.flags |= tcb_flags::kDirty;
  dirty_.push_back(index);
}

void TcpStack::Flush(uint64_t now) {
  for (size_t i = 0; i < dirty_.size(); ++i) {
    const uint32_t index = dirty_[i];
    Tcb& t = tcbs_[index];
    if (!(t.flags & tcb_flags::kInUse) || !(t.flags & tcb_flags::kDirty)) {
      continue;
    }
    t.flags &= ~tcb_flags::kDirty;
    Output(t, index, now, /*force_probe=*/false);
  }
  dirty_.clear();
}

// Sends what the windows allow from SND.NXT: data, then the FIN once all
// data is out; an owed ACK rides on the first segment or goes alone.
void TcpStack::Output(Tcb& t, uint32_t index, uint64_t now, bool force_probe) {
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
      o.conn = index;
      o.payload_length = static_cast<uint16_t>(len);
      o.payload_offset = static_cast<uint32_t>(t.snd_nxt - t.snd_una);
      AddTimestamps(o, t, now);
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
          t.rtt_start_ns = now;
        }
      }
      if (fin) t.flags |= tcb_flags::kFinSent;
      t.snd_nxt = end;
      if (t.snd_max < end) t.snd_max = end;
      t.flags &= ~tcb_flags::kAckPending;
      if (t.rto_timer == timer::TimerWheel::kInvalidHandle) ArmRto(t, index, now);
      if (fin) break;
    }
    // Data waiting on a zero window with nothing in flight: the RTO timer
    // doubles as the persist timer (a 1-byte probe when it fires).
    if (t.snd_wnd == 0 && t.snd_queue.size() > 0 && t.snd_una == t.snd_max &&
        t.rto_timer == timer::TimerWheel::kInvalidHandle) {
      ArmRto(t, index, now);
    }
  }
  if (t.flags & tcb_flags::kAckPending) SendAck(t, now);
}

void TcpStack::CopyPayload(const OutSegment& seg, uint8_t* out) {
  if (seg.payload_length == 0) return;
  tcbs_[seg.conn].snd_queue.CopyOut(chunks_, seg.payload_offset,
                                    seg.payload_length, out);
}

// ---------------------------------------------------------------------------
// Timers

void TcpStack::CancelTimer(timer::TimerWheel::Handle& h) {
  if (h != timer::TimerWheel::kInvalidHandle) {
    timers_.Cancel(h);
    h = timer::TimerWheel::kInvalidHandle;
  }
}

void TcpStack::ArmRto(Tcb& t, uint32_t index, uint64_t now) {
  const uint64_t at = now + uint64_t{t.rto_us} * 1000;
  if (t.rto_timer == timer::TimerWheel::kInvalidHandle ||
      !timers_.Rearm(t.rto_timer, at)) {
    t.rto_timer = timers_.Arm(at, TimerCookie(TimerKind::kRto, index));
  }
}

void TcpStack::ArmAux(Tcb& t, uint32_t index, uint64_t at) {
  if (t.aux_timer == timer::TimerWheel::kInvalidHandle ||
      !timers_.Rearm(t.aux_timer, at)) {
    t.aux_timer = timers_.Arm(at, TimerCookie(TimerKind::kAux, index));
  }
}

void TcpStack::UpdateRtt(Tcb& t, uint64_t rtt_us) {
  // RFC 6298 2.2 and 2.3 (alpha 1/8, beta 1/4, K = 4, G = 1 ms).
  const auto r = static_cast<uint32_t>(std::min<uint64_t>(rtt_us, 0xffffffffu));
  if (t.srtt_us == 0) {
    t.srtt_us = std::max<uint32_t>(r, 1);
    t.rttvar_us = r / 2;
  } else {
    const uint32_t delta = t.srtt_us > r ? t.srtt_us - r : r - t.srtt_us;
    t.rttvar_us = (3 * t.rttvar_us + delta) / 4;
    t.srtt_us = (7 * t.srtt_us + r) / 8;
  }
  const uint64_t rto =
      uint64_t{t.srtt_us} + std::max<uint64_t>(1000, 4 * uint64_t{t.rttvar_us});
  t.rto_us = static_cast<uint32_t>(
      std::clamp<uint64_t>(rto, config_.rto_min_ns / 1000,
                           config_.rto_max_ns / 1000));
}

void TcpStack::AdvanceTimers(uint64_t now) {
  timers_.Advance(now, config_.timer_budget,
                  [&](timer::TimerWheel::Handle, uint64_t cookie) {
                    OnTimer(cookie, now);
                  });
  // TIME-WAIT lasts a constant 2 MSL, so its records sit on a FIFO in
  // expiry order: expiring them is a pop, with no timer per record.
  uint32_t budget = config_.timer_budget;
  while (tw_head_ != kNoIndex && budget-- > 0 &&
         time_wait_[tw_head_].expires_ns <= now) {
    const uint32_t index = tw_head_;
    TimeWaitRecord& r = time_wait_[index];
    table_.Erase(r.key, r.hash);
    FreeTimeWait(index);
    counters_.Add(Mib::kTimeWaitExpired);
  }
}

void TcpStack::OnTimer(uint64_t cookie, uint64_t now) {
  const auto index = static_cast<uint32_t>(cookie);
  switch (static_cast<TimerKind>(cookie >> 32)) {
    case TimerKind::kRto:
      tcbs_[index].rto_timer = timer::TimerWheel::kInvalidHandle;
      OnRto(index, now);
      break;
    case TimerKind::kAux:
      tcbs_[index].aux_timer = timer::TimerWheel::kInvalidHandle;
      OnAux(index, now);
      break;
    case TimerKind::kSynAck:
      half_open_[index].timer = timer::TimerWheel::kInvalidHandle;
      OnSynAckTimer(index, now);
      break;
  }
}

// RFC 6298 5.4-5.7: retransmit the earliest unacknowledged segment, back
// off, and give up after the retry limit.
void TcpStack::OnRto(uint32_t index, uint64_t now) {
  Tcb& t = tcbs_[index];
  if (t.state == TcpState::kSynSent || t.state == TcpState::kSynReceived) {
    // Our SYN (or, after a simultaneous SYN, our SYN-ACK) went unanswered:
    // again with the timeout doubled, up to the retry limit (RFC 6298 5.5,
    // CONFORMANCE.md item 14), then the open fails.
    counters_.Add(Mib::kTimeouts);
    const uint8_t limit = t.state == TcpState::kSynSent
                              ? config_.syn_retries
                              : config_.syn_ack_retries;
    if (++t.retries > limit) {
      counters_.Add(Mib::kAttemptFails);
      counters_.Add(Mib::kConnectTimeouts);
      CloseTcb(index, CloseReason::kConnectTimeout, /*notify=*/true);
      return;
    }
    t.rto_us = static_cast<uint32_t>(std::min<uint64_t>(
        uint64_t{t.rto_us} * 2, config_.rto_max_ns / 1000));
    t.flags &= ~tcb_flags::kRttTiming;  // Karn
    counters_.Add(Mib::kSynRetrans);
    counters_.Add(Mib::kRetransSegs);
    SendSyn(t, now, /*with_ack=*/t.state == TcpState::kSynReceived);
    ArmRto(t, index, now);
    return;
  }
  const bool probing = t.snd_wnd == 0 && t.snd_queue.size() > 0;
  if (t.snd_una == t.snd_max && !probing) return;
  counters_.Add(Mib::kTimeouts);
  if (++t.retries > config_.max_retransmits) {
    counters_.Add(Mib::kAbortOnTimeout);
    CloseTcb(index, CloseReason::kTimeout, /*notify=*/true);
    return;
  }
  t.rto_us = static_cast<uint32_t>(std::min<uint64_t>(
      uint64_t{t.rto_us} * 2, config_.rto_max_ns / 1000));
  t.flags &= ~tcb_flags::kRttTiming;  // Karn: no sample from a retransmission
  const uint32_t flight = t.snd_max - t.snd_una;
  t.ssthresh = std::max<uint32_t>(flight / 2, 2u * t.snd_mss);
  t.cwnd = t.snd_mss;
  t.snd_nxt = t.snd_una;  // go back to the first unacknowledged byte
  Output(t, index, now, /*force_probe=*/probing);
  ArmRto(t, index, now);
}

void TcpStack::OnAux(uint32_t index, uint64_t now) {
  Tcb& t = tcbs_[index];
  if (t.state == TcpState::kFinWait2) {
    counters_.Add(Mib::kFinWait2Timeouts);
    CloseTcb(index, CloseReason::kFinWait2Timeout, /*notify=*/true);
    return;
  }
  if (!config_.keepalive ||
      (t.state != TcpState::kEstablished && t.state != TcpState::kCloseWait)) {
    return;
  }
  // Keepalive (RFC 1122 4.2.3.6): probe <SEQ=SND.UNA-1> after the idle time.
  // Not while data is in flight or waiting: the retransmission (or
  // persist) timer watches the peer then (Linux tcp_keepalive_timer).
  if (t.snd_una != t.snd_max || !t.snd_queue.empty()) {
    t.keepalive_probes = 0;
    ArmAux(t, index, now + config_.keepalive_idle_ns);
    return;
  }
  if (now - t.last_rx_ns < config_.keepalive_idle_ns && t.keepalive_probes == 0) {
    ArmAux(t, index, t.last_rx_ns + config_.keepalive_idle_ns);
    return;
  }
  if (t.keepalive_probes >= config_.keepalive_probes) {
    // A RST, as Linux does, in case the peer is alive but its answers are
    // lost on the way back.
    counters_.Add(Mib::kAbortOnTimeout);
    Emit(t.key, t.snd_nxt, t.rcv_nxt, tf::kRst | tf::kAck, 0).peer_l2 =
        t.peer_l2;
    counters_.Add(Mib::kOutRsts);
    CloseTcb(index, CloseReason::kTimeout, /*notify=*/true);
    return;
  }
  ++t.keepalive_probes;
  counters_.Add(Mib::kKeepAlive);
  OutSegment& o =
      Emit(t.key, t.snd_una - 1, t.rcv_nxt, tf::kAck, WindowField(t));
  o.peer_l2 = t.peer_l2;
  AddTimestamps(o, t, now);
  ArmAux(t, index, now + config_.keepalive_interval_ns);
}

void TcpStack::OnSynAckTimer(uint32_t index, uint64_t now) {
  HalfOpen& h = half_open_[index];
  if (h.retries >= config_.syn_ack_retries) {
    counters_.Add(Mib::kSynRecvTimeouts);
    counters_.Add(Mib::kAttemptFails);
    table_.Erase(h.key, h.hash);
    FreeHalfOpen(index);
    return;
  }
  ++h.retries;
  counters_.Add(Mib::kSynRetrans);
  counters_.Add(Mib::kRetransSegs);
  SendSynAck(h, now);
  h.timer = timers_.Arm(now + (config_.rto_initial_ns << h.retries),
                        TimerCookie(TimerKind::kSynAck, index));
}

// ---------------------------------------------------------------------------
// Application API

void TcpStack::Event(AppEvent::Kind kind, const Tcb& t, CloseReason r) {
  const auto index = static_cast<uint32_t>(&t - tcbs_.data());
  events_.push_back(AppEvent{kind, r, ConnId{index, t.generation}});
}

Tcb* TcpStack::Lookup(ConnId id) {
  if (id.index >= tcbs_.size()) return nullptr;
  Tcb& t = tcbs_[id.index];
  if (!(t.flags & tcb_flags::kInUse) || t.generation != id.generation) {
    return nullptr;
  }
  return &t;
}

const Tcb* TcpStack::Find(ConnId id) const {
  return const_cast<TcpStack*>(this)->Lookup(id);
}

bool TcpStack::IsOpen(ConnId id) const { return Find(id) != nullptr; }

TcpState TcpStack::StateOf(ConnId id) const {
  const Tcb* t = Find(id);
  return t == nullptr ? TcpState::kClosed : t->state;
}

uint64_t& TcpStack::AppData(ConnId id) { return Lookup(id)->app_data; }

void TcpStack::Accept(uint32_t limit) {
  for (Listener& l : listeners_) {
    while (l.aq_count > 0 && limit > 0) {
      const ConnId id = l.Pop();
      Tcb* t = Lookup(id);
      if (t == nullptr) continue;  // reset while it waited
      --limit;
      t->flags |= tcb_flags::kAccepted;
      Event(AppEvent::Kind::kAccepted, *t);
      if (!t->rcv_queue.empty()) Event(AppEvent::Kind::kData, *t);
      if (t->flags & tcb_flags::kPeerFin) Event(AppEvent::Kind::kPeerClosed, *t);
    }
  }
}

uint32_t TcpStack::Send(ConnId id, const uint8_t* data, uint32_t len) {
  Tcb* t = Lookup(id);
  if (t == nullptr || (t->flags & tcb_flags::kFinQueued) ||
      (t->state != TcpState::kEstablished && t->state != TcpState::kCloseWait)) {
    return 0;
  }
  const uint32_t space = t->snd_queue.size() >= config_.snd_buffer
                             ? 0
                             : config_.snd_buffer - t->snd_queue.size();
  const uint32_t n = t->snd_queue.Append(chunks_, data, std::min(len, space));
  if (n > 0) MarkDirty(*t, id.index);
  return n;
}

uint32_t TcpStack::Readable(ConnId id) const {
  const Tcb* t = Find(id);
  return t == nullptr ? 0 : t->rcv_queue.size();
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

void TcpStack::Close(ConnId id, uint64_t now) {
  Tcb* t = Lookup(id);
  if (t == nullptr || (t->flags & tcb_flags::kFinQueued)) return;
  if (!t->rcv_queue.empty()) {
    // RFC 2525 2.17: closing with unread data resets the connection, so
    // the peer learns its data was not consumed.
    counters_.Add(Mib::kAbortOnData);
    Emit(t->key, t->snd_nxt, t->rcv_nxt, tf::kRst | tf::kAck, 0).peer_l2 =
        t->peer_l2;
    counters_.Add(Mib::kOutRsts);
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
      Abort(id, now);
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
  t->flags |= tcb_flags::kFinQueued;
  MarkDirty(*t, id.index);
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
  Emit(t->key, t->snd_nxt, t->rcv_nxt, tf::kRst | tf::kAck, 0).peer_l2 =
      t->peer_l2;
  counters_.Add(Mib::kOutRsts);
  CloseTcb(id.index, CloseReason::kAborted, /*notify=*/true);
}

}  // namespace synwave::tcp
