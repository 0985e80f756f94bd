// Running workers on the EAL's worker lcores.
//
// Each slot is what one lcore polls: one worker (its own loop, Worker::Run),
// or several polled in turn (synwave loopback on a single CPU runs both
// ends on one lcore). Slot i runs on worker lcore i + 1 (port/eal.h: the
// main lcore is 0). The control module starts and stops runs through these
// two calls and never touches the EAL itself.
#ifndef SYNWAVE_ENGINE_LCORE_H_
#define SYNWAVE_ENGINE_LCORE_H_

#include <atomic>
#include <vector>

#include "engine/worker.h"

namespace synwave::engine {

struct LcoreSlot {
  std::vector<Worker*> workers;
  const std::atomic<bool>* stop = nullptr;  // set by LaunchSlots
};

// Starts every non-empty slot on its lcore; each polls until `stop` is
// true. `slots` must stay in place until WaitForSlots returns.
void LaunchSlots(std::vector<LcoreSlot>& slots, const std::atomic<bool>& stop);

// Waits until every launched lcore has returned.
void WaitForSlots();

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_LCORE_H_
