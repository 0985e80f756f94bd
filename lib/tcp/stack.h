// TcpStack: one core's TCP endpoint: listeners with their SYN and accept
// queues, the connection table, the TCB / half-open / TIME-WAIT pools, the
// timer wheel, and the RFC 9293 state machine that ties them together.
//
// It is pure: no DPDK, no clock, no I/O. The engine hands it a burst of
// parsed segments with the time (InputBurst: the stack hashes, looks the
// burst up in its connection table at once and prepares its SYN cookies),
// advances its timers (AdvanceTimers), and after each call drains two
// arrays: the segments to transmit (output()) and the events for the
// application (events()). The application acts through the API
// below (Send, Close, Abort, Read) and the engine then calls Flush(), which
// turns whatever became sendable (data, FIN, owed ACKs) into segments.
// Tests drive the same object directly (tests/fsm). The values that cross
// this boundary (Segment, OutSegment, AppEvent) are in tcp/segment.h.
//
// The state machine is two-level (STYLE.md): a table [state][flag class]
// picks a handler or a drop reason for every segment, and each handler
// follows the RFC 9293 3.10.7 "SEGMENT ARRIVES" steps in order, commented
// with the step. The private section says which file holds which concern.
//
// Application API, per core, no locks:
//   Connect(key, now): an active open (SYN-SENT); kConnected follows when
//     the handshake completes, or kClosed with kRefused / kConnectTimeout.
//   events(): kAccepted (a passive open completed and left the accept queue),
//     kConnected (an active open reached ESTABLISHED),
//     kData (new in-order bytes to Read), kPeerClosed (FIN received: no more
//     data will come), kSent (send-queue space freed), kClosed (the
//     connection is gone; its ConnId is stale from now on; with the reason).
//   Send(id, bytes): queues bytes for sending; returns how many were taken
//     (less than asked when the send buffer is full: wait for kSent).
//   Read(id, out, max): takes bytes the peer sent, in order.
//   Close(id): FIN after the queued data (RST instead if unread data remains,
//     RFC 2525 2.17). Abort(id): RST now; the connection is gone at once.
//
// IPv6 (TcpConfig::ipv6): the same stack serves both families; Listen,
// Connect, TupleFree and InputBurst take an IPv6 4-tuple as well. The design
// and why it is so are in tcp/ipv6_tuples.h, beside the address slots that
// carry it.
#ifndef SYNWAVE_TCP_STACK_H_
#define SYNWAVE_TCP_STACK_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "flow/flow_key.h"
#include "flow/flow_table.h"
#include "flow/index_pool.h"
#include "flow/pool_memory.h"
#include "tcp/byte_queue.h"
#include "tcp/config.h"
#include "tcp/cookie_batch.h"
#include "tcp/counters.h"
#include "tcp/ipv6_tuples.h"
#include "tcp/isn.h"
#include "tcp/listener.h"
#include "tcp/segment.h"
#include "tcp/syncookie.h"
#include "tcp/tcb.h"
#include "tcp/time_wait.h"
#include "timer/timer_wheel.h"
#include "wire/headers.h"
#include "wire/tcp_options.h"

namespace synwave::tcp {

class TcpStack {
 public:
  TcpStack(const TcpConfig& config, const SipKey& secret, uint64_t hash_seed,
           uint64_t now_ns);
  ~TcpStack();
  TcpStack(const TcpStack&) = delete;
  TcpStack& operator=(const TcpStack&) = delete;

  // Accepts connections to ip:port. False if the listener table is full or
  // the pair is already listening.
  bool Listen(uint32_t ip, uint16_t port);
  // The same for IPv6 (the address :: for any of ours). Each family has its
  // own listeners (and accept queue) per port. False also when the stack
  // was built without TcpConfig::ipv6.
  bool Listen(const wire::Ipv6Address& ip, uint16_t port);

  // Processes a burst of segments at `now_ns`: segs[i] for keys[i] (local =
  // its destination). The stack hashes the keys, looks the burst up in the
  // connection table at once, computes the SYN cookies the burst needs in
  // vector lanes, then runs the state machine segment by segment. What it
  // sends is in output(), in segment order; each reply names the segment it
  // answers (OutSegment::reply_to).
  static constexpr uint32_t kMaxBurst = 64;
  void InputBurst(const flow::FlowKey* keys, const Segment* segs, uint32_t n,
                  uint64_t now_ns);
  // One segment (a burst of one).
  void Input(const flow::FlowKey& key, const Segment& seg, uint64_t now_ns);
  // The same for IPv6 segments (cookies in lanes as well). Without
  // TcpConfig::ipv6 each segment is dropped (tcp_ipv6_off).
  void InputBurst(const flow::FlowKey6* keys, const Segment* segs, uint32_t n,
                  uint64_t now_ns);
  void Input(const flow::FlowKey6& key, const Segment& seg, uint64_t now_ns);

