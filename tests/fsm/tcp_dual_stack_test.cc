// What IPv6 has of its own in the stack (the behaviour both families share
// runs over both in the other suites, TcpFamilyTest): the MSS (mss6 in our
// SYN and SYN-ACK, 1220 assumed without the option), one stack serving both
// families at once (separate listeners on one port, one ConnId space,
// tuples of each family apart, the per-family counters), and a stack built
// without IPv6 refusing it with a counted drop.
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class Ipv6Test : public TcpFsmTest {
 protected:
  // Dual stack: IPv4 listens on port 80 (the fixture), IPv6 too.
  Ipv6Test() {
    TcpConfig c = DefaultConfig();
    c.ipv6 = true;
    Init(c);
    ipv6_ = true;
    EXPECT_TRUE(stack().Listen(V6Of(kLocalIp), kLocalPort));
  }
  void UseFamily(bool ipv6) { ipv6_ = ipv6; }
};

TEST_F(Ipv6Test, SynAckAdvertisesMss6AndAssumes1220WithoutTheOption) {
  Inject(MakeSeg(kS, kPeerIss));  // no options
  const Sent synack = ExpectSynAck(kPeerIss + 1);
  EXPECT_EQ(synack.seg.options.mss, TcpConfig{}.mss6);
  EXPECT_EQ(TcpConfig{}.mss6, 1440);  // 1500 - 40 - 20
  Inject(MakeSeg(kA, kPeerIss + 1, synack.seg.seq.value() + 1));
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  EXPECT_EQ(stack().Find(id)->snd_mss, 1220);
}

TEST_F(Ipv6Test, SendMssIsCappedAtMss6) {
  Inject(MakeSeg(kS, kPeerIss).Mss(9000));
  const Sent synack = ExpectSynAck(kPeerIss + 1);
  Inject(MakeSeg(kA, kPeerIss + 1, synack.seg.seq.value() + 1));
  Accept();
  const ConnId id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
  EXPECT_EQ(stack().Find(id)->snd_mss, 1440);
}

TEST_F(Ipv6Test, ConnectOffersMss6) {
  Peer p = ServerPeer();
  const Sent syn = StartConnect(p);
  EXPECT_EQ(syn.seg.options.mss, 1440);
  EXPECT_EQ(Counter("Ipv6ActiveOpens"), 1u);
  EXPECT_EQ(Counter("ActiveOpens"), 1u);
}

// One stack, both families on port 80: each connection is accepted from
// its own family's listener, the two are different connections although
// their ports are the same, and the counters keep the totals with the IPv6
// share beside them.
TEST_F(Ipv6Test, DualStackServesBothFamiliesOnOnePort) {
  Peer p4 = PeerOnPort(40000);
  Peer p6 = PeerOnPort(40000);  // the same ports
  UseFamily(false);
  MakeEstablished(p4);
  UseFamily(true);
  MakeEstablished(p6);
  EXPECT_NE(p4.id, p6.id);
  flow::FlowKey6 k6;
  EXPECT_FALSE(stack().Key6(p4.id, &k6));
  ASSERT_TRUE(stack().Key6(p6.id, &k6));
  EXPECT_EQ(k6, Key6Of(p6.key));
  EXPECT_EQ(stack().table().size(), 1u);
  EXPECT_EQ(stack().table6()->size(), 1u);
  EXPECT_EQ(stack().addr6_in_use(), 1u);
  EXPECT_EQ(Counter("PassiveOpens"), 2u);
  EXPECT_EQ(Counter("Ipv6PassiveOpens"), 1u);
  EXPECT_EQ(Counter("InSegs"), 4u);
  EXPECT_EQ(Counter("Ipv6InSegs"), 2u);
  EXPECT_EQ(Counter("OutSegs"), 2u);
  EXPECT_EQ(Counter("Ipv6OutSegs"), 1u);

  // Data on the IPv6 connection reaches it alone, and its ACK is IPv6.
  Inject(p6, From(p6, kPA, "hello"));
  p6.snd += 5;
  ExpectAck(p6);
  ExpectEvent(AppEvent::Kind::kData);
  EXPECT_EQ(Read(p6.id), "hello");
  EXPECT_EQ(stack().Readable(p4.id), 0u);

  // Both close; every IPv6 address slot goes back with its tuple.
  Abort(p6.id);
  ExpectSentTo(p6, kRA, p6.nxt, p6.snd);
  ExpectClosedEvent(CloseReason::kAborted);
  UseFamily(false);
  Abort(p4.id);
  ExpectSentTo(p4, kRA, p4.nxt, p4.snd);
  ExpectClosedEvent(CloseReason::kAborted);
  ExpectNoLeaks();
}

// Each family has its own listeners: IPv4 on a port does not take IPv6
// SYNs for it (answered with RST), and Listen on the other family's port
// succeeds.
TEST_F(Ipv6Test, ListenersAreByFamily) {
  UseFamily(false);
  ASSERT_TRUE(stack().Listen(kLocalIp, 8080));
  UseFamily(true);
  Peer p = PeerOnPort(40001);
  p.key.local_port = 8080;
  Inject(p, MakeSeg(kS, kPeerIss));
  ExpectSentTo(p, kRA, 0, kPeerIss + 1);
  EXPECT_EQ(Counter("tcp_closed_port"), 1u);
  ASSERT_TRUE(stack().Listen(V6Of(kLocalIp), 8080));
  EXPECT_FALSE(stack().Listen(V6Of(kLocalIp), 8080));
  MakeEstablished(p);
}

// A stack built without IPv6 has no IPv6 table: its API refuses IPv6 and
// IPv6 segments are counted as dropped, unanswered.
TEST(Ipv6OffTest, RefusedAndCounted) {
  TcpStack stack(TcpConfig{}, SipKey{1, 2}, 42, kT0);
  EXPECT_EQ(stack.table6(), nullptr);
  EXPECT_FALSE(stack.Listen(V6Of(kLocalIp), 80));
  const flow::FlowKey6 key = Key6Of({kLocalIp, kRemoteIp, 50000, 80});
  EXPECT_FALSE(stack.TupleFree(key));
  TcpStack::ConnectError err = TcpStack::ConnectError::kNone;
  EXPECT_FALSE(stack.Connect(key, kT0, 0, &err).valid());
  EXPECT_EQ(err, TcpStack::ConnectError::kTableFull);
  Segment syn;
  syn.seq = SeqNum(1);
  syn.flags = kS;
  stack.Input(key, syn, kT0);
  EXPECT_TRUE(stack.output().empty());
  EXPECT_EQ(stack.counters().Get(Drop::kIpv6Off), 1u);
  EXPECT_EQ(stack.counters().Get(Mib::kInSegs), 0u);
}

}  // namespace
}  // namespace synwave::tcp::fsm_test
