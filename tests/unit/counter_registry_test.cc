// The per-core counter set: the engine's counters at fixed indices, the
// applications' blocks registered after them in a fixed order, and the
// reports listing every registered counter (engine/counters.h,
// app/counters.h, control/report.h).
#include <set>
#include <string>
#include <vector>

#include "app/counters.h"
#include "app/flood.h"
#include "app/generator.h"
#include "app/responder.h"
#include "control/report.h"
#include "engine/counters.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace synwave {
namespace {

using ::testing::ElementsAreArray;

TEST(CounterRegistryTest, EngineCountersHaveFixedIndicesAndNames) {
  EXPECT_GE(engine::NumCounters(), engine::kNumEngineCounters);
  EXPECT_EQ(engine::CounterName(0), "rx_packets");
  EXPECT_EQ(engine::CounterName(
                static_cast<size_t>(engine::Counter::kDropTcpNoHandler)),
            "drop_tcp_no_handler");
  EXPECT_EQ(
      engine::CounterName(static_cast<size_t>(engine::Counter::kTcpCycles)),
      "tcp_cycles");
  EXPECT_EQ(engine::CounterName(
                engine::WireDropIndex(wire::Verdict::kIpv4BadChecksum)),
            "drop_ipv4_bad_checksum");
  EXPECT_EQ(engine::CounterName(engine::kTcpMibBase), "ActiveOpens");
  EXPECT_EQ(engine::GaugeName(0), "CurrEstab");
  EXPECT_EQ(engine::CounterName(engine::kMaxCounters), "");
}

// The names and help texts scripts and the JSON report rely on, in order.
TEST(CounterRegistryTest, ApplicationBlocksKeepTheirNamesAndHelp) {
  app::RegisterCounters();
  std::vector<std::string> load, flood, serve;
  for (size_t c = 0; c < static_cast<size_t>(app::LoadCounter::kCount); ++c) {
    load.emplace_back(engine::CounterName(
        app::CounterIndex(static_cast<app::LoadCounter>(c))));
  }
  for (size_t c = 0; c < static_cast<size_t>(app::FloodCounter::kCount); ++c) {
    flood.emplace_back(engine::CounterName(
        app::CounterIndex(static_cast<app::FloodCounter>(c))));
  }
  for (size_t c = 0; c < static_cast<size_t>(app::ServeCounter::kCount); ++c) {
    serve.emplace_back(engine::CounterName(
        app::CounterIndex(static_cast<app::ServeCounter>(c))));
  }
  EXPECT_THAT(serve, ElementsAreArray({"serve_requests", "serve_responses",
                                       "serve_reads_paused",
                                       "serve_reads_resumed",
                                       "serve_header_too_large",
                                       "serve_reset_under_pressure"}));
  EXPECT_THAT(load,
              ElementsAreArray({"load_attempted", "load_connected",
                                "load_completed", "load_failed_refused",
                                "load_failed_timeout", "load_failed_reset",
                                "load_failed_other", "load_tuples_busy",
                                "load_requests", "load_responses",
                                "load_abandoned", "load_ipv6_attempted",
                                "load_ipv6_completed", "load_held_pending",
                                "load_held_pool", "load_not_opened"}));
  EXPECT_THAT(flood, ElementsAreArray({"flood_syns_out", "flood_synacks_in",
                                       "flood_rsts_in", "flood_other_in",
                                       "flood_throttled"}));
  EXPECT_EQ(
      engine::CounterHelp(app::CounterIndex(app::LoadCounter::kTuplesBusy)),
      "client tuples skipped: still in use or in TIME-WAIT");
  EXPECT_EQ(
      engine::CounterHelp(app::CounterIndex(app::FloodCounter::kThrottled)),
      "flood SYNs not sent: the mbuf pool was below its reserve for "
      "legitimate traffic");
  EXPECT_EQ(engine::GaugeName(app::GaugeIndex(app::LoadGauge::kOpen)),
            "load_open");
  // After the engine's, load, flood, serve, each block contiguous.
  EXPECT_GE(app::CounterIndex(app::LoadCounter::kAttempted),
            engine::kNumEngineCounters);
  EXPECT_GT(app::CounterIndex(app::FloodCounter::kSynsOut),
            app::CounterIndex(app::LoadCounter::kResponses));
  EXPECT_GT(app::CounterIndex(app::ServeCounter::kRequests),
            app::CounterIndex(app::FloodCounter::kThrottled));
  EXPECT_GE(app::GaugeIndex(app::LoadGauge::kOpen), engine::kNumEngineGauges);
}

TEST(CounterRegistryTest, ApplicationsRegisterOnce) {
  app::RegisterCounters();
  const size_t counters = engine::NumCounters();
  const size_t gauges = engine::NumGauges();
  const size_t load = app::CounterIndex(app::LoadCounter::kAttempted);
  app::RegisterCounters();
  EXPECT_EQ(engine::NumCounters(), counters);
  EXPECT_EQ(engine::NumGauges(), gauges);
  EXPECT_EQ(app::CounterIndex(app::LoadCounter::kAttempted), load);
}

TEST(CounterRegistryTest, ABlockIsStoredPublishedAndReportedLikeTheEngines) {
  app::RegisterCounters();
  static constexpr engine::CounterInfo kBlock[] = {
      {"test_frames", "frames a test saw"}, {"test_bytes", "bytes a test saw"}};
  static constexpr engine::CounterInfo kGauge[] = {
      {"test_slots", "slots a test holds"}};
  const size_t before = engine::NumCounters();
  const size_t base = engine::RegisterCounterBlock(kBlock);
  const size_t gauge = engine::RegisterGaugeBlock(kGauge);
  EXPECT_EQ(base, before);
  EXPECT_EQ(engine::NumCounters(), before + 2);
  EXPECT_EQ(engine::CounterName(base + 1), "test_bytes");
  EXPECT_EQ(engine::CounterHelp(base), "frames a test saw");
  EXPECT_EQ(engine::GaugeName(gauge), "test_slots");

  // Two cores, each its own writer; the totals sum them.
  std::vector<engine::CoreCounters> cores(2);
  cores[0].Store(base, 3);
  cores[1].Store(base, 4);
  cores[1].Store(base + 1, 100);
  cores[0].StoreGauge(gauge, 2);
  engine::CounterDeltas d;
  d.Add(engine::Counter::kRxPackets, 5);
  cores[0].Publish(d);
  EXPECT_EQ(d.v[0], 0u) << "published deltas are cleared";
  const control::CounterTotals t = control::SumCounters(cores);
  EXPECT_EQ(t.v[base], 7u);
  EXPECT_EQ(t.v[base + 1], 100u);
  EXPECT_EQ(t[engine::Counter::kRxPackets], 5u);

  const nlohmann::json j = control::CountersJson(t);
  EXPECT_EQ(j["counters"]["test_frames"], 7u);
  EXPECT_EQ(j["pools"]["test_slots"], 2u);
  EXPECT_THAT(control::FormatCounterTable(t),
              ::testing::HasSubstr("test_bytes"));
}

TEST(CounterRegistryTest, TheReportListsEveryCounterWithZeros) {
  app::RegisterCounters();
  const nlohmann::json j = control::CountersJson(control::CounterTotals{});
  for (size_t i = 0; i < engine::NumCounters(); ++i) {
    const std::string name(engine::CounterName(i));
    if (name.empty()) continue;
    ASSERT_TRUE(j["counters"].contains(name)) << name;
    EXPECT_EQ(j["counters"][name], 0u) << name;
  }
  EXPECT_TRUE(j["counters"].contains("load_completed"));
  EXPECT_TRUE(j["counters"].contains("flood_rsts_in"));
  EXPECT_TRUE(j["pools"].contains("load_open"));
  EXPECT_TRUE(j["pools"].contains("tcbs"));
  EXPECT_FALSE(j["pools"].contains("CurrEstab"));
  EXPECT_FALSE(j["pools"].contains("ESTABLISHED"));
}

TEST(CounterRegistryDeathTest, ADuplicateNameIsAProgrammingError) {
  static constexpr engine::CounterInfo kDup[] = {{"rx_packets", "again"}};
  EXPECT_DEATH(engine::RegisterCounterBlock(kDup), "duplicate");
}

}  // namespace
}  // namespace synwave
