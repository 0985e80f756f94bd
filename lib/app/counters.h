// The applications' counter blocks in the per-core set, registered in one
// fixed order.
//
// Each application defines its counters next to itself (X-macro lists in
// generator.h, flood.h, responder.h); RegisterCounters adds every block to the
// engine's registry (engine/counters.h), load, flood, serve, so that the
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

// Registers every application's block, once (thread-safe).
void RegisterCounters();

// Where an application's counter (gauge) sits in the per-core set.
size_t CounterIndex(LoadCounter c);
size_t CounterIndex(FloodCounter c);
size_t CounterIndex(ServeCounter c);
size_t GaugeIndex(LoadGauge g);

}  // namespace synwave::app

#endif  // SYNWAVE_APP_COUNTERS_H_
