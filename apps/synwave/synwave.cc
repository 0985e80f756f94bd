// synwave: the command-line entry point. Flags, config, EAL start-up and
// wiring only; everything else lives in lib/.
//
//   synwave version
//   synwave --help
//   synwave serve --port=DEVARGS --ip=A.B.C.D/N [--gateway=A.B.C.D] ...
//   synwave load --port=DEVARGS --ip=A.B.C.D/N --server=IP:PORT ...
//   synwave loopback [load and serve flags]
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
#include <cerrno>
#include <ctime>
#include <cstdio>
#include <memory>
#include <optional>
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
#include "engine/clock.h"
#include "engine/generator.h"
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
          "who ends a connection: server (its FIN after the last response), "
          "client (our FIN), or rst (load/loopback: the client resets it)");
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
ABSL_FLAG(int32_t, syn_retries, 6, "SYN retransmissions before an active open fails");
ABSL_FLAG(std::string, syncookies, "overflow",
          "SYN cookies: off (drop SYNs when the SYN queue is full), overflow "
          "(a cookie when it is full, as Linux's default) or always (no state "
          "for any SYN)");

// load and loopback
ABSL_FLAG(std::string, server, "",
          "load: server to connect to, IP:PORT (repeatable; connections are "
          "spread over them)");
ABSL_FLAG(double, cps, 0,
          "load: target new connections per second, paced open-loop (0: "
          "as fast as --concurrency allows)");
ABSL_FLAG(int64_t, concurrency, -1,
          "load: connections open at once, at most (0: no limit; default: "
          "512 when --cps=0, else no limit); with --flood, --cps=0 "
          "--concurrency=0 sends only the flood");
ABSL_FLAG(double, ramp, 0, "load: seconds of linear ramp up to --cps");
ABSL_FLAG(std::string, client_ips, "",
          "load: client addresses, a range 10.0.0.2-10.0.0.200, a prefix "
          "10.0.1.0/24 or one address (default: the --ip address; "
          "loopback: 10.0.1.1-10.0.1.254)");
ABSL_FLAG(std::string, client_ports, "1024-65535", "load: client port range");
ABSL_FLAG(int64_t, keepalive_requests, 1,
          "load: requests per connection (responses awaited one by one)");
ABSL_FLAG(bool, flood, false,
          "load: also send SYNs from spoofed sources (--flood-sources) to the "
          "first server at --pps, never completing them; counts the SYN-ACKs "
          "and RSTs that come back");
ABSL_FLAG(std::string, flood_sources, "",
          "load: spoofed source addresses of --flood, a prefix or range "
          "(loopback default: 10.128.0.0/9)");
ABSL_FLAG(double, pps, 0, "load: SYNs per second of --flood (0: as fast as possible)");
ABSL_FLAG(double, flood_pps, -1,
          "loopback/load: shorthand for --flood --pps=N (0: as fast as possible)");
ABSL_FLAG(double, drain, 1,
          "load: seconds after --duration for open connections to finish "
          "(and TIME-WAIT records to expire) before the report");

namespace synwave {
namespace {

constexpr char kUsage[] =
    R"(synwave: a kernel-bypass TCP endpoint on DPDK

usage: synwave <command> [flags]

commands:
  serve     run the endpoint on a DPDK port: accepts TCP connections on the
            --listen ports and answers each request (HTTP/1.1 or raw), and
            answers ARP and ICMP echo
  load      open TCP connections to --server from a DPDK port at --cps
            and/or --concurrency; one line per second, a summary with
            latency percentiles at the end
  loopback  load and serve in one process over an in-memory link (no NIC,
            no hugepages): half the --lcores generate, half serve
  version   print the version
  help      print this help

flags (also settable from --config=FILE, a TOML file with the same keys):
)";

// Flags that may be given more than once (values accumulate).
const std::set<std::string> kRepeatable = {"port", "listen", "server"};

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true, std::memory_order_relaxed); }