  // Why Connect() made no connection.
  enum class ConnectError : uint8_t {
    kNone,
    kTupleInUse,  // the 4-tuple has a connection or a TIME-WAIT record
    kNoTcb,       // the connection pool is full
    kTableFull,   // the connection table is full
  };
  // Active open of `key` (local = us): sends the SYN (into output()) and
  // returns the connection, in SYN-SENT, owned by the application (its
  // events come without an accept). `peer_l2` is the engine's next-hop hint.
  ConnId Connect(const flow::FlowKey& key, uint64_t now_ns,
                 uint64_t peer_l2 = 0, ConnectError* error = nullptr);
  // True if `key` has no connection or TIME-WAIT record: Connect may use it.
  bool TupleFree(const flow::FlowKey& key) const;
  // The same over IPv6 (kTableFull without TcpConfig::ipv6).
  ConnId Connect(const flow::FlowKey6& key, uint64_t now_ns,
                 uint64_t peer_l2 = 0, ConnectError* error = nullptr);
  bool TupleFree(const flow::FlowKey6& key) const;

  // Fires due timers (retransmissions, SYN-ACK retries, keepalive,
  // FIN-WAIT-2), expires TIME-WAIT records, and checks a share of the
  // connections for the idle timeout, within the per-loop budget.
  void AdvanceTimers(uint64_t now_ns);

  // Moves up to `limit` connections from the accept queues to the
  // application (kAccepted events).
  void Accept(uint32_t limit = 0xffffffff);

  // Produces the segments that connections touched since the last Flush can
  // send: data, FIN, owed ACKs.
  void Flush(uint64_t now_ns);

  // Application API (see the header comment).
  uint32_t Send(ConnId id, const uint8_t* data, uint32_t len);
  uint32_t Read(ConnId id, uint8_t* out, uint32_t max);
  uint32_t Readable(ConnId id) const {
    const Tcb* t = Find(id);
    return t == nullptr ? 0 : t->rcv_queue.size();
  }
  void Close(ConnId id, uint64_t now_ns);
  void Abort(ConnId id, uint64_t now_ns);
  // Forgets the connection without a word, as a client that vanished does
  // (synwave load --abandon): nothing is sent, and for 2 MSL a silent
  // record drops whatever the peer still sends for the tuple (counted
  // tcp_abandoned) and keeps the tuple from reuse. kClosed (kAbandoned).
  void Abandon(ConnId id, uint64_t now_ns);
  bool IsOpen(ConnId id) const { return Find(id) != nullptr; }
  TcpState StateOf(ConnId id) const;
  // The connection's IPv6 4-tuple (local = us); false for an IPv4 or stale
  // connection.
  bool Key6(ConnId id, flow::FlowKey6* key) const;
  uint64_t& AppData(ConnId id) { return Lookup(id)->app_data; }

  // Output and events since the last ClearOutput()/ClearEvents().
  std::span<const OutSegment> output() const { return output_; }
  void ClearOutput() { output_.clear(); }
  // The addresses of `seg`, one of output()'s segments with seg.ipv6.
  const OutAddresses6& Addresses6(const OutSegment& seg) const {
    return output6_[static_cast<size_t>(&seg - output_.data())];
  }
  std::span<const AppEvent> events() const { return events_; }
  void ClearEvents() { events_.clear(); }
  void CopyPayload(const OutSegment& seg, uint8_t* out);

  // Introspection: counters, per-state counts, pool use.
  const TcpCounters& counters() const { return counters_; }
  TcpCounters& counters() { return counters_; }
  // Connections in state s (SYN-RECEIVED counts SYN-queue entries,
  // TIME-WAIT counts records, LISTEN counts listeners).
  uint32_t StateCount(TcpState s) const;
  uint32_t connections_in_use() const { return tcb_ids_.in_use(); }
  uint32_t half_open_in_use() const { return half_open_ids_.in_use(); }
  uint32_t time_wait_in_use() const { return time_wait_.in_use(); }
  uint32_t buffer_chunks_in_use() const { return chunks_.in_use(); }
  uint32_t timers_in_use() const { return timers_.size(); }
  // Connections the application has closed that are not gone yet.
  uint32_t orphans_in_use() const { return orphans_; }
  // True while the buffer pool is under pressure: no more free chunks than
  // the reserve (buffer_reserve_chunks), so queues keep to one chunk.
  bool memory_pressure() const {
    return chunks_.capacity() - chunks_.in_use() <= buffer_reserve_;
  }
  const flow::FlowTable& table() const { return table_; }
  // The IPv6 table (nullptr without TcpConfig::ipv6) and its address slots.
  const flow::FlowTable6* table6() const { return table6_.get(); }
  uint32_t addr6_in_use() const { return tuples6_ ? tuples6_->in_use() : 0; }
  const TcpConfig& config() const { return config_; }

