// libFuzzer target for TcpStack: the whole state machine, its pools and its
// timers, driven by a program of operations (stack_fuzz_program.h says how
// the bytes are read).
//
// Each input builds one stack with tiny pools (8 TCBs, 6 half-open entries,
// 2 or 8 TIME-WAIT records, 6 or 24 buffer chunks, SYN and accept backlogs
// of 4), a SYN-cookie mode, timestamps on or off and small retry limits, all
// chosen by the first two bytes, and then runs the program: segments from a
// fixed set of 32 peers (any flags, invalid combinations included; sequence
// and acknowledgment numbers literal or relative to what the stack last sent
// that peer; fuzzed MSS, window scale, SACK-permitted and timestamp
// options; payloads up to 7 KB), correct answers to what the stack sent
// (so that handshakes, cookie ones included, and closes complete), bursts
// looked up before they are processed (as the engine's FindBulk does),
// Connect, Accept, Send, Read, Close, Abort, Flush, the API on stale ids,
// and jumps of the virtual clock.
//
// Beyond "no crash" (and no ASan or UBSan report), after every operation:
//  - no pool is above its configured size, the connection table holds
//    exactly connections + half-open + TIME-WAIT entries, the per-state
//    counts add up to the TCBs in use, and there are at most two timers per
//    TCB and one per half-open entry (a lost timer handle shows here);
//  - every segment goes to a 4-tuple the program used, carries MSS, window
//    scale or SACK-permitted only on a SYN, no payload on a SYN or RST, and
//    at most the configured MSS of payload; its payload is exactly the bytes
//    the application sent at that sequence number;
//  - the application's view is consistent: every event names a connection
//    the application owns (kAccepted one it does not own yet), kClosed
//    comes once and only for a connection that is gone, a connection the
//    application owns never disappears without kClosed, no data comes after
//    the peer's FIN, and Read returns the peer's bytes in sequence order;
//  - the API on a stale ConnId does nothing.
// At the end the peers fall silent for 10 minutes of virtual time: then no
// half-open entry, TIME-WAIT record or TCB in a closing or opening state may
// remain (each has a timer that ends it), nor any TCB at all with
// keepalive on; after Accept and Abort of every connection, every pool but
// the listeners is empty (nothing leaks).
//
// Built with -fsanitize=fuzzer when meson's `fuzz` option is set; otherwise
// stack_replay_main.cc drives it as an ordinary test. STACK_FUZZ_TRACE=1 in
// the environment prints what happens (to read a crash's input).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "flow/flow_key.h"
#include "flow/flow_table.h"
#include "stack_fuzz_program.h"
#include "tcp/config.h"
#include "tcp/counters.h"
#include "tcp/stack.h"
#include "tcp/state.h"
#include "tcp/tcb.h"
#include "wire/headers.h"
#include "wire/tcp_options.h"

namespace {

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::stack_fuzz;
namespace tf = wire::tcp_flags;

// Invariant violations abort so that libFuzzer records the input as a crash.
#define FUZZ_CHECK(cond)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                  \
      std::abort();                                                   \
    }                                                                 \
  } while (0)

bool Tracing() {
  static const bool on = [] {
    const char* v = std::getenv("STACK_FUZZ_TRACE");
    return v != nullptr && v[0] != '\0' && v[0] != '0';
  }();
  return on;
}
#define TRACE(...)                                 \
  do {                                             \
    if (Tracing()) std::fprintf(stderr, __VA_ARGS__); \
  } while (0)

constexpr size_t kMaxOps = 4096;
constexpr uint64_t kMs = kMillisecond;
// The quiet period at the end, and its step.
constexpr uint64_t kDrainNs = 600 * kSecond;
constexpr uint64_t kDrainStepNs = 500 * kMs;

const char* Flags(uint8_t f) {
  static char buf[16];
  char* p = buf;
  if (f & tf::kSyn) *p++ = 'S';
  if (f & tf::kFin) *p++ = 'F';
  if (f & tf::kRst) *p++ = 'R';
  if (f & tf::kPsh) *p++ = 'P';
  if (f & tf::kUrg) *p++ = 'U';
  if (f & tf::kEce) *p++ = 'E';
  if (f & tf::kCwr) *p++ = 'C';
  if (f & tf::kAck) *p++ = '.';
  if (p == buf) *p++ = '-';
  *p = '\0';
  return buf;
}

