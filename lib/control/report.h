// Reports: the start-up line, summing per-core counters, the once-a-second
// line, the final text table and the JSON report.
//
// Counters are summed over cores by name on the main lcore (workers never
// wait for it). The JSON report is an object whose "counters" member maps
// every registered counter name (the engine's and the applications') to its
// integer total (zeros included, so scripts can rely on a key being there);
// later modes add their own members beside it.
#ifndef SYNWAVE_CONTROL_REPORT_H_
#define SYNWAVE_CONTROL_REPORT_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "app/counters.h"
#include "control/config.h"
#include "engine/counters.h"
#include "engine/histogram.h"
#include "port/port.h"
#include "wire/addresses.h"

namespace synwave::control {

// The first line of a run: what it runs on and with which settings.
std::string ServeStartLine(const Config& config, const port::Port& port);
std::string LoadStartLine(const Config& config, const port::Port& port);
// Loopback: `config` is the client side's (its load settings complete).
std::string LoopbackStartLine(const Config& config, uint16_t pairs,
                              const std::vector<unsigned>& client_cpus,
                              const std::vector<unsigned>& server_cpus,
                              wire::Ipv4Address server_ip);

// Totals over cores, indexed like the per-core set (every counter and
// gauge registered when the totals are made).
struct CounterTotals {
  std::vector<uint64_t> v = std::vector<uint64_t>(engine::NumCounters(), 0);
  std::vector<uint64_t> g = std::vector<uint64_t>(engine::NumGauges(), 0);

  uint64_t operator[](engine::Counter c) const {
    return v[static_cast<size_t>(c)];
  }
  uint64_t operator[](tcp::Mib m) const {
    return v[engine::kTcpMibBase + static_cast<size_t>(m)];
  }
  uint64_t operator[](engine::Gauge x) const {
    return g[static_cast<size_t>(x)];
  }
  uint64_t operator[](app::LoadCounter c) const;
  uint64_t operator[](app::FloodCounter c) const;
  uint64_t operator[](app::LoadGauge x) const;
  uint64_t State(tcp::TcpState s) const {
    return g[engine::StateGaugeIndex(s)];
  }
  uint64_t Drops() const;  // sum of every drop_ counter
  uint64_t PortDrops() const;  // the port's: imissed, ierrors, rx_nombuf
};

CounterTotals SumCounters(std::span<const engine::CoreCounters> cores);

// Adds a port's own counters (port_imissed, ...) to `totals`.
void AddPortStats(const port::PortStats& stats, CounterTotals& totals);

// The port's extended statistics that explain its drops, {name: value};
// and as lines for the final table ("" when there are none).
nlohmann::json PortXstatsJson(const port::PortStats& stats);
std::string FormatPortXstats(const port::PortStats& stats);

// One line per interval: elapsed seconds, rates over the interval and drops.
std::string FormatStatsLine(double elapsed_s, double interval_s,
                            const CounterTotals& now,
                            const CounterTotals& before);

// The load generator's line per interval: elapsed, new and completed
// connections, failures by reason, SYN retransmissions, open connections,
// TIME-WAIT records and packet rates. `client` holds the generator's cores.
std::string FormatLoadLine(double elapsed_s, double interval_s,
                           const CounterTotals& client,
                           const CounterTotals& client_before,
                           uint64_t server_time_wait);

// The latencies of a load run, microseconds.
struct LoadLatencies {
  engine::LatencyHistogram connect;
  engine::LatencyHistogram first_byte;
  engine::LatencyHistogram total;
};

// {"p50","p90","p99","p999","max","mean","count","histogram"} in
// microseconds; "histogram" (HistogramJson) lets reports be merged exactly.
nlohmann::json LatencyJson(const engine::LatencyHistogram& h);

// A histogram's non-empty buckets and exact figures, and back.
nlohmann::json HistogramJson(const engine::LatencyHistogram& h);
absl::StatusOr<engine::LatencyHistogram> HistogramFromJson(
    const nlohmann::json& j);

// The load summary: connections, rates and latency percentiles, as text
// and as the JSON members "duration_s", "connections", "cps", "latency_us".
std::string FormatLoadSummary(double duration_s, const CounterTotals& client,
                              double cps_max, const LoadLatencies& lat);
nlohmann::json LoadJson(double duration_s, const CounterTotals& client,
                        double cps_max, const LoadLatencies& lat);

// The final table: every non-zero counter, "name value", aligned, in the
// order of the per-core set (the engine's, then the applications' blocks).
std::string FormatCounterTable(const CounterTotals& totals);

// {"counters": {name: value, ...}, "states": {"ESTABLISHED": n, ...},
//  "pools": {"tcbs": n, ...}} with every counter, state and pool.
nlohmann::json CountersJson(const CounterTotals& totals);

// Writes `report` to `path` (pretty-printed, newline-terminated).
absl::Status WriteJson(const std::string& path, const nlohmann::json& report);

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_REPORT_H_
