// TcpStack: one core's TCP endpoint: listeners with their SYN and accept
// queues, the connection table, the TCB / half-open / TIME-WAIT pools, the
// timer wheel, and the RFC 9293 state machine that ties them together.
//
// It is pure: no DPDK, no clock, no I/O. The engine hands it parsed segments
// with the time (Input), advances its timers (AdvanceTimers), and after each
// call drains two arrays: the segments to transmit (output()) and the events
// for the application (events()). The application acts through the API
// below (Send, Close, Abort, Read) and the engine then calls Flush(), which
// turns whatever became sendable (data, FIN, owed ACKs) into segments.
// Tests drive the same object directly (tests/fsm).
//
// The state machine is two-level (STYLE.md): a table [state][flag class]
// picks a handler or a drop reason, and each handler follows the RFC 9293
// 3.10.7 "SEGMENT ARRIVES" steps in order, commented with the step.
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
#ifndef SYNWAVE_TCP_STACK_H_
#define SYNWAVE_TCP_STACK_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "flow/flow_key.h"
#include "flow/flow_table.h"
#include "flow/index_pool.h"
#include "tcp/byte_queue.h"
#include "tcp/config.h"
#include "tcp/counters.h"
#include "tcp/isn.h"
#include "tcp/syncookie.h"
#include "tcp/tcb.h"
#include "timer/timer_wheel.h"
#include "wire/tcp_options.h"

namespace synwave::tcp {

// An inbound segment, as the parser described it (host byte order).
struct Segment {
  SeqNum seq;
  SeqNum ack;
  uint8_t flags = 0;            // wire::tcp_flags
  uint16_t window = 0;          // as received (unscaled)
  uint16_t payload_length = 0;
  const uint8_t* payload = nullptr;
  wire::TcpOptions options;
  uint64_t peer_l2 = 0;         // opaque next-hop hint kept with new connections

  // Sequence space: payload plus one each for SYN and FIN.
  uint32_t SegLen() const;
};

// A segment to transmit. Payload bytes, if any, come from the connection's
// send queue (CopyPayload).
struct OutSegment {
  flow::FlowKey key;            // local = source of this segment
  SeqNum seq;
  SeqNum ack;
  uint8_t flags = 0;
  uint16_t window = 0;          // as written on the wire
  uint16_t payload_length = 0;
  uint32_t payload_offset = 0;  // into the send queue
  uint32_t conn = kNoIndex;     // TCB index when there is payload
  uint64_t peer_l2 = 0;         // 0 when unknown: reply to the input's source
  wire::TcpOptions options;
  bool retransmission = false;
  bool syn_cookie = false;      // a SYN-ACK whose ISN is a SYN cookie
  // The index, in the InputBurst call that produced it, of the segment this
  // answers (its buffer may carry the reply); kNoReply for output of
  // timers, Flush and the application API.
  static constexpr uint16_t kNoReply = 0xffff;
  uint16_t reply_to = kNoReply;
};

struct AppEvent {
  enum class Kind : uint8_t {
    kAccepted, kConnected, kData, kPeerClosed, kSent, kClosed
  };
  Kind kind;
  CloseReason reason = CloseReason::kNormal;  // kClosed
  ConnId conn;
};

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

  // Fires due timers (retransmissions, SYN-ACK retries, keepalive,
  // FIN-WAIT-2) and expires TIME-WAIT records, within the per-loop budget.
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
  uint32_t Readable(ConnId id) const;
  void Close(ConnId id, uint64_t now_ns);
  void Abort(ConnId id, uint64_t now_ns);
  bool IsOpen(ConnId id) const;
  TcpState StateOf(ConnId id) const;
  uint64_t& AppData(ConnId id);

  // Output and events since the last ClearOutput()/ClearEvents().
  std::span<const OutSegment> output() const { return output_; }
  void ClearOutput() { output_.clear(); }
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
  uint32_t time_wait_in_use() const { return time_wait_ids_.in_use(); }
  uint32_t buffer_chunks_in_use() const { return chunks_.in_use(); }
  uint32_t timers_in_use() const { return timers_.size(); }
  const flow::FlowTable& table() const { return table_; }
  uint32_t Hash(const flow::FlowKey& key) const;
  const TcpConfig& config() const { return config_; }

