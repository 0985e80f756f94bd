// synwave: the command-line entry point. Flags, config, EAL start-up and
// wiring only; everything else lives in lib/.
//
//   synwave version
//   synwave --help
//   synwave serve --port=DEVARGS --ip=A.B.C.D/N [--gateway=A.B.C.D] ...
//
// Exit codes: 0 success, 1 runtime failure, 2 bad usage (a bad flag value,
// a missing device, an address that does not parse), with a one-line error
// naming the flag.
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_version.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "control/command_line.h"
#include "control/config.h"
#include "control/report.h"
#include "engine/counters.h"
#include "engine/responder.h"
#include "engine/worker.h"
#include "port/eal.h"
#include "port/port.h"

ABSL_FLAG(std::string, port, "",
          "DPDK device: a virtual device's devargs (net_tap0,iface=sw0) or a "
          "PCI address (0000:01:00.0)");
ABSL_FLAG(std::string, ip, "", "our IPv4 address and prefix, A.B.C.D/N");
ABSL_FLAG(std::string, gateway, "",
          "next hop for destinations off our subnet (optional)");
ABSL_FLAG(std::string, mac, "",
          "MAC address to use instead of the port's (optional)");
ABSL_FLAG(std::string, lcores, "",
          "worker CPUs, one RX/TX queue each, e.g. 1 or 1-3 (default: the "
          "last CPU)");
ABSL_FLAG(std::string, eal, "",
          "extra raw EAL arguments; when given, replaces the default "
          "--no-huge -m 512 --no-pci --no-shconf");
ABSL_FLAG(double, duration, 0,
          "seconds to run; 0 runs until SIGINT or SIGTERM");
ABSL_FLAG(double, stats_interval, 0,
          "seconds between statistics lines; 0 prints only the final counters");
ABSL_FLAG(std::string, json, "", "write the final report as JSON to this path");
ABSL_FLAG(std::string, config, "",
          "TOML file whose keys are flag names; flags on the command line win");
ABSL_FLAG(int32_t, burst, 32, "frames per RX burst (1-64)");
ABSL_FLAG(int32_t, arp_timeout, 60,
          "seconds a neighbour stays reachable after its last ARP");

// serve
ABSL_FLAG(std::string, listen, "80", "TCP port to accept connections on (repeatable)");
ABSL_FLAG(int64_t, response_bytes, 64,
          "body bytes of the HTTP/1.1 200 response to each request (raw "
          "mode: bytes of the response)");
ABSL_FLAG(int64_t, request_bytes, 0,
          "raw mode: a request is this many bytes (0: HTTP, a request ends "
          "at its first blank line)");
ABSL_FLAG(std::string, close, "server",
          "who sends the first FIN: server (after the response) or client");
ABSL_FLAG(int64_t, backlog, 1024, "accept queue length per listener");
ABSL_FLAG(int64_t, syn_backlog, 1024, "SYN queue length per listener");
ABSL_FLAG(int64_t, max_connections, 16384, "TCBs per worker");
ABSL_FLAG(int64_t, max_half_open, 4096, "SYN-queue entries per worker");
ABSL_FLAG(int64_t, max_time_wait, 16384,
          "TIME-WAIT records per worker (the oldest is recycled when full)");
ABSL_FLAG(double, msl, 30, "maximum segment lifetime, seconds (TIME-WAIT lasts 2 MSL)");
ABSL_FLAG(double, fin_timeout, 60, "seconds FIN-WAIT-2 may last after we closed");
ABSL_FLAG(bool, keepalive, false, "send keepalive probes on idle connections");
ABSL_FLAG(double, keepalive_idle, 7200, "seconds idle before the first keepalive probe");
ABSL_FLAG(double, keepalive_interval, 75, "seconds between keepalive probes");
ABSL_FLAG(int32_t, keepalive_probes, 9, "unanswered probes before the connection is dropped");
ABSL_FLAG(bool, timestamps, true, "negotiate TCP timestamps (RFC 7323)");
ABSL_FLAG(int32_t, mss, 1460, "MSS we advertise, bytes");
ABSL_FLAG(int32_t, syn_ack_retries, 5, "SYN-ACK retransmissions before a half-open entry is dropped");

