// Timers of a synchronized connection: retransmission (RFC 6298, go-back-N
// from SND.UNA), the RTT estimate and RTO, the zero-window persist probe
// (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17) and keepalive (RFC 1122 4.2.3.6).
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class RetransmitTest : public TcpFamilyTest {};

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + i % 26);
  return s;
}

// RTO: the earliest unacknowledged segment is sent again (cwnd falls to
// one segment); the ACK of it lets the rest follow, as retransmissions.
TEST_P(RetransmitTest, RtoRetransmitsFromSndUnaGoBackN) {
  MakeEstablished();
  const std::string data = Bytes(3 * 1460);
  Send(p_.id, data);
  ExpectSent(kA, p_.rcv, p_.snd);
  ExpectSent(kA, p_.rcv + 1460, p_.snd);
  ExpectSent(kPA, p_.rcv + 2920, p_.snd);
  Advance(1 * kSecond - kMs);  // initial RTO: 1 s
  ExpectNothingSent();
  Advance(kMs);
  Sent r = ExpectSent(kA, p_.rcv, p_.snd);
  EXPECT_TRUE(r.seg.retransmission);
  EXPECT_EQ(r.payload, data.substr(0, 1460));
  ExpectNothingSent();
  EXPECT_EQ(Counter("TCPTimeouts"), 1u);
  EXPECT_EQ(Counter("RetransSegs"), 1u);
  p_.rcv += 1460;
  Inject(From(kA));
  DropSentEvents();
  r = ExpectSent(kA, p_.rcv, p_.snd);
  EXPECT_TRUE(r.seg.retransmission);
  r = ExpectSent(kPA, p_.rcv + 1460, p_.snd);
  EXPECT_TRUE(r.seg.retransmission);
  EXPECT_EQ(r.payload, data.substr(2920));
  ExpectNothingSent();
  EXPECT_EQ(Counter("RetransSegs"), 3u);
  EXPECT_EQ(Counter("DataBytesOut"), 3u * 1460);  // first transmissions only
  p_.rcv += 2920;
  Inject(From(kA));
  ExpectNothingSent();
  EXPECT_EQ(stack().timers_in_use(), 0u);
  EXPECT_EQ(stack().buffer_chunks_in_use(), 0u);
}

// An ACK that covers data sent before the RTO and not yet resent moves
// SND.NXT with it: nothing is sent twice needlessly.
TEST_P(RetransmitTest, AckBeyondRetransmittedSegmentSkipsAhead) {
  MakeEstablished();
  Send(p_.id, Bytes(3 * 1460));
  sent_.clear();
  Advance(1 * kSecond);
  ExpectSent(kA, p_.rcv, p_.snd);
  p_.rcv += 3 * 1460;  // only the first was lost; the peer had the rest
  Inject(From(kA));
  ExpectNothingSent();
  EXPECT_EQ(stack().Find(p_.id)->snd_nxt.value(), p_.rcv);
  EXPECT_EQ(stack().timers_in_use(), 0u);
}

// RFC 6298 5.5: the RTO doubles on each expiry.
TEST_P(RetransmitTest, RtoBacksOffExponentially) {
  MakeEstablished();
  Send(p_.id, "x");
  ExpectSent(kPA, p_.rcv, p_.snd);
  uint64_t rto = 1 * kSecond;
  for (int i = 1; i <= 5; ++i) {
    SCOPED_TRACE(i);
    Advance(rto - kMs);
    ExpectNothingSent();
    Advance(kMs);
    EXPECT_TRUE(ExpectSent(kPA, p_.rcv, p_.snd).seg.retransmission);
    rto *= 2;
  }
  EXPECT_EQ(stack().Find(p_.id)->rto_us, 32'000'000u);
}