TcpConfig MakeConfig(uint8_t c0, uint8_t c1) {
  TcpConfig c;
  c.max_connections = 8;
  // Below the two listeners' SYN backlogs together (2 x 4), so that the
  // pool, not only a backlog, can run out.
  c.max_half_open = 6;
  c.max_time_wait = (c1 & cfg1::kFewTimeWait) ? 2 : 8;
  c.buffer_chunks = (c1 & cfg1::kFewChunks) ? 6 : 24;
  c.syn_backlog = 4;
  c.accept_backlog = 4;
  switch (c0 & cfg0::kCookieMask) {
    case 0:
      c.syncookies = SynCookieMode::kOff;
      break;
    case 2:
      c.syncookies = SynCookieMode::kAlways;
      break;
    default:
      c.syncookies = SynCookieMode::kOverflow;
      break;
  }
  c.syncookie_period_log2_ns = (c0 & cfg0::kShortCookiePeriod) ? 30 : 36;
  c.mss = (c1 & cfg1::kSmallMss) ? 536 : 1460;
  c.window_scale = (c0 & cfg0::kWindowScale) ? 7 : 0;
  c.timestamps = (c0 & cfg0::kTimestamps) != 0;
  c.sack_permitted = (c0 & cfg0::kSack) != 0;
  c.rcv_buffer = (c0 & cfg0::kSmallBuffers) ? 3000 : 16384;
  c.snd_buffer = (c0 & cfg0::kSmallBuffers) ? 6000 : 32768;
  c.rto_initial_ns = 1 * kSecond;
  c.rto_min_ns = 200 * kMs;
  c.rto_max_ns = 4 * kSecond;
  c.syn_ack_retries = (c1 & cfg1::kNoSynRetries) ? 0 : 2;
  c.syn_retries = (c1 & cfg1::kNoSynRetries) ? 0 : 2;
  c.max_retransmits = (c1 & cfg1::kOneRetransmit) ? 1 : 3;
  // The limits on what clients may hold, from the same bits (the program
  // format has no room for more): closed connections give up as fast as
  // open ones, two orphans at most with few TIME-WAIT records, and an idle
  // timeout on every other configuration.
  c.orphan_retries = c.max_retransmits;
  c.max_orphans = (c1 & cfg1::kFewTimeWait) ? 2 : 0;
  c.idle_timeout_ns = ((c0 ^ c1) & 1) ? 8 * kSecond : 0;
  c.msl_ns = 2 * kSecond;
  c.fin_wait2_timeout_ns = 10 * kSecond;
  c.keepalive = (c0 & cfg0::kKeepalive) != 0;
  c.keepalive_idle_ns = 20 * kSecond;
  c.keepalive_interval_ns = 2 * kSecond;
  c.keepalive_probes = 2;
  c.timer_budget = (c1 & cfg1::kTinyBudget) ? 2 : 256;
  return c;
}

uint32_t SegLen(const OutSegment& o) {
  return o.payload_length + ((o.flags & tf::kSyn) ? 1u : 0u) +
         ((o.flags & tf::kFin) ? 1u : 0u);
}

int TupleIndexOf(const flow::FlowKey& key) {
  for (int i = 0; i < kNumTuples; ++i) {
    if (TupleKey(i) == key) return i;
  }
  return -1;
}

constexpr int kSynOffsets = 32;

// What the harness knows about one peer.
struct TupleView {
  bool used = false;       // a segment or a Connect named it
  bool has_out = false;
  OutSegment last;         // the last non-RST segment the stack sent here
  bool last_is_cookie = false;  // it is a SYN-ACK whose ISN is a SYN cookie
  uint64_t last_ns = 0;    // when it was sent
  SeqNum synack_isn;       // the ISN of the last SYN-ACK sent here
  SeqNum highest;          // the highest SEQ + LEN sent here
  uint32_t last_ts_val = 0;
  // Our TSval clocks here (RFC 7323 5.4): TSval = our millisecond clock +
  // a per-connection offset. The offset of the segments after the
  // handshake, and those of the SYNs and SYN-ACKs that may have started a
  // connection (a cookie SYN-ACK's is only known to within 2^6: the low
  // TSval bits carry options).
  bool has_conn_offset = false;
  uint32_t conn_offset = 0;
  uint32_t syn_offsets[kSynOffsets] = {};
  bool syn_offset_cookie[kSynOffsets] = {};
  int syn_offsets_next = 0;
  int syn_offsets_count = 0;
  uint32_t peer_iss = 0;
  uint32_t peer_ts_offset = 0;
};

// A connection the application owns (accepted or opened).
struct AppConn {
  ConnId id;
  uint32_t sent = 0;  // bytes Send took
  uint32_t read = 0;  // bytes Read returned
  bool active = false;
  bool connected = false;
  bool peer_closed = false;
};

// A segment ready for Input, with its payload in an exactly sized buffer so
// that ASan sees a read past its end.
struct Pending {
  int tuple = -1;
  Segment seg;
  std::vector<uint8_t> payload;
  bool twice = false;
  // A correct answer to a SYN cookie that is still valid: it must pass.
  bool valid_cookie_answer = false;

  void SetPayload(uint32_t len) {
    // What the peer sends at each sequence number; a SYN's payload starts
    // after the SYN's own number.
    const SeqNum first = seg.seq + ((seg.flags & tf::kSyn) ? 1 : 0);
    payload.resize(len);
    for (uint32_t i = 0; i < len; ++i) payload[i] = PeerByte((first + i).value());
    seg.payload = payload.empty() ? nullptr : payload.data();
    seg.payload_length = static_cast<uint16_t>(len);
  }
};

