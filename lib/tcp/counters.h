// TCP counters: the MIB counters under their Linux `nstat` names where one
// exists, and one drop counter per reason a segment is not accepted.
//
// The pure TCP code counts into a plain TcpCounters owned by its core; the
// engine publishes them with its own counters once per burst. Each drop
// reason is one row (VPP tcp_error.def style), so docs/conformance.md item 36
// holds: every segment that dies is counted under why.
#ifndef SYNWAVE_TCP_COUNTERS_H_
#define SYNWAVE_TCP_COUNTERS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace synwave::tcp {

// X(Enumerator, "name", "meaning")
#define SYNWAVE_TCP_MIBS(X)                                                    \
  X(kActiveOpens, "ActiveOpens", "connections opened by us (SYN sent)")        \
  X(kPassiveOpens, "PassiveOpens", "connections that completed a passive "     \
    "open (handshake done)")                                                   \
  X(kAttemptFails, "AttemptFails", "handshakes that failed (reset or timed "   \
    "out in SYN-SENT/SYN-RECEIVED)")                                           \
  X(kEstabResets, "EstabResets", "resets in ESTABLISHED or CLOSE-WAIT")        \
  X(kInSegs, "InSegs", "TCP segments received")                                \
  X(kOutSegs, "OutSegs", "TCP segments sent")                                  \
  X(kRetransSegs, "RetransSegs", "segments retransmitted")                     \
  X(kOutRsts, "OutRsts", "RST segments sent")                                  \
  X(kListenOverflows, "ListenOverflows", "completing ACKs dropped: accept "    \
    "queue full")                                                              \
  X(kListenDrops, "ListenDrops", "SYNs or ACKs a listener dropped")            \
  X(kTimeWaitOverflow, "TCPTimeWaitOverflow", "TIME-WAIT records recycled "    \
    "early: pool full")                                                        \
  X(kChallengeAck, "TCPChallengeACK", "challenge ACKs sent (RFC 5961)")        \
  X(kPawsEstab, "PAWSEstab", "segments rejected by PAWS")                      \
  X(kSynRetrans, "TCPSynRetrans", "SYN and SYN-ACK retransmissions")           \
  X(kSyncookiesSent, "SyncookiesSent", "SYN-ACKs sent with a SYN cookie")      \
  X(kSyncookiesRecv, "SyncookiesRecv", "valid SYN cookies received "           \
    "(connections created from an ACK)")                                       \
  X(kSyncookiesFailed, "SyncookiesFailed", "ACKs to a listener with an "       \
    "invalid or expired cookie (answered with RST)")                           \
  X(kConnectRefused, "ConnectRefused", "active opens answered with RST")       \
  X(kConnectTimeouts, "ConnectTimeouts", "active opens unanswered after the "  \
    "SYN retries")                                                             \
  X(kTimeouts, "TCPTimeouts", "retransmission timer expiries")                 \
  X(kAbortOnTimeout, "TCPAbortOnTimeout", "connections dropped: retries "      \
    "exhausted or keepalive unanswered")                                       \
  X(kAbortOnData, "TCPAbortOnData", "RSTs for data nobody will read: the "      \
    "application closed with unread data, or data came after it closed")       \
  X(kAbortOnClose, "TCPAbortOnClose", "connections the application aborted")  \
  X(kAbortOnMemory, "TCPAbortOnMemory", "orphaned connections reset to make "  \
    "room (max_orphans exceeded, or a new connection found no free TCB)")    \
  X(kIdleTimeouts, "TCPAbortOnIdle", "connections reset after idle_timeout "   \
    "without progress")                                                        \
  X(kAckSkippedSeq, "TCPACKSkippedSeq", "ACKs not sent to out-of-window "      \
    "segments (per-connection rate limit)")                                    \
  X(kAckSkippedPaws, "TCPACKSkippedPAWS", "ACKs not sent to segments PAWS "    \
    "rejected (per-connection rate limit)")                                    \
  X(kAckSkippedSynRecv, "TCPACKSkippedSynRecv", "ACKs not sent to invalid "    \
    "segments for SYN-queue entries (rate limit)")                             \
  X(kAckSkippedTimeWait, "TCPACKSkippedTimeWait", "ACKs not sent to invalid "  \
    "segments in TIME-WAIT (rate limit)")                                      \
  X(kKeepAlive, "TCPKeepAlive", "keepalive probes sent")                       \
  X(kTimeWaitEntered, "TimeWaitEntered", "connections entering TIME-WAIT")     \
  X(kTimeWaitExpired, "TimeWaitExpired", "TIME-WAIT records expired (2MSL)")   \
  X(kTimeWaitReopened, "TimeWaitReopened", "TIME-WAIT tuples reopened by a "   \
    "newer SYN (RFC 6191)")                                                    \
  X(kFinWait2Timeouts, "FinWait2Timeouts", "FIN-WAIT-2 connections timed out") \
  X(kSynRecvTimeouts, "SynRecvTimeouts", "half-open entries dropped after "    \
    "the SYN-ACK retries")                                                     \
  X(kConnectionsClosed, "ConnectionsClosed", "connections fully closed")       \
  X(kDataBytesIn, "DataBytesIn", "payload bytes accepted in order")            \
  X(kDataBytesOut, "DataBytesOut", "payload bytes sent (first time)")        \
  X(kInSegs6, "Ipv6InSegs", "TCP segments received over IPv6 (in InSegs "     \
    "too)")                                                                    \
  X(kOutSegs6, "Ipv6OutSegs", "TCP segments sent over IPv6 (in OutSegs too)")  \
  X(kPassiveOpens6, "Ipv6PassiveOpens", "passive opens over IPv6 (in "        \
    "PassiveOpens too)")                                                       \
  X(kActiveOpens6, "Ipv6ActiveOpens", "active opens over IPv6 (in "           \
    "ActiveOpens too)")

