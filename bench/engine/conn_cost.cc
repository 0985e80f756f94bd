// conn_cost: the whole-connection path through the worker, the server's
// and the client's, for an instruction counter (callgrind) and the TSC.
//
// Two Workers on one net_ring pair in this thread, as `synwave loopback`
// runs them with both ends on one core: a client with app::Generator
// (HTTP GET, --concurrency connections open at once, close=server unless
// --close=client) and a server with app::Responder (a 64-byte body) on a
// listener with the stack's defaults (SYN queue; cookies only when it is
// full). Virtual clock: every iteration polls the client, then the server,
// then advances kStepNs. After --warmup iterations (handshakes, the
// TIME-WAIT pool filling), --iterations more are measured; the server's
// PollOnce runs inside the non-inlined synwave::bench::MeasureServerPoll
// only, so
//   valgrind --tool=callgrind --collect-atstart=no
//            --toggle-collect='synwave::bench::MeasureServerPoll*' ...
// counts the server's instructions (rx, parse, stack, responder, reply
// frames, tx, timers, TIME-WAIT, counters) and nothing of the client's.
// The client's PollOnce runs inside synwave::bench::MeasureClientPoll, so
// --toggle-collect='synwave::bench::MeasureClientPoll*' counts the load
// generator's side instead (rx, parse, stack, the generator: tuple choice,
// Connect and its SYN, the request, the response check; frames, tx).
// Deterministic: fixed secrets, seeds and clock, so the count repeats.
//
// Prints "conn-server CONNS CYCLES" and "conn-client CONNS CYCLES": the
// connections the client completed during the measured iterations, and
// each side's TSC cycles over them (rte_rdtsc around each poll: noisy on a
// shared machine, and callgrind's are meaningless). Fails when nothing
// completed.
//
//   conn_cost [--iterations=N] [--warmup=N] [--concurrency=N] [--close=server|client]
//             [--publish-every-poll]   (defaults 4000, 4000, 512, server)
// --publish-every-poll: the server publishes its counters after every busy
// poll, as the worker did before WorkerConfig::publish_interval_ns.
#include <rte_cycles.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "app/counters.h"
#include "app/generator.h"
#include "app/responder.h"
#include "engine/counters.h"
#include "engine/worker.h"
#include "port/eal.h"
#include "port/port.h"

