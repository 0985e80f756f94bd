// The harness of the TCP state-machine tests: a TcpStack driven by a
// virtual clock, a scripted peer, and helpers that build a connection
// already in a given state (MakeEstablished(), MakeFinWait1(), ...) so that
// each test states one (state, event) pair and the exact segments that must
// come out (smoltcp's tcp.rs tests, CS144's tcp_fsm_test_harness).
//
// Everything the stack emits (segments, application events) is moved into
// FIFO queues after every call; ExpectSent()/ExpectEvent() pop from the
// front and assert exact values, and ExpectNothingSent()/ExpectNoEvents()
// assert that nothing is left, so a test fails on any unexpected segment.
//
// Sequence numbers are tracked from the peer's point of view in a Peer:
// `snd` is the peer's next sequence number (our RCV.NXT once accepted) and
// `rcv` is what the peer acknowledges (our SND.NXT as far as it has seen),
// and `nxt` is our SND.NXT (beyond `rcv` while our FIN or data is unacked).
// The Make*() helpers keep them current; tests advance them by hand.
//
// Both families: TcpFamilyTest runs a test once over IPv4 and once over
// IPv6 (SYNWAVE_INSTANTIATE_FAMILIES), where the behaviour is the same. A
// Peer keeps its IPv4 FlowKey; over IPv6 its tuple is the same with each
// address a.b.c.d mapped to fd00::a.b.c.d (Key6), so tests that vary an
// address or a port work unchanged, and every segment the stack sends is
// checked to be of the test's family (and, in ExpectSentTo, to carry the
// peer's IPv6 addresses).
#ifndef SYNWAVE_TESTS_FSM_TCP_FIXTURE_H_
#define SYNWAVE_TESTS_FSM_TCP_FIXTURE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "flow/flow_key.h"
#include "tcp/config.h"
#include "tcp/counters.h"
#include "tcp/stack.h"
#include "tcp/state.h"
#include "wire/addresses.h"
#include "wire/headers.h"
#include "wire/parse.h"
#include "wire/tcp_options.h"

namespace synwave::tcp {
// gtest prints states by name in parameterized test output.
inline void PrintTo(TcpState s, std::ostream* os) { *os << StateName(s); }
}  // namespace synwave::tcp

namespace synwave::tcp::fsm_test {

namespace tf = wire::tcp_flags;

// Flag combinations, packetdrill-style names.
inline constexpr uint8_t kS = tf::kSyn;
inline constexpr uint8_t kSA = tf::kSyn | tf::kAck;
inline constexpr uint8_t kA = tf::kAck;
inline constexpr uint8_t kPA = tf::kPsh | tf::kAck;
inline constexpr uint8_t kFA = tf::kFin | tf::kAck;
inline constexpr uint8_t kFPA = tf::kFin | tf::kPsh | tf::kAck;
inline constexpr uint8_t kR = tf::kRst;
inline constexpr uint8_t kRA = tf::kRst | tf::kAck;
inline constexpr uint8_t kF = tf::kFin;

inline constexpr uint32_t kLocalIp = 0x0a000001;   // 10.0.0.1, us
inline constexpr uint32_t kRemoteIp = 0x0a000002;  // 10.0.0.2, the peer
inline constexpr uint16_t kLocalPort = 80;
inline constexpr uint16_t kRemotePort = 40000;
inline constexpr uint32_t kPeerIss = 1'000'000;
inline constexpr uint16_t kPeerWindow = 65535;
// The virtual clock starts well away from zero, as a real clock does.
inline constexpr uint64_t kT0 = 1000 * kSecond;
inline constexpr uint64_t kMs = kMillisecond;

// The IPv6 address of the tests' IPv4 address `v4`: fd00::a.b.c.d.
inline wire::Ipv6Address V6Of(uint32_t v4) {
  return wire::Ipv6Address::FromWords(0xfd00000000000000ull, v4);
}
inline flow::FlowKey6 Key6Of(const flow::FlowKey& k) {
  return flow::FlowKey6{V6Of(k.local_ip), V6Of(k.remote_ip), k.local_port,
                        k.remote_port};
}

inline std::string FlagString(uint8_t f) {
  // packetdrill notation: S F R P then '.' for ACK.
  std::string s;
  if (f & tf::kSyn) s += 'S';
  if (f & tf::kFin) s += 'F';
  if (f & tf::kRst) s += 'R';
  if (f & tf::kPsh) s += 'P';
  if (f & tf::kUrg) s += 'U';
  if (f & tf::kAck) s += '.';
  return s.empty() ? "(none)" : s;
}

// An inbound segment under construction.
struct Seg {
  uint8_t flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  std::string payload;
  uint16_t window = kPeerWindow;
  wire::TcpOptions options;

