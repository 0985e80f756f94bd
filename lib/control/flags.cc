#include "control/flags.h"

#include "control/secret.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/command_line.h"
#include "control/flag_values.h"
#include "tcp/time_wait.h"

namespace synwave::control {
namespace {

// The defaults of a run, as the typed structs set them.
const Config& Defaults() {
  static const Config* config = new Config();
  return *config;
}

double Seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

constexpr const char* kSynCookieModes[] = {"off", "overflow", "always"};

std::string SynCookieModeName(tcp::SynCookieMode mode) {
  return kSynCookieModes[static_cast<size_t>(mode)];
}

std::string ListenDefault() {
  return absl::StrJoin(Defaults().listen_ports,
                       std::string(1, kRepeatSeparator));
}

std::string ClientPortsDefault() {
  return absl::StrCat(Defaults().load.port_first, "-",
                      Defaults().load.port_last);
}

}  // namespace
}  // namespace synwave::control

namespace sc = synwave::control;

ABSL_FLAG(std::string, port, "",
          "DPDK device: a virtual device's devargs (net_tap0,iface=sw0) or a "
          "PCI address (0000:01:00.0)");
ABSL_FLAG(std::string, mac, "",
          "MAC address to use instead of the port's (optional)");
ABSL_FLAG(std::string, lcores, "",
          "worker CPUs, one RX/TX queue each, e.g. 1 or 1-3 (default: the "
          "last CPU)");
ABSL_FLAG(std::string, eal, "",
          "extra raw EAL arguments; when given, replaces the default "
          "--no-huge -m 512 --no-pci --no-shconf");
ABSL_FLAG(double, duration, sc::Defaults().duration_s,
          "seconds to run; 0 runs until SIGINT or SIGTERM");
ABSL_FLAG(double, stats_interval, sc::Defaults().stats_interval_s,
          "seconds between statistics lines; 0 prints only the final counters");
ABSL_FLAG(std::string, json, "", "write the final report as JSON to this path");
ABSL_FLAG(std::string, pcap, "",
          "write the port's received and sent frames to this pcapng file "
          "(copied off the hot path; frames the writer cannot keep up with "
          "are counted as drop_capture)");
ABSL_FLAG(int64_t, pcap_snaplen, sc::Defaults().pcap.snaplen,
          "bytes of each frame --pcap keeps");
ABSL_FLAG(int64_t, pcap_count, 0,
          "frames --pcap writes at most (0: no limit)");
ABSL_FLAG(int64_t, pcap_bytes, 0,
          "bytes of frames --pcap writes at most (0: no limit)");
ABSL_FLAG(std::string, secret_file, "",
          "the SYN cookie and ISN secret, shared by front ends behind ECMP "
          "so that each accepts the others' cookies (create it with: "
          "synwave secret generate PATH; default: a random secret per run)");
ABSL_FLAG(std::string, metrics, "",
          "serve a Prometheus text exposition of the live counters, states "
          "and pools at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9100)");
ABSL_FLAG(std::string, config, "",
          "TOML file whose keys are flag names; flags on the command line win");
ABSL_FLAG(int32_t, burst, sc::Defaults().burst, "frames per RX burst (1-64)");
ABSL_FLAG(int32_t, arp_timeout,
          static_cast<int32_t>(sc::Defaults().arp_timeout_s),
          "seconds a neighbour stays reachable after its last ARP");

// serve
ABSL_FLAG(std::string, listen, sc::ListenDefault(),
          "TCP port to accept connections on (repeatable)");
ABSL_FLAG(int64_t, response_bytes, sc::Defaults().responder.response_bytes,
          "body bytes of the HTTP/1.1 200 response to each request (raw "
          "mode: bytes of the response)");
ABSL_FLAG(int64_t, request_bytes, sc::Defaults().responder.request_bytes,
          "raw mode: a request is this many bytes (0: HTTP, a request ends "
          "at its first blank line)");
ABSL_FLAG(int64_t, request_work,
          static_cast<int64_t>(sc::Defaults().responder.request_work_cycles),
          "TSC cycles of busy work per request before it is answered, as an "
          "application spends (a test-target knob: it makes the server, not "
          "the client, the bottleneck of bench/overload.sh); 0: none");
ABSL_FLAG(std::string, close,
          std::string(synwave::app::CloseModeName(sc::Defaults().load.close)),
          "who ends a connection: server (its FIN after the last response), "
          "client (our FIN), or rst (load/loopback: the client resets it)");
