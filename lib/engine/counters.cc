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
    for (size_t m = 0; m < tcp::kNumMibs; ++m) {
      name[kTcpMibBase + m] = std::string(tcp::MibName(static_cast<tcp::Mib>(m)));
      help[kTcpMibBase + m] = tcp::MibHelp(static_cast<tcp::Mib>(m));
    }
    for (size_t d = 1; d < tcp::kNumDrops; ++d) {
      name[kTcpDropBase + d] =
          "drop_" + std::string(tcp::DropName(static_cast<tcp::Drop>(d)));
      help[kTcpDropBase + d] = tcp::DropHelp(static_cast<tcp::Drop>(d));
    }
    size_t g = 0;
#define SYNWAVE_X(e, n, h) gauge[g++] = n;
    SYNWAVE_ENGINE_GAUGES(SYNWAVE_X)
#undef SYNWAVE_X
    for (int s = 0; s < tcp::kNumTcpStates; ++s) {
      gauge[StateGaugeIndex(static_cast<tcp::TcpState>(s))] =
          std::string(tcp::StateName(static_cast<tcp::TcpState>(s)));
    }
  }
  std::array<std::string, kNumGauges> gauge;
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

std::string_view GaugeName(size_t index) {
  return index < kNumGauges ? std::string_view(GetNames().gauge[index])
                            : std::string_view();
}

std::string_view CounterHelp(size_t index) {
  return index < kNumCounters ? GetNames().help[index] : std::string_view();
}

}  // namespace synwave::engine
