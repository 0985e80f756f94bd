// The peer closes first: CLOSE-WAIT, then our FIN: LAST-ACK, then CLOSED.
// docs/conformance.md items 23, 25 (in LAST-ACK) and 26 (in CLOSE-WAIT).
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class PassiveCloseTest : public TcpFamilyTest {};

// Item 23, whole: peer F. -> ACK -> CLOSE-WAIT; Close -> F. -> LAST-ACK;
// its ACK -> CLOSED (no TIME-WAIT on this side).
TEST_P(PassiveCloseTest, Item23_PassiveCloseSequence) {
  MakeEstablished();
  Inject(From(kFA));
  p_.snd += 1;
  ExpectAck();
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  EXPECT_EQ(StateName(State()), StateName(TcpState::kCloseWait));
  Close(p_.id);
  ExpectSent(kFA, p_.nxt, p_.snd);
  ExpectNothingSent();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kLastAck));
  p_.rcv += 1;
  Inject(From(kA));
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kNormal);
  EXPECT_EQ(Counter("ConnectionsClosed"), 1u);
  EXPECT_EQ(Counter("TimeWaitEntered"), 0u);
  ExpectNoLeaks();
}

// Item 23: data and FIN in one segment: both taken, one ACK for both.
TEST_P(PassiveCloseTest, Item23_DataWithFin) {
  MakeEstablished();
  Inject(From(kFPA, "goodbye"));
  p_.snd += 8;
  ExpectAck();
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kData);
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  EXPECT_EQ(Read(p_.id), "goodbye");
  EXPECT_EQ(StateName(State()), StateName(TcpState::kCloseWait));
}

// A FIN after a gap is not taken (the data before it is missing).
TEST_P(PassiveCloseTest, Item23_FinAfterGapIsNotTaken) {
  MakeEstablished();
  Inject(MakeSeg(kFA, p_.snd + 5, p_.rcv));
  ExpectAck();
  ExpectNoEvents();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kEstablished));
}

// CLOSE-WAIT: we may still send.
TEST_P(PassiveCloseTest, Item23_CloseWaitCanStillSend) {
  MakeCloseWait();
  EXPECT_EQ(Send(p_.id, "response"), 8u);
  ExpectSent(kPA, p_.nxt, p_.snd);
  p_.nxt += 8;
  Close(p_.id);
  ExpectSent(kFA, p_.nxt, p_.snd);
  p_.rcv += 9;
  Inject(From(kA));
  DropSentEvents();
  ExpectClosedEvent(CloseReason::kNormal);
}

// CLOSE-WAIT: a retransmitted FIN (our ACK was lost) is ACKed again.
TEST_P(PassiveCloseTest, Item23_CloseWaitAcksRetransmittedFin) {
  MakeCloseWait();
  Inject(MakeSeg(kFA, p_.snd - 1, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  ExpectNoEvents();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kCloseWait));
}

// CLOSE-WAIT: data beyond the peer's FIN is refused and ACKed.
TEST_P(PassiveCloseTest, Item23_CloseWaitDataAfterFinIsIgnored) {
  MakeCloseWait();
  Inject(From(kPA, "zombie"));
  ExpectAck();
  ExpectNothingSent();
  ExpectNoEvents();
  EXPECT_EQ(stack().Readable(p_.id), 0u);
  EXPECT_EQ(Counter("tcp_data_after_fin"), 1u);
}

// Item 26 in CLOSE-WAIT: unread data makes Close a RST.
TEST_P(PassiveCloseTest, Item26_CloseWaitCloseWithUnreadDataSendsRst) {
  MakeEstablished();
  Inject(From(kFPA, "unread"));
  p_.snd += 7;
  ExpectAck();
  Close(p_.id);
  ExpectSent(kRA, p_.nxt, p_.snd);
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kData);
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  ExpectClosedEvent(CloseReason::kUnreadData);
  ExpectNoLeaks();
}

// LAST-ACK + an ACK that does not cover our FIN: nothing changes.
TEST_P(PassiveCloseTest, Item23_LastAckIgnoresAckNotCoveringFin) {
  MakeLastAck();
  Inject(From(kA));
  ExpectNothingSent();
  ExpectNoEvents();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kLastAck));
  EXPECT_EQ(Counter("tcp_closing_ignored"), 1u);
}

// Item 25 in LAST-ACK: the FIN is retransmitted with backoff.
TEST_P(PassiveCloseTest, Item25_LastAckRetransmitsFinWithBackoff) {
  MakeLastAck();
  Advance(1 * kSecond);
  ExpectSent(kFA, p_.nxt - 1, p_.snd);
  Advance(2 * kSecond - kMs);
  ExpectNothingSent();
  Advance(kMs);
  ExpectSent(kFA, p_.nxt - 1, p_.snd);
  p_.rcv += 1;
  Inject(From(kA));
  ExpectClosedEvent(CloseReason::kNormal);
  ExpectNoLeaks();
}

// Item 25 in LAST-ACK: ... and given up after the retry limit.
// LAST-ACK is an orphan (the application closed): its FIN goes
// orphan_retries more times, then a RST (the peer may be alive behind lost
// ACKs) and the connection is gone.
TEST_P(PassiveCloseTest, Item25_LastAckRetryLimitDropsConnection) {
  TcpConfig c = DefaultConfig();
  c.orphan_retries = 1;
  Init(c);
  MakeLastAck();
  Advance(1 * kSecond);
  ExpectSent(kFA, p_.nxt - 1, p_.snd);
  Advance(2 * kSecond);
  ExpectSent(kRA, p_.nxt, p_.snd);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kTimeout);
  ExpectNoLeaks();
}

// LAST-ACK: the peer's FIN again (our ACK was lost): ACK it.
TEST_P(PassiveCloseTest, Item23_LastAckAcksRetransmittedFin) {
  MakeLastAck();
  Inject(MakeSeg(kFA, p_.snd - 1, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kLastAck));
}

// A connection reset while it waits on the accept queue is never
// announced; Accept() skips it.
TEST_P(PassiveCloseTest, ResetBeforeAcceptIsSkipped) {
  MakeSynReceived();
  Inject(From(kA));
  Inject(MakeSeg(kR, p_.snd));
  ExpectNothingSent();
  Accept();
  ExpectNoEvents();
  ExpectNoLeaks();
}

// A peer that closes before we accept: accepted, with its data and FIN.
TEST_P(PassiveCloseTest, PeerClosesBeforeAccept) {
  MakeSynReceived();
  Inject(From(kA));
  Inject(From(kFPA, "q"));
  p_.snd += 2;
  ExpectAck();
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  ExpectEvent(AppEvent::Kind::kData);
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  EXPECT_EQ(Read(id), "q");
  Close(id);
  ExpectSent(kFA, p_.nxt, p_.snd);
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(PassiveCloseTest);

}  // namespace synwave::tcp::fsm_test
