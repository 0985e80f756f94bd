// SYN-RECEIVED, reached from LISTEN (a SYN-queue entry): every event.
// docs/conformance.md items 6, 7, 8, 9, and 34 (accept queue full when the
// handshake completes); RFC 5961 in this state.
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class SynReceivedTest : public TcpFamilyTest {};

// Item 6: the ACK of our SYN: ESTABLISHED, on the accept queue; the
// application hears of it on Accept().
TEST_P(SynReceivedTest, Item6_AckOfOurSynEstablishes) {
  MakeSynReceived();
  Inject(From(kA));
  ExpectNothingSent();
  ExpectNoEvents();  // not accepted yet
  EXPECT_EQ(stack().half_open_in_use(), 0u);
  EXPECT_EQ(stack().connections_in_use(), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kEstablished), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kSynReceived), 0u);
  EXPECT_EQ(Counter("PassiveOpens"), 1u);
  Accept();
  const AppEvent e = ExpectEvent(AppEvent::Kind::kAccepted);
  ExpectNoEvents();
  EXPECT_EQ(StateName(State(e.conn)), StateName(TcpState::kEstablished));
  const Tcb* t = stack().Find(e.conn);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->iss.value(), p_.iss);
  EXPECT_EQ(t->snd_una.value(), p_.iss + 1);
  EXPECT_EQ(t->snd_nxt.value(), p_.iss + 1);
  EXPECT_EQ(t->irs.value(), kPeerIss);
  EXPECT_EQ(t->rcv_nxt.value(), kPeerIss + 1);
  EXPECT_EQ(t->snd_wnd, uint32_t{kPeerWindow} << 7);
  EXPECT_EQ(t->snd_mss, 1460);
  // A second Accept() finds nothing more.
  Accept();
  ExpectNoEvents();
}

// Item 6 (and 32's spirit): data on the completing ACK is delivered and
// acknowledged, and the application hears of it when it accepts.
TEST_P(SynReceivedTest, Item6_AckWithDataEstablishesAndDeliversIt) {
  MakeSynReceived();
  Inject(From(kPA, "hello"));
  p_.snd += 5;
  ExpectAck();
  ExpectNothingSent();
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  ExpectEvent(AppEvent::Kind::kData);
  ExpectNoEvents();
  EXPECT_EQ(Read(id), "hello");
}

// Item 6: a FIN on the completing ACK: ESTABLISHED then CLOSE-WAIT at once.
TEST_P(SynReceivedTest, Item6_AckWithFinGoesToCloseWait) {
  MakeSynReceived();
  Inject(From(kFPA, "bye"));
  p_.snd += 4;
  ExpectAck();
  ExpectNothingSent();
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  ExpectEvent(AppEvent::Kind::kData);
  ExpectEvent(AppEvent::Kind::kPeerClosed);
  EXPECT_EQ(StateName(State(id)), StateName(TcpState::kCloseWait));
  EXPECT_EQ(Read(id), "bye");
}

// Item 7: an ACK that does not acknowledge our SYN (ACK = ISS, SND.UNA):
// <SEQ=SEG.ACK><CTL=RST>, and the entry stays for the real ACK.
TEST_P(SynReceivedTest, Item7_AckOfIssGetsRst) {
  MakeSynReceived();
  Inject(MakeSeg(kA, p_.snd, p_.iss));
  ExpectSent(kR, p_.iss, 0);
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_syn_recv_bad_ack"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  Inject(From(kA));
  ExpectNothingSent();
  EXPECT_EQ(stack().connections_in_use(), 1u);
}

// Item 7: an ACK beyond SND.NXT as well.
TEST_P(SynReceivedTest, Item7_AckAboveSndNxtGetsRst) {
  MakeSynReceived();
  Inject(MakeSeg(kA, p_.snd, p_.iss + 2));
  ExpectSent(kR, p_.iss + 2, 0);
  ExpectNothingSent();
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  EXPECT_EQ(stack().connections_in_use(), 0u);
}

