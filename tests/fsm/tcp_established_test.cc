// ESTABLISHED: data in both directions, the receive window, segment
// acceptability at the window's edges, challenge-ACK rate limiting,
// timestamps on what we send, and the application's Abort/Close.
// docs/conformance.md items 15, 20, 21, 26.
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class EstablishedTest : public TcpFamilyTest {};

std::string Bytes(size_t n, char first = 'a') {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + i % 26);
  return s;
}

TEST_P(EstablishedTest, InOrderDataIsDeliveredAndAcked) {
  MakeEstablished();
  Inject(From(kPA, "hello"));
  p_.snd += 5;
  const Sent ack = ExpectAck();
  EXPECT_EQ(ack.seg.window, (65535 - 5) >> 7);
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kData);
  ExpectNoEvents();
  EXPECT_EQ(stack().Readable(p_.id), 5u);
  EXPECT_EQ(Read(p_.id, 3), "hel");
  EXPECT_EQ(Read(p_.id), "lo");
  EXPECT_EQ(Counter("DataBytesIn"), 5u);
  ExpectNothingSent();  // reading 5 bytes opens no useful window
}

// Out-of-order data is dropped (no reassembly queue) and answered with a
// duplicate ACK; the retransmission then fills the gap.
TEST_P(EstablishedTest, OutOfOrderDataIsDroppedWithDuplicateAck) {
  MakeEstablished();
  Inject(MakeSeg(kPA, p_.snd + 5, p_.rcv, "world"));
  ExpectAck();  // ack still p_.snd
  ExpectNothingSent();
  ExpectNoEvents();
  EXPECT_EQ(stack().Readable(p_.id), 0u);
  EXPECT_EQ(Counter("tcp_out_of_order"), 1u);
  EXPECT_EQ(stack().buffer_chunks_in_use(), 0u);
  Inject(From(kPA, "hello"));
  p_.snd += 5;
  ExpectAck();
  Inject(From(kPA, "world"));
  p_.snd += 5;
  ExpectAck();
  EXPECT_EQ(Read(p_.id), "helloworld");
}

// Item 15, fourth case: a segment starting before RCV.NXT whose end is in
// the window is acceptable; only the new bytes are taken.
TEST_P(EstablishedTest, Item15_OverlappingDataDeliversOnlyNewBytes) {
  MakeEstablished();
  Inject(From(kPA, "hello"));
  p_.snd += 5;
  ExpectAck();
  Inject(MakeSeg(kPA, p_.snd - 3, p_.rcv, "llo world"));
  p_.snd += 6;
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Read(p_.id), "hello world");
  EXPECT_EQ(Counter("DataBytesIn"), 11u);
}

