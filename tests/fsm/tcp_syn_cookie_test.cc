// SYN cookies in the state machine (docs/conformance.md items 30-35): the
// stateless SYN-ACK when the SYN queue overflows (or always), the ACK that
// creates the connection from the cookie (bare, with data, with FIN), the
// RST for an invalid or expired cookie, no retransmission, the accept queue
// still enforced, and the policy.
#include "tcp/syncookie.h"
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class SynCookieTest : public TcpFamilyTest {
 protected:
  // SYN queue of one, so the second SYN overflows; slots of 2^30 ns
  // (1.07 s) so that expiry is quick to reach.
  static TcpConfig CookieConfig(SynCookieMode mode = SynCookieMode::kOverflow) {
    TcpConfig c = DefaultConfig();
    c.syn_backlog = 1;
    c.syncookies = mode;
    c.syncookie_period_log2_ns = 30;
    return c;
  }
  void SetUp() override { Init(CookieConfig()); }

  // Fills the SYN queue with one entry from port 40001.
  void Overflow() {
    Peer filler = PeerOnPort(40001);
    MakeSynReceived(filler);
  }

  // The peer's SYN answered with a cookie: learns our ISS (the cookie).
  Sent CookieHandshake(Peer& p) {
    const uint32_t half_open = stack().half_open_in_use();
    Inject(p, SynFor(p));
    EXPECT_FALSE(sent_.empty());
    if (sent_.empty()) return Sent{};
    Sent synack = sent_.front();
    sent_.pop_front();
    EXPECT_EQ(FlagString(synack.seg.flags), FlagString(kSA));
    EXPECT_EQ(synack.seg.ack.value(), p.irs + 1);
    p.iss = synack.seg.seq.value();
    p.snd = p.irs + 1;
    p.rcv = p.iss + 1;
    p.nxt = p.iss + 1;
    if (synack.seg.options.has_timestamps) p.ts_ecr = synack.seg.options.ts_val;
    EXPECT_EQ(stack().half_open_in_use(), half_open) << "a cookie keeps no state";
    ExpectNothingSent();
    return synack;
  }

  // The connection the cookie ACK made, accepted.
  ConnId AcceptOne() {
    Accept();
    const AppEvent e = ExpectEvent(AppEvent::Kind::kAccepted);
    return e.conn;
  }
};

TEST_P(SynCookieTest, NoCookieWhileTheSynQueueHasRoom) {
  Peer p = PeerOnPort(40001);
  MakeSynReceived(p);
  EXPECT_EQ(Counter("SyncookiesSent"), 0u);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
}

// Item 30: the SYN queue full: a cookie SYN-ACK, no state kept.
TEST_P(SynCookieTest, OverflowAnswersWithACookie) {
  Overflow();
  Peer p = PeerOnPort(40002);
  p.timestamps = true;
  const Sent synack = CookieHandshake(p);
  EXPECT_EQ(Counter("SyncookiesSent"), 1u);
  EXPECT_EQ(TableSize(), 1u);  // only the filler's entry
  // Item 31: options answered; window scale and SACK ride in the TSval.
  const wire::TcpOptions& o = synack.seg.options;
  EXPECT_TRUE(o.has_mss);
  EXPECT_TRUE(o.has_window_scale);
  EXPECT_TRUE(o.sack_permitted);
  ASSERT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_ecr, p.ts_val);
  uint8_t wscale = 0;
  bool sack = false;
  ASSERT_TRUE(DecodeCookieTsecr(o.ts_val, &wscale, &sack));
  EXPECT_EQ(wscale, 7);
  EXPECT_TRUE(sack);
}

// Item 33: a cookie SYN-ACK is never retransmitted.
TEST_P(SynCookieTest, CookieSynAckIsNotRetransmitted) {
  Overflow();
  Peer p = PeerOnPort(40002);
  CookieHandshake(p);
  // Only the filler's SYN-ACK comes again (it has state), never p's.
  for (int i = 0; i < 5; ++i) {
    Advance(2 * kSecond);
    for (const Sent& s : sent_) EXPECT_NE(s.seg.key.remote_port, 40002);
    sent_.clear();
  }
}

