// Config: the one typed description of a synwave run, with every default in
// one place (units in the comments), and the parsers for its text forms.
//
// Flags and the config file are only ways of filling this struct (the flags
// take their defaults from it: control/flags.cc); the datapath never reads a
// flag, it gets frozen per-core copies of what it needs (engine::WorkerConfig
// and the applications' configs) built from here. Validation errors name
// the flag they belong to, so the binary can print them as they are.
#ifndef SYNWAVE_CONTROL_CONFIG_H_
#define SYNWAVE_CONTROL_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "app/close_mode.h"
#include "app/flood.h"
#include "app/generator.h"
#include "app/proxy_core.h"
#include "app/responder.h"
#include "engine/capture.h"
#include "engine/worker.h"
#include "tcp/config.h"
#include "wire/addresses.h"

namespace synwave::control {

// `synwave load` and the client half of `synwave loopback`.
struct LoadSettings {
  std::vector<app::LoadTarget> servers;      // --server, repeatable
  uint32_t client_ip_first = 0;              // host order; 0: --ip only
  uint32_t client_ip_last = 0;
  // IPv6 clients (--client-ips of that family), for IPv6 servers; :: for
  // none (then the IPv6 --ip address).
  wire::Ipv6Address client_ip6_first;
  wire::Ipv6Address client_ip6_last;
  uint16_t port_first = 1024;                // --client-ports
  uint16_t port_last = 65535;
  double cps = 0;                            // new connections/s; 0: unpaced
  uint32_t concurrency = 0;                  // open at once; 0: no limit
  // Pending (opened, the last response not yet in) at once, at most (0: no
  // limit): an offered load above the server's capacity is held to it
  // (app/generator.h).
  uint32_t max_pending = 512;
  double ramp_s = 0;                         // linear ramp to --cps
  app::CloseMode close = app::kDefaultClose;
  uint32_t keepalive_requests = 1;           // requests per connection
  double drain_s = 1;                        // after --duration: let open
                                             // connections finish
  double abandon_s = 0;                      // forget unfinished connections
                                             // after this; 0: never
  double wait_server_s = 30;                 // for the servers' ARP answers
                                             // before the schedule; 0: ever
  // --flood: spoofed SYNs to the first server from these sources.
  bool flood = false;
  uint32_t flood_src_first = 0;              // host order
  uint32_t flood_src_last = 0;
  bool flood_ipv6 = false;                   // IPv6 sources: these
  wire::Ipv6Address flood_src6_first;
  wire::Ipv6Address flood_src6_last;
  double flood_pps = 0;                      // 0: as fast as possible
  // loopback --ipv6: the generator connects to the server over IPv6.
  bool loopback_ipv6 = false;
};

// --concurrency's default: kUnpacedConcurrency when --cps=0, else none.
inline constexpr int64_t kConcurrencyAuto = -1;
inline constexpr uint32_t kUnpacedConcurrency = 512;

// The loopback's own choices where the flags leave them open.
inline constexpr double kLoopbackDurationS = 10;
inline constexpr uint32_t kLoopbackClientFirst = 0x0a000101;  // 10.0.1.1
inline constexpr uint32_t kLoopbackClientLast = 0x0a0001fe;   // 10.0.1.254
inline constexpr uint32_t kLoopbackFloodFirst = 0x0a800001;   // 10.128.0.1
inline constexpr uint32_t kLoopbackFloodLast = 0x0afffffe;    // 10.255.255.254
// loopback --ipv6: the server fd00::1/64, the generator fd00::2/64, its
// clients fd00::1:1-fd00::1:fe, the flood's sources fd00::8000:0:0:0/65.
inline constexpr uint64_t kLoopback6Prefix = 0xfd00000000000000ull;  // /64
inline constexpr uint64_t kLoopback6ClientFirst = 0x10001;
inline constexpr uint64_t kLoopback6ClientLast = 0x100fe;
inline constexpr uint64_t kLoopback6FloodFirst = 0x8000000000000000ull;
inline constexpr uint64_t kLoopback6FloodLast = 0xffffffffffffffffull;
// loopback --proxy --ipv6: the VIP is fd00::1/64 (the server's place), the
// proxy's backend side fd01::1/64 and the server behind it fd01::2/64.
inline constexpr uint64_t kLoopback6BackendPrefix = 0xfd01000000000000ull;
// IPv6 client addresses a load walks, at most (a /104): each is used in
// turn, and the engine answers Neighbor Discovery for all of them.
inline constexpr uint64_t kMaxClientIps6 = uint64_t{1} << 24;

// `synwave proxy`, and `synwave loopback --proxy`.
struct ProxySettings {
  std::string backend_port;                  // devargs; empty: --port's
                                             // device (one-armed)
  std::optional<wire::Ipv4Prefix> backend_ip;  // our backend-side address
  // Or an IPv6 one: an IPv6 proxy (its VIP is --ip's IPv6 address, its
  // backends IPv6). One of the two.
  std::optional<wire::Ipv6Prefix> backend_ip6;
  std::vector<app::ProxyBackend> backends;   // --backend, repeatable
  app::NoBackend no_backend = app::NoBackend::kRst;
  uint32_t max_flows = 262144;               // records per worker (rate x linger)
  double linger_s = 2;                       // after both FINs were acked
  double idle_timeout_s = 300;               // a flow without segments
  double probe_interval_s = 1;               // health probes; 0: none
  bool loopback = false;                     // loopback --proxy
  // The --config file whose backend list SIGHUP re-reads (empty: none, or
  // the backends came from the command line, which wins over the file).
  std::string reload_path;
};

enum class Mode : uint8_t { kServe, kLoad, kLoopback, kProxy };

// The TCP settings a run starts from: the library's (tcp/config.h), with a
// front end's bound on what one connection may queue for sending (64 KiB:
// ample for the responses a run sends, and 32 buffer chunks rather than
// 128 for a client that never reads).
inline tcp::TcpConfig FrontEndTcp() {
  tcp::TcpConfig t;
  t.snd_buffer = 65536;
  return t;
}

struct Config {
  Mode mode = Mode::kServe;
  std::vector<std::string> ports;            // DPDK devargs, one per port
  std::optional<wire::Ipv4Prefix> ip;        // our address and subnet
  std::optional<wire::Ipv4Address> gateway;  // next hop off the subnet
  // IPv6 (--ip and --gateway of that family): our global address and
  // prefix, and the next hop off it (on the prefix or link-local). The
  // link-local address (fe80::/64, EUI-64 from the MAC) comes with it.
  std::optional<wire::Ipv6Prefix> ip6;
  std::optional<wire::Ipv6Address> gateway6;
  std::optional<wire::MacAddress> mac;       // override the port's MAC
  std::vector<unsigned> lcores;              // worker CPUs, one queue each
  std::vector<std::string> eal_args;         // raw extra EAL arguments
  double duration_s = 0;                     // seconds; 0: until a signal
  double stats_interval_s = 0;               // seconds; 0: no periodic line
  std::string json_path;                     // final report; empty: none
  std::string metrics;                       // ADDR:PORT of the Prometheus
                                             // exposition; empty: none
  engine::CaptureConfig pcap;                // --pcap; path empty: none
  // --secret-file: the cookie and ISN secret shared with other front ends;
  // none: a random one per process start.
  std::optional<tcp::SipKey> secret;
  uint16_t burst = 32;                       // frames per rx burst, 1-64
  uint32_t arp_timeout_s = 60;               // neighbour reachable time

