#include "engine/counters.h"

#include <array>
#include <string>

namespace synwave::engine {
namespace {

struct Names {
  std::array<std::string, kNumCounters> name;
  std::array<std::string_view, kNumCounters> help;

  Names() {
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
  }
};

const Names& GetNames() {
  static const Names* names = new Names();
  return *names;
}

}  // namespace

std::string_view CounterName(size_t index) {
  return index < kNumCounters ? std::string_view(GetNames().name[index])
                              : std::string_view();
}

std::string_view CounterHelp(size_t index) {
  return index < kNumCounters ? GetNames().help[index] : std::string_view();
}

}  // namespace synwave::engine
