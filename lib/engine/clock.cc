#include "engine/clock.h"

#include <rte_cycles.h>

namespace synwave::engine {

TscClock::TscClock()
    : hz_(rte_get_tsc_hz()),
      start_tsc_(rte_rdtsc()),
      mult_(static_cast<uint64_t>((static_cast<unsigned __int128>(1000000000)
                                   << 32) /
                                  hz_)) {}

uint64_t TscClock::NowNs() const {
  const uint64_t ticks = rte_rdtsc() - start_tsc_;
  return static_cast<uint64_t>(
      (static_cast<unsigned __int128>(ticks) * mult_) >> 32);
}

}  // namespace synwave::engine