  Seg& Data(std::string_view p) {
    payload = std::string(p);
    return *this;
  }
  Seg& Win(uint16_t w) {
    window = w;
    return *this;
  }
  Seg& Mss(uint16_t m) {
    options.has_mss = true;
    options.mss = m;
    return *this;
  }
  Seg& Wscale(uint8_t s) {
    options.has_window_scale = true;
    options.window_scale = s;
    return *this;
  }
  Seg& SackOk() {
    options.sack_permitted = true;
    return *this;
  }
  Seg& Ts(uint32_t val, uint32_t ecr) {
    options.has_timestamps = true;
    options.ts_val = val;
    options.ts_ecr = ecr;
    return *this;
  }
};

inline Seg MakeSeg(uint8_t flags, uint32_t seq, uint32_t ack = 0,
                   std::string_view payload = {}) {
  Seg s;
  s.flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.payload = std::string(payload);
  return s;
}

// What the stack sent, with its payload copied out at the time (and, for
// IPv6, its addresses).
struct Sent {
  OutSegment seg;
  std::string payload;
  OutAddresses6 addr6;
};

// One remote endpoint talking to us.
struct Peer {
  flow::FlowKey key{kLocalIp, kRemoteIp, kLocalPort, kRemotePort};
  uint32_t irs = kPeerIss;  // the peer's ISS (our IRS)
  uint32_t iss = 0;         // our ISS, learned from the SYN-ACK
  uint32_t snd = 0;         // the peer's next sequence number
  uint32_t rcv = 0;         // what the peer acknowledges
  uint32_t nxt = 0;         // our SND.NXT, as the test expects it
  bool timestamps = false;  // the peer offers timestamps on its SYN
  bool wscale = true;       // the peer offers window scale 7 on its SYN
  uint32_t ts_val = 5000;   // the peer's TSval clock
  uint32_t ts_ecr = 0;      // the last TSval it saw from us
  uint16_t synack_window = 0;  // the window our SYN-ACK offered
  ConnId id;
};

inline Peer PeerOnPort(uint16_t remote_port, uint32_t irs = kPeerIss) {
  Peer p;
  p.key.remote_port = remote_port;
  p.irs = irs;
  return p;
}

class TcpFsmTest : public ::testing::Test {
 protected:
  using Loc = std::source_location;

  // Small, deterministic defaults; tests that need others call Init().
  static TcpConfig DefaultConfig() {
    TcpConfig c;
    c.max_connections = 16;
    c.max_half_open = 16;
    c.max_time_wait = 16;
    c.buffer_chunks = 256;
    c.syn_backlog = 8;
    c.accept_backlog = 8;
    c.timestamps = true;
    // Off unless a test is about it (tcp_hardening_test): the other tests
    // wait through keepalive and 2 MSL on connections that make no progress.
    c.idle_timeout_ns = 0;
    return c;
  }

  TcpFsmTest() { Init(DefaultConfig()); }

