// LocalAddresses: a worker's local IPv4 addresses, each range naming who
// takes the TCP frames addressed to it.
//
// A worker answers ARP and ICMP echo for, and accepts, every address in the
// table; the owner decides where TCP goes: the worker's TCP stack, an
// application that takes raw TCP frames (a SYN flood's spoofed sources, a
// SYN proxy's VIP and backend-side addresses), or nobody (counted as
// drop_tcp_no_handler). One lookup per received frame replaces per-use
// tests ("is this the flood's range?", "is there a stack?"), so the
// per-packet path has no branch for any particular application.
//
// A handful of ranges at most, so a linear scan in priority order:
// applications' claims come before the worker's own addresses (a claim
// takes its addresses' TCP away from the stack), and within each group the
// first range added wins. Each test is one unsigned compare, and a last
// range that holds every address (owner kNotLocal) ends the scan, so there
// is no bound check: the worker's own address, added first, costs a
// handful of instructions per frame. Pure: no DPDK.
#ifndef SYNWAVE_ENGINE_LOCAL_ADDRESSES_H_
#define SYNWAVE_ENGINE_LOCAL_ADDRESSES_H_

#include <cstdint>

namespace synwave::engine {

class LocalAddresses {
 public:
  // Owners: an application's slot (0 .. kMaxApps - 1 of its worker), or:
  static constexpr uint8_t kStack = 0xfd;     // the worker's TCP stack
  static constexpr uint8_t kNoOwner = 0xfe;   // local, but no TCP handler
  static constexpr uint8_t kNotLocal = 0xff;  // Find: not one of ours
  static constexpr uint32_t kCapacity = 8;

  // Adds [first, last] (host order, inclusive) for `owner`. Ranges owned by
  // an application go before those of kStack and kNoOwner. False when the
  // table is full, the range is empty or the owner is kNotLocal. A range
  // added with `answer_arp` false only routes TCP to its owner (a SYN
  // proxy's backend side takes frames for its clients' addresses): it is
  // not local to IsLocal, so ARP and ICMP echo for it are not answered.
  bool Add(uint32_t first, uint32_t last, uint8_t owner,
           bool answer_arp = true) {
    if (size_ == kCapacity || last < first || owner == kNotLocal) return false;
    uint32_t at = size_;
    if (owner != kStack && owner != kNoOwner) {
      at = 0;
      while (at < size_ && ranges_[at].owner != kStack &&
             ranges_[at].owner != kNoOwner) {
        ++at;
      }
    }
    for (uint32_t i = size_ + 1; i > at; --i) ranges_[i] = ranges_[i - 1];
    ranges_[at] = Range{first, last - first, owner, answer_arp};
    ++size_;
    return true;
  }

  // The owner of `ip` (host order), or kNotLocal.
  uint8_t Find(uint32_t ip) const {
    const Range* r = ranges_;
    while (ip - r->first > r->span) ++r;  // the last range holds every ip
    return r->owner;
  }
  // Ours to answer ARP and ICMP echo for (ranges added with answer_arp).
  bool IsLocal(uint32_t ip) const {
    for (uint32_t i = 0; i < size_; ++i) {
      if (ranges_[i].answer_arp && ip - ranges_[i].first <= ranges_[i].span) {
        return true;
      }
    }
    return false;
  }

  uint32_t size() const { return size_; }

 private:
  struct Range {
    uint32_t first;
    uint32_t span;  // last - first: one unsigned compare tests membership
    uint8_t owner;
    bool answer_arp;
  };
  // size_ ranges, then the catch-all that ends every scan.
  Range ranges_[kCapacity + 1] = {{0, 0xffffffff, kNotLocal, false}};
  uint32_t size_ = 0;
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_LOCAL_ADDRESSES_H_