  // The TCB behind an id (nullptr when stale). Inline, as the lookups of
  // the application API: an application calls several per connection.
  const Tcb* Find(ConnId id) const {
    return const_cast<TcpStack*>(this)->Lookup(id);
  }

 private:
  // Where each part lives, by concern:
  //   input.cc      the burst's lookup, the dispatch table, the RFC 9293
  //                 3.10.7 handlers of CLOSED, SYN-RECEIVED and the
  //                 synchronized states
  //   active_open.cc  Connect, SYN-SENT, the simultaneous open
  //   listener.cc   listeners, the SYN queue, SYN cookies, accept
  //   time_wait.cc  TIME-WAIT records and their handler
  //   output.cc     building segments, Flush
  //   timers.cc     retransmission, persist, keepalive, FIN-WAIT-2, RTT
  //   stack.cc      records and states, the application API
  // (The handler rows say which file: the dispatch table is in input.cc.)

  // --- input.cc ------------------------------------------------------------
  // Rows of the dispatch table: the RFC's states, in TcpState's order (a
  // TCB's row is its state), with SYN-RECEIVED split by the record that
  // holds it: kSynReceived is the TCB of an active open that met the peer's
  // own SYN; a SYN-queue entry of a passive open has the last row.
  enum class Row : uint8_t {
    kClosed, kListen, kSynSent, kSynReceived, kEstablished, kFinWait1,
    kFinWait2, kCloseWait, kClosing, kLastAck, kTimeWait,
    kSynReceivedEntry, kCount
  };
  static_assert(static_cast<int>(Row::kSynReceivedEntry) == kNumTcpStates);
  enum class FlagClass : uint8_t { kRst, kSyn, kSynAck, kAck, kNoAck, kCount };
  // What the table value of a connection names (its top two bits).
  enum class Kind : uint32_t { kTcb = 0, kHalfOpen = 1, kTimeWait = 2 };
  using Handler = void (TcpStack::*)(const flow::FlowKey&, uint32_t hash,
                                     uint32_t index, const Segment&,
                                     uint64_t now_ns);
  struct Dispatch {
    Handler handler;   // or nullptr with `drop`
    Drop drop;
  };
  static constexpr int kNumRows = static_cast<int>(Row::kCount);
  static constexpr int kNumFlagClasses = static_cast<int>(FlagClass::kCount);
  static const Dispatch kDispatch[kNumRows][kNumFlagClasses];

  // A lookup's result that PrepareCookies replaced: no connection, and
  // listener `found - kFoundListener` (the fourth kind, which no record
  // has; kNotFound is above every listener's value). So a SYN's listener
  // is looked up once per segment, not by the preparation and again by
  // the dispatch.
  static constexpr uint32_t kFoundListener = 3u << 30;
  static uint32_t Encode(Kind k, uint32_t index) {
    return (static_cast<uint32_t>(k) << 30) | index;
  }
  static FlagClass Classify(uint8_t flags);
  static Row RowOf(TcpState s) { return static_cast<Row>(s); }
  // The row of the record a table value names, and its index.
  Row RowOfRecord(uint32_t found, uint32_t* index) const {
    *index = found & 0x3fffffff;
    switch (static_cast<Kind>(found >> 30)) {
      case Kind::kTcb:
        return RowOf(tcbs_[*index].state);
      case Kind::kHalfOpen:
        return Row::kSynReceivedEntry;
      case Kind::kTimeWait:
        return Row::kTimeWait;
      default:
        return Row::kClosed;
    }
  }

  // One segment whose lookup is done: `found` is the table's value for it.
  void Input(const flow::FlowKey& key, uint32_t hash, uint32_t found,
             const Segment& seg, uint64_t now_ns);
  // The same for the IPv6 segment in6_: `key` is its record key (ports,
  // no address slot yet).
  void Input6(const flow::FlowKey& key, uint32_t hash, uint32_t found,
              const Segment& seg, uint64_t now_ns);
  // The dispatch of a segment whose row and record are known.
  void DispatchRow(Row row, const flow::FlowKey& key, uint32_t hash,
                uint32_t index, const Segment& seg, uint64_t now_ns) {
    const Dispatch& d =
        kDispatch[static_cast<int>(row)][static_cast<int>(Classify(seg.flags))];
    if (d.handler == nullptr) {
      counters_.Count(d.drop);
      return;
    }
    (this->*d.handler)(key, hash, index, seg, now_ns);
  }