ABSL_FLAG(int64_t, backlog, sc::Defaults().tcp.accept_backlog,
          "accept queue length per listener");
ABSL_FLAG(int64_t, syn_backlog, sc::Defaults().tcp.syn_backlog,
          "SYN queue length per listener");
ABSL_FLAG(int64_t, max_connections, sc::Defaults().tcp.max_connections,
          "TCBs per worker");
ABSL_FLAG(int64_t, max_half_open, sc::Defaults().tcp.max_half_open,
          "SYN-queue entries per worker");
ABSL_FLAG(int64_t, max_time_wait, -1,
          "TIME-WAIT records per worker (the oldest is recycled when full); "
          "-1: as many as --time-wait-memory allows");
ABSL_FLAG(std::string, time_wait_memory, "auto",
          "memory for TIME-WAIT records, all workers together, split evenly: "
          "bytes with an optional K, M or G (binary units), or auto (1/128 of "
          "the machine's memory); about 85 bytes per record, flow-table share "
          "included");
ABSL_FLAG(double, msl, sc::Seconds(sc::Defaults().tcp.msl_ns),
          "maximum segment lifetime, seconds (TIME-WAIT lasts 2 MSL)");
ABSL_FLAG(double, fin_timeout,
          sc::Seconds(sc::Defaults().tcp.fin_wait2_timeout_ns),
          "seconds FIN-WAIT-2 may last after we closed");
ABSL_FLAG(double, idle_timeout, sc::Seconds(sc::Defaults().tcp.idle_timeout_ns),
          "seconds a connection the application holds may make no progress "
          "(no new data in, none of ours acknowledged: a client silent after "
          "its handshake, or keeping its window shut) before it is reset "
          "(TCPAbortOnIdle); 0: no limit");
ABSL_FLAG(int32_t, orphan_retries, sc::Defaults().tcp.orphan_retries,
          "retransmissions or zero-window probes a connection we closed "
          "(FIN-WAIT-1, CLOSING, LAST-ACK) gets before it is reset (as "
          "Linux's tcp_orphan_retries; also the persist give-up of a shut "
          "window), 1-50");
ABSL_FLAG(int64_t, max_orphans, sc::Defaults().tcp.max_orphans,
          "connections we closed that may await their peer at once, per "
          "worker; beyond it the oldest is reset (TCPAbortOnMemory), as a new "
          "connection finding no free TCB does (0: half of "
          "--max-connections)");
ABSL_FLAG(double, admission_target,
          sc::Seconds(sc::Defaults().admission.target_ns),
          "seconds a worker's RX queue may stay non-empty before it is behind "
          "and admits new connections only as its handshake backlog allows "
          "(admission control; a refused SYN is drop_tcp_admission); 0: off");
ABSL_FLAG(int64_t, admission_backlog, sc::Defaults().admission.backlog,
          "connections a worker that is behind may have in their handshake "
          "(SYNs admitted since its RX queue last emptied, less handshakes "
          "completed); a closed loop of at most this many clients is never "
          "refused");
ABSL_FLAG(int64_t, rcv_buffer, sc::Defaults().tcp.rcv_buffer,
          "bytes one connection may hold received and unread (its window)");
ABSL_FLAG(int64_t, snd_buffer, sc::Defaults().tcp.snd_buffer,
          "bytes one connection may hold queued for sending; a connection "
          "whose responses do not fit is no longer read until they do");
ABSL_FLAG(bool, keepalive, sc::Defaults().tcp.keepalive,
          "send keepalive probes on idle connections");
ABSL_FLAG(double, keepalive_idle,
          sc::Seconds(sc::Defaults().tcp.keepalive_idle_ns),
          "seconds idle before the first keepalive probe");
ABSL_FLAG(double, keepalive_interval,
          sc::Seconds(sc::Defaults().tcp.keepalive_interval_ns),
          "seconds between keepalive probes");
ABSL_FLAG(int32_t, keepalive_probes, sc::Defaults().tcp.keepalive_probes,
          "unanswered probes before the connection is dropped");
ABSL_FLAG(bool, timestamps, sc::Defaults().tcp.timestamps,
          "negotiate TCP timestamps (RFC 7323)");