// Item 15: the window's right edge, exactly: RCV.NXT + RCV.WND - 1 is in,
// RCV.NXT + RCV.WND is out.
TEST_P(EstablishedTest, Item15_WindowRightEdge) {
  MakeEstablished();
  Inject(MakeSeg(kA, p_.snd + 65534, p_.rcv));
  ExpectNothingSent();
  Inject(MakeSeg(kA, p_.snd + 65535, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_out_of_window"), 1u);
}

// The receive window follows the buffer: it closes as data waits unread,
// data into a zero window is not acceptable (item 15's third case) while a
// zero-length segment at RCV.NXT is, and reading reopens it with an update.
TEST_P(EstablishedTest, Item15_ReceiveWindowClosesAndReopens) {
  TcpConfig c = DefaultConfig();
  c.rcv_buffer = 4000;
  Init(c);
  p_.wscale = false;
  MakeEstablished();
  EXPECT_EQ(p_.synack_window, 4000);
  Inject(From(kPA, Bytes(1000)));
  p_.snd += 1000;
  EXPECT_EQ(ExpectAck().seg.window, 3000);
  Inject(From(kPA, Bytes(3000)));
  p_.snd += 3000;
  EXPECT_EQ(ExpectAck().seg.window, 0);
  // Zero window: data is not acceptable, a bare ACK at RCV.NXT is.
  Inject(From(kPA, "x"));
  EXPECT_EQ(ExpectAck().seg.window, 0);
  EXPECT_EQ(Counter("tcp_out_of_window"), 1u);
  Inject(From(kA));
  ExpectNothingSent();
  EXPECT_EQ(stack().Readable(p_.id), 4000u);
  // Reading it all opens the window: the peer is told at once.
  EXPECT_EQ(Read(p_.id).size(), 4000u);
  EXPECT_EQ(ExpectAck().seg.window, 4000);
  ExpectNothingSent();
}

// Data beyond the window is cut at its edge: the part inside is taken,
// the ACK covers only that.
TEST_P(EstablishedTest, DataBeyondWindowIsTruncated) {
  TcpConfig c = DefaultConfig();
  c.rcv_buffer = 4000;
  Init(c);
  p_.wscale = false;
  MakeEstablished();
  Inject(From(kPA, Bytes(5000)));
  p_.snd += 4000;
  EXPECT_EQ(ExpectAck().seg.window, 0);
  EXPECT_EQ(Read(p_.id), Bytes(4000));
}

// A FIN beyond the window's edge is not taken with the data before it.
TEST_P(EstablishedTest, FinBeyondWindowIsNotTaken) {
  TcpConfig c = DefaultConfig();
  c.rcv_buffer = 4000;
  Init(c);
  p_.wscale = false;
  MakeEstablished();
  Inject(From(kFPA, Bytes(4500)));
  p_.snd += 4000;
  ExpectAck();
  ExpectEvent(AppEvent::Kind::kData);
  ExpectNoEvents();
  EXPECT_EQ(StateName(State()), StateName(TcpState::kEstablished));
}

// Sequence numbers wrap at 2^32: data across the wrap is in order, and the
// window checks still hold on the far side.
TEST_P(EstablishedTest, SequenceNumbersWrap) {
  p_.irs = 0xffffff00u;
  MakeEstablished();
  const std::string data = Bytes(600);
  Inject(From(kPA, data));
  p_.snd += 600;
  EXPECT_LT(p_.snd, 0x1000u);  // wrapped
  ExpectAck();
  EXPECT_EQ(Read(p_.id), data);
  Inject(MakeSeg(kPA, p_.snd - 10, p_.rcv, "0123456789"));  // old: ACK
  ExpectAck();
  Inject(MakeSeg(kA, p_.snd + 65535, p_.rcv));  // beyond the edge: ACK
  ExpectAck();
  Inject(MakeSeg(kR, p_.snd));
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kData);
  ExpectClosedEvent(CloseReason::kReset);
}

// Sending: segments of at most SND.MSS, PSH on the last, payload intact.
TEST_P(EstablishedTest, SendSplitsIntoMssSegments) {
  MakeEstablished();
  const std::string data = Bytes(4000);
  EXPECT_EQ(Send(p_.id, data), 4000u);
  Sent s1 = ExpectSent(kA, p_.rcv, p_.snd);
  Sent s2 = ExpectSent(kA, p_.rcv + 1460, p_.snd);
  Sent s3 = ExpectSent(kPA, p_.rcv + 2920, p_.snd);
  ExpectNothingSent();
  EXPECT_EQ(s1.payload + s2.payload + s3.payload, data);
  EXPECT_EQ(s1.seg.payload_length, 1460);
  EXPECT_EQ(s3.seg.payload_length, 1080);
  EXPECT_FALSE(s1.seg.retransmission);
  EXPECT_EQ(Counter("DataBytesOut"), 4000u);
  EXPECT_EQ(stack().Find(p_.id)->snd_nxt.value(), p_.rcv + 4000);
}

// The ACK of our data frees the send buffer, stops the retransmission
// timer and tells the application (kSent).
TEST_P(EstablishedTest, AckOfDataFreesBufferAndSignalsSent) {
  MakeEstablished();
  Send(p_.id, "hello");
  ExpectSent(kPA, p_.rcv, p_.snd);
  EXPECT_EQ(stack().timers_in_use(), 1u);  // RTO
  EXPECT_GT(stack().buffer_chunks_in_use(), 0u);
  p_.rcv += 5;
  Inject(From(kA));
  ExpectNothingSent();
  ExpectEvent(AppEvent::Kind::kSent);
  ExpectNoEvents();
  EXPECT_EQ(stack().timers_in_use(), 0u);
  EXPECT_EQ(stack().buffer_chunks_in_use(), 0u);
}

// The peer's window limits what is in flight; its ACK opens room for more.
TEST_P(EstablishedTest, SendRespectsPeerWindow) {
  p_.wscale = false;
  MakeSynReceived();
  Inject(From(kA).Win(2000));
  Accept();
  p_.id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  Send(p_.id, Bytes(5000));
  ExpectSent(kA, p_.rcv, p_.snd);
  ExpectSent(kA, p_.rcv + 1460, p_.snd);  // 540 bytes: the window's rest
  ExpectNothingSent();
  p_.rcv += 2000;
  Inject(From(kA).Win(2000));
  DropSentEvents();
  ExpectSent(kA, p_.rcv, p_.snd);
  const Sent s = ExpectSent(kA, p_.rcv + 1460, p_.snd);
  EXPECT_EQ(s.seg.payload_length, 540);
  ExpectNothingSent();
}

// RFC 5681: the initial window is 10 segments (RFC 6928); each ACK in
// slow start adds at most one SMSS.
TEST_P(EstablishedTest, SendRespectsInitialCongestionWindow) {
  MakeEstablished();
  Send(p_.id, Bytes(20000));
  for (int i = 0; i < 10; ++i) {
    ExpectSent(kA, p_.rcv + 1460 * i, p_.snd);
  }
  ExpectNothingSent();
  p_.rcv += 14600;
  Inject(From(kA));
  DropSentEvents();
  for (int i = 0; i < 3; ++i) ExpectSent(kA, p_.rcv + 1460 * i, p_.snd);
  ExpectSent(kPA, p_.rcv + 4380, p_.snd);  // the last 1020 bytes
  ExpectNothingSent();
}

// A pending ACK rides on the data we send.
TEST_P(EstablishedTest, DataCarriesTheAckForReceivedData) {
  MakeEstablished();
  InjectWithoutFlush(p_, From(kPA, "request"));  // the ACK is owed
  ExpectNothingSent();
  stack().Send(p_.id, reinterpret_cast<const uint8_t*>("reply"), 5);
  FlushAndCollect();
  p_.snd += 7;
  const Sent s = ExpectSent(kPA, p_.rcv, p_.snd);
  EXPECT_EQ(s.payload, "reply");
  ExpectNothingSent();
}

// Item 20: challenge ACKs are limited per connection: one per interval
// (500 ms) on each connection, so one connection's limit never silences
// another's (no global counter: CVE-2016-5696).
TEST_P(EstablishedTest, Item20_ChallengeAckRateLimitIsPerConnection) {
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002, 7'000'000);
  MakeEstablished(a);
  MakeEstablished(b);
  Inject(a, MakeSeg(kR, a.snd + 100));
  ExpectAck(a);
  Inject(b, MakeSeg(kR, b.snd + 100));
  ExpectAck(b);  // b's own allowance
  ExpectNothingSent();
  Advance(100 * kMs);
  Inject(a, MakeSeg(kR, a.snd + 200));  // within a's interval: suppressed
  Inject(a, MakeSeg(kS, a.snd + 300));  // SYN challenges share the limit
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_challenge_ack_rate_limited"), 2u);
  EXPECT_EQ(Counter("TCPChallengeACK"), 2u);
  Advance(400 * kMs);  // 500 ms after a's first
  Inject(a, MakeSeg(kR, a.snd + 200));
  ExpectAck(a);
  ExpectNothingSent();
  EXPECT_EQ(Counter("TCPChallengeACK"), 3u);
  EXPECT_EQ(StateName(State(a.id)), StateName(TcpState::kEstablished));
  EXPECT_EQ(StateName(State(b.id)), StateName(TcpState::kEstablished));
}