int UsageError(const absl::Status& s) {
  std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
  return 2;
}

// Flags -> typed Config, each error naming its flag.
absl::StatusOr<control::Config> ConfigFromFlags(control::Mode mode) {
  control::Config c;
  c.mode = mode;
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
  } else if (mode == control::Mode::kLoopback) {
    // Both ends: every CPU the process may use.
    for (unsigned cpu = 0; cpu < control::AvailableCpus(); ++cpu) {
      c.lcores.push_back(cpu);
    }
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
  if (mode == control::Mode::kLoopback && c.duration_s == 0) c.duration_s = 10;
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
  c.responder.response_bytes = static_cast<uint32_t>(response_bytes);
  c.responder.request_bytes = static_cast<uint32_t>(request_bytes);
  const std::string close = absl::GetFlag(FLAGS_close);
  if (close == "server") {
    c.responder.close = engine::CloseMode::kServer;
    c.load.close = engine::LoadClose::kServer;
  } else if (close == "client") {
    c.responder.close = engine::CloseMode::kClient;
    c.load.close = engine::LoadClose::kClient;
  } else if (close == "rst" && mode != control::Mode::kServe) {
    c.responder.close = engine::CloseMode::kClient;  // the client resets
    c.load.close = engine::LoadClose::kRst;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--close: '", close, "' is not ",
        mode == control::Mode::kServe ? "server or client"
                                      : "server, client or rst"));
  }
  // load and loopback.
  for (const std::string& s : control::SplitRepeated(absl::GetFlag(FLAGS_server))) {
    absl::StatusOr<engine::LoadTarget> t = control::ParseServer(s);
    if (!t.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--server: ", t.status().message()));
    }
    c.load.servers.push_back(*t);
  }
  if (c.load.servers.size() > 8) {
    return absl::InvalidArgumentError("--server: at most 8 servers");
  }
  c.load.cps = absl::GetFlag(FLAGS_cps);
  if (!(c.load.cps >= 0) || c.load.cps > 1e9) {
    return absl::InvalidArgumentError("--cps: must be 0..1e9");
  }
  int64_t concurrency, keepalive_requests;
  SYNWAVE_RANGE(concurrency, "concurrency", -1, 1 << 24);
  SYNWAVE_RANGE(keepalive_requests, "keepalive-requests", 1, 2047);
  if (concurrency == -1) concurrency = c.load.cps == 0 ? 512 : 0;
  c.load.flood = absl::GetFlag(FLAGS_flood);
  c.load.flood_pps = absl::GetFlag(FLAGS_pps);
  if (const double fp = absl::GetFlag(FLAGS_flood_pps); fp != -1) {
    if (!(fp >= 0)) return absl::InvalidArgumentError("--flood-pps: must be >= 0");
    c.load.flood = true;
    c.load.flood_pps = fp;
  }
  if (!(c.load.flood_pps >= 0) || c.load.flood_pps > 1e10) {
    return absl::InvalidArgumentError("--pps: must be >= 0");
  }
  // An address-range flag into [*first, *last]; the error names the flag.
  auto address_range = [](const char* flag, const std::string& text,
                          uint32_t* first, uint32_t* last) -> absl::Status {
    absl::StatusOr<std::pair<uint32_t, uint32_t>> r =
        control::ParseAddressRange(text);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": ", r.status().message()));
    }
    *first = r->first;
    *last = r->second;
    return absl::OkStatus();
  };
  if (std::string fs = absl::GetFlag(FLAGS_flood_sources); !fs.empty()) {
    if (absl::Status st = address_range("flood-sources", fs, &c.load.flood_src_first,
                                        &c.load.flood_src_last);
        !st.ok()) {
      return st;
    }
  } else if (mode == control::Mode::kLoopback) {
    c.load.flood_src_first = 0x0a800001;  // 10.128.0.1
    c.load.flood_src_last = 0x0afffffe;   // 10.255.255.254
  }
  c.load.concurrency = static_cast<uint32_t>(concurrency);
  c.load.keepalive_requests = static_cast<uint32_t>(keepalive_requests);
  c.responder.requests_per_connection = c.load.keepalive_requests;
  c.load.ramp_s = absl::GetFlag(FLAGS_ramp);
  if (!(c.load.ramp_s >= 0) || c.load.ramp_s > 1e6) {
    return absl::InvalidArgumentError("--ramp: must be >= 0 seconds");
  }
  c.load.drain_s = absl::GetFlag(FLAGS_drain);
  if (!(c.load.drain_s >= 0) || c.load.drain_s > 1e6) {
    return absl::InvalidArgumentError("--drain: must be >= 0 seconds");
  }
  if (std::string ips = absl::GetFlag(FLAGS_client_ips); !ips.empty()) {
    if (absl::Status st = address_range("client-ips", ips, &c.load.client_ip_first,
                                        &c.load.client_ip_last);
        !st.ok()) {
      return st;
    }
  } else if (mode == control::Mode::kLoopback) {
    c.load.client_ip_first = 0x0a000101;  // 10.0.1.1
    c.load.client_ip_last = 0x0a0001fe;   // 10.0.1.254
  } else if (c.ip) {
    c.load.client_ip_first = c.load.client_ip_last = c.ip->address.value;
  }
  {
    absl::StatusOr<std::pair<uint16_t, uint16_t>> r =
        control::ParsePortRange(absl::GetFlag(FLAGS_client_ports));
    if (!r.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--client-ports: ", r.status().message()));
    }
    c.load.port_first = r->first;
    c.load.port_last = r->second;
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
  const int32_t syn_retries = absl::GetFlag(FLAGS_syn_retries);
  if (syn_retries < 0 || syn_retries > 20) {
    return absl::InvalidArgumentError("--syn-retries: must be 0..20");
  }
  t.syn_retries = static_cast<uint8_t>(syn_retries);
  const std::string cookies = absl::GetFlag(FLAGS_syncookies);
  if (cookies == "off") {
    t.syncookies = tcp::SynCookieMode::kOff;
  } else if (cookies == "overflow") {
    t.syncookies = tcp::SynCookieMode::kOverflow;
  } else if (cookies == "always") {
    t.syncookies = tcp::SynCookieMode::kAlways;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--syncookies: '", cookies, "' is not off, overflow or always"));
  }
#undef SYNWAVE_RANGE
#undef SYNWAVE_SECONDS
  if (absl::Status s = control::Validate(c); !s.ok()) return s;
  return c;
}

