// What keeps a handful of clients from locking the others out: the buffer
// pool's pressure floor, the idle timeout, the orphan limits (retries,
// number, reclaiming before refusing), the per-connection limit on ACKs to
// invalid segments, RST for data nobody will read, and the MSS floor.
// Each test states what a hostile or broken client did and what the stack
// must do about it, over both families.
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class HardeningTest : public TcpFamilyTest {
 protected:
  // The fixture's defaults with the protections under test switched on.
  static TcpConfig Hardened() {
    TcpConfig c = DefaultConfig();
    c.idle_timeout_ns = 30 * kSecond;
    c.orphan_retries = 3;
    return c;
  }
};

std::string Bytes(size_t n) { return std::string(n, 'x'); }

// docs/conformance.md item 37. Connections whose peers keep their window
// shut cannot take the whole buffer pool: once the free chunks fall below
// the reserve, no queue grows beyond one chunk, and a new connection still
// receives its request and queues its response.
TEST_P(HardeningTest, Item37_PressureFloorKeepsRoomForNewConnections) {
  TcpConfig c = Hardened();
  c.buffer_chunks = 64;  // reserve: a quarter, 16 chunks
  c.snd_buffer = 64 * 1024;
  Init(c);
  std::vector<Peer> peers;
  for (int i = 0; i < 4; ++i) {
    Peer p = PeerOnPort(static_cast<uint16_t>(41000 + i), kPeerIss + i * 100000);
    MakeEstablished(p);
    // The peer shuts its window, then the application queues a lot.
    Inject(p, From(p, kA).Win(0));
    Send(p.id, Bytes(64 * 1024));
    Discard();
    peers.push_back(p);
  }
  EXPECT_TRUE(stack().memory_pressure());
  EXPECT_LE(stack().buffer_chunks_in_use(), 64u - 16u + 4u);
  // A newcomer: its request is taken and its response queued whole.
  Peer n = PeerOnPort(42000, 7'000'000);
  MakeEstablished(n);
  Inject(n, From(n, kPA, "GET / HTTP/1.1\r\n\r\n"));
  ExpectEvent(AppEvent::Kind::kData);
  EXPECT_EQ(Read(n.id), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(Send(n.id, Bytes(1000)), 1000u);
  EXPECT_EQ(Counter("tcp_rcv_buffer_full"), 0u);
}

// Under pressure the window we advertise is one chunk at most.
TEST_P(HardeningTest, Item37_WindowShrinksToOneChunkUnderPressure) {
  TcpConfig c = Hardened();
  c.buffer_chunks = 40;  // reserve 10
  c.snd_buffer = 64 * 1024;
  Init(c);
  Peer hog = PeerOnPort(41000);
  MakeEstablished(hog);
  Inject(hog, From(hog, kA).Win(0));
  Send(hog.id, Bytes(64 * 1024));
  Discard();
  ASSERT_TRUE(stack().memory_pressure());
  MakeEstablished();
  Inject(From(kPA, "x"));
  p_.snd += 1;
  const Sent ack = ExpectAck();
  EXPECT_LE(uint32_t{ack.seg.window} << 7, ChunkPool::kChunkSize);
}

// docs/conformance.md item 38. A client that completes the handshake and
// goes silent is reset after the idle timeout (between 1 and 1.25 times
// it); one that keeps sending is not.
TEST_P(HardeningTest, Item38_SilentAfterHandshakeIsResetAfterIdleTimeout) {
  Init(Hardened());
  MakeEstablished();
  Peer busy = PeerOnPort(41000, 5'000'000);
  MakeEstablished(busy);
  for (int i = 0; i < 2; ++i) {
    Advance(10 * kSecond);
    Inject(busy, From(busy, kPA, "a"));
    busy.snd += 1;
    Read(busy.id);
  }
  Discard();
  Advance(18 * kSecond);  // 38 s since p_'s handshake, 18 s since busy's data
  ExpectSent(kRA, p_.nxt, p_.snd);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kIdleTimeout);
  EXPECT_EQ(Counter("TCPAbortOnIdle"), 1u);
  EXPECT_FALSE(stack().IsOpen(p_.id));
  EXPECT_TRUE(stack().IsOpen(busy.id));
}

// A peer that answers every zero-window probe with window 0 keeps a
// connection the application holds only until the idle timeout: probes are
// answered, but nothing moves.
TEST_P(HardeningTest, Item38_ShutWindowForeverEndsAtIdleTimeout) {
  Init(Hardened());
  MakeEstablished();
  Inject(From(kA).Win(0));
  Send(p_.id, "response");
  ExpectNothingSent();
  for (int i = 0; i < 40 && stack().IsOpen(p_.id); ++i) {
    Advance(1 * kSecond);
    Discard();
    Inject(From(kA).Win(0));  // "still shut"
  }
  EXPECT_FALSE(stack().IsOpen(p_.id));
  EXPECT_EQ(Counter("TCPAbortOnIdle"), 1u);
}

