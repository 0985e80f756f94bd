// The per-connection records: the full TCB and the compact SYN-queue entry
// (SYN-RECEIVED before the handshake completes); the third kind, the compact
// TIME-WAIT record, is in time_wait.h. Field names are the RFC 9293 3.3.1
// names.
//
// Three record kinds keep memory proportional to what a connection needs in
// each phase: a SYN flood fills only HalfOpen entries (64 bytes), and the
// 60 s of TIME-WAIT after each connection costs a 64-byte record, not a TCB.
//
// Units: points in time are nanoseconds of the stack's clock (`*_ns`, 64
// bits); the RTT estimator keeps microseconds (`*_us`, 32 bits: a 120 s RTO
// fits, and the TCB stays small); timestamps (TsVal) tick in milliseconds,
// the TSval clock of RFC 7323; windows and queues are in bytes.
#ifndef SYNWAVE_TCP_TCB_H_
#define SYNWAVE_TCP_TCB_H_

#include <cstdint>

#include "flow/flow_key.h"
#include "flow/index_pool.h"
#include "tcp/byte_queue.h"
#include "tcp/state.h"
#include "timer/timer_wheel.h"
#include "wire/seq_num.h"

namespace synwave::tcp {

using flow::kNoIndex;
using wire::SeqNum;
using wire::TsVal;

// A connection as the application sees it: an index and the generation of
// the TCB slot, so a stale id (connection closed, slot reused) is detected.
struct ConnId {
  uint32_t index = kNoIndex;
  uint32_t generation = 0;

  bool valid() const { return index != kNoIndex; }
  friend bool operator==(const ConnId&, const ConnId&) = default;
};

// Why a connection ended, as the application's on_closed hears it.
enum class CloseReason : uint8_t {
  kNormal,        // both FINs exchanged and acknowledged
  kReset,         // the peer sent an acceptable RST
  kTimeout,       // retransmissions or keepalives unanswered
  kAborted,       // the application aborted (RST sent)
  kUnreadData,    // closed with unread data: RST sent (RFC 2525 2.17)
  kFinWait2Timeout,
  kRefused,       // an active open was answered with RST (RFC 9293 3.10.7.3)
  kConnectTimeout,  // an active open got no answer after the SYN retries
  kIdleTimeout,   // no progress for idle_timeout: RST sent
  kReclaimed,     // an orphan reset to make room (max_orphans, TCBs full)
  kAbandoned,     // the application abandoned it (Abandon): nothing sent
};

std::string_view CloseReasonName(CloseReason r);

// Flags of a TCB.
namespace tcb_flags {
inline constexpr uint16_t kFinQueued = 1 << 0;   // app closed: FIN after data
inline constexpr uint16_t kAckPending = 1 << 1;  // an ACK is owed
inline constexpr uint16_t kDirty = 1 << 2;       // on the output list
inline constexpr uint16_t kAccepted = 1 << 3;    // handed to the application
inline constexpr uint16_t kTimestamps = 1 << 4;  // RFC 7323 TS negotiated
inline constexpr uint16_t kSackOk = 1 << 5;
inline constexpr uint16_t kRttTiming = 1 << 6;   // rtt_seq is being timed
inline constexpr uint16_t kPeerFin = 1 << 7;     // peer's FIN received
inline constexpr uint16_t kInUse = 1 << 8;
inline constexpr uint16_t kIpv6 = 1 << 9;        // key names an IPv6 slot
}  // namespace tcb_flags

struct Tcb {
  // local = us. IPv6 (kIpv6): the ports, and local_ip is the slot of the
  // stack's IPv6 addresses (TcpStack's header comment).
  flow::FlowKey key;
  uint32_t hash = 0;       // flow hash of key
  uint32_t generation = 0;
  TcpState state = TcpState::kClosed;
  uint8_t snd_wscale = 0;  // shift applied to the peer's window field
  uint8_t rcv_wscale = 0;  // shift the peer applies to ours
  uint8_t retries = 0;     // consecutive RTO expiries
  uint16_t flags = 0;      // tcb_flags
  uint16_t snd_mss = 536;  // bytes of payload per segment we send
  uint16_t listener = 0;   // listener index (passive opens)
  uint8_t offered_wscale = 0;  // active open: the shift our SYN offered
  uint8_t keepalive_probes = 0;

  // Send sequence space (RFC 9293 3.3.1).
  SeqNum iss;
  SeqNum snd_una;
  SeqNum snd_nxt;
  SeqNum snd_max;          // highest sequence sent (snd_nxt rewinds on RTO)
  SeqNum snd_wl1;
  SeqNum snd_wl2;
  uint32_t snd_wnd = 0;      // bytes, scaled
  uint32_t max_snd_wnd = 0;  // largest window offered (RFC 5961 5.2)
  uint32_t cwnd = 0;         // bytes (RFC 5681)
  uint32_t ssthresh = 0;     // bytes

  // Receive sequence space.
  SeqNum irs;
  SeqNum rcv_nxt;
  SeqNum rcv_adv;          // right edge of the window we advertised

  // Timestamps (RFC 7323).
  TsVal ts_recent;
  uint32_t ts_offset = 0;    // added to our ms clock in TSval
  uint64_t ts_recent_ns = 0; // when ts_recent was set (24-day PAWS rule)

  // Retransmission (RFC 6298), microseconds.
  uint32_t srtt_us = 0;
  uint32_t rttvar_us = 0;
  uint32_t rto_us = 0;
  SeqNum rtt_seq;            // Karn timing without timestamps
  uint64_t rtt_start_ns = 0;

  uint64_t last_rx_ns = 0;          // keepalive idle reference
  uint64_t last_progress_ns = 0;    // new data in, or ours acknowledged
  uint64_t last_oow_ack_ns = 0;     // ACK to an invalid segment (limit)
  uint64_t peer_l2 = 0;             // opaque next-hop hint (the engine's)
  uint32_t orphan_slot = 0;         // on the orphan ring (kFinQueued)

  timer::TimerWheel::Handle rto_timer = timer::TimerWheel::kInvalidHandle;
  timer::TimerWheel::Handle aux_timer = timer::TimerWheel::kInvalidHandle;

  ByteQueue snd_queue;       // from snd_una: unacked then unsent bytes
  ByteQueue rcv_queue;       // in-order bytes the application has not read
  uint64_t app_data = 0;     // the application's, untouched by TCP
};

// A SYN-queue entry: what SYN-RECEIVED needs before the handshake completes.
struct HalfOpen {
  flow::FlowKey key;
  uint32_t hash = 0;
  SeqNum iss;
  SeqNum irs;
  TsVal ts_recent;           // peer's TSval from the SYN
  uint32_t ts_offset = 0;
  uint64_t peer_l2 = 0;
  timer::TimerWheel::Handle timer = timer::TimerWheel::kInvalidHandle;
  uint16_t peer_mss = 0;     // 0: none given
  uint16_t listener = 0;
  uint8_t peer_wscale = 0xff;  // 0xff: no window scale option
  uint8_t retries = 0;
  bool timestamps = false;
  bool sack_ok = false;
  bool ipv6 = false;           // key names an IPv6 address slot
  uint32_t last_oow_ack_ms = 0;  // ACK to an invalid segment (limit)
};
static_assert(sizeof(HalfOpen) <= 64);

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_TCB_H_
