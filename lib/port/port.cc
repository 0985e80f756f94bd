#include "port/port.h"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "port/eal.h"

namespace synwave::port {
namespace {

constexpr unsigned kMempoolCache = 256;
constexpr unsigned kBurstSlack = 2 * 64;  // bursts in flight per queue

absl::Status EthError(const std::string& what, int rc) {
  return absl::InternalError(
      absl::StrCat(what, " failed: ", rte_strerror(rc < 0 ? -rc : rc)));
}

// Finds a probed ethdev by its name, or by its underlying device's name
// (PCI devices may be named in the short form by the user).
std::optional<uint16_t> FindPort(const std::string& name) {
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) == 0) return id;
  RTE_ETH_FOREACH_DEV(id) {
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(id, &info) != 0 || info.device == nullptr) {
      continue;
    }
    std::string dev = rte_dev_name(info.device);
    // "01:00.0" matches "0000:01:00.0".
    if (dev == name ||
        (dev.size() > name.size() &&
         dev.compare(dev.size() - name.size(), name.size(), name) == 0 &&
         dev[dev.size() - name.size() - 1] == ':')) {
      return id;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<Port> Port::Open(const PortConfig& config) {
  std::string name = DeviceName(config.devargs);
  std::optional<uint16_t> id = FindPort(name);
  if (!id) {
    return absl::NotFoundError(absl::StrCat(
        "--port: no DPDK device '", name,
        "' (the driver did not probe it; see the EAL messages above)"));
  }
  return OpenById(*id, config);
}

absl::StatusOr<Port> Port::OpenById(uint16_t port_id,
                                    const PortConfig& config) {
  if (!rte_eth_dev_is_valid_port(port_id)) {
    return absl::NotFoundError(absl::StrCat("no port with id ", port_id));
  }
  Port port;
  port.id_ = port_id;
  port.num_queues_ = config.num_queues;
  char name_buf[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_dev_get_name_by_port(port_id, name_buf);
  port.name_ = name_buf;

  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) {
    return EthError("rte_eth_dev_info_get", rc);
  }
  if (config.num_queues == 0 || config.num_queues > info.max_rx_queues ||
      config.num_queues > info.max_tx_queues) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--lcores: port ", port.name_, " has at most ",
        std::min(info.max_rx_queues, info.max_tx_queues),
        " queue pairs; ", config.num_queues, " workers asked for"));
  }

  // Descriptor counts within what the device accepts.
  uint16_t nb_rx = config.rx_descriptors;
  uint16_t nb_tx = config.tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rx, &nb_tx);
      rc != 0) {
    return EthError("rte_eth_dev_adjust_nb_rx_tx_desc", rc);
  }

  unsigned mbufs = config.num_mbufs;
  if (mbufs == 0) {
    mbufs = config.num_queues *
                (nb_rx + nb_tx + kBurstSlack + kMempoolCache) +
            1024;
  }
  std::string pool_name = absl::StrCat("swpool_", port_id);
  port.pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), mbufs,
                                       kMempoolCache, 0,
                                       RTE_MBUF_DEFAULT_BUF_SIZE,
                                       rte_socket_id());
  if (port.pool_ == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot create a pool of ", mbufs, " mbufs for port ", port.name_,
        ": ", rte_strerror(rte_errno), " (raise -m in --eal?)"));
  }
  port.pool_size_ = mbufs;

  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof(conf));
  // Offloads: use what the device has; the datapath falls back to software.
  const uint64_t rx_csum =
      RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
  conf.rxmode.offloads = info.rx_offload_capa & rx_csum;
  const uint64_t tx_csum =
      RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  conf.txmode.offloads = info.tx_offload_capa & tx_csum;
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
  }
  port.offloads_.rx_ipv4_checksum =
      conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  port.offloads_.rx_tcp_checksum =
      conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
  port.offloads_.tx_ipv4_checksum =
      conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  port.offloads_.tx_tcp_checksum =
      conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;

  if (config.num_queues > 1 && info.flow_type_rss_offloads != 0) {
    // Spread flows over the workers' queues by their TCP/IP 4-tuple, of
    // either family (other IP frames by their addresses), as far as the
    // device offers each.
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        info.flow_type_rss_offloads &
        (RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4 |
         RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_IPV6);
  }

  if (int rc = rte_eth_dev_configure(port_id, config.num_queues,
                                     config.num_queues, &conf);
      rc != 0) {
    return EthError(absl::StrCat("rte_eth_dev_configure(", port.name_, ")"),
                    rc);
  }
  int socket = rte_eth_dev_socket_id(port_id);
  if (socket < 0) socket = static_cast<int>(rte_socket_id());
  for (uint16_t q = 0; q < config.num_queues; ++q) {
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(port_id, q, nb_rx, socket, &rxconf,
                                        port.pool_);
        rc != 0) {
      return EthError("rte_eth_rx_queue_setup", rc);
    }
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(port_id, q, nb_tx, socket, &txconf);
        rc != 0) {
      return EthError("rte_eth_tx_queue_setup", rc);
    }
  }

  // The MAC: the user's, else the device's, else (net_ring leaves zeros) a
  // locally administered one derived from the port id.
  rte_ether_addr addr;
  rte_eth_macaddr_get(port_id, &addr);
  wire::MacAddress mac = wire::MacAddress::FromBytes(addr.addr_bytes);
  if (config.mac) {
    mac = *config.mac;
  } else if (mac.IsZero()) {
    mac = wire::MacAddress{{0x02, 0x53, 0x57, 0x00, 0x00,
                            static_cast<uint8_t>(port_id)}};
  }
  if (!(mac == wire::MacAddress::FromBytes(addr.addr_bytes))) {
    mac.CopyTo(addr.addr_bytes);
    // Drivers without a settable MAC (net_ring) do no filtering, so the
    // software address alone is enough there.
    rte_eth_dev_default_mac_addr_set(port_id, &addr);
  }
  port.mac_ = mac;

  if (int rc = rte_eth_dev_start(port_id); rc != 0) {
    return EthError(absl::StrCat("rte_eth_dev_start(", port.name_, ")"), rc);
  }
  port.started_ = true;
  return port;
}

