// synwave: the command-line entry point. main() and wiring only: the flags
// and the config are lib/control/flags, the run loop and the reports
// lib/control/run and report, the applications lib/app; the loopback's
// wiring is loopback.cc.
//
//   synwave version
//   synwave --help
//   synwave serve --port=DEVARGS --ip=A.B.C.D/N [--gateway=A.B.C.D] ...
//   synwave load --port=DEVARGS --ip=A.B.C.D/N --server=IP:PORT ...
//   synwave loopback [load and serve flags] [--proxy]
//   synwave proxy --port=DEVARGS --ip=VIP/N --backend-ip=A.B.C.D/N
//                 --backend=IP:PORT ... [--backend-port=DEVARGS]
//
// Exit codes: 0 success, 1 runtime failure, 2 bad usage (a bad flag value,
// a missing device, an address that does not parse), with a one-line error
// naming the flag.
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "app/counters.h"
#include "control/config.h"
#include "control/flags.h"
#include "control/proxy_run.h"
#include "control/report.h"
#include "control/run.h"
#include "control/tools.h"
#include "engine/lcore.h"
#include "engine/nd.h"
#include "engine/worker.h"
#include "port/eal.h"
#include "port/port.h"
#include "wiring.h"

#include <rte_lcore.h>
#include <rte_ring.h>

