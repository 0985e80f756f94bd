// The active side: Connect() -> SYN-SENT, and every event there (RFC 9293
// 3.10.7.3; docs/conformance.md items 10-14), simultaneous open, and the
// client's half of the closing states (items 22-28 from the side that
// connected).
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class SynSentTest : public TcpFamilyTest {
 protected:
  Peer p_ = ServerPeer();
};

// --- The SYN ------------------------------------------------------------------

TEST_P(SynSentTest, ConnectSendsSynWithOurOptions) {
  const Sent syn = StartConnect(p_);
  ExpectTuple(syn, p_);
  const wire::TcpOptions& o = syn.seg.options;
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, config().mss);
  EXPECT_TRUE(o.has_window_scale);
  EXPECT_EQ(o.window_scale, config().window_scale);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_ecr, 0u);
  EXPECT_EQ(Counter("ActiveOpens"), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kSynSent), 1u);
  ExpectNoEvents();
}

TEST_P(SynSentTest, IsnsDifferPerTupleAndGrowOverTime) {
  const uint32_t a = StartConnect(p_).seg.seq.value();
  Peer q = ServerPeer(50001);
  const uint32_t b = StartConnect(q).seg.seq.value();
  EXPECT_NE(a, b);
  // The same tuple later (after the first attempt is gone) starts higher.
  Abort(p_.id);
  Discard();
  Advance(500 * kMs);
  Peer again = ServerPeer();
  const uint32_t c = StartConnect(again).seg.seq.value();
  EXPECT_GT(static_cast<int32_t>(c - a), 0);
}

// --- Item 10: SYN-ACK acking our SYN --------------------------------------------

TEST_P(SynSentTest, SynAckEstablishesAndIsAcked) {
  p_.timestamps = true;
  MakeConnected(p_);
  const Tcb* t = stack().Find(p_.id);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->snd_wscale, 7);
  EXPECT_EQ(t->rcv_wscale, config().window_scale);
  EXPECT_TRUE(t->flags & tcb_flags::kTimestamps);
  EXPECT_TRUE(t->flags & tcb_flags::kSackOk);
  EXPECT_EQ(t->snd_mss, 1460 - 12);
  EXPECT_EQ(t->snd_wnd, kPeerWindow);  // a SYN-ACK's window is not scaled
  ExpectNoEvents();
}

TEST_P(SynSentTest, HandshakeAckCarriesTimestampEcho) {
  p_.timestamps = true;
  StartConnect(p_);
  Inject(p_, SynAckFor(p_));
  const Sent ack = ExpectSent(kA, p_.iss + 1, p_.irs + 1);
  ASSERT_TRUE(ack.seg.options.has_timestamps);
  EXPECT_EQ(ack.seg.options.ts_ecr, p_.ts_val);
  ExpectEvent(AppEvent::Kind::kConnected);
}

TEST_P(SynSentTest, NoTimestampsWhenThePeerDoesNotEchoThem) {
  StartConnect(p_);
  Inject(p_, SynAckFor(p_));  // p_.timestamps false: no TS option
  const Sent ack = ExpectSent(kA, p_.iss + 1, p_.irs + 1);
  EXPECT_FALSE(ack.seg.options.has_timestamps);
  ExpectEvent(AppEvent::Kind::kConnected);
  EXPECT_EQ(stack().Find(p_.id)->snd_mss, 1460);
}

TEST_P(SynSentTest, NoWindowScaleWhenThePeerOffersNone) {
  p_.wscale = false;
  MakeConnected(p_);
  EXPECT_EQ(stack().Find(p_.id)->snd_wscale, 0);
  EXPECT_EQ(stack().Find(p_.id)->rcv_wscale, 0);
}

TEST_P(SynSentTest, RequestSentOnConnectCarriesTheHandshakeAck) {
  StartConnect(p_);
  // The engine calls Flush after the application handled kConnected: the
  // owed ACK rides on the request.
  InjectWithoutFlush(p_, SynAckFor(p_));
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kConnected);
  EXPECT_EQ(Send(p_.id, "GET"), 3u);
  const Sent req = ExpectSent(kPA, p_.iss + 1, p_.irs + 1);
  EXPECT_EQ(req.payload, "GET");
  ExpectNothingSent();
}