// docs/conformance.md item 39. An orphan (the application closed) whose
// peer vanished gets orphan_retries retransmissions, then a RST.
TEST_P(HardeningTest, Item39_AbandonedOrphanGivesUpAfterOrphanRetries) {
  Init(Hardened());
  MakeEstablished();
  Send(p_.id, "response");
  Close(p_.id);
  Discard();
  // RTO 1 s, doubling: retransmissions at 1, 3 and 7 s, the give-up at 15.
  for (int s = 0; s < 14; ++s) Advance(1 * kSecond);
  EXPECT_TRUE(stack().IsOpen(p_.id));
  EXPECT_EQ(Counter("TCPTimeouts"), 3u);
  Discard();
  Advance(1 * kSecond);
  EXPECT_FALSE(stack().IsOpen(p_.id));
  ExpectSent(kRA, p_.nxt + 9, p_.snd);  // after the data and the FIN
  EXPECT_EQ(Counter("TCPAbortOnTimeout"), 1u);
  ExpectNoLeaks();
}

// An orphan's zero-window probes count against orphan_retries even when
// the peer answers them (window still 0), unlike a connection the
// application holds (RFC 1122 4.2.2.17 probing for ever).
TEST_P(HardeningTest, Item39_OrphanStopsProbingAShutWindow) {
  Init(Hardened());
  MakeEstablished();
  Inject(From(kA).Win(0));
  Send(p_.id, "response");
  Close(p_.id);
  for (int i = 0; i < 200 && stack().IsOpen(p_.id); ++i) {
    Advance(1 * kSecond);
    Discard();
    Inject(From(kA).Win(0));
  }
  EXPECT_FALSE(stack().IsOpen(p_.id));
  EXPECT_EQ(Counter("TCPAbortOnTimeout"), 1u);
  EXPECT_LE(Counter("TCPTimeouts"), 4u);
}

// docs/conformance.md item 40. At most max_orphans orphans: beyond that the
// oldest is reset (TCPAbortOnMemory).
TEST_P(HardeningTest, Item40_OldestOrphanIsResetBeyondMaxOrphans) {
  TcpConfig c = Hardened();
  c.max_orphans = 2;
  Init(c);
  Peer a = PeerOnPort(41000, 1'000'000);
  Peer b = PeerOnPort(41001, 2'000'000);
  Peer n = PeerOnPort(41002, 3'000'000);
  MakeFinWait1(a);
  MakeFinWait1(b);
  MakeEstablished(n);
  // The third close makes three orphans: the oldest goes, then our FIN.
  Close(n.id);
  ExpectSentTo(a, kRA, a.nxt, a.snd);
  ExpectSentTo(n, kFA, n.nxt, n.snd);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kReclaimed);
  EXPECT_EQ(stack().orphans_in_use(), 2u);
  EXPECT_FALSE(stack().IsOpen(a.id));
  EXPECT_TRUE(stack().IsOpen(b.id));
  EXPECT_TRUE(stack().IsOpen(n.id));
  EXPECT_EQ(Counter("TCPAbortOnMemory"), 1u);
}

// ... and a new connection that finds every TCB taken resets the oldest
// orphan rather than being refused.
TEST_P(HardeningTest, Item40_NewConnectionReclaimsTheOldestOrphan) {
  TcpConfig c = Hardened();
  c.max_connections = 3;
  c.max_orphans = 3;
  Init(c);
  std::vector<Peer> peers;
  for (int i = 0; i < 3; ++i) {
    Peer p = PeerOnPort(static_cast<uint16_t>(41000 + i), kPeerIss + i * 100000);
    MakeFinWait1(p);
    peers.push_back(p);
  }
  ASSERT_EQ(stack().connections_in_use(), 3u);
  Peer n = PeerOnPort(42000, 9'000'000);
  MakeSynReceived(n);
  Inject(n, From(n, kA));  // completes: the oldest orphan makes room
  ExpectSentTo(peers[0], kRA, peers[0].nxt, peers[0].snd);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kReclaimed);
  Accept();
  ExpectEvent(AppEvent::Kind::kAccepted);
  EXPECT_FALSE(stack().IsOpen(peers[0].id));
  EXPECT_EQ(Counter("TCPAbortOnMemory"), 1u);
  EXPECT_EQ(Counter("tcp_tables_full"), 0u);
}

