// synwave loopback: both ends (and with --proxy a synwave proxy between
// them) in one process over in-memory net_ring pairs; the workers are
// built as for serve, load and proxy (wiring.h).
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config.h"
#include "control/report.h"
#include "control/run.h"
#include "control/tools.h"
#include "engine/lcore.h"
#include "port/port.h"
#include "wiring.h"

namespace synwave {

using control::Config;
using control::Side;

namespace {
int LoopbackProxy(const Config& config);

// One end of a loopback: `config` in `mode` with these addresses and next
// hops, and no others. Where an end gets no IPv6 address of its own the
// callers pass config.ip6 on, as it was.
Config SideConfig(const Config& config, control::Mode mode,
                  std::optional<wire::Ipv4Prefix> ip,
                  std::optional<wire::Ipv6Prefix> ip6,
                  std::optional<wire::Ipv4Address> gateway = std::nullopt,
                  std::optional<wire::Ipv6Address> gateway6 = std::nullopt) {
  Config c = config;
  c.mode = mode;
  c.ip = ip;
  c.ip6 = ip6;
  c.gateway = gateway;
  c.gateway6 = gateway6;
  return c;
}

template <typename T>
std::optional<T> If(bool cond, const T& value) {
  return cond ? std::optional<T>(value) : std::nullopt;
}
}  // namespace

// Both ends in one process on a net_ring pair: with two or more lcores,
// half generate and half serve (queue q of the client port is wired to
// queue q of the server port); with one, that lcore polls both.
int Loopback(const Config& config) {
  if (config.proxy.loopback) return LoopbackProxy(config);
  const auto lcores = static_cast<uint16_t>(config.lcores.size());
  const uint16_t pairs = std::max<uint16_t>(1, lcores / 2);
  absl::StatusOr<std::pair<uint16_t, uint16_t>> ring =
      port::CreateRingPair("synwave_loop", pairs);
  if (!ring.ok()) return PortError(ring.status());
  const wire::Ipv4Prefix server_ip{wire::Ipv4Address{0x0a000001},
                                   16};  // 10.0.0.1/16
  const wire::Ipv4Prefix client_ip{wire::Ipv4Address{0x0a000002}, 16};
  // With IPv6 clients (--ipv6, or an IPv6 --server): fd00::1/64 and
  // fd00::2/64 beside them.
  const bool ipv6 = !config.load.client_ip6_first.IsUnspecified();
  const wire::Ipv6Prefix server_ip6{
      wire::Ipv6Address::FromWords(control::kLoopback6Prefix, 1), 64};
  const wire::Ipv6Prefix client_ip6{
      wire::Ipv6Address::FromWords(control::kLoopback6Prefix, 2), 64};

  port::PortConfig pc;
  pc.num_queues = pairs;
  // Enough for both rings of every queue pair full, and bursts in flight.
  pc.num_mbufs = pairs * 16384u;
  pc.mac = wire::MacAddress::Parse("02:00:00:00:00:01");
  absl::StatusOr<port::Port> cport = port::Port::OpenById(ring->first, pc);
  if (!cport.ok()) return PortError(cport.status());
  pc.mac = wire::MacAddress::Parse("02:00:00:00:00:02");
  absl::StatusOr<port::Port> sport = port::Port::OpenById(ring->second, pc);
  if (!sport.ok()) return PortError(sport.status());
  // --pcap in loopback: both ports, one file (an interface each).
  absl::StatusOr<std::unique_ptr<engine::Capture>> capture =
      control::OpenCapture(config);
  if (!capture.ok()) return PortError(capture.status());
  Side client, server;
  client.port.emplace(std::move(*cport));
  server.port.emplace(std::move(*sport));
  client.capture = server.capture = capture->get();

  // IPv4 only where something uses it: --ipv6 alone runs both ends IPv6
  // only (IPv4 frames then are drops named ipv4_disabled).
  const bool ipv4 = control::LoopbackNeedsIpv4(config);

  const Config sc =
      SideConfig(config, control::Mode::kServe, If(ipv4, server_ip),
                 ipv6 ? server_ip6 : config.ip6);
  BuildWorkers(server, sc, /*load=*/false);

  Config cc = SideConfig(config, control::Mode::kLoad, If(ipv4, client_ip),
                         ipv6 ? client_ip6 : config.ip6);
  if (!ipv4) cc.load.client_ip_first = cc.load.client_ip_last = 0;
  if (cc.load.servers.empty()) {
    app::LoadTarget t{server_ip.address.value, config.listen_ports.front()};
    if (config.load.loopback_ipv6) {
      t = app::LoadTarget::Ipv6(server_ip6.address,
                                config.listen_ports.front());
    }
    cc.load.servers.push_back(t);
  }
  BuildWorkers(client, cc, /*load=*/true);

  std::vector<engine::LcoreSlot> slots(lcores);
  std::vector<unsigned> client_cpus, server_cpus;
  if (lcores == 1) {
    slots[0].workers = {client.workers[0].get(), server.workers[0].get()};
    client_cpus = server_cpus = {config.lcores[0]};
  } else {
    for (uint16_t q = 0; q < pairs; ++q) {
      slots[q].workers = {client.workers[q].get()};
      slots[pairs + q].workers = {server.workers[q].get()};
      client_cpus.push_back(config.lcores[q]);
      server_cpus.push_back(config.lcores[pairs + q]);
    }
  }
  std::printf("%s\n", control::LoopbackStartLine(cc, pairs, client_cpus,
                                                 server_cpus, server_ip.address)
                          .c_str());
  std::fflush(stdout);
  const int rc = control::RunLoad(cc, client, &server, slots);
  control::CloseCapture(config, capture->get());
  return rc;
}

namespace {

// generator -> proxy -> server in one process over two net_ring pairs:
// the generator's port to the proxy's client side (VIP 10.0.0.1), the
// proxy's backend side (10.1.0.1) to the server (10.1.0.2, which routes
// the clients' addresses through the proxy); with --ipv6 an IPv6 proxy,
// every end IPv6 only: VIP fd00::1, generator fd00::2 (clients
// fd00::1:1-fd00::1:fe), backend side fd01::1, server fd01::2. With three
// lcores or more,
// six lcores or more, a third of them each (queue q of each pair on the
// q-th of each third); with two to five, the generator on the first lcore
// and the proxy and the server on the second; with one, everything on it.
int LoopbackProxy(const Config& config) {
  const auto lcores = static_cast<uint16_t>(config.lcores.size());
  // Queue q of each pair is wired to queue q of the next, so a flow's
  // frames stay on one queue end to end (its client-bound frames must go
  // out on the generator's queue): the proxies need no hand-off here.
  const uint16_t pairs = std::max<uint16_t>(1, lcores / 3);
  absl::StatusOr<std::pair<uint16_t, uint16_t>> front =
      port::CreateRingPair("synwave_pfront", pairs);
  if (!front.ok()) return PortError(front.status());
  absl::StatusOr<std::pair<uint16_t, uint16_t>> back =
      port::CreateRingPair("synwave_pback", pairs);
  if (!back.ok()) return PortError(back.status());
  const wire::Ipv4Prefix vip{wire::Ipv4Address{0x0a000001}, 16};
  const wire::Ipv4Prefix client_ip{wire::Ipv4Address{0x0a000002}, 16};
  const wire::Ipv4Prefix backend_side{wire::Ipv4Address{0x0a010001}, 16};
  const wire::Ipv4Prefix server_ip{wire::Ipv4Address{0x0a010002}, 16};
  const bool v6 = config.load.loopback_ipv6;
  auto prefix6 = [](uint64_t high, uint64_t low) {
    return wire::Ipv6Prefix{wire::Ipv6Address::FromWords(high, low), 64};
  };
  const wire::Ipv6Prefix vip6 = prefix6(control::kLoopback6Prefix, 1);
  const wire::Ipv6Prefix client_ip6 = prefix6(control::kLoopback6Prefix, 2);
  const wire::Ipv6Prefix backend_side6 =
      prefix6(control::kLoopback6BackendPrefix, 1);
  const wire::Ipv6Prefix server_ip6 =
      prefix6(control::kLoopback6BackendPrefix, 2);

  port::PortConfig pc;
  pc.num_queues = pairs;
  // Four ports share --eal's memory: each pool holds its rings' worth
  // (4096 frames each way per queue) and bursts in flight.
  pc.num_mbufs = pairs * 10240u;
  const char* macs[] = {"02:00:00:00:00:01", "02:00:00:00:00:10",
                        "02:00:00:00:00:20", "02:00:00:00:00:02"};
  const uint16_t ids[] = {front->first, front->second, back->first,
                          back->second};
  Side client, pclient, pbackend, server;
  Side* sides[] = {&client, &pclient, &pbackend, &server};
  for (int i = 0; i < 4; ++i) {
    pc.mac = wire::MacAddress::Parse(macs[i]);
    absl::StatusOr<port::Port> p = port::Port::OpenById(ids[i], pc);
    if (!p.ok()) return PortError(p.status());
    sides[i]->port.emplace(std::move(*p));
  }
  absl::StatusOr<std::unique_ptr<engine::Capture>> capture =
      control::OpenCapture(config);
  if (!capture.ok()) return PortError(capture.status());
  for (Side* s : sides) s->capture = capture->get();

  // The server routes the clients' addresses through the proxy.
  const Config sc =
      v6 ? SideConfig(config, control::Mode::kServe, std::nullopt, server_ip6,
                      std::nullopt, backend_side6.address)
         : SideConfig(config, control::Mode::kServe, server_ip, config.ip6,
                      backend_side.address);
  BuildWorkers(server, sc, /*load=*/false);

  Config pxc = SideConfig(config, control::Mode::kProxy, If(!v6, vip),
                          v6 ? vip6 : config.ip6);
  pxc.proxy.backend_ip = backend_side;
  pxc.proxy.backend_ip6.reset();
  pxc.proxy.backends = {app::ProxyBackend{server_ip.address.value, 0}};
  if (v6) {
    pxc.proxy.backend_ip.reset();
    pxc.proxy.backend_ip6 = backend_side6;
    app::ProxyBackend b;
    b.ip6 = server_ip6.address;
    pxc.proxy.backends = {b};
  }
  std::vector<engine::LcoreSlot> proxy_slots =
      BuildProxyWorkers(pclient, &pbackend, pxc, /*handoff=*/false);

  Config cc = SideConfig(config, control::Mode::kLoad, If(!v6, client_ip),
                         v6 ? client_ip6 : config.ip6);
  if (v6) cc.load.client_ip_first = cc.load.client_ip_last = 0;
  if (cc.load.servers.empty()) {
    cc.load.servers.push_back(
        v6 ? app::LoadTarget::Ipv6(vip6.address, config.listen_ports.front())
           : app::LoadTarget{vip.address.value, config.listen_ports.front()});
  }
  BuildWorkers(client, cc, /*load=*/true);

  std::vector<engine::LcoreSlot> slots;
  std::vector<unsigned> client_cpus, server_cpus;
  if (lcores == 1) {
    slots.resize(1);
    slots[0].workers = {client.workers[0].get()};
    for (engine::Worker* w : proxy_slots[0].workers) slots[0].workers.push_back(w);
    slots[0].workers.push_back(server.workers[0].get());
    client_cpus = server_cpus = {config.lcores[0]};
  } else if (lcores < 6) {
    // The generator on the first lcore, the proxy and the server on the
    // second.
    slots.resize(2);
    for (uint16_t q = 0; q < pairs; ++q) {
      slots[0].workers.push_back(client.workers[q].get());
      for (engine::Worker* w : proxy_slots[q].workers) {
        slots[1].workers.push_back(w);
      }
      slots[1].workers.push_back(server.workers[q].get());
    }
    client_cpus = {config.lcores[0]};
    server_cpus = {config.lcores[1]};
  } else {
    slots.resize(3 * pairs);
    for (uint16_t q = 0; q < pairs; ++q) {
      slots[q].workers = {client.workers[q].get()};
      slots[pairs + q].workers = proxy_slots[q].workers;
      slots[2 * pairs + q].workers = {server.workers[q].get()};
      client_cpus.push_back(config.lcores[q]);
      server_cpus.push_back(config.lcores[2 * pairs + q]);
    }
  }
  std::printf("%s (through a synwave proxy, VIP %s, backend %s)\n",
              control::LoopbackStartLine(cc, pairs, client_cpus, server_cpus,
                                         server_ip.address)
                  .c_str(),
              (v6 ? vip6.address.ToString() : vip.address.ToString()).c_str(),
              (v6 ? server_ip6.address.ToString()
                  : server_ip.address.ToString())
                  .c_str());
  std::fflush(stdout);
  // The proxy's backend side is stopped first: the client side owns the
  // proxies its workers call.
  const int rc =
      control::RunLoad(cc, client, &server, slots, {&pbackend, &pclient});
  control::CloseCapture(config, capture->get());
  return rc;
}

}  // namespace
}  // namespace synwave