namespace synwave {
namespace {

constexpr char kUsage[] =
    R"(synwave: a kernel-bypass TCP endpoint on DPDK

usage: synwave <command> [flags]

commands:
  serve     run the endpoint on a DPDK port: accepts TCP connections on the
            --listen ports and answers each request (HTTP/1.1 or raw), and
            answers ARP and ICMP echo
  version   print the version
  help      print this help

flags (also settable from --config=FILE, a TOML file with the same keys):
)";

// Flags that may be given more than once (values accumulate).
const std::set<std::string> kRepeatable = {"port", "listen"};

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true, std::memory_order_relaxed); }

int UsageError(const absl::Status& s) {
  std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
  return 2;
}

// Flags -> typed Config, each error naming its flag.
absl::StatusOr<control::Config> ConfigFromFlags() {
  control::Config c;
  c.ports = control::SplitRepeated(absl::GetFlag(FLAGS_port));
  if (std::string ip = absl::GetFlag(FLAGS_ip); !ip.empty()) {
    c.ip = wire::Ipv4Prefix::Parse(ip);
    if (!c.ip) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ip: '", ip, "' is not an address like 198.18.0.2/24"));
    }
  }
  if (std::string gw = absl::GetFlag(FLAGS_gateway); !gw.empty()) {
    c.gateway = wire::Ipv4Address::Parse(gw);
    if (!c.gateway) {
      return absl::InvalidArgumentError(
          absl::StrCat("--gateway: '", gw, "' is not an IPv4 address"));
    }
  }
  if (std::string mac = absl::GetFlag(FLAGS_mac); !mac.empty()) {
    c.mac = wire::MacAddress::Parse(mac);
    if (!c.mac) {
      return absl::InvalidArgumentError(
          absl::StrCat("--mac: '", mac, "' is not a MAC like 02:00:00:00:00:01"));
    }
  }
  if (std::string lc = absl::GetFlag(FLAGS_lcores); !lc.empty()) {
    absl::StatusOr<std::vector<unsigned>> cpus = control::ParseCpuList(lc);
    if (!cpus.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--lcores: ", cpus.status().message()));
    }
    const unsigned available = control::AvailableCpus();
    for (unsigned cpu : *cpus) {
      if (cpu >= available) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--lcores: CPU ", cpu, " does not exist (this machine has ",
            available, ")"));
      }
    }
    c.lcores = *cpus;
  } else {
    c.lcores = control::DefaultLcores();
  }
  absl::StatusOr<std::vector<std::string>> eal =
      control::SplitArgs(absl::GetFlag(FLAGS_eal));
  if (!eal.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--eal: ", eal.status().message()));
  }
  c.eal_args = *eal;
  c.duration_s = absl::GetFlag(FLAGS_duration);
  c.stats_interval_s = absl::GetFlag(FLAGS_stats_interval);
  c.json_path = absl::GetFlag(FLAGS_json);
  const int32_t burst = absl::GetFlag(FLAGS_burst);
  if (burst < 1 || burst > engine::kMaxBurst) {
    return absl::InvalidArgumentError(
        absl::StrCat("--burst: must be 1..", engine::kMaxBurst));
  }
  c.burst = static_cast<uint16_t>(burst);
  const int32_t arp_timeout = absl::GetFlag(FLAGS_arp_timeout);
  if (arp_timeout < 1) {
    return absl::InvalidArgumentError("--arp-timeout: must be >= 1");
  }
  c.arp_timeout_s = static_cast<uint32_t>(arp_timeout);

  for (const std::string& p : control::SplitRepeated(absl::GetFlag(FLAGS_listen))) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(p, &port) || port == 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("--listen: '", p, "' is not a port 1-65535"));
    }
    c.listen_ports.push_back(static_cast<uint16_t>(port));
  }
  // Integer flags with their ranges; the message names the flag.
  auto in_range = [](const char* flag, int64_t v, int64_t lo,
                     int64_t hi) -> absl::StatusOr<int64_t> {
    if (v < lo || v > hi) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": ", v, " is outside ", lo, "..", hi));
    }
    return v;
  };
  auto seconds = [](const char* flag, double v) -> absl::StatusOr<uint64_t> {
    if (!(v > 0) || v > 1e7) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": must be a positive number of seconds"));
    }
    return static_cast<uint64_t>(v * 1e9);
  };