TEST_P(SynSentTest, DataOnSynAckIsDelivered) {
  StartConnect(p_);
  Seg s = SynAckFor(p_);
  s.Data("hello");
  Inject(p_, s);
  ExpectSent(kA, p_.iss + 1, p_.irs + 1 + 5);
  ExpectEvent(AppEvent::Kind::kConnected);
  ExpectEvent(AppEvent::Kind::kData);
  EXPECT_EQ(Read(p_.id), "hello");
}

// --- Item 11: an ACK that does not ack our SYN ----------------------------------

TEST_P(SynSentTest, AckAtIssGetsRstAndStays) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kSA, p_.irs, p_.iss));  // SEG.ACK =< ISS
  ExpectSent(kR, p_.iss, 0);
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kSynSent));
  EXPECT_EQ(Counter("tcp_syn_sent_bad_ack"), 1u);
  ExpectNoEvents();
}

TEST_P(SynSentTest, AckBeyondSndNxtGetsRstAndStays) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kA, p_.irs, p_.iss + 2));  // SEG.ACK > SND.NXT
  ExpectSent(kR, p_.iss + 2, 0);
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kSynSent));
  // The right SYN-ACK still completes it.
  Inject(p_, SynAckFor(p_));
  ExpectSent(kA, p_.iss + 1, p_.irs + 1);
  ExpectEvent(AppEvent::Kind::kConnected);
}

// --- Item 12: RST -----------------------------------------------------------------

TEST_P(SynSentTest, RstWithoutAckIsIgnored) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kR, p_.irs));
  ExpectNothingSent();
  ExpectNoEvents();
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kSynSent));
  EXPECT_EQ(Counter("tcp_syn_sent_rst_ignored"), 1u);
}

TEST_P(SynSentTest, RstWithUnacceptableAckIsIgnored) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kRA, 0, p_.iss + 5));
  ExpectNothingSent();
  ExpectNoEvents();
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kSynSent));
}

TEST_P(SynSentTest, RstWithAcceptableAckRefuses) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kRA, 0, p_.iss + 1));  // a closed port's answer
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kRefused);
  EXPECT_FALSE(stack().IsOpen(p_.id));
  EXPECT_EQ(Counter("ConnectRefused"), 1u);
  EXPECT_EQ(Counter("AttemptFails"), 1u);
  ExpectNoLeaks();
}

TEST_P(SynSentTest, SegmentWithoutSynOrRstIsDropped) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kF, p_.irs));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_syn_sent_no_syn"), 1u);
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kSynSent));
}

// --- Item 13: simultaneous open ---------------------------------------------------

TEST_P(SynSentTest, SimultaneousOpenThenAck) {
  StartConnect(p_);
  Seg syn = MakeSeg(kS, p_.irs);
  syn.Mss(1400).Wscale(7);
  Inject(p_, syn);
  const Sent synack = ExpectSent(kSA, p_.iss, p_.irs + 1);
  EXPECT_TRUE(synack.seg.options.has_window_scale);
  EXPECT_FALSE(synack.seg.options.sack_permitted);  // the SYN offered none
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kSynReceived));
  EXPECT_EQ(stack().StateCount(TcpState::kSynReceived), 1u);
  ExpectNoEvents();
  // The peer acks our SYN: ESTABLISHED, no reply.
  Inject(p_, MakeSeg(kA, p_.irs + 1, p_.iss + 1));
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kConnected);
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kEstablished));
  EXPECT_EQ(stack().Find(p_.id)->snd_mss, 1400);
}

TEST_P(SynSentTest, SimultaneousOpenCompletedByThePeersSynAck) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kS, p_.irs));
  ExpectSent(kSA, p_.iss, p_.irs + 1);
  // The peer, also in SYN-RECEIVED, sends its SYN-ACK.
  Inject(p_, MakeSeg(kSA, p_.irs, p_.iss + 1));
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kConnected);
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kEstablished));
}

TEST_P(SynSentTest, SimultaneousOpenBadAckGetsRst) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kS, p_.irs));
  ExpectSent(kSA, p_.iss, p_.irs + 1);
  Inject(p_, MakeSeg(kA, p_.irs + 1, p_.iss + 7));
  ExpectSent(kR, p_.iss + 7, 0);
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kSynReceived));
}