  // Test hook: the TCB behind an id (nullptr when stale).
  const Tcb* Find(ConnId id) const;

 private:
  struct Listener;
  enum class Kind : uint32_t { kTcb = 0, kHalfOpen = 1, kTimeWait = 2 };
  enum class FlagClass : uint8_t { kRst, kSyn, kSynAck, kAck, kNoAck, kCount };
  using Handler = void (TcpStack::*)(const flow::FlowKey&, uint32_t, uint32_t,
                                     const Segment&, uint64_t);
  struct Dispatch {
    Handler handler;   // or nullptr with `drop`
    Drop drop;
  };

  static uint32_t Encode(Kind k, uint32_t index) {
    return (static_cast<uint32_t>(k) << 30) | index;
  }
  static FlagClass Classify(uint8_t flags);

  // One segment whose lookup is done: `found` is the table's value for it.
  void Input(const flow::FlowKey& key, uint32_t hash, uint32_t found,
             const Segment& seg, uint64_t now_ns);
  // Before a burst's Input calls (same order, same now): computes at once,
  // in vector lanes, the SYN cookies the burst will need (SYNs for no
  // connection to a listener that answers with cookies now). A SYN without
  // a prepared cookie gets one computed on its own; a prepared one that
  // goes unused costs nothing more.
  void PrepareCookies(const flow::FlowKey* keys, const uint32_t* found,
                      const Segment* segs, uint32_t n, uint64_t now_ns);
  static const Dispatch kDispatch[kNumTcpStates][static_cast<int>(FlagClass::kCount)];

  // Second-level handlers, one per RFC 9293 3.10.7 group.
  void OnClosed(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                const Segment& seg, uint64_t now);
  void OnListen(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                const Segment& seg, uint64_t now);
  void OnSynSent(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                 const Segment& seg, uint64_t now);
  void OnSynReceived(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                     const Segment& seg, uint64_t now);
  void OnSynchronized(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                      const Segment& seg, uint64_t now);
  void OnTimeWait(const flow::FlowKey& key, uint32_t hash, uint32_t index,
                  const Segment& seg, uint64_t now);

  // Pieces of the handlers.
  bool Acceptable(const Tcb& t, const Segment& seg) const;
  // RFC 7323 5.3: true if PAWS rejects the segment; the caller answers.
  bool PawsReject(Tcb& t, const Segment& seg, uint64_t now);
  void ProcessAck(Tcb& t, uint32_t index, const Segment& seg, uint64_t now,
                  bool* fin_acked);
  void ProcessText(Tcb& t, uint32_t index, const Segment& seg, uint64_t now);
  void ChallengeAck(Tcb& t, uint32_t index, uint64_t now);

  // Transitions and record management.
  void SetState(Tcb& t, TcpState s);
  uint32_t NewTcb(const HalfOpen& h, uint64_t now);
  void FreeTcb(uint32_t index);
  void CloseTcb(uint32_t index, CloseReason reason, bool notify);
  void EnterTimeWait(uint32_t index, uint64_t now);
  void FreeHalfOpen(uint32_t index);
  void FreeTimeWait(uint32_t index);
  void TimeWaitPushBack(uint32_t index);
  void TimeWaitUnlink(uint32_t index);
  Listener* FindListener(const flow::FlowKey& key);

