// Live metrics: the running sides' counters, TCP states and pools, read
// while the workers run, two ways:
//   - DPDK telemetry commands /synwave/counters, /synwave/states and
//     /synwave/pools (dpdk-telemetry.py reads them from the process's
//     telemetry socket); the parameter, when given, is a core number;
//     telemetry names allow no dash, so states read SYN_SENT, FIN_WAIT_1;
//   - `--metrics=ADDR:PORT`: a Prometheus text exposition at /metrics, over
//     cpp-httplib, on a thread of the main lcore's CPU (never a worker's):
//     counters as `counter` (synwave_<name>_total), pools as `gauge`
//     (synwave_<name>), connections per state as the gauge
//     synwave_tcp_connections{state=...}, each with a `core` label and a
//     `side` label (serve, load; loopback has client and server), and HELP
//     lines from the counter tables.
// Both only read what the workers publish (CoreCounters: relaxed loads).
// The run loop says which sides exist (MetricsSides) for the length of a
// run; between runs the commands answer with nothing.
#ifndef SYNWAVE_CONTROL_METRICS_H_
#define SYNWAVE_CONTROL_METRICS_H_

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/counters.h"

namespace synwave::control {

struct MetricsSide {
  std::string name;  // the `side` label: serve, load, client, server
  std::span<const engine::CoreCounters> cores;
};

// Publishes `sides` to the telemetry commands and the exposition until the
// returned object is destroyed (the run's end). One run at a time.
class MetricsSides {
 public:
  explicit MetricsSides(std::vector<MetricsSide> sides);
  ~MetricsSides();
  MetricsSides(const MetricsSides&) = delete;
  MetricsSides& operator=(const MetricsSides&) = delete;
};

// Registers the /synwave/* telemetry commands (once, after the EAL is up).
void RegisterTelemetry();

// The exposition of the sides now published (empty without a run).
std::string PrometheusText();

// The --metrics server. Start() binds (an error names --metrics) and serves
// on a thread until Stop() or destruction.
class MetricsServer {
 public:
  MetricsServer();
  ~MetricsServer();
  absl::Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// "ADDR:PORT" (ADDR an IPv4 address or a host name; PORT 0-65535, 0 for any
// free port) -> host and port.
absl::Status ParseHostPort(const std::string& text, std::string* host,
                           int* port);

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_METRICS_H_
