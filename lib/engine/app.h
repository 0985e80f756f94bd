// AppOps: how a per-core application plugs into a Worker.
//
// The worker hands every TCP event of a loop iteration (accepted, data,
// peer closed, sent, closed) to on_event, after the whole burst has been
// processed, so that whatever the application sends (a response) leaves in
// the same tx burst as the ACK it piggybacks. on_poll runs once per
// iteration (a load generator opens connections there); on_publish with
// the worker's counters. Plain function
// pointers and a context: one indirect call per event, no virtual
// dispatch, no std::function.
#ifndef SYNWAVE_ENGINE_APP_H_
#define SYNWAVE_ENGINE_APP_H_

#include <cstdint>

#include "tcp/stack.h"

namespace synwave::engine {

struct AppOps {
  void* ctx = nullptr;
  void (*on_event)(void* ctx, tcp::TcpStack& stack, const tcp::AppEvent& ev,
                   uint64_t now_ns) = nullptr;
  void (*on_poll)(void* ctx, tcp::TcpStack& stack, uint64_t now_ns) = nullptr;
  // Called when the worker publishes its counters (the application stores
  // its own into the same CoreCounters).
  void (*on_publish)(void* ctx) = nullptr;
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_APP_H_
