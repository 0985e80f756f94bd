#include "control/run.h"

#include "control/metrics.h"
#include "control/proxy_run.h"
#include "control/timeline.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "port/eal.h"

namespace synwave::control {
namespace {

// In one process (loopback) a frame may still be on its way between the
// ends when the workers stop: a proxy's health probe, or the RST that ends
// it, in the other end's RX ring. A few more polls of every worker, here
// on the main thread once the lcores are done, deliver what is in flight,
// so that what the pools hold afterwards is a leak and not a frame on its
// way (nothing new opens: the schedule is over).
void SettleInFlight(std::vector<engine::LcoreSlot>& slots) {
  const engine::TscClock clock;
  for (int round = 0; round < 8; ++round) {
    for (engine::LcoreSlot& slot : slots) {
      for (engine::Worker* w : slot.workers) w->PollOnce(clock.NowNs());
    }
  }
}

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true, std::memory_order_relaxed); }

std::atomic<bool> g_reload{false};

void OnReload(int) { g_reload.store(true, std::memory_order_relaxed); }

}  // namespace

void Launch(std::vector<engine::LcoreSlot>& slots) {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  engine::LaunchSlots(slots, g_stop);
}

bool StopRequested() { return g_stop.load(std::memory_order_relaxed); }

void CatchReload() { std::signal(SIGHUP, OnReload); }

bool TakeReloadRequest() {
  return g_reload.exchange(false, std::memory_order_relaxed);
}

void StopSlots() {
  g_stop.store(true);
  engine::WaitForSlots();
}

namespace {

}  // namespace

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
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) ==
         EINTR) {
  }
}

namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace

absl::Status StartMetricsServer(const Config& config, MetricsServer* server) {
  if (config.metrics.empty()) return absl::OkStatus();
  std::string host;
  int port = 0;
  if (absl::Status s = ParseHostPort(config.metrics, &host, &port); !s.ok()) {
    return s;
  }
  if (absl::Status s = server->Start(host, port); !s.ok()) return s;
  std::printf("metrics: http://%s:%d/metrics\n", host.c_str(), server->port());
  std::fflush(stdout);
  return absl::OkStatus();
}