// The backoff stops at rto_max.
TEST_P(RetransmitTest, RtoBackoffIsCappedAtRtoMax) {
  TcpConfig c = DefaultConfig();
  c.rto_max_ns = 3 * kSecond;
  Init(c);
  MakeEstablished();
  Send(p_.id, "x");
  sent_.clear();
  Advance(1 * kSecond);
  ExpectSent(kPA, p_.rcv, p_.snd);
  Advance(2 * kSecond);
  ExpectSent(kPA, p_.rcv, p_.snd);
  Advance(3 * kSecond - kMs);
  ExpectNothingSent();
  Advance(kMs);
  ExpectSent(kPA, p_.rcv, p_.snd);
  Advance(3 * kSecond);
  ExpectSent(kPA, p_.rcv, p_.snd);
}

// After max_retransmits expiries the connection is dropped (no RST: the
// peer is unreachable) and the application hears kClosed(timeout).
TEST_P(RetransmitTest, RetransmissionLimitDropsConnection) {
  TcpConfig c = DefaultConfig();
  c.max_retransmits = 3;
  Init(c);
  MakeEstablished();
  Send(p_.id, "x");
  ExpectSent(kPA, p_.rcv, p_.snd);
  Advance(1 * kSecond);
  ExpectSent(kPA, p_.rcv, p_.snd);
  Advance(2 * kSecond);
  ExpectSent(kPA, p_.rcv, p_.snd);
  Advance(4 * kSecond);
  ExpectSent(kPA, p_.rcv, p_.snd);
  ExpectNoEvents();
  Advance(8 * kSecond - kMs);
  EXPECT_TRUE(stack().IsOpen(p_.id));
  Advance(kMs);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kTimeout);
  EXPECT_EQ(Counter("TCPAbortOnTimeout"), 1u);
  EXPECT_EQ(Counter("TCPTimeouts"), 4u);
  ExpectNoLeaks();
}

