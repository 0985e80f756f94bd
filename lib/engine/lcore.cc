#include "engine/lcore.h"

#include <rte_launch.h>

#include "engine/clock.h"

namespace synwave::engine {
namespace {

int RunSlot(void* arg) {
  const auto* slot = static_cast<const LcoreSlot*>(arg);
  if (slot->workers.size() == 1) {
    slot->workers[0]->Run(*slot->stop);
    return 0;
  }
  const TscClock clock;
  while (!slot->stop->load(std::memory_order_relaxed)) {
    for (Worker* w : slot->workers) w->PollOnce(clock.NowNs());
  }
  return 0;
}

}  // namespace

void LaunchSlots(std::vector<LcoreSlot>& slots, const std::atomic<bool>& stop) {
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].workers.empty()) continue;
    slots[i].stop = &stop;
    rte_eal_remote_launch(RunSlot, &slots[i], static_cast<unsigned>(i + 1));
  }
}

void WaitForSlots() { rte_eal_mp_wait_lcore(); }

}  // namespace synwave::engine