namespace {

int WriteReport(const std::string& path, const nlohmann::json& report) {
  if (absl::Status s = WriteJson(path, report); !s.ok()) {
    std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

absl::Status StartEal(const Config& config) {
  port::EalOptions eal;
  eal.worker_cpus = config.lcores;
  eal.devices = config.ports;
  if (!config.proxy.backend_port.empty() &&
      config.proxy.backend_port != config.ports.front()) {
    eal.devices.push_back(config.proxy.backend_port);
  }
  eal.extra_args = config.eal_args;
  eal.available_cpus = AvailableCpus();
  absl::StatusOr<std::vector<std::string>> eal_args = port::BuildEalArgs(eal);
  if (!eal_args.ok()) return eal_args.status();
  if (absl::Status s = port::InitEal(*eal_args); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--port/--eal: ", s.message()));
  }
  RegisterTelemetry();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<engine::Capture>> OpenCapture(
    const Config& config) {
  if (config.pcap.path.empty()) return std::unique_ptr<engine::Capture>();
  return engine::Capture::Open(config.pcap);
}

void CloseCapture(const Config& config, engine::Capture* capture) {
  if (capture == nullptr) return;
  capture->Close();
  std::printf("pcap: %lu frames written to %s\n",
              static_cast<unsigned long>(capture->written_packets()),
              config.pcap.path.c_str());
  std::fflush(stdout);
}

CounterTotals Side::Totals() const {
  CounterTotals t = SumCounters(counters);
  if (port) AddPortStats(port->Stats(), t);
  return t;
}

unsigned Side::Stop() {
  for (auto& w : workers) w->PublishCounters();
  workers.clear();
  port->Stop();
  return port->pool_size() - port->AvailableMbufs();
}

int RunServe(const Config& config, Side& side,
             std::vector<engine::LcoreSlot>& slots) {
  const MetricsSides metrics_sides({{"serve", side.counters}});
  MetricsServer metrics;
  if (absl::Status s = StartMetricsServer(config, &metrics); !s.ok()) {
    side.Stop();
    std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  Launch(slots);
  const auto start = std::chrono::steady_clock::now();
  auto last_stats = start;
  CounterTotals before;
  Timeline timeline(Timeline::Kind::kServe, {});
  timeline.Sample(0, side.Totals(), nullptr);
  double last_sample = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    SleepMs(20);
    const double elapsed = Since(start);
    const double interval = Since(last_stats);
    if (elapsed - last_sample >= 1.0) {
      timeline.Sample(elapsed, side.Totals(), nullptr);
      last_sample = elapsed;
    }
    if (config.stats_interval_s > 0 && interval >= config.stats_interval_s) {
      CounterTotals totals = side.Totals();
      std::printf("%s\n",
                  FormatStatsLine(elapsed, interval, totals, before).c_str());
      std::fflush(stdout);
      before = std::move(totals);
      last_stats = std::chrono::steady_clock::now();
    }
    if (config.duration_s > 0 && elapsed >= config.duration_s) break;
  }
  timeline.Sample(Since(start), side.Totals(), nullptr);
  g_stop.store(true);
  engine::WaitForSlots();
  // With the workers gone and the port stopped (its queues release their
  // mbufs), every mbuf must be back in the pool: anything else is a leak.
  for (auto& w : side.workers) w->PublishCounters();
  const CounterTotals totals = side.Totals();
  const port::PortStats port_stats = side.port->Stats(/*xstats=*/true);
  const unsigned mbufs_in_use = side.Stop();
  std::printf("final counters:\n%s%s", FormatCounterTable(totals).c_str(),
              FormatPortXstats(port_stats).c_str());
  if (mbufs_in_use != 0) std::printf("mbufs not returned: %u\n", mbufs_in_use);
  std::fflush(stdout);
  if (config.json_path.empty()) return 0;
  nlohmann::json report = CountersJson(totals);
  report["pools"]["mbufs"] = mbufs_in_use;
  report["timeline"] = timeline.json();
  report["port_xstats"] = PortXstatsJson(port_stats);
  return WriteReport(config.json_path, report);
}

namespace {

// Until every generator's servers have answered ARP (the generators resolve
// them from their first poll), or --wait-server runs out, or a signal.
// Returns the wait in seconds, or an error saying what did not answer.
absl::StatusOr<double> WaitForServers(const Config& config, Side& client) {
  const auto launched = std::chrono::steady_clock::now();
  bool announced = false;
  for (;;) {
    bool resolved = true;
    for (auto& g : client.generators) resolved &= g->resolved();
    if (resolved) return Since(launched);
    const double waited = Since(launched);
    std::string servers;
    bool any4 = false, any6 = false;
    for (const app::LoadTarget& t : config.load.servers) {
      (t.ipv6 ? any6 : any4) = true;
      absl::StrAppend(&servers, servers.empty() ? "" : ", ",
                      t.ipv6 ? t.ip6.ToString()
                             : wire::Ipv4Address{t.ip}.ToString());
    }
    const char* how = !any6  ? "ARP"
                      : any4 ? "ARP or Neighbor Discovery"
                             : "Neighbor Discovery";
    if (g_stop.load(std::memory_order_relaxed)) {
      return absl::CancelledError(
          absl::StrCat("stopped while waiting for ", servers, " to answer ",
                       how));
    }
    if (config.load.wait_server_s > 0 && waited >= config.load.wait_server_s) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no answer to ", how, " for ", servers, " (or their next hop) in ",
          config.load.wait_server_s, " s (--wait-server)"));
    }
    if (!announced && waited >= 1) {
      std::printf("synwave load: waiting for %s to answer %s\n",
                  servers.c_str(), how);
      std::fflush(stdout);
      announced = true;
    }
    SleepMs(10);
  }
}

}  // namespace

int RunLoad(const Config& config, Side& client, Side* server,
            std::vector<engine::LcoreSlot>& slots,
            const std::vector<Side*>& proxy) {
  auto proxy_totals = [&] {
    CounterTotals t;
    for (Side* s : proxy) t = AddTotals(t, s->Totals());
    return t;
  };
  std::vector<MetricsSide> sides;
  if (server != nullptr) {
    sides.push_back({"client", client.counters});
    sides.push_back({"server", server->counters});
  } else {
    sides.push_back({"load", client.counters});
  }
  const MetricsSides metrics_sides(std::move(sides));
  MetricsServer metrics;
  if (absl::Status s = StartMetricsServer(config, &metrics); !s.ok()) {
    client.Stop();
    if (server != nullptr) server->Stop();
    std::fprintf(stderr, "synwave: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  Launch(slots);
  // The schedule starts once the servers are reachable, and the run is
  // timed from there: duration, drain and rates count no ARP wait.
  const absl::StatusOr<double> wait_s = WaitForServers(config, client);
  if (!wait_s.ok()) {
    g_stop.store(true);
    engine::WaitForSlots();
    client.Stop();
    if (server != nullptr) server->Stop();
    std::fprintf(stderr, "synwave: %s\n",
                 std::string(wait_s.status().message()).c_str());
    return 1;
  }
  const engine::TscClock clock;
  const uint64_t start_ns = clock.NowNs();
  const int64_t start_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  const uint64_t stop_ns =
      config.duration_s > 0
          ? start_ns + static_cast<uint64_t>(config.duration_s * 1e9)
          : ~uint64_t{0};
  for (auto& g : client.generators) g->SetSchedule(start_ns, stop_ns);
  for (auto& f : client.floods) f->SetSchedule(start_ns, stop_ns);

  const double stats_interval =
      config.stats_interval_s > 0 ? config.stats_interval_s : 1.0;
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  CounterTotals before = client.Totals();
  std::vector<app::Generator*> generators;
  for (auto& g : client.generators) generators.push_back(g.get());
  Timeline timeline(Timeline::Kind::kLoad, generators);
  {
    const CounterTotals s = server != nullptr ? server->Totals() : CounterTotals{};
    timeline.Sample(0, before, server != nullptr ? &s : nullptr);
  }
  double last_sample = 0;
  double cps_max = 0;
  double load_elapsed = 0;
  bool draining = false;
  // The largest pool use seen (sampled every 10 ms), per side.
  uint64_t peak[2][3] = {};
  auto sample_peaks = [&](int i, const CounterTotals& t) {
    peak[i][0] = std::max(peak[i][0], t[engine::Gauge::kTcbsInUse]);
    peak[i][1] = std::max(peak[i][1], t[engine::Gauge::kHalfOpenInUse]);
    peak[i][2] = std::max(peak[i][2], t[engine::Gauge::kTimeWaitInUse]);
  };
  while (!g_stop.load(std::memory_order_relaxed)) {
    SleepMs(10);
    // Each side's totals once per pass, for the peaks, the line and the
    // drain check alike.
    const CounterTotals c = client.Totals();
    const CounterTotals s =
        server != nullptr ? server->Totals() : CounterTotals{};
    sample_peaks(0, c);
    if (server != nullptr) sample_peaks(1, s);
    const double elapsed = Since(start);
    const double interval = Since(last);
    if (elapsed - last_sample >= 1.0) {
      timeline.Sample(elapsed, c, server != nullptr ? &s : nullptr);
      last_sample = elapsed;
    }
    const bool load_over =
        config.duration_s > 0 && elapsed >= config.duration_s;
    if (interval >= stats_interval || (load_over && !draining)) {
      if (!draining && interval >= 0.5) {
        cps_max = std::max(
            cps_max, static_cast<double>(c[app::LoadCounter::kCompleted] -
                                         before[app::LoadCounter::kCompleted]) /
                         interval);
      }
      std::printf("%s\n", FormatLoadLine(elapsed, interval, c, before,
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
    const uint64_t proxy_flows =
        proxy.empty() ? 0 : proxy_totals().g[app::ProxyFlowsGaugeIndex()];
    bool opening = false;
    for (auto& g : client.generators) opening |= !g->done_opening();
    if ((!opening && c[app::LoadGauge::kOpen] == 0 && pending == 0 &&
         proxy_flows == 0) ||
        elapsed >= config.duration_s + config.load.drain_s) {
      break;
    }
  }
  if (!draining) load_elapsed = Since(start);
  {
    const CounterTotals c = client.Totals();
    const CounterTotals s = server != nullptr ? server->Totals() : CounterTotals{};
    timeline.Sample(Since(start), c, server != nullptr ? &s : nullptr);
  }
  g_stop.store(true);
  engine::WaitForSlots();
  if (server != nullptr) SettleInFlight(slots);

  LoadLatencies lat;
  for (auto& g : client.generators) {
    lat.connect.Merge(g->connect_us());
    lat.first_byte.Merge(g->first_byte_us());
    lat.total.Merge(g->total_us());
  }
  for (auto& w : client.workers) w->PublishCounters();
  if (server != nullptr) {
    for (auto& w : server->workers) w->PublishCounters();
  }
  for (Side* s : proxy) {
    for (auto& w : s->workers) w->PublishCounters();
  }
  const CounterTotals pt = proxy_totals();
  unsigned proxy_mbufs = 0;
  for (Side* s : proxy) proxy_mbufs += s->Stop();
  const CounterTotals ct = client.Totals();
  const CounterTotals st =
      server != nullptr ? server->Totals() : CounterTotals{};
  const port::PortStats client_port = client.port->Stats(/*xstats=*/true);
  const unsigned client_mbufs = client.Stop();
  const unsigned server_mbufs = server != nullptr ? server->Stop() : 0;

  std::printf("%s%s", FormatLoadSummary(load_elapsed, ct, cps_max, lat).c_str(),
              FormatPortXstats(client_port).c_str());
  std::printf(
      "client pools: tcbs %lu, half-open %lu, time-wait %lu, mbufs not "
      "returned %u\n",
      ct[engine::Gauge::kTcbsInUse], ct[engine::Gauge::kHalfOpenInUse],
      ct[engine::Gauge::kTimeWaitInUse], client_mbufs);
  if (server != nullptr) {
    std::printf(
        "server pools: tcbs %lu, half-open %lu, time-wait %lu, mbufs not "
        "returned %u\n",
        st[engine::Gauge::kTcbsInUse], st[engine::Gauge::kHalfOpenInUse],
        st[engine::Gauge::kTimeWaitInUse], server_mbufs);
  }
  if (!proxy.empty()) {
    std::printf("proxy: flows %lu, joined %lu, unknown backend frames %lu, "
                "early data dropped %lu, mbufs not returned %u\n",
                pt.g[app::ProxyFlowsGaugeIndex()],
                pt.v[app::CounterIndex(app::ProxyCounter::kEstablished)],
                pt.v[app::CounterIndex(
                    app::ProxyCounter::kUnknownBackendFrames)],
                pt.v[app::CounterIndex(app::ProxyCounter::kEarlyDataDropped)],
                proxy_mbufs);
  }
  std::fflush(stdout);
  if (config.json_path.empty()) return 0;
  nlohmann::json report = LoadJson(load_elapsed, ct, cps_max, lat);
  report["wait_s"] = *wait_s;
  report["start_unix_ms"] = start_unix_ms;
  report["timeline"] = timeline.json();
  nlohmann::json counters = CountersJson(ct);
  report["counters"] = counters["counters"];
  report["states"] = counters["states"];
  report["pools"] = counters["pools"];
  report["pools"]["mbufs"] = client_mbufs;
  report["port_xstats"] = PortXstatsJson(client_port);
  auto peaks = [&](int i) {
    return nlohmann::json{{"tcbs", peak[i][0]},
                          {"half_open", peak[i][1]},
                          {"time_wait", peak[i][2]}};
  };
  report["pool_peaks"] = peaks(0);
  if (server != nullptr) {
    nlohmann::json s = CountersJson(st);
    s["pools"]["mbufs"] = server_mbufs;
    s["pool_peaks"] = peaks(1);
    report["server"] = s;
  }
  if (!proxy.empty()) {
    nlohmann::json p = CountersJson(pt);
    p["pools"]["mbufs"] = proxy_mbufs;
    report["proxy"] = p;
  }
  return WriteReport(config.json_path, report);
}

}  // namespace synwave::control