// Item 20: the limit holds from the first challenge whatever the clock's
// origin (a virtual clock may start at 0).
TEST_P(EstablishedTest, Item20_ChallengeAckRateLimitFromClockZero) {
  Init(DefaultConfig(), /*start=*/0);
  MakeEstablished();
  Inject(MakeSeg(kR, p_.snd + 100));
  ExpectAck();
  Advance(1 * kMs);
  Inject(MakeSeg(kR, p_.snd + 100));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_challenge_ack_rate_limited"), 1u);
}

// Item 21: once negotiated, our data, ACKs and FIN carry timestamps, with
// TS.Recent echoed; TSval follows our millisecond clock.
TEST_P(EstablishedTest, Item21_EverySegmentCarriesTimestamps) {
  p_.timestamps = true;
  MakeEstablished();
  const uint32_t tsval0 = p_.ts_ecr;  // the SYN-ACK's TSval
  Advance(10 * kMs);
  p_.ts_val += 3;
  Inject(From(kPA, "ping"));
  p_.snd += 4;
  Sent s = ExpectAck();
  EXPECT_TRUE(s.seg.options.has_timestamps);
  EXPECT_EQ(s.seg.options.ts_ecr, p_.ts_val);
  EXPECT_EQ(s.seg.options.ts_val, tsval0 + 10);
  Send(p_.id, "pong");
  s = ExpectSent(kPA, p_.rcv, p_.snd);
  EXPECT_TRUE(s.seg.options.has_timestamps);
  EXPECT_EQ(s.seg.options.ts_ecr, p_.ts_val);
  EXPECT_EQ(Read(p_.id), "ping");
  Close(p_.id);
  s = ExpectSent(kFA, p_.rcv + 4, p_.snd);
  EXPECT_TRUE(s.seg.options.has_timestamps);
  // The MSS leaves room for the option.
  ASSERT_NE(stack().Find(p_.id), nullptr);
  EXPECT_EQ(stack().Find(p_.id)->snd_mss, 1460 - 12);
}