// Item 32: a bare ACK with a valid cookie creates the connection.
TEST_P(SynCookieTest, ValidCookieAckEstablishes) {
  Overflow();
  Peer p = PeerOnPort(40002);
  p.timestamps = true;
  CookieHandshake(p);
  Inject(p, From(p, kA));
  ExpectNothingSent();
  EXPECT_EQ(Counter("SyncookiesRecv"), 1u);
  EXPECT_EQ(Counter("PassiveOpens"), 1u);
  p.id = AcceptOne();
  EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kEstablished));
  const Tcb* t = stack().Find(p.id);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->snd_mss, CookieMss(1460) - 12);  // the table's entry
  EXPECT_EQ(t->snd_wscale, 7);           // from the TSecr
  EXPECT_TRUE(t->flags & tcb_flags::kSackOk);
  EXPECT_TRUE(t->flags & tcb_flags::kTimestamps);
  // It works: a request and its answer.
  Inject(p, From(p, kPA, "ping"));
  p.snd += 4;
  ExpectAck(p);
  ExpectEvent(AppEvent::Kind::kData);
  EXPECT_EQ(Read(p.id), "ping");
}

TEST_P(SynCookieTest, CookieAckWithDataDeliversIt) {
  Overflow();
  Peer p = PeerOnPort(40002);
  CookieHandshake(p);
  Inject(p, From(p, kPA, "GET /"));
  p.snd += 5;
  ExpectAck(p);
  p.id = AcceptOne();
  ExpectEvent(AppEvent::Kind::kData);
  EXPECT_EQ(Read(p.id), "GET /");
}

TEST_P(SynCookieTest, CookieAckWithFinCompletesAndCloses) {
  Overflow();
  Peer p = PeerOnPort(40002);
  CookieHandshake(p);
  Inject(p, From(p, kFA));
  p.snd += 1;
  ExpectAck(p);
  p.id = AcceptOne();
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  EXPECT_EQ(StateName(State(p.id)), StateName(TcpState::kCloseWait));
}

// Without timestamps on the SYN the cookie cannot remember window scale
// or SACK: neither is offered back, and the connection has neither.
TEST_P(SynCookieTest, WithoutTimestampsNoWindowScaleOrSack) {
  Overflow();
  Peer p = PeerOnPort(40002);
  const Sent synack = CookieHandshake(p);
  EXPECT_FALSE(synack.seg.options.has_window_scale);
  EXPECT_FALSE(synack.seg.options.sack_permitted);
  EXPECT_FALSE(synack.seg.options.has_timestamps);
  Inject(p, From(p, kA));
  p.id = AcceptOne();
  EXPECT_EQ(stack().Find(p.id)->snd_wscale, 0);
  EXPECT_EQ(stack().Find(p.id)->snd_mss, CookieMss(1460));
}

// The client's MSS is rounded down to a table entry.
TEST_P(SynCookieTest, MssRoundsDownToTheTable) {
  Overflow();
  Peer p = PeerOnPort(40002);
  Seg syn = SynFor(p);
  syn.Mss(1400);
  Inject(p, syn);
  const uint32_t iss = sent_.front().seg.seq.value();
  sent_.clear();
  Inject(p, MakeSeg(kA, p.irs + 1, iss + 1));
  p.id = AcceptOne();
  EXPECT_EQ(stack().Find(p.id)->snd_mss, CookieMss(1400));  // 1300, 1220
}

// Item 32: an invalid cookie gets <SEQ=SEG.ACK><CTL=RST>, and no state.
TEST_P(SynCookieTest, InvalidCookieGetsRst) {
  Overflow();
  Peer p = PeerOnPort(40002);
  CookieHandshake(p);
  Inject(p, MakeSeg(kA, p.snd, p.rcv + 1));  // one off
  ExpectSent(kR, p.rcv + 1, 0);
  EXPECT_EQ(Counter("SyncookiesFailed"), 1u);
  EXPECT_EQ(Counter("tcp_listen_ack"), 1u);
  Inject(p, MakeSeg(kA, p.snd + 1, p.rcv));  // other client ISN
  ExpectSent(kR, p.rcv, 0);
  Accept();
  ExpectNoEvents();
}

// Item 31: a cookie is valid for a bounded age: its slot and the next.
TEST_P(SynCookieTest, ExpiredCookieGetsRst) {
  Overflow();
  Peer p = PeerOnPort(40002);
  CookieHandshake(p);
  // Keep cookies flowing (else ACKs are not checked for cookies at all).
  Peer q = PeerOnPort(40003);
  Advance(uint64_t{3} << 30);
  Discard();
  CookieHandshake(q);
  Inject(p, From(p, kA));
  ExpectSent(kR, p.rcv, 0);
  EXPECT_EQ(Counter("SyncookiesFailed"), 1u);
}

TEST_P(SynCookieTest, CookieStillValidOneSlotLater) {
  Overflow();
  Peer p = PeerOnPort(40002);
  CookieHandshake(p);
  Advance(uint64_t{1} << 30);
  Discard();
  Inject(p, From(p, kA));
  ExpectNothingSent();
  EXPECT_EQ(Counter("SyncookiesRecv"), 1u);
}

