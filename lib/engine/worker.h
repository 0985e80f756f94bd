// Worker: the per-lcore burst loop (ARCHITECTURE.md "Data flow on one core").
//
// One Worker owns one RX/TX queue pair of a port, its neighbour table and its
// counters; nothing in it is shared with other cores. Each PollOnce() is one
// loop iteration, in stages over the whole burst:
//   1. rx burst;
//   2. L2 filter and parse/validate every frame into a PacketInfo (software
//      checksums where the NIC gave no verdict);
//   3. classify and process: ARP (answer requests for our address, learn
//      neighbours), ICMP echo (answered in place), TCP: the burst's
//      segments go to the stack at once (tcp::TcpStack::InputBurst: one
//      bulk table lookup, SYN cookies in vector lanes, then the state
//      machine segment by segment); replies without payload are written
//      into the received mbuf;
//   4. timers (retransmissions, TIME-WAIT expiry), then the application's
//      events for the whole burst, then the stack's Flush of what became
//      sendable (responses carry the ACKs they piggyback);
//   5. housekeeping with the same `now`: neighbour expiry and keeping the
//      gateway resolved;
//   6. one tx burst of everything the iteration produced.
// Replies reuse the received mbuf. Nothing is allocated per packet except
// the mbuf of an ARP request we originate. PollOnce takes the time so tests
// can run it on a virtual clock; Run() drives it from the TSC.
#ifndef SYNWAVE_ENGINE_WORKER_H_
#define SYNWAVE_ENGINE_WORKER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/app.h"
#include "engine/counters.h"
#include "engine/neighbor.h"
#include "tcp/config.h"
#include "tcp/siphash.h"
#include "tcp/stack.h"
#include "port/port.h"
#include "wire/addresses.h"
#include "wire/build.h"
#include "wire/parse.h"

struct rte_mbuf;
struct rte_mempool;

namespace synwave::engine {

inline constexpr uint16_t kMaxBurst = 64;

// The frozen per-core copy of what the worker needs from the config.
struct WorkerConfig {
  wire::Ipv4Prefix ip;                      // our address and subnet
  std::optional<wire::Ipv4Address> gateway; // next hop off the subnet
  uint16_t burst = 32;                      // frames per rx burst, <= 64
  size_t neighbor_capacity = 64;            // entries
  uint64_t neighbor_reachable_ns = 60'000'000'000;  // as Linux gc_stale_time
  uint64_t neighbor_retry_ns = 1'000'000'000;       // between ARP requests
  uint64_t housekeeping_ns = 100'000'000;   // neighbour expiry/refresh period

  // TCP: on when there is at least one listening port or `tcp_active`.
  std::vector<uint16_t> listen_ports;
  bool tcp_active = false;                  // the application connects out
  // More local addresses (a load generator's client range), host order,
  // inclusive; 0/0 for none. Answered to ARP and accepted like `ip`.
  uint32_t local_ip_first = 0;
  uint32_t local_ip_last = 0;
  tcp::TcpConfig tcp;
  tcp::SipKey secret;                       // ISNs (and, later, SYN cookies)
  uint64_t hash_seed = 0;                   // flow table hash key
  uint32_t accept_batch = 0xffffffff;       // accepts per iteration
};

// A SYN flood from spoofed sources (synwave load --flood): SYNs to
// target from random addresses in [src_first, src_last] and random ports,
// never completed. What comes back to those addresses is counted and freed.
struct FloodConfig {
  uint32_t target_ip = 0;     // host order
  uint16_t target_port = 0;
  uint32_t src_first = 0;     // host order, inclusive
  uint32_t src_last = 0;
  double pps = 0;             // this worker's share; 0: a burst per loop
  uint64_t start_ns = 0;      // on the worker's clock
  uint64_t stop_ns = ~uint64_t{0};
};

// The queue pair a worker owns.
struct QueueBinding {
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  rte_mempool* pool = nullptr;  // for frames the worker originates
  wire::MacAddress mac;         // the port's address
  port::Offloads offloads;
};

// A MAC address as the stack's opaque next-hop hint (never zero).
uint64_t PeerL2(const wire::MacAddress& mac);

class Worker {
 public:
  Worker(const WorkerConfig& config, const QueueBinding& queue,
         CoreCounters* counters, AppOps app = {});
  ~Worker();

