#include "control/report.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace synwave::control {

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
    for (size_t i = 0; i < engine::kNumCounters; ++i) t.v[i] += c.Read(i);
    for (size_t i = 0; i < engine::kNumGauges; ++i) t.g[i] += c.ReadGauge(i);
  }
  return t;
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
      "time-wait %d  closed %d  retrans %d  arp-in %d  icmp-echo %d  drops %d",
      elapsed_s, rate(Counter::kRxPackets), rate(Counter::kTxPackets), opens,
      now[engine::Gauge::kCurrEstab], now[engine::Gauge::kTimeWaitInUse],
      now[tcp::Mib::kConnectionsClosed], now[tcp::Mib::kRetransSegs],
      now[Counter::kArpRequestsIn] + now[Counter::kArpRepliesIn],
      now[Counter::kIcmpEchoIn], now.Drops());
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
  nlohmann::json pools = nlohmann::json::object();
  for (size_t i = 1; i < static_cast<size_t>(engine::Gauge::kStateBase); ++i) {
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
