#include "app/counters.h"

#include "app/flood.h"
#include "app/generator.h"
#include "app/responder.h"
#include "engine/counters.h"

namespace synwave::app {
namespace {

constexpr engine::CounterInfo kLoadCounters[] = {
#define SYNWAVE_X(e, name, help) {name, help},
    SYNWAVE_LOAD_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
};
constexpr engine::CounterInfo kLoadGauges[] = {
#define SYNWAVE_X(e, name, help) {name, help},
    SYNWAVE_LOAD_GAUGES(SYNWAVE_X)
#undef SYNWAVE_X
};
constexpr engine::CounterInfo kFloodCounters[] = {
#define SYNWAVE_X(e, name, help) {name, help},
    SYNWAVE_FLOOD_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
};

constexpr engine::CounterInfo kServeCounters[] = {
#define SYNWAVE_X(e, name, help) {name, help},
    SYNWAVE_SERVE_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
};

struct Blocks {
  size_t load;
  size_t load_gauges;
  size_t flood;
  size_t serve;
};

const Blocks& Registered() {
  // The order here is the order of the report: load, flood, serve.
  static const Blocks blocks = [] {
    Blocks b;
    b.load = engine::RegisterCounterBlock(kLoadCounters);
    b.load_gauges = engine::RegisterGaugeBlock(kLoadGauges);
    b.flood = engine::RegisterCounterBlock(kFloodCounters);
    b.serve = engine::RegisterCounterBlock(kServeCounters);
    return b;
  }();
  return blocks;
}

}  // namespace

void RegisterCounters() { Registered(); }

size_t CounterIndex(LoadCounter c) {
  return Registered().load + static_cast<size_t>(c);
}

size_t CounterIndex(FloodCounter c) {
  return Registered().flood + static_cast<size_t>(c);
}

size_t CounterIndex(ServeCounter c) {
  return Registered().serve + static_cast<size_t>(c);
}

size_t GaugeIndex(LoadGauge g) {
  return Registered().load_gauges + static_cast<size_t>(g);
}

}  // namespace synwave::app