  // Second-level handlers, one per RFC 9293 3.10.7 group, in step order.
  void OnClosed(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                const Segment& seg, uint64_t now_ns);
  void OnSynReceived(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                     const Segment& seg, uint64_t now_ns);
  void OnSynchronized(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                      const Segment& seg, uint64_t now_ns);

  // RFC 9293 3.10.7.4 first to fifth (the ACK bit) on a TCB, with PAWS
  // before them: kAccept when the segment goes on to the ACK's processing;
  // kReset for a RST at RCV.NXT (the caller ends the connection as its state
  // says); kDone when the segment was answered or dropped here.
  enum class Check : uint8_t { kAccept, kReset, kDone };
  Check CheckSegment(Tcb& t, const Segment& seg, uint64_t now_ns);
  // From the fifth step on (the ACK field), for a synchronized TCB.
  void OnAcceptableSegment(Tcb& t, uint32_t index, const Segment& seg,
                           uint64_t now_ns);
  // RFC 9293 3.10.7.4 first: the four cases of segment acceptability.
  static bool Acceptable(SeqNum rcv_nxt, uint32_t rcv_wnd, const Segment& seg) {
    const uint32_t len = seg.SegLen();
    const SeqNum hi = rcv_nxt + rcv_wnd;
    if (len == 0) {
      return rcv_wnd == 0 ? seg.seq == rcv_nxt : seg.seq.InWindow(rcv_nxt, hi);
    }
    if (rcv_wnd == 0) return false;
    return seg.seq.InWindow(rcv_nxt, hi) ||
           (seg.seq + (len - 1)).InWindow(rcv_nxt, hi);
  }
  // RFC 7323 5.3: true if PAWS rejects the segment; the caller answers.
  bool PawsReject(Tcb& t, const Segment& seg, uint64_t now_ns);
  void ProcessAck(Tcb& t, uint32_t index, const Segment& seg, uint64_t now_ns,
                  bool* fin_acked);
  void ProcessText(Tcb& t, uint32_t index, const Segment& seg, uint64_t now_ns);
  void ChallengeAck(Tcb& t, uint64_t now_ns);
  // The per-connection limit on ACKs to invalid segments (RFC 5961 7,
  // Linux's tcp_invalid_ratelimit): true if one may go now (and notes it).
  bool OowAckAllowed(uint64_t& last_ns, uint64_t now_ns) const {
    if (now_ns - last_ns < config_.challenge_ack_interval_ns) return false;
    last_ns = now_ns;
    return true;
  }
  bool OowAckAllowedMs(uint32_t& last_ms, uint64_t now_ns) const {
    const auto now_ms = static_cast<uint32_t>(now_ns / kMillisecond);
    if (now_ms - last_ms < config_.challenge_ack_interval_ns / kMillisecond) {
      return false;
    }
    last_ms = now_ms;
    return true;
  }
  // Segments whose ACK goes whatever the limit: data or a FIN that starts
  // at or below RCV.NXT, i.e. a retransmission whose ACK was lost or a
  // zero-window probe (the peer recovers by our answer; data cannot be an
  // ACK loop, Linux's reason for exempting it). A pure ACK, or text beyond
  // the window, is what a blind sender or a loop produces.
  static bool AnswerAlways(const Segment& seg, SeqNum rcv_nxt) {
    return seg.SegLen() > 0 && !(seg.flags & wire::tcp_flags::kSyn) &&
           seg.seq <= rcv_nxt;
  }
  // The ACK to an invalid segment `seg` on a connection, within the limit;
  // counts `skipped` when the limit holds it back.
  void SendOowAck(Tcb& t, const Segment& seg, uint64_t now_ns, Mib skipped);

  // SYN-RECEIVED on the TCB of an active open (simultaneous open).
  void OnSynReceivedActive(const flow::FlowKey& key, uint32_t hash,
                           uint32_t index, const Segment& seg,
                           uint64_t now_ns);

  // --- active_open.cc ------------------------------------------------------
  void OnSynSent(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                 const Segment& seg, uint64_t now_ns);
  void EnterEstablishedActive(Tcb& t, uint32_t index, const Segment& seg,
                              uint64_t now_ns);
  // Our SYN, or (simultaneous open) our SYN-ACK, from a TCB.
  void SendSyn(Tcb& t, uint64_t now_ns, bool with_ack);
  // Connect's TCB `index` (in the table under `key`) in SYN-SENT, its SYN
  // sent and its timer armed.
  void StartActiveOpen(uint32_t index, const flow::FlowKey& key, uint32_t hash,
                       bool ipv6, SeqNum iss, uint32_t ts_offset,
                       uint64_t peer_l2, uint64_t now_ns);