#define SYNWAVE_RANGE(var, flag, lo, hi)                                     \
  {                                                                          \
    absl::StatusOr<int64_t> r =                                              \
        in_range(flag, absl::GetFlag(FLAGS_##var), lo, hi);                  \
    if (!r.ok()) return r.status();                                          \
    var = *r;                                                                \
  }
#define SYNWAVE_SECONDS(var, flag)                                           \
  {                                                                          \
    absl::StatusOr<uint64_t> r = seconds(flag, absl::GetFlag(FLAGS_##var)); \
    if (!r.ok()) return r.status();                                          \
    var##_ns = *r;                                                           \
  }
  int64_t response_bytes, request_bytes, backlog, syn_backlog, max_connections,
      max_half_open, max_time_wait;
  SYNWAVE_RANGE(response_bytes, "response-bytes", 0, 1 << 30);
  SYNWAVE_RANGE(request_bytes, "request-bytes", 0, (1 << 24) - 1);
  SYNWAVE_RANGE(backlog, "backlog", 1, 1 << 24);
  SYNWAVE_RANGE(syn_backlog, "syn-backlog", 1, 1 << 24);
  SYNWAVE_RANGE(max_connections, "max-connections", 1, 1 << 24);
  SYNWAVE_RANGE(max_half_open, "max-half-open", 1, 1 << 24);
  SYNWAVE_RANGE(max_time_wait, "max-time-wait", 0, 1 << 24);
  uint64_t msl_ns, fin_timeout_ns, keepalive_idle_ns, keepalive_interval_ns;
  SYNWAVE_SECONDS(msl, "msl");
  SYNWAVE_SECONDS(fin_timeout, "fin-timeout");
  SYNWAVE_SECONDS(keepalive_idle, "keepalive-idle");
  SYNWAVE_SECONDS(keepalive_interval, "keepalive-interval");
#undef SYNWAVE_RANGE
#undef SYNWAVE_SECONDS
  c.responder.response_bytes = static_cast<uint32_t>(response_bytes);
  c.responder.request_bytes = static_cast<uint32_t>(request_bytes);
  const std::string close = absl::GetFlag(FLAGS_close);
  if (close == "server") {
    c.responder.close = engine::CloseMode::kServer;
  } else if (close == "client") {
    c.responder.close = engine::CloseMode::kClient;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--close: '", close, "' is not server or client"));
  }
  tcp::TcpConfig& t = c.tcp;
  t.accept_backlog = static_cast<uint32_t>(backlog);
  t.syn_backlog = static_cast<uint32_t>(syn_backlog);
  t.max_connections = static_cast<uint32_t>(max_connections);
  t.max_half_open = static_cast<uint32_t>(max_half_open);
  t.max_time_wait = static_cast<uint32_t>(max_time_wait);
  // Two 2 KiB buffer chunks per connection on average.
  t.buffer_chunks = 2 * t.max_connections;
  t.msl_ns = msl_ns;
  t.fin_wait2_timeout_ns = fin_timeout_ns;
  t.keepalive = absl::GetFlag(FLAGS_keepalive);
  t.keepalive_idle_ns = keepalive_idle_ns;
  t.keepalive_interval_ns = keepalive_interval_ns;
  const int32_t probes = absl::GetFlag(FLAGS_keepalive_probes);
  if (probes < 1 || probes > 255) {
    return absl::InvalidArgumentError("--keepalive-probes: must be 1..255");
  }
  t.keepalive_probes = static_cast<uint8_t>(probes);
  t.timestamps = absl::GetFlag(FLAGS_timestamps);
  const int32_t mss = absl::GetFlag(FLAGS_mss);
  if (mss < 64 || mss > 9000) {
    return absl::InvalidArgumentError("--mss: must be 64..9000");
  }
  t.mss = static_cast<uint16_t>(mss);
  const int32_t retries = absl::GetFlag(FLAGS_syn_ack_retries);
  if (retries < 0 || retries > 20) {
    return absl::InvalidArgumentError("--syn-ack-retries: must be 0..20");
  }
  t.syn_ack_retries = static_cast<uint8_t>(retries);
  if (absl::Status s = control::Validate(c); !s.ok()) return s;
  return c;
}

struct WorkerSlot {
  engine::Worker* worker;
};

int LaunchWorker(void* arg) {
  static_cast<WorkerSlot*>(arg)->worker->Run(g_stop);
  return 0;
}

int RunOnPort(const control::Config& config);

int Serve(const control::Config& config) {
  if (config.ports.size() > 1) {
    return UsageError(absl::InvalidArgumentError(
        "--port: one port per process in this version"));
  }
  port::EalOptions eal;
  eal.worker_cpus = config.lcores;
  eal.devices = config.ports;
  eal.extra_args = config.eal_args;
  eal.available_cpus = control::AvailableCpus();
  absl::StatusOr<std::vector<std::string>> eal_args = port::BuildEalArgs(eal);
  if (!eal_args.ok()) return UsageError(eal_args.status());
  if (absl::Status s = port::InitEal(*eal_args); !s.ok()) {
    return UsageError(absl::InvalidArgumentError(
        absl::StrCat("--port/--eal: ", s.message())));
  }

  const int rc = RunOnPort(config);
  // The port (and its pool) is gone before the EAL is torn down.
  port::CleanupEal();
  return rc;
}

int RunOnPort(const control::Config& config) {
  const auto num_workers = static_cast<uint16_t>(config.lcores.size());
  port::PortConfig pc;
  pc.devargs = config.ports.front();
  pc.num_queues = num_workers;
  pc.mac = config.mac;
  absl::StatusOr<port::Port> port = port::Port::Open(pc);
  if (!port.ok()) {
    return absl::IsNotFound(port.status()) ||
                   absl::IsInvalidArgument(port.status())
               ? UsageError(port.status())
               : (std::fprintf(stderr, "synwave: %s\n",
                               std::string(port.status().message()).c_str()),
                  1);
  }
  const port::Offloads& off = port->offloads();
  std::printf(
      "synwave serve: port %s mac %s ip %s%s, %u worker(s) on CPU %s, "
      "checksum offload rx %s tx %s, listening on TCP %s\n",
      port->name().c_str(), port->mac().ToString().c_str(),
      config.ip->ToString().c_str(),
      config.gateway ? absl::StrCat(" gateway ", config.gateway->ToString()).c_str()
                     : "",
      num_workers, absl::StrJoin(config.lcores, ",").c_str(),
      off.rx_ipv4_checksum ? "yes" : "no (software)",
      off.tx_ipv4_checksum ? "yes" : "no (software)",
      absl::StrJoin(config.listen_ports, ",").c_str());
  std::fflush(stdout);

  engine::WorkerConfig wc = control::MakeWorkerConfig(config);
  // Secrets for ISNs and the flow hash: random per process start, the same
  // (read-only) on every core.
  std::random_device rd;
  wc.secret = tcp::SipKey{(uint64_t{rd()} << 32) | rd(), (uint64_t{rd()} << 32) | rd()};
  wc.hash_seed = (uint64_t{rd()} << 32) | rd();
  std::vector<engine::CoreCounters> counters(num_workers);
  std::vector<std::unique_ptr<engine::Responder>> responders;
  std::vector<std::unique_ptr<engine::Worker>> workers;
  std::vector<WorkerSlot> slots(num_workers);
  for (uint16_t q = 0; q < num_workers; ++q) {
    engine::QueueBinding qb{port->id(), q, port->pool(), port->mac(), off};
    responders.push_back(std::make_unique<engine::Responder>(config.responder));
    workers.push_back(std::make_unique<engine::Worker>(
        wc, qb, &counters[q], responders.back()->ops()));
    slots[q].worker = workers.back().get();
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // Workers are lcores 1..N (port/eal.h).
  for (uint16_t q = 0; q < num_workers; ++q) {
    rte_eal_remote_launch(LaunchWorker, &slots[q], q + 1);
  }

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_stats = start;
  control::CounterTotals before;
  while (!g_stop.load(std::memory_order_relaxed)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    if (config.stats_interval_s > 0 &&
        std::chrono::duration<double>(now - last_stats).count() >=
            config.stats_interval_s) {
      const double interval =
          std::chrono::duration<double>(now - last_stats).count();
      control::CounterTotals totals = control::SumCounters(counters);
      std::printf("%s\n",
                  control::FormatStatsLine(elapsed, interval, totals, before)
                      .c_str());
      std::fflush(stdout);
      before = std::move(totals);
      last_stats = now;
    }
    if (config.duration_s > 0 && elapsed >= config.duration_s) break;
  }
  g_stop.store(true);
  rte_eal_mp_wait_lcore();
  for (auto& w : workers) w->PublishCounters();

  const control::CounterTotals totals = control::SumCounters(counters);
  // With the workers gone and the port stopped (its queues release their
  // mbufs), every mbuf must be back in the pool: anything else is a leak.
  workers.clear();
  port->Stop();
  const unsigned mbufs_in_use = port->pool_size() - port->AvailableMbufs();
  std::printf("final counters:\n%s",
              control::FormatCounterTable(totals).c_str());
  if (mbufs_in_use != 0) std::printf("mbufs not returned: %u\n", mbufs_in_use);
  std::fflush(stdout);
  int rc = 0;
  if (!config.json_path.empty()) {
    nlohmann::json report = control::CountersJson(totals);
    report["pools"]["mbufs"] = mbufs_in_use;
    if (absl::Status s = control::WriteJson(config.json_path, report); !s.ok()) {
      std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
      rc = 1;
    }
  }
  return rc;
}

int Main(int argc, char** argv) {
  absl::StatusOr<control::CommandLine> cl =
      control::ParseCommandLine(argc, argv, kRepeatable);
  if (!cl.ok()) return UsageError(cl.status());
  const std::string command = cl->positional.empty() ? "" : cl->positional[0];
  if (cl->help || command == "help") {
    std::printf("%s%s", kUsage, control::FlagsHelp("apps/synwave").c_str());
    return 0;
  }
  if (command.empty()) {
    std::fprintf(stderr, "%s%s", kUsage,
                 control::FlagsHelp("apps/synwave").c_str());
    return 2;
  }
  if (command == "version") {
    std::printf("synwave %s (%s)\n", SYNWAVE_VERSION, rte_version());
    return 0;
  }
  if (command != "serve") {
    return UsageError(absl::InvalidArgumentError(absl::StrCat(
        "unknown command '", command, "' (see synwave --help)")));
  }
  if (cl->positional.size() > 1) {
    return UsageError(absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", cl->positional[1], "'")));
  }
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    if (absl::Status s = control::ApplyConfigFile(path, cl->given, kRepeatable); !s.ok()) {
      return UsageError(s);
    }
  }
  absl::StatusOr<control::Config> config = ConfigFromFlags();
  if (!config.ok()) return UsageError(config.status());
  return Serve(*config);
}

}  // namespace
}  // namespace synwave

int main(int argc, char** argv) { return synwave::Main(argc, argv); }
