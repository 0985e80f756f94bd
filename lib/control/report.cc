#include "control/report.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "app/flood.h"
#include "app/generator.h"

namespace synwave::control {

using app::FloodCounter;
using app::LoadCounter;
using app::LoadGauge;

namespace {

// " ip 198.18.0.2/24 gateway 198.18.0.1 ip6 fd00::2/64 gateway fe80::1":
// each family's part only when it is configured (IPv6 only: no " ip").
std::string AddressText(const Config& config) {
  std::string text;
  if (config.ip) {
    absl::StrAppend(&text, " ip ", config.ip->ToString());
    if (config.gateway) {
      absl::StrAppend(&text, " gateway ", config.gateway->ToString());
    }
  }
  if (config.ip6) {
    absl::StrAppend(&text, " ip6 ", config.ip6->ToString());
    if (config.gateway6) {
      absl::StrAppend(&text, " gateway ", config.gateway6->ToString());
    }
  }
  return text;
}

// "10.0.1.1-10.0.1.254", with " and fd00::1:1-fd00::1:fe" when there are
// IPv6 clients (or only the IPv6 range when `only6`).
std::string ClientsText(const LoadSettings& load, bool only6) {
  std::string v4 =
      absl::StrCat(wire::Ipv4Address{load.client_ip_first}.ToString(), "-",
                   wire::Ipv4Address{load.client_ip_last}.ToString());
  if (load.client_ip6_first.IsUnspecified()) return v4;
  std::string v6 = absl::StrCat(load.client_ip6_first.ToString(), "-",
                                load.client_ip6_last.ToString());
  return only6 ? v6 : absl::StrCat(v4, " and ", v6);
}

}  // namespace

std::string ServeStartLine(const Config& config, const port::Port& port) {
  const port::Offloads& off = port.offloads();
  return absl::StrFormat(
      "synwave serve: port %s mac %s%s, %u worker(s) on CPU %s, "
      "checksum offload rx %s tx %s, listening on TCP %s",
      port.name(), port.mac().ToString(), AddressText(config),
      config.lcores.size(), absl::StrJoin(config.lcores, ","),
      off.rx_ipv4_checksum ? "yes" : "no (software)",
      off.tx_ipv4_checksum ? "yes" : "no (software)",
      absl::StrJoin(config.listen_ports, ","));
}

std::string LoadStartLine(const Config& config, const port::Port& port) {
  const LoadSettings& load = config.load;
  return absl::StrFormat(
      "synwave load: port %s mac %s%s, clients %s ports %u-%u, %u "
      "worker(s) on CPU %s, servers %u, cps %s, concurrency %u, close %s",
      port.name(), port.mac().ToString(), AddressText(config),
      ClientsText(load, !config.ip),
      load.port_first,
      load.port_last, config.lcores.size(), absl::StrJoin(config.lcores, ","),
      load.servers.size(), load.cps > 0 ? absl::StrCat(load.cps) : "unpaced",
      load.concurrency, app::CloseModeName(load.close));
}

std::string LoopbackStartLine(const Config& config, uint16_t pairs,
                              const std::vector<unsigned>& client_cpus,
                              const std::vector<unsigned>& server_cpus,
                              wire::Ipv4Address server_ip) {
  const LoadSettings& load = config.load;
  const app::LoadTarget& first = load.servers.front();
  return absl::StrFormat(
      "synwave loopback: net_ring pair, %u client worker(s) on CPU %s, %u "
      "server worker(s) on CPU %s, clients %s -> %s, cps %s, "
      "concurrency %u, close %s, %u request(s)/connection, response %u bytes",
      pairs, absl::StrJoin(client_cpus, ","), pairs,
      absl::StrJoin(server_cpus, ","), ClientsText(load, first.ipv6),
      first.ipv6 ? TargetText(first)
                 : absl::StrCat(server_ip.ToString(), ":", first.port),
      load.cps > 0 ? absl::StrCat(load.cps) : "unpaced", load.concurrency,
      app::CloseModeName(load.close), load.keepalive_requests,
      config.responder.response_bytes);
}

uint64_t CounterTotals::operator[](LoadCounter c) const {
  return v[app::CounterIndex(c)];
}
uint64_t CounterTotals::operator[](FloodCounter c) const {
  return v[app::CounterIndex(c)];
}
uint64_t CounterTotals::operator[](LoadGauge x) const {
  return g[app::GaugeIndex(x)];
}

uint64_t CounterTotals::Drops() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (engine::CounterName(i).starts_with("drop_")) sum += v[i];
  }
  return sum;
}

