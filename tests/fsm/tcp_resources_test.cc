// What every path leaves behind: after each way a connection can end, and
// after TIME-WAIT expires, every pool (TCBs, SYN-queue entries, TIME-WAIT
// records, buffer chunks, timers, table entries) is empty again. Also the
// counter and state names a user reads, and stale connection ids.
#include "tcp_fixture.h"

#include <set>

namespace synwave::tcp::fsm_test {
namespace {

// The names: of no family.
using NamesTest = TcpFsmTest;
// The pools: over both families.
class ResourcesTest : public TcpFamilyTest {};

TEST_F(NamesTest, CounterNamesAreUniqueAndDocumented) {
  std::set<std::string_view> names;
  for (size_t m = 0; m < kNumMibs; ++m) {
    const auto mib = static_cast<Mib>(m);
    EXPECT_FALSE(MibName(mib).empty()) << m;
    EXPECT_FALSE(MibHelp(mib).empty()) << MibName(mib);
    EXPECT_TRUE(names.insert(MibName(mib)).second) << MibName(mib);
  }
  EXPECT_EQ(DropName(Drop::kNone), "");
  for (size_t d = 1; d < kNumDrops; ++d) {
    const auto drop = static_cast<Drop>(d);
    EXPECT_EQ(DropName(drop).substr(0, 4), "tcp_") << DropName(drop);
    EXPECT_FALSE(DropHelp(drop).empty()) << DropName(drop);
    EXPECT_TRUE(names.insert(DropName(drop)).second) << DropName(drop);
  }
}

TEST_F(NamesTest, StateNamesAreTheRfcNames) {
  const char* rfc[] = {"CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECEIVED",
                       "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                       "CLOSING",    "LAST-ACK",   "TIME-WAIT"};
  ASSERT_EQ(std::size(rfc), static_cast<size_t>(kNumTcpStates));
  for (int s = 0; s < kNumTcpStates; ++s) {
    EXPECT_EQ(StateName(static_cast<TcpState>(s)), rfc[s]);
  }
}

// Per-state counts follow the connections.
TEST_P(ResourcesTest, StateCountsFollowConnections) {
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002), c = PeerOnPort(40003),
       d = PeerOnPort(40004), e = PeerOnPort(40005);
  MakeSynReceived(a);
  MakeEstablished(b);
  MakeFinWait2(c);
  MakeLastAck(d);
  MakeTimeWait(e);
  EXPECT_EQ(stack().StateCount(TcpState::kSynReceived), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kEstablished), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kFinWait2), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kLastAck), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kTimeWait), 1u);
  EXPECT_EQ(stack().StateCount(TcpState::kListen), 1u);
  EXPECT_EQ(stack().connections_in_use(), 3u);
}

// A closed connection's id stays dead when its TCB slot is reused.
TEST_P(ResourcesTest, StaleConnIdAfterSlotReuse) {
  Peer a = PeerOnPort(40001), b = PeerOnPort(40002);
  const ConnId old = MakeEstablished(a);
  Abort(old);
  Discard();
  const ConnId fresh = MakeEstablished(b);
  EXPECT_EQ(fresh.index, old.index);
  EXPECT_NE(fresh.generation, old.generation);
  EXPECT_FALSE(stack().IsOpen(old));
  EXPECT_TRUE(stack().IsOpen(fresh));
  EXPECT_EQ(Send(old, "x"), 0u);
  Close(old);
  ExpectNothingSent();
  EXPECT_EQ(StateName(State(fresh)), StateName(TcpState::kEstablished));
}