ABSL_FLAG(int32_t, mss, sc::Defaults().tcp.mss, "MSS we advertise, bytes");
ABSL_FLAG(int32_t, syn_ack_retries, sc::Defaults().tcp.syn_ack_retries,
          "SYN-ACK retransmissions before a half-open entry is dropped");
ABSL_FLAG(int32_t, syn_retries, sc::Defaults().tcp.syn_retries,
          "SYN retransmissions before an active open fails");
ABSL_FLAG(std::string, syncookies,
          sc::SynCookieModeName(sc::Defaults().tcp.syncookies),
          "SYN cookies: off (drop SYNs when the SYN queue is full), overflow "
          "(a cookie when it is full, as Linux's default) or always (no state "
          "for any SYN)");

// load and loopback
ABSL_FLAG(std::string, server, "",
          "load: server to connect to, IP:PORT or [IPv6]:PORT (repeatable; "
          "connections are spread over them)");
ABSL_FLAG(double, cps, sc::Defaults().load.cps,
          "load: target new connections per second, paced open-loop (0: "
          "as fast as --concurrency allows)");
ABSL_FLAG(int64_t, concurrency, sc::kConcurrencyAuto,
          "load: connections open at once, at most (0: no limit; default: "
          "512 when --cps=0, else no limit); with --flood, --cps=0 "
          "--concurrency=0 sends only the flood");
ABSL_FLAG(int64_t, max_pending, sc::Defaults().load.max_pending,
          "load: pending connections (opened, the last response not yet "
          "in) at once, at most (0: no limit); a connection that falls due "
          "beyond it waits (load_held_pending), so that an offered load "
          "above the server's capacity is held to it");
ABSL_FLAG(double, ramp, sc::Defaults().load.ramp_s,
          "load: seconds of linear ramp up to --cps");
ABSL_FLAG(std::string, client_ports, sc::ClientPortsDefault(),
          "load: client port range");
ABSL_FLAG(int64_t, keepalive_requests, sc::Defaults().load.keepalive_requests,
          "load: requests per connection (responses awaited one by one)");
ABSL_FLAG(bool, flood, sc::Defaults().load.flood,
          "load: also send SYNs from spoofed sources (--flood-sources) to the "
          "first server at --pps, never completing them; counts the SYN-ACKs "
          "and RSTs that come back");
ABSL_FLAG(double, pps, sc::Defaults().load.flood_pps,
          "load: SYNs per second of --flood (0: as fast as possible)");
ABSL_FLAG(
    double, flood_pps, -1,
    "loopback/load: shorthand for --flood --pps=N (0: as fast as possible)");
ABSL_FLAG(double, drain, sc::Defaults().load.drain_s,
          "load: seconds after --duration for open connections to finish "
          "(and TIME-WAIT records to expire) before the report");
ABSL_FLAG(double, abandon, sc::Defaults().load.abandon_s,
          "load: seconds after which a connection not yet finished is "
          "forgotten without a RST, as a client that gives up and vanishes "
          "(load_abandoned; what the server still sends for it is ignored); "
          "0: never");
ABSL_FLAG(double, wait_server, sc::Defaults().load.wait_server_s,
          "load: seconds to wait for the servers (their next hops) to answer "
          "ARP before the schedule starts; the run is timed from then. "
          "Past it synwave gives up and exits 1 (0: wait for ever)");

namespace synwave::control {
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
            no hugepages): half the --lcores generate, half serve;
            --proxy puts a synwave proxy between them
  proxy     a SYN-flood-resistant front end for real TCP backends: cookie
            handshakes on --ip's --listen ports, then each client is joined
            to a --backend (via --backend-port/--backend-ip) with sequence
            translation; the backends see the clients' addresses
  report merge A.json B.json ... -o ALL.json
            merge the JSON reports of load runs on several hosts (sums,
            exact merged percentiles, timelines by wall-clock second)
  plot REPORT.json -o PICTURE.png
            draw a run's timeline (needs python3-matplotlib)
  secret generate PATH
            write a new cookie/ISN secret for --secret-file (mode 0600)
  version   print the version
  help      print this help

flags (also settable from --config=FILE, a TOML file with the same keys):
)";

// Flags that may be given more than once (values accumulate).
const std::set<std::string> kRepeatable = {
    "port", "listen", "server", "backend", "ip", "gateway", "client_ips"};

// For a flag whose range Validate checks on the typed field: the value
// saturated to the field's type, so that a value out of the type's range
// stays out of the valid range instead of wrapping into it.
template <typename T>
T Saturate(int64_t v) {
  return static_cast<T>(std::clamp<int64_t>(v, std::numeric_limits<T>::min(),
                                            std::numeric_limits<T>::max()));
}