class Harness {
 public:
  Harness(uint8_t c0, uint8_t c1)
      : config_(MakeConfig(c0, c1)), now_(kStartTimes[c1 & cfg1::kStartMask]) {
    stack_ = std::make_unique<TcpStack>(
        config_, SipKey{0x0123456789abcdefull, 0xfedcba9876543210ull},
        /*hash_seed=*/7, now_);
    FUZZ_CHECK(stack_->Listen(kLocalIps[0], kLocalPorts[0]));
    FUZZ_CHECK(stack_->Listen(0, kLocalPorts[1]));
    for (int i = 0; i < kNumTuples; ++i) {
      tuples_[i].peer_iss = 1'000'000u * static_cast<uint32_t>(i + 1);
      tuples_[i].peer_ts_offset = 0x01000000u * static_cast<uint32_t>(i + 1);
    }
    TRACE("config cookies=%d ts=%d sack=%d ws=%d keepalive=%d mss=%u "
          "rcv=%u snd=%u chunks=%u tw=%u budget=%u start=%llu\n",
          static_cast<int>(config_.syncookies), config_.timestamps,
          config_.sack_permitted, config_.window_scale, config_.keepalive,
          config_.mss, config_.rcv_buffer, config_.snd_buffer,
          config_.buffer_chunks, config_.max_time_wait, config_.timer_budget,
          static_cast<unsigned long long>(now_));
  }

  void Run(ByteReader& in) {
    for (size_t n = 0; n < kMaxOps && !in.empty(); ++n) Step(in);
    Finish();
  }

 private:
  void Step(ByteReader& in) {
    const uint8_t b = in.U8();
    const Op op = kOpOfKind[b & 0x0f];
    switch (op) {
      case Op::kSegment: {
        Pending p;
        ReadSegment(in, &p);
        Inject(p);
        break;
      }
      case Op::kAnswer: {
        Pending p;
        if (ReadAnswer(in, &p)) Inject(p);
        break;
      }
      case Op::kSyn: {
        Pending p;
        ReadSyn(in, &p);
        Inject(p);
        break;
      }
      case Op::kAdvance:
        now_ += AdvanceNs(in.U8());
        TRACE("%llu advance\n", Ms());
        stack_->AdvanceTimers(now_);
        break;
      case Op::kConnect:
        Connect(in.U8() % kNumTuples);
        break;
      case Op::kAccept:
        Accept(in.U8() % 8);
        break;
      case Op::kSend:
        Send(in);
        break;
      case Op::kRead:
        Read(in);
        break;
      case Op::kClose:
      case Op::kAbort: {
        const uint8_t which = in.U8();
        if (conns_.empty()) break;
        const ConnId id = conns_[which % conns_.size()].id;
        if (op == Op::kClose) {
          TRACE("%llu close %u\n", Ms(), id.index);
          stack_->Close(id, now_);
        } else {
          TRACE("%llu abort %u\n", Ms(), id.index);
          stack_->Abort(id, now_);
          Collect();
          // Gone at once, and the application was told.
          FUZZ_CHECK(!stack_->IsOpen(id));
          FUZZ_CHECK(FindConn(id) == nullptr);
        }
        break;
      }
      case Op::kFlush:
        break;  // below
      case Op::kBurst:
        Burst(in);
        break;
      case Op::kStale:
        Stale(in.U8());
        break;
    }
    if (!(b & kNoFlush) || op == Op::kFlush) stack_->Flush(now_);
    Collect();
    CheckPools();
  }

  unsigned long long Ms() const { return now_ / kMs; }

  uint32_t PeerTs(int tuple) const {
    return static_cast<uint32_t>(now_ / kMs) + tuples_[tuple].peer_ts_offset;
  }

  // --- Building segments ---------------------------------------------------

  static uint32_t Delta(ByteReader& in, uint8_t sel) {
    switch ((sel >> kDeltaShift) & 3) {
      case 1:
        return static_cast<uint32_t>(static_cast<int8_t>(in.U8()));
      case 2:
        return static_cast<uint32_t>(static_cast<int16_t>(in.U16()));
      case 3:
        return static_cast<uint32_t>(static_cast<int8_t>(in.U8())) << 16;
      default:
        return 0;
    }
  }

  SeqNum SeqFromSelector(ByteReader& in, const TupleView& v) {
    const uint8_t sel = in.U8();
    const OutSegment& o = v.last;
    SeqNum base;
    switch (sel & 7) {
      case seqsel::kZero:
        break;
      case seqsel::kLiteral:
        base = SeqNum(in.U32());
        break;
      case seqsel::kExpected:
        base = o.ack;
        break;
      case seqsel::kWindowEdge:
        base = o.ack + (uint32_t{o.window} << 7);
        break;
      case seqsel::kPeerIss:
        base = SeqNum(v.peer_iss);
        break;
      case seqsel::kTheirSeq:
        base = o.seq;
        break;
      case seqsel::kFar:
        base = o.ack + 0x80000000u;
        break;
      case seqsel::kPeerIssNext:
        base = SeqNum(v.peer_iss + 1);
        break;
    }
    return base + Delta(in, sel);
  }

  SeqNum AckFromSelector(ByteReader& in, const TupleView& v) {
    const uint8_t sel = in.U8();
    const OutSegment& o = v.last;
    SeqNum base;
    switch (sel & 7) {
      case acksel::kZero:
        break;
      case acksel::kLiteral:
        base = SeqNum(in.U32());
        break;
      case acksel::kAll:
        base = o.seq + SegLen(o);
        break;
      case acksel::kSynAckIsn1:
        base = v.synack_isn + 1;
        break;
      case acksel::kTheirSeq:
        base = o.seq;
        break;
      case acksel::kHighest:
        base = v.highest;
        break;
      case acksel::kOld:
        base = o.seq - 0x40000000u;
        break;
      case acksel::kEcho:
        base = o.ack;
        break;
    }
    return base + Delta(in, sel);
  }