CounterTotals SumCounters(std::span<const engine::CoreCounters> cores) {
  CounterTotals t;
  for (const engine::CoreCounters& c : cores) {
    for (size_t i = 0; i < t.v.size(); ++i) t.v[i] += c.Read(i);
    for (size_t i = 0; i < t.g.size(); ++i) t.g[i] += c.ReadGauge(i);
  }
  return t;
}

void AddPortStats(const port::PortStats& stats, CounterTotals& totals) {
  using engine::Counter;
  totals.v[static_cast<size_t>(Counter::kPortIMissed)] += stats.imissed;
  totals.v[static_cast<size_t>(Counter::kPortIErrors)] += stats.ierrors;
  totals.v[static_cast<size_t>(Counter::kPortRxNoMbuf)] += stats.rx_nombuf;
  totals.v[static_cast<size_t>(Counter::kPortOErrors)] += stats.oerrors;
}

nlohmann::json PortXstatsJson(const port::PortStats& stats) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : stats.xstats) j[name] = value;
  return j;
}

std::string FormatPortXstats(const port::PortStats& stats) {
  std::string out;
  for (const auto& [name, value] : stats.xstats) {
    absl::StrAppendFormat(&out, "  %s %d\n", name, value);
  }
  return out.empty() ? out : absl::StrCat("port extended statistics:\n", out);
}

uint64_t CounterTotals::PortDrops() const {
  using engine::Counter;
  return (*this)[Counter::kPortIMissed] + (*this)[Counter::kPortIErrors] +
         (*this)[Counter::kPortRxNoMbuf];
}

std::string FormatStatsLine(double elapsed_s, double interval_s,
                            const CounterTotals& now,
                            const CounterTotals& before) {
  using engine::Counter;
  auto rate = [&](Counter c) {
    return interval_s > 0 ? static_cast<double>(now[c] - before[c]) / interval_s
                          : 0.0;
  };
  const double opens =
      interval_s > 0 ? static_cast<double>(now[tcp::Mib::kPassiveOpens] -
                                           before[tcp::Mib::kPassiveOpens]) /
                           interval_s
                     : 0.0;
  return absl::StrFormat(
      "[%7.1fs] rx %.0f pkt/s  tx %.0f pkt/s  accepted %.0f/s  estab %d  "
      "time-wait %d  orphans %d  closed %d  retrans %d  idle-resets %d  "
      "orphan-resets %d  arp-in %d  icmp-echo %d  drops %d  port-drops %d "
      "(missed %d, errors %d, nombuf %d)",
      elapsed_s, rate(Counter::kRxPackets), rate(Counter::kTxPackets), opens,
      now[engine::Gauge::kCurrEstab], now[engine::Gauge::kTimeWaitInUse],
      now[engine::Gauge::kOrphansInUse], now[tcp::Mib::kConnectionsClosed],
      now[tcp::Mib::kRetransSegs], now[tcp::Mib::kIdleTimeouts],
      now[tcp::Mib::kAbortOnTimeout] + now[tcp::Mib::kAbortOnMemory],
      now[Counter::kArpRequestsIn] + now[Counter::kArpRepliesIn],
      now[Counter::kIcmpEchoIn], now.Drops(), now.PortDrops(),
      now[Counter::kPortIMissed], now[Counter::kPortIErrors],
      now[Counter::kPortRxNoMbuf]);
}

namespace {

uint64_t Failed(const CounterTotals& c) {
  return c[LoadCounter::kFailedRefused] + c[LoadCounter::kFailedTimeout] +
         c[LoadCounter::kFailedReset] + c[LoadCounter::kFailedOther];
}

}  // namespace

