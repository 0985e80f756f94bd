// Per-core counters: every packet the engine handles, and every reason it
// drops one, has a named counter here; applications register their own
// blocks into the same per-core set.
//
// The engine's list is one X-macro (VPP tcp_error.def style) followed by
// one drop counter per parser Verdict, the TCP MIB counters and one per TCP
// drop reason, so a user can always see why a packet died. These have
// fixed indices. Applications (lib/app) register their blocks at start-up
// (RegisterCounterBlock, RegisterGaugeBlock), after the engine's, before
// any worker runs; the reports then list every registered counter by name.
//
// Each worker owns a cache-line aligned CoreCounters; it counts into a local
// copy during a burst and publishes once per burst with relaxed atomic
// stores (plain moves on x86: no locks, no read-modify-write atomics), which
// lets the main lcore read them at any time for --stats-interval. An
// application keeps its own figures and stores them into the same
// CoreCounters when the worker publishes (AppOps::on_publish): one writer
// per core either way.
#ifndef SYNWAVE_ENGINE_COUNTERS_H_
#define SYNWAVE_ENGINE_COUNTERS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tcp/counters.h"
#include "tcp/state.h"
#include "wire/verdict.h"

namespace synwave::engine {

// X(Enumerator, "name", "meaning"). Drop reasons start with drop_.
#define SYNWAVE_ENGINE_COUNTERS(X)                                           \
  X(kRxPackets, "rx_packets", "frames received")                             \
  X(kRxBytes, "rx_bytes", "bytes received")                                  \
  X(kTxPackets, "tx_packets", "frames sent")                                 \
  X(kTxBytes, "tx_bytes", "bytes sent")                                      \
  X(kArpRequestsIn, "arp_requests_in", "ARP requests for our address")       \
  X(kArpRepliesOut, "arp_replies_out", "ARP replies sent")                   \
  X(kArpRequestsOut, "arp_requests_out", "ARP requests sent to resolve")     \
  X(kArpRepliesIn, "arp_replies_in", "ARP replies addressed to us")          \
  X(kNeighborsLearned, "neighbors_learned", "neighbour entries added")       \
  X(kNeighborsExpired, "neighbors_expired", "neighbour entries expired")     \
  X(kIcmpEchoIn, "icmp_echo_requests_in", "ICMP echo requests for us")       \
  X(kIcmpEchoOut, "icmp_echo_replies_out", "ICMP echo replies sent")         \
  X(kTcpSegmentsIn, "tcp_segments_in", "valid TCP segments for us")          \
  X(kDropEthNotForUs, "drop_eth_not_for_us",                                 \
    "frame for another MAC address")                                         \
  X(kDropArpNotForUs, "drop_arp_not_for_us",                                 \
    "ARP for another IP address (mappings still merged)")                    \
  X(kDropArpConflict, "drop_arp_address_conflict",                           \
    "ARP from another host claiming our IP address")                         \
  X(kDropIpNotForUs, "drop_ip_not_for_us", "IPv4 for another address")       \
  X(kDropIpv4SubnetBroadcastSource, "drop_ipv4_subnet_broadcast_source",     \
    "source is our subnet's directed broadcast (RFC 1122 3.2.1.3)")          \
  X(kDropIcmpNotEcho, "drop_icmp_not_echo_request",                          \
    "ICMP other than an echo request")                                       \
  X(kDropTcpNoHandler, "drop_tcp_no_handler",                                \
    "TCP segment while no TCP handler is installed")                         \
  X(kDropTcpAdmission, "drop_tcp_admission", "SYN of a new connection "      \
    "refused before the stack: the worker was behind and its handshake "     \
    "backlog full (admission control, --admission-target)")                  \
  X(kDropRxMultiSegment, "drop_rx_multi_segment",                            \
    "received frame spans several mbufs")                                    \
  X(kDropTxQueueFull, "drop_tx_queue_full", "TX queue full, frame freed")    \
  X(kDropNoMbuf, "drop_no_mbuf", "mbuf pool empty when sending")             \
  X(kDropNeighborTableFull, "drop_neighbor_table_full",                      \
    "no room for a new neighbour entry")                                     \
  X(kDropNoNeighbor, "drop_no_neighbor",                                     \
    "segment not sent: next hop unresolved (ARP sent)")                      \
  X(kCaptureFrames, "capture_frames", "frames copied to the --pcap writer")   \
  X(kDropCapture, "drop_capture", "frames not captured: the --pcap pool "     \
    "or ring was full (the writer fell behind)")                             \
  X(kPortIMissed, "port_imissed", "frames the port dropped: its RX queue "  \
    "was full (rte_eth_stats imissed; read from the port, not counted by "   \
    "the workers)")                                                          \
  X(kPortIErrors, "port_ierrors", "frames the port received in error, "     \
    "e.g. larger than one mbuf without scattered RX (rte_eth_stats "         \
    "ierrors)")                                                              \
  X(kPortRxNoMbuf, "port_rx_nombuf", "frames the port dropped: no mbuf to "  \
    "receive into (rte_eth_stats rx_nombuf)")                                \
  X(kPortOErrors, "port_oerrors", "frames the port failed to send "         \
    "(rte_eth_stats oerrors)")                                               \
  X(kBusyCycles, "busy_cycles", "TSC cycles of loop iterations that "        \
    "received or sent something")                                            \
  X(kTcpCycles, "tcp_cycles", "TSC cycles in the TCP stage (lookup, state "  \
    "machine, replies written), per burst")

// IPv6's Neighbor Discovery and echo (engine/nd.h): a block of their own,
// counted by the worker's NeighborDiscovery and stored when it publishes,
// so that a worker without IPv6 publishes nothing more per burst.
#define SYNWAVE_ND_COUNTERS(X)                                               \
  X(kSolicitationsIn, "nd_solicitations_in",                                 \
    "IPv6 neighbor solicitations for our addresses (answered)")              \
  X(kAdvertisementsOut, "nd_advertisements_out",                             \
    "IPv6 neighbor advertisements sent")                                     \
  X(kSolicitationsOut, "nd_solicitations_out",                               \
    "IPv6 neighbor solicitations sent to resolve")                           \
  X(kAdvertisementsIn, "nd_advertisements_in",                               \
    "IPv6 neighbor advertisements that resolved or confirmed a neighbour")   \
  X(kNeighborsLearned, "neighbors6_learned",                                 \
    "IPv6 neighbour entries added or resolved")                              \
  X(kNeighborsExpired, "neighbors6_expired", "IPv6 neighbour entries expired")\
  X(kEchoIn, "icmp6_echo_requests_in", "ICMPv6 echo requests for us")        \
  X(kEchoOut, "icmp6_echo_replies_out", "ICMPv6 echo replies sent")          \
  X(kDropNotForUs, "drop_ipv6_not_for_us",                                   \
    "IPv6 for another address or a group we are not in")                     \
  X(kDropNdNotForUs, "drop_nd_not_for_us",                                   \
    "neighbor solicitation for another address, or advertisement for a "     \
    "neighbour we do not resolve or without its link-layer address")         \
  X(kDropNdConflict, "drop_nd_address_conflict",                             \
    "neighbor advertisement from another host claiming our IPv6 address")    \
  X(kDropIcmp6NotEcho, "drop_icmp6_not_echo_request",                        \
    "ICMPv6 echo reply (we send no echo requests)")

enum class NdCounter : uint16_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_ND_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
  kCount,
};
inline constexpr size_t kNumNdCounters =
    static_cast<size_t>(NdCounter::kCount);

