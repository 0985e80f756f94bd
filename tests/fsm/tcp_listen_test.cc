// LISTEN (RFC 9293 3.10.7.2): what a listener does with each kind of
// segment, the options it answers, its ISNs, and its queues under pressure.
// docs/conformance.md items 2, 3, 4, 5; the SYN queue and accept queue
// limits (item 34 for the SYN's side of it) and the pools.
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class ListenTest : public TcpFamilyTest {};

// Item 2: a RST to a listener is dropped without reply.
TEST_P(ListenTest, Item2_RstIsIgnored) {
  Inject(MakeSeg(kR, kPeerIss));
  Inject(MakeSeg(kRA, kPeerIss, 1));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_listen_rst"), 2u);
  EXPECT_EQ(stack().half_open_in_use(), 0u);
}

// Item 3: any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
TEST_P(ListenTest, Item3_AckGetsRstAtSegAck) {
  Inject(MakeSeg(kA, kPeerIss, 31337));
  ExpectSent(kR, 31337, 0);
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_listen_ack"), 1u);
  EXPECT_EQ(Counter("OutRsts"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 0u);
  EXPECT_EQ(stack().connections_in_use(), 0u);
}

TEST_P(ListenTest, Item3_AckWithDataGetsRstAtSegAck) {
  Inject(MakeSeg(kPA, kPeerIss, 4242, "GET / HTTP/1.0\r\n\r\n"));
  ExpectSent(kR, 4242, 0);
  ExpectNothingSent();
  EXPECT_EQ(stack().connections_in_use(), 0u);
}

TEST_P(ListenTest, Item3_FinAckGetsRstAtSegAck) {
  Inject(MakeSeg(kFA, kPeerIss, 4242));
  ExpectSent(kR, 4242, 0);
  ExpectNothingSent();
}

TEST_P(ListenTest, Item3_SynAckGetsRstAtSegAck) {
  Inject(MakeSeg(kSA, kPeerIss, 99));
  ExpectSent(kR, 99, 0);
  ExpectNothingSent();
  EXPECT_EQ(stack().half_open_in_use(), 0u);
}

// RFC 9293 3.10.7.2 fourth: neither SYN nor ACK nor RST: dropped.
TEST_P(ListenTest, FinWithoutAckIsDropped) {
  Inject(MakeSeg(kF, kPeerIss));
  Inject(MakeSeg(0, kPeerIss, 0, "data"));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_listen_no_syn"), 2u);
}

// The parser drops a SYN that also carries FIN before the stack sees it
// (drop_tcp_syn_fin_rst: wire_parse_test, scripts/listen_ack.pkt). Handed
// one anyway, the stack treats it as a SYN whose FIN, like data on a SYN,
// waits for the handshake: the SYN-ACK does not acknowledge the FIN.
TEST_P(ListenTest, SynFinIsASynWhoseFinWaits) {
  Inject(MakeSeg(kS | kF, kPeerIss));
  ExpectSynAck(kPeerIss + 1);
  ExpectNothingSent();
  EXPECT_EQ(stack().half_open_in_use(), 1u);
}

// Item 4: S. with ack SEG.SEQ+1, our ISN, and every option the SYN offered
// answered: MSS, window scale, SACK-permitted, timestamps.
TEST_P(ListenTest, Item4_SynGetsSynAckWithAllOptionsAnswered) {
  Inject(MakeSeg(kS, kPeerIss).Mss(1400).Wscale(8).SackOk().Ts(123456, 0));
  const Sent synack = ExpectSynAck(kPeerIss + 1);
  ExpectNothingSent();
  const wire::TcpOptions& o = synack.seg.options;
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);  // ours, whatever the peer's
  EXPECT_TRUE(o.has_window_scale);
  EXPECT_EQ(o.window_scale, 7);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_ecr, 123456u);
  // The window of a SYN is never scaled (RFC 7323 2.2).
  EXPECT_EQ(synack.seg.window, 65535);
  EXPECT_EQ(synack.seg.payload_length, 0);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kSynReceived), 1u);
  EXPECT_EQ(stack().connections_in_use(), 0u);
  EXPECT_EQ(Counter("OutSegs"), 1u);
}