// Item 21 / RFC 7323 4.3: TS.Recent is taken only from a segment at or
// before RCV.NXT, never from an out-of-order one.
TEST_P(EstablishedTest, Item21_TsRecentNotTakenFromOutOfOrderSegment) {
  p_.timestamps = true;
  MakeEstablished();
  Inject(MakeSeg(kPA, p_.snd + 100, p_.rcv, "late").Ts(p_.ts_val + 50, 0));
  const Sent ack = ExpectAck();
  EXPECT_EQ(ack.seg.options.ts_ecr, p_.ts_val);
  EXPECT_EQ(stack().Find(p_.id)->ts_recent.value(), p_.ts_val);
}

// RFC 7323 5.5: a TS.Recent idle for more than 24 days is invalid: an
// older TSval is then accepted, not PAWS-rejected.
TEST_P(EstablishedTest, Item21_PawsIgnoresTsRecentOlderThan24Days) {
  p_.timestamps = true;
  MakeEstablished();
  Advance(25ull * 24 * 3600 * kSecond);
  Inject(From(kPA, "hi").Ts(p_.ts_val - 100, p_.ts_ecr));
  p_.snd += 2;
  const Sent ack = ExpectAck();
  EXPECT_EQ(ack.seg.options.ts_ecr, p_.ts_val - 100);
  EXPECT_EQ(Counter("tcp_paws"), 0u);
  EXPECT_EQ(Read(p_.id), "hi");
}

// Abort: RST at once, <SEQ=SND.NXT>; the connection is gone.
TEST_P(EstablishedTest, AbortSendsRstAndFreesEverything) {
  MakeEstablished();
  Send(p_.id, "unacked");
  ExpectSent(kPA, p_.rcv, p_.snd);
  Abort(p_.id);
  const Sent rst = ExpectSent(kRA, p_.rcv + 7, p_.snd);
  EXPECT_EQ(rst.seg.window, 0);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kAborted);
  EXPECT_FALSE(stack().IsOpen(p_.id));
  EXPECT_EQ(Counter("TCPAbortOnClose"), 1u);
  EXPECT_EQ(Counter("OutRsts"), 1u);
  ExpectNoLeaks();
  // The API refuses a stale id.
  EXPECT_EQ(Send(p_.id, "x"), 0u);
  EXPECT_EQ(Read(p_.id), "");
  EXPECT_EQ(StateName(State()), StateName(TcpState::kClosed));
  Close(p_.id);
  Abort(p_.id);
  ExpectNothingSent();
  ExpectNoEvents();
}

// Item 26: Close with unread received data: RST instead of FIN (RFC 2525
// 2.17), so the peer learns its data was not consumed.
TEST_P(EstablishedTest, Item26_CloseWithUnreadDataSendsRst) {
  MakeEstablished();
  Inject(From(kPA, "unread"));
  p_.snd += 6;
  ExpectAck();
  ExpectEvent(AppEvent::Kind::kData);
  Close(p_.id);
  ExpectSent(kRA, p_.rcv, p_.snd);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kUnreadData);
  EXPECT_EQ(Counter("TCPAbortOnData"), 1u);
  EXPECT_EQ(Counter("OutRsts"), 1u);
  ExpectNoLeaks();
}

// Item 26: once the data is read, Close sends a FIN as usual.
TEST_P(EstablishedTest, Item26_CloseAfterReadingSendsFin) {
  MakeEstablished();
  Inject(From(kPA, "read me"));
  p_.snd += 7;
  ExpectAck();
  EXPECT_EQ(Read(p_.id), "read me");
  Close(p_.id);
  ExpectSent(kFA, p_.rcv, p_.snd);
  EXPECT_EQ(Counter("TCPAbortOnData"), 0u);
}

// Send after Close is refused: the FIN is queued.
TEST_P(EstablishedTest, SendAfterCloseIsRefused) {
  MakeEstablished();
  Close(p_.id);
  ExpectSent(kFA, p_.rcv, p_.snd);
  EXPECT_EQ(Send(p_.id, "late"), 0u);
  ExpectNothingSent();
}

// The send buffer bounds what Send takes.
TEST_P(EstablishedTest, SendBufferBoundsSend) {
  TcpConfig c = DefaultConfig();
  c.snd_buffer = 3000;
  Init(c);
  MakeEstablished();
  EXPECT_EQ(Send(p_.id, Bytes(5000)), 3000u);
  sent_.clear();
  EXPECT_EQ(Send(p_.id, "x"), 0u);
  p_.rcv += 1460;
  Inject(From(kA));
  ExpectEvent(AppEvent::Kind::kSent);
  EXPECT_EQ(Send(p_.id, Bytes(2000)), 1460u);
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(EstablishedTest);

}  // namespace synwave::tcp::fsm_test
