// Worker: the per-lcore burst loop (ARCHITECTURE.md "Data flow on one core").
//
// One Worker owns one RX/TX queue pair of a port (through its Link: the
// neighbour table, the tx batch), its TCP stack, its local addresses and
// its counters; nothing in it is shared with other cores. Each PollOnce()
// is one loop iteration, in stages over the whole burst:
//   1. rx burst;
//   2. L2 filter and parse/validate every frame into a PacketInfo (software
//      checksums where the NIC gave no verdict), and look its destination
//      up in the local address table, which names the owner of its TCP;
//   3. classify and process: ARP (answer requests for our addresses, learn
//      neighbours), ICMP echo (answered in place), TCP by owner: the
//      stack's segments go to it at once (tcp::TcpStack::InputBurst: one
//      bulk table lookup, SYN cookies in vector lanes, then the state
//      machine segment by segment) and replies without payload are written
//      into the received mbuf; an application's frames go to its
//      on_frames; TCP with no owner is counted and dropped;
//   4. timers (retransmissions, TIME-WAIT expiry), the stack's events for
//      the whole burst and its application's per-poll hook, then the
//      stack's Flush of what became sendable (responses carry the ACKs they
//      piggyback), then the other applications' per-poll hooks;
//   5. link housekeeping with the same `now`: neighbour expiry and keeping
//      the gateway resolved;
//   6. one tx burst of everything the iteration produced.
// Replies reuse the received mbuf. Nothing is allocated per packet except
// the mbuf of an ARP request we originate. The per-packet path has no test
// for any particular application: what differs between serve, load and a
// flood is the address table and the application list. PollOnce takes the
// time so tests can run it on a virtual clock; Run() drives it from the TSC.
#ifndef SYNWAVE_ENGINE_WORKER_H_
#define SYNWAVE_ENGINE_WORKER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/admission.h"
#include "engine/app.h"
#include "engine/counters.h"
#include "engine/link.h"
#include "engine/local_addresses.h"
#include "engine/nd.h"
#include "tcp/config.h"
#include "tcp/siphash.h"
#include "tcp/stack.h"
#include "wire/addresses.h"
#include "wire/classify.h"
#include "wire/parse.h"

struct rte_mbuf;

namespace synwave::engine {

// The frozen per-core copy of what the worker needs from the config.
struct WorkerConfig {
  // Our IPv4 address and subnet; 0.0.0.0 for none (IPv6 only: IPv4 and
  // ARP frames are then dropped as ipv4_disabled, nothing listens on IPv4).
  wire::Ipv4Prefix ip;
  std::optional<wire::Ipv4Address> gateway; // next hop off the subnet
  // IPv6 (none: IPv6 frames are dropped as ipv6_disabled). With it comes
  // the link-local address made from the port's MAC (engine/nd.h).
  std::optional<wire::Ipv6Prefix> ip6;      // our global address, prefix
  std::optional<wire::Ipv6Address> gateway6;  // link-local or on-prefix
  uint16_t burst = 32;                      // frames per rx burst, <= 64
  size_t neighbor_capacity = 64;            // entries
  uint64_t neighbor_reachable_ns = 60'000'000'000;  // as Linux gc_stale_time
  uint64_t neighbor_retry_ns = 1'000'000'000;       // between ARP requests
  uint64_t housekeeping_ns = 100'000'000;   // neighbour expiry/refresh period

  // TCP: on when there is at least one listening port or `tcp_active`.
  std::vector<uint16_t> listen_ports;
  bool tcp_active = false;                  // the application connects out
  // More local addresses for the stack (a load generator's client range),
  // host order, inclusive; 0/0 for none. Answered to ARP and accepted like
  // `ip`.
  uint32_t local_ip_first = 0;
  uint32_t local_ip_last = 0;
  // The same for IPv6 (with ip6): [first, last] in numeric order; :: for
  // none. Answered to Neighbor Discovery and echo like ip6.
  wire::Ipv6Address local_ip6_first;
  wire::Ipv6Address local_ip6_last;
  tcp::TcpConfig tcp;
  tcp::SipKey secret;                       // ISNs and SYN cookies
  uint64_t hash_seed = 0;                   // flow table hash key
  uint32_t accept_batch = 0xffffffff;       // accepts per iteration
  // While busy, counters and gauges are published at most this often
  // (PollOnce's clock); always at the first idle iteration after busy ones
  // and on PublishCounters(). 0: after every busy iteration.
  uint64_t publish_interval_ns = 100'000;
  AdmissionConfig admission;                // new connections while behind
};

class Worker {
 public:
  // Applications a worker runs at most (a stack user, a flood, a proxy...).
  static constexpr int kMaxApps = 4;

