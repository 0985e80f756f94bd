// What the NIC said about a received frame's checksums, from its mbuf's
// offload flags, as the parser takes it (wire::RxOffload).
#ifndef SYNWAVE_ENGINE_RX_OFFLOAD_H_
#define SYNWAVE_ENGINE_RX_OFFLOAD_H_

#include <rte_mbuf.h>

#include "wire/parse.h"

namespace synwave::engine {

inline wire::RxChecksum RxChecksumFromFlags(uint64_t flags, uint64_t mask,
                                            uint64_t good, uint64_t bad) {
  const uint64_t f = flags & mask;
  if (f == good) return wire::RxChecksum::kGood;
  if (f == bad) return wire::RxChecksum::kBad;
  return wire::RxChecksum::kUnknown;  // UNKNOWN or NONE: check in software
}

inline wire::RxOffload RxOffloadOf(const rte_mbuf* m) {
  // The two common cases first: nothing checked (a virtual port), and
  // both checksums good.
  const uint64_t f =
      m->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
  if (f == 0) return {};
  if (f == (RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD)) {
    return {wire::RxChecksum::kGood, wire::RxChecksum::kGood};
  }
  wire::RxOffload offload;
  offload.ip = RxChecksumFromFlags(m->ol_flags, RTE_MBUF_F_RX_IP_CKSUM_MASK,
                                   RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                                   RTE_MBUF_F_RX_IP_CKSUM_BAD);
  offload.l4 = RxChecksumFromFlags(m->ol_flags, RTE_MBUF_F_RX_L4_CKSUM_MASK,
                                   RTE_MBUF_F_RX_L4_CKSUM_GOOD,
                                   RTE_MBUF_F_RX_L4_CKSUM_BAD);
  return offload;
}

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_RX_OFFLOAD_H_
