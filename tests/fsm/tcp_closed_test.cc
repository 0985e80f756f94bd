// CLOSED: segments for a tuple with no connection and no listener
// (RFC 9293 3.10.7.1). docs/conformance.md items 1 and 2.
#include "tcp_fixture.h"

namespace synwave::tcp::fsm_test {
namespace {

class ClosedTest : public TcpFamilyTest {
 protected:
  // A tuple nobody listens on: port 81 (the listener is on 80).
  ClosedTest() { p_.key.local_port = 81; }
};

// Item 1: no ACK bit: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN counts 1.
TEST_P(ClosedTest, Item1_SynGetsRstAckCoveringTheSyn) {
  Inject(MakeSeg(kS, 5000));
  ExpectSent(kRA, 0, 5001);
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_closed_port"), 1u);
  EXPECT_EQ(Counter("OutRsts"), 1u);
  EXPECT_EQ(stack().half_open_in_use(), 0u);
}

// Item 1: the data on a SYN counts in SEG.LEN.
TEST_P(ClosedTest, Item1_SynWithDataGetsRstAckCoveringSynAndData) {
  Inject(MakeSeg(kS, 5000, 0, "hello"));
  ExpectSent(kRA, 0, 5006);
  ExpectNothingSent();
}

// Item 1: a FIN counts 1 as well.
TEST_P(ClosedTest, Item1_FinWithoutAckGetsRstAckCoveringTheFin) {
  Inject(MakeSeg(kF, 7000, 0, "ab"));
  ExpectSent(kRA, 0, 7003);
  ExpectNothingSent();
}

// Item 1: with the ACK bit: <SEQ=SEG.ACK><CTL=RST>.
TEST_P(ClosedTest, Item1_AckGetsRstAtSegAck) {
  Inject(MakeSeg(kA, 5000, 123456));
  const Sent rst = ExpectSent(kR, 123456, 0);
  EXPECT_EQ(rst.seg.window, 0);
  EXPECT_EQ(rst.seg.payload_length, 0);
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_closed_port"), 1u);
}

TEST_P(ClosedTest, Item1_DataWithAckGetsRstAtSegAck) {
  Inject(MakeSeg(kPA, 5000, 777, "GET /"));
  ExpectSent(kR, 777, 0);
  ExpectNothingSent();
}

TEST_P(ClosedTest, Item1_FinAckGetsRstAtSegAck) {
  Inject(MakeSeg(kFA, 5000, 0xfffffff0u));
  ExpectSent(kR, 0xfffffff0u, 0);
  ExpectNothingSent();
}

// Item 1: a SYN-ACK (an answer to a SYN we never sent) has the ACK bit.
TEST_P(ClosedTest, Item1_SynAckGetsRstAtSegAck) {
  Inject(MakeSeg(kSA, 5000, 42));
  ExpectSent(kR, 42, 0);
  ExpectNothingSent();
}

// The listener is bound to one address: another local address is closed.
TEST_P(ClosedTest, Item1_ListenerOnOtherAddressIsClosed) {
  p_.key.local_port = kLocalPort;
  p_.key.local_ip = kLocalIp + 1;
  Inject(MakeSeg(kS, 5000));
  ExpectSent(kRA, 0, 5001);
  EXPECT_EQ(stack().half_open_in_use(), 0u);
}

// The sequence arithmetic wraps.
TEST_P(ClosedTest, Item1_RstAckNumberWraps) {
  Inject(MakeSeg(kS, 0xffffffffu, 0, "xy"));
  ExpectSent(kRA, 0, 2);
}

// Item 2: a RST is never answered, with or without ACK.
TEST_P(ClosedTest, Item2_RstIsNotAnswered) {
  Inject(MakeSeg(kR, 5000));
  Inject(MakeSeg(kRA, 5000, 99));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_rst_to_closed_port"), 2u);
  EXPECT_EQ(Counter("OutRsts"), 0u);
  EXPECT_EQ(Counter("InSegs"), 2u);
}

// Item 2: a RST carrying SYN is still a RST.
TEST_P(ClosedTest, Item2_RstWithSynIsNotAnswered) {
  Inject(MakeSeg(kR | kS, 5000));
  ExpectNothingSent();
  EXPECT_EQ(Counter("tcp_rst_to_closed_port"), 1u);
}

}  // namespace
SYNWAVE_INSTANTIATE_FAMILIES(ClosedTest);

}  // namespace synwave::tcp::fsm_test
