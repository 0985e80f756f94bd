// Merging load reports from several hosts (synwave report merge): sums,
// percentiles from the merged histograms, the run's span and the timelines
// aligned by wall-clock second; and what is refused.
#include "control/report_merge.h"

#include <gtest/gtest.h>

#include "control/report.h"
#include "engine/histogram.h"

namespace synwave::control {
namespace {

using json = nlohmann::json;

// A load report as `synwave load --json` writes it, with latencies
// `values` (microseconds), all completed in the second at `start_ms`.
json Report(int64_t start_ms, double duration_s, uint64_t completed,
            const std::vector<uint64_t>& values) {
  engine::LatencyHistogram h;
  for (uint64_t v : values) h.Record(v);
  json r;
  r["start_unix_ms"] = start_ms;
  r["duration_s"] = duration_s;
  r["wait_s"] = 0.25;
  r["connections"] = {{"attempted", completed}, {"completed", completed},
                      {"failed", 1}, {"failed_by_reason", {{"timeout", 1}}}};
  r["counters"] = {{"ActiveOpens", completed + 1}, {"rx_packets", 10 * completed}};
  r["states"] = {{"ESTABLISHED", 2}};
  r["pools"] = {{"tcbs", 3}};
  r["latency_us"] = {{"total", LatencyJson(h)}, {"connect", LatencyJson(h)}};
  r["timeline"] = json::array(
      {{{"t", 1.0}, {"unix_ms", start_ms + 1000}, {"interval_s", 1.0},
        {"completed", completed}, {"new", completed}, {"open", 5},
        {"failed", {{"timeout", 1}}},
        {"latency_us", {{"count", h.count()}, {"p50", h.ValueAtPercentile(50)},
                        {"p99", h.ValueAtPercentile(99)},
                        {"histogram", HistogramJson(h)}}}}});
  return r;
}

TEST(ReportMergeTest, SumsAndMergesHistogramsExactly) {
  std::vector<uint64_t> a_values, b_values, all;
  for (uint64_t v = 100; v < 200; ++v) a_values.push_back(v);
  for (uint64_t v = 1000; v < 1300; ++v) b_values.push_back(v);
  all = a_values;
  all.insert(all.end(), b_values.begin(), b_values.end());
  const int64_t t0 = 1'800'000'000'000;
  absl::StatusOr<json> m = MergeReports(
      {{"a.json", Report(t0, 10.0, 100, a_values)},
       {"b.json", Report(t0 + 500, 10.0, 300, b_values)}});
  ASSERT_TRUE(m.ok()) << m.status();
  const json& r = *m;
  EXPECT_EQ(r["connections"]["completed"], 400);
  EXPECT_EQ(r["connections"]["failed_by_reason"]["timeout"], 2);
  EXPECT_EQ(r["counters"]["ActiveOpens"], 402);
  EXPECT_EQ(r["states"]["ESTABLISHED"], 4);
  EXPECT_EQ(r["pools"]["tcbs"], 6);
  EXPECT_EQ(r["merged_from"], json::array({"a.json", "b.json"}));
  // From the earliest start to the latest end.
  EXPECT_DOUBLE_EQ(r["duration_s"].get<double>(), 10.5);
  EXPECT_DOUBLE_EQ(r["cps"]["mean"].get<double>(), 400 / 10.5);
  // Percentiles of all the values together, not of the two reports'.
  engine::LatencyHistogram want;
  for (uint64_t v : all) want.Record(v);
  EXPECT_EQ(r["latency_us"]["total"]["p50"], want.ValueAtPercentile(50));
  EXPECT_EQ(r["latency_us"]["total"]["p99"], want.ValueAtPercentile(99));
  EXPECT_EQ(r["latency_us"]["total"]["count"], 400);
  EXPECT_EQ(r["latency_us"]["total"]["max"], 1299);
  // Both entries fell in the same wall-clock second: one merged entry.
  ASSERT_EQ(r["timeline"].size(), 1u);
  const json& e = r["timeline"][0];
  EXPECT_EQ(e["completed"], 400);
  EXPECT_EQ(e["open"], 10);
  EXPECT_EQ(e["failed"]["timeout"], 2);
  EXPECT_EQ(e["latency_us"]["p99"], want.ValueAtPercentile(99));
  EXPECT_DOUBLE_EQ(e["interval_s"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["cps"]["max"].get<double>(), 400.0);
}

TEST(ReportMergeTest, SecondsThatDoNotMeetStayApart) {
  const int64_t t0 = 1'800'000'000'000;
  absl::StatusOr<json> m = MergeReports({{"a", Report(t0, 1.0, 10, {5})},
                                         {"b", Report(t0 + 3000, 1.0, 20, {7})}});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ((*m)["timeline"].size(), 2u);
  EXPECT_EQ((*m)["timeline"][0]["completed"], 10);
  EXPECT_EQ((*m)["timeline"][1]["completed"], 20);
  EXPECT_DOUBLE_EQ((*m)["duration_s"].get<double>(), 4.0);
}

TEST(ReportMergeTest, RefusesWhatItCannotMergeExactly) {
  json old = Report(1, 1.0, 1, {1});
  old["latency_us"]["total"].erase("histogram");
  absl::StatusOr<json> m = MergeReports({{"new.json", Report(1, 1.0, 1, {1})},
                                         {"old.json", old}});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("old.json"), std::string::npos);
  json serve;
  serve["counters"] = json::object();
  m = MergeReports({{"serve.json", serve}});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("not the report of a load run"),
            std::string::npos);
  EXPECT_FALSE(MergeReports({}).ok());
}

TEST(ReportMergeTest, HistogramJsonRoundTrips) {
  engine::LatencyHistogram h;
  for (uint64_t v : {0ull, 1ull, 300ull, 123456ull, 1ull << 41}) h.Record(v);
  absl::StatusOr<engine::LatencyHistogram> back =
      HistogramFromJson(HistogramJson(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
  json bad = HistogramJson(h);
  bad["count"] = 99;  // the buckets do not add up to it
  EXPECT_FALSE(HistogramFromJson(bad).ok());
}

}  // namespace
}  // namespace synwave::control