  // `app`, if not empty, is added as the first application (AddApp).
  Worker(const WorkerConfig& config, const QueueBinding& queue,
         CoreCounters* counters, AppOps app = {});
  ~Worker();

  // Adds an application (before the first PollOnce). At most one may take
  // the stack's events (on_event). Returns its slot, or -1 when the list
  // is full or a second application asks for the stack's events.
  int AddApp(const AppOps& app);

  // Makes [first, last] (host order, inclusive) local addresses owned by
  // application `slot` (which must have on_frames): answered to ARP and
  // ICMP echo, and their TCP goes to the application, not to the stack.
  // False when the address table is full or the slot cannot take frames.
  // With `answer_arp` false the range only routes TCP to the application
  // (LocalAddresses::Add): ARP and ICMP echo for it are not answered.
  bool ClaimAddresses(uint32_t first, uint32_t last, int slot,
                      bool answer_arp = true);

  // ClaimAddresses for IPv6 (with WorkerConfig::ip6; false without):
  // Neighbor Discovery and echo are answered for them unless `answer_nd`
  // is false.
  bool ClaimAddresses6(const wire::Ipv6Address& first,
                       const wire::Ipv6Address& last, int slot,
                       bool answer_nd = true);

  // One loop iteration at time `now_ns` (any monotonic nanosecond clock).
  void PollOnce(uint64_t now_ns);

  // Polls until `stop` becomes true, with the TSC as clock.
  void Run(const std::atomic<bool>& stop);

  // The link layer: next hops, neighbours, frames out.
  Link& link() { return link_; }
  const Link& link() const { return link_; }

  // IPv6's Neighbor Discovery, addresses and echo (nullptr without ip6).
  NeighborDiscovery* nd() { return nd_.get(); }

  // The TCP stack (nullptr when no port listens and nothing connects out).
  tcp::TcpStack* stack() { return stack_.get(); }

  // Publishes every counter and gauge now. PollOnce also does, while busy
  // once per WorkerConfig::publish_interval_ns, at the first idle iteration
  // after busy ones and every 1024 idle iterations; a reader that needs
  // exact values while the worker runs sees them within one interval, and
  // after the worker stops once this is called.
  void PublishCounters();

