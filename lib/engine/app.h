// AppOps: how a per-core application plugs into a Worker.
//
// An application is a context and up to four plain function pointers: one
// indirect call per hook, no virtual dispatch, no std::function. A worker
// runs a short list of them (Worker::AddApp), and hands each its Link (the
// next-hop and transmit interface), never itself:
//   on_event   the TCP stack's events (accepted, connected, data, peer
//              closed, sent, closed), for the one application that uses
//              the worker's stack (a responder, a generator). They come
//              after the whole burst was processed, so that what it sends
//              (a response) leaves in the same tx burst as the ACK it
//              piggybacks.
//   on_poll    once per loop iteration, after the events: a generator
//              opens connections there, a flood sends its SYNs. The stack's
//              application polls before the stack's flush (what it queued
//              leaves in this burst), the others after it, in the order
//              they were added. `stack` is null on a worker without one.
//   on_frames  raw TCP frames (mbufs with their parsed headers) addressed
//              to local addresses the application claimed
//              (Worker::ClaimAddresses), a burst at a time. The mbufs are
//              the application's: it transmits them on the link (rewritten
//              in place, as a SYN proxy would) or frees them (Link::Free).
//   on_publish when the worker publishes its counters: the application
//              stores its own (its registered block) into the same set.
#ifndef SYNWAVE_ENGINE_APP_H_
#define SYNWAVE_ENGINE_APP_H_

#include <cstdint>

#include "engine/counters.h"
#include "tcp/stack.h"
#include "wire/parse.h"

struct rte_mbuf;

namespace synwave::engine {

class Link;

struct AppOps {
  void* ctx = nullptr;
  void (*on_event)(void* ctx, tcp::TcpStack& stack, const tcp::AppEvent& ev,
                   uint64_t now_ns) = nullptr;
  void (*on_poll)(void* ctx, Link& link, tcp::TcpStack* stack,
                  uint64_t now_ns) = nullptr;
  void (*on_frames)(void* ctx, Link& link, rte_mbuf* const* pkts,
                    const wire::PacketInfo* infos, uint16_t n,
                    uint64_t now_ns) = nullptr;
  void (*on_publish)(void* ctx, CoreCounters& counters) = nullptr;

  bool empty() const {
    return on_event == nullptr && on_poll == nullptr && on_frames == nullptr &&
           on_publish == nullptr;
  }
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_APP_H_
