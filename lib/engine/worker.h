// Worker: the per-lcore burst loop (ARCHITECTURE.md "Data flow on one core").
//
// One Worker owns one RX/TX queue pair of a port, its neighbour table and its
// counters; nothing in it is shared with other cores. Each PollOnce() is one
// loop iteration, in stages over the whole burst:
//   1. rx burst;
//   2. L2 filter and parse/validate every frame into a PacketInfo (software
//      checksums where the NIC gave no verdict);
//   3. classify and process: ARP (answer requests for our address, learn
//      neighbours), ICMP echo (answered in place), TCP (the next stage; until
//      a TCP handler exists such segments are dropped and counted);
//   4. one tx burst of everything the burst produced;
//   5. housekeeping with the same `now`: neighbour expiry and keeping the
//      gateway resolved.
// Replies reuse the received mbuf. Nothing is allocated per packet except
// the mbuf of an ARP request we originate. PollOnce takes the time so tests
// can run it on a virtual clock; Run() drives it from the TSC.
#ifndef SYNWAVE_ENGINE_WORKER_H_
#define SYNWAVE_ENGINE_WORKER_H_

#include <atomic>
#include <cstdint>
#include <optional>

#include "engine/counters.h"
#include "engine/neighbor.h"
#include "port/port.h"
#include "wire/addresses.h"
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
};

// The queue pair a worker owns.
struct QueueBinding {
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  rte_mempool* pool = nullptr;  // for frames the worker originates
  wire::MacAddress mac;         // the port's address
  port::Offloads offloads;
};

class Worker {
 public:
  Worker(const WorkerConfig& config, const QueueBinding& queue,
         CoreCounters* counters);

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

 private:
  // Stage 2 for one frame: L2 filter and parse. Returns false if dropped.
  bool Accept(rte_mbuf* m, wire::PacketInfo* info);
  void HandleArp(rte_mbuf* m, const wire::PacketInfo& info, uint64_t now_ns);
  void HandleIcmp(rte_mbuf* m, const wire::PacketInfo& info);
  void SendArpRequest(wire::Ipv4Address target);
  void Housekeeping(uint64_t now_ns);

  void Transmit(rte_mbuf* m);
  void Drop(rte_mbuf* m) { to_free_[num_free_++] = m; }
  void FlushTx();

  WorkerConfig config_;
  QueueBinding queue_;
  CoreCounters* counters_;
  CounterDeltas deltas_;
  NeighborTable neighbors_;
  uint64_t next_housekeeping_ns_ = 0;

  // Per-iteration arrays: replies for the one tx burst, mbufs to free in
  // bulk. Sized for a full burst of replies plus originated frames.
  static constexpr uint16_t kTxCapacity = 2 * kMaxBurst;
  rte_mbuf* tx_[kTxCapacity];
  uint16_t num_tx_ = 0;
  rte_mbuf* to_free_[kMaxBurst];
  uint16_t num_free_ = 0;
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_WORKER_H_
