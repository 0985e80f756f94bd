// NeighborTable: a small per-core IPv4 -> MAC cache with expiry, filled by
// ARP.
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
#include <vector>

#include "wire/addresses.h"

namespace synwave::engine {

class NeighborTable {
 public:
  struct Entry {
    wire::Ipv4Address ip;
    wire::MacAddress mac;
    bool resolved = false;          // false: request sent, no answer yet
    uint64_t confirmed_ns = 0;      // last ARP from this neighbour
    uint64_t requested_ns = 0;      // last ARP request we sent for it
    bool request_sent = false;
  };

  enum class LearnResult { kUpdated, kAdded, kTableFull };

  NeighborTable(size_t capacity, uint64_t reachable_ns, uint64_t retry_ns);

  // Records ip -> mac as confirmed now, adding an entry if needed.
  LearnResult Learn(wire::Ipv4Address ip, const wire::MacAddress& mac,
                    uint64_t now_ns);
  // Updates the mapping only if ip is already known (RFC 826's merge step
  // for ARP packets that are not addressed to us). Returns true if updated.
  bool Merge(wire::Ipv4Address ip, const wire::MacAddress& mac,
             uint64_t now_ns);

  // The MAC for ip, or nullptr if unknown or expired.
  const wire::MacAddress* Lookup(wire::Ipv4Address ip, uint64_t now_ns) const;

  // True when an ARP request for ip should go out now (unknown, expired or
  // due for refresh, and none sent in the last retry interval); records that
  // one is being sent. False when the table is full and ip is not in it.
  bool ShouldRequest(wire::Ipv4Address ip, uint64_t now_ns);

  // Removes entries that are expired and were not requested within the
  // retry interval. Returns how many.
  size_t Expire(uint64_t now_ns);

  size_t size() const { return size_; }
  size_t capacity() const { return entries_.size(); }

 private:
  Entry* Find(wire::Ipv4Address ip);
  const Entry* Find(wire::Ipv4Address ip) const;
  Entry* Add(wire::Ipv4Address ip);
  bool Expired(const Entry& e, uint64_t now_ns) const {
    return !e.resolved || now_ns - e.confirmed_ns >= reachable_ns_;
  }

  std::vector<Entry> entries_;  // first size_ are in use
  size_t size_ = 0;
  uint64_t reachable_ns_;
  uint64_t retry_ns_;
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_NEIGHBOR_H_