// The leak check: one connection down every path there is, with data
// buffered on the way, then time for everything to expire.
TEST_P(ResourcesTest, EveryPathReleasesEverything) {
  TcpConfig c = DefaultConfig();
  c.max_connections = 64;
  c.max_half_open = 64;
  c.syn_backlog = 64;
  c.accept_backlog = 64;
  c.max_retransmits = 3;
  c.orphan_retries = 3;  // closed connections give up as fast
  Init(c);
  uint16_t port = 41000;
  auto next = [&] { return PeerOnPort(port++); };

  // Passive close through LAST-ACK, with data both ways.
  {
    Peer p = next();
    MakeEstablished(p);
    Inject(p, From(p, kFPA, "request"));
    p.snd += 8;
    EXPECT_EQ(Read(p.id), "request");
    Send(p.id, "response");
    Close(p.id);
    p.rcv += 9;
    Inject(p, From(p, kA));
    Discard();
  }
  // Active close through FIN-WAIT-2 to TIME-WAIT.
  {
    Peer p = next();
    MakeTimeWait(p);
    Discard();
  }
  // Simultaneous close through CLOSING.
  {
    Peer p = next();
    MakeClosing(p);
    p.rcv += 1;
    Inject(p, From(p, kA));
    Discard();
  }
  // FIN with the ACK of ours, from FIN-WAIT-1.
  {
    Peer p = next();
    MakeFinWait1(p);
    p.rcv += 1;
    Inject(p, From(p, kFA));
    Discard();
  }
  // Peer reset, with unacked data and unread data.
  {
    Peer p = next();
    MakeEstablished(p);
    Send(p.id, std::string(5000, 's'));
    Inject(p, From(p, kPA, "unread"));
    p.snd += 6;
    Inject(p, MakeSeg(kR, p.snd));
    Discard();
  }
  // Abort with data queued beyond the window.
  {
    Peer p = next();
    MakeEstablished(p);
    Send(p.id, std::string(100'000, 'q'));
    Abort(p.id);
    Discard();
  }
  // Close with unread data (RST).
  {
    Peer p = next();
    MakeEstablished(p);
    Inject(p, From(p, kPA, "unread"));
    Close(p.id);
    Discard();
  }
  // Retransmissions exhausted.
  {
    Peer p = next();
    MakeEstablished(p);
    Send(p.id, "never acked");
    Discard();
  }
  // FIN-WAIT-2 left to time out.
  {
    Peer p = next();
    MakeFinWait2(p);
    Discard();
  }
  // LAST-ACK whose FIN is never acked.
  {
    Peer p = next();
    MakeLastAck(p);
    Discard();
  }
  // SYN-RECEIVED reset, and SYN-RECEIVED left to time out.
  {
    Peer p = next();
    MakeSynReceived(p);
    Inject(p, MakeSeg(kR, p.snd));
    Peer q = next();
    MakeSynReceived(q);
    Discard();
  }
  // Established but never accepted, then reset.
  {
    Peer p = next();
    MakeSynReceived(p);
    Inject(p, From(p, kPA, "queued"));
    p.snd += 6;
    Inject(p, MakeSeg(kR, p.snd));
    Discard();
  }
  // TIME-WAIT reopened by a newer SYN, whose entry then times out.
  {
    Peer p = next();
    MakeTimeWait(p);
    Inject(p, MakeSeg(kS, p.snd + 100'000));
    Discard();
  }
  // Zero-window persist, abandoned by the application.
  {
    Peer p = next();
    MakeSynReceived(p);
    Inject(p, From(p, kA).Win(0));
    Accept();
    p.id = ExpectEvent(AppEvent::Kind::kAccepted).conn;
    Send(p.id, "stuck");
    Abort(p.id);
    Discard();
  }

  EXPECT_GT(stack().connections_in_use(), 0u);
  // Long enough for every timer: RTO backoff, SYN-ACK retries (63 s),
  // FIN-WAIT-2 (60 s), 2MSL (60 s). Stepped, as a worker loop would.
  for (int i = 0; i < 300; ++i) Advance(1 * kSecond);
  Discard();
  ExpectNoLeaks();
  EXPECT_EQ(stack().StateCount(TcpState::kEstablished), 0u);
  EXPECT_EQ(stack().StateCount(TcpState::kSynReceived), 0u);
  EXPECT_EQ(stack().StateCount(TcpState::kTimeWait), 0u);
  for (int s = 0; s < kNumTcpStates; ++s) {
    const auto state = static_cast<TcpState>(s);
    if (state == TcpState::kListen) continue;
    EXPECT_EQ(stack().StateCount(state), 0u) << StateName(state);
  }
  // And the endpoint still works.
  Peer p = next();
  MakeEstablished(p);
}

// A pool exhausted and refilled many times over ends empty.
TEST_P(ResourcesTest, ChurnLeavesNothingBehind) {
  for (int round = 0; round < 200; ++round) {
    Peer p = PeerOnPort(static_cast<uint16_t>(42000 + round % 50),
                        kPeerIss + round * 1'000'000u);
    MakeEstablished(p);
    Inject(p, From(p, kPA, "GET"));
    p.snd += 3;
    EXPECT_EQ(Read(p.id), "GET");
    Send(p.id, std::string(3000, 'r'));
    Close(p.id);
    p.nxt += 3001;
    p.rcv = p.nxt;
    Inject(p, From(p, kFA));
    p.snd += 1;
    Discard();
    if (round % 10 == 9) Advance(61 * kSecond);
    ASSERT_FALSE(HasFailure()) << round;
  }
  Advance(61 * kSecond);
  Discard();
  ExpectNoLeaks();
  EXPECT_EQ(Counter("PassiveOpens"), 200u);
  EXPECT_EQ(Counter("ConnectionsClosed"), 200u);
}

SYNWAVE_INSTANTIATE_FAMILIES(ResourcesTest);

}  // namespace
}  // namespace synwave::tcp::fsm_test
