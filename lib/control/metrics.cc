#include "control/metrics.h"

#include <rte_telemetry.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace synwave::control {
namespace {

// The sides of the run now going, for the telemetry thread and the HTTP
// thread; the run loop replaces them at a run's start and end.
std::mutex g_mu;
std::vector<MetricsSide> g_sides;

// Prometheus metric names allow [a-zA-Z0-9_:]; ours are already of that
// alphabet but for the TCP state names' dashes (handled as a label value).
std::string MetricName(std::string_view name) {
  std::string out = "synwave_";
  for (char c : name) out += (c == '-' || c == '.') ? '_' : c;
  return out;
}

// HELP text escaping (backslash and newline).
std::string EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Sums or picks a core: `core` < 0 sums every core of every side.
uint64_t CounterOf(const MetricsSide& side, size_t index, int core) {
  if (core >= 0) {
    return static_cast<size_t>(core) < side.cores.size()
               ? side.cores[core].Read(index)
               : 0;
  }
  uint64_t sum = 0;
  for (const engine::CoreCounters& c : side.cores) sum += c.Read(index);
  return sum;
}

uint64_t GaugeOf(const MetricsSide& side, size_t index, int core) {
  if (core >= 0) {
    return static_cast<size_t>(core) < side.cores.size()
               ? side.cores[core].ReadGauge(index)
               : 0;
  }
  uint64_t sum = 0;
  for (const engine::CoreCounters& c : side.cores) sum += c.ReadGauge(index);
  return sum;
}

// /synwave/counters[,core], /synwave/states[,core], /synwave/pools[,core]:
// a dict per side (named by the side) of name -> value, summed over cores
// unless a core is given.
enum class What { kCounters, kStates, kPools };

int Telemetry(What what, const char* params, rte_tel_data* d) {
  int core = -1;
  if (params != nullptr && *params != '\0') {
    if (!absl::SimpleAtoi(params, &core) || core < 0) return -EINVAL;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  rte_tel_data_start_dict(d);
  for (const MetricsSide& side : g_sides) {
    rte_tel_data* sub = rte_tel_data_alloc();
    if (sub == nullptr) return -ENOMEM;
    rte_tel_data_start_dict(sub);
    switch (what) {
      case What::kCounters:
        for (size_t i = 0; i < engine::NumCounters(); ++i) {
          const std::string_view name = engine::CounterName(i);
          if (name.empty()) continue;
          rte_tel_data_add_dict_u64(sub, std::string(name).c_str(),
                                    CounterOf(side, i, core));
        }
        break;
      case What::kStates:
      case What::kPools:
        for (size_t i = 0; i < engine::NumGauges(); ++i) {
          if (engine::IsStateGauge(i) != (what == What::kStates)) continue;
          // Telemetry takes names of [A-Za-z0-9_./]: SYN-SENT is SYN_SENT.
          std::string name(engine::GaugeName(i));
          for (char& c : name) c = c == '-' ? '_' : c;
          rte_tel_data_add_dict_u64(sub, name.c_str(), GaugeOf(side, i, core));
        }
        break;
    }
    rte_tel_data_add_dict_container(d, side.name.c_str(), sub, /*keep=*/0);
  }
  return 0;
}

int CountersCmd(const char*, const char* params, rte_tel_data* d) {
  return Telemetry(What::kCounters, params, d);
}
int StatesCmd(const char*, const char* params, rte_tel_data* d) {
  return Telemetry(What::kStates, params, d);
}
int PoolsCmd(const char*, const char* params, rte_tel_data* d) {
  return Telemetry(What::kPools, params, d);
}

}  // namespace

MetricsSides::MetricsSides(std::vector<MetricsSide> sides) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_sides = std::move(sides);
}

MetricsSides::~MetricsSides() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_sides.clear();
}