 private:
  // Stage 2 for one frame: L2 filter, parse, and the owner of its
  // destination's TCP (LocalAddresses). Returns kNotLocal if it dropped
  // the frame (not for us, or malformed).
  uint8_t ParseRx(rte_mbuf* m, wire::PacketInfo* info);
  // Stage 2 for the whole burst (rx_burst.cc): the common frames (IPv4 TCP
  // to our address, wire::BurstClassifier) parsed by wire::ParseTcp4Fast
  // straight into the stack's input (keys_, segs_, `tcp_pkts`), the others
  // through ParseRx into info_/owner_; the stack's IPv4 TCP among those
  // joins the stack's input there too, in arrival order, and leaves
  // owner_ kNotLocal. Returns the stack's IPv4 segments; `*rest` is set to
  // the frames left for stage 3 (owner_ not kNotLocal).
  uint16_t ParseBurst(rte_mbuf** rx, uint16_t n, rte_mbuf** tcp_pkts,
                      uint16_t* rest);
  // Whether the fast path may take frames to config_.ip: the stack owns
  // its TCP (no application claimed it).
  void UpdateFastPath();
  // Its IPv6 part (worker_ipv6.cc): the owner from NeighborDiscovery, or
  // the frame dropped as ipv6_disabled without ip6.
  uint8_t ParseRx6(rte_mbuf* m, wire::PacketInfo* info);
  // ParseRx for a frame to another MAC than ours or broadcast: one of the
  // group MACs IPv6 needs (all-nodes, our solicited-node groups) goes on
  // to ParseRx6, anything else is dropped as drop_eth_not_for_us. Out of
  // line, so that ParseRx's own path keeps its registers.
  uint8_t ParseRxGroup(rte_mbuf* m, wire::PacketInfo* info);
  void SetUpIpv6(const QueueBinding& queue, uint8_t tcp_owner);
  // The stack's IPv6 segments of this burst (tcp6_pkts_, tcp6_info_):
  // one InputBurst over their FlowKey6s, then the output as for IPv4.
  void HandleTcp6Burst(uint16_t n, uint64_t now_ns);
  // The buffer for an output segment, its payload in place (tcp_output.cc).
  rte_mbuf* TxBuffer(const tcp::OutSegment& o, rte_mbuf** rx, bool reply,
                     size_t l3_length, uint64_t& reused);
  // One IPv6 output segment as a frame (EmitTcpOutput's IPv6 branch): a
  // reply without payload over its segment's buffer (a bit in `reused`,
  // returned updated: by value, so that the IPv4 loop keeps it in a
  // register), else a new mbuf; the next hop from Neighbor Discovery.
  uint64_t EmitTcp6Segment(const tcp::OutSegment& o, rte_mbuf** rx,
                           uint16_t num_rx, uint64_t reused, uint64_t now_ns);
  void HandleArp(rte_mbuf* m, const wire::PacketInfo& info, uint64_t now_ns);
  void HandleIcmp(rte_mbuf* m, const wire::PacketInfo& info);
  // The stack's IPv4 segments of this burst (keys_, segs_, `pkts`).
  void HandleTcpBurst(rte_mbuf** pkts, uint16_t n, uint64_t now_ns);
  // The stack's Segment for a parsed TCP frame of either family.
  static void FillSegment(const wire::PacketInfo& in, const uint8_t* frame,
                          tcp::Segment& seg) {
    seg.seq = in.seq;
    seg.ack = in.ack;
    seg.flags = in.tcp_flags;
    seg.window = in.window;
    seg.payload_length = in.payload_length;
    seg.payload = frame + in.payload_offset;
    seg.options = in.options;
    seg.peer_l2 =
        PeerL2(reinterpret_cast<const wire::EthernetHeader*>(frame)->src);
  }
  // Turns the stack's pending output into frames. `rx` holds the burst's
  // segments: the first reply without payload to segment k is written over
  // rx[k]; the rest of rx is freed.
  void EmitTcpOutput(rte_mbuf** rx, uint16_t num_rx, uint64_t now_ns);
  // Hands each application the TCP frames gathered for it this burst.
  void DeliverAppFrames(uint64_t now_ns);
  void Drop(rte_mbuf* m) { link_.Free(m); }
  // Admission control (engine/admission.h) for a segment the stack owns:
  // false for the SYN of a new connection it refuses (counted).
  bool Admit(const wire::PacketInfo& info) { return Admit(info.tcp_flags); }
  bool Admit(uint8_t tcp_flags) {
    if (!admission_.enabled() ||
        (tcp_flags & (wire::tcp_flags::kSyn | wire::tcp_flags::kAck)) !=
            wire::tcp_flags::kSyn ||
        admission_.AdmitSyn()) {
      return true;
    }
    deltas_.Add(Counter::kDropTcpAdmission);
    return false;
  }

  WorkerConfig config_;
  CoreCounters* counters_;
  CounterDeltas deltas_;
  Link link_;
  LocalAddresses locals_;
  std::unique_ptr<NeighborDiscovery> nd_;
  std::unique_ptr<tcp::TcpStack> stack_;
  Admission admission_;
  AppOps apps_[kMaxApps];
  int num_apps_ = 0;
  // The application that takes the stack's events (-1: none), and a copy
  // of its hook for the per-event call.
  int stack_app_ = -1;
  void (*on_event_)(void* ctx, tcp::TcpStack& stack, const tcp::AppEvent& ev,
                    uint64_t now_ns) = nullptr;
  void* event_ctx_ = nullptr;
  uint32_t idle_polls_ = 0;
  bool ipv4_ = true;  // config_.ip is set (false: an IPv6-only worker)
  // Busy iterations' counts not published yet, and when PollOnce last
  // published (its clock).
  bool unpublished_ = false;
  uint64_t published_ns_ = 0;
  // Our subnet's directed broadcast, never a source (RFC 1122 3.2.1.3);
  // 0 for /31 and /32 prefixes, which have none (RFC 3021).
  uint32_t subnet_broadcast_ = 0;
  // The receive fast path's template (our MAC and config_.ip), and whether
  // it is on (UpdateFastPath).
  wire::BurstClassifier classifier_;
  bool fast_path_ = false;

  // Per-burst scratch, kept here so that nothing is cleared per poll.
  wire::PacketInfo info_[kMaxBurst];
  uint8_t owner_[kMaxBurst];
  flow::FlowKey keys_[kMaxBurst];
  rte_mbuf* tcp6_pkts_[kMaxBurst];
  wire::PacketInfo tcp6_info_[kMaxBurst];
  flow::FlowKey6 keys6_[kMaxBurst];
  tcp::Segment segs_[kMaxBurst];
  // TCP frames for each application's on_frames.
  rte_mbuf* app_pkts_[kMaxApps][kMaxBurst];
  wire::PacketInfo app_info_[kMaxApps][kMaxBurst];
  uint16_t num_app_pkts_[kMaxApps] = {};
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_WORKER_H_
