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

namespace {

uint64_t Failed(const CounterTotals& c) {
  using engine::Counter;
  return c[Counter::kLoadFailedRefused] + c[Counter::kLoadFailedTimeout] +
         c[Counter::kLoadFailedReset] + c[Counter::kLoadFailedOther];
}

}  // namespace

std::string FormatLoadLine(double elapsed_s, double interval_s,
                           const CounterTotals& c, const CounterTotals& b,
                           uint64_t server_time_wait) {
  using engine::Counter;
  auto delta = [&](Counter x) { return c[x] - b[x]; };
  auto rate = [&](Counter x) {
    return interval_s > 0 ? static_cast<double>(delta(x)) / interval_s : 0.0;
  };
  const uint64_t failed = Failed(c) - Failed(b);
  std::string line = absl::StrFormat(
      "[%7.1fs] new %.0f/s  completed %.0f/s  failed %d (refused %d, timeout "
      "%d, reset %d, other %d)  syn-retrans %d  open %d  time-wait %d/%d  "
      "rx %.0f pkt/s  tx %.0f pkt/s",
      elapsed_s, rate(Counter::kLoadAttempted), rate(Counter::kLoadCompleted),
      failed, delta(Counter::kLoadFailedRefused),
      delta(Counter::kLoadFailedTimeout), delta(Counter::kLoadFailedReset),
      delta(Counter::kLoadFailedOther),
      c[tcp::Mib::kSynRetrans] - b[tcp::Mib::kSynRetrans],
      c[engine::Gauge::kLoadOpen], c[engine::Gauge::kTimeWaitInUse],
      server_time_wait, rate(Counter::kRxPackets), rate(Counter::kTxPackets));
  if (c[Counter::kFloodSynsOut] != 0) {
    absl::StrAppendFormat(&line, "  flood syn %.0f/s synack-back %.0f/s rst-back %.0f/s",
                          rate(Counter::kFloodSynsOut), rate(Counter::kFloodSynAcksIn),
                          rate(Counter::kFloodRstsIn));
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
                        {"count", h.count()}};
}

std::string FormatLoadSummary(double duration_s, const CounterTotals& c,
                              double cps_max, const LoadLatencies& lat) {
  using engine::Counter;
  std::string out = absl::StrFormat(
      "load summary over %.1f s:\n"
      "  connections attempted %d, completed %d, failed %d (refused %d, "
      "timeout %d, reset %d, other %d)\n"
      "  connections/s mean %.0f, max %.0f (per-second peak)\n"
      "  latency (us)      p50      p90      p99    p99.9      max\n",
      duration_s, c[Counter::kLoadAttempted], c[Counter::kLoadCompleted],
      Failed(c), c[Counter::kLoadFailedRefused], c[Counter::kLoadFailedTimeout],
      c[Counter::kLoadFailedReset], c[Counter::kLoadFailedOther],
      duration_s > 0 ? static_cast<double>(c[Counter::kLoadCompleted]) / duration_s
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
  if (c[Counter::kFloodSynsOut] != 0) {
    absl::StrAppendFormat(
        &out, "  flood: %d spoofed SYNs sent (%.0f/s), %d SYN-ACKs and %d RSTs came back\n",
        c[Counter::kFloodSynsOut],
        duration_s > 0 ? static_cast<double>(c[Counter::kFloodSynsOut]) / duration_s : 0.0,
        c[Counter::kFloodSynAcksIn], c[Counter::kFloodRstsIn]);
  }
  return out;
}

nlohmann::json LoadJson(double duration_s, const CounterTotals& c,
                        double cps_max, const LoadLatencies& lat) {
  using engine::Counter;
  nlohmann::json j;
  j["duration_s"] = duration_s;
  j["connections"] = {
      {"attempted", c[Counter::kLoadAttempted]},
      {"completed", c[Counter::kLoadCompleted]},
      {"failed", Failed(c)},
      {"failed_by_reason",
       {{"refused", c[Counter::kLoadFailedRefused]},
        {"timeout", c[Counter::kLoadFailedTimeout]},
        {"reset", c[Counter::kLoadFailedReset]},
        {"other", c[Counter::kLoadFailedOther]}}},
      {"open", c[engine::Gauge::kLoadOpen]}};
  j["cps"] = {{"mean", duration_s > 0 ? static_cast<double>(
                                            c[Counter::kLoadCompleted]) /
                                            duration_s
                                      : 0.0},
              {"max", cps_max}};
  j["flood"] = {{"syns_sent", c[Counter::kFloodSynsOut]},
                {"synacks_back", c[Counter::kFloodSynAcksIn]},
                {"rsts_back", c[Counter::kFloodRstsIn]}};
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