  void Init(const TcpConfig& config, uint64_t start = kT0) {
    stack_.reset();
    now_ = start;
    sent_.clear();
    events_.clear();
    TcpConfig c = config;
    if (ipv6_) {
      c.ipv6 = true;
      // The family tests compare behaviour, so both families get the same
      // MSS; tcp_dual_stack_test checks IPv6's own.
      c.mss6 = c.mss;
    }
    stack_ = std::make_unique<TcpStack>(c, SipKey{0x0123456789abcdefull,
                                                  0xfedcba9876543210ull},
                                        /*hash_seed=*/42, now_);
    ASSERT_TRUE(ipv6_ ? stack_->Listen(V6Of(kLocalIp), kLocalPort)
                      : stack_->Listen(kLocalIp, kLocalPort));
  }

  // The family this test runs over (TcpFamilyTest sets it).
  bool ipv6() const { return ipv6_; }

  // --- The family's side of the API --------------------------------------
  // Listen on `ip` (IPv4, 0 for any) or its IPv6 image (:: for any).
  bool Listen(uint32_t ip, uint16_t port) {
    if (!ipv6_) return stack_->Listen(ip, port);
    return stack_->Listen(ip == 0 ? wire::Ipv6Address{} : V6Of(ip), port);
  }
  bool TupleFree(const Peer& p) const {
    return ipv6_ ? stack_->TupleFree(Key6Of(p.key)) : stack_->TupleFree(p.key);
  }
  ConnId Connect(const Peer& p, TcpStack::ConnectError* err) {
    return ipv6_ ? stack_->Connect(Key6Of(p.key), now_, 0, err)
                 : stack_->Connect(p.key, now_, 0, err);
  }
  // Entries in the family's connection table.
  uint32_t TableSize() const {
    return ipv6_ ? stack_->table6()->size() : stack_->table().size();
  }
  // The MSS the stack assumes when a SYN has none (RFC 9293 3.7.1: 536;
  // IPv6, RFC 8200 5: 1220).
  uint16_t DefaultMss() const { return ipv6_ ? 1220 : 536; }
  // The MSS a SYN cookie keeps of the peer's `mss`: the family's table entry
  // at or below it (syncookie.h).
  uint16_t CookieMss(uint16_t mss) const {
    return ipv6_ ? SynCookies::MssForIndex6(SynCookies::MssIndex6(mss))
                 : SynCookies::MssForIndex(SynCookies::MssIndex(mss));
  }
  // `s` went to (and came from) `p`'s tuple, in the test's family.
  void ExpectTuple(const Sent& s, const Peer& p, Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectTuple");
    EXPECT_EQ(s.seg.key.local_port, p.key.local_port);
    EXPECT_EQ(s.seg.key.remote_port, p.key.remote_port);
    EXPECT_EQ(s.seg.ipv6, ipv6_);
    if (ipv6_) {
      EXPECT_EQ(s.addr6.local, V6Of(p.key.local_ip));
      EXPECT_EQ(s.addr6.remote, V6Of(p.key.remote_ip));
    } else {
      EXPECT_EQ(s.seg.key, p.key);
    }
  }

  TcpStack& stack() { return *stack_; }
  const TcpConfig& config() const { return stack_->config(); }

  // --- Driving the stack ------------------------------------------------

  // Delivers `s` from `p` at the current time, then lets the stack send
  // whatever became sendable (the engine calls Flush after each burst).
  void Inject(const Peer& p, const Seg& s) {
    InjectWithoutFlush(p, s);
    FlushAndCollect();
  }
  void Inject(const Seg& s) { Inject(p_, s); }

  // The same within a burst: what waits for Flush (owed ACKs, data) stays
  // unsent; only what Input emits at once (RSTs, challenge ACKs) comes out.
  void InjectWithoutFlush(const Peer& p, const Seg& s) {
    Segment seg;
    seg.seq = SeqNum(s.seq);
    seg.ack = SeqNum(s.ack);
    seg.flags = s.flags;
    seg.window = s.window;
    seg.payload_length = static_cast<uint16_t>(s.payload.size());
    seg.payload = reinterpret_cast<const uint8_t*>(s.payload.data());
    seg.options = s.options;
    if (ipv6_) {
      stack_->Input(Key6Of(p.key), seg, now_);
    } else {
      stack_->Input(p.key, seg, now_);
    }
    Collect();
  }

