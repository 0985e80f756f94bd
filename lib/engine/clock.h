// TscClock: nanoseconds from the TSC, read once per burst.
//
// The worker loop reads the clock once per iteration and passes `now` down,
// so handlers never read a clock themselves (and tests drive them with a
// virtual one). Conversion is a 64x64->128 multiply and a shift.
#ifndef SYNWAVE_ENGINE_CLOCK_H_
#define SYNWAVE_ENGINE_CLOCK_H_

#include <cstdint>

namespace synwave::engine {

class TscClock {
 public:
  TscClock();  // calibrates from rte_get_tsc_hz(); EAL must be up

  uint64_t NowNs() const;
  uint64_t hz() const { return hz_; }

 private:
  uint64_t hz_;
  uint64_t start_tsc_;
  uint64_t mult_;  // ns per tick, 32.32 fixed point
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_CLOCK_H_
