// Flood: a SYN flood from spoofed sources (synwave load --flood), as an
// application of the worker.
//
// Per core, it sends SYNs to one target from random addresses in
// [src_first, src_last] (or, for an IPv6 target, [src6_first, src6_last])
// and random ports, never completing them, paced by
// a token schedule (or a burst per loop iteration when unpaced). It owns
// the spoofed source range on its worker (Worker::ClaimAddresses): the
// worker answers ARP for those addresses, and the TCP frames sent to them
// (the target's SYN-ACKs and RSTs) come to on_frames, where they are
// counted and freed, never seen by the TCP stack. SYNs are written into
// mbufs from one bulk allocation per burst and sent through the worker's
// Link; the flood never takes the last quarter of the pool, which
// legitimate connections share.
//
// Its counters (flood_*) are a block of the per-core set, registered by
// app::RegisterCounters and stored on on_publish.
#ifndef SYNWAVE_APP_FLOOD_H_
#define SYNWAVE_APP_FLOOD_H_

#include <atomic>
#include <cstdint>

#include "engine/app.h"
#include "engine/counters.h"
#include "wire/addresses.h"

namespace synwave::app {

// X(Enumerator, "name", "meaning").
#define SYNWAVE_FLOOD_COUNTERS(X)                                            \
  X(kSynsOut, "flood_syns_out", "spoofed SYNs the flood sent")               \
  X(kSynAcksIn, "flood_synacks_in", "SYN-ACKs back to spoofed "              \
    "sources")                                                               \
  X(kRstsIn, "flood_rsts_in", "RSTs back to spoofed sources")                \
  X(kOtherIn, "flood_other_in", "other segments back to spoofed "            \
    "sources")                                                               \
  X(kThrottled, "flood_throttled", "flood SYNs not sent: the mbuf pool "     \
    "was below its reserve for legitimate traffic")

enum class FloodCounter : uint16_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_FLOOD_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
  kCount,
};

struct FloodConfig {
  uint32_t target_ip = 0;     // host order
  uint16_t target_port = 0;
  uint32_t src_first = 0;     // host order, inclusive
  uint32_t src_last = 0;
  double pps = 0;             // this worker's share; 0: a burst per loop
  uint16_t burst = 32;        // SYNs per loop iteration at most, <= 64
  uint16_t queue_id = 0;      // seeds the source/port generator per core
  // IPv6: the target and the sources are these (the sources within one
  // /64: their low words are drawn), the next hop from Neighbor Discovery.
  bool ipv6 = false;
  wire::Ipv6Address target_ip6;
  wire::Ipv6Address src6_first;
  wire::Ipv6Address src6_last;
};

class Flood {
 public:
  explicit Flood(const FloodConfig& config);

  engine::AppOps ops();

  // Sending starts at `start_ns` and stops at `stop_ns` (on the worker's
  // clock); nothing is sent before this is called. Any thread may call it
  // while the worker runs.
  void SetSchedule(uint64_t start_ns, uint64_t stop_ns);

  const FloodConfig& config() const { return config_; }
  uint64_t count(FloodCounter c) const {
    return counts_[static_cast<size_t>(c)];
  }

 private:
  static void OnPoll(void* ctx, engine::Link& link, tcp::TcpStack* stack,
                     uint64_t now_ns);
  static void OnFrames(void* ctx, engine::Link& link, rte_mbuf* const* pkts,
                       const wire::PacketInfo* infos, uint16_t n,
                       uint64_t now_ns);
  static void OnPublish(void* ctx, engine::CoreCounters& counters);
  void Send(engine::Link& link, uint64_t now_ns);
  // The next random 64 bits (xorshift64*).
  uint64_t Random() {
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545f4914f6cdd1dull;
  }
  // One IPv6 SYN into `m` from random r.
  void WriteSyn6(engine::Link& link, const wire::MacAddress& dst_mac,
                 uint64_t r, rte_mbuf* m);
  void Count(FloodCounter c, uint64_t n = 1) {
    counts_[static_cast<size_t>(c)] += n;
  }

  FloodConfig config_;
  size_t counter_base_;  // index of flood_syns_out in the per-core set
  uint64_t counts_[static_cast<size_t>(FloodCounter::kCount)] = {};
  std::atomic<uint64_t> start_ns_{0};
  std::atomic<uint64_t> stop_ns_{0};  // nothing before SetSchedule
  uint64_t next_ns_ = 0;     // the token schedule (pps > 0)
  uint32_t pool_checks_ = 0;
  bool pool_low_ = false;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace synwave::app

#endif  // SYNWAVE_APP_FLOOD_H_