TEST_P(SynSentTest, SimultaneousOpenRstRefuses) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kS, p_.irs));
  ExpectSent(kSA, p_.iss, p_.irs + 1);
  Inject(p_, MakeSeg(kR, p_.irs + 1));
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kRefused);
  ExpectNoLeaks();
}

TEST_P(SynSentTest, SimultaneousOpenSynAckRetransmitted) {
  StartConnect(p_);
  Inject(p_, MakeSeg(kS, p_.irs));
  ExpectSent(kSA, p_.iss, p_.irs + 1);
  Advance(1000 * kMs);
  const Sent again = ExpectSent(kSA, p_.iss, p_.irs + 1);
  EXPECT_TRUE(again.seg.retransmission);
}

// --- Item 14: SYN retransmission ----------------------------------------------------

TEST_P(SynSentTest, SynRetransmittedWithBackoffThenFails) {
  StartConnect(p_);
  uint64_t rto = config().rto_initial_ns;
  for (int i = 0; i < config().syn_retries; ++i) {
    Advance(rto - kMs);
    ExpectNothingSent();
    Advance(kMs);
    const Sent syn = ExpectSent(kS, p_.iss, 0);
    EXPECT_TRUE(syn.seg.retransmission);
    EXPECT_TRUE(syn.seg.options.has_mss);
    rto *= 2;
  }
  EXPECT_EQ(Counter("TCPSynRetrans"), config().syn_retries);
  ExpectNoEvents();
  Advance(rto);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kConnectTimeout);
  EXPECT_EQ(Counter("ConnectTimeouts"), 1u);
  EXPECT_EQ(Counter("AttemptFails"), 1u);
  ExpectNoLeaks();
}

TEST_P(SynSentTest, SynAckAfterARetransmissionStillCompletes) {
  StartConnect(p_);
  Advance(config().rto_initial_ns);
  ExpectSent(kS, p_.iss, 0);
  Inject(p_, SynAckFor(p_));
  ExpectSent(kA, p_.iss + 1, p_.irs + 1);
  ExpectEvent(AppEvent::Kind::kConnected);
  // No more SYNs once established.
  Advance(10 * kSecond);
  ExpectNothingSent();
}

// --- The application ends an attempt -------------------------------------------------

TEST_P(SynSentTest, CloseInSynSentSendsNothing) {
  StartConnect(p_);
  Close(p_.id);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kAborted);
  ExpectNoLeaks();
}

TEST_P(SynSentTest, AbortInSynSentSendsNoRst) {
  StartConnect(p_);
  Abort(p_.id);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kAborted);
  ExpectNoLeaks();
}

// --- Tuples and pools ---------------------------------------------------------------------

TEST_P(SynSentTest, TupleInUseIsRefusedByConnect) {
  StartConnect(p_);
  EXPECT_FALSE(TupleFree(p_));
  TcpStack::ConnectError err = TcpStack::ConnectError::kNone;
  EXPECT_FALSE(Connect(p_, &err).valid());
  EXPECT_EQ(static_cast<int>(err),
            static_cast<int>(TcpStack::ConnectError::kTupleInUse));
  ExpectNothingSent();
}

TEST_P(SynSentTest, PoolFullIsReported) {
  TcpConfig c = DefaultConfig();
  c.max_connections = 2;
  Init(c);
  Peer a = ServerPeer(50001), b = ServerPeer(50002);
  StartConnect(a);
  StartConnect(b);
  TcpStack::ConnectError err = TcpStack::ConnectError::kNone;
  EXPECT_FALSE(Connect(ServerPeer(50003), &err).valid());
  EXPECT_EQ(static_cast<int>(err), static_cast<int>(TcpStack::ConnectError::kNoTcb));
}

// --- The client's close (items 22-27 from the side that connected) ---------------------

