// What crosses the TcpStack's boundary: the inbound Segment the engine
// hands to InputBurst, the OutSegment it drains from output() (with the
// IPv6 addresses of one, OutAddresses6), and the AppEvent the application
// drains from events(). Kept apart from stack.h, which holds the stack's
// API and its state, so that code that only builds or reads these values
// (the engine's frame writers, tests, benchmarks) sees them alone.
#ifndef SYNWAVE_TCP_SEGMENT_H_
#define SYNWAVE_TCP_SEGMENT_H_

#include <cstdint>

#include "flow/flow_key.h"
#include "tcp/tcb.h"
#include "wire/addresses.h"
#include "wire/tcp_options.h"

namespace synwave::tcp {

// An inbound segment, as the parser described it (host byte order).
struct Segment {
  SeqNum seq;
  SeqNum ack;
  // wire::tcp_flags. wire::ParseFrame drops a SYN that carries FIN or RST
  // (drop_tcp_syn_fin_rst), so none reaches the stack from the engine; one
  // that does anyway (a test, the fuzzer) is a RST if it has the RST bit,
  // else a SYN whose FIN, like data on a SYN, waits for the handshake.
  uint8_t flags = 0;
  uint16_t window = 0;          // as received (unscaled)
  uint16_t payload_length = 0;
  const uint8_t* payload = nullptr;
  wire::TcpOptions options;
  uint64_t peer_l2 = 0;         // opaque next-hop hint kept with new connections

  // Sequence space: payload plus one each for SYN and FIN.
  uint32_t SegLen() const;
};

// A segment to transmit. Payload bytes, if any, come from the connection's
// send queue (CopyPayload), so output() is drained before the application
// API or the next InputBurst can free that connection; nothing inside one
// call frees a TCB after putting its payload out.
//
// IPv6 (ipv6): key's ports are the segment's, its IPv4 addresses are 0, and
// TcpStack::Addresses6(segment) gives the two IPv6 addresses. They are not
// in the OutSegment itself: it is built (zeroed) for every segment sent, and
// 32 more bytes would cost every IPv4 segment too (bench/ir_budget.txt).
struct OutSegment {
  flow::FlowKey key;            // local = source of this segment
  SeqNum seq;
  SeqNum ack;
  uint8_t flags = 0;
  bool ipv6 = false;            // in what was padding: the size stays
  uint16_t window = 0;          // as written on the wire
  uint16_t payload_length = 0;
  uint32_t payload_offset = 0;  // into the send queue
  uint32_t conn = kNoIndex;     // TCB index when there is payload
  uint64_t peer_l2 = 0;         // 0 when unknown: reply to the input's source
  wire::TcpOptions options;
  bool retransmission = false;
  bool syn_cookie = false;      // a SYN-ACK whose ISN is a SYN cookie
  // The index, in the InputBurst call that produced it, of the segment this
  // answers (its buffer may carry the reply); kNoReply for output of
  // timers, Flush and the application API.
  static constexpr uint16_t kNoReply = 0xffff;
  uint16_t reply_to = kNoReply;
};
static_assert(sizeof(OutSegment) == 72);

// The addresses of an IPv6 OutSegment.
struct OutAddresses6 {
  wire::Ipv6Address local;      // source of the segment
  wire::Ipv6Address remote;
};

struct AppEvent {
  enum class Kind : uint8_t {
    kAccepted, kConnected, kData, kPeerClosed, kSent, kClosed
  };
  Kind kind;
  CloseReason reason = CloseReason::kNormal;  // kClosed
  ConnId conn;
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_SEGMENT_H_