  // One loop iteration at time `now_ns` (any monotonic nanosecond clock).
  void PollOnce(uint64_t now_ns);

  // Polls until `stop` becomes true, with the TSC as clock.
  void Run(const std::atomic<bool>& stop);

  // The address a packet to `dst` is sent to on the link: dst itself when
  // on-link, else the gateway (nullopt if there is none).
  std::optional<wire::Ipv4Address> NextHop(wire::Ipv4Address dst) const;

  // The MAC of dst's next hop, or nullptr while it is being resolved (an ARP
  // request goes out, at most once per retry interval).
  const wire::MacAddress* ResolveNextHop(wire::Ipv4Address dst,
                                         uint64_t now_ns);

  const NeighborTable& neighbors() const { return neighbors_; }

  // The TCP stack (nullptr when no port listens).
  tcp::TcpStack* stack() { return stack_.get(); }

  // Adds a SYN flood to this worker's loop (before it runs).
  void SetFlood(const FloodConfig& flood);

  // Publishes every counter and gauge now (also done once per busy
  // iteration and periodically when idle).
  void PublishCounters();

 private:
  // Stage 2 for one frame: L2 filter and parse. Returns false if dropped.
  bool Accept(rte_mbuf* m, wire::PacketInfo* info);
  void HandleArp(rte_mbuf* m, const wire::PacketInfo& info, uint64_t now_ns);
  void HandleIcmp(rte_mbuf* m, const wire::PacketInfo& info);
  void HandleTcpBurst(rte_mbuf** pkts, const wire::PacketInfo* infos,
                      uint16_t n, uint64_t now_ns);
  // Turns the stack's pending output into frames. `rx` holds the burst's
  // segments: the first reply without payload to segment k is written over
  // rx[k]; the rest of rx is freed.
  void EmitTcpOutput(rte_mbuf** rx, uint16_t num_rx, uint64_t now_ns);
  void SendArpRequest(wire::Ipv4Address target);
  void SendFlood(uint64_t now_ns);
  void WriteTcpFrame(rte_mbuf* m, const wire::TcpSegmentSpec& spec,
                     const tcp::OutSegment* payload);
  bool InFloodRange(wire::Ipv4Address ip) const {
    return flood_ && ip.value >= flood_->src_first && ip.value <= flood_->src_last;
  }
  void Housekeeping(uint64_t now_ns);

  void Transmit(rte_mbuf* m);
  void Drop(rte_mbuf* m) { to_free_[num_free_++] = m; }
  bool IsLocal(wire::Ipv4Address ip) const {
    return ip == config_.ip.address ||
           (ip.value >= config_.local_ip_first && ip.value <= config_.local_ip_last &&
            config_.local_ip_first != 0) ||
           InFloodRange(ip);
  }
  void FlushTx();

  WorkerConfig config_;
  QueueBinding queue_;
  CoreCounters* counters_;
  CounterDeltas deltas_;
  NeighborTable neighbors_;
  uint64_t next_housekeeping_ns_ = 0;
  std::unique_ptr<tcp::TcpStack> stack_;
  AppOps app_;
  // How TX checksums are made: by the NIC where it offers them.
  wire::ChecksumMode ip_mode_;
  wire::ChecksumMode tcp_mode_;
  uint32_t idle_polls_ = 0;
  std::optional<FloodConfig> flood_;
  uint64_t next_flood_ns_ = 0;
  uint32_t flood_pool_checks_ = 0;
  bool flood_pool_low_ = false;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
  uint16_t ip_id_ = 0;

  // Per-iteration arrays: replies for the one tx burst, mbufs to free in
  // bulk. Sized for a full burst of replies plus originated frames.
  static constexpr uint16_t kTxCapacity = 2 * kMaxBurst;
  // Per-burst scratch, kept here so that nothing is cleared per poll.
  wire::PacketInfo info_[kMaxBurst];
  wire::PacketInfo tcp_info_[kMaxBurst];
  flow::FlowKey keys_[kMaxBurst];
  tcp::Segment segs_[kMaxBurst];
  rte_mbuf* tx_[kTxCapacity];
  uint16_t num_tx_ = 0;
  rte_mbuf* to_free_[kMaxBurst];
  uint16_t num_free_ = 0;
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_WORKER_H_
