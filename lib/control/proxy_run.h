// `synwave proxy`: its start-up line, its line per interval, its members of
// the JSON report, and its run loop (as RunServe, over one or two sides).
#ifndef SYNWAVE_CONTROL_PROXY_RUN_H_
#define SYNWAVE_CONTROL_PROXY_RUN_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/report.h"
#include "control/run.h"
#include "engine/lcore.h"

namespace synwave::control {

std::string ProxyStartLine(const Config& config, const port::Port& client,
                           const port::Port* backend);

// elapsed, rates over the interval (SYNs, valid cookies, joined flows,
// segments each way), flows open, early data, unknown backend frames,
// each backend "up", "down" or, while probing and before its first probe
// is judged, "unprobed"; drops.
std::string FormatProxyLine(double elapsed_s, double interval_s,
                            const CounterTotals& now,
                            const CounterTotals& before, bool probing);

// {"flows": n, "backends": [{"address", "up", "connections", "open",
//  "probes_ok", "probes_failed"}...]} from the totals (up: workers that
// see the backend up).
nlohmann::json ProxyJson(const Config& config, const CounterTotals& totals);

// Runs the proxy's `slots` until --duration or a signal, one line per
// --stats-interval, then the final counters and the JSON report. `backend`
// is the backend side's port when it is not the client side's (else null).
int RunProxy(const Config& config, Side& client, Side* backend,
             std::vector<engine::LcoreSlot>& slots);

// Totals of two sides added.
CounterTotals AddTotals(const CounterTotals& a, const CounterTotals& b);

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_PROXY_RUN_H_
