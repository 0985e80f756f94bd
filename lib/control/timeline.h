// Timeline: a run's figures second by second, for the JSON report (the
// "timeline" member), pictures (scripts/synwave-plot) and merging reports
// from several hosts (they align by wall-clock second).
//
// The run loop calls Sample() about once a second with the totals of each
// side; the Timeline keeps the differences from the previous sample (rates)
// and the gauges as they are. For a load run it also takes each generator's
// per-second latency histogram (Generator::NextSecond), so the p50 and p99
// of the connections completed in that second are exact to the histogram's
// bucket width, not averages of averages.
#ifndef SYNWAVE_CONTROL_TIMELINE_H_
#define SYNWAVE_CONTROL_TIMELINE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/generator.h"
#include "control/report.h"
#include "engine/histogram.h"

namespace synwave::control {

class Timeline {
 public:
  enum class Kind { kLoad, kServe, kProxy };
  Timeline(Kind kind, std::vector<app::Generator*> generators);

  // One second (or the interval since the last sample): `elapsed_s` since
  // the run's start, `client` the generators' side (load) or the serving
  // side (serve), `server` the server side of a loopback (or null).
  void Sample(double elapsed_s, const CounterTotals& client,
              const CounterTotals* server);

  // [{"t": s, "unix_ms": ms, ...}, ...]; see the README for the members.
  const nlohmann::json& json() const { return entries_; }

 private:
  // Asks every generator for a new second and merges the finished ones'
  // latencies into `second`. Generators that did not switch within a few
  // milliseconds (a stalled worker) leave their latencies to the next one.
  void CollectLatencies(engine::LatencyHistogram* second);

  Kind kind_;
  std::vector<app::Generator*> generators_;
  std::vector<uint32_t> pending_;  // per generator: the second asked for
  bool have_before_ = false;
  double before_t_ = 0;
  CounterTotals client_before_;
  CounterTotals server_before_;
  nlohmann::json entries_ = nlohmann::json::array();
};

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_TIMELINE_H_