// Item 8: RST at RCV.NXT: back to LISTEN, entry freed, no reply.
TEST_P(SynReceivedTest, Item8_RstFreesTheEntryWithoutReply) {
  MakeSynReceived();
  Inject(MakeSeg(kR, p_.snd));
  ExpectNothingSent();
  EXPECT_EQ(stack().half_open_in_use(), 0u);
  EXPECT_EQ(stack().timers_in_use(), 0u);
  EXPECT_EQ(TableSize(), 0u);
  EXPECT_EQ(Counter("AttemptFails"), 1u);
  // The listener is still there: the next SYN opens afresh.
  MakeSynReceived();
  EXPECT_EQ(stack().half_open_in_use(), 1u);
}

// Item 8 with RFC 5961 3.2: a RST in the window but not at RCV.NXT gets a
// challenge ACK and the entry stays.
TEST_P(SynReceivedTest, Item8_RstInWindowNotExactGetsChallengeAck) {
  MakeSynReceived();
  Inject(MakeSeg(kR, p_.snd + 100));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  EXPECT_EQ(Counter("tcp_rst_challenged"), 1u);
  EXPECT_EQ(Counter("TCPChallengeACK"), 1u);
}

// A RST outside the window is dropped silently.
TEST_P(SynReceivedTest, Item8_RstOutsideWindowIsIgnored) {
  MakeSynReceived();
  Inject(MakeSeg(kR, p_.snd + 1'000'000));
  Inject(MakeSeg(kR, p_.irs));  // the SYN's own number: before the window
  ExpectNothingSent();
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  EXPECT_EQ(Counter("tcp_rst_out_of_window"), 2u);
}