  wire::TcpOptions ReadOptions(ByteReader& in, int tuple) {
    wire::TcpOptions o;
    const uint8_t b = in.U8();
    if (b & opt::kMss) {
      o.has_mss = true;
      o.mss = in.U16();
    }
    if (b & opt::kWscale) {
      o.has_window_scale = true;
      o.window_scale = in.U8();  // unclamped, as the parser gives it
    }
    o.sack_permitted = (b & opt::kSackOk) != 0;
    o.sack_blocks = static_cast<uint8_t>(std::min(b >> opt::kSackBlocksShift, 4));
    uint32_t ts_val = PeerTs(tuple);
    uint32_t ts_ecr = tuples_[tuple].last_ts_val;
    if (b & opt::kTsLiteral) {
      ts_val = in.U32();
      ts_ecr = in.U32();
    }
    if (b & opt::kTimestamps) {
      o.has_timestamps = true;
      o.ts_val = ts_val;
      o.ts_ecr = ts_ecr;
    }
    return o;
  }

  void ReadSegment(ByteReader& in, Pending* p) {
    p->tuple = in.U8() % kNumTuples;
    const TupleView& v = tuples_[p->tuple];
    p->seg.flags = in.U8();
    p->seg.seq = SeqFromSelector(in, v);
    p->seg.ack = AckFromSelector(in, v);
    p->seg.window = in.U16();
    p->seg.options = ReadOptions(in, p->tuple);
    p->SetPayload(PayloadLength(in.U8()));
  }

  void ReadSyn(ByteReader& in, Pending* p) {
    p->tuple = in.U8() % kNumTuples;
    TupleView& v = tuples_[p->tuple];
    switch (in.U8() & 3) {
      case iss::kSame:
        break;
      case iss::kNewer:
        v.peer_iss += 1u << 20;
        break;
      case iss::kLiteral:
        v.peer_iss = in.U32();
        break;
      case iss::kOlder:
        v.peer_iss -= 1u << 20;
        break;
    }
    p->seg.flags = tf::kSyn;
    p->seg.seq = SeqNum(v.peer_iss);
    p->seg.window = 65535;
    p->seg.options = ReadOptions(in, p->tuple);
    if (p->seg.options.has_timestamps) p->seg.options.ts_ecr = 0;
  }

  // The reply a correct peer would give to a segment the stack sent.
  bool ReadAnswer(ByteReader& in, Pending* p) {
    const uint8_t recent = in.U8();
    const uint8_t v = in.U8();
    const uint32_t paylen = (v & answer::kData) ? PayloadLength(in.U8()) : 0;
    if (recent_count_ == 0) return false;
    const int k = recent % recent_count_;
    p->tuple = recent_[(recent_head_ + kRecent - 1 - k) % kRecent];
    const TupleView& view = tuples_[p->tuple];
    const OutSegment& o = view.last;
    Segment& s = p->seg;
    s.window = (v & answer::kZeroWindow) ? 0 : 65535;
    if ((o.flags & (tf::kSyn | tf::kAck)) == tf::kSyn) {
      // Our SYN (an active open): SYN-ACK, or a SYN of its own
      // (simultaneous open).
      s.flags = (v & answer::kOther) ? tf::kSyn : (tf::kSyn | tf::kAck);
      s.seq = SeqNum(view.peer_iss);
      s.ack = (v & answer::kOther) ? SeqNum(0) : o.seq + 1;
      s.options.has_mss = true;
      s.options.mss = 1460;
      s.options.has_window_scale = o.options.has_window_scale;
      s.options.window_scale = 7;
      s.options.sack_permitted = o.options.sack_permitted;
    } else if ((o.flags & (tf::kSyn | tf::kAck)) == (tf::kSyn | tf::kAck)) {
      // Our SYN-ACK: the ACK that completes the handshake.
      s.flags = tf::kAck;
      s.seq = o.ack;
      s.ack = o.seq + 1;
    } else if (v & answer::kOther) {
      s.flags = tf::kRst;
      s.seq = o.ack;
    } else {
      // Data, FIN or an ACK: acknowledge all of it.
      s.flags = tf::kAck;
      s.seq = o.ack;
      s.ack = o.seq + SegLen(o);
    }
    if ((v & answer::kAckNothing) && (s.flags & tf::kAck)) s.ack = o.seq;
    if (v & answer::kFin) s.flags |= tf::kFin;
    if (o.options.has_timestamps && !(v & answer::kNoTs)) {
      s.options.has_timestamps = true;
      s.options.ts_val = PeerTs(p->tuple) - ((v & answer::kOldTs) ? 100000 : 0);
      s.options.ts_ecr = (s.flags & tf::kAck) ? o.options.ts_val : 0;
    }
    if (paylen > 0 && (s.flags & tf::kAck)) s.flags |= tf::kPsh;
    p->SetPayload(paylen);
    p->twice = (v & answer::kTwice) != 0;
    // A cookie is valid in the time slot it was made in and the next.
    const uint32_t log2 = config_.syncookie_period_log2_ns;
    p->valid_cookie_answer =
        view.last_is_cookie && !(v & (answer::kAckNothing | answer::kOther)) &&
        static_cast<uint32_t>((now_ >> log2) - (view.last_ns >> log2)) <= 1 &&
        stack_->TupleFree(TupleKey(p->tuple));
    return true;
  }

