// TIME-WAIT, on its compact record: retransmitted FINs, 2MSL expiry, RST
// (RFC 1337), PAWS, and new incarnations by SYN (RFC 9293 MAY-2, RFC 6191).
// docs/conformance.md items 27 and 28.
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class TimeWaitTest : public TcpFamilyTest {};

// Item 27: a retransmitted FIN is ACKed and the 2MSL timer restarts.
TEST_P(TimeWaitTest, Item27_RetransmittedFinIsAckedAndRestarts2Msl) {
  MakeTimeWait();
  Advance(59 * kSecond);
  Inject(MakeSeg(kFA, p_.snd - 1, p_.rcv));
  const Sent ack = ExpectAck();
  EXPECT_EQ(ack.seg.window, 65535 >> 7);
  ExpectNothingSent();
  Advance(60 * kSecond - kMs);  // 119 s after entering: still there
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  Advance(kMs);
  EXPECT_EQ(stack().time_wait_in_use(), 0u);
  EXPECT_EQ(Counter("TimeWaitExpired"), 1u);
}

// Item 27: TIME-WAIT lasts 2 MSL (configurable), then the record is freed
// and the tuple belongs to the listener again.
TEST_P(TimeWaitTest, Item27_ExpiresAfter2Msl) {
  TcpConfig c = DefaultConfig();
  c.msl_ns = 10 * kSecond;
  Init(c);
  MakeTimeWait();
  Advance(20 * kSecond - kMs);
  EXPECT_EQ(stack().StateCount(TcpState::kTimeWait), 1u);
  Advance(kMs);
  EXPECT_EQ(stack().StateCount(TcpState::kTimeWait), 0u);
  EXPECT_EQ(Counter("TimeWaitExpired"), 1u);
  ExpectNoLeaks();
  Inject(From(kA));
  ExpectSent(kR, p_.rcv, 0);  // LISTEN: item 3
}

// Item 27: the record's memory is reused by the next TIME-WAIT.
TEST_P(TimeWaitTest, Item27_RecordIsReused) {
  TcpConfig c = DefaultConfig();
  c.max_time_wait = 1;
  Init(c);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    p_ = Peer{};
    MakeTimeWait();
    Advance(60 * kSecond);
    EXPECT_EQ(stack().time_wait_in_use(), 0u);
  }
  EXPECT_EQ(Counter("TimeWaitEntered"), 3u);
  EXPECT_EQ(Counter("TimeWaitExpired"), 3u);
  EXPECT_EQ(Counter("TCPTimeWaitOverflow"), 0u);
}

// RFC 1337: a RST does not assassinate TIME-WAIT, even at RCV.NXT.
TEST_P(TimeWaitTest, RstIsIgnored) {
  MakeTimeWait();
  Inject(MakeSeg(kR, p_.snd));
  Inject(MakeSeg(kRA, p_.snd, p_.rcv));
  ExpectNothingSent();
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  EXPECT_EQ(Counter("tcp_time_wait_rst"), 2u);
}

// An acceptable bare ACK (SEG.SEQ = RCV.NXT, no data) needs no answer: the
// RFC has TIME-WAIT ACK only the FIN, and answering ACKs with ACKs would
// loop between two ends both in TIME-WAIT after a simultaneous close
// (Linux answers TCP_TW_SUCCESS, no segment).
TEST_P(TimeWaitTest, BareAckAtRcvNxtIsNotAnswered) {
  MakeTimeWait();
  Inject(From(kA));
  ExpectNothingSent();
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  EXPECT_EQ(Counter("tcp_time_wait_ignored"), 1u);
  EXPECT_EQ(Counter("tcp_time_wait_segment"), 0u);
}

