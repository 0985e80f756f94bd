// A listening socket's queues: how many SYN-queue entries it holds, and its
// accept queue of established connections the application has not taken
// yet (Linux's listen() backlog).
//
// The SYN-queue entries themselves (HalfOpen) live in the stack's pool,
// shared by all listeners; a listener only counts its own against its
// syn_backlog. The accept queue is a fixed ring of connection ids, sized
// once from the config; an id whose connection ended while it waited is
// skipped when it is popped.
#ifndef SYNWAVE_TCP_LISTENER_H_
#define SYNWAVE_TCP_LISTENER_H_

#include <cstdint>
#include <vector>

#include "tcp/tcb.h"
#include "wire/addresses.h"

namespace synwave::tcp {

struct Listener {
  uint32_t ip = 0;                   // 0: any of our addresses
  uint16_t port = 0;
  bool ipv6 = false;                 // an IPv6 listener: ip6, not ip
  wire::Ipv6Address ip6;             // ::: any of our addresses
  uint32_t syn_count = 0;            // half-open entries of this listener
  std::vector<ConnId> accept_queue;  // ring of established, not accepted
  uint32_t aq_head = 0;
  uint32_t aq_count = 0;

  bool AcceptQueueFull() const { return aq_count == accept_queue.size(); }
  void Push(ConnId id) {
    accept_queue[(aq_head + aq_count) % accept_queue.size()] = id;
    ++aq_count;
  }
  ConnId Pop() {
    const ConnId id = accept_queue[aq_head];
    aq_head = (aq_head + 1) % accept_queue.size();
    --aq_count;
    return id;
  }
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_LISTENER_H_
