// Port: one DPDK ethdev configured with one RX and one TX queue per worker.
//
// Opening a port finds the device the EAL probed, creates its mbuf pool,
// turns on the checksum offloads the device has (and reports which, so the
// datapath knows when to compute checksums in software: net_tap and net_ring
// have none), enables RSS when it has several queues (IPv4 and IPv6 TCP by
// their 4-tuples, as far as the device offers), and gives it a MAC
// address if the driver left it all zeros (net_ring). The in-memory pair
// (CreateRingPair) links two net_ring ports back to back for tests and for
// the loopback mode.
#ifndef SYNWAVE_PORT_PORT_H_
#define SYNWAVE_PORT_PORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "wire/addresses.h"

struct rte_mempool;

namespace synwave::port {

// Checksum offloads the device does for us. Where a flag is false the
// datapath computes (TX) or verifies (RX) that checksum in software.
struct Offloads {
  bool rx_ipv4_checksum = false;
  bool rx_tcp_checksum = false;
  bool tx_ipv4_checksum = false;
  bool tx_tcp_checksum = false;
};

// The port's own counters (rte_eth_stats): frames it dropped or failed
// before any worker saw them, and the extended statistics (xstats) that
// explain them: every non-zero one whose name speaks of errors, misses,
// drops or missing buffers.
struct PortStats {
  uint64_t ipackets = 0;
  uint64_t imissed = 0;
  uint64_t ierrors = 0;
  uint64_t rx_nombuf = 0;
  uint64_t oerrors = 0;
  std::vector<std::pair<std::string, uint64_t>> xstats;
};

struct PortConfig {
  std::string devargs;          // as given to --port
  uint16_t num_queues = 1;      // one RX and one TX queue per worker
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  uint32_t num_mbufs = 0;       // 0: sized from queues and descriptors
  std::optional<wire::MacAddress> mac;  // override the device's address
};

class Port {
 public:
  // Configures and starts the device named by config.devargs (which the EAL
  // must already have probed).
  static absl::StatusOr<Port> Open(const PortConfig& config);

  // Configures and starts a device already known by port id (ring pairs).
  static absl::StatusOr<Port> OpenById(uint16_t port_id,
                                       const PortConfig& config);

  Port(Port&& other) noexcept { *this = std::move(other); }
  Port& operator=(Port&& other) noexcept;
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;
  ~Port();

  uint16_t id() const { return id_; }
  uint16_t num_queues() const { return num_queues_; }
  const std::string& name() const { return name_; }
  const wire::MacAddress& mac() const { return mac_; }
  const Offloads& offloads() const { return offloads_; }
  rte_mempool* pool() const { return pool_; }

  // Mbufs currently in the pool (caches included): equals pool_size() when
  // nothing is in flight, which is what the leak checks compare.
  unsigned AvailableMbufs() const;
  unsigned pool_size() const { return pool_size_; }

  // The device's counters now (zeros once stopped); with `xstats`, also
  // the extended statistics that explain its drops (slower: names are
  // read each time). Any thread; the values race benignly with the RX
  // queues.
  PortStats Stats(bool xstats = false) const;

  // The RSS hash key and redirection table the device uses, so software
  // can tell which queue a tuple lands on. NotFound when the port spreads
  // no traffic by RSS (one queue, or a device without it: ring, memif).
  struct Rss {
    std::vector<uint8_t> key;
    std::vector<uint16_t> reta;  // queue per hash & (size - 1)
    // The device hashes IPv6 TCP by its 4-tuple (RTE_ETH_RSS_NONFRAG_IPV6_TCP
    // is on); otherwise IPv6 frames land by its other rules (queue of
    // reta[0] on the devices we know).
    bool ipv6_tcp = false;
  };
  absl::StatusOr<Rss> QueryRss() const;

  // How the device was told to deliver the multicast frames a protocol
  // needs (IPv6's all-nodes and solicited-node groups).
  enum class MulticastFilter : uint8_t {
    kList,          // its multicast address list holds exactly the groups
    kAllMulticast,  // it has no list: every multicast frame comes in
    kNone,          // it takes neither (software devices such as net_ring
                    // and net_memif, which filter nothing)
  };
  // Sets the device's multicast address list to `groups`
  // (rte_eth_dev_set_mc_addr_list), falling back to all-multicast
  // (rte_eth_allmulticast_enable) where the device refuses the list.
  MulticastFilter AcceptMulticast(const std::vector<wire::MacAddress>& groups);

  // Stops the device and frees its queues' mbufs; idempotent.
  void Stop();

 private:
  Port() = default;

  uint16_t id_ = 0;
  uint16_t num_queues_ = 0;
  bool started_ = false;
  std::string name_;
  wire::MacAddress mac_;
  Offloads offloads_;
  rte_mempool* pool_ = nullptr;
  unsigned pool_size_ = 0;
};

// Creates two net_ring ports, `name`_a and `name`_b, each with `queues`
// queue pairs, where whatever one transmits on queue q the other receives on
// queue q. Returns their port ids (not yet configured: use OpenById).
absl::StatusOr<std::pair<uint16_t, uint16_t>> CreateRingPair(
    const std::string& name, uint16_t queues, unsigned ring_size = 4096);

}  // namespace synwave::port

#endif  // SYNWAVE_PORT_PORT_H_