// Item 4: a SYN without options gets MSS only: no window scale, no SACK,
// no timestamps; the connection then uses the 536-byte default MSS.
TEST_P(ListenTest, Item4_SynWithoutOptionsGetsMssOnly) {
  Inject(MakeSeg(kS, kPeerIss));
  const Sent synack = ExpectSynAck(kPeerIss + 1);
  const wire::TcpOptions& o = synack.seg.options;
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_FALSE(o.has_window_scale);
  EXPECT_FALSE(o.sack_permitted);
  EXPECT_FALSE(o.has_timestamps);
  const uint32_t iss = synack.seg.seq.value();
  Inject(MakeSeg(kA, kPeerIss + 1, iss + 1));
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  const Tcb* t = stack().Find(id);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->snd_mss, DefaultMss());  // RFC 9293 3.7.1, RFC 8200 5
  EXPECT_EQ(t->snd_wscale, 0);
  EXPECT_EQ(t->rcv_wscale, 0);
  EXPECT_FALSE(t->flags & tcb_flags::kTimestamps);
  EXPECT_FALSE(t->flags & tcb_flags::kSackOk);
}

// Item 4: timestamps only when offered, and then the MSS we use leaves
// room for them (12 bytes, as Linux).
TEST_P(ListenTest, Item4_TimestampsOnlyAnsweredWhenOffered) {
  Inject(MakeSeg(kS, kPeerIss).Mss(1000).Ts(7, 0));
  const Sent synack = ExpectSynAck(kPeerIss + 1);
  EXPECT_TRUE(synack.seg.options.has_timestamps);
  EXPECT_EQ(synack.seg.options.ts_ecr, 7u);
  EXPECT_FALSE(synack.seg.options.has_window_scale);
  EXPECT_FALSE(synack.seg.options.sack_permitted);
  const uint32_t iss = synack.seg.seq.value();
  Inject(MakeSeg(kA, kPeerIss + 1, iss + 1).Ts(8, synack.seg.options.ts_val));
  Accept();
  const Tcb* t = stack().Find(ExpectEvent(AppEvent::Kind::kAccepted).conn);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->snd_mss, 1000 - 12);
  EXPECT_TRUE(t->flags & tcb_flags::kTimestamps);
}

// Item 4: an option we are configured not to use is not answered.
TEST_P(ListenTest, Item4_DisabledOptionsAreNotAnswered) {
  TcpConfig c = DefaultConfig();
  c.timestamps = false;
  c.sack_permitted = false;
  c.window_scale = 0;
  Init(c);
  Inject(MakeSeg(kS, kPeerIss).Mss(1460).Wscale(7).SackOk().Ts(1, 0));
  const Sent synack = ExpectSynAck(kPeerIss + 1);
  EXPECT_TRUE(synack.seg.options.has_mss);
  EXPECT_FALSE(synack.seg.options.has_window_scale);
  EXPECT_FALSE(synack.seg.options.sack_permitted);
  EXPECT_FALSE(synack.seg.options.has_timestamps);
}

// Item 4 / RFC 7323 2.3: a shift above 14 is used as 14.
TEST_P(ListenTest, Item4_WindowScaleAbove14IsClamped) {
  Inject(MakeSeg(kS, kPeerIss).Wscale(15));
  const Sent synack = ExpectSynAck(kPeerIss + 1);
  EXPECT_EQ(synack.seg.options.window_scale, 7);
  Inject(MakeSeg(kA, kPeerIss + 1, synack.seg.seq.value() + 1).Win(1));
  Accept();
  const Tcb* t = stack().Find(ExpectEvent(AppEvent::Kind::kAccepted).conn);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->snd_wscale, 14);
  EXPECT_EQ(t->snd_wnd, 1u << 14);  // the ACK's window, scaled
}

// Item 4: data on a plain SYN is not delivered; the SYN-ACK acknowledges
// the SYN only, so the peer sends the data again.
TEST_P(ListenTest, Item4_DataOnSynIsNotDelivered) {
  Inject(MakeSeg(kS, kPeerIss, 0, "early"));
  const Sent synack = ExpectSynAck(kPeerIss + 1);
  Inject(MakeSeg(kA, kPeerIss + 1, synack.seg.seq.value() + 1));
  ExpectNothingSent();
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  ExpectNoEvents();
  EXPECT_EQ(stack().Readable(id), 0u);
  EXPECT_EQ(Counter("DataBytesIn"), 0u);
}

// Item 5: different 4-tuples at the same instant get unrelated ISNs (a
// keyed hash of the tuple, RFC 6528), so one connection's ISN says nothing
// about another's.
TEST_P(ListenTest, Item5_DifferentTuplesGetUnrelatedIsns) {
  std::vector<uint32_t> isns;
  for (uint16_t port = 40001; port <= 40008; ++port) {
    Peer p = PeerOnPort(port);
    MakeSynReceived(p);
    isns.push_back(p.iss);
  }
  for (size_t i = 0; i < isns.size(); ++i) {
    for (size_t j = i + 1; j < isns.size(); ++j) {
      const auto d = static_cast<int32_t>(isns[i] - isns[j]);
      // A clock-only or counter ISN would put these within a few units.
      EXPECT_GT(std::abs(static_cast<int64_t>(d)), 1'000'000)
          << "ports " << 40001 + i << " and " << 40001 + j;
    }
  }
}