// RFC 6298 2.2: the first sample R gives SRTT = R, RTTVAR = R/2,
// RTO = SRTT + max(G, 4 * RTTVAR); the next data is timed by it.
TEST_P(RetransmitTest, FirstRttSampleSetsRto) {
  MakeEstablished();
  Send(p_.id, "x");
  ExpectSent(kPA, p_.rcv, p_.snd);
  Advance(100 * kMs);
  p_.rcv += 1;
  Inject(From(kA));
  DropSentEvents();
  const Tcb* t = stack().Find(p_.id);
  EXPECT_EQ(t->srtt_us, 100'000u);
  EXPECT_EQ(t->rttvar_us, 50'000u);
  EXPECT_EQ(t->rto_us, 300'000u);
  Send(p_.id, "y");
  ExpectSent(kPA, p_.rcv, p_.snd);
  Advance(299 * kMs);
  ExpectNothingSent();
  Advance(kMs);
  ExpectSent(kPA, p_.rcv, p_.snd);
}

// RFC 6298 2.3: later samples: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, then
// SRTT = 7/8 SRTT + 1/8 R.
TEST_P(RetransmitTest, LaterRttSampleSmoothsRto) {
  MakeEstablished();
  Send(p_.id, "x");
  Advance(100 * kMs);
  p_.rcv += 1;
  Inject(From(kA));
  Send(p_.id, "y");
  Advance(200 * kMs);
  p_.rcv += 1;
  Inject(From(kA));
  const Tcb* t = stack().Find(p_.id);
  EXPECT_EQ(t->rttvar_us, 62'500u);
  EXPECT_EQ(t->srtt_us, 112'500u);
  EXPECT_EQ(t->rto_us, 362'500u);
}

// The RTO never goes below rto_min (200 ms, Linux's).
TEST_P(RetransmitTest, RtoIsClampedToRtoMin) {
  MakeEstablished();
  Send(p_.id, "x");
  Advance(10 * kMs);
  p_.rcv += 1;
  Inject(From(kA));
  EXPECT_EQ(stack().Find(p_.id)->rto_us, 200'000u);
}

// Karn's rule: an ACK after a retransmission gives no sample (without
// timestamps it is ambiguous), and the backed-off RTO stays.
TEST_P(RetransmitTest, KarnNoSampleFromRetransmittedData) {
  MakeEstablished();
  Send(p_.id, "x");
  Advance(1 * kSecond);
  sent_.clear();
  Advance(50 * kMs);
  p_.rcv += 1;
  Inject(From(kA));
  const Tcb* t = stack().Find(p_.id);
  EXPECT_EQ(t->srtt_us, 0u);
  EXPECT_EQ(t->rto_us, 2'000'000u);
}

// Zero window: nothing is sent until the persist timer fires, then a
// one-byte probe, backed off; when the window opens the data flows.
TEST_P(RetransmitTest, ZeroWindowPersistProbe) {
  MakeSynReceived();
  Inject(From(kA).Win(0));
  Accept();
  p_.id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  EXPECT_EQ(Send(p_.id, "hello"), 5u);
  ExpectNothingSent();
  EXPECT_EQ(stack().timers_in_use(), 1u);  // persist
  Advance(1 * kSecond - kMs);
  ExpectNothingSent();
  Advance(kMs);
  Sent probe = ExpectSent(kA, p_.rcv, p_.snd);
  EXPECT_EQ(probe.payload, "h");
  ExpectNothingSent();
  // The peer still has no room: it answers without taking the byte.
  Inject(From(kA).Win(0));
  ExpectNothingSent();
  Advance(2 * kSecond - kMs);
  ExpectNothingSent();
  Advance(kMs);
  probe = ExpectSent(kA, p_.rcv, p_.snd);
  EXPECT_EQ(probe.payload, "h");
  // Room at last: the rest goes at once.
  Inject(From(kA).Win(100));
  const Sent rest = ExpectSent(kPA, p_.rcv + 1, p_.snd);
  EXPECT_EQ(rest.payload, "ello");
  ExpectNothingSent();
  p_.rcv += 5;
  Inject(From(kA).Win(100));
  EXPECT_EQ(stack().timers_in_use(), 0u);
}

// RFC 1122 4.2.2.17: while the receiver answers the probes, the
// connection stays open however long the window stays shut; the retry
// limit only counts unanswered probes.
TEST_P(RetransmitTest, AnsweredZeroWindowProbesKeepConnectionOpen) {
  TcpConfig c = DefaultConfig();
  c.max_retransmits = 3;
  Init(c);
  MakeSynReceived();
  Inject(From(kA).Win(0));
  Accept();
  p_.id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  Send(p_.id, "hello");
  uint64_t wait = 1 * kSecond;
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE(i);
    Advance(wait);
    ExpectSent(kA, p_.rcv, p_.snd);
    Inject(From(kA).Win(0));
    ExpectNothingSent();
    wait = std::min<uint64_t>(wait * 2, 120 * kSecond);
  }
  ExpectNoEvents();
  EXPECT_TRUE(stack().IsOpen(p_.id));
}

// Unanswered probes do count: the connection is dropped after the limit.
TEST_P(RetransmitTest, UnansweredZeroWindowProbesDropConnection) {
  TcpConfig c = DefaultConfig();
  c.max_retransmits = 2;
  Init(c);
  MakeSynReceived();
  Inject(From(kA).Win(0));
  Accept();
  p_.id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  Send(p_.id, "hello");
  Advance(1 * kSecond);
  ExpectSent(kA, p_.rcv, p_.snd);
  Advance(2 * kSecond);
  ExpectSent(kA, p_.rcv, p_.snd);
  Advance(4 * kSecond);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kTimeout);
  ExpectNoLeaks();
}

// Keepalive is off by default (as sockets without SO_KEEPALIVE): an idle
// connection sends nothing and holds no timer.
TEST_P(RetransmitTest, KeepaliveIsOffByDefault) {
  MakeEstablished();
  EXPECT_EQ(stack().timers_in_use(), 0u);
  Advance(3 * 3600 * kSecond);
  ExpectNothingSent();
  ExpectNoEvents();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kEstablished));
}

class KeepaliveTest : public TcpFamilyTest {
 protected:
  KeepaliveTest() {
    TcpConfig c = DefaultConfig();
    c.keepalive = true;
    c.keepalive_idle_ns = 100 * kSecond;
    c.keepalive_interval_ns = 10 * kSecond;
    c.keepalive_probes = 3;
    Init(c);
  }
  // RFC 1122 4.2.3.6: <SEQ=SND.UNA-1><ACK=RCV.NXT>, no data.
  void ExpectProbe(Loc loc = Loc::current()) {
    const Sent s = ExpectSent(kA, p_.rcv - 1, p_.snd, loc);
    EXPECT_EQ(s.seg.payload_length, 0);
  }
};

// After the idle time a probe; an answer defers the next one by the full
// idle time from that answer.
TEST_P(KeepaliveTest, ProbeAfterIdleAndAnsweredProbeRestartsIdle) {
  MakeEstablished();
  Advance(100 * kSecond - kMs);
  ExpectNothingSent();
  Advance(kMs);
  ExpectProbe();
  ExpectNothingSent();
  EXPECT_EQ(Counter("TCPKeepAlive"), 1u);
  Advance(1 * kSecond);
  Inject(From(kA));  // the answer
  ExpectNothingSent();
  Advance(100 * kSecond - kMs);
  ExpectNothingSent();
  Advance(kMs);
  ExpectProbe();
  EXPECT_TRUE(stack().IsOpen(p_.id));
}

// Item 21: with timestamps negotiated the probe carries them too.
TEST_P(KeepaliveTest, ProbeCarriesTimestamps) {
  p_.timestamps = true;
  MakeEstablished();
  Advance(100 * kSecond);
  const Sent s = ExpectSent(kA, p_.rcv - 1, p_.snd);
  EXPECT_TRUE(s.seg.options.has_timestamps);
  EXPECT_EQ(s.seg.options.ts_ecr, p_.ts_val);
}

// Traffic defers the first probe.
TEST_P(KeepaliveTest, TrafficDefersProbe) {
  MakeEstablished();
  Advance(50 * kSecond);
  Inject(From(kPA, "x"));
  p_.snd += 1;
  ExpectAck();
  Advance(100 * kSecond - kMs);
  ExpectNothingSent();
  Advance(kMs);
  ExpectProbe();
}

// A segment that fails the sequence check is no sign of life (a blind
// sender could otherwise keep a dead connection open).
TEST_P(KeepaliveTest, OutOfWindowSegmentDoesNotDeferProbe) {
  MakeEstablished();
  Advance(50 * kSecond);
  Inject(MakeSeg(kA, p_.snd + 200'000, p_.rcv));
  ExpectAck();
  Advance(50 * kSecond);
  ExpectProbe();
}

// keepalive_probes unanswered probes, keepalive_interval apart: dropped,
// with a RST as Linux (tcp_keepalive_timer), kClosed(timeout).
TEST_P(KeepaliveTest, UnansweredProbesDropConnection) {
  MakeEstablished();
  Advance(100 * kSecond);
  ExpectProbe();
  Advance(10 * kSecond);
  ExpectProbe();
  Advance(10 * kSecond);
  ExpectProbe();
  ExpectNoEvents();
  Advance(10 * kSecond - kMs);
  ExpectNothingSent();
  Advance(kMs);
  ExpectSent(kRA, p_.rcv, p_.snd);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kTimeout);
  EXPECT_EQ(Counter("TCPKeepAlive"), 3u);
  EXPECT_EQ(Counter("TCPAbortOnTimeout"), 1u);
  ExpectNoLeaks();
}

// Keepalive also runs in CLOSE-WAIT.
TEST_P(KeepaliveTest, ProbesInCloseWait) {
  MakeCloseWait();
  Advance(100 * kSecond);
  ExpectProbe();
}

// While data is in flight the retransmission timer watches the peer; no
// keepalive probe is sent then (Linux: tcp_keepalive_timer reschedules).
TEST_P(KeepaliveTest, NoProbeWhileDataInFlight) {
  MakeEstablished();
  Send(p_.id, "x");
  ExpectSent(kPA, p_.rcv, p_.snd);
  Advance(100 * kSecond);  // the RTO fires first, then the keepalive timer
  ExpectSent(kPA, p_.rcv, p_.snd);
  ExpectNothingSent();
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(RetransmitTest);

SYNWAVE_INSTANTIATE_FAMILIES(KeepaliveTest);

}  // namespace synwave::tcp::fsm_test