  // Moves the virtual clock forward by `dt` and fires what is due.
  void Advance(uint64_t dt) { AdvanceTo(now_ + dt); }
  void AdvanceTo(uint64_t t) {
    ASSERT_GE(t, now_);
    now_ = t;
    stack_->AdvanceTimers(now_);
    FlushAndCollect();
  }

  void Accept() {
    stack_->Accept();
    Collect();
  }
  void Close(ConnId id) {
    stack_->Close(id, now_);
    FlushAndCollect();
  }
  void Abort(ConnId id) {
    stack_->Abort(id, now_);
    FlushAndCollect();
  }
  uint32_t Send(ConnId id, std::string_view data) {
    const uint32_t n = stack_->Send(
        id, reinterpret_cast<const uint8_t*>(data.data()),
        static_cast<uint32_t>(data.size()));
    FlushAndCollect();
    return n;
  }
  std::string Read(ConnId id, uint32_t max = 1 << 20) {
    std::string out(max, '\0');
    const uint32_t n =
        stack_->Read(id, reinterpret_cast<uint8_t*>(out.data()), max);
    out.resize(n);
    FlushAndCollect();
    return out;
  }

  void FlushAndCollect() {
    stack_->Flush(now_);
    Collect();
  }
  void Collect() {
    for (const OutSegment& o : stack_->output()) {
      Sent s{o, std::string(o.payload_length, '\0'), {}};
      stack_->CopyPayload(o, reinterpret_cast<uint8_t*>(s.payload.data()));
      if (o.ipv6) s.addr6 = stack_->Addresses6(o);
      sent_.push_back(std::move(s));
    }
    stack_->ClearOutput();
    for (const AppEvent& e : stack_->events()) events_.push_back(e);
    stack_->ClearEvents();
  }

  // --- Expectations --------------------------------------------------------

  // Pops the oldest segment sent and checks its flags, seq and ack exactly.
  Sent ExpectSent(uint8_t flags, uint32_t seq, uint32_t ack,
                  Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectSent");
    if (sent_.empty()) {
      ADD_FAILURE() << "expected " << FlagString(flags) << " seq " << seq
                    << " ack " << ack << ", nothing was sent";
      return Sent{};
    }
    Sent s = std::move(sent_.front());
    sent_.pop_front();
    EXPECT_EQ(FlagString(s.seg.flags), FlagString(flags));
    EXPECT_EQ(s.seg.seq.value(), seq) << "seq";
    EXPECT_EQ(s.seg.ack.value(), ack) << "ack";
    EXPECT_EQ(s.seg.ipv6, ipv6_) << "family";
    return s;
  }
  // The same, also checking which connection it went to.
  Sent ExpectSentTo(const Peer& p, uint8_t flags, uint32_t seq, uint32_t ack,
                    Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectSentTo");
    Sent s = ExpectSent(flags, seq, ack, loc);
    EXPECT_EQ(s.seg.key.remote_port, p.key.remote_port) << "sent to";
    if (ipv6_ && s.seg.ipv6) {
      EXPECT_EQ(s.addr6.local, V6Of(p.key.local_ip)) << "from";
      EXPECT_EQ(s.addr6.remote, V6Of(p.key.remote_ip)) << "sent to";
      EXPECT_EQ(s.seg.key.local_ip, 0u);
      EXPECT_EQ(s.seg.key.remote_ip, 0u);
    }
    return s;
  }
  // A SYN-ACK acknowledging `ack`; its sequence number is our ISN, which
  // the test cannot know in advance.
  Sent ExpectSynAck(uint32_t ack, Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectSynAck");
    if (sent_.empty()) {
      ADD_FAILURE() << "expected S. ack " << ack << ", nothing was sent";
      return Sent{};
    }
    return ExpectSent(kSA, sent_.front().seg.seq.value(), ack, loc);
  }

