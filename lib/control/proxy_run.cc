#include "control/proxy_run.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "app/counters.h"
#include "app/proxy.h"
#include "control/metrics.h"
#include "control/timeline.h"

namespace synwave::control {
namespace {

using app::ProxyCounter;

uint64_t Get(const CounterTotals& t, ProxyCounter c) {
  return t.v[app::CounterIndex(c)];
}
uint64_t Get(const CounterTotals& t, int b, app::BackendCounter c) {
  return t.v[app::ProxyBackendCounterIndex(b, c)];
}

// A backend's address as given: IP, IP:PORT, IPv6 or [IPv6]:PORT.
std::string BackendAddress(const app::ProxyBackend& b) {
  return b.ip6.IsUnspecified() ? wire::Ipv4Address{b.ip}.ToString()
                               : b.ip6.ToString();
}
std::string BackendName(const app::ProxyBackend& b) {
  if (b.port == 0) return BackendAddress(b);
  return b.ip6.IsUnspecified()
             ? absl::StrCat(BackendAddress(b), ":", b.port)
             : absl::StrCat("[", BackendAddress(b), "]:", b.port);
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace

CounterTotals AddTotals(const CounterTotals& a, const CounterTotals& b) {
  CounterTotals t = a;
  for (size_t i = 0; i < t.v.size() && i < b.v.size(); ++i) t.v[i] += b.v[i];
  for (size_t i = 0; i < t.g.size() && i < b.g.size(); ++i) t.g[i] += b.g[i];
  return t;
}

std::string ProxyStartLine(const Config& config, const port::Port& client,
                           const port::Port* backend) {
  std::vector<std::string> backends;
  for (const app::ProxyBackend& b : config.proxy.backends) {
    backends.push_back(BackendName(b));
  }
  const bool v6 = config.proxy.backend_ip6.has_value();
  return absl::StrFormat(
      "synwave proxy: VIP %s port %s mac %s, TCP %s; backend side %s on %s "
      "mac %s%s; backends %s; %u worker(s) on CPU %s, no-backend %s",
      v6 ? config.ip6->ToString() : config.ip->ToString(), client.name(),
      client.mac().ToString(), absl::StrJoin(config.listen_ports, ","),
      v6 ? config.proxy.backend_ip6->ToString()
         : config.proxy.backend_ip->ToString(),
      backend != nullptr ? backend->name() : client.name(),
      backend != nullptr ? backend->mac().ToString() : client.mac().ToString(),
      backend != nullptr ? "" : " (one-armed)", absl::StrJoin(backends, ","),
      config.lcores.size(), absl::StrJoin(config.lcores, ","),
      config.proxy.no_backend == app::NoBackend::kRst ? "rst" : "drop");
}

std::string FormatProxyLine(double elapsed_s, double interval_s,
                            const CounterTotals& now,
                            const CounterTotals& before, bool probing) {
  auto rate = [&](auto x) {
    const uint64_t d = Get(now, x) - Get(before, x);
    return interval_s > 0 ? static_cast<double>(d) / interval_s : 0.0;
  };
  auto pkt_rate = [&](engine::Counter c) {
    return interval_s > 0
               ? static_cast<double>(now[c] - before[c]) / interval_s
               : 0.0;
  };
  std::string up;
  for (int b = 0; b < app::kMaxProxyBackends; ++b) {
    if (Get(now, b, app::BackendCounter::kProbesOk) +
            Get(now, b, app::BackendCounter::kProbesFailed) +
            Get(now, b, app::BackendCounter::kConnections) +
            Get(now, b, app::BackendCounter::kUp) ==
        0) {
      continue;
    }
    // A probed backend is "unprobed" until its first probe is judged: it
    // takes flows meanwhile, but nothing has said it answers.
    const bool judged = Get(now, b, app::BackendCounter::kProbesOk) +
                            Get(now, b, app::BackendCounter::kProbesFailed) >
                        0;
    absl::StrAppend(&up, up.empty() ? "" : ",",
                    probing && !judged ? "unprobed"
                    : Get(now, b, app::BackendCounter::kUp) > 0 ? "up"
                                                                : "down");
  }
  return absl::StrFormat(
      "[%7.1fs] rx %.0f pkt/s  tx %.0f pkt/s  syn %.0f/s  cookies-ok %.0f/s  "
      "joined %.0f/s  to-backend %.0f/s  to-client %.0f/s  flows %d  "
      "early-drop %d  unknown-backend %d  refused %d  syn-timeouts %d  "
      "backends %s  drops %d",
      elapsed_s, pkt_rate(engine::Counter::kRxPackets),
      pkt_rate(engine::Counter::kTxPackets), rate(ProxyCounter::kSynIn),
      rate(ProxyCounter::kCookiesValid), rate(ProxyCounter::kEstablished),
      rate(ProxyCounter::kToBackend), rate(ProxyCounter::kToClient),
      now.g[app::ProxyFlowsGaugeIndex()],
      Get(now, ProxyCounter::kEarlyDataDropped),
      Get(now, ProxyCounter::kUnknownBackendFrames),
      Get(now, ProxyCounter::kBackendRefused),
      Get(now, ProxyCounter::kBackendSynTimeouts), up.empty() ? "-" : up,
      now.Drops());
}

nlohmann::json ProxyJson(const Config& config, const CounterTotals& totals) {
  nlohmann::json backends = nlohmann::json::array();
  for (size_t b = 0; b < config.proxy.backends.size(); ++b) {
    const app::ProxyBackend& a = config.proxy.backends[b];
    const int i = static_cast<int>(b);
    backends.push_back(
        {{"address", BackendAddress(a)},
         {"port", a.port},
         {"up", Get(totals, i, app::BackendCounter::kUp)},
         {"connections", Get(totals, i, app::BackendCounter::kConnections)},
         {"open", Get(totals, i, app::BackendCounter::kOpen)},
         {"probes_ok", Get(totals, i, app::BackendCounter::kProbesOk)},
         {"probes_failed", Get(totals, i, app::BackendCounter::kProbesFailed)}});
  }
  return nlohmann::json{{"flows", totals.g[app::ProxyFlowsGaugeIndex()]},
                        {"backends", backends}};
}

namespace {

// SIGHUP: the --config file's backends read again, planned onto the slots
// in use and published; a bad file or list keeps the one in use.
void Reload(const Config& config, app::ProxyBackendSlots* current,
            std::vector<std::unique_ptr<app::ProxyBackendSlots>>* published,
            app::ProxyBackendUpdates* updates) {
  absl::StatusOr<std::vector<app::ProxyBackend>> list =
      ReadBackendList(config);
  std::string error;
  auto next = std::make_unique<app::ProxyBackendSlots>();
  if (list.ok() && current->Plan(*list, next.get(), &error)) {
    std::vector<std::string> names, removed;
    for (size_t b = 0; b < next->slots.size(); ++b) {
      const app::ProxyBackend& a = next->slots[b];
      (next->active[b] ? names : removed).push_back(BackendName(a));
    }
    *current = *next;
    updates->current.store(next.get(), std::memory_order_release);
    published->push_back(std::move(next));
    std::printf("synwave proxy: backends reloaded: %zu (%s)%s%s\n",
                names.size(), absl::StrJoin(names, ",").c_str(),
                removed.empty() ? "" : "; removed, keeping their flows: ",
                absl::StrJoin(removed, ",").c_str());
    std::fflush(stdout);
    return;
  }
  if (!list.ok()) error = std::string(list.status().message());
  std::fprintf(stderr,
               "synwave proxy: reload failed, keeping the %d backends in use: "
               "%s\n",
               current->num_active(), error.c_str());
}

}  // namespace

int RunProxy(const Config& config, Side& client, Side* backend,
             std::vector<engine::LcoreSlot>& slots) {
  auto totals = [&] {
    CounterTotals t = client.Totals();
    if (backend != nullptr) t = AddTotals(t, backend->Totals());
    return t;
  };
  std::vector<MetricsSide> sides = {{"proxy", client.counters}};
  if (backend != nullptr) sides.push_back({"proxy_backend_side", backend->counters});
  const MetricsSides metrics_sides(std::move(sides));
  MetricsServer metrics;
  if (absl::Status s = StartMetricsServer(config, &metrics); !s.ok()) {
    if (backend != nullptr) backend->Stop();
    client.Stop();
    std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  // Reloads (SIGHUP): the main lcore reads and plans the list, the workers
  // take it on their next poll (app::ProxyBackendUpdates); every list
  // published stays here until the workers have stopped.
  app::ProxyBackendUpdates updates;
  std::vector<std::unique_ptr<app::ProxyBackendSlots>> published;
  app::ProxyBackendSlots current;
  current.slots = config.proxy.backends;
  current.active.assign(current.slots.size(), true);
  for (auto& p : client.proxies) p->SetBackendUpdates(&updates);
  CatchReload();
  Launch(slots);
  const auto start = std::chrono::steady_clock::now();
  auto last_stats = start;
  CounterTotals before = totals();
  Timeline timeline(Timeline::Kind::kProxy, {});
  timeline.Sample(0, before, nullptr);
  double next_sample = 1;
  while (!StopRequested()) {
    SleepMs(20);
    const double elapsed = Since(start);
    if (elapsed >= next_sample) {
      timeline.Sample(elapsed, totals(), nullptr);
      next_sample += 1;
    }
    const double interval = Since(last_stats);
    if (config.stats_interval_s > 0 && interval >= config.stats_interval_s) {
      CounterTotals now = totals();
      std::printf("%s\n",
                  FormatProxyLine(elapsed, interval, now, before,
                                  config.proxy.probe_interval_s > 0)
                      .c_str());
      std::fflush(stdout);
      before = std::move(now);
      last_stats = std::chrono::steady_clock::now();
    }
    if (TakeReloadRequest()) Reload(config, &current, &published, &updates);
    if (config.duration_s > 0 && elapsed >= config.duration_s) break;
  }
  StopSlots();
  for (auto& w : client.workers) w->PublishCounters();
  if (backend != nullptr) {
    for (auto& w : backend->workers) w->PublishCounters();
  }
  const CounterTotals t = totals();
  timeline.Sample(Since(start), t, nullptr);
  unsigned mbufs_in_use = 0;
  // The backend side's workers go first: the client side owns the proxies
  // that they call.
  if (backend != nullptr) mbufs_in_use += backend->Stop();
  mbufs_in_use += client.Stop();
  std::printf("final counters:\n%s", FormatCounterTable(t).c_str());
  if (mbufs_in_use != 0) std::printf("mbufs not returned: %u\n", mbufs_in_use);
  std::fflush(stdout);
  if (config.json_path.empty()) return 0;
  nlohmann::json report = CountersJson(t);
  report["pools"]["mbufs"] = mbufs_in_use;
  Config reported = config;  // the backends after the last reload
  reported.proxy.backends = current.slots;
  report["proxy"] = ProxyJson(reported, t);
  report["duration_s"] = Since(start);
  report["timeline"] = timeline.json();
  if (absl::Status s = WriteJson(config.json_path, report); !s.ok()) {
    std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace synwave::control