// --port, --ip, --gateway, --mac, --lcores, --eal and the run's length.
uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return uint64_t{1} << 30;  // unknown: 1 GiB
  return uint64_t(pages) * uint64_t(page_size);
}

// "auto", or bytes with an optional binary K/M/G suffix.
absl::StatusOr<uint64_t> MemorySize(const std::string& text,
                                    const char* flag) {
  if (text == "auto") return PhysicalMemoryBytes() / 128;
  std::string digits = text;
  uint64_t unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'K': case 'k': unit = uint64_t{1} << 10; break;
      case 'M': case 'm': unit = uint64_t{1} << 20; break;
      case 'G': case 'g': unit = uint64_t{1} << 30; break;
      default: break;
    }
    if (unit != 1) digits.pop_back();
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(digits, &n) || n > (uint64_t{1} << 50) / unit) {
    return Bad(flag, absl::StrCat("'", text,
                                  "' is not a size (e.g. 512M, 4G or auto)"));
  }
  return n * unit;
}

// How many TCP stacks the run creates: one per worker lcore, and in a
// loopback at least one for each end.
uint32_t TcpStacks(Mode mode, const Config& c) {
  const uint32_t lcores = static_cast<uint32_t>(std::max<size_t>(1, c.lcores.size()));
  return mode == Mode::kLoopback ? std::max<uint32_t>(2, lcores) : lcores;
}

absl::Status EndpointFromFlags(Mode mode, Config& c) {
  c.ports = SplitRepeated(absl::GetFlag(FLAGS_port));
  if (absl::Status s = AddressesFromFlags(c); !s.ok()) return s;
  if (std::string mac = absl::GetFlag(FLAGS_mac); !mac.empty()) {
    c.mac = wire::MacAddress::Parse(mac);
    if (!c.mac) {
      return Bad("mac", absl::StrCat("'", mac,
                                     "' is not a MAC like 02:00:00:00:00:01"));
    }
  }
  if (std::string lc = absl::GetFlag(FLAGS_lcores); !lc.empty()) {
    absl::StatusOr<std::vector<unsigned>> cpus = ParseCpuList(lc);
    if (!cpus.ok()) return Bad("lcores", cpus.status().message());
    const unsigned available = AvailableCpus();
    for (unsigned cpu : *cpus) {
      if (cpu >= available) {
        return Bad("lcores", absl::StrCat("CPU ", cpu,
                                          " does not exist (this machine has ",
                                          available, ")"));
      }
    }
    c.lcores = *cpus;
  } else if (mode == Mode::kLoopback) {
    // Both ends: every CPU the process may use.
    for (unsigned cpu = 0; cpu < AvailableCpus(); ++cpu) {
      c.lcores.push_back(cpu);
    }
  } else {
    c.lcores = DefaultLcores();
  }
  absl::StatusOr<std::vector<std::string>> eal =
      SplitArgs(absl::GetFlag(FLAGS_eal));
  if (!eal.ok()) return Bad("eal", eal.status().message());
  c.eal_args = *eal;
  c.duration_s = absl::GetFlag(FLAGS_duration);
  if (mode == Mode::kLoopback && c.duration_s == 0) {
    c.duration_s = kLoopbackDurationS;
  }
  c.stats_interval_s = absl::GetFlag(FLAGS_stats_interval);
  c.json_path = absl::GetFlag(FLAGS_json);
  c.metrics = absl::GetFlag(FLAGS_metrics);
  if (std::string path = absl::GetFlag(FLAGS_secret_file); !path.empty()) {
    absl::StatusOr<tcp::SipKey> secret = LoadSecret(path);
    if (!secret.ok()) return secret.status();
    c.secret = *secret;
  }
  c.pcap.path = absl::GetFlag(FLAGS_pcap);
  SYNWAVE_ASSIGN_OR_RETURN(
      c.pcap.snaplen,
      IntFlag<uint32_t>(FLAGS_pcap_snaplen, "pcap-snaplen", 64, 65535));
  SYNWAVE_ASSIGN_OR_RETURN(
      c.pcap.max_packets,
      IntFlag<uint64_t>(FLAGS_pcap_count, "pcap-count", 0, int64_t{1} << 50));
  SYNWAVE_ASSIGN_OR_RETURN(
      c.pcap.max_bytes,
      IntFlag<uint64_t>(FLAGS_pcap_bytes, "pcap-bytes", 0, int64_t{1} << 50));
  c.burst = Saturate<uint16_t>(absl::GetFlag(FLAGS_burst));
  c.arp_timeout_s = Saturate<uint32_t>(absl::GetFlag(FLAGS_arp_timeout));
  return absl::OkStatus();
}