  // Our bare ACK: <SEQ=SND.NXT><ACK=RCV.NXT>.
  Sent ExpectAck(const Peer& p, Loc loc = Loc::current()) {
    return ExpectSentTo(p, kA, p.nxt, p.snd, loc);
  }
  Sent ExpectAck(Loc loc = Loc::current()) { return ExpectAck(p_, loc); }

  void ExpectNothingSent(Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectNothingSent");
    for (const Sent& s : sent_) {
      ADD_FAILURE() << "unexpected " << FlagString(s.seg.flags) << " seq "
                    << s.seg.seq.value() << " ack " << s.seg.ack.value()
                    << " len " << s.seg.payload_length;
    }
    sent_.clear();
  }

  AppEvent ExpectEvent(AppEvent::Kind kind, Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectEvent");
    if (events_.empty()) {
      ADD_FAILURE() << "expected event " << KindName(kind) << ", none";
      return AppEvent{};
    }
    const AppEvent e = events_.front();
    events_.pop_front();
    EXPECT_EQ(KindName(e.kind), KindName(kind));
    return e;
  }
  void ExpectClosedEvent(CloseReason reason, Loc loc = Loc::current()) {
    const AppEvent e = ExpectEvent(AppEvent::Kind::kClosed, loc);
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectClosedEvent");
    EXPECT_EQ(CloseReasonName(e.reason), CloseReasonName(reason));
  }
  void ExpectNoEvents(Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectNoEvents");
    for (const AppEvent& e : events_) {
      ADD_FAILURE() << "unexpected event " << KindName(e.kind);
    }
    events_.clear();
  }
  // Forgets what was sent and signalled so far (for tests that only look
  // at the end state).
  void Discard() {
    sent_.clear();
    events_.clear();
  }

  // Drops the kSent events (send space freed) that a test does not track.
  void DropSentEvents() {
    std::erase_if(events_, [](const AppEvent& e) {
      return e.kind == AppEvent::Kind::kSent;
    });
  }

  static std::string KindName(AppEvent::Kind k) {
    switch (k) {
      case AppEvent::Kind::kAccepted:
        return "kAccepted";
      case AppEvent::Kind::kConnected:
        return "kConnected";
      case AppEvent::Kind::kData:
        return "kData";
      case AppEvent::Kind::kPeerClosed:
        return "kPeerClosed";
      case AppEvent::Kind::kSent:
        return "kSent";
      case AppEvent::Kind::kClosed:
        return "kClosed";
    }
    return "?";
  }

  // A counter by the name a user reads (nstat MIB or drop reason), so a
  // test also pins the name. Fails the test for a name that does not exist.
  uint64_t Counter(std::string_view name) const {
    for (size_t m = 0; m < kNumMibs; ++m) {
      if (MibName(static_cast<Mib>(m)) == name) {
        return stack_->counters().Get(static_cast<Mib>(m));
      }
    }
    for (size_t d = 1; d < kNumDrops; ++d) {
      if (DropName(static_cast<Drop>(d)) == name) {
        return stack_->counters().Get(static_cast<Drop>(d));
      }
    }
    ADD_FAILURE() << "no counter named " << name;
    return ~uint64_t{0};
  }

  TcpState State(ConnId id) const { return stack_->StateOf(id); }
  TcpState State() const { return State(p_.id); }

  // Every pool is empty again: nothing leaked.
  void ExpectNoLeaks(Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectNoLeaks");
    EXPECT_EQ(stack_->connections_in_use(), 0u);
    EXPECT_EQ(stack_->half_open_in_use(), 0u);
    EXPECT_EQ(stack_->time_wait_in_use(), 0u);
    EXPECT_EQ(stack_->buffer_chunks_in_use(), 0u);
    EXPECT_EQ(stack_->timers_in_use(), 0u);
    EXPECT_EQ(stack_->table().size(), 0u);
    if (stack_->table6() != nullptr) {
      EXPECT_EQ(stack_->table6()->size(), 0u);
    }
    EXPECT_EQ(stack_->addr6_in_use(), 0u);
  }

