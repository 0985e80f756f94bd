// Link: one core's link layer on one queue pair, the narrow interface
// through which the worker and its applications put frames on the wire.
//
// It holds what sending needs and nothing of TCP: the neighbour table and
// ARP resolution of next hops (with the gateway kept fresh), frame writing
// with the TX checksum modes fixed at start-up (the NIC's where it offers
// them), the TX batch that leaves in one rte_eth_tx_burst per loop
// iteration, the batch of mbufs to free in bulk, and mbuf allocation from
// the queue's pool. The worker owns one per queue pair it polls and hands
// it to its applications (AppOps), so an application can resolve a next
// hop, write and transmit frames, or free frames it was handed, without
// reaching into the worker. A worker that serves two ports (a SYN proxy's
// client side and backend side) would own one Link per port.
//
// Single-threaded, per core, no allocation after construction; the counts
// it makes (tx, ARP requests, drops) go into its worker's CounterDeltas.
#ifndef SYNWAVE_ENGINE_LINK_H_
#define SYNWAVE_ENGINE_LINK_H_

#include <cstdint>
#include <cstring>
#include <optional>

#include "engine/counters.h"
#include "engine/neighbor.h"
#include "port/port.h"
#include "wire/addresses.h"
#include "wire/build.h"

struct rte_mbuf;
struct rte_mempool;

namespace synwave::engine {

inline constexpr uint16_t kMaxBurst = 64;

class Capture;
class NeighborDiscovery;

// The queue pair a worker owns.
struct QueueBinding {
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  rte_mempool* pool = nullptr;  // for frames the worker originates
  wire::MacAddress mac;         // the port's address
  port::Offloads offloads;
  Capture* capture = nullptr;   // --pcap: frames in and out copied there
};

// What the link layer needs from the worker's frozen config.
struct LinkConfig {
  wire::Ipv4Prefix ip;                              // our address and subnet
  std::optional<wire::Ipv4Address> gateway;         // next hop off the subnet
  size_t neighbor_capacity = 64;                    // entries
  uint64_t neighbor_reachable_ns = 60'000'000'000;  // as Linux gc_stale_time
  uint64_t neighbor_retry_ns = 1'000'000'000;       // between ARP requests
  uint64_t housekeeping_ns = 100'000'000;  // neighbour expiry/refresh period
};

// A MAC address as the TCP stack's opaque next-hop hint (never zero), and
// back. Inline: the worker takes one per received segment.
inline uint64_t PeerL2(const uint8_t* mac) {
  uint64_t v = 0;
  std::memcpy(&v, mac, 6);
  return v | (uint64_t{1} << 63);
}
inline uint64_t PeerL2(const wire::MacAddress& mac) {
  return PeerL2(mac.bytes.data());
}
inline wire::MacAddress MacFromPeerL2(uint64_t peer_l2) {
  wire::MacAddress m;
  std::memcpy(m.bytes.data(), &peer_l2, 6);
  return m;
}

class Link {
 public:
  // Frames queued for one tx burst: a full burst of replies plus the
  // frames the iteration originates; more are sent in an extra burst.
  static constexpr uint16_t kTxCapacity = 2 * kMaxBurst;

  Link(const LinkConfig& config, const QueueBinding& queue,
       CounterDeltas* deltas);
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  const QueueBinding& queue() const { return queue_; }
  const wire::MacAddress& mac() const { return queue_.mac; }
  // The same as the frame writers' word (wire/tcp_writer.h).
  uint64_t mac_word() const { return mac_word_; }
  // The TX checksum modes, and the mbuf offload flags a TCP/IPv4 frame
  // needs for them (0 when everything is summed in software).
  wire::ChecksumMode ip_mode() const { return ip_mode_; }
  wire::ChecksumMode tcp_mode() const { return tcp_mode_; }
  uint64_t tcp_tx_flags() const { return tcp_tx_flags_; }
  rte_mempool* pool() const { return queue_.pool; }

  // The address a packet to `dst` is sent to on the link: dst itself when
  // on-link, else the gateway (nullopt if there is none).
  std::optional<wire::Ipv4Address> NextHop(wire::Ipv4Address dst) const;

  // The MAC of dst's next hop, or nullptr while it is being resolved (an ARP
  // request goes out, at most once per retry interval).
  const wire::MacAddress* ResolveNextHop(wire::Ipv4Address dst,
                                         uint64_t now_ns);

  // The same for IPv6, through the worker's Neighbor Discovery (nd.h):
  // nullptr while a solicitation is outstanding, or always on a link
  // without IPv6.
  const wire::MacAddress* ResolveNextHop(const wire::Ipv6Address& dst,
                                         uint64_t now_ns);
  // Set by the worker when it has IPv6.
  void set_nd(NeighborDiscovery* nd) { nd_ = nd; }

  const NeighborTable& neighbors() const { return neighbors_; }
  NeighborTable& neighbors() { return neighbors_; }

  // Neighbour expiry and keeping the gateway resolved, once per
  // housekeeping period.
  void Tick(uint64_t now_ns) {
    if (now_ns >= next_housekeeping_ns_) Housekeeping(now_ns);
  }

  // An mbuf from the queue's pool, or nullptr (counted as drop_no_mbuf).
  rte_mbuf* Alloc();

  // The IPv4 identification for the next frame this link originates.
  uint16_t NextIpId() { return ip_id_++; }

  // Writes a TCP frame without payload into `m` (spec.payload_length must
  // be 0), sets its lengths and asks the NIC for the checksums it offers.
  void WriteTcpFrame(rte_mbuf* m, const wire::TcpSegmentSpec& spec);
  // For a frame with payload: TcpPayload lays the frame out and returns
  // where its spec.payload_length bytes go; write them, then
  // FinishTcpFrame writes the headers (their checksum covers the payload).
  uint8_t* TcpPayload(rte_mbuf* m, const wire::TcpSegmentSpec& spec);
  void FinishTcpFrame(rte_mbuf* m, const wire::TcpSegmentSpec& spec);

  // Queues `m` for this iteration's tx burst (the link owns it from now).
  void Transmit(rte_mbuf* m) {
    if (num_tx_ == kTxCapacity) FlushTx();
    tx_[num_tx_++] = m;
  }
  // Frees `m` with the iteration's other dead mbufs, in bulk.
  void Free(rte_mbuf* m) {
    if (num_free_ == kFreeCapacity) FreePending();
    to_free_[num_free_++] = m;
  }

  // End of an iteration: the tx burst (what the queue refuses is freed and
  // counted), then the bulk free. FlushTx returns whether anything was
  // queued for sending.
  bool FlushTx();
  void FreePending();

 private:
  static constexpr uint16_t kFreeCapacity = kMaxBurst;

  void Housekeeping(uint64_t now_ns);
  void SendArpRequest(wire::Ipv4Address target);
  void SetTxOffloads(rte_mbuf* m) const;

  LinkConfig config_;
  QueueBinding queue_;
  CounterDeltas* deltas_;
  NeighborTable neighbors_;
  NeighborDiscovery* nd_ = nullptr;
  uint64_t next_housekeeping_ns_ = 0;
  // How TX checksums are made: by the NIC where it offers them.
  wire::ChecksumMode ip_mode_;
  wire::ChecksumMode tcp_mode_;
  uint64_t tcp_tx_flags_ = 0;
  uint64_t mac_word_ = 0;
  uint16_t ip_id_ = 0;

  rte_mbuf* tx_[kTxCapacity];
  uint16_t num_tx_ = 0;
  rte_mbuf* to_free_[kFreeCapacity];
  uint16_t num_free_ = 0;
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_LINK_H_