void RegisterTelemetry() {
  static std::once_flag once;
  std::call_once(once, [] {
    rte_telemetry_register_cmd(
        "/synwave/counters", CountersCmd,
        "synwave's counters per side, summed over cores. Parameter: a core");
    rte_telemetry_register_cmd(
        "/synwave/states", StatesCmd,
        "synwave's TCP connections per state, per side. Parameter: a core");
    rte_telemetry_register_cmd(
        "/synwave/pools", PoolsCmd,
        "synwave's pools in use (TCBs, half-open, TIME-WAIT, buffers, "
        "timers, ...), per side. Parameter: a core");
  });
}

std::string PrometheusText() {
  std::lock_guard<std::mutex> lock(g_mu);
  std::string out;
  if (g_sides.empty()) return out;
  auto samples = [&](const std::string& metric, const std::string& labels,
                     auto value) {
    for (const MetricsSide& side : g_sides) {
      for (size_t core = 0; core < side.cores.size(); ++core) {
        absl::StrAppend(&out, metric, "{side=\"", side.name, "\",core=\"",
                        core, "\"", labels, "} ",
                        value(side, static_cast<int>(core)), "\n");
      }
    }
  };
  for (size_t i = 0; i < engine::NumCounters(); ++i) {
    const std::string_view name = engine::CounterName(i);
    if (name.empty()) continue;
    const std::string metric = MetricName(name) + "_total";
    absl::StrAppend(&out, "# HELP ", metric, " ",
                    EscapeHelp(engine::CounterHelp(i)), "\n# TYPE ", metric,
                    " counter\n");
    samples(metric, "", [&](const MetricsSide& s, int core) {
      return CounterOf(s, i, core);
    });
  }
  const std::string states = "synwave_tcp_connections";
  absl::StrAppend(&out, "# HELP ", states,
                  " TCP connections per state (SYN-RECEIVED counts SYN-queue "
                  "entries, TIME-WAIT records, LISTEN listeners)\n# TYPE ",
                  states, " gauge\n");
  for (size_t i = 0; i < engine::NumGauges(); ++i) {
    if (!engine::IsStateGauge(i)) continue;
    samples(states,
            absl::StrCat(",state=\"", std::string(engine::GaugeName(i)), "\""),
            [&](const MetricsSide& s, int core) { return GaugeOf(s, i, core); });
  }
  for (size_t i = 0; i < engine::NumGauges(); ++i) {
    if (engine::IsStateGauge(i)) continue;
    const std::string metric = MetricName(engine::GaugeName(i));
    absl::StrAppend(&out, "# HELP ", metric, " ",
                    EscapeHelp(engine::GaugeHelp(i)), "\n# TYPE ", metric,
                    " gauge\n");
    samples(metric, "", [&](const MetricsSide& s, int core) {
      return GaugeOf(s, i, core);
    });
  }
  return out;
}

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
};

MetricsServer::MetricsServer() : impl_(std::make_unique<Impl>()) {}

MetricsServer::~MetricsServer() { Stop(); }

absl::Status MetricsServer::Start(const std::string& host, int port) {
  // One thread answers: a scrape is a handful of requests a minute.
  impl_->server.new_task_queue = [] { return new httplib::ThreadPool(1); };
  impl_->server.Get("/metrics", [](const httplib::Request&,
                                   httplib::Response& res) {
    res.set_content(PrometheusText(), "text/plain; version=0.0.4");
  });
  if (port == 0) {
    port_ = impl_->server.bind_to_any_port(host);
    if (port_ < 0) port_ = 0;
  } else if (impl_->server.bind_to_port(host, port)) {
    port_ = port;
  }
  if (port_ == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics: cannot listen on ", host, ":", port));
  }
  // A thread of the process's main lcore: created here, it inherits the
  // main thread's CPU set, never a worker's.
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  return absl::OkStatus();
}

void MetricsServer::Stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

absl::Status ParseHostPort(const std::string& text, std::string* host,
                           int* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), port) || *port < 0 ||
      *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics: '", text, "' is not ADDR:PORT (e.g. 127.0.0.1:9100)"));
  }
  *host = text.substr(0, colon);
  return absl::OkStatus();
}

}  // namespace synwave::control