std::string FormatLoadLine(double elapsed_s, double interval_s,
                           const CounterTotals& c, const CounterTotals& b,
                           uint64_t server_time_wait) {
  using engine::Counter;
  auto delta = [&](auto x) { return c[x] - b[x]; };
  auto rate = [&](auto x) {
    return interval_s > 0 ? static_cast<double>(delta(x)) / interval_s : 0.0;
  };
  const uint64_t failed = Failed(c) - Failed(b);
  std::string line = absl::StrFormat(
      "[%7.1fs] new %.0f/s  completed %.0f/s  failed %d (refused %d, timeout "
      "%d, reset %d, other %d)  syn-retrans %d  open %d  time-wait %d/%d  "
      "rx %.0f pkt/s  tx %.0f pkt/s  port-drops %d",
      elapsed_s, rate(LoadCounter::kAttempted), rate(LoadCounter::kCompleted),
      failed, delta(LoadCounter::kFailedRefused),
      delta(LoadCounter::kFailedTimeout), delta(LoadCounter::kFailedReset),
      delta(LoadCounter::kFailedOther),
      c[tcp::Mib::kSynRetrans] - b[tcp::Mib::kSynRetrans],
      c[LoadGauge::kOpen], c[engine::Gauge::kTimeWaitInUse],
      server_time_wait, rate(Counter::kRxPackets), rate(Counter::kTxPackets),
      c.PortDrops());
  if (c[LoadCounter::kAbandoned] != 0) {
    absl::StrAppendFormat(&line, "  abandoned %d", delta(LoadCounter::kAbandoned));
  }
  // Offered above capacity: connections that fell due while a cap held
  // opening back (they open late).
  if (c[LoadCounter::kHeldPending] + c[LoadCounter::kHeldPool] != 0) {
    absl::StrAppendFormat(&line, "  held %d (pending %d, pool %d)",
                          delta(LoadCounter::kHeldPending) +
                              delta(LoadCounter::kHeldPool),
                          delta(LoadCounter::kHeldPending),
                          delta(LoadCounter::kHeldPool));
  }
  if (c[FloodCounter::kSynsOut] != 0) {
    absl::StrAppendFormat(&line, "  flood syn %.0f/s synack-back %.0f/s rst-back %.0f/s",
                          rate(FloodCounter::kSynsOut), rate(FloodCounter::kSynAcksIn),
                          rate(FloodCounter::kRstsIn));
  }
  return line;
}

nlohmann::json LatencyJson(const engine::LatencyHistogram& h) {
  return nlohmann::json{{"p50", h.ValueAtPercentile(50)},
                        {"p90", h.ValueAtPercentile(90)},
                        {"p99", h.ValueAtPercentile(99)},
                        {"p999", h.ValueAtPercentile(99.9)},
                        {"max", h.max()},
                        {"mean", h.mean()},
                        {"count", h.count()},
                        {"histogram", HistogramJson(h)}};
}

nlohmann::json HistogramJson(const engine::LatencyHistogram& h) {
  const engine::LatencyHistogram::Snapshot s = h.Export();
  nlohmann::json buckets = nlohmann::json::array();
  for (const auto& [index, n] : s.buckets) buckets.push_back({index, n});
  return nlohmann::json{{"sub_bucket_bits", s.sub_bucket_bits},
                        {"count", s.count},
                        {"saturated", s.saturated},
                        {"sum", s.sum},
                        {"min", s.min},
                        {"max", s.max},
                        {"buckets", std::move(buckets)}};
}