// What one lcore polls: one worker, or (loopback on one core) both ends.
struct LcoreSlot {
  std::vector<engine::Worker*> workers;
};

int LaunchLcore(void* arg) {
  const auto* slot = static_cast<const LcoreSlot*>(arg);
  const engine::TscClock clock;
  if (slot->workers.size() == 1) {
    slot->workers[0]->Run(g_stop);
    return 0;
  }
  while (!g_stop.load(std::memory_order_relaxed)) {
    for (engine::Worker* w : slot->workers) w->PollOnce(clock.NowNs());
  }
  return 0;
}

// One port and what runs on its queues: a worker per queue, each with its
// application (responders for serve, generators for load).
struct Side {
  std::optional<port::Port> port;
  std::vector<engine::CoreCounters> counters;
  std::vector<std::unique_ptr<engine::Responder>> responders;
  std::vector<std::unique_ptr<engine::Generator>> generators;
  std::vector<std::unique_ptr<engine::Worker>> workers;
  std::optional<flow::ToeplitzIpv4Tcp> rss;
  std::vector<uint16_t> reta;

  control::CounterTotals Totals() const { return control::SumCounters(counters); }
};

void RandomSecrets(engine::WorkerConfig& wc) {
  // Random per process start, the same (read-only) on every core.
  std::random_device rd;
  wc.secret = tcp::SipKey{(uint64_t{rd()} << 32) | rd(), (uint64_t{rd()} << 32) | rd()};
  wc.hash_seed = (uint64_t{rd()} << 32) | rd();
}