  // --- listener.cc ---------------------------------------------------------
  Listener* FindListener(const flow::FlowKey& key);
  Listener* FindListener6(const flow::FlowKey6& key);
  // The listener for the segment being processed (in6_ for IPv6).
  Listener* FindListenerFor(const flow::FlowKey& key) {
    return in6_ != nullptr ? FindListener6(*in6_) : FindListener(key);
  }
  void OnListenSyn(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                   const Segment& seg, uint64_t now_ns);
  void OnListenAck(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                   const Segment& seg, uint64_t now_ns);
  // RFC 9293 3.10.7.2 second: any acknowledgment is bad in LISTEN.
  void RejectListenAck(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                       const Segment& seg, uint64_t now_ns);
  // A SYN the SYN queue cannot take: a cookie in overflow mode, else dropped
  // and counted under `reason`.
  void SynOverflow(const flow::FlowKey& key, const Segment& seg,
                   uint64_t now_ns, Drop reason);
  void SendSynAck(const HalfOpen& h, uint64_t now_ns);
  // OnListenSyn for an IPv6 SYN (in6_): SYN-queue entry `h_index` in
  // table6_ with its address slot, key, hash and ISN; false when the table
  // is full.
  [[gnu::noinline]] bool NewHalfOpen6(uint32_t h_index, uint32_t hash,
                                      uint64_t now_ns);
  // SYN cookies: the stateless SYN-ACK, and the ACK that completes it.
  void SendCookieSynAck(const flow::FlowKey& key, const Segment& seg,
                        uint64_t now_ns);
  // True when a SYN may be answered with a cookie now: always, or (in
  // overflow mode) while a listener's SYN queue or the half-open pool is
  // full. Only then does a burst's cookie preparation look at its SYNs.
  bool CookiesLikely() const {
    return config_.syncookies == SynCookieMode::kAlways ||
           (config_.syncookies == SynCookieMode::kOverflow &&
            (listeners_at_backlog_ > 0 ||
             half_open_ids_.in_use() >= config_.max_half_open));
  }
  // True when an ACK may complete a cookie handshake now: cookies always,
  // or (overflow mode) cookies sent within the last two slots.
  bool CookieAcksLikely(uint64_t now_ns) const {
    return config_.syncookies == SynCookieMode::kAlways ||
           (config_.syncookies == SynCookieMode::kOverflow && cookies_sent_ &&
            now_ns - last_cookie_ns_ <= (uint64_t{2} << cookie_params_.counter_period_log2_ns));
  }
  // Before a burst's Input calls (same order, same now): computes at once,
  // in vector lanes, the cookie work the burst will need: the cookies of
  // SYNs for no connection to a listener that answers with cookies now,
  // and the checks of ACKs for no connection to a listener while cookie
  // ACKs are taken. A segment without prepared work has it done on its
  // own; prepared work that goes unused costs nothing more. Each job names
  // its segment by position (reply_to_), so that the handler finds it
  // without comparing tuples (PreparedCookie).
  // It marks the lookup result of each segment whose listener it found
  // (kFoundListener).
  template <typename Key>
  void PrepareCookies(const Key* keys, uint32_t* found,
                      const Segment* segs, uint32_t n, uint64_t now_ns);
  // The prepared job of the segment being processed, if there is one of
  // kind `op`, for the slot `counter`: its index, else -1.
  int PreparedCookie(SynCookies::Op op, uint32_t counter) {
    return batch_.Take(reply_to_, op, counter);
  }
  // Returns true if the ACK carried a valid cookie (and was handled).
  bool TryCookieAck(const flow::FlowKey& key, uint32_t hash,
                    uint32_t listener, const Segment& seg, uint64_t now_ns);
  bool TryCookieAck6(HalfOpen& h, const Segment& seg, uint64_t now_ns);
  // The accept queue of `l` is full: the completing ACK is not admitted.
  void CountAcceptQueueFull();
  // The handshake's last step for a passive open, from a SYN-queue entry
  // or a cookie: a TCB, ESTABLISHED, on the accept queue (the caller has
  // checked there is room). kNoIndex when the TCB pool is full.
  uint32_t EstablishPassive(const HalfOpen& h, const Segment& seg,
                            uint64_t now_ns);
  void OnSynAckTimer(uint32_t index, uint64_t now_ns);
  void FreeHalfOpen(uint32_t index);

