#include "engine/counters.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace synwave::engine {
namespace {

// The names of every registered counter and gauge, the engine's first.
// The vectors are reserved to their maximum at construction, so a
// string_view handed out stays valid while blocks are appended.
struct Registry {
  std::mutex mu;  // registration only; readers run after start-up
  std::vector<std::string> name;
  std::vector<std::string> help;
  std::vector<std::string> gauge;
  std::vector<std::string> gauge_help;

  Registry() {
    name.reserve(kMaxCounters);
    help.reserve(kMaxCounters);
    gauge.reserve(kMaxGauges);
    gauge_help.reserve(kMaxGauges);
    name.resize(kNumEngineCounters);
    help.resize(kNumEngineCounters);
    size_t i = 0;
#define SYNWAVE_X(e, n, h) \
  name[i] = n;             \
  help[i] = h;             \
  ++i;
    SYNWAVE_ENGINE_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
    for (int v = 1; v < wire::kNumVerdicts; ++v) {
      const auto verdict = static_cast<wire::Verdict>(v);
      name[WireDropIndex(verdict)] =
          "drop_" + std::string(wire::VerdictName(verdict));
      help[WireDropIndex(verdict)] = wire::VerdictHelp(verdict);
    }
    for (size_t m = 0; m < tcp::kNumMibs; ++m) {
      name[kTcpMibBase + m] = std::string(tcp::MibName(static_cast<tcp::Mib>(m)));
      help[kTcpMibBase + m] = tcp::MibHelp(static_cast<tcp::Mib>(m));
    }
    for (size_t d = 1; d < tcp::kNumDrops; ++d) {
      name[kTcpDropBase + d] =
          "drop_" + std::string(tcp::DropName(static_cast<tcp::Drop>(d)));
      help[kTcpDropBase + d] = tcp::DropHelp(static_cast<tcp::Drop>(d));
    }
    i = kNdBase;
#define SYNWAVE_X(e, n, h) \
  name[i] = n;             \
  help[i] = h;             \
  ++i;
    SYNWAVE_ND_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
    gauge.resize(kNumEngineGauges);
    gauge_help.resize(kNumEngineGauges);
    size_t g = 0;
#define SYNWAVE_X(e, n, h) \
  gauge_help[g] = h;       \
  gauge[g++] = n;
    SYNWAVE_ENGINE_GAUGES(SYNWAVE_X)
#undef SYNWAVE_X
    for (int s = 0; s < tcp::kNumTcpStates; ++s) {
      const auto state = static_cast<tcp::TcpState>(s);
      gauge[StateGaugeIndex(state)] = std::string(tcp::StateName(state));
      gauge_help[StateGaugeIndex(state)] =
          "connections in " + std::string(tcp::StateName(state));
    }
  }
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

[[noreturn]] void Fail(const char* what, std::string_view name) {
  std::fprintf(stderr, "synwave: counter registry: %s '%.*s'\n", what,
               static_cast<int>(name.size()), name.data());
  std::abort();
}

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  for (const std::string& n : names) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace

size_t RegisterCounterBlock(std::span<const CounterInfo> counters) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  const size_t first = r.name.size();
  for (const CounterInfo& c : counters) {
    if (r.name.size() == kMaxCounters) Fail("no room for counter", c.name);
    if (c.name.empty() || Contains(r.name, c.name)) {
      Fail("empty or duplicate counter name", c.name);
    }
    r.name.emplace_back(c.name);
    r.help.emplace_back(c.help);
  }
  return first;
}

size_t RegisterGaugeBlock(std::span<const CounterInfo> gauges) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  const size_t first = r.gauge.size();
  for (const CounterInfo& g : gauges) {
    if (r.gauge.size() == kMaxGauges) Fail("no room for gauge", g.name);
    if (g.name.empty() || Contains(r.gauge, g.name)) {
      Fail("empty or duplicate gauge name", g.name);
    }
    r.gauge.emplace_back(g.name);
    r.gauge_help.emplace_back(g.help);
  }
  return first;
}

size_t NumCounters() { return GetRegistry().name.size(); }
size_t NumGauges() { return GetRegistry().gauge.size(); }

std::string_view CounterName(size_t index) {
  const Registry& r = GetRegistry();
  return index < r.name.size() ? std::string_view(r.name[index])
                               : std::string_view();
}

std::string_view CounterHelp(size_t index) {
  const Registry& r = GetRegistry();
  return index < r.help.size() ? std::string_view(r.help[index])
                               : std::string_view();
}

std::string_view GaugeName(size_t index) {
  const Registry& r = GetRegistry();
  return index < r.gauge.size() ? std::string_view(r.gauge[index])
                                : std::string_view();
}

std::string_view GaugeHelp(size_t index) {
  const Registry& r = GetRegistry();
  return index < r.gauge_help.size() ? std::string_view(r.gauge_help[index])
                                     : std::string_view();
}

}  // namespace synwave::engine