Port& Port::operator=(Port&& other) noexcept {
  if (this != &other) {
    Stop();
    if (pool_ != nullptr) rte_mempool_free(pool_);
    id_ = other.id_;
    num_queues_ = other.num_queues_;
    started_ = std::exchange(other.started_, false);
    name_ = std::move(other.name_);
    mac_ = other.mac_;
    offloads_ = other.offloads_;
    pool_ = std::exchange(other.pool_, nullptr);
    pool_size_ = other.pool_size_;
  }
  return *this;
}

Port::~Port() {
  Stop();
  // The pool is freed only after the device has returned its mbufs.
  if (pool_ != nullptr) rte_mempool_free(pool_);
}

unsigned Port::AvailableMbufs() const {
  return pool_ == nullptr ? 0 : rte_mempool_avail_count(pool_);
}

Port::MulticastFilter Port::AcceptMulticast(
    const std::vector<wire::MacAddress>& groups) {
  std::vector<rte_ether_addr> list(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i].CopyTo(list[i].addr_bytes);
  }
  if (rte_eth_dev_set_mc_addr_list(id_, list.data(),
                                   static_cast<uint32_t>(list.size())) == 0) {
    return MulticastFilter::kList;
  }
  if (rte_eth_allmulticast_enable(id_) == 0 &&
      rte_eth_allmulticast_get(id_) == 1) {
    return MulticastFilter::kAllMulticast;
  }
  return MulticastFilter::kNone;
}