  // --- time_wait.cc --------------------------------------------------------
  void EnterTimeWait(uint32_t index, uint64_t now_ns);
  // A TIME-WAIT record for TCB `index` (recycling the oldest when the pool
  // is full), on the FIFO and in the table; kNoIndex without a pool.
  uint32_t NewTimeWaitRecord(const Tcb& t, uint64_t now_ns);
  void OnTimeWait(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                  const Segment& seg, uint64_t now_ns);
  void OnTimeWaitSyn(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                     const Segment& seg, uint64_t now_ns);
  void SendTimeWaitAck(const TimeWaitRecord& r, uint64_t now_ns);
  // The same for an invalid segment: within the rate limit.
  void SendTimeWaitOowAck(TimeWaitRecord& r, uint64_t now_ns);
  void ExpireTimeWait(uint64_t now_ns);

  // --- output.cc -----------------------------------------------------------
  // The small builders below are defined here so that every file's
  // handlers inline them: each reply passes through them.
  OutSegment& Emit(const flow::FlowKey& key, SeqNum seq, SeqNum ack,
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
  // Our timestamps, when the connection negotiated them.
  struct TsEcho {
    bool on = false;
    uint32_t offset = 0;  // the connection's TSval offset
    TsVal recent;         // TS.Recent, echoed in TSecr
  };
  void AddTimestamps(OutSegment& o, const TsEcho& ts, uint64_t now_ns) const {
    if (!ts.on) return;
    o.options.has_timestamps = true;
    o.options.ts_val = TsNow(now_ns, ts.offset);
    o.options.ts_ecr = ts.recent.value();
  }
  // An ACK of its own.
  OutSegment& SendAck(const flow::FlowKey& key, SeqNum seq, SeqNum ack,
                      uint16_t window, uint64_t peer_l2, const TsEcho& ts,
                      uint64_t now_ns) {
    OutSegment& o = Emit(key, seq, ack, wire::tcp_flags::kAck, window);
    o.peer_l2 = peer_l2;
    AddTimestamps(o, ts, now_ns);
    return o;
  }
  // IPv6: the output's addresses, from the record key's slot or (Reply6)
  // from the segment being answered. Out of line: an IPv4 segment pays
  // only the test that skips them.
  [[gnu::noinline, gnu::cold]] void Address6(OutSegment& o,
                                             const flow::FlowKey& record_key);
  [[gnu::noinline, gnu::cold]] void Reply6(OutSegment& o);
  inline bool SetAddresses6(OutSegment& o, const wire::Ipv6Address& local,
                            const wire::Ipv6Address& remote);
  [[gnu::noinline, gnu::cold]] void GrowAddresses6(
      OutSegment& o, const wire::Ipv6Address& local,
      const wire::Ipv6Address& remote);
  void SendAck(Tcb& t, uint64_t now_ns);
  void SendRstFor(const flow::FlowKey& key, const Segment& seg);
  // RST on a connection we are leaving (<SEQ=SND.NXT><ACK=RCV.NXT>).
  void SendRst(const Tcb& t);
  static TsEcho TsOf(const Tcb& t) {
    return {(t.flags & tcb_flags::kTimestamps) != 0, t.ts_offset, t.ts_recent};
  }
  void Output(Tcb& t, uint32_t index, uint64_t now_ns, bool force_probe);
  void MarkDirty(Tcb& t, uint32_t index);
  // Inline (every segment in and every segment out asks): the receive
  // window is the buffer's room, which the buffer pool's reserve bounds
  // too: under memory pressure no queue grows beyond one chunk, and the
  // window says so (it may shrink: data beyond it is then trimmed, as
  // Linux prunes under tcp_mem pressure).
  uint32_t RcvWindow(const Tcb& t) const {
    return std::min<uint32_t>(
        chunks_.Room(t.rcv_queue.size(), config_.rcv_buffer, rcv_guard_,
                     buffer_reserve_),
        uint32_t{65535} << t.rcv_wscale);
  }
  // The window field to send, and the right edge it advertises.
  uint16_t WindowField(Tcb& t) {
    const uint32_t wnd = RcvWindow(t);
    const uint32_t field = std::min<uint32_t>(wnd >> t.rcv_wscale, 65535);
    const SeqNum edge = t.rcv_nxt + (field << t.rcv_wscale);
    if (t.rcv_adv < edge) t.rcv_adv = edge;
    return static_cast<uint16_t>(field);
  }
  // The window of our SYN, SYN-ACK and of the ACKs before the handshake's
  // end: the receive buffer, unscaled, in 16 bits (RFC 7323 2.2).
  uint16_t InitialWindow() const {
    return static_cast<uint16_t>(std::min<uint32_t>(config_.rcv_buffer, 65535));
  }
  // The payload we put in a segment: the peer's MSS (536 when it gave
  // none) capped at ours, less the timestamp option's 12 bytes when they
  // are on (RFC 6691), with a floor of 64.
  // `ipv6`: 1220 when the peer gave none, capped at mss6.
  uint16_t SendMss(uint16_t peer_mss, bool timestamps, bool ipv6) const;
  // Our advertised MSS for the family.
  uint16_t OurMss(bool ipv6) const { return ipv6 ? config_.mss6 : config_.mss; }
  uint32_t TsNow(uint64_t now_ns, uint32_t offset) const {
    return static_cast<uint32_t>(now_ns / kMillisecond) + offset;
  }

  // --- timers.cc -----------------------------------------------------------
  enum class TimerKind : uint64_t { kRto = 1, kAux = 2, kSynAck = 3 };
  static uint64_t TimerCookie(TimerKind k, uint32_t index) {
    return (static_cast<uint64_t>(k) << 32) | index;
  }
  void ArmRto(Tcb& t, uint32_t index, uint64_t now_ns);
  void CancelTimer(timer::TimerWheel::Handle& h);
  void ArmAux(Tcb& t, uint32_t index, uint64_t at_ns);
  void OnTimer(uint64_t cookie, uint64_t now_ns);
  void OnRto(uint32_t index, uint64_t now_ns);
  void OnAux(uint32_t index, uint64_t now_ns);
  void UpdateRtt(Tcb& t, uint64_t rtt_us);
  // RFC 7323 4.1: an RTT sample from the TSecr of an acceptable ACK; false
  // when the segment gives none (no timestamps, or TSecr 0). TSecr echoes
  // one of our TSvals, so the difference is the RTT in ms; a sample above
  // a minute echoes something older than this connection's RTT can be (a
  // stale or forged TSecr) and is not used.
  bool SampleRttFromTsecr(Tcb& t, const Segment& seg, uint64_t now_ns) {
    if (!(t.flags & tcb_flags::kTimestamps) || !seg.options.has_timestamps ||
        seg.options.ts_ecr == 0) {
      return false;
    }
    const uint32_t rtt_ms = TsNow(now_ns, t.ts_offset) - seg.options.ts_ecr;
    if (rtt_ms < 60'000) UpdateRtt(t, uint64_t{rtt_ms} * 1000);
    return true;
  }

  // --- stack.cc ------------------------------------------------------------
  uint32_t Hash(const flow::FlowKey& key) const { return hasher_(key); }
  static bool IsIpv6(const Tcb& t) { return (t.flags & tcb_flags::kIpv6) != 0; }
  flow::FlowKey6 Key6(const flow::FlowKey& record_key) const {
    return tuples6_->Key6(record_key);
  }
  // A record's key in its family's table: `ipv6` from the record's bit.
  // Erasing an IPv6 tuple gives its address slot back. An IPv4 tuple is
  // first looked for where the burst's lookup found the segment being
  // processed (slot_hint_): the tuple erased or re-pointed is mostly that
  // segment's own. `other`: a tuple that is not (the hint would only cost
  // a compare).
  void EraseFlow(const flow::FlowKey& key, uint32_t hash, bool ipv6,
                 bool other = false) {
    if (ipv6) [[unlikely]] {
      EraseFlow6(key, hash);
      return;
    }
    if (other) {
      table_.Erase(key, hash);
    } else {
      table_.EraseAt(slot_hint_, key, hash);
    }
  }
  void EraseFlow6(const flow::FlowKey& key, uint32_t hash);
  void UpdateFlow(const flow::FlowKey& key, uint32_t hash, bool ipv6,
                  uint32_t value) {
    if (ipv6) [[unlikely]] {
      table6_->Update(Key6(key), hash, value);
      return;
    }
    table_.UpdateAt(slot_hint_, key, hash, value);
  }
  // IPv6: puts `key` in table6_ with a new address slot and returns its
  // record key (ports, the slot); false when the table is full.
  bool InsertFlow6(const flow::FlowKey6& key, uint32_t hash, uint32_t value,
                   flow::FlowKey* record_key);
  void SetState(Tcb& t, TcpState s);
  // A TCB slot for a new connection; when the pool is full, the oldest
  // orphan is reset to make room. kNoIndex when there is none to reclaim.
  uint32_t AllocTcb() {
    const uint32_t index = tcb_ids_.Alloc();
    return index != kNoIndex ? index : ReclaimAndAllocTcb();
  }
  uint32_t ReclaimAndAllocTcb();
  // Orphans: the application closed `t`. They sit on a ring in the order
  // they were orphaned; a freed one leaves a hole (one store, no neighbour
  // touched) that the oldest-first walk skips, and a full ring is packed
  // (amortized: it has room for twice the TCBs).
  void Orphan(Tcb& t, uint32_t index);
  void Unorphan(const Tcb& t) {
    orphan_ring_[t.orphan_slot] = kNoIndex;
    --orphans_;
  }
  // Resets the oldest orphan (RST, TCPAbortOnMemory). False if none.
  bool ReclaimOrphan();
  // Checks a share of the TCBs for the idle timeout (all of them over a
  // quarter of the timeout, whatever the loop rate).
  void SweepIdle(uint64_t now_ns);
  // A TCB from a SYN-queue entry (or cookie), in ESTABLISHED.
  uint32_t NewTcb(const HalfOpen& h, uint64_t now_ns);
  void FreeTcb(uint32_t index);
  void CloseTcb(uint32_t index, CloseReason reason, bool notify);
  void Event(AppEvent::Kind kind, const Tcb& t,
             CloseReason r = CloseReason::kNormal) {
    events_.push_back(AppEvent{
        kind, r,
        ConnId{static_cast<uint32_t>(&t - tcbs_.data()), t.generation}});
  }
  Tcb* Lookup(ConnId id) {
    if (id.index >= tcb_count_) return nullptr;
    Tcb& t = tcbs_[id.index];
    if (!(t.flags & tcb_flags::kInUse) || t.generation != id.generation) {
      return nullptr;
    }
    return &t;
  }

  TcpConfig config_;
  IsnGenerator isn_;
  SynCookies cookies_;
  SynCookieParams cookie_params_;
  uint64_t last_cookie_ns_ = 0;   // when the last cookie SYN-ACK went out
  CookieBatch batch_;  // cookies prepared for the current burst
  bool cookies_sent_ = false;
  flow::FlowHasher hasher_;
  TcpCounters counters_;
  uint32_t state_count_[kNumTcpStates] = {};

  flow::FlowTable table_;
  // IPv6 (only with TcpConfig::ipv6): the table, its hash, the address
  // slots of the tuples in it, and listeners by port.
  flow::FlowHasher6 hasher6_;
  std::unique_ptr<flow::FlowTable6> table6_;
  std::unique_ptr<Ipv6Tuples> tuples6_;
  std::vector<uint16_t> listener_by_port6_;  // port -> listener index + 1
  // While an IPv6 burst runs: the tuple of the segment being processed
  // (nullptr otherwise, and during IPv4 bursts).
  const flow::FlowKey6* in6_ = nullptr;
  // While InputBurst runs: the segment being processed (for reply_to),
  // and where the lookup found its IPv4 tuple (kNoSlot otherwise).
  uint16_t reply_to_ = OutSegment::kNoReply;
  uint32_t slot_hint_ = flow::FlowTable::kNoSlot;
  uint32_t burst_base_ = 0;
  timer::TimerWheel timers_;
  ChunkPool chunks_;

  flow::PoolVector<Tcb> tcbs_;
  uint32_t tcb_count_;  // tcbs_.size(), without the division by sizeof(Tcb)
  flow::IndexPool tcb_ids_;
  std::vector<uint32_t> orphan_ring_;  // TCB indices; kNoIndex: a hole
  uint32_t orphan_mask_;               // ring size - 1 (a power of two)
  uint32_t orphan_head_ = 0;           // oldest slot (free-running)
  uint32_t orphan_tail_ = 0;           // next slot to fill
  uint32_t orphans_ = 0;
  uint32_t max_orphans_;
  uint32_t buffer_reserve_;          // chunks (memory pressure below)
  uint32_t rcv_guard_;               // ChunkPool::Room's guards (chunks)
  uint32_t snd_guard_;
  uint32_t sweep_cursor_ = 0;        // next TCB the idle sweep looks at
  uint64_t next_sweep_ns_ = 0;
  std::vector<HalfOpen> half_open_;
  flow::IndexPool half_open_ids_;
  TimeWaitPool time_wait_;

  std::vector<Listener> listeners_;
  std::vector<uint16_t> listener_by_port_;  // port -> listener index + 1
  uint32_t listeners_at_backlog_ = 0;  // with syn_count == syn_backlog

  std::vector<uint32_t> dirty_;  // TCBs with something to send
  // RFC 6191: while a SYN reopens a TIME-WAIT tuple, the ISN floor.
  SeqNum iss_floor_;
  bool iss_floor_set_ = false;
  std::vector<OutSegment> output_;
  // IPv6 outputs' addresses, at the index of their segment in output_
  // (entries of IPv4 segments unused).
  std::vector<OutAddresses6> output6_;
  std::vector<AppEvent> events_;
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_STACK_H_