  // --- Connections in a given state --------------------------------------
  // Each helper asserts the segments of the way there, so a broken earlier
  // transition fails loudly rather than confusing the test that uses it.

  // The peer's SYN for `p` (with timestamps if p.timestamps).
  Seg SynFor(const Peer& p) const {
    Seg s = MakeSeg(kS, p.irs);
    s.Mss(1460).SackOk();
    if (p.wscale) s.Wscale(7);
    if (p.timestamps) s.Ts(p.ts_val, 0);
    return s;
  }
  // A segment from `p` at its current sequence numbers.
  Seg From(const Peer& p, uint8_t flags, std::string_view payload = {}) const {
    Seg s = MakeSeg(flags, p.snd, p.rcv, payload);
    if (p.timestamps) s.Ts(p.ts_val, p.ts_ecr);
    return s;
  }
  Seg From(uint8_t flags, std::string_view payload = {}) const {
    return From(p_, flags, payload);
  }

  // LISTEN + SYN -> SYN-RECEIVED (a SYN-queue entry). No options but MSS,
  // window scale and SACK-permitted unless p.timestamps.
  void MakeSynReceived(Peer& p, Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "MakeSynReceived");
    Inject(p, SynFor(p));
    ASSERT_FALSE(sent_.empty()) << "no SYN-ACK";
    const Sent synack = sent_.front();
    sent_.pop_front();
    ASSERT_EQ(FlagString(synack.seg.flags), FlagString(kSA));
    ASSERT_EQ(synack.seg.ack.value(), p.irs + 1);
    p.iss = synack.seg.seq.value();
    p.synack_window = synack.seg.window;
    p.snd = p.irs + 1;
    p.rcv = p.iss + 1;
    p.nxt = p.iss + 1;
    if (synack.seg.options.has_timestamps) {
      p.ts_ecr = synack.seg.options.ts_val;
    }
    ExpectNothingSent(loc);
  }
  void MakeSynReceived(Loc loc = Loc::current()) { MakeSynReceived(p_, loc); }