PortStats Port::Stats(bool xstats) const {
  PortStats out;
  if (!started_) return out;
  rte_eth_stats st{};
  if (rte_eth_stats_get(id_, &st) == 0) {
    out.ipackets = st.ipackets;
    out.imissed = st.imissed;
    out.ierrors = st.ierrors;
    out.rx_nombuf = st.rx_nombuf;
    out.oerrors = st.oerrors;
  }
  if (!xstats) return out;
  const int n = rte_eth_xstats_get_names(id_, nullptr, 0);
  if (n <= 0) return out;
  std::vector<rte_eth_xstat_name> names(n);
  std::vector<rte_eth_xstat> values(n);
  if (rte_eth_xstats_get_names(id_, names.data(), n) != n ||
      rte_eth_xstats_get(id_, values.data(), n) != n) {
    return out;
  }
  for (const rte_eth_xstat& v : values) {
    if (v.value == 0 || v.id >= static_cast<uint64_t>(n)) continue;
    const std::string name = names[v.id].name;
    for (const char* word : {"error", "miss", "drop", "nombuf", "no_mbuf",
                             "discard", "truncat", "oversize", "jabber"}) {
      if (name.find(word) != std::string::npos) {
        out.xstats.emplace_back(name, v.value);
        break;
      }
    }
  }
  return out;
}

void Port::Stop() {
  if (!started_) return;
  started_ = false;
  rte_eth_dev_stop(id_);
  // Stopping does not free the mbufs the RX rings hold; releasing the queues
  // (via close) does, so the pool is whole again.
  rte_eth_dev_close(id_);
}

absl::StatusOr<Port::Rss> Port::QueryRss() const {
  rte_eth_dev_info info;
  if (num_queues_ < 2 || rte_eth_dev_info_get(id_, &info) != 0 ||
      info.flow_type_rss_offloads == 0 || info.reta_size == 0 ||
      info.hash_key_size == 0) {
    return absl::NotFoundError("no RSS on this port");
  }
  Rss rss;
  rss.key.resize(info.hash_key_size);
  rte_eth_rss_conf conf{};
  conf.rss_key = rss.key.data();
  conf.rss_key_len = info.hash_key_size;
  if (rte_eth_dev_rss_hash_conf_get(id_, &conf) != 0) {
    return absl::NotFoundError("RSS key not readable");
  }
  rss.ipv6_tcp = (conf.rss_hf & RTE_ETH_RSS_NONFRAG_IPV6_TCP) != 0;
  const uint16_t size = info.reta_size;
  std::vector<rte_eth_rss_reta_entry64> entries(
      (size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
  for (auto& e : entries) e.mask = ~uint64_t{0};
  if (rte_eth_dev_rss_reta_query(id_, entries.data(), size) != 0) {
    return absl::NotFoundError("RSS redirection table not readable");
  }
  rss.reta.resize(size);
  for (uint16_t i = 0; i < size; ++i) {
    rss.reta[i] = entries[i / RTE_ETH_RETA_GROUP_SIZE]
                      .reta[i % RTE_ETH_RETA_GROUP_SIZE];
  }
  return rss;
}

absl::StatusOr<std::pair<uint16_t, uint16_t>> CreateRingPair(
    const std::string& name, uint16_t queues, unsigned ring_size) {
  std::vector<rte_ring*> a_to_b(queues), b_to_a(queues);
  for (uint16_t q = 0; q < queues; ++q) {
    // One producer core and one consumer core per ring.
    const unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ;
    a_to_b[q] = rte_ring_create(absl::StrCat(name, "_ab", q).c_str(),
                                ring_size, SOCKET_ID_ANY, flags);
    b_to_a[q] = rte_ring_create(absl::StrCat(name, "_ba", q).c_str(),
                                ring_size, SOCKET_ID_ANY, flags);
    if (a_to_b[q] == nullptr || b_to_a[q] == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "rte_ring_create for ", name, ": ", rte_strerror(rte_errno)));
    }
  }
  int a = rte_eth_from_rings(absl::StrCat(name, "_a").c_str(), b_to_a.data(),
                             queues, a_to_b.data(), queues, SOCKET_ID_ANY);
  int b = rte_eth_from_rings(absl::StrCat(name, "_b").c_str(), a_to_b.data(),
                             queues, b_to_a.data(), queues, SOCKET_ID_ANY);
  if (a < 0 || b < 0) {
    return absl::InternalError(absl::StrCat("rte_eth_from_rings for ", name,
                                            ": ", rte_strerror(rte_errno)));
  }
  return std::make_pair(static_cast<uint16_t>(a), static_cast<uint16_t>(b));
}

}  // namespace synwave::port