// While no cookie was sent recently, an ACK to LISTEN is not a cookie
// candidate at all: plain RST (item 3), nothing counted as a cookie.
TEST_P(SynCookieTest, NoCookieCheckWithoutRecentCookies) {
  Peer p = PeerOnPort(40002);
  Inject(p, MakeSeg(kA, 5, 7));
  ExpectSent(kR, 7, 0);
  EXPECT_EQ(Counter("SyncookiesFailed"), 0u);
}

// Item 34: the accept queue full: the completing ACK is not admitted (no
// answer, counted); once there is room the client's retransmission
// completes it with the same cookie.
TEST_P(SynCookieTest, AcceptQueueFullDropsThenRetryCompletes) {
  TcpConfig c = CookieConfig(SynCookieMode::kAlways);
  c.accept_backlog = 1;
  Init(c);
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002);
  CookieHandshake(a);
  CookieHandshake(b);
  Inject(a, From(a, kA));
  Inject(b, From(b, kPA, "hi"));  // the accept queue holds a
  ExpectNothingSent();
  EXPECT_EQ(Counter("ListenOverflows"), 1u);
  EXPECT_EQ(stack().connections_in_use(), 1u);
  a.id = AcceptOne();
  Inject(b, From(b, kPA, "hi"));  // the client retransmits
  b.snd += 2;
  ExpectAck(b);
  b.id = AcceptOne();
  ExpectEvent(AppEvent::Kind::kData);
  EXPECT_EQ(Read(b.id), "hi");
}

// Item 35: always: no SYN-queue state for any SYN.
TEST_P(SynCookieTest, AlwaysKeepsNoState) {
  Init(CookieConfig(SynCookieMode::kAlways));
  for (uint16_t port = 40001; port < 40010; ++port) {
    Peer p = PeerOnPort(port);
    CookieHandshake(p);
  }
  EXPECT_EQ(stack().half_open_in_use(), 0u);
  EXPECT_EQ(TableSize(), 0u);
  EXPECT_EQ(Counter("SyncookiesSent"), 9u);
}

// Item 35: off: the overflowing SYN is dropped; an ACK is never a cookie.
TEST_P(SynCookieTest, OffDropsTheOverflowingSyn) {
  Init(CookieConfig(SynCookieMode::kOff));
  Overflow();
  Peer p = PeerOnPort(40002);
  Inject(p, SynFor(p));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_syn_queue_full"), 1u);
  EXPECT_EQ(Counter("SyncookiesSent"), 0u);
}

// The half-open pool full (not only this listener's SYN queue): a cookie.
TEST_P(SynCookieTest, HalfOpenPoolFullAnswersWithACookie) {
  TcpConfig c = CookieConfig();
  c.syn_backlog = 100;
  c.max_half_open = 1;
  Init(c);
  Overflow();
  Peer p = PeerOnPort(40002);
  CookieHandshake(p);
  EXPECT_EQ(Counter("SyncookiesSent"), 1u);
}