  // serve: listeners, the responder, and TCP (defaults in tcp::TcpConfig).
  std::vector<uint16_t> listen_ports = {80}; // TCP ports to accept on
  // A run answers with 64 body bytes (the library's default is none); its
  // close is --close, like load.close.
  app::ResponderConfig responder{.response_bytes = 64};
  tcp::TcpConfig tcp = FrontEndTcp();
  // Admission control of the listening workers (engine/admission.h): behind
  // after 1 ms of RX queue that does not empty, then at most 512
  // connections in their handshake.
  engine::AdmissionConfig admission{.target_ns = 1'000'000, .backlog = 512};

  LoadSettings load;
  ProxySettings proxy;
};

// Checks what a Config must satisfy however it was built: the cross-field
// rules (an address and a port are given, the gateway is on our subnet, a
// load has a server, ...) and the ranges that hold for the typed fields
// themselves (--burst, --arp-timeout, --duration, --stats-interval). The
// other numeric flags' ranges are checked once, as the flags are read
// (control/flags.cc), because their typed fields cannot hold every bad
// value. Errors start with the flag: "--gateway: ...".
absl::Status Validate(const Config& config);

// The per-core copy for the workers.
engine::WorkerConfig MakeWorkerConfig(const Config& config);

// The per-core share of a load for queue `queue` of `queues`: the rate,
// the concurrency and the flood's rate are split over the queues; which
// tuples a queue takes is set from `queue` (rss/reta by the caller).
app::GeneratorConfig MakeGeneratorConfig(const Config& config, uint16_t queue,
                                         uint16_t queues);
app::FloodConfig MakeFloodConfig(const Config& config, uint16_t queue,
                                 uint16_t queues);

// The proxy's per-core config (its secret and hash seed are the wiring's;
// the MACs are the ports').
app::ProxyConfig MakeProxyConfig(const Config& config);

// SIGHUP: the backend list of `running`'s --config file (its "backend"
// key) read again and checked by the rules of --backend against the rest
// of `running`; errors name the file and say what is wrong.
absl::StatusOr<std::vector<app::ProxyBackend>> ReadBackendList(
    const Config& running);

// "10.0.0.5:8080", or "10.0.0.5" (the backend port is the VIP port the
// client connected to).
absl::StatusOr<app::ProxyBackend> ParseBackend(absl::string_view text);

// Client addresses: "10.0.0.2-10.0.0.200", a prefix "10.0.1.0/24" (its
// host addresses) or one address. Host order, first <= last.
absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseAddressRange(
    absl::string_view text);

// The same for IPv6 (control/config_ipv6.cc): "fd00::100-fd00::1ff", a
// prefix "fd00::/120" (its addresses but the all-zero one, the
// subnet-router anycast address of RFC 4291 2.6.1, for prefixes up to
// /126) or one address; numeric order, first <= last. Multicast,
// loopback, unspecified and IPv4-mapped addresses are refused. The size
// is not bounded here: the flag that takes it bounds it.
absl::StatusOr<std::pair<wire::Ipv6Address, wire::Ipv6Address>>
ParseAddressRange6(absl::string_view text);

// How many addresses [first, last] holds, saturated at 2^64.
uint64_t AddressCount6(const wire::Ipv6Address& first,
                       const wire::Ipv6Address& last);

// "198.18.0.1:80" or "[fd00::1]:80".
std::string TargetText(const app::LoadTarget& target);

// The rules of load and loopback that involve IPv6 (control/config_ipv6.cc):
// an IPv6 server needs an IPv6 --ip and IPv6 clients, the flood's sources
// are of its target's family, the ranges are bounded.
absl::Status ValidateLoadFamilies(const Config& config);

// Whether a loopback needs IPv4 addresses (control/config_ipv6.cc): an
// IPv4 --server, an IPv4 flood, or its own server without --ipv6. With
// --ipv6 alone both ends are IPv6 only.
bool LoopbackNeedsIpv4(const Config& config);

// "1024-65535" or one port; no port 0.
absl::StatusOr<std::pair<uint16_t, uint16_t>> ParsePortRange(
    absl::string_view text);

// "10.0.0.1:80" or "[fd00::1]:80" -> a load target.
absl::StatusOr<app::LoadTarget> ParseServer(absl::string_view text);

// "0-3,6" -> {0,1,2,3,6}: ascending ranges, no duplicates.
absl::StatusOr<std::vector<unsigned>> ParseCpuList(absl::string_view text);

// Splits raw EAL arguments on white space; single or double quotes group.
absl::StatusOr<std::vector<std::string>> SplitArgs(absl::string_view text);

// The default worker CPUs: one worker on the last CPU the process may use
// (the main lcore takes another when there is one).
std::vector<unsigned> DefaultLcores();

// CPUs the process may run on (its affinity mask).
unsigned AvailableCpus();

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_CONFIG_H_
