// The run loop of serve, load and loopback: it starts the workers on their
// lcores, prints the statistics lines, drains a load, stops on the duration
// or on SIGINT/SIGTERM, and reports (the final counters, the load summary,
// the JSON report).
//
// The wiring (apps/synwave) opens the ports and builds a Side per port: a
// worker per queue with its applications. The loop runs on the main lcore
// and only reads what the workers publish (per-core counters, the
// generators' done flags); after the workers stopped it merges the
// generators' latency histograms and checks that every mbuf came home.
#ifndef SYNWAVE_CONTROL_RUN_H_
#define SYNWAVE_CONTROL_RUN_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "app/flood.h"
#include "app/generator.h"
#include "app/proxy.h"
#include "app/responder.h"
#include "control/config.h"
#include "control/metrics.h"
#include "control/report.h"
#include "engine/capture.h"
#include "engine/counters.h"
#include "engine/lcore.h"
#include "engine/worker.h"
#include "flow/toeplitz.h"
#include "port/port.h"

namespace synwave::control {

// One port and what runs on its queues: a worker per queue, each with its
// applications (responders for serve, generators and floods for load).
struct Side {
  std::optional<port::Port> port;
  std::vector<engine::CoreCounters> counters;  // one per queue
  std::vector<std::unique_ptr<app::Responder>> responders;
  std::vector<std::unique_ptr<app::Generator>> generators;
  std::vector<std::unique_ptr<app::Flood>> floods;
  std::vector<std::unique_ptr<app::Proxy>> proxies;  // proxy: one per queue
  std::vector<std::unique_ptr<engine::Worker>> workers;
  std::optional<flow::ToeplitzIpv4Tcp> rss;  // load on RSS ports
  std::optional<flow::ToeplitzIpv6Tcp> rss6;  // ... that hash IPv6 TCP
  std::vector<uint16_t> reta;
  engine::Capture* capture = nullptr;        // --pcap, shared by the sides

  // The workers' counters summed, with the port's own (port_*) read now.
  CounterTotals Totals() const;
  // Publishes the workers' last counters, drops them and stops the port.
  // Returns how many mbufs did not come back to its pool (a leak).
  unsigned Stop();
};

// Starts the EAL for `config`: its worker CPUs, devices and raw arguments
// (port/eal.h). Errors are usage errors naming --port/--eal.
absl::Status StartEal(const Config& config);

// --pcap: the capture of every port's frames (null without --pcap), opened
// once the ports are configured. Errors name --pcap.
absl::StatusOr<std::unique_ptr<engine::Capture>> OpenCapture(
    const Config& config);
// After the run: writes what is queued, closes the file and says so.
void CloseCapture(const Config& config, engine::Capture* capture);

// The run loop's pieces, for the modes' loops (proxy_run.cc): starts the
// slots with SIGINT/SIGTERM handlers, tells whether a stop was asked,
// stops and joins the slots, sleeps on the monotonic clock.
void Launch(std::vector<engine::LcoreSlot>& slots);
bool StopRequested();
// SIGHUP: CatchReload installs its handler (the proxy: re-read the
// backends); TakeReloadRequest tells once whether one came since.
void CatchReload();
bool TakeReloadRequest();
void StopSlots();
void SleepMs(int ms);
// --metrics: the Prometheus exposition for the length of a run (nothing
// without --metrics); says where on stdout.
absl::Status StartMetricsServer(const Config& config, MetricsServer* server);

// serve: runs `slots` until --duration or a signal, with a statistics line
// every --stats-interval, then prints the final counters and writes the
// JSON report. Returns the exit code.
int RunServe(const Config& config, Side& side,
             std::vector<engine::LcoreSlot>& slots);

// load and loopback: schedules the generators and floods of `client`, runs
// `slots` for --duration and the drain, then prints the load summary and
// writes the JSON report (with the server side's in loopback). Returns the
// exit code.
// `proxy`, when not empty, are the proxy's sides in `loopback --proxy`:
// its flows are waited for in the drain and its counters reported
// ("proxy").
int RunLoad(const Config& config, Side& client, Side* server,
            std::vector<engine::LcoreSlot>& slots,
            const std::vector<Side*>& proxy = {});

}  // namespace synwave::control

#endif  // SYNWAVE_CONTROL_RUN_H_
