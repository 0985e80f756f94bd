// The checks every synchronized state makes before it looks at the
// segment's content (RFC 9293 3.10.7.4 first to fifth, RFC 5961, RFC 7323
// PAWS), one test per (state, event), run in each state that has a TCB:
// ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK.
// (TIME-WAIT, a compact record, has its own rules: tcp_time_wait_test.cc.)
// docs/conformance.md items 15, 16, 17, 18, 19, 21.
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class SynchronizedTest : public TcpFsmTest,
                         public ::testing::WithParamInterface<TcpState> {
 protected:
  void SetUp() override {
    if (timestamps_) p_.timestamps = true;
    MakeState(p_, GetParam());
    ASSERT_FALSE(HasFatalFailure());
    ExpectNoEvents();
    state_ = std::string(StateName(GetParam()));
  }

  // The connection is as it was: same state, nothing delivered.
  void ExpectUnaffected() {
    EXPECT_EQ(StateName(State()), state_);
    EXPECT_EQ(stack().Readable(p_.id), 0u);
    ExpectNoEvents();
  }

  bool timestamps_ = false;
  std::string state_;
};

// Item 15: a zero-length segment outside the receive window (beyond its
// right edge): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, dropped.
TEST_P(SynchronizedTest, Item15_SegmentBeyondWindowGetsAck) {
  Inject(MakeSeg(kA, p_.snd + 200'000, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_out_of_window"), 1u);
  ExpectUnaffected();
}

// Item 15: a zero-length segment left of the window (an old duplicate).
TEST_P(SynchronizedTest, Item15_SegmentBeforeWindowGetsAck) {
  Inject(MakeSeg(kA, p_.snd - 1, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  ExpectUnaffected();
}

// Item 15: data entirely before RCV.NXT (an old retransmission).
TEST_P(SynchronizedTest, Item15_OldDataGetsAckAndIsNotDelivered) {
  Inject(MakeSeg(kPA, p_.snd - 10, p_.rcv, "0123456789"));
  ExpectAck();
  ExpectNothingSent();
  ExpectUnaffected();
  EXPECT_EQ(Counter("DataBytesIn"), 0u);
}

// Item 16: RST at exactly RCV.NXT resets the connection: no reply, the
// application hears kClosed(reset), everything is freed.
TEST_P(SynchronizedTest, Item16_RstAtRcvNxtResets) {
  Inject(MakeSeg(kR, p_.snd));
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kReset);
  ExpectNoEvents();
  EXPECT_FALSE(stack().IsOpen(p_.id));
  EXPECT_EQ(stack().connections_in_use(), 0u);
  EXPECT_EQ(stack().timers_in_use(), 0u);
  EXPECT_EQ(stack().table().size(), 0u);
  const bool estab = GetParam() == TcpState::kEstablished ||
                     GetParam() == TcpState::kCloseWait;
  EXPECT_EQ(Counter("EstabResets"), estab ? 1u : 0u);
  // The tuple is free: its next segment meets the listener.
  Inject(MakeSeg(kA, p_.snd, p_.rcv));
  ExpectSent(kR, p_.rcv, 0);
}

// Item 16: RST+ACK at RCV.NXT as well.
TEST_P(SynchronizedTest, Item16_RstAckAtRcvNxtResets) {
  Inject(MakeSeg(kRA, p_.snd, p_.rcv));
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kReset);
  EXPECT_EQ(stack().connections_in_use(), 0u);
}

// Item 16: RST in the window but not at RCV.NXT: challenge ACK, the
// connection stays (RFC 5961 3.2).
TEST_P(SynchronizedTest, Item16_RstInWindowGetsChallengeAck) {
  Inject(MakeSeg(kR, p_.snd + 1000));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_rst_challenged"), 1u);
  EXPECT_EQ(Counter("TCPChallengeACK"), 1u);
  ExpectUnaffected();
}

// Item 16: RST outside the window: dropped silently.
TEST_P(SynchronizedTest, Item16_RstOutsideWindowIsIgnored) {
  Inject(MakeSeg(kR, p_.snd + 200'000));
  Inject(MakeSeg(kR, p_.snd - 1));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_rst_out_of_window"), 2u);
  ExpectUnaffected();
}

// Item 17: a SYN in the window: challenge ACK; connection unaffected.
TEST_P(SynchronizedTest, Item17_SynInWindowGetsChallengeAck) {
  Inject(MakeSeg(kS, p_.snd + 10));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_syn_challenged"), 1u);
  EXPECT_EQ(Counter("TCPChallengeACK"), 1u);
  ExpectUnaffected();
}

// Item 17: "whatever its sequence": an old SYN (the peer's first one, say)
// also gets the challenge ACK, and counts as one (RFC 5961 4.2; Linux's
// tcp_validate_incoming sends out-of-window SYNs to syn_challenge).
TEST_P(SynchronizedTest, Item17_SynOutsideWindowGetsChallengeAck) {
  Inject(MakeSeg(kS, p_.irs));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_syn_challenged"), 1u);
  EXPECT_EQ(Counter("TCPChallengeACK"), 1u);
  ExpectUnaffected();
}

// Item 17: a SYN-ACK is a SYN too.
TEST_P(SynchronizedTest, Item17_SynAckGetsChallengeAck) {
  Inject(MakeSeg(kSA, p_.snd, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("TCPChallengeACK"), 1u);
  ExpectUnaffected();
}

// Item 18: an ACK of data never sent (SEG.ACK > SND.NXT): ACK, drop.
TEST_P(SynchronizedTest, Item18_AckOfUnsentDataGetsAck) {
  Inject(MakeSeg(kPA, p_.snd, p_.nxt + 1, "x"));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_ack_of_unsent_data"), 1u);
  ExpectUnaffected();
}

// Item 18: an ACK older than SND.UNA - MAX.SND.WND: ACK, drop (5961 5.2).
TEST_P(SynchronizedTest, Item18_TooOldAckGetsAck) {
  // MAX.SND.WND is 65535 << 7 = 8388480.
  Inject(MakeSeg(kPA, p_.snd, p_.rcv - 9'000'000, "x"));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_ack_too_old"), 1u);
  ExpectUnaffected();
}

// Item 19: a segment without ACK: dropped, its data not queued, no reply.
TEST_P(SynchronizedTest, Item19_SegmentWithoutAckIsDropped) {
  Inject(MakeSeg(0, p_.snd, 0, "data"));
  Inject(MakeSeg(kF, p_.snd));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_no_ack_flag"), 2u);
  ExpectUnaffected();
  EXPECT_EQ(stack().buffer_chunks_in_use(), 0u);
}

// An acceptable bare ACK that acknowledges nothing new: no reply.
TEST_P(SynchronizedTest, DuplicateAckIsSilent) {
  Inject(MakeSeg(kA, p_.snd, p_.rcv));
  ExpectNothingSent();
  ExpectUnaffected();
}

INSTANTIATE_TEST_SUITE_P(
    States, SynchronizedTest,
    ::testing::Values(TcpState::kEstablished, TcpState::kFinWait1,
                      TcpState::kFinWait2, TcpState::kCloseWait,
                      TcpState::kClosing, TcpState::kLastAck),
    StateParamName);

// The same states with timestamps negotiated.
class SynchronizedTimestampTest : public SynchronizedTest {
 protected:
  SynchronizedTimestampTest() { timestamps_ = true; }
};

// Item 21: PAWS: a TSval older than TS.Recent: dropped and ACKed; the ACK
// carries our timestamps with TS.Recent echoed.
TEST_P(SynchronizedTimestampTest, Item21_PawsDropsOldTimestampAndAcks) {
  Inject(MakeSeg(kPA, p_.snd, p_.rcv, "stale").Ts(p_.ts_val - 1, p_.ts_ecr));
  const Sent ack = ExpectAck();
  EXPECT_TRUE(ack.seg.options.has_timestamps);
  EXPECT_EQ(ack.seg.options.ts_ecr, p_.ts_val);
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_paws"), 1u);
  EXPECT_EQ(Counter("PAWSEstab"), 1u);
  ExpectUnaffected();
}

// Item 21: a RST is not rejected by PAWS alone: an old TSval on an exact
// RST still resets.
TEST_P(SynchronizedTimestampTest, Item21_RstIsNotPawsRejected) {
  Inject(MakeSeg(kR, p_.snd).Ts(p_.ts_val - 1000, 0));
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kReset);
  EXPECT_EQ(Counter("tcp_paws"), 0u);
  EXPECT_EQ(stack().connections_in_use(), 0u);
}

// Item 21: an equal TSval passes PAWS (RFC 7323 5.3: "less than").
TEST_P(SynchronizedTimestampTest, Item21_EqualTimestampPasses) {
  Inject(MakeSeg(kA, p_.snd, p_.rcv).Ts(p_.ts_val, p_.ts_ecr));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_paws"), 0u);
}

// Item 21 + 17: a SYN with an old TSval still gets the challenge ACK
// (Linux: PAWS-rejected SYNs go to syn_challenge).
TEST_P(SynchronizedTimestampTest, Item17_SynWithOldTimestampGetsChallengeAck) {
  Inject(MakeSeg(kS, p_.snd + 3).Ts(p_.ts_val - 1, 0));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("TCPChallengeACK"), 1u);
  ExpectUnaffected();
}

// Item 21: every non-RST segment we send carries timestamps; here, the
// ACK to an out-of-window segment and a challenge ACK.
TEST_P(SynchronizedTimestampTest, Item21_AcksCarryTimestamps) {
  Inject(MakeSeg(kA, p_.snd + 200'000, p_.rcv).Ts(p_.ts_val, p_.ts_ecr));
  Sent ack = ExpectAck();
  EXPECT_TRUE(ack.seg.options.has_timestamps);
  Advance(500 * kMs);  // ACKs to invalid segments: one per 500 ms
  Discard();           // (a retransmission of our FIN, in some states)
  Inject(MakeSeg(kR, p_.snd + 5));
  ack = ExpectAck();
  EXPECT_TRUE(ack.seg.options.has_timestamps);
  EXPECT_EQ(ack.seg.options.ts_ecr, p_.ts_val);
}

INSTANTIATE_TEST_SUITE_P(
    States, SynchronizedTimestampTest,
    ::testing::Values(TcpState::kEstablished, TcpState::kFinWait1,
                      TcpState::kFinWait2, TcpState::kCloseWait,
                      TcpState::kClosing, TcpState::kLastAck),
    StateParamName);

}  // namespace
}  // namespace synwave::tcp::fsm_test
