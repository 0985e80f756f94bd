// Merging the JSON reports of load runs that ran side by side on several
// hosts (`synwave report merge a.json b.json ... -o all.json`), as if one
// generator had made all their connections:
//   - counters, TCP states, pools, connections and their failures by reason
//     and the flood's figures are summed; pool peaks are summed too (an
//     upper bound of the peak of the sum);
//   - latencies are merged from the histograms' buckets, so the percentiles
//     are exact to the bucket width, not averages of percentiles;
//   - the run spans from the earliest schedule start to the latest end
//     (start_unix_ms + duration_s); the mean rate is the completed
//     connections over that span;
//   - the timelines are aligned by wall-clock second (unix_ms / 1000): the
//     entries of one second are summed, their latency histograms merged;
//     the highest per-second rate of the merged timeline is the max rate.
// A report without histograms (an older synwave, or not a load run) is an
// error that names the file.
#ifndef SYNWAVE_CONTROL_REPORT_MERGE_H_
#define SYNWAVE_CONTROL_REPORT_MERGE_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace synwave::control {

struct NamedReport {
  std::string name;  // for errors: the file
  nlohmann::json report;
};

absl::StatusOr<nlohmann::json> MergeReports(
    const std::vector<NamedReport>& reports);

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_REPORT_MERGE_H_