// A retransmitted SYN (ours was lost): the same SYN-ACK again at once.
TEST_P(SynReceivedTest, RetransmittedSynGetsTheSameSynAck) {
  MakeSynReceived();
  Inject(SynFor(p_));
  const Sent again = ExpectSynAck(kPeerIss + 1);
  EXPECT_EQ(again.seg.seq.value(), p_.iss);
  EXPECT_TRUE(again.seg.options.has_mss);
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_syn_recv_dup_syn"), 1u);
  EXPECT_EQ(Counter("TCPSynRetrans"), 1u);
  EXPECT_EQ(Counter("RetransSegs"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
}

// RFC 5961 4.2: a SYN with another sequence number in the window gets a
// challenge ACK; the entry is unaffected.
TEST_P(SynReceivedTest, SynInWindowGetsChallengeAck) {
  MakeSynReceived();
  Inject(MakeSeg(kS, p_.snd + 10));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_syn_challenged"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  Inject(From(kA));
  EXPECT_EQ(stack().connections_in_use(), 1u);
}

// RFC 9293 3.10.7.4 first: an unacceptable segment gets an ACK.
TEST_P(SynReceivedTest, SegmentOutsideWindowGetsAck) {
  MakeSynReceived();
  Inject(MakeSeg(kA, p_.snd + 100'000, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_out_of_window"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
}

// Item 19 in this state: no ACK bit, dropped; nothing queued.
TEST_P(SynReceivedTest, Item19_SegmentWithoutAckIsDropped) {
  MakeSynReceived();
  Inject(MakeSeg(0, p_.snd, 0, "data"));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_no_ack_flag"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  EXPECT_EQ(stack().buffer_chunks_in_use(), 0u);
}

// Item 9: the SYN-ACK is retransmitted with exponential backoff (1, 2, 4,
// 8, 16 s after the initial RTO of 1 s, RFC 6298) and the entry is dropped
// when syn_ack_retries (5) are spent, 63 s after the SYN, as Linux.
TEST_P(SynReceivedTest, Item9_SynAckRetransmittedWithBackoffThenDropped) {
  MakeSynReceived();
  uint64_t wait = 1 * kSecond;
  for (int retry = 1; retry <= 5; ++retry) {
    SCOPED_TRACE(retry);
    Advance(wait - kMs);
    ExpectNothingSent();
    Advance(kMs);
    const Sent s = ExpectSynAck(kPeerIss + 1);
    EXPECT_EQ(s.seg.seq.value(), p_.iss);  // same ISN
    ExpectNothingSent();
    wait *= 2;
  }
  EXPECT_EQ(Counter("TCPSynRetrans"), 5u);
  EXPECT_EQ(Counter("RetransSegs"), 5u);
  Advance(wait - kMs);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  Advance(kMs);  // 63 s after the SYN
  ExpectNothingSent();
  EXPECT_EQ(stack().half_open_in_use(), 0u);
  EXPECT_EQ(stack().timers_in_use(), 0u);
  EXPECT_EQ(TableSize(), 0u);
  EXPECT_EQ(Counter("SynRecvTimeouts"), 1u);
  EXPECT_EQ(Counter("AttemptFails"), 1u);
  // The late ACK now meets the listener: RST.
  Inject(From(kA));
  ExpectSent(kR, p_.rcv, 0);
}

// Item 9: a retransmitted SYN-ACK refreshes its timestamp and still echoes
// the SYN's.
TEST_P(SynReceivedTest, Item9_RetransmittedSynAckCarriesFreshTimestamp) {
  p_.timestamps = true;
  MakeSynReceived();
  const uint32_t first_tsval = p_.ts_ecr;
  Advance(1 * kSecond);
  const Sent s = ExpectSynAck(kPeerIss + 1);
  EXPECT_TRUE(s.seg.options.has_timestamps);
  EXPECT_EQ(s.seg.options.ts_ecr, p_.ts_val);
  EXPECT_EQ(s.seg.options.ts_val, first_tsval + 1000);  // ms clock
}

// Item 34: the accept queue is full when the handshake completes: the
// completing ACK is dropped and counted, the entry stays, and a later ACK
// (the client's retry) completes it once the application made room.
TEST_P(SynReceivedTest, Item34_AcceptQueueFullDropsCompletingAckEntryStays) {
  TcpConfig c = DefaultConfig();
  c.accept_backlog = 1;
  Init(c);
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002);
  MakeSynReceived(a);
  MakeSynReceived(b);
  Inject(a, From(a, kA));  // fills the accept queue
  Inject(b, From(b, kPA, "req"));
  ExpectNothingSent();
  EXPECT_EQ(Counter("ListenOverflows"), 1u);
  EXPECT_EQ(Counter("tcp_accept_queue_full"), 1u);
  EXPECT_EQ(Counter("ListenDrops"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  EXPECT_EQ(stack().connections_in_use(), 1u);
  EXPECT_EQ(Counter("DataBytesIn"), 0u);  // the data was dropped too
  Accept();
  ExpectEvent(AppEvent::Kind::kAccepted);  // a
  ExpectNoEvents();
  // The client retransmits its request; now there is room.
  Inject(b, From(b, kPA, "req"));
  b.snd += 3;
  ExpectAck(b);
  ExpectNothingSent();
  EXPECT_EQ(stack().half_open_in_use(), 0u);
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  ExpectEvent(AppEvent::Kind::kData);
  EXPECT_EQ(Read(id), "req");
}

// Item 34: the SYN-ACK retransmission goes on for an entry whose completing
// ACK was dropped, so the client is prompted to ACK again.
TEST_P(SynReceivedTest, Item34_SynAckRetransmittedAfterOverflowCompletesLater) {
  TcpConfig c = DefaultConfig();
  c.accept_backlog = 1;
  Init(c);
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002);
  MakeSynReceived(a);
  MakeSynReceived(b);
  Inject(a, From(a, kA));
  Inject(b, From(b, kA));  // dropped: queue full
  Accept();
  ExpectEvent(AppEvent::Kind::kAccepted);
  Advance(1 * kSecond);
  const Sent s = ExpectSynAck(b.irs + 1);
  EXPECT_EQ(s.seg.key.remote_port, b.key.remote_port);
  ExpectNothingSent();
  Inject(b, From(b, kA));
  ExpectNothingSent();
  Accept();
  ExpectEvent(AppEvent::Kind::kAccepted);
  EXPECT_EQ(stack().half_open_in_use(), 0u);
  EXPECT_EQ(stack().connections_in_use(), 2u);
}

// The TCB pool is full when the handshake completes: counted as
// tcp_tables_full; the entry stays and completes when a TCB is free.
TEST_P(SynReceivedTest, TcbPoolFullKeepsTheEntry) {
  TcpConfig c = DefaultConfig();
  c.max_connections = 1;
  Init(c);
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002);
  MakeEstablished(a);
  MakeSynReceived(b);
  Inject(b, From(b, kA));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_tables_full"), 1u);
  EXPECT_EQ(Counter("ListenDrops"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  Abort(a.id);
  ExpectSentTo(a, kRA, a.nxt, a.snd);
  ExpectClosedEvent(CloseReason::kAborted);
  Inject(b, From(b, kA));
  Accept();
  ExpectEvent(AppEvent::Kind::kAccepted);
  EXPECT_EQ(stack().connections_in_use(), 1u);
}

// RFC 7323 3.2: once timestamps are negotiated every segment but a RST
// carries them (item 21); in SYN-RECEIVED that includes the ACKs to
// unacceptable segments and challenge ACKs, whose window is scaled (a
// segment without SYN, RFC 7323 2.2).
TEST_P(SynReceivedTest, Item21_AcksInSynReceivedCarryTimestampsAndScaledWindow) {
  p_.timestamps = true;
  MakeSynReceived();
  Inject(MakeSeg(kA, p_.snd + 100'000, p_.rcv).Ts(p_.ts_val, p_.ts_ecr));
  Sent ack = ExpectAck();
  EXPECT_TRUE(ack.seg.options.has_timestamps);
  EXPECT_EQ(ack.seg.options.ts_ecr, p_.ts_val);
  EXPECT_EQ(ack.seg.window, 65535 >> 7);
  Advance(500 * kMs);  // ACKs to invalid segments: one per 500 ms
  Inject(MakeSeg(kS, p_.snd + 5).Ts(p_.ts_val, 0));
  ack = ExpectAck();
  EXPECT_TRUE(ack.seg.options.has_timestamps);
  EXPECT_EQ(ack.seg.window, 65535 >> 7);
  ExpectNothingSent();
}

// Without window scaling the ACK's window is the plain window.
TEST_P(SynReceivedTest, AckInSynReceivedWithoutScalingHasPlainWindow) {
  p_.wscale = false;
  MakeSynReceived();
  Inject(MakeSeg(kA, p_.snd + 100'000, p_.rcv));
  const Sent ack = ExpectAck();
  EXPECT_EQ(ack.seg.window, 65535);
  EXPECT_FALSE(ack.seg.options.has_timestamps);
}

// RFC 7323 4.3: the completing ACK is in sequence (SEG.SEQ = RCV.NXT), so
// its TSval becomes TS.Recent and is what we echo next.
TEST_P(SynReceivedTest, Item21_CompletingAckUpdatesTsRecent) {
  p_.timestamps = true;
  MakeSynReceived();
  p_.ts_val += 7;
  Inject(From(kA));
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  EXPECT_EQ(Send(id, "x"), 1u);
  const Sent s = ExpectSent(kPA, p_.rcv, p_.snd);
  EXPECT_TRUE(s.seg.options.has_timestamps);
  EXPECT_EQ(s.seg.options.ts_ecr, p_.ts_val);
}

// An RTT sample from the completing ACK's TSecr (RFC 7323 4.1).
TEST_P(SynReceivedTest, CompletingAckTimestampGivesRttSample) {
  p_.timestamps = true;
  MakeSynReceived();
  Advance(40 * kMs);
  Inject(From(kA));
  Accept();
  const Tcb* t = stack().Find(ExpectEvent(AppEvent::Kind::kAccepted).conn);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->srtt_us, 40'000u);
  EXPECT_EQ(t->rttvar_us, 20'000u);
  EXPECT_EQ(t->rto_us, 200'000u);  // 40 + 4 * 20 ms, clamped to rto_min
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(SynReceivedTest);

}  // namespace synwave::tcp::fsm_test