// Item 5: without the secret the ISN cannot be computed: another secret,
// same tuple, same time, another ISN.
TEST_P(ListenTest, Item5_IsnDependsOnTheSecret) {
  MakeSynReceived();
  const uint32_t first = p_.iss;
  TcpStack other(DefaultConfig(), SipKey{1, 2}, 42, now_);
  ASSERT_TRUE(other.Listen(kLocalIp, kLocalPort));
  Segment syn;
  syn.seq = SeqNum(kPeerIss);
  syn.flags = kS;
  other.Input(p_.key, syn, now_);
  ASSERT_EQ(other.output().size(), 1u);
  EXPECT_NE(other.output()[0].seq.value(), first);
}

// Item 5: the same tuple later gets a larger ISN: the RFC 6528 clock (one
// tick per 4 microseconds) moves it forward.
TEST_P(ListenTest, Item5_SameTupleLaterGetsLargerIsn) {
  MakeSynReceived();
  const uint32_t first = p_.iss;
  Inject(MakeSeg(kR, p_.snd));  // back to LISTEN (item 8)
  ExpectNothingSent();
  Advance(1 * kSecond);
  MakeSynReceived();
  EXPECT_GT(SeqNum(p_.iss), SeqNum(first));
  EXPECT_EQ(p_.iss - first, 250'000u);  // 1 s / 4 us
}

// SYN queue full with cookies off: the SYN is dropped and counted, and no
// state is kept for it (with cookies: tcp_syn_cookie_test.cc).
TEST_P(ListenTest, SynQueueFullDropsTheSyn) {
  TcpConfig c = DefaultConfig();
  c.syn_backlog = 2;
  c.syncookies = SynCookieMode::kOff;
  Init(c);
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002), d = PeerOnPort(40003);
  MakeSynReceived(a);
  MakeSynReceived(b);
  Inject(d, SynFor(d));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_syn_queue_full"), 1u);
  EXPECT_EQ(Counter("ListenDrops"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 2u);
  // One completes: its entry leaves the SYN queue, and d's retry gets in.
  Inject(a, From(a, kA));
  ExpectNothingSent();
  MakeSynReceived(d);
  EXPECT_EQ(stack().half_open_in_use(), 2u);
}

// The half-open pool (all listeners) full: counted as tcp_tables_full.
TEST_P(ListenTest, HalfOpenPoolFullDropsTheSyn) {
  TcpConfig c = DefaultConfig();
  c.max_half_open = 1;
  c.syncookies = SynCookieMode::kOff;
  Init(c);
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002);
  MakeSynReceived(a);
  Inject(b, SynFor(b));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_tables_full"), 1u);
  EXPECT_EQ(Counter("ListenDrops"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 1u);
}

// Accept queue full: a new SYN is not answered (as Linux: no handshake the
// application cannot accept); counted as ListenOverflows.
TEST_P(ListenTest, AcceptQueueFullDropsNewSyns) {
  TcpConfig c = DefaultConfig();
  c.accept_backlog = 1;
  Init(c);
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002);
  MakeSynReceived(a);
  Inject(a, From(a, kA));  // established, waiting in the accept queue
  Inject(b, SynFor(b));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_accept_queue_full"), 1u);
  EXPECT_EQ(Counter("ListenOverflows"), 1u);
  EXPECT_EQ(Counter("ListenDrops"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 0u);
  Accept();
  ExpectEvent(AppEvent::Kind::kAccepted);
  MakeSynReceived(b);  // room again
}

TEST_P(ListenTest, ListenTwiceOnOnePortFails) {
  EXPECT_FALSE(Listen(kLocalIp, kLocalPort));
  EXPECT_TRUE(Listen(kLocalIp, kLocalPort + 1));
  EXPECT_EQ(stack().StateCount(TcpState::kListen), 2u);
}

// A listener on 0.0.0.0 (::) accepts on any local address.
TEST_P(ListenTest, WildcardListenerAcceptsAnyAddress) {
  ASSERT_TRUE(Listen(0, 8080));
  Peer p;
  p.key.local_port = 8080;
  p.key.local_ip = 0xc0a80001;
  MakeEstablished(p);
  EXPECT_EQ(Counter("PassiveOpens"), 1u);
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(ListenTest);

}  // namespace synwave::tcp::fsm_test
