#include "engine/neighbor.h"

namespace synwave::engine {

template <typename Address>
BasicNeighborTable<Address>::BasicNeighborTable(size_t capacity,
                                                uint64_t reachable_ns,
                                                uint64_t retry_ns)
    : entries_(capacity), reachable_ns_(reachable_ns), retry_ns_(retry_ns) {}

template <typename Address>
typename BasicNeighborTable<Address>::Entry* BasicNeighborTable<Address>::Find(
    AddressArg ip) {
  for (size_t i = 0; i < size_; ++i) {
    if (entries_[i].ip == ip) return &entries_[i];
  }
  return nullptr;
}

template <typename Address>
const typename BasicNeighborTable<Address>::Entry*
BasicNeighborTable<Address>::Find(AddressArg ip) const {
  return const_cast<BasicNeighborTable*>(this)->Find(ip);
}

template <typename Address>
typename BasicNeighborTable<Address>::Entry* BasicNeighborTable<Address>::Add(
    AddressArg ip) {
  if (size_ == entries_.size()) return nullptr;
  Entry& e = entries_[size_++];
  e = Entry{};
  e.ip = ip;
  return &e;
}

template <typename Address>
typename BasicNeighborTable<Address>::LearnResult
BasicNeighborTable<Address>::Learn(AddressArg ip, const wire::MacAddress& mac,
                                   uint64_t now_ns) {
  LearnResult result = LearnResult::kUpdated;
  Entry* e = Find(ip);
  if (e == nullptr) {
    e = Add(ip);
    if (e == nullptr) return LearnResult::kTableFull;
    result = LearnResult::kAdded;
  } else if (!e->resolved) {
    result = LearnResult::kAdded;  // first answer to our request
  }
  e->mac = mac;
  e->resolved = true;
  e->confirmed_ns = now_ns;
  return result;
}

template <typename Address>
bool BasicNeighborTable<Address>::Merge(AddressArg ip,
                                        const wire::MacAddress& mac,
                                        uint64_t now_ns) {
  Entry* e = Find(ip);
  if (e == nullptr) return false;
  e->mac = mac;
  e->resolved = true;
  e->confirmed_ns = now_ns;
  return true;
}

template <typename Address>
const wire::MacAddress* BasicNeighborTable<Address>::Lookup(
    AddressArg ip, uint64_t now_ns) const {
  const Entry* e = Find(ip);
  if (e == nullptr || Expired(*e, now_ns)) return nullptr;
  return &e->mac;
}

template <typename Address>
bool BasicNeighborTable<Address>::ShouldRequest(AddressArg ip,
                                                uint64_t now_ns) {
  Entry* e = Find(ip);
  if (e == nullptr) {
    e = Add(ip);
    if (e == nullptr) return false;
  } else if (e->resolved &&
             now_ns - e->confirmed_ns < reachable_ns_ - reachable_ns_ / 4) {
    return false;  // fresh
  }
  if (e->request_sent && now_ns - e->requested_ns < retry_ns_) return false;
  e->request_sent = true;
  e->requested_ns = now_ns;
  return true;
}

template <typename Address>
size_t BasicNeighborTable<Address>::Expire(uint64_t now_ns) {
  size_t removed = 0;
  for (size_t i = 0; i < size_;) {
    const Entry& e = entries_[i];
    const bool pending = e.request_sent && now_ns - e.requested_ns < retry_ns_;
    if (Expired(e, now_ns) && !pending) {
      entries_[i] = entries_[--size_];  // order does not matter
      ++removed;
    } else {
      ++i;
    }
  }
  return removed;
}

template class BasicNeighborTable<wire::Ipv4Address>;
template class BasicNeighborTable<wire::Ipv6Address>;

}  // namespace synwave::engine