#define SYNWAVE_TCP_DROPS(X)                                                   \
  X(kRstToClosedPort, "tcp_rst_to_closed_port", "RST for no connection "       \
    "(never answered)")                                                        \
  X(kClosedPort, "tcp_closed_port", "segment for no connection or listener "   \
    "(answered with RST)")                                                     \
  X(kListenRst, "tcp_listen_rst", "RST to a listener")                         \
  X(kListenAck, "tcp_listen_ack", "ACK to a listener, not a valid cookie "     \
    "(answered with RST)")                                                     \
  X(kListenNoSyn, "tcp_listen_no_syn", "segment to a listener without SYN "    \
    "or ACK")                                                                  \
  X(kSynQueueFull, "tcp_syn_queue_full", "SYN dropped: SYN queue full")        \
  X(kAcceptQueueFull, "tcp_accept_queue_full", "completing ACK dropped: "      \
    "accept queue full")                                                       \
  X(kTablesFull, "tcp_tables_full", "new connection refused: connection "      \
    "pool or table full")                                                      \
  X(kSynRecvBadAck, "tcp_syn_recv_bad_ack", "SYN-RECEIVED: ACK outside "       \
    "SND.UNA..SND.NXT (answered with RST)")                                    \
  X(kSynRecvDupSyn, "tcp_syn_recv_dup_syn", "SYN-RECEIVED: retransmitted "     \
    "SYN (SYN-ACK sent again)")                                                \
  X(kOutOfWindow, "tcp_out_of_window", "sequence outside the receive window "  \
    "(ACK sent)")                                                              \
  X(kPaws, "tcp_paws", "timestamp older than TS.Recent (ACK sent)")            \
  X(kRstOutOfWindow, "tcp_rst_out_of_window", "RST outside the window "       \
    "(ignored)")                                                               \
  X(kRstChallenged, "tcp_rst_challenged", "RST in window but not at RCV.NXT "  \
    "(challenge ACK)")                                                         \
  X(kSynChallenged, "tcp_syn_challenged", "SYN on a synchronized connection "  \
    "(challenge ACK)")                                                         \
  X(kChallengeRateLimited, "tcp_challenge_ack_rate_limited", "challenge ACK "  \
    "suppressed by the per-connection limit")                                  \
  X(kNoAckFlag, "tcp_no_ack_flag", "segment without ACK on a synchronized "    \
    "connection")                                                              \
  X(kAckUnsent, "tcp_ack_of_unsent_data", "ACK above SND.NXT (ACK sent)")      \
  X(kAckTooOld, "tcp_ack_too_old", "ACK below SND.UNA - MAX.SND.WND (ACK "     \
    "sent)")                                                                   \
  X(kOutOfOrder, "tcp_out_of_order", "in-window data not at RCV.NXT: "         \
    "dropped, duplicate ACK sent")                                             \
  X(kRcvBufferFull, "tcp_rcv_buffer_full", "data dropped: no buffer space")    \
  X(kDataAfterFin, "tcp_data_after_fin", "data after the peer's FIN")          \
  X(kTimeWaitRst, "tcp_time_wait_rst", "RST in TIME-WAIT ignored (RFC 1337)")  \
  X(kAbandoned, "tcp_abandoned", "segment for a connection the application "   \
    "abandoned (dropped without an answer)")                                   \
  X(kTimeWaitAck, "tcp_time_wait_segment", "segment in TIME-WAIT (ACK sent, "    \
    "within the rate limit unless it is a FIN)")                               \
  X(kTimeWaitIgnored, "tcp_time_wait_ignored", "bare ACK at RCV.NXT in "      \
    "TIME-WAIT (no reply)")                                                    \
  X(kClosingIgnored, "tcp_closing_ignored", "segment that does not advance "   \
    "CLOSING or LAST-ACK")                                                     \
  X(kSynSentBadAck, "tcp_syn_sent_bad_ack", "SYN-SENT: ACK not acking our "    \
    "SYN (answered with RST)")                                                 \
  X(kSynSentRst, "tcp_syn_sent_rst_ignored", "SYN-SENT: RST without an "       \
    "acceptable ACK (ignored)")                                                \
  X(kSynSentNoSyn, "tcp_syn_sent_no_syn", "SYN-SENT: segment with neither "    \
    "SYN nor RST")                                                             \
  X(kIpv6Off, "tcp_ipv6_off", "IPv6 segment to a stack without IPv6 "         \
    "configured")

enum class Mib : uint16_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_TCP_MIBS(SYNWAVE_X)
#undef SYNWAVE_X
  kCount,
};

enum class Drop : uint16_t {
  kNone,
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_TCP_DROPS(SYNWAVE_X)
#undef SYNWAVE_X
  kCount,
};

inline constexpr size_t kNumMibs = static_cast<size_t>(Mib::kCount);
inline constexpr size_t kNumDrops = static_cast<size_t>(Drop::kCount);

std::string_view MibName(Mib m);
std::string_view MibHelp(Mib m);
std::string_view DropName(Drop d);  // "" for kNone
std::string_view DropHelp(Drop d);

// One core's TCP counters, written only by that core.
struct TcpCounters {
  uint64_t mib[kNumMibs] = {};
  uint64_t drop[kNumDrops] = {};

  void Add(Mib m, uint64_t n = 1) { mib[static_cast<size_t>(m)] += n; }
  void Count(Drop d) { drop[static_cast<size_t>(d)] += 1; }
  uint64_t Get(Mib m) const { return mib[static_cast<size_t>(m)]; }
  uint64_t Get(Drop d) const { return drop[static_cast<size_t>(d)]; }
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_COUNTERS_H_