namespace synwave {

using control::Config;
using control::Side;

int UsageError(const absl::Status& s) {
  std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
  return 2;
}

int PortError(const absl::Status& s) {
  if (absl::IsNotFound(s) || absl::IsInvalidArgument(s)) return UsageError(s);
  std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
  return 1;
}

engine::WorkerConfig WorkerConfigWithSecrets(const Config& config) {
  engine::WorkerConfig wc = control::MakeWorkerConfig(config);
  // The same (read-only) on every core: --secret-file's, shared with other
  // front ends, or a random one per process start. The flow table's hash
  // seed is always this process's own.
  std::random_device rd;
  wc.secret = config.secret.value_or(tcp::SipKey{
      (uint64_t{rd()} << 32) | rd(), (uint64_t{rd()} << 32) | rd()});
  wc.hash_seed = (uint64_t{rd()} << 32) | rd();
  return wc;
}

// A worker for every queue of side.port with its applications: a responder
// for serve; for load a generator, and a flood that owns its spoofed
// sources when --flood is on.
void BuildWorkers(Side& side, const Config& config, bool load) {
  const engine::WorkerConfig wc = WorkerConfigWithSecrets(config);
  const uint16_t queues = side.port->num_queues();
  side.counters = std::vector<engine::CoreCounters>(queues);
  if (load && queues > 1) {
    absl::StatusOr<port::Port::Rss> rss = side.port->QueryRss();
    if (rss.ok() && rss->key.size() >= 16) {
      side.rss.emplace(rss->key.data(), rss->key.size());
      side.reta = rss->reta;
      if (rss->ipv6_tcp &&
          rss->key.size() >= flow::ToeplitzIpv6Tcp::kMinKeyLen) {
        side.rss6.emplace(rss->key.data(), rss->key.size());
      }
    }
  }
  for (uint16_t q = 0; q < queues; ++q) {
    const engine::QueueBinding qb{side.port->id(), q, side.port->pool(),
                                  side.port->mac(), side.port->offloads(),
                                  side.capture};
    auto worker = std::make_unique<engine::Worker>(wc, qb, &side.counters[q]);
    if (!load) {
      side.responders.push_back(
          std::make_unique<app::Responder>(config.responder));
      worker->AddApp(side.responders.back()->ops());
    } else {
      app::GeneratorConfig gc = control::MakeGeneratorConfig(config, q, queues);
      if (side.rss) {
        gc.rss = &*side.rss;
        if (side.rss6) gc.rss6 = &*side.rss6;
        gc.reta = side.reta;
      }
      side.generators.push_back(std::make_unique<app::Generator>(gc));
      worker->AddApp(side.generators.back()->ops());
      if (config.load.flood) {
        side.floods.push_back(std::make_unique<app::Flood>(
            control::MakeFloodConfig(config, q, queues)));
        const int slot = worker->AddApp(side.floods.back()->ops());
        if (config.load.flood_ipv6) {
          worker->ClaimAddresses6(config.load.flood_src6_first,
                                  config.load.flood_src6_last, slot);
        } else {
          worker->ClaimAddresses(config.load.flood_src_first,
                                 config.load.flood_src_last, slot);
        }
      }
    }
    side.workers.push_back(std::move(worker));
  }
}

// An IPv6 proxy's claims on a worker: the VIP on the client side's (its
// own address there, so its solicitations are answered as well); on the
// backend side's, the backend-side address and, for TCP only, every other
// address (the backends' answers to the clients). One-armed, both.
void ClaimProxy6(engine::Worker& w, const Config& config, int slot,
                 bool backend_side) {
  const wire::Ipv6Address& vip = config.ip6->address;
  if (!backend_side || config.proxy.backend_port.empty() ||
      config.proxy.backend_port == config.ports.front()) {
    w.ClaimAddresses6(vip, vip, slot);
  }
  if (!backend_side) return;
  const wire::Ipv6Address& bip = config.proxy.backend_ip6->address;
  w.ClaimAddresses6(bip, bip, slot);
  wire::Ipv6Address all;
  all.bytes.fill(0xff);
  w.ClaimAddresses6(wire::Ipv6Address{}, all, slot, /*answer_nd=*/false);
}

// The proxy's workers: for each queue, a worker on the client side's port
// (the VIP) and, with a second port, one on the backend side's, the proxy
// an application of both (proxy.h). One-armed, the client side's worker
// also takes the backend side's address and, for TCP only, every other
// address (the backends' answers to the clients). Each slot polls its
// queue's workers.
std::vector<engine::LcoreSlot> BuildProxyWorkers(Side& client, Side* backend,
                                                 const Config& config,
                                                 bool handoff) {
  engine::WorkerConfig wc = WorkerConfigWithSecrets(config);
  const uint16_t queues = client.port->num_queues();
  client.counters = std::vector<engine::CoreCounters>(queues);
  if (backend != nullptr) {
    backend->counters = std::vector<engine::CoreCounters>(queues);
  }
  const bool v6 = config.proxy.backend_ip6.has_value();
  const uint32_t bip = v6 ? 0 : config.proxy.backend_ip->address.value;
  auto shared_macs = std::make_shared<app::ProxySharedMacs>();
  std::vector<engine::LcoreSlot> slots(queues);
  for (uint16_t q = 0; q < queues; ++q) {
    app::ProxyConfig pc = control::MakeProxyConfig(config);
    pc.secret = wc.secret;
    pc.hash_seed = wc.hash_seed;
    pc.client_side_mac = client.port->mac();
    pc.backend_side_mac =
        backend != nullptr ? backend->port->mac() : client.port->mac();
    pc.probe_port = static_cast<uint16_t>(
        app::ProxyCore::kProbePortBase +
        app::ProxyCore::kProbePortsPerWorker * q);
    client.proxies.push_back(std::make_unique<app::Proxy>(pc));
    app::Proxy& proxy = *client.proxies.back();
    if (v6 && queues > 1) proxy.SetSharedMacs(shared_macs);
    const engine::QueueBinding cq{client.port->id(), q, client.port->pool(),
                                  client.port->mac(), client.port->offloads(),
                                  client.capture};
    auto cw = std::make_unique<engine::Worker>(wc, cq, &client.counters[q]);
    const int cslot = cw->AddApp(proxy.ops(/*primary=*/true));
    if (v6) {
      ClaimProxy6(*cw, config, cslot, /*backend_side=*/backend == nullptr);
    } else {
      cw->ClaimAddresses(config.ip->address.value, config.ip->address.value,
                         cslot);
    }
    if (backend == nullptr) {
      if (!v6) {
        cw->ClaimAddresses(bip, bip, cslot);
        cw->ClaimAddresses(0, 0xffffffff, cslot, /*answer_arp=*/false);
      }
      proxy.SetLinks(&cw->link(), &cw->link());
      proxy.SetNeighborDiscovery(cw->nd());
      slots[q].workers = {cw.get()};
    } else {
      engine::WorkerConfig bc = wc;
      if (v6) {
        // IPv4 stays --ip's (answered to ARP only); IPv6 is the backend
        // side's address, on whose prefix the backends are.
        bc.ip6 = *config.proxy.backend_ip6;
        bc.gateway6.reset();
      } else {
        bc.ip = *config.proxy.backend_ip;
      }
      bc.gateway.reset();
      const engine::QueueBinding bq{backend->port->id(), q,
                                    backend->port->pool(),
                                    backend->port->mac(),
                                    backend->port->offloads(),
                                    backend->capture};
      auto bw = std::make_unique<engine::Worker>(bc, bq, &backend->counters[q]);
      const int bslot = bw->AddApp(proxy.ops(/*primary=*/false));
      if (v6) {
        ClaimProxy6(*bw, config, bslot, /*backend_side=*/true);
      } else {
        bw->ClaimAddresses(bip, bip, bslot);
        bw->ClaimAddresses(0, 0xffffffff, bslot, /*answer_arp=*/false);
      }
      proxy.SetLinks(&cw->link(), &bw->link());
      proxy.SetNeighborDiscovery(bw->nd());
      slots[q].workers = {cw.get(), bw.get()};
      backend->workers.push_back(std::move(bw));
    }
    client.workers.push_back(std::move(cw));
  }
  // Several workers: a ring for each ordered pair, for the frames of a
  // flow that arrive on another worker than its owner's (proxy.h).
  if (queues > 1 && handoff) {
    static int instance = 0;
    ++instance;
    std::vector<std::vector<rte_ring*>> ring(queues,
                                             std::vector<rte_ring*>(queues));
    for (uint16_t a = 0; a < queues; ++a) {
      for (uint16_t b = 0; b < queues; ++b) {
        if (a == b) continue;
        const std::string name = "sw_px" + std::to_string(instance) + "_" +
                                 std::to_string(a) + "_" + std::to_string(b);
        ring[a][b] = rte_ring_create(name.c_str(), 1024, rte_socket_id(),
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (ring[a][b] == nullptr) {
          std::fprintf(stderr, "synwave: cannot create ring %s\n",
                       name.c_str());
          std::exit(1);
        }
      }
    }
    for (uint16_t q = 0; q < queues; ++q) {
      std::vector<rte_ring*> to(queues), from(queues);
      for (uint16_t w = 0; w < queues; ++w) {
        to[w] = ring[q][w];
        from[w] = ring[w][q];
      }
      client.proxies[q]->SetHandoff(q, std::move(to), std::move(from));
    }
  }
  return slots;
}

absl::StatusOr<port::Port> OpenPort(const Config& config) {
  port::PortConfig pc;
  pc.devargs = config.ports.front();
  pc.num_queues = static_cast<uint16_t>(config.lcores.size());
  pc.mac = config.mac;
  return port::Port::Open(pc);
}

// With an IPv6 address: the port accepts the multicast groups Neighbor
// Discovery needs (all-nodes, the solicited-node groups of our global and
// link-local addresses, of a load's IPv6 clients and flood sources, and
// `also`'s: an IPv6 proxy's backend side), and a line says how. A list
// longer than the device takes (a large client range, any IPv6 flood) makes
// it fall back to all-multicast.
void AcceptIpv6Multicast(const Config& config, port::Port& port,
                         std::optional<wire::Ipv6Address> also = {}) {
  if (!config.ip6) return;
  const wire::Ipv6Address link_local = engine::LinkLocalFromMac(port.mac());
  std::vector<wire::Ipv6Address> addresses = {config.ip6->address, link_local};
  if (also) addresses.push_back(*also);
  const control::LoadSettings& load = config.load;
  auto add_range = [&](const wire::Ipv6Address& first,
                       const wire::Ipv6Address& last) {
    if (first.IsUnspecified()) return;
    // Solicited-node groups repeat every 2^24 addresses; 4,096 groups are
    // past any device's list.
    for (uint64_t i = 0; i < 4096 && first.Low() + i <= last.Low(); ++i) {
      addresses.push_back(
          wire::Ipv6Address::FromWords(first.High(), first.Low() + i));
    }
  };
  if (config.mode == control::Mode::kLoad) {
    add_range(load.client_ip6_first, load.client_ip6_last);
    if (load.flood && load.flood_ipv6) {
      add_range(load.flood_src6_first, load.flood_src6_last);
    }
  }
  const std::vector<wire::MacAddress> groups =
      engine::Ipv6MulticastMacs(addresses);
  const char* how = "none (the device filters no multicast)";
  switch (port.AcceptMulticast(groups)) {
    case port::Port::MulticastFilter::kList:
      how = "the device's list";
      break;
    case port::Port::MulticastFilter::kAllMulticast:
      how = "all-multicast (the device has no list)";
      break;
    case port::Port::MulticastFilter::kNone:
      break;
  }
  std::printf("synwave: ipv6 %s link-local %s, %zu multicast groups: %s\n",
              config.ip6->ToString().c_str(), link_local.ToString().c_str(),
              groups.size(), how);
}

// One worker per lcore.
std::vector<engine::LcoreSlot> OneWorkerEach(const Side& side) {
  std::vector<engine::LcoreSlot> slots(side.workers.size());
  for (size_t q = 0; q < slots.size(); ++q) {
    slots[q].workers = {side.workers[q].get()};
  }
  return slots;
}

int Serve(const Config& config) {
  absl::StatusOr<port::Port> port = OpenPort(config);
  if (!port.ok()) return PortError(port.status());
  absl::StatusOr<std::unique_ptr<engine::Capture>> capture =
      control::OpenCapture(config);
  if (!capture.ok()) return PortError(capture.status());
  Side side;
  side.port.emplace(std::move(*port));
  side.capture = capture->get();
  std::printf("%s\n", control::ServeStartLine(config, *side.port).c_str());
  AcceptIpv6Multicast(config, *side.port);
  std::fflush(stdout);
  BuildWorkers(side, config, /*load=*/false);
  std::vector<engine::LcoreSlot> slots = OneWorkerEach(side);
  const int rc = control::RunServe(config, side, slots);
  control::CloseCapture(config, capture->get());
  return rc;
}

int Load(const Config& config) {
  absl::StatusOr<port::Port> port = OpenPort(config);
  if (!port.ok()) return PortError(port.status());
  absl::StatusOr<std::unique_ptr<engine::Capture>> capture =
      control::OpenCapture(config);
  if (!capture.ok()) return PortError(capture.status());
  Side side;
  side.port.emplace(std::move(*port));
  side.capture = capture->get();
  std::printf("%s\n", control::LoadStartLine(config, *side.port).c_str());
  AcceptIpv6Multicast(config, *side.port);
  std::fflush(stdout);
  BuildWorkers(side, config, /*load=*/true);
  std::vector<engine::LcoreSlot> slots = OneWorkerEach(side);
  const int rc = control::RunLoad(config, side, nullptr, slots);
  control::CloseCapture(config, capture->get());
  return rc;
}

int Proxy(const Config& config) {
  absl::StatusOr<port::Port> port = OpenPort(config);
  if (!port.ok()) return PortError(port.status());
  std::optional<port::Port> bport;
  if (!config.proxy.backend_port.empty() &&
      config.proxy.backend_port != config.ports.front()) {
    port::PortConfig pc;
    pc.devargs = config.proxy.backend_port;
    pc.num_queues = static_cast<uint16_t>(config.lcores.size());
    absl::StatusOr<port::Port> b = port::Port::Open(pc);
    if (!b.ok()) return PortError(b.status());
    bport.emplace(std::move(*b));
  }
  absl::StatusOr<std::unique_ptr<engine::Capture>> capture =
      control::OpenCapture(config);
  if (!capture.ok()) return PortError(capture.status());
  Side client, backend;
  client.port.emplace(std::move(*port));
  client.capture = backend.capture = capture->get();
  if (bport) backend.port.emplace(std::move(*bport));
  Side* bside = backend.port ? &backend : nullptr;
  std::printf("%s\n", control::ProxyStartLine(
                          config, *client.port,
                          bside != nullptr ? &*bside->port : nullptr)
                          .c_str());
  if (config.proxy.backend_ip6) {
    // The backend side's address has its groups on its port (one-armed:
    // the same port as the VIP's).
    const wire::Ipv6Address bip = config.proxy.backend_ip6->address;
    if (bside != nullptr) {
      AcceptIpv6Multicast(config, *client.port);
      Config bc = config;
      bc.ip6 = *config.proxy.backend_ip6;
      AcceptIpv6Multicast(bc, *bside->port);
    } else {
      AcceptIpv6Multicast(config, *client.port, bip);
    }
  }
  std::fflush(stdout);
  std::vector<engine::LcoreSlot> slots =
      BuildProxyWorkers(client, bside, config);
  const int rc = control::RunProxy(config, client, bside, slots);
  control::CloseCapture(config, capture->get());
  return rc;
}

int Run(const Config& config) {
  // The proxy reloads its backends on SIGHUP: caught from the start, so a
  // reload during the EAL's and the ports' start-up is taken once the run
  // loop begins instead of killing the process.
  if (config.mode == control::Mode::kProxy && !config.proxy.loopback) {
    control::CatchReload();
  }
  if (absl::Status s = control::StartEal(config); !s.ok()) return UsageError(s);
  // Every application's counters, before anything sizes a report.
  app::RegisterCounters();
  int rc = 0;
  switch (config.mode) {
    case control::Mode::kServe:
      rc = Serve(config);
      break;
    case control::Mode::kLoad:
      rc = Load(config);
      break;
    case control::Mode::kLoopback:
      rc = Loopback(config);
      break;
    case control::Mode::kProxy:
      rc = Proxy(config);
      break;
  }
  // The ports (and their pools) are gone before the EAL is torn down.
  port::CleanupEal();
  return rc;
}

int Main(int argc, char** argv) {
  // report merge, plot, secret: no port, no EAL.
  if (control::IsTool(argc, argv)) return control::RunTool(argc, argv);
  absl::StatusOr<control::Invocation> inv =
      control::ParseInvocation(argc, argv);
  if (!inv.ok()) return UsageError(inv.status());
  switch (inv->action) {
    case control::Invocation::Action::kHelp:
      std::printf("%s", control::Usage().c_str());
      return 0;
    case control::Invocation::Action::kNoCommand:
      std::fprintf(stderr, "%s", control::Usage().c_str());
      return 2;
    case control::Invocation::Action::kVersion:
      std::printf("synwave %s (%s)\n", SYNWAVE_VERSION,
                  port::DpdkVersion().c_str());
      return 0;
    case control::Invocation::Action::kRun:
      break;
  }
  return Run(inv->config);
}

}  // namespace synwave

int main(int argc, char** argv) { return synwave::Main(argc, argv); }