enum class Counter : uint16_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_ENGINE_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
  // One drop counter per wire::Verdict follows (the kOk slot is unused),
  // then the TCP MIB counters, then one per TCP drop reason (slot 0 unused),
  // then the NdCounter block.
  kWireDropBase,
};

inline constexpr size_t kTcpMibBase =
    static_cast<size_t>(Counter::kWireDropBase) + wire::kNumVerdicts;
inline constexpr size_t kTcpDropBase = kTcpMibBase + tcp::kNumMibs;
inline constexpr size_t kNdBase = kTcpDropBase + tcp::kNumDrops;
// The engine's counters: indices [0, kNumEngineCounters) in every set.
inline constexpr size_t kNumEngineCounters = kNdBase + kNumNdCounters;
constexpr size_t NdIndex(NdCounter c) {
  return kNdBase + static_cast<size_t>(c);
}
// The ones a worker counts per burst (CounterDeltas); the TCP counters
// after them are kept by the stack and stored as they are.
inline constexpr size_t kNumDeltaCounters = kTcpMibBase;

// Gauges: values that go up and down (connections per state, pool use),
// published as they are, summed over cores by the reports.
#define SYNWAVE_ENGINE_GAUGES(X)                                       \
  X(kCurrEstab, "CurrEstab", "connections in ESTABLISHED or CLOSE-WAIT") \
  X(kTcbsInUse, "tcbs", "TCBs in use")                                 \
  X(kHalfOpenInUse, "half_open", "SYN-queue entries in use")           \
  X(kTimeWaitInUse, "time_wait", "TIME-WAIT records in use")           \
  X(kOrphansInUse, "orphans", "connections the application closed, "   \
    "not gone yet (FIN-WAIT-1/2, CLOSING, LAST-ACK)")                   \
  X(kBufferChunksInUse, "buffer_chunks", "2 KiB buffer chunks in use") \
  X(kTimersInUse, "timers", "timers armed")                            \
  X(kIpv6TuplesInUse, "ipv6_tuples", "IPv6 address pairs held by "     \
    "connections, SYN-queue entries and TIME-WAIT records")

