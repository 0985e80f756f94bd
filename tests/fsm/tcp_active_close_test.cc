// Our active close (the application calls Close first): FIN-WAIT-1,
// FIN-WAIT-2, CLOSING, on to TIME-WAIT. docs/conformance.md items 22, 24,
// 25, 26 and 29.
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class ActiveCloseTest : public TcpFamilyTest {};

// Item 22, whole: F. -> FIN-WAIT-1; its ACK -> FIN-WAIT-2; the peer's F.
// -> ACK it -> TIME-WAIT.
TEST_P(ActiveCloseTest, Item22_ActiveCloseSequence) {
  MakeEstablished();
  Close(p_.id);
  ExpectSent(kFA, p_.nxt, p_.snd);
  ExpectNothingSent();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kFinWait1));
  p_.nxt += 1;
  p_.rcv += 1;
  Inject(From(kA));
  ExpectNothingSent();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kFinWait2));
  Inject(From(kFA));
  p_.snd += 1;
  ExpectAck();
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  ExpectClosedEvent(CloseReason::kNormal);
  EXPECT_EQ(stack().StateCount(TcpState::kTimeWait), 1u);
  EXPECT_EQ(stack().connections_in_use(), 0u);
  EXPECT_EQ(stack().timers_in_use(), 0u);
  EXPECT_EQ(Counter("TimeWaitEntered"), 1u);
  EXPECT_EQ(Counter("ConnectionsClosed"), 1u);
}

// Item 22: queued data goes first; the FIN rides on the last data segment.
TEST_P(ActiveCloseTest, Item22_FinFollowsQueuedData) {
  MakeEstablished();
  stack().Send(p_.id, reinterpret_cast<const uint8_t*>("last words"), 10);
  Close(p_.id);
  const Sent s = ExpectSent(kFPA, p_.nxt, p_.snd);
  EXPECT_EQ(s.payload, "last words");
  ExpectNothingSent();
  p_.rcv += 11;
  Inject(From(kA));
  DropSentEvents();
  ExpectNoEvents();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kFinWait2));
}

// Item 22: the FIN waits for the peer's window like the data before it;
// an ACK of the data alone leaves us in FIN-WAIT-1.
TEST_P(ActiveCloseTest, Item22_AckOfDataOnlyStaysInFinWait1) {
  MakeEstablished();
  Send(p_.id, "data");
  ExpectSent(kPA, p_.nxt, p_.snd);
  Close(p_.id);
  ExpectSent(kFA, p_.nxt + 4, p_.snd);
  p_.rcv += 4;
  Inject(From(kA));
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kSent);
  EXPECT_EQ(StateName(State()), StateName(TcpState::kFinWait1));
  p_.rcv += 1;
  Inject(From(kA));
  EXPECT_EQ(StateName(State()), StateName(TcpState::kFinWait2));
}

// FIN-WAIT-1 + data: we still receive (our FIN closes only our direction).
// docs/conformance.md item 42: Close() is the whole close (no more reading),
// so data that comes after it in FIN-WAIT-1 gets a RST (FIN-WAIT-2:
// tcp_hardening_test).
TEST_P(ActiveCloseTest, Item42_FinWait1DataGetsRst) {
  MakeFinWait1();
  Inject(From(kPA, "more"));
  ExpectSent(kRA, p_.nxt, p_.snd);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kUnreadData);
  EXPECT_FALSE(stack().IsOpen(p_.id));
}

// Item 24: the peer's FIN before the ACK of ours: CLOSING; then the ACK of
// our FIN: TIME-WAIT.
TEST_P(ActiveCloseTest, Item24_SimultaneousCloseThroughClosing) {
  MakeClosing();
  ExpectNoEvents();
  p_.rcv += 1;
  Inject(From(kA));
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kNormal);
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  EXPECT_EQ(stack().connections_in_use(), 0u);
  EXPECT_EQ(Counter("TimeWaitEntered"), 1u);
}

// Item 24: FIN and the ACK of our FIN in one segment: straight to
// TIME-WAIT, ACKing the FIN.
TEST_P(ActiveCloseTest, Item24_FinWithAckOfOurFinGoesToTimeWait) {
  MakeFinWait1();
  p_.rcv += 1;
  Inject(From(kFA));
  p_.snd += 1;
  ExpectAck();
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  ExpectClosedEvent(CloseReason::kNormal);
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kClosing), 0u);
  EXPECT_EQ(stack().connections_in_use(), 0u);
}

// CLOSING + an ACK that does not cover our FIN: nothing changes.
TEST_P(ActiveCloseTest, Item24_ClosingIgnoresAckNotCoveringFin) {
  MakeClosing();
  Inject(From(kA));
  ExpectNothingSent();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kClosing));
  EXPECT_EQ(Counter("tcp_closing_ignored"), 1u);
}

