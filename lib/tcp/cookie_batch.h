// CookieBatch: the SYN cookies a burst needs, prepared together before the
// state machine runs (TcpStack::PrepareCookies hashes them in vector
// lanes), and taken one by one by the handlers of the segments they
// belong to. Part of TcpStack's listener concern (listener.cc).
#ifndef SYNWAVE_TCP_COOKIE_BATCH_H_
#define SYNWAVE_TCP_COOKIE_BATCH_H_

#include <cstdint>

#include "flow/flow_key.h"
#include "tcp/syncookie.h"

namespace synwave::tcp {

struct CookieBatch {
  // A handful is cheaper one at a time (a vector group costs about half
  // its width in single cookies), so fewer than kMin are not prepared.
  static constexpr uint32_t kSize = 64;
  static constexpr uint32_t kMin = 4;

  // The prepared job of the segment at burst position `at`, if there is
  // one of kind `op` for the slot `slot_counter`: its index, else -1. Jobs
  // are in segment order, so each is looked at once per burst.
  int Take(uint16_t at, SynCookies::Op op, uint32_t slot_counter) {
    while (next < n && pos[next] < at) ++next;
    if (next >= n || pos[next] != at || jobs[next].op != op ||
        slot_counter != counter) {
      return -1;
    }
    return static_cast<int>(next++);
  }

  flow::FlowKey keys[kSize];
  flow::FlowKey6 keys6[kSize];
  SynCookies::Job jobs[kSize];
  uint16_t pos[kSize];    // the job's segment (TcpStack::reply_to_)
  uint32_t value[kSize];  // the cookie, or the checked MSS
  uint32_t aux[kSize];
  uint32_t n = 0;
  uint32_t next = 0;
  uint32_t counter = 0;   // the cookie slot they were made for
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_COOKIE_BATCH_H_
