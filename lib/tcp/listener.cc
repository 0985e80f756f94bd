// LISTEN: listeners, the SYN queue (half-open entries and their SYN-ACK
// retransmission), SYN cookies (the stateless SYN-ACK, a burst's cookies
// prepared at once, the ACK that completes a cookie handshake), and the
// passive open's last step onto the accept queue.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "tcp/stack.h"
#include "wire/headers.h"

namespace synwave::tcp {

namespace tf = wire::tcp_flags;

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

bool TcpStack::Listen(const wire::Ipv6Address& ip, uint16_t port) {
  if (listener_by_port6_.empty() || listener_by_port6_[port] != 0 ||
      listeners_.size() >= 0xfffe) {
    return false;
  }
  Listener l;
  l.ipv6 = true;
  l.ip6 = ip;
  l.port = port;
  l.accept_queue.resize(std::max<uint32_t>(config_.accept_backlog, 1));
  listeners_.push_back(std::move(l));
  listener_by_port6_[port] = static_cast<uint16_t>(listeners_.size());
  return true;
}

Listener* TcpStack::FindListener6(const flow::FlowKey6& key) {
  const uint16_t i = listener_by_port6_[key.local_port];
  if (i == 0) return nullptr;
  Listener& l = listeners_[i - 1];
  // Word compares (std::array's == calls memcmp).
  uint64_t want[2];
  uint64_t have[2];
  std::memcpy(want, l.ip6.bytes.data(), 16);
  std::memcpy(have, key.local_ip.bytes.data(), 16);
  const bool any = (want[0] | want[1]) == 0;
  return (any || ((want[0] ^ have[0]) | (want[1] ^ have[1])) == 0) ? &l
                                                                   : nullptr;
}

Listener* TcpStack::FindListener(const flow::FlowKey& key) {
  const uint16_t i = listener_by_port_[key.local_port];
  if (i == 0) return nullptr;
  Listener& l = listeners_[i - 1];
  return (l.ip == key.local_ip || l.ip == 0) ? &l : nullptr;
}

// RFC 9293 3.10.7.2 third: a SYN to a listener. (First, a RST, and a
// segment with neither SYN nor ACK are dropped by the table; second, an
// ACK, goes to OnListenAck.)
void TcpStack::OnListenSyn(const flow::FlowKey& key, uint32_t hash,
                           uint32_t index, const Segment& seg,
                           uint64_t now_ns) {
  Listener& l = listeners_[index];
  if (l.AcceptQueueFull()) {
    // As Linux: no point in a handshake the application cannot accept.
    counters_.Count(Drop::kAcceptQueueFull);
    counters_.Add(Mib::kListenOverflows);
    counters_.Add(Mib::kListenDrops);
    return;
  }
  // docs/conformance.md items 30 and 35: a cookie instead of SYN-queue
  // state always, or when the SYN queue (or the half-open pool, or the
  // table) is full; without cookies such a SYN is dropped.
  if (config_.syncookies == SynCookieMode::kAlways) {
    SendCookieSynAck(key, seg, now_ns);
    return;
  }
  if (l.syn_count >= config_.syn_backlog) {
    SynOverflow(key, seg, now_ns, Drop::kSynQueueFull);
    return;
  }
  const uint32_t h_index = half_open_ids_.Alloc();
  if (h_index == kNoIndex) {
    SynOverflow(key, seg, now_ns, Drop::kTablesFull);
    return;
  }
  if (in6_ != nullptr) [[unlikely]] {
    if (!NewHalfOpen6(h_index, hash, now_ns)) {
      half_open_ids_.Free(h_index);
      SynOverflow(key, seg, now_ns, Drop::kTablesFull);
      return;
    }
  } else if (!table_.Insert(key, hash, Encode(Kind::kHalfOpen, h_index))) {
    half_open_ids_.Free(h_index);
    SynOverflow(key, seg, now_ns, Drop::kTablesFull);
    return;
  } else {
    HalfOpen& h = half_open_[h_index];
    h = HalfOpen{};
    h.key = key;
    h.hash = hash;
    h.iss = isn_.IsnAndOffset(key, now_ns, &h.ts_offset);
  }
  HalfOpen& h = half_open_[h_index];
  h.irs = seg.seq;
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
  h.ts_recent = TsVal(o.ts_val);
  // The first ACK to an invalid segment may go at once.
  h.last_oow_ack_ms = static_cast<uint32_t>(
      (now_ns - config_.challenge_ack_interval_ns) / kMillisecond);
  if (++l.syn_count == config_.syn_backlog) ++listeners_at_backlog_;
  // Data on the SYN is not queued before the handshake completes
  // (docs/conformance.md item 4): RCV.NXT = IRS + 1, the peer resends it.
  h.timer = timers_.Arm(now_ns + config_.rto_initial_ns,
                        TimerCookie(TimerKind::kSynAck, h_index));
  SendSynAck(h, now_ns);
}

bool TcpStack::NewHalfOpen6(uint32_t h_index, uint32_t hash,
                            uint64_t now_ns) {
  flow::FlowKey record_key;
  if (!InsertFlow6(*in6_, hash, Encode(Kind::kHalfOpen, h_index),
                   &record_key)) {
    return false;
  }
  HalfOpen& h = half_open_[h_index];
  h = HalfOpen{};
  h.key = record_key;
  h.hash = hash;
  h.ipv6 = true;
  h.iss = isn_.IsnAndOffset(*in6_, now_ns, &h.ts_offset);
  return true;
}

void TcpStack::SynOverflow(const flow::FlowKey& key, const Segment& seg,
                           uint64_t now_ns, Drop reason) {
  if (config_.syncookies == SynCookieMode::kOverflow) {
    SendCookieSynAck(key, seg, now_ns);
    return;
  }
  counters_.Count(reason);
  counters_.Add(Mib::kListenDrops);
}

// RFC 9293 3.10.7.2 second: an ACK to a listener is bad, <SEQ=SEG.ACK>
// <CTL=RST>, unless it completes a SYN-cookie handshake
// (docs/conformance.md item 32).
void TcpStack::OnListenAck(const flow::FlowKey& key, uint32_t hash,
                           uint32_t index, const Segment& seg,
                           uint64_t now_ns) {
  if (TryCookieAck(key, hash, index, seg, now_ns)) return;
  RejectListenAck(key, hash, index, seg, now_ns);
}

void TcpStack::RejectListenAck(const flow::FlowKey& key, uint32_t, uint32_t,
                               const Segment& seg, uint64_t) {
  counters_.Count(Drop::kListenAck);
  SendRstFor(key, seg);
}

void TcpStack::SendSynAck(const HalfOpen& h, uint64_t now_ns) {
  OutSegment& o =
      Emit(h.key, h.iss, h.irs + 1, tf::kSyn | tf::kAck, InitialWindow());
  o.peer_l2 = h.peer_l2;
  o.options.has_mss = true;
  o.options.mss = OurMss(h.ipv6);
  if (h.ipv6) [[unlikely]] Address6(o, h.key);
  if (h.peer_wscale != 0xff) {
    o.options.has_window_scale = true;
    o.options.window_scale = config_.window_scale;
  }
  o.options.sack_permitted = h.sack_ok;
  AddTimestamps(o, TsEcho{h.timestamps, h.ts_offset, h.ts_recent}, now_ns);
}

// The SYN-ACK of a SYN answered without state: our ISN is the cookie; the
// client's window scale and SACK-permitted travel in our TSval when it
// offered timestamps (without them, neither option is offered back, as it
// could not be remembered). Never retransmitted (docs/conformance.md item
// 33).
void TcpStack::SendCookieSynAck(const flow::FlowKey& key, const Segment& seg,
                                uint64_t now_ns) {
  const wire::TcpOptions& o = seg.options;
  const uint32_t counter = SynCookies::Counter(now_ns, cookie_params_);
  // The TSval offset comes from the cookie's own hash (its secret high
  // word), so the ACK's Check finds it again: one SipHash per SYN, done for
  // the whole burst by PrepareCookies when it could be.
  const uint16_t peer_mss = o.has_mss ? o.mss : 0;
  uint32_t ts_offset;
  SeqNum iss;
  if (const int j = PreparedCookie(SynCookies::Op::kMake, counter); j >= 0) {
    iss = SeqNum(batch_.value[j]);
    ts_offset = batch_.aux[j];
  } else {
    iss = in6_ == nullptr
              ? cookies_.Make(key, seg.seq, peer_mss, counter, &ts_offset)
              : cookies_.Make(*in6_, seg.seq, peer_mss, counter, &ts_offset);
  }
  OutSegment& out =
      Emit(key, iss, seg.seq + 1, tf::kSyn | tf::kAck, InitialWindow());
  out.peer_l2 = seg.peer_l2;
  out.syn_cookie = true;
  out.options.has_mss = true;
  out.options.mss = config_.mss;
  if (in6_ != nullptr) [[unlikely]] {
    out.options.mss = config_.mss6;
    Reply6(out);
  }
  if (o.has_timestamps && config_.timestamps) {
    const bool wscale = o.has_window_scale && config_.window_scale != 0;
    const bool sack = o.sack_permitted && config_.sack_permitted;
    out.options.has_window_scale = wscale;
    out.options.window_scale = config_.window_scale;
    out.options.sack_permitted = sack;
    out.options.has_timestamps = true;
    out.options.ts_val = EncodeCookieTsval(
        TsNow(now_ns, ts_offset),
        wscale ? o.window_scale : kCookieNoWscale, sack);
    out.options.ts_ecr = o.ts_val;
  }
  cookies_sent_ = true;
  last_cookie_ns_ = now_ns;
  counters_.Add(Mib::kSyncookiesSent);
}

template <typename Key>
void TcpStack::PrepareCookies(const Key* keys, uint32_t* found,
                              const Segment* segs, uint32_t n,
                              uint64_t now_ns) {
  constexpr bool kIpv6 = std::is_same_v<Key, flow::FlowKey6>;
  batch_.n = 0;
  batch_.next = 0;
  const bool pool_full = half_open_ids_.in_use() >= config_.max_half_open;
  const bool syns = CookiesLikely();
  const bool acks = CookieAcksLikely(now_ns);
  const uint32_t counter = SynCookies::Counter(now_ns, cookie_params_);
  for (uint32_t k = 0; k < n && batch_.n < CookieBatch::kSize; ++k) {
    const Segment& seg = segs[k];
    const uint8_t f = seg.flags & (tf::kSyn | tf::kAck | tf::kRst);
    if (found[k] != flow::FlowTable::kNotFound ||
        !(f == tf::kSyn ? syns : f == tf::kAck && acks)) {
      continue;
    }
    const Listener* l;
    if constexpr (kIpv6) {
      l = FindListener6(keys[k]);
    } else {
      l = FindListener(keys[k]);
    }
    if (l == nullptr) continue;
    found[k] = kFoundListener + static_cast<uint32_t>(l - listeners_.data());
    SynCookies::Job& job = batch_.jobs[batch_.n];
    if (f == tf::kSyn) {
      if ((seg.flags & tf::kFin) ||
          (config_.syncookies == SynCookieMode::kOverflow && !pool_full &&
           l->syn_count < config_.syn_backlog)) {
        continue;
      }
      job.op = SynCookies::Op::kMake;
      job.peer_seq = seg.seq;
      job.arg = seg.options.has_mss ? seg.options.mss : 0;
    } else {
      job.op = SynCookies::Op::kCheck;
      job.peer_seq = seg.seq - 1;
      job.arg = (seg.ack - 1).value();
    }
    if constexpr (kIpv6) {
      batch_.keys6[batch_.n] = keys[k];
    } else {
      batch_.keys[batch_.n] = keys[k];
    }
    batch_.pos[batch_.n] = static_cast<uint16_t>(burst_base_ + k);
    ++batch_.n;
  }
  if (batch_.n < CookieBatch::kMin) {
    batch_.n = 0;
    return;
  }
  batch_.counter = counter;
  if constexpr (kIpv6) {
    cookies_.Batch(batch_.keys6, batch_.jobs, batch_.n, counter, batch_.value,
                   batch_.aux);
  } else {
    cookies_.Batch(batch_.keys, batch_.jobs, batch_.n, counter, batch_.value,
                   batch_.aux);
  }
}

template void TcpStack::PrepareCookies(const flow::FlowKey*, uint32_t*,
                                       const Segment*, uint32_t, uint64_t);
template void TcpStack::PrepareCookies(const flow::FlowKey6*, uint32_t*,
                                       const Segment*, uint32_t, uint64_t);

void TcpStack::CountAcceptQueueFull() {
  counters_.Count(Drop::kAcceptQueueFull);
  counters_.Add(Mib::kListenOverflows);
  counters_.Add(Mib::kListenDrops);
}

bool TcpStack::TryCookieAck(const flow::FlowKey& key, uint32_t hash,
                            uint32_t listener, const Segment& seg,
                            uint64_t now_ns) {
  // As Linux: an ACK is only taken for a cookie while cookies are being
  // sent (within two slots of the last one), so that a blind attacker
  // cannot probe for valid cookies when there is no flood.
  if (!CookieAcksLikely(now_ns)) return false;
  const uint32_t counter = SynCookies::Counter(now_ns, cookie_params_);
  uint32_t ts_offset;
  uint16_t mss;
  if (const int j = PreparedCookie(SynCookies::Op::kCheck, counter); j >= 0) {
    mss = static_cast<uint16_t>(batch_.value[j]);
    ts_offset = batch_.aux[j];
  } else {
    mss = in6_ == nullptr
              ? cookies_.Check(key, seg.seq - 1, seg.ack - 1, counter,
                               &ts_offset)
              : cookies_.Check(*in6_, seg.seq - 1, seg.ack - 1, counter,
                               &ts_offset);
  }
  uint8_t wscale = kCookieNoWscale;
  bool sack = false;
  const bool ts = seg.options.has_timestamps && config_.timestamps;
  if (mss == 0 ||
      (ts && !DecodeCookieTsecr(seg.options.ts_ecr, &wscale, &sack))) {
    counters_.Add(Mib::kSyncookiesFailed);
    return false;  // the caller answers with RST
  }
  if (listeners_[listener].AcceptQueueFull()) {
    // Not admitted (docs/conformance.md item 34): no state, no answer; the
    // client's retransmission of its data (or its next segment) finds
    // room later, its cookie still valid.
    CountAcceptQueueFull();
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
  h.ts_recent = TsVal(seg.options.ts_val);
  if (in6_ != nullptr) [[unlikely]] {
    return TryCookieAck6(h, seg, now_ns);
  }
  // The key is not in the table (we are in LISTEN for it), and an insert
  // succeeds whenever the table is below capacity: check that first, so
  // the TCB's index can go in directly.
  if (table_.size() >= table_.capacity()) {
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return true;
  }
  const uint32_t t_index = EstablishPassive(h, seg, now_ns);
  if (t_index == kNoIndex) {
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return true;
  }
  table_.Insert(key, hash, Encode(Kind::kTcb, t_index));
  counters_.Add(Mib::kSyncookiesRecv);
  // Data or FIN on the completing ACK: as in ESTABLISHED (item 32).
  if (seg.payload_length > 0 || (seg.flags & tf::kFin)) {
    OnSynchronized(key, hash, t_index, seg, now_ns);
  }
  return true;
}

// The end of TryCookieAck for IPv6: as IPv4's, the tuple goes in table6_
// once the TCB exists, so its value is final and is written once (no
// insert and then an update, which would look the tuple up twice); the
// address slot is taken first, since the TCB keeps the record key that
// names it.
bool TcpStack::TryCookieAck6(HalfOpen& h, const Segment& seg,
                             uint64_t now_ns) {
  h.ipv6 = true;
  // A slot is free whenever the table has room (InsertFlow6).
  if (table6_->size() >= table6_->capacity()) {
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return true;
  }
  tuples6_->Take(*in6_, &h.key);
  const uint32_t t_index = EstablishPassive(h, seg, now_ns);
  if (t_index == kNoIndex) {
    tuples6_->Give(h.key);
    counters_.Count(Drop::kTablesFull);
    counters_.Add(Mib::kListenDrops);
    return true;
  }
  table6_->Insert(*in6_, h.hash, Encode(Kind::kTcb, t_index));
  counters_.Add(Mib::kSyncookiesRecv);
  if (seg.payload_length > 0 || (seg.flags & tf::kFin)) {
    OnSynchronized(h.key, h.hash, t_index, seg, now_ns);
  }
  return true;
}

uint32_t TcpStack::EstablishPassive(const HalfOpen& h, const Segment& seg,
                                    uint64_t now_ns) {
  const uint32_t t_index = NewTcb(h, now_ns);
  if (t_index == kNoIndex) return kNoIndex;
  Tcb& t = tcbs_[t_index];
  // RFC 7323 4.3: the completing ACK is in sequence (SEG.SEQ = RCV.NXT =
  // Last.ACK.sent), so a TSval not older than the SYN's is TS.Recent.
  if ((t.flags & tcb_flags::kTimestamps) && seg.options.has_timestamps &&
      TsVal(seg.options.ts_val) >= t.ts_recent) {
    t.ts_recent = TsVal(seg.options.ts_val);
    t.ts_recent_ns = now_ns;
  }
  // The window of the ACK is scaled now that the handshake is done.
  t.snd_wnd = uint32_t{seg.window} << t.snd_wscale;
  t.max_snd_wnd = t.snd_wnd;
  t.snd_wl1 = seg.seq;
  t.snd_wl2 = seg.ack;
  SampleRttFromTsecr(t, seg, now_ns);
  counters_.Add(Mib::kPassiveOpens);
  if (h.ipv6) [[unlikely]] counters_.Add(Mib::kPassiveOpens6);
  listeners_[h.listener].Push(ConnId{t_index, t.generation});
  return t_index;
}

void TcpStack::OnSynAckTimer(uint32_t index, uint64_t now_ns) {
  HalfOpen& h = half_open_[index];
  if (h.retries >= config_.syn_ack_retries) {
    counters_.Add(Mib::kSynRecvTimeouts);
    counters_.Add(Mib::kAttemptFails);
    EraseFlow(h.key, h.hash, h.ipv6);
    FreeHalfOpen(index);
    return;
  }
  ++h.retries;
  counters_.Add(Mib::kSynRetrans);
  counters_.Add(Mib::kRetransSegs);
  SendSynAck(h, now_ns);
  h.timer = timers_.Arm(now_ns + (config_.rto_initial_ns << h.retries),
                        TimerCookie(TimerKind::kSynAck, index));
}

void TcpStack::FreeHalfOpen(uint32_t index) {
  HalfOpen& h = half_open_[index];
  CancelTimer(h.timer);
  if (listeners_[h.listener].syn_count-- == config_.syn_backlog) {
    --listeners_at_backlog_;
  }
  half_open_ids_.Free(index);
}

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

}  // namespace synwave::tcp