namespace synwave::bench {

// The measured part: one server iteration.
[[gnu::noinline]] void MeasureServerPoll(engine::Worker& server,
                                         uint64_t now_ns) {
  server.PollOnce(now_ns);
}

// The same for the client's iteration.
[[gnu::noinline]] void MeasureClientPoll(engine::Worker& client,
                                         uint64_t now_ns) {
  client.PollOnce(now_ns);
}

namespace {

constexpr uint64_t kStepNs = 2000;  // virtual time per iteration
const wire::Ipv4Address kServerIp = wire::Ipv4Address::FromOctets(10, 0, 0, 1);
const wire::Ipv4Address kClientIp = wire::Ipv4Address::FromOctets(10, 0, 0, 2);

struct Options {
  long iterations = 4000;
  long warmup = 4000;
  uint32_t concurrency = 512;
  app::CloseMode close = app::CloseMode::kServer;
  bool publish_every_poll = false;  // the worker's publishing before 2026-12-03
};

int Run(const Options& opt) {
  auto ids = port::CreateRingPair("cc", 1, 1024);
  if (!ids.ok()) {
    std::fprintf(stderr, "conn_cost: %s\n", ids.status().ToString().c_str());
    return 1;
  }
  port::PortConfig pc;
  pc.num_queues = 1;
  pc.rx_descriptors = 1024;
  pc.tx_descriptors = 1024;
  pc.num_mbufs = 8191;
  auto a = port::Port::OpenById(ids->first, pc);
  pc.mac = wire::MacAddress{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
  auto b = port::Port::OpenById(ids->second, pc);
  if (!a.ok() || !b.ok()) {
    std::fprintf(stderr, "conn_cost: cannot open the ring ports\n");
    return 1;
  }
  port::Port server_port = std::move(*a);
  port::Port client_port = std::move(*b);

  engine::WorkerConfig sc;
  sc.ip = wire::Ipv4Prefix{kServerIp, 24};
  sc.listen_ports = {80};
  sc.secret = tcp::SipKey{0x0123456789abcdefull, 0xfedcba9876543210ull};
  sc.hash_seed = 42;
  if (opt.publish_every_poll) sc.publish_interval_ns = 0;
  engine::WorkerConfig cc = sc;
  cc.ip = wire::Ipv4Prefix{kClientIp, 24};
  cc.listen_ports.clear();
  cc.tcp_active = true;
  cc.local_ip_first = wire::Ipv4Address::FromOctets(10, 0, 1, 1).value;
  cc.local_ip_last = wire::Ipv4Address::FromOctets(10, 0, 1, 254).value;
  cc.hash_seed = 43;

  app::ResponderConfig rc;
  rc.response_bytes = 64;
  rc.close = opt.close;
  app::Responder responder(rc);
  app::GeneratorConfig gc;
  gc.servers = {app::LoadTarget(kServerIp.value, 80)};
  gc.client_ip_first = cc.local_ip_first;
  gc.client_ip_last = cc.local_ip_last;
  gc.concurrency = opt.concurrency;
  gc.response_bytes = 64;
  gc.close = opt.close;
  gc.max_connections = cc.tcp.max_connections;
  app::Generator generator(gc);
  generator.SetSchedule(0, ~uint64_t{0});

  app::RegisterCounters();
  engine::CoreCounters server_counters;
  engine::CoreCounters client_counters;
  engine::Worker server(
      sc,
      engine::QueueBinding{server_port.id(), 0, server_port.pool(),
                           server_port.mac(), server_port.offloads()},
      &server_counters, responder.ops());
  engine::Worker client(
      cc,
      engine::QueueBinding{client_port.id(), 0, client_port.pool(),
                           client_port.mac(), client_port.offloads()},
      &client_counters, generator.ops());

  uint64_t now = tcp::kSecond;
  for (long i = 0; i < opt.warmup; ++i, now += kStepNs) {
    client.PollOnce(now);
    server.PollOnce(now);
  }
  const uint64_t completed_before = generator.stats().completed;
  uint64_t cycles = 0;
  uint64_t client_cycles = 0;
  for (long i = 0; i < opt.iterations; ++i, now += kStepNs) {
    const uint64_t t0 = rte_rdtsc();
    MeasureClientPoll(client, now);
    const uint64_t t1 = rte_rdtsc();
    MeasureServerPoll(server, now);
    client_cycles += t1 - t0;
    cycles += rte_rdtsc() - t1;
  }
  const uint64_t conns = generator.stats().completed - completed_before;
  // Let the last connections finish before the ports go.
  for (int i = 0; i < 64; ++i, now += kStepNs) {
    client.PollOnce(now);
    server.PollOnce(now);
  }
  if (conns == 0) {
    std::fprintf(stderr, "conn_cost: no connection completed\n");
    return 1;
  }
  std::printf("conn-server %llu %llu\n", static_cast<unsigned long long>(conns),
              static_cast<unsigned long long>(cycles));
  std::printf("conn-client %llu %llu\n",
              static_cast<unsigned long long>(conns),
              static_cast<unsigned long long>(client_cycles));
  return 0;
}

}  // namespace
}  // namespace synwave::bench

int main(int argc, char** argv) {
  synwave::bench::Options opt;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--iterations=", 13) == 0) {
      opt.iterations = std::atol(argv[i] + 13);
    } else if (std::strncmp(argv[i], "--warmup=", 9) == 0) {
      opt.warmup = std::atol(argv[i] + 9);
    } else if (std::strncmp(argv[i], "--concurrency=", 14) == 0) {
      opt.concurrency = static_cast<uint32_t>(std::atol(argv[i] + 14));
    } else if (std::strcmp(argv[i], "--publish-every-poll") == 0) {
      opt.publish_every_poll = true;
    } else if (std::strcmp(argv[i], "--close=client") == 0) {
      opt.close = synwave::app::CloseMode::kClient;
    } else if (std::strcmp(argv[i], "--close=server") == 0) {
      opt.close = synwave::app::CloseMode::kServer;
    } else {
      std::fprintf(stderr,
                   "usage: conn_cost [--iterations=N] [--warmup=N] "
                   "[--concurrency=N] [--close=server|client] "
                   "[--publish-every-poll]\n");
      return 2;
    }
  }
  if (opt.iterations < 1 || opt.warmup < 0 || opt.concurrency < 1) {
    std::fprintf(stderr, "conn_cost: iterations >= 1, concurrency >= 1\n");
    return 2;
  }
  const std::string prefix = "synwave_conn_" + std::to_string(getpid());
  const absl::Status s = synwave::port::InitEal(
      {"conn_cost", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
       "--log-level=warning", "-l", "0", "--file-prefix=" + prefix});
  if (!s.ok()) {
    std::fprintf(stderr, "conn_cost: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  const int rc = synwave::bench::Run(opt);
  synwave::port::CleanupEal();
  return rc;
}