// serve: listeners, the responder, --close, TCP's pools and times.
absl::Status ServeFromFlags(Mode mode, Config& c) {
  c.listen_ports.clear();
  for (const std::string& p : SplitRepeated(absl::GetFlag(FLAGS_listen))) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(p, &port) || port == 0 || port > 65535) {
      return Bad("listen", absl::StrCat("'", p, "' is not a port 1-65535"));
    }
    c.listen_ports.push_back(static_cast<uint16_t>(port));
  }
  tcp::TcpConfig& t = c.tcp;
  SYNWAVE_ASSIGN_OR_RETURN(
      c.responder.response_bytes,
      IntFlag<uint32_t>(FLAGS_response_bytes, "response-bytes", 0, 1 << 30));
  SYNWAVE_ASSIGN_OR_RETURN(
      c.responder.request_bytes,
      IntFlag<uint32_t>(FLAGS_request_bytes, "request-bytes", 0,
                        (1 << 24) - 1));
  SYNWAVE_ASSIGN_OR_RETURN(
      c.responder.request_work_cycles,
      IntFlag<uint64_t>(FLAGS_request_work, "request-work", 0,
                        int64_t{1} << 32));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.accept_backlog,
      IntFlag<uint32_t>(FLAGS_backlog, "backlog", 1, 1 << 24));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.syn_backlog,
      IntFlag<uint32_t>(FLAGS_syn_backlog, "syn-backlog", 1, 1 << 24));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.max_connections,
      IntFlag<uint32_t>(FLAGS_max_connections, "max-connections", 1, 1 << 24));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.max_half_open,
      IntFlag<uint32_t>(FLAGS_max_half_open, "max-half-open", 1, 1 << 24));
  if (absl::GetFlag(FLAGS_max_time_wait) != -1) {
    if (absl::GetFlag(FLAGS_time_wait_memory) != "auto") {
      return Bad("max-time-wait",
                 "give either a record count or --time-wait-memory, not both");
    }
    SYNWAVE_ASSIGN_OR_RETURN(
        t.max_time_wait,
        IntFlag<uint32_t>(FLAGS_max_time_wait, "max-time-wait", 0, 1 << 24));
  } else {
    absl::StatusOr<uint64_t> budget =
        MemorySize(absl::GetFlag(FLAGS_time_wait_memory), "time-wait-memory");
    if (!budget.ok()) return budget.status();
    // With an IPv6 address the stacks build the IPv6 table too
    // (Worker: TcpConfig::ipv6), whose share each record also costs.
    t.max_time_wait = tcp::TimeWaitRecordsFor(*budget, TcpStacks(mode, c),
                                              c.ip6.has_value());
  }
  SYNWAVE_ASSIGN_OR_RETURN(t.msl_ns, SecondsFlag(FLAGS_msl, "msl"));
  SYNWAVE_ASSIGN_OR_RETURN(t.fin_wait2_timeout_ns,
                           SecondsFlag(FLAGS_fin_timeout, "fin-timeout"));
  SYNWAVE_ASSIGN_OR_RETURN(t.keepalive_idle_ns,
                           SecondsFlag(FLAGS_keepalive_idle, "keepalive-idle"));
  if (const double idle = absl::GetFlag(FLAGS_idle_timeout); idle != 0) {
    SYNWAVE_ASSIGN_OR_RETURN(t.idle_timeout_ns,
                             SecondsFlag(FLAGS_idle_timeout, "idle-timeout"));
  } else {
    t.idle_timeout_ns = 0;
  }
  SYNWAVE_ASSIGN_OR_RETURN(t.orphan_retries,
                           SmallIntFlag<uint8_t>(FLAGS_orphan_retries,
                                                 "orphan-retries", 1, 50));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.max_orphans,
      IntFlag<uint32_t>(FLAGS_max_orphans, "max-orphans", 0, 1 << 24));
  if (absl::GetFlag(FLAGS_admission_target) != 0) {
    SYNWAVE_ASSIGN_OR_RETURN(
        c.admission.target_ns,
        SecondsFlag(FLAGS_admission_target, "admission-target"));
  } else {
    c.admission.target_ns = 0;
  }
  SYNWAVE_ASSIGN_OR_RETURN(
      c.admission.backlog,
      IntFlag<uint32_t>(FLAGS_admission_backlog, "admission-backlog", 0,
                        1 << 24));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.rcv_buffer,
      IntFlag<uint32_t>(FLAGS_rcv_buffer, "rcv-buffer", 2048, 1 << 23));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.snd_buffer,
      IntFlag<uint32_t>(FLAGS_snd_buffer, "snd-buffer", 2048, 1 << 26));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.keepalive_interval_ns,
      SecondsFlag(FLAGS_keepalive_interval, "keepalive-interval"));
  const std::string close = absl::GetFlag(FLAGS_close);
  const std::optional<app::CloseMode> mode_of_close =
      app::ParseCloseMode(close);
  if (!mode_of_close ||
      (mode == Mode::kServe && *mode_of_close == app::CloseMode::kRst)) {
    return Bad("close",
               absl::StrCat("'", close, "' is not ",
                            mode == Mode::kServe ? "server or client"
                                                 : "server, client or rst"));
  }
  // One choice for both ends (the responder serves rst like client).
  c.responder.close = *mode_of_close;
  c.load.close = *mode_of_close;
  return absl::OkStatus();
}

