// Proxy: `synwave proxy` as an application of the worker (engine/app.h),
// the DPDK side of ProxyCore (proxy_core.h, where the design is).
//
// The proxy has a client side (the VIP, on --port) and a backend side
// (--backend-ip, on --backend-port), each a Link. With two ports, one
// lcore polls two workers, one per port, and the proxy is an application
// of both: their frames come to on_frames, and what it sends goes out on
// the link of the side it is for. With one port (one-armed) both sides
// are the same link. Its worker(s) give it:
//   - the VIP (ARP answered), whose TCP is the clients';
//   - on the backend side, every other address without ARP
//     (Worker::ClaimAddresses(..., answer_arp=false)): the backends answer
//     the clients' own addresses, routed through --backend-ip, and those
//     frames must reach the proxy; the backend-side address answers ARP.
// Only the primary worker's copy of the ops polls (sweep, probes, ARP for
// the backends) and publishes, so that nothing is done or counted twice.
// Per-core: each worker core runs its own Proxy with its own flows and
// probes. With several workers, the frames of a flow can arrive on any of
// them (RSS hashes the client's side and the backend's side differently):
// each frame goes to the worker that owns its flow (ProxyCore::Owner, the
// same on every worker), handed over through a single-producer,
// single-consumer ring per pair of workers and taken from it on the
// owner's next poll; SYNs are answered where they arrive (cookies need no
// state). Any device works this way, with or without symmetric RSS.
// An IPv6 proxy (ProxyConfig::ipv6) is the same with IPv6 claims
// (Worker::ClaimAddresses6), its frames handled by ProxyCore::Process6 and
// its backends resolved by the backend side's Neighbor Discovery
// (SetNeighborDiscovery); the frames it writes carry a TCP checksum
// computed in software.
#ifndef SYNWAVE_APP_PROXY_H_
#define SYNWAVE_APP_PROXY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "app/proxy_core.h"
#include "engine/app.h"
#include "engine/counters.h"
#include "engine/link.h"

struct rte_mbuf;
struct rte_ring;

namespace synwave::engine {
class NeighborDiscovery;
}  // namespace synwave::engine

namespace synwave::app {

// A reload's backend list, published by the main lcore and taken by each
// worker's proxy on its next poll (a safe point: between bursts): one
// pointer, stored with release and loaded with acquire, no lock. The
// publisher keeps every list it published until the workers have stopped.
struct ProxyBackendUpdates {
  std::atomic<const ProxyBackendSlots*> current{nullptr};
};

// An IPv6 proxy's backend MACs as any worker resolved them, for the
// others: a multi-queue device may deliver every Neighbor Advertisement
// for a backend to one queue (the kernel hashes identical answers to the
// same one), so the workers on the other queues would never resolve it
// themselves. Each MAC packed as engine::PeerL2 (0: none), stored and
// loaded relaxed: a MAC is whole in one word, and a late one only delays
// a flow like an unresolved one.
struct ProxySharedMacs {
  std::atomic<uint64_t> mac[kMaxProxyBackends] = {};
};

class Proxy : public ProxyOutput {
 public:
  explicit Proxy(const ProxyConfig& config);
  ~Proxy() override;
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Several workers: this proxy is worker `self` of `to.size()`; to[w] is
  // the ring to worker w, from[w] the ring from it (null for self). The
  // proxy frees its `from` rings (and what is left in them) when it goes.
  void SetHandoff(int self, std::vector<rte_ring*> to,
                  std::vector<rte_ring*> from);

  // `primary`: the copy that polls and publishes (exactly one per Proxy).
  engine::AppOps ops(bool primary);

  // The links of the two sides (the same one when one-armed); before the
  // first poll.
  void SetLinks(engine::Link* client_side, engine::Link* backend_side) {
    client_ = client_side;
    backend_ = backend_side;
  }

  // Where reloads are published (null: none); before the first poll.
  void SetBackendUpdates(const ProxyBackendUpdates* updates) {
    updates_ = updates;
  }

  // An IPv6 proxy: the backend side's Neighbor Discovery (its worker's),
  // which resolves the backends; before the first poll.
  void SetNeighborDiscovery(engine::NeighborDiscovery* nd) { nd6_ = nd; }
  // The MACs shared by the proxies of all queues (IPv6, several workers).
  void SetSharedMacs(std::shared_ptr<ProxySharedMacs> macs) {
    shared_macs_ = std::move(macs);
  }

  ProxyCore& core() { return core_; }
  const ProxyCore& core() const { return core_; }

  void Send(bool to_backend, const wire::TcpSegmentSpec& spec) override;
  void Send(bool to_backend, const wire::Tcp6SegmentSpec& spec) override;

 private:
  static void OnFrames(void* ctx, engine::Link& link, rte_mbuf* const* pkts,
                       const wire::PacketInfo* infos, uint16_t n,
                       uint64_t now_ns);
  static void OnPoll(void* ctx, engine::Link& link, tcp::TcpStack* stack,
                     uint64_t now_ns);
  static void OnPublish(void* ctx, engine::CoreCounters& counters);
  // `slot`: the frame's place in the burst PrepareSyns (PrepareSyns6) saw,
  // or -1.
  void Handle(rte_mbuf* m, const wire::PacketInfo& info, engine::Link& link,
              uint64_t now_ns, wire::TcpSegmentSpec* spec, int slot);
  void Handle6(rte_mbuf* m, const wire::PacketInfo& info, engine::Link& link,
               uint64_t now_ns, int slot);
  void DrainHandoff(uint64_t now_ns);

  ProxyCore core_;
  engine::Link* client_ = nullptr;
  engine::Link* backend_ = nullptr;
  uint64_t next_resolve_ns_ = 0;
  const ProxyBackendUpdates* updates_ = nullptr;
  engine::NeighborDiscovery* nd6_ = nullptr;
  std::shared_ptr<ProxySharedMacs> shared_macs_;
  wire::MacAddress backend_mac6_[kMaxProxyBackends];  // taken from them
  void ResolveBackend6(int b, uint64_t now_ns);
  const ProxyBackendSlots* seen_ = nullptr;  // the last list taken
  int self_ = 0;
  int workers_ = 1;
  std::vector<rte_ring*> to_;
  std::vector<rte_ring*> from_;
  size_t counter_base_;
  size_t backend_base_;
  size_t gauge_base_;
};

}  // namespace synwave::app

#endif  // SYNWAVE_APP_PROXY_H_