// Workers for every queue of side.port: servers when `load` is null,
// generators otherwise.
void BuildWorkers(Side& side, const control::Config& config,
                  const engine::WorkerConfig& wc,
                  const control::LoadSettings* load) {
  const uint16_t queues = side.port->num_queues();
  side.counters = std::vector<engine::CoreCounters>(queues);
  if (load != nullptr && queues > 1) {
    absl::StatusOr<port::Port::Rss> rss = side.port->QueryRss();
    if (rss.ok() && rss->key.size() >= 16) {
      side.rss.emplace(rss->key.data(), rss->key.size());
      side.reta = rss->reta;
    }
  }
  for (uint16_t q = 0; q < queues; ++q) {
    engine::QueueBinding qb{side.port->id(), q, side.port->pool(),
                            side.port->mac(), side.port->offloads()};
    engine::AppOps ops;
    if (load == nullptr) {
      side.responders.push_back(std::make_unique<engine::Responder>(config.responder));
      ops = side.responders.back()->ops();
    } else {
      engine::GeneratorConfig gc;
      gc.servers = load->servers;
      gc.client_ip_first = load->client_ip_first;
      gc.client_ip_last = load->client_ip_last;
      gc.port_first = load->port_first;
      gc.port_last = load->port_last;
      gc.cps = load->cps / queues;
      gc.concurrency = load->concurrency == 0
                           ? 0
                           : std::max<uint32_t>(1, (load->concurrency + queues - 1) / queues);
      gc.ramp_ns = static_cast<uint64_t>(load->ramp_s * 1e9);
      gc.request_bytes = config.responder.request_bytes;
      gc.response_bytes = config.responder.response_bytes;
      gc.close = load->close;
      gc.requests_per_connection = load->keepalive_requests;
      gc.max_connections = config.tcp.max_connections;
      // --flood with --cps=0 --concurrency=0: the flood alone.
      if (load->flood && load->cps == 0 && load->concurrency == 0) gc.opens_per_poll = 0;
      gc.queue_id = q;
      gc.num_queues = queues;
      if (side.rss) {
        gc.rss = &*side.rss;
        gc.reta = side.reta;
      }
      side.generators.push_back(
          std::make_unique<engine::Generator>(gc, &side.counters[q]));
      ops = side.generators.back()->ops();
    }
    side.workers.push_back(
        std::make_unique<engine::Worker>(wc, qb, &side.counters[q], ops));
    if (load != nullptr) side.generators.back()->Attach(side.workers.back().get());
  }
}

// Stops the workers' port and reports mbufs that did not come back.
unsigned StopSide(Side& side) {
  for (auto& w : side.workers) w->PublishCounters();
  side.workers.clear();
  side.port->Stop();
  return side.port->pool_size() - side.port->AvailableMbufs();
}

int PortError(const absl::Status& s) {
  if (absl::IsNotFound(s) || absl::IsInvalidArgument(s)) return UsageError(s);
  std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
  return 1;
}

absl::Status StartEal(const control::Config& config) {
  port::EalOptions eal;
  eal.worker_cpus = config.lcores;
  eal.devices = config.ports;
  eal.extra_args = config.eal_args;
  eal.available_cpus = control::AvailableCpus();
  absl::StatusOr<std::vector<std::string>> eal_args = port::BuildEalArgs(eal);
  if (!eal_args.ok()) return eal_args.status();
  if (absl::Status s = port::InitEal(*eal_args); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--port/--eal: ", s.message()));
  }
  return absl::OkStatus();
}

void Launch(std::vector<LcoreSlot>& slots) {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // Workers are lcores 1..N (port/eal.h).
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i].workers.empty()) {
      rte_eal_remote_launch(LaunchLcore, &slots[i], static_cast<unsigned>(i + 1));
    }
  }
}