// A burst's cookies are prepared at once (vector lanes) inside InputBurst:
// its SYN-ACKs equal, byte for byte, those of the same segments handed over
// one at a time; a SYN whose prepared cookie goes unused (a segment earlier
// in the same burst created its connection) changes nothing for the rest.
TEST_P(SynCookieTest, BurstCookiesEqualSingleOnes) {
  const TcpConfig c = CookieConfig(SynCookieMode::kAlways);
  const SipKey secret{1, 2};
  TcpStack batched(c, secret, 42, kT0), single(c, secret, 42, kT0);
  ASSERT_TRUE(batched.Listen(kLocalIp, kLocalPort));
  ASSERT_TRUE(single.Listen(kLocalIp, kLocalPort));
  // Tuple U's handshake is answered inside the burst: its SYN-ACK first.
  const flow::FlowKey u{kLocalIp, kRemoteIp + 7, kLocalPort, 39999};
  Segment u_syn;
  u_syn.seq = SeqNum(5000);
  u_syn.flags = kS;
  u_syn.window = 65535;
  u_syn.options.has_mss = true;
  u_syn.options.mss = 1460;
  batched.Input(u, u_syn, kT0);
  single.Input(u, u_syn, kT0);
  ASSERT_EQ(batched.output().size(), 1u);
  ASSERT_EQ(batched.output()[0].seq, single.output()[0].seq);
  const SeqNum u_isn = batched.output()[0].seq;
  batched.ClearOutput();
  single.ClearOutput();

  constexpr uint32_t kN = 24;
  flow::FlowKey keys[kN];
  Segment segs[kN];
  for (uint32_t k = 0; k < kN; ++k) {
    keys[k] = flow::FlowKey{kLocalIp, kRemoteIp + k % 3, kLocalPort,
                            static_cast<uint16_t>(40000 + k)};
    segs[k].seq = SeqNum(1000 * k);
    segs[k].flags = kS;
    segs[k].window = 65535;
    segs[k].options.has_mss = k % 2 == 0;
    segs[k].options.mss = static_cast<uint16_t>(1200 + 20 * k);
    if (k % 4 == 1) {
      segs[k].options.has_timestamps = true;
      segs[k].options.ts_val = 77 + k;
    }
  }
  segs[5].flags = kSA;  // not a candidate: answered with RST by both
  // 9: U's cookie ACK (a connection); 10: a SYN for U, looked up before 9
  // made the connection, so its prepared cookie is not used.
  keys[9] = u;
  segs[9] = Segment{};
  segs[9].seq = u_syn.seq + 1;
  segs[9].ack = u_isn + 1;
  segs[9].flags = kA;
  segs[9].window = 65535;
  keys[10] = u;
  segs[10].seq = SeqNum(9000);
  batched.InputBurst(keys, segs, kN, kT0);
  size_t next = 0;  // into batched's output, which is in segment order
  for (uint32_t k = 0; k < kN; ++k) {
    single.Input(keys[k], segs[k], kT0);
    for (const OutSegment& b : single.output()) {
      ASSERT_LT(next, batched.output().size()) << k;
      const OutSegment& a = batched.output()[next++];
      EXPECT_EQ(a.reply_to, k);
      EXPECT_EQ(a.key, b.key) << k;
      EXPECT_EQ(a.seq, b.seq) << k;
      EXPECT_EQ(a.ack, b.ack) << k;
      EXPECT_EQ(a.flags, b.flags) << k;
      EXPECT_EQ(a.syn_cookie, b.syn_cookie) << k;
      EXPECT_EQ(a.options.ts_val, b.options.ts_val) << k;
    }
    single.ClearOutput();
  }
  EXPECT_EQ(next, batched.output().size());
  // Every SYN but 5 (a SYN-ACK) and 10 (U is connected) got a cookie, and
  // 10 drew the challenge ACK of a synchronized connection.
  EXPECT_EQ(batched.counters().Get(Mib::kSyncookiesSent), 1 + kN - 3);
  EXPECT_EQ(batched.counters().Get(Mib::kSyncookiesRecv), 1u);
  EXPECT_EQ(batched.counters().Get(Mib::kChallengeAck), 1u);
}

// Front ends behind ECMP share one secret (--secret-file): a cookie one
// host sent is valid on another (here: two stacks, syncookies=always, the
// same key; the other's hash seed and clock base may differ), and one with
// another key is not.
TEST_P(SynCookieTest, CookieOfAnotherHostWithTheSameSecretIsValid) {
  const TcpConfig c = CookieConfig(SynCookieMode::kAlways);
  const SipKey shared{0xfeedfacecafebeefull, 0x0123456789abcdefull};
  TcpStack a(c, shared, /*hash_seed=*/1, kT0);
  TcpStack b(c, shared, /*hash_seed=*/2, kT0);
  TcpStack stranger(c, SipKey{5, 6}, /*hash_seed=*/1, kT0);
  for (TcpStack* s : {&a, &b, &stranger}) {
    ASSERT_TRUE(s->Listen(kLocalIp, kLocalPort));
  }
  const flow::FlowKey key{kLocalIp, kRemoteIp, kLocalPort, 40000};
  Segment syn;
  syn.seq = SeqNum(kPeerIss);
  syn.flags = kS;
  syn.window = 65535;
  syn.options.has_mss = true;
  syn.options.mss = 1460;
  a.Input(key, syn, kT0);
  ASSERT_EQ(a.output().size(), 1u);
  ASSERT_TRUE(a.output()[0].syn_cookie);
  Segment ack;
  ack.seq = SeqNum(kPeerIss + 1);
  ack.ack = a.output()[0].seq + 1;
  ack.flags = kA;
  ack.window = 65535;
  b.Input(key, ack, kT0 + 10 * kMs);
  EXPECT_EQ(b.counters().Get(Mib::kSyncookiesRecv), 1u);
  EXPECT_EQ(b.connections_in_use(), 1u);
  EXPECT_TRUE(b.output().empty());
  stranger.Input(key, ack, kT0 + 10 * kMs);
  EXPECT_EQ(stranger.counters().Get(Mib::kSyncookiesFailed), 1u);
  EXPECT_EQ(stranger.connections_in_use(), 0u);
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(SynCookieTest);

}  // namespace synwave::tcp::fsm_test