  // Output helpers.
  OutSegment& Emit(const flow::FlowKey& key, SeqNum seq, SeqNum ack,
                   uint8_t flags, uint16_t window);
  void SendRstFor(const flow::FlowKey& key, const Segment& seg);
  void SendSynAck(const HalfOpen& h, uint64_t now);
  // SYN cookies: the stateless SYN-ACK, and the ACK that completes it.
  void SendCookieSynAck(const flow::FlowKey& key, const Segment& seg,
                        uint64_t now);
  // Returns true if the ACK carried a valid cookie (and was handled).
  bool TryCookieAck(const flow::FlowKey& key, uint32_t hash,
                    uint32_t listener, const Segment& seg, uint64_t now);
  // The handshake's last step for a passive open, from a SYN-queue entry
  // or a cookie: a TCB, ESTABLISHED, on the accept queue (the caller has
  // checked there is room). kNoIndex when the TCB pool is full.
  uint32_t EstablishPassive(const HalfOpen& h, const Segment& seg,
                            uint64_t now);
  // Active open: our SYN, or (simultaneous open) our SYN-ACK, from a TCB.
  void SendSyn(Tcb& t, uint64_t now, bool with_ack);
  void EnterEstablishedActive(Tcb& t, uint32_t index, const Segment& seg,
                              uint64_t now);
  void SendAck(Tcb& t, uint64_t now);
  void AddTimestamps(OutSegment& o, const Tcb& t, uint64_t now);
  void Output(Tcb& t, uint32_t index, uint64_t now, bool force_probe);
  void MarkDirty(Tcb& t, uint32_t index);
  uint16_t WindowField(Tcb& t);
  uint32_t RcvWindow(const Tcb& t) const;
  uint32_t TsNow(uint64_t now, uint32_t offset) const {
    return static_cast<uint32_t>(now / kMillisecond) + offset;
  }

  // Timers.
  enum class TimerKind : uint64_t { kRto = 1, kAux = 2, kSynAck = 3 };
  static uint64_t TimerCookie(TimerKind k, uint32_t index) {
    return (static_cast<uint64_t>(k) << 32) | index;
  }
  void ArmRto(Tcb& t, uint32_t index, uint64_t now);
  void CancelTimer(timer::TimerWheel::Handle& h);
  void ArmAux(Tcb& t, uint32_t index, uint64_t at);
  void OnTimer(uint64_t cookie, uint64_t now);
  void OnRto(uint32_t index, uint64_t now);
  void OnAux(uint32_t index, uint64_t now);
  void OnSynAckTimer(uint32_t index, uint64_t now);
  void UpdateRtt(Tcb& t, uint64_t rtt_us);

  void Event(AppEvent::Kind kind, const Tcb& t, CloseReason r = CloseReason::kNormal);
  Tcb* Lookup(ConnId id);

  TcpConfig config_;
  IsnGenerator isn_;
  SynCookies cookies_;
  SynCookieParams cookie_params_;
  uint64_t last_cookie_ns_ = 0;   // when the last cookie SYN-ACK went out
  // Cookies prepared for the current burst, in segment order.
  static constexpr uint32_t kCookieBatch = 64;
  flow::FlowKey batch_keys_[kCookieBatch];
  SeqNum batch_seqs_[kCookieBatch];
  uint16_t batch_mss_[kCookieBatch];
  SeqNum batch_iss_[kCookieBatch];
  uint32_t batch_aux_[kCookieBatch];
  uint32_t batch_n_ = 0;
  uint32_t batch_next_ = 0;
  uint32_t batch_counter_ = 0;
  bool cookies_sent_ = false;
  flow::FlowHasher hasher_;
  TcpCounters counters_;
  uint32_t state_count_[kNumTcpStates] = {};

  flow::FlowTable table_;
  // While InputBurst runs: the segment being processed (for reply_to).
  uint16_t reply_to_ = OutSegment::kNoReply;
  uint32_t burst_base_ = 0;
  timer::TimerWheel timers_;
  ChunkPool chunks_;

  std::vector<Tcb> tcbs_;
  flow::IndexPool tcb_ids_;
  std::vector<HalfOpen> half_open_;
  flow::IndexPool half_open_ids_;
  std::vector<TimeWaitRecord> time_wait_;
  flow::IndexPool time_wait_ids_;
  uint32_t tw_head_ = kNoIndex;  // oldest
  uint32_t tw_tail_ = kNoIndex;

  std::vector<Listener> listeners_;
  std::vector<uint16_t> listener_by_port_;  // port -> listener index + 1

  std::vector<uint32_t> dirty_;  // TCBs with something to send
  // RFC 6191: while a SYN reopens a TIME-WAIT tuple, the ISN floor.
  SeqNum iss_floor_;
  bool iss_floor_set_ = false;
  std::vector<OutSegment> output_;
  std::vector<AppEvent> events_;
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_STACK_H_
