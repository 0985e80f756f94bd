#include "app/counters.h"

#include <string>
#include <vector>

#include "app/flood.h"
#include "app/generator.h"
#include "app/responder.h"
#include "app/proxy_core.h"
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
constexpr engine::CounterInfo kProxyCounters[] = {
#define SYNWAVE_X(e, name, help) {name, help},
    SYNWAVE_PROXY_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
};
constexpr engine::CounterInfo kProxyGauges[] = {
    {"proxy_flows", "proxy records in use (connecting, joined, lingering)"},
};

// proxy_backend<b>_<what> for every backend slot: names built once.
std::vector<engine::CounterInfo> ProxyBackendInfos() {
  static const char* const kWhat[][2] = {
      {"up", "1 per worker that sees the backend up"},
      {"connections", "flows the backend accepted"},
      {"open", "flows with the backend open now"},
      {"probes_ok", "health probes the backend answered"},
      {"probes_failed", "health probes refused or unanswered"},
  };
  static_assert(std::size(kWhat) ==
                static_cast<size_t>(BackendCounter::kCount));
  static std::vector<std::string>* names = new std::vector<std::string>();
  std::vector<engine::CounterInfo> infos;
  names->reserve(kMaxProxyBackends * std::size(kWhat));
  for (int b = 0; b < kMaxProxyBackends; ++b) {
    for (const auto& w : kWhat) {
      names->push_back("proxy_backend" + std::to_string(b) + "_" + w[0]);
      infos.push_back({names->back(), w[1]});
    }
  }
  return infos;
}

struct Blocks {
  size_t load;
  size_t load_gauges;
  size_t flood;
  size_t serve;
  size_t proxy;
  size_t proxy_backends;
  size_t proxy_gauges;
};

const Blocks& Registered() {
  // The order here is the order of the report: load, flood, serve, proxy.
  static const Blocks blocks = [] {
    Blocks b;
    b.load = engine::RegisterCounterBlock(kLoadCounters);
    b.load_gauges = engine::RegisterGaugeBlock(kLoadGauges);
    b.flood = engine::RegisterCounterBlock(kFloodCounters);
    b.serve = engine::RegisterCounterBlock(kServeCounters);
    b.proxy = engine::RegisterCounterBlock(kProxyCounters);
    b.proxy_backends = engine::RegisterCounterBlock(ProxyBackendInfos());
    b.proxy_gauges = engine::RegisterGaugeBlock(kProxyGauges);
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

size_t CounterIndex(ProxyCounter c) {
  return Registered().proxy + static_cast<size_t>(c);
}

size_t ProxyBackendCounterIndex(int b, BackendCounter c) {
  return Registered().proxy_backends +
         static_cast<size_t>(b) * static_cast<size_t>(BackendCounter::kCount) +
         static_cast<size_t>(c);
}

size_t ProxyFlowsGaugeIndex() { return Registered().proxy_gauges; }

size_t GaugeIndex(LoadGauge g) {
  return Registered().load_gauges + static_cast<size_t>(g);
}

}  // namespace synwave::app