  void TraceIn(const Pending& p, const char* what) {
    TRACE("%llu %s t%d < %s seq %u ack %u win %u len %u%s%s%s\n", Ms(), what,
          p.tuple, Flags(p.seg.flags), p.seg.seq.value(), p.seg.ack.value(),
          p.seg.window, p.seg.payload_length,
          p.seg.options.has_mss ? " mss" : "",
          p.seg.options.has_window_scale ? " ws" : "",
          p.seg.options.has_timestamps ? " ts" : "");
  }

  void Inject(const Pending& p) {
    tuples_[p.tuple].used = true;
    for (int i = 0; i < (p.twice ? 2 : 1); ++i) Deliver(p);
  }

  uint64_t Count(Mib m) const { return stack_->counters().Get(m); }

  // One segment (an InputBurst of one), checking that a SYN got at most one
  // cookie SYN-ACK and that a correct answer to a valid cookie was taken.
  void Deliver(const Pending& p) {
    const flow::FlowKey key = TupleKey(p.tuple);
    const size_t before = stack_->output().size();
    const uint64_t cookies_sent = Count(Mib::kSyncookiesSent);
    const uint64_t cookies_failed = Count(Mib::kSyncookiesFailed);
    TraceIn(p, "in");
    stack_->Input(key, p.seg, now_);
    FUZZ_CHECK(Count(Mib::kSyncookiesSent) - cookies_sent <= 1);
    CheckCookieReplies(before, &key, &p.seg, Count(Mib::kSyncookiesSent) - cookies_sent);
    if (p.valid_cookie_answer) {
      FUZZ_CHECK(Count(Mib::kSyncookiesFailed) == cookies_failed);
    }
  }

  // The output from `before` on: one cookie SYN-ACK per cookie counted, each
  // the reply to a bare SYN of its own tuple, at most one per segment.
  void CheckCookieReplies(size_t before, const flow::FlowKey* keys,
                          const Segment* segs, uint64_t cookies) {
    const std::span<const OutSegment> out = stack_->output();
    uint64_t seen = 0;
    uint32_t last_reply = OutSegment::kNoReply;
    for (size_t i = before; i < out.size(); ++i) {
      if (!out[i].syn_cookie) continue;
      FUZZ_CHECK((out[i].flags & (tf::kSyn | tf::kAck)) == (tf::kSyn | tf::kAck));
      FUZZ_CHECK(out[i].reply_to != OutSegment::kNoReply);
      FUZZ_CHECK(out[i].reply_to != last_reply);
      last_reply = out[i].reply_to;
      FUZZ_CHECK(out[i].key == keys[out[i].reply_to]);
      FUZZ_CHECK((segs[out[i].reply_to].flags & (tf::kSyn | tf::kAck)) == tf::kSyn);
      ++seen;
    }
    FUZZ_CHECK(seen == cookies);
  }

  // Segments handed to the stack as one InputBurst, as the engine does: the
  // burst is looked up at once (so the stack's check for lookups the burst
  // itself made stale is exercised) and its SYN cookies are prepared at
  // once. With bit 7 of the count, the same segments one by one instead.
  void Burst(ByteReader& in) {
    const uint8_t b = in.U8();
    const int n = 1 + (b & 15);
    Pending p[16];
    bool ok[16] = {};
    for (int i = 0; i < n; ++i) {
      switch (in.U8() % 3) {
        case 0:
          ok[i] = ReadAnswer(in, &p[i]);
          break;
        case 1:
          ReadSegment(in, &p[i]);
          ok[i] = true;
          break;
        case 2:
          ReadSyn(in, &p[i]);
          ok[i] = true;
          break;
      }
      if (ok[i]) tuples_[p[i].tuple].used = true;
    }
    flow::FlowKey keys[16];
    Segment segs[16];
    int m = 0;
    int valid_answers = 0;
    for (int i = 0; i < n; ++i) {
      if (!ok[i]) continue;
      keys[m] = TupleKey(p[i].tuple);
      segs[m] = p[i].seg;
      if (p[i].valid_cookie_answer) ++valid_answers;
      if (m != i) p[m] = std::move(p[i]);  // the payload buffer moves along
      segs[m].payload = p[m].seg.payload;
      ++m;
    }
    if (b & 0x80) {
      for (int i = 0; i < m; ++i) Deliver(p[i]);
      return;
    }
    for (int i = 0; i < m; ++i) TraceIn(p[i], "burst");
    const size_t before = stack_->output().size();
    const uint64_t cookies_sent = Count(Mib::kSyncookiesSent);
    const uint64_t cookies_failed = Count(Mib::kSyncookiesFailed);
    stack_->InputBurst(keys, segs, static_cast<uint32_t>(m), now_);
    CheckCookieReplies(before, keys, segs, Count(Mib::kSyncookiesSent) - cookies_sent);
    // A correct answer to a valid cookie is never a failed cookie (each
    // segment fails at most one).
    FUZZ_CHECK(Count(Mib::kSyncookiesFailed) - cookies_failed <=
               static_cast<uint64_t>(m - valid_answers));
  }

  // --- The application ------------------------------------------------------