enum class Gauge : uint16_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_ENGINE_GAUGES(SYNWAVE_X)
#undef SYNWAVE_X
  kStateBase,  // one per tcp::TcpState follows
};
inline constexpr size_t kNumEngineGauges =
    static_cast<size_t>(Gauge::kStateBase) + tcp::kNumTcpStates;

// Room in every per-core set for the engine's counters and gauges and the
// applications' blocks. Fixed, so that a CoreCounters is a plain aligned
// array that any core can read while its worker writes.
inline constexpr size_t kMaxCounters = 512;
inline constexpr size_t kMaxGauges = 64;
static_assert(kNumEngineCounters <= kMaxCounters);
static_assert(kNumEngineGauges <= kMaxGauges);

constexpr size_t StateGaugeIndex(tcp::TcpState s) {
  return static_cast<size_t>(Gauge::kStateBase) + static_cast<size_t>(s);
}

// The counter that counts frames the parser rejected with `v`.
constexpr size_t WireDropIndex(wire::Verdict v) {
  return static_cast<size_t>(Counter::kWireDropBase) + static_cast<size_t>(v);
}

// One counter or gauge of an application's block: a stable name (scripts
// and the JSON report use it) and what it means.
struct CounterInfo {
  std::string_view name;
  std::string_view help;
};

// Appends a block of counters (gauges) after those registered so far and
// returns the index of its first. Start-up only: before any worker runs,
// and before the reports size their totals. A name already registered, or
// more than kMaxCounters (kMaxGauges) in all, is a programming error and
// aborts.
size_t RegisterCounterBlock(std::span<const CounterInfo> counters);
size_t RegisterGaugeBlock(std::span<const CounterInfo> gauges);

// Counters (gauges) registered so far, the engine's included.
size_t NumCounters();
size_t NumGauges();

// Name of counter `index` ("drop_ipv4_bad_checksum"); empty for an unused
// or unregistered slot. Names are stable: scripts and the JSON report use
// them.
std::string_view CounterName(size_t index);
std::string_view CounterHelp(size_t index);
std::string_view GaugeName(size_t index);
std::string_view GaugeHelp(size_t index);
// True for the gauges that count connections per TCP state.
constexpr bool IsStateGauge(size_t index) {
  return index >= static_cast<size_t>(Gauge::kStateBase) &&
         index < kNumEngineGauges;
}

// A plain array a worker counts into during one burst.
struct CounterDeltas {
  uint64_t v[kNumDeltaCounters] = {};

  void Add(Counter c, uint64_t n = 1) { v[static_cast<size_t>(c)] += n; }
  void AddDrop(wire::Verdict verdict) { v[WireDropIndex(verdict)] += 1; }
};

// One core's published totals: written only by its worker (and the
// worker's applications, on its thread), read by anyone.
struct alignas(64) CoreCounters {
  uint64_t v[kMaxCounters] = {};
  uint64_t gauge[kMaxGauges] = {};

  // Worker side: sets a value outright (TCP counters kept by the stack,
  // an application's figures, gauges).
  void Store(size_t index, uint64_t value) {
    std::atomic_ref<uint64_t>(v[index]).store(value, std::memory_order_relaxed);
  }
  void StoreGauge(size_t index, uint64_t value) {
    std::atomic_ref<uint64_t>(gauge[index]).store(value,
                                                  std::memory_order_relaxed);
  }
  uint64_t ReadGauge(size_t index) const {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(gauge[index]))
        .load(std::memory_order_relaxed);
  }

  // Worker side: adds a burst's deltas (single writer).
  void Publish(CounterDeltas& deltas) {
    for (size_t i = 0; i < kNumDeltaCounters; ++i) {
      if (deltas.v[i] != 0) {
        std::atomic_ref<uint64_t> c(v[i]);
        c.store(c.load(std::memory_order_relaxed) + deltas.v[i],
                std::memory_order_relaxed);
        deltas.v[i] = 0;
      }
    }
  }

  // Any thread.
  uint64_t Read(size_t index) const {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(v[index]))
        .load(std::memory_order_relaxed);
  }
  uint64_t Read(Counter c) const { return Read(static_cast<size_t>(c)); }
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_COUNTERS_H_