// CLOSING + the peer's FIN again (our ACK was lost): ACK it again.
TEST_P(ActiveCloseTest, Item24_ClosingAcksRetransmittedFin) {
  MakeClosing();
  Inject(MakeSeg(kFA, p_.snd - 1, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kClosing));
}

// Item 25: in CLOSING our FIN is still retransmitted until acked.
TEST_P(ActiveCloseTest, Item25_ClosingRetransmitsFin) {
  MakeClosing();
  Advance(1 * kSecond);
  const Sent s = ExpectSent(kFA, p_.nxt - 1, p_.snd);
  EXPECT_TRUE(s.seg.retransmission);
  ExpectNothingSent();
}

// Item 25: the FIN is retransmitted with exponential backoff.
TEST_P(ActiveCloseTest, Item25_FinRetransmittedWithBackoff) {
  MakeFinWait1();
  uint64_t rto = 1 * kSecond;
  for (int i = 1; i <= 4; ++i) {
    SCOPED_TRACE(i);
    Advance(rto - kMs);
    ExpectNothingSent();
    Advance(kMs);
    const Sent s = ExpectSent(kFA, p_.nxt - 1, p_.snd);
    EXPECT_TRUE(s.seg.retransmission);
    ExpectNothingSent();
    rto *= 2;
  }
  EXPECT_EQ(Counter("RetransSegs"), 4u);
  // Its ACK ends the retransmissions.
  p_.rcv += 1;
  Inject(From(kA));
  EXPECT_EQ(StateName(State()), StateName(TcpState::kFinWait2));
  Advance(60 * kSecond - kMs);
  ExpectNothingSent();
}

// Item 25: ... until the retry limit, then the connection is dropped.
TEST_P(ActiveCloseTest, Item25_FinRetryLimitDropsConnection) {
  TcpConfig c = DefaultConfig();
  c.orphan_retries = 2;  // the limit of a connection the application closed
  Init(c);
  MakeFinWait1();
  Advance(1 * kSecond);
  ExpectSent(kFA, p_.nxt - 1, p_.snd);
  Advance(2 * kSecond);
  ExpectSent(kFA, p_.nxt - 1, p_.snd);
  Advance(4 * kSecond);
  ExpectSent(kRA, p_.nxt, p_.snd);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kTimeout);
  EXPECT_EQ(Counter("TCPAbortOnTimeout"), 1u);
  ExpectNoLeaks();
}

// Item 25: after an RTO the FIN goes again with the unacked data before it.
TEST_P(ActiveCloseTest, Item25_FinRetransmittedWithData) {
  MakeEstablished();
  stack().Send(p_.id, reinterpret_cast<const uint8_t*>("abc"), 3);
  Close(p_.id);
  ExpectSent(kFPA, p_.nxt, p_.snd);
  Advance(1 * kSecond);
  const Sent s = ExpectSent(kFPA, p_.nxt, p_.snd);
  EXPECT_EQ(s.payload, "abc");
  EXPECT_TRUE(s.seg.retransmission);
}

// FIN-WAIT-2 + data: delivered and acknowledged.
// Item 29: FIN-WAIT-2 does not last for ever once the application closed:
// after fin_wait2_timeout the connection is dropped (silently, as Linux's
// FIN-WAIT-2 timewait socket at the default tcp_fin_timeout).
TEST_P(ActiveCloseTest, Item29_FinWait2TimesOut) {
  MakeFinWait2();
  Advance(60 * kSecond - kMs);
  EXPECT_EQ(StateName(State()), StateName(TcpState::kFinWait2));
  Advance(kMs);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kFinWait2Timeout);
  EXPECT_EQ(Counter("FinWait2Timeouts"), 1u);
  ExpectNoLeaks();
  // The tuple is free again.
  Inject(From(kFA));
  ExpectSent(kR, p_.rcv, 0);
}

// Item 29: the timeout is configurable.
TEST_P(ActiveCloseTest, Item29_FinWait2TimeoutIsConfigurable) {
  TcpConfig c = DefaultConfig();
  c.fin_wait2_timeout_ns = 5 * kSecond;
  Init(c);
  MakeFinWait2();
  Advance(5 * kSecond - kMs);
  ExpectNoEvents();
  Advance(kMs);
  ExpectClosedEvent(CloseReason::kFinWait2Timeout);
}

// A second Close is a no-op: the FIN is out already.
TEST_P(ActiveCloseTest, CloseAgainInFinWait1IsNoOp) {
  MakeFinWait1();
  Close(p_.id);
  ExpectNothingSent();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kFinWait1));
}

// Abort in FIN-WAIT-2: RST, gone.
TEST_P(ActiveCloseTest, AbortInFinWait2SendsRst) {
  MakeFinWait2();
  Abort(p_.id);
  ExpectSent(kRA, p_.nxt, p_.snd);
  ExpectClosedEvent(CloseReason::kAborted);
  ExpectNoLeaks();
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(ActiveCloseTest);

}  // namespace synwave::tcp::fsm_test