absl::StatusOr<engine::LatencyHistogram> HistogramFromJson(
    const nlohmann::json& j) {
  engine::LatencyHistogram::Snapshot s;
  try {
    s.sub_bucket_bits = j.at("sub_bucket_bits").get<int>();
    s.count = j.at("count").get<uint64_t>();
    s.saturated = j.at("saturated").get<uint64_t>();
    s.sum = j.at("sum").get<uint64_t>();
    s.min = j.at("min").get<uint64_t>();
    s.max = j.at("max").get<uint64_t>();
    for (const nlohmann::json& b : j.at("buckets")) {
      s.buckets.emplace_back(b.at(0).get<uint32_t>(), b.at(1).get<uint64_t>());
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a latency histogram: ", e.what()));
  }
  engine::LatencyHistogram h;
  if (!h.Import(s)) {
    return absl::InvalidArgumentError(
        "a latency histogram with another layout or inconsistent counts");
  }
  return h;
}

std::string FormatLoadSummary(double duration_s, const CounterTotals& c,
                              double cps_max, const LoadLatencies& lat) {
  std::string out = absl::StrFormat(
      "load summary over %.1f s:\n"
      "  connections attempted %d, completed %d, failed %d (refused %d, "
      "timeout %d, reset %d, other %d)\n"
      "  connections/s mean %.0f, max %.0f (per-second peak)\n"
      "  latency (us)      p50      p90      p99    p99.9      max\n",
      duration_s, c[LoadCounter::kAttempted], c[LoadCounter::kCompleted],
      Failed(c), c[LoadCounter::kFailedRefused], c[LoadCounter::kFailedTimeout],
      c[LoadCounter::kFailedReset], c[LoadCounter::kFailedOther],
      duration_s > 0 ? static_cast<double>(c[LoadCounter::kCompleted]) / duration_s
                     : 0.0,
      cps_max);
  auto row = [&](const char* name, const engine::LatencyHistogram& h) {
    absl::StrAppendFormat(&out, "  %-12s %8d %8d %8d %8d %8d\n", name,
                          h.ValueAtPercentile(50), h.ValueAtPercentile(90),
                          h.ValueAtPercentile(99), h.ValueAtPercentile(99.9),
                          h.max());
  };
  row("connect", lat.connect);
  row("first byte", lat.first_byte);
  row("total", lat.total);
  const uint64_t held =
      c[LoadCounter::kHeldPending] + c[LoadCounter::kHeldPool];
  if (held != 0 || c[LoadCounter::kNotOpened] != 0) {
    absl::StrAppendFormat(
        &out,
        "  offered above capacity: %d opened late (held by --max-pending "
        "%d, by a full TCB pool %d), %d scheduled but not opened\n",
        held, c[LoadCounter::kHeldPending], c[LoadCounter::kHeldPool],
        c[LoadCounter::kNotOpened]);
  }
  if (c[LoadCounter::kAttempted6] != 0) {
    absl::StrAppendFormat(
        &out, "  over IPv6: attempted %d, completed %d (IPv4: %d, %d)\n",
        c[LoadCounter::kAttempted6], c[LoadCounter::kCompleted6],
        c[LoadCounter::kAttempted] - c[LoadCounter::kAttempted6],
        c[LoadCounter::kCompleted] - c[LoadCounter::kCompleted6]);
  }
  if (c[FloodCounter::kSynsOut] != 0) {
    absl::StrAppendFormat(
        &out, "  flood: %d spoofed SYNs sent (%.0f/s), %d SYN-ACKs and %d RSTs came back\n",
        c[FloodCounter::kSynsOut],
        duration_s > 0 ? static_cast<double>(c[FloodCounter::kSynsOut]) / duration_s : 0.0,
        c[FloodCounter::kSynAcksIn], c[FloodCounter::kRstsIn]);
  }
  return out;
}

nlohmann::json LoadJson(double duration_s, const CounterTotals& c,
                        double cps_max, const LoadLatencies& lat) {
  nlohmann::json j;
  j["duration_s"] = duration_s;
  j["connections"] = {
      {"attempted", c[LoadCounter::kAttempted]},
      {"completed", c[LoadCounter::kCompleted]},
      {"failed", Failed(c)},
      {"failed_by_reason",
       {{"refused", c[LoadCounter::kFailedRefused]},
        {"timeout", c[LoadCounter::kFailedTimeout]},
        {"reset", c[LoadCounter::kFailedReset]},
        {"other", c[LoadCounter::kFailedOther]}}},
      {"open", c[LoadGauge::kOpen]},
      {"held", {{"pending", c[LoadCounter::kHeldPending]},
                {"pool", c[LoadCounter::kHeldPool]}}},
      {"not_opened", c[LoadCounter::kNotOpened]}};
  // Per family, once IPv6 ran (the totals above count both).
  if (c[LoadCounter::kAttempted6] != 0) {
    j["connections"]["ipv6"] = {
        {"attempted", c[LoadCounter::kAttempted6]},
        {"completed", c[LoadCounter::kCompleted6]}};
  }
  j["cps"] = {{"mean", duration_s > 0 ? static_cast<double>(
                                            c[LoadCounter::kCompleted]) /
                                            duration_s
                                      : 0.0},
              {"max", cps_max}};
  j["flood"] = {{"syns_sent", c[FloodCounter::kSynsOut]},
                {"synacks_back", c[FloodCounter::kSynAcksIn]},
                {"rsts_back", c[FloodCounter::kRstsIn]}};
  j["latency_us"] = {{"connect", LatencyJson(lat.connect)},
                     {"first_byte", LatencyJson(lat.first_byte)},
                     {"total", LatencyJson(lat.total)}};
  return j;
}

std::string FormatCounterTable(const CounterTotals& totals) {
  size_t width = 0;
  for (size_t i = 0; i < totals.v.size(); ++i) {
    if (totals.v[i] != 0) width = std::max(width, engine::CounterName(i).size());
  }
  std::string out;
  for (size_t i = 0; i < totals.v.size(); ++i) {
    if (totals.v[i] == 0) continue;
    absl::StrAppendFormat(&out, "  %-*s %d\n", static_cast<int>(width),
                          engine::CounterName(i), totals.v[i]);
  }
  if (out.empty()) out = "  (all counters zero)\n";
  std::string states;
  for (int s = 0; s < tcp::kNumTcpStates; ++s) {
    const auto state = static_cast<tcp::TcpState>(s);
    if (totals.State(state) != 0 && state != tcp::TcpState::kListen) {
      absl::StrAppendFormat(&states, " %s=%d", tcp::StateName(state),
                            totals.State(state));
    }
  }
  if (!states.empty()) absl::StrAppend(&out, "connections by state:", states, "\n");
  return out;
}

nlohmann::json CountersJson(const CounterTotals& totals) {
  nlohmann::json counters = nlohmann::json::object();
  for (size_t i = 0; i < totals.v.size(); ++i) {
    std::string_view name = engine::CounterName(i);
    if (!name.empty()) counters[std::string(name)] = totals.v[i];
  }
  counters["CurrEstab"] = totals[engine::Gauge::kCurrEstab];
  nlohmann::json states = nlohmann::json::object();
  for (int s = 0; s < tcp::kNumTcpStates; ++s) {
    const auto state = static_cast<tcp::TcpState>(s);
    states[std::string(tcp::StateName(state))] = totals.State(state);
  }
  // Pools: the engine's gauges but CurrEstab and the states, and every
  // application's.
  nlohmann::json pools = nlohmann::json::object();
  for (size_t i = 1; i < totals.g.size(); ++i) {
    if (i >= static_cast<size_t>(engine::Gauge::kStateBase) &&
        i < engine::kNumEngineGauges) {
      continue;
    }
    pools[std::string(engine::GaugeName(i))] = totals.g[i];
  }
  return nlohmann::json{{"counters", counters}, {"states", states},
                        {"pools", pools}};
}

absl::Status WriteJson(const std::string& path, const nlohmann::json& report) {
  std::ofstream out(path);
  if (!out) {
    return absl::InvalidArgumentError(
        absl::StrCat("--json: cannot open '", path, "' for writing"));
  }
  out << report.dump(2) << "\n";
  out.close();
  if (!out) {
    return absl::InternalError(absl::StrCat("--json: writing '", path,
                                            "' failed"));
  }
  return absl::OkStatus();
}

}  // namespace synwave::control