// Sleeps `ms` on the monotonic clock until an absolute deadline, so that
// signals cannot stretch the sleep: net_tap has the kernel signal the
// process on every receive event, tens of thousands of times a second
// under a flood, and a relative sleep that restarts after each one drifts
// (seconds late, with no statistics lines and a late stop).
void SleepMs(int ms) {
  timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_nsec += static_cast<long>(ms) * 1'000'000;
  deadline.tv_sec += deadline.tv_nsec / 1'000'000'000;
  deadline.tv_nsec %= 1'000'000'000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// --- serve -------------------------------------------------------------------

int RunServe(const control::Config& config) {
  const auto num_workers = static_cast<uint16_t>(config.lcores.size());
  port::PortConfig pc;
  pc.devargs = config.ports.front();
  pc.num_queues = num_workers;
  pc.mac = config.mac;
  absl::StatusOr<port::Port> port = port::Port::Open(pc);
  if (!port.ok()) return PortError(port.status());
  Side side;
  side.port.emplace(std::move(*port));
  const port::Offloads& off = side.port->offloads();
  std::printf(
      "synwave serve: port %s mac %s ip %s%s, %u worker(s) on CPU %s, "
      "checksum offload rx %s tx %s, listening on TCP %s\n",
      side.port->name().c_str(), side.port->mac().ToString().c_str(),
      config.ip->ToString().c_str(),
      config.gateway ? absl::StrCat(" gateway ", config.gateway->ToString()).c_str()
                     : "",
      num_workers, absl::StrJoin(config.lcores, ",").c_str(),
      off.rx_ipv4_checksum ? "yes" : "no (software)",
      off.tx_ipv4_checksum ? "yes" : "no (software)",
      absl::StrJoin(config.listen_ports, ",").c_str());
  std::fflush(stdout);

  engine::WorkerConfig wc = control::MakeWorkerConfig(config);
  RandomSecrets(wc);
  BuildWorkers(side, config, wc, nullptr);
  std::vector<LcoreSlot> slots(num_workers);
  for (uint16_t q = 0; q < num_workers; ++q) slots[q].workers = {side.workers[q].get()};
  Launch(slots);

  const auto start = std::chrono::steady_clock::now();
  auto last_stats = start;
  control::CounterTotals before;
  while (!g_stop.load(std::memory_order_relaxed)) {
    SleepMs(20);
    const double elapsed = Since(start);
    const double interval = Since(last_stats);
    if (config.stats_interval_s > 0 && interval >= config.stats_interval_s) {
      control::CounterTotals totals = side.Totals();
      std::printf("%s\n", control::FormatStatsLine(elapsed, interval, totals, before).c_str());
      std::fflush(stdout);
      before = std::move(totals);
      last_stats = std::chrono::steady_clock::now();
    }
    if (config.duration_s > 0 && elapsed >= config.duration_s) break;
  }
  g_stop.store(true);
  rte_eal_mp_wait_lcore();
  // With the workers gone and the port stopped (its queues release their
  // mbufs), every mbuf must be back in the pool: anything else is a leak.
  for (auto& w : side.workers) w->PublishCounters();
  const control::CounterTotals totals = side.Totals();
  const unsigned mbufs_in_use = StopSide(side);
  std::printf("final counters:\n%s", control::FormatCounterTable(totals).c_str());
  if (mbufs_in_use != 0) std::printf("mbufs not returned: %u\n", mbufs_in_use);
  std::fflush(stdout);
  if (!config.json_path.empty()) {
    nlohmann::json report = control::CountersJson(totals);
    report["pools"]["mbufs"] = mbufs_in_use;
    if (absl::Status s = control::WriteJson(config.json_path, report); !s.ok()) {
      std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  return 0;
}

// --- load and loopback ---------------------------------------------------------

// Runs the generators of `client` (and the servers of `server`, in
// loopback) for the duration, drains, and reports.
int RunLoad(const control::Config& config, Side& client, Side* server,
            std::vector<LcoreSlot>& slots) {
  const engine::TscClock clock;
  const uint64_t start_ns = clock.NowNs();
  const uint64_t stop_ns =
      config.duration_s > 0
          ? start_ns + static_cast<uint64_t>(config.duration_s * 1e9)
          : ~uint64_t{0};
  for (auto& g : client.generators) g->SetSchedule(start_ns, stop_ns);
  if (config.load.flood) {
    const auto queues = static_cast<double>(client.workers.size());
    for (auto& w : client.workers) {
      engine::FloodConfig f;
      f.target_ip = config.load.servers.front().ip;
      f.target_port = config.load.servers.front().port;
      f.src_first = config.load.flood_src_first;
      f.src_last = config.load.flood_src_last;
      f.pps = config.load.flood_pps / queues;
      f.start_ns = start_ns;
      f.stop_ns = stop_ns;
      w->SetFlood(f);
    }
  }
  Launch(slots);

  const double stats_interval = config.stats_interval_s > 0 ? config.stats_interval_s : 1.0;
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  control::CounterTotals before;
  double cps_max = 0;
  double load_elapsed = 0;
  bool draining = false;
  // The largest pool use seen (sampled every 10 ms), per side.
  uint64_t peak[2][3] = {};
  auto sample_peaks = [&](int i, const control::CounterTotals& t) {
    peak[i][0] = std::max(peak[i][0], t[engine::Gauge::kTcbsInUse]);
    peak[i][1] = std::max(peak[i][1], t[engine::Gauge::kHalfOpenInUse]);
    peak[i][2] = std::max(peak[i][2], t[engine::Gauge::kTimeWaitInUse]);
  };
  while (!g_stop.load(std::memory_order_relaxed)) {
    SleepMs(10);
    // Each side's totals once per pass, for the peaks, the line and the
    // drain check alike.
    const control::CounterTotals c = client.Totals();
    const control::CounterTotals s =
        server != nullptr ? server->Totals() : control::CounterTotals{};
    sample_peaks(0, c);
    if (server != nullptr) sample_peaks(1, s);
    const double elapsed = Since(start);
    const double interval = Since(last);
    const bool load_over = config.duration_s > 0 && elapsed >= config.duration_s;
    if (interval >= stats_interval || (load_over && !draining)) {
      if (!draining && interval >= 0.5) {
        cps_max = std::max(
            cps_max, static_cast<double>(c[engine::Counter::kLoadCompleted] -
                                         before[engine::Counter::kLoadCompleted]) /
                         interval);
      }
      std::printf("%s\n",
                  control::FormatLoadLine(elapsed, interval, c, before,
                                          s[engine::Gauge::kTimeWaitInUse])
                      .c_str());
      std::fflush(stdout);
      before = c;
      last = std::chrono::steady_clock::now();
    }
    if (!load_over) {
      load_elapsed = elapsed;
      continue;
    }
    if (!draining) {
      draining = true;
      load_elapsed = config.duration_s;
    }
    // Drain: open connections finish; TIME-WAIT records expire if 2 MSL
    // fits in --drain.
    const uint64_t pending =
        c[engine::Gauge::kTimeWaitInUse] + s[engine::Gauge::kTimeWaitInUse] +
        s[engine::Gauge::kHalfOpenInUse] + s[engine::Gauge::kTcbsInUse];
    bool opening = false;
    for (auto& g : client.generators) opening |= !g->done_opening();
    if ((!opening && c[engine::Gauge::kLoadOpen] == 0 && pending == 0) ||
        elapsed >= config.duration_s + config.load.drain_s) {
      break;
    }
  }
  if (!draining) load_elapsed = Since(start);
  g_stop.store(true);
  rte_eal_mp_wait_lcore();

  control::LoadLatencies lat;
  for (auto& g : client.generators) {
    lat.connect.Merge(g->connect_us());
    lat.first_byte.Merge(g->first_byte_us());
    lat.total.Merge(g->total_us());
  }
  for (auto& w : client.workers) w->PublishCounters();
  if (server != nullptr) {
    for (auto& w : server->workers) w->PublishCounters();
  }
  const control::CounterTotals ct = client.Totals();
  const control::CounterTotals st = server != nullptr ? server->Totals() : control::CounterTotals{};
  const unsigned client_mbufs = StopSide(client);
  const unsigned server_mbufs = server != nullptr ? StopSide(*server) : 0;

  std::printf("%s", control::FormatLoadSummary(load_elapsed, ct, cps_max, lat).c_str());
  std::printf("client pools: tcbs %lu, half-open %lu, time-wait %lu, mbufs not returned %u\n",
              ct[engine::Gauge::kTcbsInUse], ct[engine::Gauge::kHalfOpenInUse],
              ct[engine::Gauge::kTimeWaitInUse], client_mbufs);
  if (server != nullptr) {
    std::printf("server pools: tcbs %lu, half-open %lu, time-wait %lu, mbufs not returned %u\n",
                st[engine::Gauge::kTcbsInUse], st[engine::Gauge::kHalfOpenInUse],
                st[engine::Gauge::kTimeWaitInUse], server_mbufs);
  }
  std::fflush(stdout);
  if (!config.json_path.empty()) {
    nlohmann::json report = control::LoadJson(load_elapsed, ct, cps_max, lat);
    nlohmann::json counters = control::CountersJson(ct);
    report["counters"] = counters["counters"];
    report["states"] = counters["states"];
    report["pools"] = counters["pools"];
    report["pools"]["mbufs"] = client_mbufs;
    auto peaks = [&](int i) {
      return nlohmann::json{{"tcbs", peak[i][0]}, {"half_open", peak[i][1]},
                            {"time_wait", peak[i][2]}};
    };
    report["pool_peaks"] = peaks(0);
    if (server != nullptr) {
      nlohmann::json s = control::CountersJson(st);
      s["pools"]["mbufs"] = server_mbufs;
      s["pool_peaks"] = peaks(1);
      report["server"] = s;
    }
    if (absl::Status s = control::WriteJson(config.json_path, report); !s.ok()) {
      std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  return 0;
}

int Load(const control::Config& config) {
  const auto num_workers = static_cast<uint16_t>(config.lcores.size());
  port::PortConfig pc;
  pc.devargs = config.ports.front();
  pc.num_queues = num_workers;
  pc.mac = config.mac;
  absl::StatusOr<port::Port> port = port::Port::Open(pc);
  if (!port.ok()) return PortError(port.status());
  Side side;
  side.port.emplace(std::move(*port));
  std::printf(
      "synwave load: port %s mac %s ip %s, clients %s-%s ports %u-%u, %u "
      "worker(s) on CPU %s, servers %zu, cps %s, concurrency %u, close %s\n",
      side.port->name().c_str(), side.port->mac().ToString().c_str(),
      config.ip->ToString().c_str(),
      wire::Ipv4Address{config.load.client_ip_first}.ToString().c_str(),
      wire::Ipv4Address{config.load.client_ip_last}.ToString().c_str(),
      config.load.port_first, config.load.port_last, num_workers,
      absl::StrJoin(config.lcores, ",").c_str(), config.load.servers.size(),
      config.load.cps > 0 ? absl::StrCat(config.load.cps).c_str() : "unpaced",
      config.load.concurrency, absl::GetFlag(FLAGS_close).c_str());
  std::fflush(stdout);
  engine::WorkerConfig wc = control::MakeWorkerConfig(config);
  RandomSecrets(wc);
  BuildWorkers(side, config, wc, &config.load);
  std::vector<LcoreSlot> slots(num_workers);
  for (uint16_t q = 0; q < num_workers; ++q) slots[q].workers = {side.workers[q].get()};
  return RunLoad(config, side, nullptr, slots);
}

// Both ends in one process on a net_ring pair: with two or more lcores,
// half generate and half serve (queue q of the client port is wired to
// queue q of the server port); with one, that lcore polls both.
int Loopback(const control::Config& config) {
  const auto lcores = static_cast<uint16_t>(config.lcores.size());
  const uint16_t pairs = std::max<uint16_t>(1, lcores / 2);
  absl::StatusOr<std::pair<uint16_t, uint16_t>> ring =
      port::CreateRingPair("synwave_loop", pairs);
  if (!ring.ok()) return PortError(ring.status());
  const wire::Ipv4Prefix server_ip{wire::Ipv4Address{0x0a000001}, 16};  // 10.0.0.1/16
  const wire::Ipv4Prefix client_ip{wire::Ipv4Address{0x0a000002}, 16};

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
  Side client, server;
  client.port.emplace(std::move(*cport));
  server.port.emplace(std::move(*sport));

  control::Config sc = config;
  sc.mode = control::Mode::kServe;
  sc.ip = server_ip;
  sc.gateway.reset();
  engine::WorkerConfig swc = control::MakeWorkerConfig(sc);
  RandomSecrets(swc);
  BuildWorkers(server, sc, swc, nullptr);

  control::Config cc = config;
  cc.mode = control::Mode::kLoad;
  cc.ip = client_ip;
  cc.gateway.reset();
  control::LoadSettings load = config.load;
  if (load.servers.empty()) {
    load.servers.push_back(engine::LoadTarget{server_ip.address.value,
                                              config.listen_ports.front()});
  }
  cc.load = load;
  engine::WorkerConfig cwc = control::MakeWorkerConfig(cc);
  RandomSecrets(cwc);
  BuildWorkers(client, cc, cwc, &load);

  std::vector<LcoreSlot> slots(lcores);
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
  std::printf(
      "synwave loopback: net_ring pair, %u client worker(s) on CPU %s, %u "
      "server worker(s) on CPU %s, clients %s-%s -> %s:%u, cps %s, "
      "concurrency %u, close %s, %u request(s)/connection, response %u bytes\n",
      pairs, absl::StrJoin(client_cpus, ",").c_str(), pairs,
      absl::StrJoin(server_cpus, ",").c_str(),
      wire::Ipv4Address{load.client_ip_first}.ToString().c_str(),
      wire::Ipv4Address{load.client_ip_last}.ToString().c_str(),
      server_ip.address.ToString().c_str(), load.servers.front().port,
      load.cps > 0 ? absl::StrCat(load.cps).c_str() : "unpaced", load.concurrency,
      absl::GetFlag(FLAGS_close).c_str(), load.keepalive_requests,
      config.responder.response_bytes);
  std::fflush(stdout);
  return RunLoad(cc, client, &server, slots);
}

int RunCommand(const control::Config& config) {
  if (config.mode != control::Mode::kLoopback && config.ports.size() > 1) {
    return UsageError(absl::InvalidArgumentError(
        "--port: one port per process in this version"));
  }
  if (absl::Status s = StartEal(config); !s.ok()) return UsageError(s);
  int rc = 0;
  switch (config.mode) {
    case control::Mode::kServe:
      rc = RunServe(config);
      break;
    case control::Mode::kLoad:
      rc = Load(config);
      break;
    case control::Mode::kLoopback:
      rc = Loopback(config);
      break;
  }
  // The ports (and their pools) are gone before the EAL is torn down.
  port::CleanupEal();
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
  control::Mode mode;
  if (command == "serve") {
    mode = control::Mode::kServe;
  } else if (command == "load") {
    mode = control::Mode::kLoad;
  } else if (command == "loopback") {
    mode = control::Mode::kLoopback;
  } else {
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
  absl::StatusOr<control::Config> config = ConfigFromFlags(mode);
  if (!config.ok()) return UsageError(config.status());
  return RunCommand(*config);
}

}  // namespace
}  // namespace synwave

int main(int argc, char** argv) { return synwave::Main(argc, argv); }