// The rest of TCP.
absl::Status TcpFromFlags(Config& c) {
  tcp::TcpConfig& t = c.tcp;
  // Two 2 KiB buffer chunks per connection on average.
  t.buffer_chunks = 2 * t.max_connections;
  t.keepalive = absl::GetFlag(FLAGS_keepalive);
  SYNWAVE_ASSIGN_OR_RETURN(t.keepalive_probes,
                           SmallIntFlag<uint8_t>(FLAGS_keepalive_probes,
                                                 "keepalive-probes", 1, 255));
  t.timestamps = absl::GetFlag(FLAGS_timestamps);
  SYNWAVE_ASSIGN_OR_RETURN(t.mss,
                           SmallIntFlag<uint16_t>(FLAGS_mss, "mss", 64, 9000));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.syn_ack_retries,
      SmallIntFlag<uint8_t>(FLAGS_syn_ack_retries, "syn-ack-retries", 0, 20));
  SYNWAVE_ASSIGN_OR_RETURN(
      t.syn_retries,
      SmallIntFlag<uint8_t>(FLAGS_syn_retries, "syn-retries", 0, 20));
  const std::string cookies = absl::GetFlag(FLAGS_syncookies);
  const auto* m = std::find(std::begin(kSynCookieModes),
                            std::end(kSynCookieModes), cookies);
  if (m == std::end(kSynCookieModes)) {
    return Bad("syncookies",
               absl::StrCat("'", cookies, "' is not off, overflow or always"));
  }
  t.syncookies =
      static_cast<tcp::SynCookieMode>(m - std::begin(kSynCookieModes));
  return absl::OkStatus();
}

