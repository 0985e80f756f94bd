// TcpConfig: every TCP knob with its default in one place (VPP
// tcp_configuration_init style). Units are in the names or comments. Each
// core gets a frozen copy; nothing here is read from flags on the hot path.
#ifndef SYNWAVE_TCP_CONFIG_H_
#define SYNWAVE_TCP_CONFIG_H_

#include <cstdint>

namespace synwave::tcp {

inline constexpr uint64_t kMillisecond = 1'000'000;  // ns
inline constexpr uint64_t kSecond = 1'000'000'000;   // ns

// When a listener answers a SYN with a SYN cookie (RFC 4987 3.6), as
// Linux's net.ipv4.tcp_syncookies 0/1/2.
enum class SynCookieMode : uint8_t {
  kOff,       // a SYN that finds the SYN queue full is dropped
  kOverflow,  // a cookie only when the SYN queue (or its pool) is full
  kAlways,    // every SYN gets a cookie; no SYN-queue state at all
};

struct TcpConfig {
  // Pools, per core. Nothing is allocated after start-up.
  uint32_t max_connections = 16384;  // TCBs (ESTABLISHED and closing states)
  uint32_t max_half_open = 4096;     // SYN queue entries, all listeners
  uint32_t max_time_wait = 16384;    // TIME-WAIT records
  uint32_t buffer_chunks = 32768;    // send/receive buffer chunks of 2 KiB
  uint32_t max_timers = 0;           // 0: sized from the pools

  // IPv6: off, the stack takes only IPv4 (no IPv6 table, no address
  // slots). On, a second connection table for IPv6 tuples, sized as the
  // IPv4 one (TCBs + SYN queue + TIME-WAIT: the pools are shared) unless
  // max_flows6 says less.
  bool ipv6 = false;
  uint32_t max_flows6 = 0;           // IPv6 table capacity; 0: as IPv4's

  // Listener queues (per listener), as Linux's tcp_max_syn_backlog and
  // listen() backlog.
  uint32_t syn_backlog = 1024;
  uint32_t accept_backlog = 1024;

  // SYN cookies: the policy, and the length of a cookie time slot
  // (2^n ns; a cookie is valid in its slot and the next: 68.7-137 s).
  SynCookieMode syncookies = SynCookieMode::kOverflow;
  uint32_t syncookie_period_log2_ns = 36;

  // Our side of the options.
  uint16_t mss = 1460;              // advertised MSS, bytes
  uint16_t mss6 = 1440;             // the same over IPv6 (MTU - 60)
  uint8_t window_scale = 7;         // offered shift, when the peer offers one
  bool timestamps = true;           // RFC 7323
  bool sack_permitted = true;       // answered when offered (blocks ignored)
  uint32_t rcv_buffer = 65535;      // per-connection receive buffer, bytes
  uint32_t snd_buffer = 262144;     // per-connection send buffer, bytes

  // RFC 6298 retransmission. Linux's 200 ms minimum RTO rather than the
  // RFC's 1 s: the RFC allows it and it matches the peers we test against.
  uint64_t rto_initial_ns = 1 * kSecond;
  uint64_t rto_min_ns = 200 * kMillisecond;
  uint64_t rto_max_ns = 120 * kSecond;
  uint8_t syn_ack_retries = 5;      // as net.ipv4.tcp_synack_retries
  uint8_t syn_retries = 6;          // as net.ipv4.tcp_syn_retries
  uint8_t max_retransmits = 15;     // data/FIN, as net.ipv4.tcp_retries2

  // Closing.
  uint64_t msl_ns = 30 * kSecond;           // TIME-WAIT lasts 2 MSL (60 s)
  uint64_t fin_wait2_timeout_ns = 60 * kSecond;  // as tcp_fin_timeout

  // Orphans: connections the application has closed (FIN-WAIT-1, FIN-WAIT-2,
  // CLOSING, LAST-ACK). Nobody waits on them, so a peer that vanished or
  // keeps its window shut must not hold them long: they get orphan_retries
  // retransmissions or zero-window probes, answered or not (as Linux's
  // tcp_orphan_retries), then a RST. At most max_orphans exist (0: half of
  // max_connections); beyond that, and whenever a new connection finds no
  // free TCB, the oldest orphan is reset to make room (TCPOrphansReclaimed).
  uint8_t orphan_retries = 8;
  uint32_t max_orphans = 0;

  // A connection that makes no progress (no new data received, none of ours
  // acknowledged) for this long while the application holds it
  // (ESTABLISHED, CLOSE-WAIT) is reset: a client that completes the
  // handshake and goes silent, or keeps its window shut, cannot hold a TCB
  // for ever. 0: no limit. 30 s, as front ends ship (HAProxy's timeout
  // client, nginx's header timeout are 30-60 s).
  uint64_t idle_timeout_ns = 30 * kSecond;

  // Memory pressure on the buffer pool: while fewer than this many chunks
  // are free, no connection's send or receive queue may grow beyond one
  // chunk, so what is left serves new connections (Linux's tcp_mem
  // pressure, with tcp_rmem[0]/tcp_wmem[0] as the floor). 0: a quarter of
  // buffer_chunks.
  uint32_t buffer_reserve_chunks = 0;

  // Keepalive (off by default, as for sockets without SO_KEEPALIVE).
  bool keepalive = false;
  uint64_t keepalive_idle_ns = 7200 * kSecond;
  uint64_t keepalive_interval_ns = 75 * kSecond;
  uint8_t keepalive_probes = 9;

  // ACKs to invalid segments (RFC 5961 challenge ACKs; answers to
  // segments out of the window, rejected by PAWS, acking unsent or too old
  // data): at most one per connection (or SYN-queue entry, or TIME-WAIT
  // record) per this interval, as Linux's tcp_invalid_ratelimit; per
  // connection, never global (CVE-2016-5696). A flood of invalid segments
  // cannot make us send as many ACKs.
  uint64_t challenge_ack_interval_ns = 500 * kMillisecond;

  // Initial congestion window in segments (RFC 6928).
  uint32_t initial_cwnd_segments = 10;

  // Timer wheel resolution and expiries handled per loop iteration.
  uint64_t timer_tick_ns = 1 * kMillisecond;
  uint32_t timer_budget = 256;
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_CONFIG_H_
