// The wiring apps/synwave's files share (synwave.cc, loopback.cc): the
// workers of each mode on their ports, and the loopback's entry.
#ifndef SYNWAVE_APPS_SYNWAVE_WIRING_H_
#define SYNWAVE_APPS_SYNWAVE_WIRING_H_

#include <vector>

#include "absl/status/status.h"
#include "control/config.h"
#include "control/run.h"
#include "engine/lcore.h"

namespace synwave {

// A port's error as synwave's exit code (2: usage, 1: runtime), printed.
int PortError(const absl::Status& s);

// A worker for every queue of side.port with its applications: a
// responder for serve; for load a generator, and a flood that owns its
// spoofed sources when --flood is on.
void BuildWorkers(control::Side& side, const control::Config& config,
                  bool load);

// The proxy's workers on the client side's port and, when `backend` is
// given, the backend side's; one slot per queue (synwave.cc).
std::vector<engine::LcoreSlot> BuildProxyWorkers(control::Side& client,
                                                 control::Side* backend,
                                                 const control::Config& config,
                                                 bool handoff = true);

// synwave loopback, with or without --proxy (loopback.cc).
int Loopback(const control::Config& config);

}  // namespace synwave

#endif  // SYNWAVE_APPS_SYNWAVE_WIRING_H_
