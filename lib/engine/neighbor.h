// NeighborTable: a small per-core IPv4 -> MAC cache with expiry, filled by
// ARP; Neighbor6Table, the same for IPv6, for Neighbor Discovery (RFC 4861:
// solicitations and advertisements take ARP's requests and replies).
//
// An endpoint talks to few next hops (a gateway, or on-link peers), so the
// table is a fixed array searched linearly: a handful of entries fit in a few
// cache lines and the scan is cheaper than hashing. Entries are reachable for
// `reachable_ns` after they were last confirmed by an ARP packet; in the last
// quarter of that time they are still used but a refresh request is due, so a
// busy next hop never lapses. Requests for an address are sent at most once
// per `retry_ns`. No allocation after construction; time is passed in.
#ifndef SYNWAVE_ENGINE_NEIGHBOR_H_
#define SYNWAVE_ENGINE_NEIGHBOR_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "wire/addresses.h"

namespace synwave::engine {

template <typename Address>
class BasicNeighborTable {
 public:
  // By value when it fits a register (IPv4), else by reference.
  using AddressArg =
      std::conditional_t<sizeof(Address) <= 8, Address, const Address&>;

  struct Entry {
    Address ip;
    wire::MacAddress mac;
    bool resolved = false;          // false: request sent, no answer yet
    uint64_t confirmed_ns = 0;      // last ARP from this neighbour
    uint64_t requested_ns = 0;      // last ARP request we sent for it
    bool request_sent = false;
  };

  enum class LearnResult { kUpdated, kAdded, kTableFull };

  BasicNeighborTable(size_t capacity, uint64_t reachable_ns,
                     uint64_t retry_ns);

  // Records ip -> mac as confirmed now, adding an entry if needed.
  LearnResult Learn(AddressArg ip, const wire::MacAddress& mac,
                    uint64_t now_ns);
  // Updates the mapping only if ip is already known (RFC 826's merge step
  // for ARP packets that are not addressed to us). Returns true if updated.
  bool Merge(AddressArg ip, const wire::MacAddress& mac,
             uint64_t now_ns);

  // The MAC for ip, or nullptr if unknown or expired.
  const wire::MacAddress* Lookup(AddressArg ip, uint64_t now_ns) const;

  // True when an ARP request for ip should go out now (unknown, expired or
  // due for refresh, and none sent in the last retry interval); records that
  // one is being sent. False when the table is full and ip is not in it.
  bool ShouldRequest(AddressArg ip, uint64_t now_ns);

  // Removes entries that are expired and were not requested within the
  // retry interval. Returns how many.
  size_t Expire(uint64_t now_ns);

  size_t size() const { return size_; }
  size_t capacity() const { return entries_.size(); }

 private:
  Entry* Find(AddressArg ip);
  const Entry* Find(AddressArg ip) const;
  Entry* Add(AddressArg ip);
  bool Expired(const Entry& e, uint64_t now_ns) const {
    return !e.resolved || now_ns - e.confirmed_ns >= reachable_ns_;
  }

  std::vector<Entry> entries_;  // first size_ are in use
  size_t size_ = 0;
  uint64_t reachable_ns_;
  uint64_t retry_ns_;
};

// Both are compiled once, in neighbor.cc.
extern template class BasicNeighborTable<wire::Ipv4Address>;
extern template class BasicNeighborTable<wire::Ipv6Address>;

using NeighborTable = BasicNeighborTable<wire::Ipv4Address>;
using Neighbor6Table = BasicNeighborTable<wire::Ipv6Address>;

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_NEIGHBOR_H_
