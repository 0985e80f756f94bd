#include "control/report_merge.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "control/report.h"

namespace synwave::control {
namespace {

using json = nlohmann::json;

// Adds every number of `from` into `into`, member by member (objects are
// walked, numbers summed; other values are taken from the first report).
void SumInto(json& into, const json& from) {
  if (from.is_object()) {
    if (!into.is_object()) into = json::object();
    for (auto it = from.begin(); it != from.end(); ++it) {
      SumInto(into[it.key()], it.value());
    }
    return;
  }
  if (from.is_number_unsigned() || from.is_number_integer()) {
    into = (into.is_number() ? into.get<uint64_t>() : uint64_t{0}) +
           from.get<uint64_t>();
  } else if (from.is_number_float()) {
    into = (into.is_number() ? into.get<double>() : 0.0) + from.get<double>();
  } else if (into.is_null()) {
    into = from;
  }
}

absl::StatusOr<engine::LatencyHistogram> Histogram(const NamedReport& r,
                                                   const json& latency) {
  if (!latency.is_object() || !latency.contains("histogram")) {
    return absl::InvalidArgumentError(absl::StrCat(
        r.name, ": no latency histogram (a report of a load run by a synwave "
                "that keeps them is needed)"));
  }
  absl::StatusOr<engine::LatencyHistogram> h =
      HistogramFromJson(latency["histogram"]);
  if (!h.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(r.name, ": ", h.status().message()));
  }
  return h;
}

}  // namespace

absl::StatusOr<json> MergeReports(const std::vector<NamedReport>& reports) {
  if (reports.empty()) return absl::InvalidArgumentError("no report to merge");
  json out = json::object();
  out["merged_from"] = json::array();
  int64_t start_ms = 0, end_ms = 0;
  double wait_s = 0;
  std::map<std::string, engine::LatencyHistogram> latency;
  // Timeline entries by wall-clock second.
  std::map<int64_t, json> seconds;
  std::map<int64_t, engine::LatencyHistogram> second_latency;
  std::map<int64_t, int> contributors;  // entries summed into each second
  for (const NamedReport& r : reports) {
    const json& j = r.report;
    if (!j.contains("connections") || !j.contains("start_unix_ms") ||
        !j.contains("duration_s") || !j.contains("latency_us")) {
      return absl::InvalidArgumentError(absl::StrCat(
          r.name, ": not the report of a load run (no connections, "
                  "start_unix_ms, duration_s or latency_us)"));
    }
    out["merged_from"].push_back(r.name);
    for (const char* key : {"connections", "counters", "states", "pools",
                            "pool_peaks", "flood"}) {
      if (j.contains(key)) SumInto(out[key], j[key]);
    }
    const int64_t s = j["start_unix_ms"].get<int64_t>();
    const int64_t e = s + static_cast<int64_t>(
                              std::llround(j["duration_s"].get<double>() * 1000));
    start_ms = start_ms == 0 ? s : std::min(start_ms, s);
    end_ms = std::max(end_ms, e);
    if (j.contains("wait_s")) wait_s = std::max(wait_s, j["wait_s"].get<double>());
    for (auto it = j["latency_us"].begin(); it != j["latency_us"].end(); ++it) {
      absl::StatusOr<engine::LatencyHistogram> h = Histogram(r, it.value());
      if (!h.ok()) return h.status();
      latency[it.key()].Merge(*h);
    }
    if (!j.contains("timeline")) continue;
    for (const json& entry : j["timeline"]) {
      const int64_t second = entry.at("unix_ms").get<int64_t>() / 1000;
      json copy = entry;
      if (copy.contains("latency_us")) {
        absl::StatusOr<engine::LatencyHistogram> h =
            Histogram(r, copy["latency_us"]);
        if (!h.ok()) return h.status();
        second_latency[second].Merge(*h);
        copy.erase("latency_us");
      }
      copy.erase("t");
      copy.erase("unix_ms");
      SumInto(seconds[second], copy);
      ++contributors[second];
    }
  }
  const double duration_s = static_cast<double>(end_ms - start_ms) / 1000.0;
  out["start_unix_ms"] = start_ms;
  out["duration_s"] = duration_s;
  out["wait_s"] = wait_s;
  json lat = json::object();
  for (const auto& [kind, h] : latency) lat[kind] = LatencyJson(h);
  out["latency_us"] = lat;
  json timeline = json::array();
  double cps_max = 0;
  for (auto& [second, entry] : seconds) {
    entry["unix_ms"] = second * 1000;
    entry["t"] = static_cast<double>(second * 1000 - start_ms) / 1000.0;
    if (auto it = second_latency.find(second); it != second_latency.end()) {
      const engine::LatencyHistogram& h = it->second;
      entry["latency_us"] = {{"count", h.count()},
                             {"p50", h.ValueAtPercentile(50)},
                             {"p99", h.ValueAtPercentile(99)},
                             {"histogram", HistogramJson(h)}};
    }
    if (entry.contains("completed") && entry.contains("interval_s")) {
      // The summed intervals, one per entry: their mean is the second's.
      const double interval =
          entry["interval_s"].get<double>() / contributors[second];
      entry["interval_s"] = interval;
      if (interval >= 0.5) {
        cps_max = std::max(
            cps_max, static_cast<double>(entry["completed"].get<uint64_t>()) /
                         interval);
      }
    }
    timeline.push_back(std::move(entry));
  }
  out["timeline"] = std::move(timeline);
  const uint64_t completed =
      out["connections"].value("completed", uint64_t{0});
  out["cps"] = {{"mean", duration_s > 0 ? completed / duration_s : 0.0},
                {"max", cps_max}};
  return out;
}

}  // namespace synwave::control
