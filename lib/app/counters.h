// The applications' counter blocks in the per-core set, registered in one
// fixed order.
//
// Each application defines its counters next to itself (X-macro lists in
// generator.h, flood.h, responder.h and proxy_core.h); RegisterCounters adds
// every block to the engine's registry (engine/counters.h), load, flood,
// serve, proxy, so that the
// JSON report and the final table list every counter, zeros included, in
// every mode and in the same order. The wiring calls it at start-up, before
// any report sizes its totals; the applications' constructors and tests
// that look counters up by name call it too (it registers once).
#ifndef SYNWAVE_APP_COUNTERS_H_
#define SYNWAVE_APP_COUNTERS_H_

#include <cstddef>
#include <cstdint>

namespace synwave::app {

enum class LoadCounter : uint16_t;   // generator.h
enum class LoadGauge : uint16_t;     // generator.h
enum class FloodCounter : uint16_t;  // flood.h
enum class ServeCounter : uint16_t;  // responder.h
enum class ProxyCounter : uint16_t;  // proxy_core.h
enum class BackendCounter : uint8_t; // proxy_core.h

// Registers every application's block, once (thread-safe).
void RegisterCounters();

// Where an application's counter (gauge) sits in the per-core set.
size_t CounterIndex(LoadCounter c);
size_t CounterIndex(FloodCounter c);
size_t CounterIndex(ServeCounter c);
size_t GaugeIndex(LoadGauge g);
size_t CounterIndex(ProxyCounter c);
// proxy_backend<b>_<name>: the block of backend `b` (0 .. kMaxProxyBackends-1).
size_t ProxyBackendCounterIndex(int b, BackendCounter c);
// proxy_flows: records in use (a gauge).
size_t ProxyFlowsGaugeIndex();

}  // namespace synwave::app

#endif  // SYNWAVE_APP_COUNTERS_H_