// docs/conformance.md item 41. ACKs to invalid segments (out of the
// window) are rate-limited per connection: a flood of them draws one ACK
// per interval (Linux tcp_invalid_ratelimit).
TEST_P(HardeningTest, Item41_OutOfWindowAcksAreRateLimited) {
  Init(Hardened());
  MakeEstablished();
  for (int i = 0; i < 10; ++i) {
    Inject(MakeSeg(kA, p_.snd + 200000, p_.rcv));
  }
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_out_of_window"), 10u);
  EXPECT_EQ(Counter("TCPACKSkippedSeq"), 9u);
  Advance(500 * kMs);
  Inject(MakeSeg(kA, p_.snd + 200000, p_.rcv));
  ExpectAck();
}

// In TIME-WAIT the ACK of a retransmitted FIN always goes; ACKs to other
// segments are rate-limited.
TEST_P(HardeningTest, Item41_TimeWaitAcksFinAlwaysOthersLimited) {
  Init(Hardened());
  MakeTimeWait();
  for (int i = 0; i < 3; ++i) {
    Inject(MakeSeg(kFA, p_.snd - 1, p_.rcv));
    ExpectAck();
  }
  for (int i = 0; i < 5; ++i) Inject(MakeSeg(kA, p_.snd + 100000, p_.rcv));
  ExpectAck();
  ExpectNothingSent();
  EXPECT_EQ(Counter("TCPACKSkippedTimeWait"), 4u);
}

// A SYN-queue entry's ACKs to invalid segments are limited too.
TEST_P(HardeningTest, Item41_SynReceivedAcksAreRateLimited) {
  Init(Hardened());
  MakeSynReceived();
  for (int i = 0; i < 4; ++i) Inject(MakeSeg(kA, p_.snd + 200000, p_.rcv));
  ExpectSent(kA, p_.nxt, p_.snd);
  ExpectNothingSent();
  EXPECT_EQ(Counter("TCPACKSkippedSynRecv"), 3u);
}

// docs/conformance.md item 42. New data after the application closed
// (FIN-WAIT-1, FIN-WAIT-2) will never be read: RST, as Linux answers.
TEST_P(HardeningTest, Item42_DataAfterApplicationCloseGetsRst) {
  Init(Hardened());
  MakeFinWait2();
  Inject(From(kPA, "more"));
  ExpectSent(kRA, p_.nxt, p_.snd);
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kUnreadData);
  EXPECT_EQ(Counter("TCPAbortOnData"), 1u);
  ExpectNoLeaks();
}

// docs/conformance.md item 43. The MSS floor (48, Linux's) applies before
// the timestamp option's 12 bytes come off: a peer's MSS of 64 with
// timestamps means 52 bytes of payload a segment (RFC 6691).
TEST_P(HardeningTest, Item43_SmallMssLeavesRoomForTimestamps) {
  Init(Hardened());
  Inject(MakeSeg(kS, kPeerIss).Mss(64).Ts(100, 0));
  const Sent synack = ExpectSynAck(kPeerIss + 1);
  p_.iss = synack.seg.seq.value();
  p_.snd = kPeerIss + 1;
  p_.rcv = p_.nxt = p_.iss + 1;
  Inject(MakeSeg(kA, p_.snd, p_.rcv).Ts(101, synack.seg.options.ts_val));
  Accept();
  p_.id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  Send(p_.id, Bytes(59));
  const Sent a = ExpectSent(kA, p_.rcv, p_.snd);
  EXPECT_EQ(a.seg.payload_length, 52);
  const Sent b = ExpectSent(kPA, p_.rcv + 52, p_.snd);
  EXPECT_EQ(b.seg.payload_length, 7);
}

// The load generator's abandoning client (synwave load --abandon): the
// connection is forgotten without a word; for 2 MSL whatever the peer
// still sends is dropped unanswered, and the tuple is not reused.
TEST_P(HardeningTest, AbandonForgetsWithoutAWord) {
  Init(Hardened());
  MakeEstablished();
  stack().Abandon(p_.id, now_);
  Collect();
  ExpectNothingSent();
  ExpectClosedEvent(CloseReason::kAbandoned);
  EXPECT_FALSE(stack().IsOpen(p_.id));
  EXPECT_FALSE(TupleFree(p_));
  Inject(From(kPA, "response"));
  Inject(From(kFA));
  Inject(MakeSeg(kS, p_.snd + 100000));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_abandoned"), 3u);
  Advance(2 * config().msl_ns);
  EXPECT_TRUE(TupleFree(p_));
  ExpectNoLeaks();
}

SYNWAVE_INSTANTIATE_FAMILIES(HardeningTest);

}  // namespace
}  // namespace synwave::tcp::fsm_test