// Item 15 in TIME-WAIT: an unacceptable segment gets an ACK.
TEST_P(TimeWaitTest, Item15_OutOfWindowSegmentGetsAck) {
  MakeTimeWait();
  Inject(MakeSeg(kA, p_.snd + 200'000, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_time_wait_segment"), 1u);
}

// Data in TIME-WAIT (the peer closed, it cannot send): ACK, ignored.
TEST_P(TimeWaitTest, DataGetsAck) {
  MakeTimeWait();
  Inject(From(kPA, "late"));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(stack().buffer_chunks_in_use(), 0u);
}

// A SYN-ACK in TIME-WAIT is not a new connection: ACK.
TEST_P(TimeWaitTest, SynAckGetsAck) {
  MakeTimeWait();
  Inject(MakeSeg(kSA, p_.snd + 1000, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
}

// Item 21 in TIME-WAIT: PAWS; the ACK carries timestamps.
TEST_P(TimeWaitTest, Item21_PawsRejectsOldTimestamp) {
  p_.timestamps = true;
  MakeTimeWait();
  Inject(MakeSeg(kFA, p_.snd - 1, p_.rcv).Ts(p_.ts_val - 1, p_.ts_ecr));
  const Sent ack = ExpectAck();
  EXPECT_TRUE(ack.seg.options.has_timestamps);
  EXPECT_EQ(ack.seg.options.ts_ecr, p_.ts_val);
  EXPECT_EQ(Counter("tcp_paws"), 1u);
  EXPECT_EQ(Counter("PAWSEstab"), 1u);
}

class TimeWaitReopenTest : public TcpFamilyTest {
 protected:
  // TIME-WAIT after we sent `sent` bytes, so that our old SND.NXT is well
  // ahead of what the ISN clock alone would give.
  void MakeTimeWaitAfterSending(uint32_t sent) {
    MakeEstablished();
    std::string data(sent, 'd');
    Send(p_.id, data);
    sent_.clear();
    p_.nxt += sent;
    p_.rcv += sent;
    Inject(From(kA));
    DropSentEvents();
    Close(p_.id);
    ExpectSent(kFA, p_.nxt, p_.snd);
    p_.nxt += 1;
    p_.rcv += 1;
    Inject(From(kA));
    Inject(From(kFA));
    p_.snd += 1;
    ExpectAck();
    ExpectNothingSent();
    ExpectEvent(AppEvent::Kind::kPeerClosed);
    ExpectClosedEvent(CloseReason::kNormal);
    ASSERT_EQ(stack().time_wait_in_use(), 1u);
    old_snd_nxt_ = p_.nxt;
  }

  // The SYN opened a new incarnation: its SYN-ACK's ISN is above the old
  // SND.NXT (RFC 6191), and the record is gone.
  void ExpectReopened(uint32_t syn_seq, Loc loc = Loc::current()) {
    ::testing::ScopedTrace trace(loc.file_name(), static_cast<int>(loc.line()),
                                 "ExpectReopened");
    const Sent synack = ExpectSynAck(syn_seq + 1, loc);
    ExpectNothingSent(loc);
    EXPECT_GT(synack.seg.seq, SeqNum(old_snd_nxt_));
    EXPECT_EQ(stack().time_wait_in_use(), 0u);
    EXPECT_EQ(stack().half_open_in_use(), 1u);
    EXPECT_EQ(Counter("TimeWaitReopened"), 1u);
    new_iss_ = synack.seg.seq.value();
  }

  uint32_t old_snd_nxt_ = 0;
  uint32_t new_iss_ = 0;
};

// Item 28: a SYN with a higher sequence number (no timestamps) opens a new
// incarnation, with an ISN above the old one's SND.NXT; the handshake then
// completes as from LISTEN.
TEST_P(TimeWaitReopenTest, Item28_NewerSynBySequenceReopens) {
  MakeTimeWaitAfterSending(10000);
  const uint32_t seq = p_.snd + 100'000;
  Inject(MakeSeg(kS, seq).Mss(1460));
  ExpectReopened(seq);
  Inject(MakeSeg(kA, seq + 1, new_iss_ + 1));
  ExpectNothingSent();
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  EXPECT_EQ(StateName(State(id)), StateName(TcpState::kEstablished));
}

// Item 28: an older SYN (sequence not above the old RCV.NXT) is an old
// duplicate: TIME-WAIT stays and ACKs it.
TEST_P(TimeWaitReopenTest, Item28_OlderSynGetsAck) {
  MakeTimeWaitAfterSending(100);
  Inject(MakeSeg(kS, p_.snd - 10).Mss(1460));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 0u);
  EXPECT_EQ(Counter("TimeWaitReopened"), 0u);
}

// Item 28: with timestamps, a newer TSval reopens even when the sequence
// number is lower.
TEST_P(TimeWaitReopenTest, Item28_NewerSynByTimestampReopens) {
  p_.timestamps = true;
  MakeTimeWaitAfterSending(10000);
  const uint32_t seq = p_.snd - 50'000;
  Inject(MakeSeg(kS, seq).Mss(1460).Ts(p_.ts_val + 1, 0));
  ExpectReopened(seq);
}

// Item 28 (RFC 6191, Linux): a higher sequence number with an older TSval
// is PAWS-rejected: ACK, the record stays.
TEST_P(TimeWaitReopenTest, Item28_HigherSeqOlderTimestampGetsAck) {
  p_.timestamps = true;
  MakeTimeWaitAfterSending(100);
  Inject(MakeSeg(kS, p_.snd + 100'000).Ts(p_.ts_val - 1, 0));
  const Sent ack = ExpectAck();
  EXPECT_TRUE(ack.seg.options.has_timestamps);
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  EXPECT_EQ(Counter("TimeWaitReopened"), 0u);
  EXPECT_EQ(Counter("tcp_paws"), 1u);
}

// Item 28 (RFC 6191 2, second case): an equal TSval with a higher sequence
// number reopens.
TEST_P(TimeWaitReopenTest, Item28_EqualTimestampHigherSeqReopens) {
  p_.timestamps = true;
  MakeTimeWaitAfterSending(10000);
  const uint32_t seq = p_.snd + 100'000;
  Inject(MakeSeg(kS, seq).Ts(p_.ts_val, 0));
  ExpectReopened(seq);
}

// Item 28: an equal TSval and a lower sequence number is old: ACK.
TEST_P(TimeWaitReopenTest, Item28_EqualTimestampLowerSeqGetsAck) {
  p_.timestamps = true;
  MakeTimeWaitAfterSending(100);
  Inject(MakeSeg(kS, p_.snd - 10).Ts(p_.ts_val, 0));
  ExpectAck();
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
}

// Item 28 (RFC 6191, third case): the old connection used timestamps, the
// SYN has none: the sequence number decides.
TEST_P(TimeWaitReopenTest, Item28_SynWithoutTimestampsUsesSequence) {
  p_.timestamps = true;
  MakeTimeWaitAfterSending(10000);
  const uint32_t seq = p_.snd + 100'000;
  Inject(MakeSeg(kS, seq));
  ExpectReopened(seq);
}

// A TIME-WAIT pool that is full recycles its oldest record (ARCHITECTURE.md
// "Memory"), counted as TCPTimeWaitOverflow.
TEST_P(TimeWaitTest, PoolFullRecyclesOldest) {
  TcpConfig c = DefaultConfig();
  c.max_time_wait = 1;
  Init(c);
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002);
  MakeTimeWait(a);
  Advance(1 * kSecond);
  MakeTimeWait(b);
  EXPECT_EQ(Counter("TCPTimeWaitOverflow"), 1u);
  EXPECT_EQ(stack().time_wait_in_use(), 1u);
  // a's tuple is free (the listener answers), b's is in TIME-WAIT.
  Inject(a, MakeSeg(kFA, a.snd - 1, a.rcv));
  ExpectSent(kR, a.rcv, 0);
  Inject(b, MakeSeg(kFA, b.snd - 1, b.rcv));
  ExpectAck(b);
  ExpectNothingSent();
  Advance(60 * kSecond);
  ExpectNoLeaks();
}

// With no TIME-WAIT pool at all the connection closes at once.
TEST_P(TimeWaitTest, NoPoolClosesDirectly) {
  TcpConfig c = DefaultConfig();
  c.max_time_wait = 0;
  Init(c);
  MakeFinWait2();
  Inject(From(kFA));
  p_.snd += 1;
  ExpectAck();
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  ExpectClosedEvent(CloseReason::kNormal);
  EXPECT_EQ(Counter("ConnectionsClosed"), 1u);
  EXPECT_EQ(Counter("TimeWaitEntered"), 0u);
  ExpectNoLeaks();
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(TimeWaitTest);

SYNWAVE_INSTANTIATE_FAMILIES(TimeWaitReopenTest);

}  // namespace synwave::tcp::fsm_test