  // ... + ACK -> ESTABLISHED, accepted by the application.
  ConnId MakeEstablished(Peer& p, Loc loc = Loc::current()) {
    MakeSynReceived(p, loc);
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "MakeEstablished");
    Inject(p, From(p, kA));
    ExpectNothingSent(loc);
    Accept();
    const AppEvent e = ExpectEvent(AppEvent::Kind::kAccepted, loc);
    p.id = e.conn;
    EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kEstablished));
    return p.id;
  }
  ConnId MakeEstablished(Loc loc = Loc::current()) {
    return MakeEstablished(p_, loc);
  }

  // ESTABLISHED + Close() -> F. sent, FIN-WAIT-1 (our active close).
  void MakeFinWait1(Peer& p, Loc loc = Loc::current()) {
    MakeEstablished(p, loc);
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "MakeFinWait1");
    Close(p.id);
    ExpectSentTo(p, kFA, p.nxt, p.snd, loc);
    p.nxt += 1;
    ExpectNothingSent(loc);
    EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kFinWait1));
  }
  void MakeFinWait1(Loc loc = Loc::current()) { MakeFinWait1(p_, loc); }

  // FIN-WAIT-1 + ACK of our FIN -> FIN-WAIT-2.
  void MakeFinWait2(Peer& p, Loc loc = Loc::current()) {
    MakeFinWait1(p, loc);
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "MakeFinWait2");
    p.rcv += 1;  // the FIN
    Inject(p, From(p, kA));
    ExpectNothingSent(loc);
    EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kFinWait2));
  }
  void MakeFinWait2(Loc loc = Loc::current()) { MakeFinWait2(p_, loc); }

  // ESTABLISHED + F. -> ACK, CLOSE-WAIT (the peer closes first).
  void MakeCloseWait(Peer& p, Loc loc = Loc::current()) {
    MakeEstablished(p, loc);
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "MakeCloseWait");
    Inject(p, From(p, kFA));
    p.snd += 1;
    ExpectAck(p, loc);
    ExpectNothingSent(loc);
    ExpectEvent(AppEvent::Kind::kPeerClosed, loc);
    EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kCloseWait));
  }
  void MakeCloseWait(Loc loc = Loc::current()) { MakeCloseWait(p_, loc); }

  // CLOSE-WAIT + Close() -> F., LAST-ACK.
  void MakeLastAck(Peer& p, Loc loc = Loc::current()) {
    MakeCloseWait(p, loc);
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "MakeLastAck");
    Close(p.id);
    ExpectSentTo(p, kFA, p.nxt, p.snd, loc);
    p.nxt += 1;
    ExpectNothingSent(loc);
    EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kLastAck));
  }
  void MakeLastAck(Loc loc = Loc::current()) { MakeLastAck(p_, loc); }

  // FIN-WAIT-1 + F. that does not ack our FIN -> ACK, CLOSING.
  void MakeClosing(Peer& p, Loc loc = Loc::current()) {
    MakeFinWait1(p, loc);
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "MakeClosing");
    Inject(p, From(p, kFA));  // acks up to our data, not our FIN
    p.snd += 1;
    ExpectAck(p, loc);
    ExpectNothingSent(loc);
    ExpectEvent(AppEvent::Kind::kPeerClosed, loc);
    EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kClosing));
  }
  void MakeClosing(Loc loc = Loc::current()) { MakeClosing(p_, loc); }

  // FIN-WAIT-2 + F. -> ACK, TIME-WAIT (the TCB is released: kClosed).
  void MakeTimeWait(Peer& p, Loc loc = Loc::current()) {
    MakeFinWait2(p, loc);
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "MakeTimeWait");
    const uint32_t time_wait_before = stack_->time_wait_in_use();
    Inject(p, From(p, kFA));
    p.snd += 1;
    ExpectAck(p, loc);
    ExpectNothingSent(loc);
    ExpectEvent(AppEvent::Kind::kPeerClosed, loc);
    ExpectClosedEvent(CloseReason::kNormal, loc);
    // A full pool recycles its oldest record.
    EXPECT_EQ(stack_->time_wait_in_use(),
              std::min(time_wait_before + 1, config().max_time_wait));
    EXPECT_FALSE(stack_->IsOpen(p.id));
  }
  void MakeTimeWait(Loc loc = Loc::current()) { MakeTimeWait(p_, loc); }

  // --- Active opens (we are the client) -----------------------------------

  // A peer that we connect to: local port 50000 (no listener), remote 80.
  static Peer ServerPeer(uint16_t local_port = 50000, uint32_t irs = kPeerIss) {
    Peer p;
    p.key = flow::FlowKey{kLocalIp, kRemoteIp, local_port, 80};
    p.irs = irs;
    return p;
  }

  // Connect() -> our SYN, SYN-SENT. Learns our ISS into p.iss, p.nxt.
  Sent StartConnect(Peer& p, Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "StartConnect");
    TcpStack::ConnectError err = TcpStack::ConnectError::kTableFull;
    p.id = ipv6_ ? stack_->Connect(Key6Of(p.key), now_, 0, &err)
                 : stack_->Connect(p.key, now_, 0, &err);
    EXPECT_TRUE(p.id.valid());
    EXPECT_EQ(static_cast<int>(err), static_cast<int>(TcpStack::ConnectError::kNone));
    Collect();
    if (sent_.empty()) {
      ADD_FAILURE() << "no SYN";
      return Sent{};
    }
    Sent syn = sent_.front();
    sent_.pop_front();
    EXPECT_EQ(FlagString(syn.seg.flags), FlagString(kS));
    EXPECT_EQ(syn.seg.ack.value(), 0u);
    p.iss = syn.seg.seq.value();
    p.nxt = p.iss + 1;
    if (syn.seg.options.has_timestamps) p.ts_ecr = syn.seg.options.ts_val;
    EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kSynSent));
    ExpectNothingSent(loc);
    return syn;
  }

  // The peer's SYN-ACK for our SYN, at its current numbers.
  Seg SynAckFor(const Peer& p) const {
    Seg s = MakeSeg(kSA, p.irs, p.iss + 1);
    s.Mss(1460).SackOk();
    if (p.wscale) s.Wscale(7);
    if (p.timestamps) s.Ts(p.ts_val, p.ts_ecr);
    return s;
  }

  // SYN-SENT + S. -> ESTABLISHED: our ACK, kConnected.
  ConnId MakeConnected(Peer& p, Loc loc = Loc::current()) {
    StartConnect(p, loc);
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "MakeConnected");
    Inject(p, SynAckFor(p));
    p.snd = p.irs + 1;
    p.rcv = p.iss + 1;
    ExpectAck(p, loc);
    ExpectNothingSent(loc);
    ExpectEvent(AppEvent::Kind::kConnected, loc);
    EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kEstablished));
    return p.id;
  }

  // Builds `p` in state `s` (one of the synchronized states with a TCB).
  void MakeState(Peer& p, TcpState s, Loc loc = Loc::current()) {
    switch (s) {
      case TcpState::kEstablished:
        MakeEstablished(p, loc);
        return;
      case TcpState::kFinWait1:
        MakeFinWait1(p, loc);
        return;
      case TcpState::kFinWait2:
        MakeFinWait2(p, loc);
        return;
      case TcpState::kCloseWait:
        MakeCloseWait(p, loc);
        return;
      case TcpState::kClosing:
        MakeClosing(p, loc);
        return;
      case TcpState::kLastAck:
        MakeLastAck(p, loc);
        return;
      case TcpState::kTimeWait:
        MakeTimeWait(p, loc);
        return;
      case TcpState::kClosed:
      case TcpState::kListen:
      case TcpState::kSynSent:
      case TcpState::kSynReceived:
        ADD_FAILURE() << "MakeState: not a synchronized state";
        return;
    }
  }

  bool ipv6_ = false;
  std::unique_ptr<TcpStack> stack_;
  uint64_t now_ = kT0;
  Peer p_;
  std::deque<Sent> sent_;
  std::deque<AppEvent> events_;
};

