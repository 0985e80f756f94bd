// Config: the one typed description of a synwave run, with every default in
// one place (units in the comments), and the parsers for its text forms.
//
// Flags and the config file are only ways of filling this struct; the
// datapath never reads a flag, it gets a frozen per-core copy of what it
// needs (engine::WorkerConfig) built from here. Validation errors name the
// flag they belong to, so the binary can print them as they are.
#ifndef SYNWAVE_CONTROL_CONFIG_H_
#define SYNWAVE_CONTROL_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/generator.h"
#include "engine/responder.h"
#include "engine/worker.h"
#include "tcp/config.h"
#include "wire/addresses.h"

namespace synwave::control {

// `synwave load` and the client half of `synwave loopback`.
struct LoadSettings {
  std::vector<engine::LoadTarget> servers;   // --server, repeatable
  uint32_t client_ip_first = 0;              // host order; 0: --ip only
  uint32_t client_ip_last = 0;
  uint16_t port_first = 1024;                // --client-ports
  uint16_t port_last = 65535;
  double cps = 0;                            // new connections/s; 0: unpaced
  uint32_t concurrency = 0;                  // open at once; 0: no limit
  double ramp_s = 0;                         // linear ramp to --cps
  engine::LoadClose close = engine::LoadClose::kServer;
  uint32_t keepalive_requests = 1;           // requests per connection
  double drain_s = 2;                        // after --duration: let open
                                             // connections finish
  // --flood: spoofed SYNs to the first server from these sources.
  bool flood = false;
  uint32_t flood_src_first = 0;              // host order
  uint32_t flood_src_last = 0;
  double flood_pps = 0;                      // 0: as fast as possible
};

enum class Mode : uint8_t { kServe, kLoad, kLoopback };

struct Config {
  Mode mode = Mode::kServe;
  std::vector<std::string> ports;            // DPDK devargs, one per port
  std::optional<wire::Ipv4Prefix> ip;        // our address and subnet
  std::optional<wire::Ipv4Address> gateway;  // next hop off the subnet
  std::optional<wire::MacAddress> mac;       // override the port's MAC
  std::vector<unsigned> lcores;              // worker CPUs, one queue each
  std::vector<std::string> eal_args;         // raw extra EAL arguments
  double duration_s = 0;                     // seconds; 0: until a signal
  double stats_interval_s = 0;               // seconds; 0: no periodic line
  std::string json_path;                     // final report; empty: none
  uint16_t burst = 32;                       // frames per rx burst, 1-64
  uint32_t arp_timeout_s = 60;               // neighbour reachable time

  // serve: listeners, the responder, and TCP (defaults in tcp::TcpConfig).
  std::vector<uint16_t> listen_ports;        // TCP ports to accept on
  engine::ResponderConfig responder;
  tcp::TcpConfig tcp;

  LoadSettings load;
};

// Checks the cross-field rules (an address and a port are given, the
// gateway is on our subnet, ...). Errors start with the flag: "--gateway: ...".
absl::Status Validate(const Config& config);

// The per-core copy for the workers.
engine::WorkerConfig MakeWorkerConfig(const Config& config);

// Client addresses: "10.0.0.2-10.0.0.200", a prefix "10.0.1.0/24" (its
// host addresses) or one address. Host order, first <= last.
absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseAddressRange(
    absl::string_view text);

// "1024-65535" or one port; no port 0.
absl::StatusOr<std::pair<uint16_t, uint16_t>> ParsePortRange(
    absl::string_view text);

// "10.0.0.1:80" -> a load target.
absl::StatusOr<engine::LoadTarget> ParseServer(absl::string_view text);

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