// load and loopback: servers, pacing, the client tuples, the flood.
absl::Status LoadFromFlags(Mode mode, Config& c) {
  LoadSettings& load = c.load;
  for (const std::string& s : SplitRepeated(absl::GetFlag(FLAGS_server))) {
    absl::StatusOr<app::LoadTarget> t = ParseServer(s);
    if (!t.ok()) return Bad("server", t.status().message());
    load.servers.push_back(*t);
  }
  if (load.servers.size() > 8) return Bad("server", "at most 8 servers");
  load.cps = absl::GetFlag(FLAGS_cps);
  if (!(load.cps >= 0) || load.cps > 1e9) return Bad("cps", "must be 0..1e9");
  int64_t concurrency;
  SYNWAVE_ASSIGN_OR_RETURN(concurrency,
                           IntFlag<int64_t>(FLAGS_concurrency, "concurrency",
                                            kConcurrencyAuto, 1 << 24));
  SYNWAVE_ASSIGN_OR_RETURN(load.keepalive_requests,
                           IntFlag<uint32_t>(FLAGS_keepalive_requests,
                                             "keepalive-requests", 1, 2047));
  if (concurrency == kConcurrencyAuto) {
    concurrency = load.cps == 0 ? kUnpacedConcurrency : 0;
  }
  load.concurrency = static_cast<uint32_t>(concurrency);
  SYNWAVE_ASSIGN_OR_RETURN(load.max_pending,
                           IntFlag<uint32_t>(FLAGS_max_pending,
                                             "max-pending", 0, 1 << 24));
  load.flood = absl::GetFlag(FLAGS_flood);
  load.flood_pps = absl::GetFlag(FLAGS_pps);
  if (const double fp = absl::GetFlag(FLAGS_flood_pps); fp != -1) {
    if (!(fp >= 0)) return Bad("flood-pps", "must be >= 0");
    load.flood = true;
    load.flood_pps = fp;
  }
  if (!(load.flood_pps >= 0) || load.flood_pps > 1e10) {
    return Bad("pps", "must be >= 0");
  }
  c.responder.requests_per_connection = load.keepalive_requests;
  load.ramp_s = absl::GetFlag(FLAGS_ramp);
  if (!(load.ramp_s >= 0) || load.ramp_s > 1e6) {
    return Bad("ramp", "must be >= 0 seconds");
  }
  load.drain_s = absl::GetFlag(FLAGS_drain);
  if (!(load.drain_s >= 0) || load.drain_s > 1e6) {
    return Bad("drain", "must be >= 0 seconds");
  }
  load.abandon_s = absl::GetFlag(FLAGS_abandon);
  if (!(load.abandon_s >= 0) || load.abandon_s > 1e6) {
    return Bad("abandon", "must be >= 0 seconds");
  }
  load.wait_server_s = absl::GetFlag(FLAGS_wait_server);
  if (!(load.wait_server_s >= 0) || load.wait_server_s > 1e6) {
    return Bad("wait-server", "must be >= 0 seconds");
  }
  if (absl::Status s = LoadAddressesFromFlags(mode, c); !s.ok()) return s;
  absl::StatusOr<std::pair<uint16_t, uint16_t>> ports =
      ParsePortRange(absl::GetFlag(FLAGS_client_ports));
  if (!ports.ok()) return Bad("client-ports", ports.status().message());
  load.port_first = ports->first;
  load.port_last = ports->second;
  return absl::OkStatus();
}


}  // namespace

absl::StatusOr<Config> ConfigFromFlags(Mode mode) {
  Config c;
  c.mode = mode;
  if (absl::Status s = EndpointFromFlags(mode, c); !s.ok()) return s;
  if (absl::Status s = ServeFromFlags(mode, c); !s.ok()) return s;
  if (absl::Status s = LoadFromFlags(mode, c); !s.ok()) return s;
  if (absl::Status s = TcpFromFlags(c); !s.ok()) return s;
  if (absl::Status s = ProxyFromFlags(c); !s.ok()) return s;
  if (absl::Status s = Validate(c); !s.ok()) return s;
  return c;
}

std::string Usage() {
  return absl::StrCat(kUsage, FlagsHelp("control/flags"));  // flags*.cc
}

absl::StatusOr<Invocation> ParseInvocation(int argc, char** argv) {
  absl::StatusOr<CommandLine> cl = ParseCommandLine(argc, argv, kRepeatable);
  if (!cl.ok()) return cl.status();
  Invocation inv;
  const std::string command = cl->positional.empty() ? "" : cl->positional[0];
  if (cl->help || command == "help") {
    inv.action = Invocation::Action::kHelp;
    return inv;
  }
  if (command.empty()) {
    inv.action = Invocation::Action::kNoCommand;
    return inv;
  }
  if (command == "version") {
    inv.action = Invocation::Action::kVersion;
    return inv;
  }
  Mode mode;
  if (command == "serve") {
    mode = Mode::kServe;
  } else if (command == "load") {
    mode = Mode::kLoad;
  } else if (command == "loopback") {
    mode = Mode::kLoopback;
  } else if (command == "proxy") {
    mode = Mode::kProxy;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command '", command, "' (see synwave --help)"));
  }
  if (cl->positional.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", cl->positional[1], "'"));
  }
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    if (absl::Status s = ApplyConfigFile(path, cl->given, kRepeatable); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<Config> config = ConfigFromFlags(mode);
  if (!config.ok()) return config.status();
  if (std::string path = absl::GetFlag(FLAGS_config);
      !path.empty() && !cl->given.contains("backend")) {
    config->proxy.reload_path = path;
  }
  inv.config = *std::move(config);
  return inv;
}

}  // namespace synwave::control