// Request, response, our FIN first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT on
// the client, which keeps the tuple until 2 MSL and then frees it.
TEST_P(SynSentTest, ClientActiveCloseThroughTimeWait) {
  MakeConnected(p_);
  Send(p_.id, "GET");
  ExpectSent(kPA, p_.nxt, p_.snd);
  p_.nxt += 3;
  p_.rcv = p_.nxt;
  Inject(p_, From(p_, kPA, "200"));
  p_.snd += 3;
  ExpectAck(p_);
  DropSentEvents();
  ExpectEvent(AppEvent::Kind::kData);
  EXPECT_EQ(Read(p_.id), "200");
  Close(p_.id);
  ExpectSent(kFA, p_.nxt, p_.snd);
  p_.nxt += 1;
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kFinWait1));
  p_.rcv = p_.nxt;
  Inject(p_, From(p_, kA));
  ExpectNothingSent();
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kFinWait2));
  Inject(p_, From(p_, kFA));
  p_.snd += 1;
  ExpectAck(p_);
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  ExpectClosedEvent(CloseReason::kNormal);
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  // Item 27: a retransmitted FIN is ACKed and restarts 2 MSL.
  Advance(config().msl_ns);
  Inject(p_, MakeSeg(kFA, p_.snd - 1, p_.rcv));
  ExpectAck(p_);
  // Item 28 from the client: the tuple is not reused while in TIME-WAIT.
  EXPECT_FALSE(TupleFree(p_));
  Advance(2 * config().msl_ns - kMs);
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  Advance(2 * kMs);
  EXPECT_EQ(stack().time_wait_in_use(), 0u);
  EXPECT_TRUE(TupleFree(p_));
  ExpectNoLeaks();
  // The freed tuple connects again.
  Peer again = ServerPeer();
  StartConnect(again);
}

// The server closes first: CLOSE-WAIT, our FIN, LAST-ACK, gone (no
// TIME-WAIT on the client).
TEST_P(SynSentTest, ServerClosesFirstClientPassiveClose) {
  MakeConnected(p_);
  Inject(p_, From(p_, kFA));
  p_.snd += 1;
  ExpectAck(p_);
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kCloseWait));
  Close(p_.id);
  ExpectSent(kFA, p_.nxt, p_.snd);
  p_.nxt += 1;
  p_.rcv = p_.nxt;
  Inject(p_, From(p_, kA));
  ExpectClosedEvent(CloseReason::kNormal);
  ExpectNoLeaks();
}

// Item 24: both FINs cross: CLOSING, then TIME-WAIT.
TEST_P(SynSentTest, SimultaneousCloseFromTheClient) {
  MakeConnected(p_);
  Close(p_.id);
  ExpectSent(kFA, p_.nxt, p_.snd);
  p_.nxt += 1;
  Inject(p_, From(p_, kFA));  // does not ack our FIN
  p_.snd += 1;
  ExpectAck(p_);
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  EXPECT_EQ(StateName(State(p_.id)), StateName(TcpState::kClosing));
  p_.rcv = p_.nxt;
  Inject(p_, From(p_, kA));
  ExpectClosedEvent(CloseReason::kNormal);
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
}

// Item 25: our FIN is retransmitted with backoff.
TEST_P(SynSentTest, ClientFinRetransmitted) {
  MakeConnected(p_);
  Close(p_.id);
  ExpectSent(kFA, p_.nxt, p_.snd);
  Advance(config().rto_initial_ns);
  ExpectSent(kFA, p_.nxt, p_.snd);
  Advance(2 * config().rto_initial_ns);
  ExpectSent(kFA, p_.nxt, p_.snd);
}

// Item 26: closing with unread data resets.
TEST_P(SynSentTest, ClientCloseWithUnreadDataResets) {
  MakeConnected(p_);
  Inject(p_, From(p_, kPA, "unread"));
  p_.snd += 6;
  ExpectAck(p_);
  ExpectEvent(AppEvent::Kind::kData);
  Close(p_.id);
  ExpectSent(kRA, p_.nxt, p_.snd);
  ExpectClosedEvent(CloseReason::kUnreadData);
  ExpectNoLeaks();
}

// A RST after the handshake is a reset, not a refusal.
TEST_P(SynSentTest, RstWhenEstablishedIsAReset) {
  MakeConnected(p_);
  Inject(p_, MakeSeg(kR, p_.snd));
  ExpectClosedEvent(CloseReason::kReset);
  EXPECT_EQ(Counter("EstabResets"), 1u);
  ExpectNoLeaks();
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(SynSentTest);

}  // namespace synwave::tcp::fsm_test