// A test run over both families (SYNWAVE_INSTANTIATE_FAMILIES).
class TcpFamilyTest : public TcpFsmTest,
                      public ::testing::WithParamInterface<wire::IpFamily> {
 protected:
  TcpFamilyTest() {
    ipv6_ = GetParam() == wire::IpFamily::kIpv6;
    Init(DefaultConfig());
  }
};

inline std::string FamilyParamName(
    const ::testing::TestParamInfo<wire::IpFamily>& info) {
  return info.param == wire::IpFamily::kIpv6 ? "Ipv6" : "Ipv4";
}

#define SYNWAVE_INSTANTIATE_FAMILIES(Fixture)                            \
  INSTANTIATE_TEST_SUITE_P(                                              \
      Families, Fixture,                                                 \
      ::testing::Values(::synwave::wire::IpFamily::kIpv4,                \
                        ::synwave::wire::IpFamily::kIpv6),               \
      ::synwave::tcp::fsm_test::FamilyParamName)

// Pretty names for value-parameterized tests over states.
inline std::string StateParamName(
    const ::testing::TestParamInfo<TcpState>& info) {
  std::string s(StateName(info.param));
  std::erase(s, '-');
  return s;
}

}  // namespace synwave::tcp::fsm_test

#endif  // SYNWAVE_TESTS_FSM_TCP_FIXTURE_H_