  AppConn* FindConn(ConnId id) {
    for (AppConn& c : conns_) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
  AppConn* ConnAtIndex(uint32_t index) {
    for (AppConn& c : conns_) {
      if (c.id.index == index) return &c;
    }
    return nullptr;
  }

  void Connect(int tuple) {
    tuples_[tuple].used = true;
    const flow::FlowKey key = TupleKey(tuple);
    const bool free = stack_->TupleFree(key);
    TcpStack::ConnectError error = TcpStack::ConnectError::kNone;
    const ConnId id = stack_->Connect(key, now_, 0, &error);
    TRACE("%llu connect t%d -> %u (error %d)\n", Ms(), tuple, id.index,
          static_cast<int>(error));
    if (!free) {
      FUZZ_CHECK(!id.valid());
      FUZZ_CHECK(error == TcpStack::ConnectError::kTupleInUse);
    }
    if (!id.valid()) {
      FUZZ_CHECK(error != TcpStack::ConnectError::kNone);
      return;
    }
    FUZZ_CHECK(error == TcpStack::ConnectError::kNone);
    FUZZ_CHECK(stack_->StateOf(id) == TcpState::kSynSent);
    FUZZ_CHECK(FindConn(id) == nullptr);
    AppConn c;
    c.id = id;
    c.active = true;
    conns_.push_back(c);
  }

  void Accept(uint32_t limit) {
    stack_->Accept(limit == 0 ? 0xffffffffu : limit);
    uint32_t accepted = 0;
    for (const AppEvent& e : stack_->events()) {
      if (e.kind == AppEvent::Kind::kAccepted) ++accepted;
    }
    TRACE("%llu accept %u\n", Ms(), accepted);
    if (limit != 0) FUZZ_CHECK(accepted <= limit);
  }

  void Send(ByteReader& in) {
    const uint8_t which = in.U8();
    const uint32_t len = SendLength(in.U8());
    if (conns_.empty()) return;
    AppConn& c = conns_[which % conns_.size()];
    std::vector<uint8_t> data(len);
    for (uint32_t i = 0; i < len; ++i) data[i] = AppByte(c.sent + i);
    const uint32_t n = stack_->Send(c.id, data.data(), len);
    TRACE("%llu send %u: %u of %u\n", Ms(), c.id.index, n, len);
    FUZZ_CHECK(n <= len);
    c.sent += n;
  }

  void Read(ByteReader& in) {
    const uint8_t which = in.U8();
    const uint32_t max = ReadLength(in.U8());
    if (conns_.empty()) return;
    AppConn& c = conns_[which % conns_.size()];
    const uint32_t readable = stack_->Readable(c.id);
    std::vector<uint8_t> buf(max);
    const uint32_t n = stack_->Read(c.id, buf.data(), max);
    TRACE("%llu read %u: %u of %u\n", Ms(), c.id.index, n, max);
    FUZZ_CHECK(n == std::min(max, readable));
    if (n == 0) return;
    const Tcb* t = stack_->Find(c.id);
    FUZZ_CHECK(t != nullptr);
    // The peer's bytes, in order from its ISN + 1.
    const SeqNum first = t->irs + 1 + c.read;
    for (uint32_t i = 0; i < n; ++i) {
      FUZZ_CHECK(buf[i] == PeerByte((first + i).value()));
    }
    c.read += n;
  }

  // The API on ids that are not open must do nothing.
  void Stale(uint8_t which) {
    ConnId id;  // kNoIndex
    switch (which & 3) {
      case 0:
        break;
      case 1:  // generation 0 is never live
        id = ConnId{static_cast<uint32_t>((which >> 2) % 8), 0};
        break;
      case 2:
        id = ConnId{1000u + which, 1};
        break;
      case 3:
        if (closed_count_ > 0) id = closed_[(which >> 2) % closed_count_];
        break;
    }
    FUZZ_CHECK(stack_->output().empty() && stack_->events().empty());
    FUZZ_CHECK(!stack_->IsOpen(id));
    FUZZ_CHECK(stack_->StateOf(id) == TcpState::kClosed);
    FUZZ_CHECK(stack_->Readable(id) == 0);
    FUZZ_CHECK(stack_->Find(id) == nullptr);
    uint8_t buf[16] = {};
    FUZZ_CHECK(stack_->Send(id, buf, sizeof(buf)) == 0);
    FUZZ_CHECK(stack_->Read(id, buf, sizeof(buf)) == 0);
    stack_->Close(id, now_);
    stack_->Abort(id, now_);
    FUZZ_CHECK(stack_->output().empty() && stack_->events().empty());
  }

  // --- Checking what comes out ----------------------------------------------

  void Collect() {
    for (const OutSegment& o : stack_->output()) CheckOutput(o, o.syn_cookie);
    stack_->ClearOutput();
    for (const AppEvent& e : stack_->events()) HandleEvent(e);
    stack_->ClearEvents();
    // A connection the application owns never vanishes untold.
    for (const AppConn& c : conns_) FUZZ_CHECK(stack_->IsOpen(c.id));
  }

  void CheckOutput(const OutSegment& o, bool cookie) {
    const int tuple = TupleIndexOf(o.key);
    TRACE("%llu out t%d > %s seq %u ack %u win %u len %u%s%s%s\n", Ms(), tuple,
          Flags(o.flags), o.seq.value(), o.ack.value(), o.window,
          o.payload_length, o.options.has_mss ? " mss" : "",
          o.options.has_window_scale ? " ws" : "",
          o.options.has_timestamps ? " ts" : "");
    FUZZ_CHECK(tuple >= 0 && tuples_[tuple].used);
    FUZZ_CHECK(o.payload_length <= config_.mss);
    if (o.flags & (tf::kSyn | tf::kRst)) FUZZ_CHECK(o.payload_length == 0);
    if (o.flags & tf::kSyn) {
      FUZZ_CHECK(o.options.has_mss);
      FUZZ_CHECK(o.options.window_scale <= wire::kMaxWindowScale);
    } else {
      // RFC 7323 2.2, RFC 2018 2: these options belong on a SYN only.
      FUZZ_CHECK(!o.options.has_mss && !o.options.has_window_scale &&
                 !o.options.sack_permitted);
    }
    FUZZ_CHECK(o.options.sack_blocks == 0);
    if (o.payload_length > 0) {
      // Only the application puts data in: the payload is exactly the bytes
      // it sent, at their offset in its stream.
      FUZZ_CHECK(o.conn < config_.max_connections);
      const AppConn* c = ConnAtIndex(o.conn);
      FUZZ_CHECK(c != nullptr);
      const Tcb* t = stack_->Find(c->id);
      FUZZ_CHECK(t != nullptr && t->key == o.key);
      const uint32_t offset = o.seq.value() - (t->iss + 1).value();
      FUZZ_CHECK(offset <= c->sent && o.payload_length <= c->sent - offset);
      std::vector<uint8_t> bytes(o.payload_length);
      stack_->CopyPayload(o, bytes.data());
      for (uint32_t i = 0; i < o.payload_length; ++i) {
        FUZZ_CHECK(bytes[i] == AppByte(offset + i));
      }
    }
    if (o.flags & tf::kRst) return;
    TupleView& v = tuples_[tuple];
    if (o.options.has_timestamps) CheckTsClock(v, o, cookie);
    const SeqNum end = o.seq + SegLen(o);
    if (!v.has_out || v.highest < end) v.highest = end;
    v.has_out = true;
    v.last = o;
    v.last_is_cookie = cookie;
    v.last_ns = now_;
    if ((o.flags & (tf::kSyn | tf::kAck)) == (tf::kSyn | tf::kAck)) {
      v.synack_isn = o.seq;
    }
    if (o.options.has_timestamps) v.last_ts_val = o.options.ts_val;
    recent_[recent_head_] = tuple;
    recent_head_ = (recent_head_ + 1) % kRecent;
    recent_count_ = std::min(recent_count_ + 1, kRecent);
  }

  // Every TSval of a connection is our clock plus the offset its SYN or
  // SYN-ACK used, so that the peer sees one clock that never goes back
  // (RFC 7323 5.4), also when the offset came from a prepared cookie.
  void CheckTsClock(TupleView& v, const OutSegment& o, bool cookie) {
    const uint32_t offset = o.options.ts_val - static_cast<uint32_t>(now_ / kMs);
    if (o.flags & tf::kSyn) {
      v.syn_offsets[v.syn_offsets_next] = offset;
      v.syn_offset_cookie[v.syn_offsets_next] = cookie;
      v.syn_offsets_next = (v.syn_offsets_next + 1) % kSynOffsets;
      v.syn_offsets_count = std::min(v.syn_offsets_count + 1, kSynOffsets);
      return;
    }
    bool known = v.has_conn_offset && offset == v.conn_offset;
    for (int i = 0; i < v.syn_offsets_count && !known; ++i) {
      // A cookie TSval is at most 63 ms behind the clock it encodes.
      known = v.syn_offset_cookie[i] ? offset - v.syn_offsets[i] <= 63
                                     : offset == v.syn_offsets[i];
    }
    FUZZ_CHECK(known);
    v.has_conn_offset = true;
    v.conn_offset = offset;
  }

  void HandleEvent(const AppEvent& e) {
    AppConn* c = FindConn(e.conn);
    TRACE("%llu event %d conn %u reason %d\n", Ms(), static_cast<int>(e.kind),
          e.conn.index, static_cast<int>(e.reason));
    switch (e.kind) {
      case AppEvent::Kind::kAccepted: {
        FUZZ_CHECK(c == nullptr);
        FUZZ_CHECK(stack_->IsOpen(e.conn));
        AppConn n;
        n.id = e.conn;
        conns_.push_back(n);
        break;
      }
      case AppEvent::Kind::kConnected:
        FUZZ_CHECK(c != nullptr && c->active && !c->connected);
        c->connected = true;
        break;
      case AppEvent::Kind::kData:
        FUZZ_CHECK(c != nullptr && !c->peer_closed);
        break;
      case AppEvent::Kind::kPeerClosed:
        FUZZ_CHECK(c != nullptr && !c->peer_closed);
        c->peer_closed = true;
        break;
      case AppEvent::Kind::kSent:
        FUZZ_CHECK(c != nullptr);
        break;
      case AppEvent::Kind::kClosed:
        FUZZ_CHECK(c != nullptr);
        FUZZ_CHECK(!stack_->IsOpen(e.conn));
        closed_[closed_next_] = e.conn;
        closed_next_ = (closed_next_ + 1) % kClosedIds;
        closed_count_ = std::min(closed_count_ + 1, kClosedIds);
        conns_.erase(conns_.begin() + (c - conns_.data()));
        break;
    }
  }

  void CheckPools() {
    const TcpStack& s = *stack_;
    const uint32_t conns = s.connections_in_use();
    const uint32_t half_open = s.half_open_in_use();
    const uint32_t time_wait = s.time_wait_in_use();
    FUZZ_CHECK(conns <= config_.max_connections);
    FUZZ_CHECK(half_open <= config_.max_half_open);
    FUZZ_CHECK(time_wait <= config_.max_time_wait);
    FUZZ_CHECK(s.buffer_chunks_in_use() <= config_.buffer_chunks);
    FUZZ_CHECK(s.table().size() == conns + half_open + time_wait);
    // Two timers per TCB at most (retransmission, keepalive/FIN-WAIT-2) and
    // one per half-open entry; TIME-WAIT has none.
    FUZZ_CHECK(s.timers_in_use() <= 2 * conns + half_open);
    if (conns == 0) FUZZ_CHECK(s.buffer_chunks_in_use() == 0);
    FUZZ_CHECK(s.StateCount(TcpState::kListen) == 2);
    FUZZ_CHECK(s.StateCount(TcpState::kTimeWait) == time_wait);
    FUZZ_CHECK(s.StateCount(TcpState::kSynReceived) >= half_open);
    const uint32_t tcb_states =
        s.StateCount(TcpState::kSynSent) +
        (s.StateCount(TcpState::kSynReceived) - half_open) +
        s.StateCount(TcpState::kEstablished) +
        s.StateCount(TcpState::kFinWait1) + s.StateCount(TcpState::kFinWait2) +
        s.StateCount(TcpState::kCloseWait) + s.StateCount(TcpState::kClosing) +
        s.StateCount(TcpState::kLastAck);
    FUZZ_CHECK(tcb_states == conns);
    FUZZ_CHECK(conns_.size() <= conns);
    for (const AppConn& c : conns_) {
      const Tcb* t = s.Find(c.id);
      FUZZ_CHECK(t != nullptr);
      FUZZ_CHECK(t->snd_queue.size() <= config_.snd_buffer);
      FUZZ_CHECK(t->rcv_queue.size() <= config_.rcv_buffer);
      FUZZ_CHECK(t->snd_queue.size() <= c.sent);
      FUZZ_CHECK(t->snd_una <= t->snd_nxt && t->snd_nxt <= t->snd_max);
      // In flight: the queued data and at most one SYN or FIN.
      FUZZ_CHECK(static_cast<uint32_t>(t->snd_max - t->snd_una) <=
                 t->snd_queue.size() + 1);
    }
  }

  // The peers fall silent; then nothing may remain but connections that
  // could legitimately wait for ever (ESTABLISHED or CLOSE-WAIT with nothing
  // to send, and without keepalive), and once those are aborted, nothing.
  void Finish() {
    TRACE("%llu finish\n", Ms());
    stack_->Flush(now_);
    Collect();
    CheckPools();
    for (uint64_t t = 0; t < kDrainNs; t += kDrainStepNs) {
      now_ += kDrainStepNs;
      stack_->AdvanceTimers(now_);
      stack_->Flush(now_);
      Collect();
      CheckPools();
    }
    const TcpStack& s = *stack_;
    FUZZ_CHECK(s.half_open_in_use() == 0);
    FUZZ_CHECK(s.time_wait_in_use() == 0);
    for (TcpState st : {TcpState::kSynSent, TcpState::kSynReceived,
                        TcpState::kFinWait1, TcpState::kFinWait2,
                        TcpState::kClosing, TcpState::kLastAck}) {
      FUZZ_CHECK(s.StateCount(st) == 0);
    }
    if (config_.keepalive) FUZZ_CHECK(s.connections_in_use() == 0);
    for (const AppConn& c : conns_) {
      const Tcb* t = s.Find(c.id);
      FUZZ_CHECK(t->snd_queue.empty() && t->snd_una == t->snd_max);
    }
    stack_->Accept();
    Collect();
    while (!conns_.empty()) {
      const size_t before = conns_.size();
      stack_->Abort(conns_.back().id, now_);
      Collect();
      FUZZ_CHECK(conns_.size() < before);
    }
    FUZZ_CHECK(s.connections_in_use() == 0);
    for (int i = 0; i < 20; ++i) {
      now_ += kDrainStepNs;
      stack_->AdvanceTimers(now_);
      stack_->Flush(now_);
      Collect();
    }
    CheckPools();
    FUZZ_CHECK(s.connections_in_use() == 0);
    FUZZ_CHECK(s.half_open_in_use() == 0);
    FUZZ_CHECK(s.time_wait_in_use() == 0);
    FUZZ_CHECK(s.buffer_chunks_in_use() == 0);
    FUZZ_CHECK(s.timers_in_use() == 0);
    FUZZ_CHECK(s.table().size() == 0);
  }

  static constexpr int kRecent = 16;
  static constexpr int kClosedIds = 8;

  TcpConfig config_;
  uint64_t now_;
  std::unique_ptr<TcpStack> stack_;
  TupleView tuples_[kNumTuples];
  int recent_[kRecent] = {};  // tuples the stack sent to, newest last
  int recent_head_ = 0;
  int recent_count_ = 0;
  std::vector<AppConn> conns_;
  ConnId closed_[kClosedIds];
  int closed_next_ = 0;
  int closed_count_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  const uint8_t c0 = in.U8();
  const uint8_t c1 = in.U8();
  Harness harness(c0, c1);
  harness.Run(in);
  return 0;
}
