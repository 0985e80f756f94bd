// The address slots of a TcpStack's IPv6 tuples, and the design of IPv6 in
// the stack (tcp/stack.h), which these slots carry.
//
// IPv6 (TcpConfig::ipv6): the same stack serves both families. Listen,
// Connect, TupleFree and InputBurst take an IPv6 4-tuple (flow::FlowKey6) as
// well as an IPv4 one; everything else (ConnId, events, Send, Read, Close,
// the pools, the timers, the counters) is one for both, so an application
// is written once and only the calls that take an address know the family.
// The design, and why:
// - One stack, not a stack templated on the family: an application (a
//   responder serving both families, a generator with clients of both)
//   would otherwise hold and dispatch between two stack types, and every
//   file of lib/tcp would become a template. One TCB, SYN-queue and
//   TIME-WAIT pool and one ConnId space serve both, so a dual-stack server
//   sizes its pools once.
// - A second connection table keyed by FlowKey6 (flow::FlowTable6, the same
//   template as the IPv4 table, whose code and cost are unchanged), built
//   only when IPv6 is configured. The records keep their 12-byte FlowKey:
//   for an IPv6 connection its ports are the real ones and its local_ip
//   names a slot of Ipv6Tuples that holds the two addresses (remote_ip is 0).
//   The slot is taken when the tuple enters the IPv6 table and given back
//   when it leaves it, so it follows the connection from SYN-queue entry to
//   TCB to TIME-WAIT record without a copy, and the IPv6 memory (32 bytes a
//   tuple, and the table) exists only when IPv6 does.
// - A family bit in each record (tcb_flags::kIpv6, HalfOpen::ipv6,
//   TimeWaitRecord::ipv6) picks the table and the output's addresses where
//   a record is at hand; while an IPv6 burst is processed, in6_ names the
//   segment's own tuple (for replies that have no record: RST to a closed
//   port, a cookie SYN-ACK). IPv4 pays one test of that bit where a record
//   meets the table or the output, nothing per lookup (bench/ir_budget.txt).
// - OutSegment says its family (ipv6) and, for IPv6, carries both addresses,
//   so the engine builds the frame from the segment alone, as for IPv4.
// - MSS: an IPv6 connection advertises TcpConfig::mss6 (the link MTU less
//   60 bytes of headers, tcp::MssForMtu), assumes 1220 when the peer's SYN
//   gives none (RFC 8200 5: the 1280-byte minimum MTU less 60), and its
//   cookies carry the IPv6 MSS table (syncookie.h).
// - ISNs, timestamp offsets and cookies are keyed hashes of the IPv6 tuple
//   (isn.h, syncookie.h). A burst's cookies (made and checked) are hashed
//   in vector lanes for either family (SynCookies::Batch).
// - Counters stay totals (InSegs counts both families); Ipv6InSegs,
//   Ipv6OutSegs, Ipv6PassiveOpens and Ipv6ActiveOpens tell a dual-stack user
//   what share is IPv6.
#ifndef SYNWAVE_TCP_IPV6_TUPLES_H_
#define SYNWAVE_TCP_IPV6_TUPLES_H_

#include <cstdint>
#include <vector>

#include "flow/flow_key.h"
#include "flow/index_pool.h"
#include "flow/pool_memory.h"
#include "wire/addresses.h"

namespace synwave::tcp {

// One slot per tuple the IPv6 table can hold: a record's 12-byte FlowKey
// names its slot (local_ip) and carries the real ports (remote_ip is 0).
class Ipv6Tuples {
 public:
  explicit Ipv6Tuples(uint32_t capacity)
      : addresses_(capacity), ids_(capacity) {}

  // Takes a slot for `key`'s addresses and returns the record key that
  // names it; false when every slot is in use.
  bool Take(const flow::FlowKey6& key, flow::FlowKey* record_key) {
    const uint32_t slot = ids_.Alloc();
    if (slot == flow::kNoIndex) return false;
    addresses_[slot] = Addresses{key.local_ip, key.remote_ip};
    *record_key = flow::FlowKey{slot, 0, key.local_port, key.remote_port};
    return true;
  }
  // Gives back the slot `record_key` names.
  void Give(const flow::FlowKey& record_key) { ids_.Free(record_key.local_ip); }

  // The full tuple behind a record key.
  flow::FlowKey6 Key6(const flow::FlowKey& record_key) const {
    const Addresses& a = addresses_[record_key.local_ip];
    return flow::FlowKey6{a.local, a.remote, record_key.local_port,
                          record_key.remote_port};
  }
  const wire::Ipv6Address& local(const flow::FlowKey& record_key) const {
    return addresses_[record_key.local_ip].local;
  }
  const wire::Ipv6Address& remote(const flow::FlowKey& record_key) const {
    return addresses_[record_key.local_ip].remote;
  }

  uint32_t in_use() const { return ids_.in_use(); }

 private:
  struct Addresses {
    wire::Ipv6Address local;
    wire::Ipv6Address remote;
  };
  flow::PoolVector<Addresses> addresses_;
  flow::IndexPool ids_;
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_IPV6_TUPLES_H_
