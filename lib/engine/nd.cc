#include "engine/nd.h"

#include <rte_mbuf.h>

#include <algorithm>

#include "wire/headers.h"
#include "wire/icmp6.h"

namespace synwave::engine {

using wire::Ipv6Address;
using wire::MacAddress;

Ipv6Address LinkLocalFromMac(const MacAddress& mac) {
  const auto& b = mac.bytes;
  const uint64_t iid = (uint64_t{static_cast<uint8_t>(b[0] ^ 0x02)} << 56) |
                       (uint64_t{b[1]} << 48) | (uint64_t{b[2]} << 40) |
                       (uint64_t{0xff} << 32) | (uint64_t{0xfe} << 24) |
                       (uint64_t{b[3]} << 16) | (uint64_t{b[4]} << 8) |
                       uint64_t{b[5]};
  return Ipv6Address::FromWords(0xfe80000000000000ull, iid);
}

std::vector<MacAddress> Ipv6MulticastMacs(
    const std::vector<Ipv6Address>& addresses) {
  std::vector<MacAddress> macs = {wire::kAllNodes.MulticastMac()};
  for (const Ipv6Address& a : addresses) {
    const MacAddress m = a.SolicitedNode().MulticastMac();
    if (std::find(macs.begin(), macs.end(), m) == macs.end()) {
      macs.push_back(m);
    }
  }
  return macs;
}

NeighborDiscovery::NeighborDiscovery(const NdConfig& config,
                                     uint8_t tcp_owner, Link* link,
                                     CounterDeltas* deltas)
    : config_(config),
      link_local_(LinkLocalFromMac(config.mac)),
      link_(link),
      deltas_(deltas),
      neighbors_(config.neighbor_capacity, config.neighbor_reachable_ns,
                 config.neighbor_retry_ns) {
  group_macs_[num_group_macs_++] = wire::kAllNodes.MulticastMac();
  AddLocal(config_.ip.address, config_.ip.address, tcp_owner);
  AddLocal(link_local_, link_local_, tcp_owner);
}

bool NeighborDiscovery::AddLocal(const Ipv6Address& first,
                                 const Ipv6Address& last, uint8_t owner,
                                 bool answer_nd) {
  if (num_ranges_ == kMaxRanges || last < first || owner == kNotLocal) {
    return false;
  }
  // Applications' claims first, then the worker's own addresses; within
  // each, the first added wins (LocalAddresses' order).
  int at = num_ranges_;
  if (owner != kStack && owner != kNoOwner) {
    at = 0;
    while (at < num_ranges_ && ranges_[at].owner != kStack &&
           ranges_[at].owner != kNoOwner) {
      ++at;
    }
  }
  for (int i = num_ranges_; i > at; --i) ranges_[i] = ranges_[i - 1];
  ranges_[at] = Range{first, last, owner, answer_nd};
  ++num_ranges_;
  if (answer_nd) {
    if (first == last) {
      AddGroupMac(first);
    } else {
      any_solicited_node_ = true;  // a range: too many groups to list
    }
  }
  return true;
}

void NeighborDiscovery::AddGroupMac(const Ipv6Address& unicast) {
  const MacAddress m = unicast.SolicitedNode().MulticastMac();
  for (int i = 0; i < num_group_macs_; ++i) {
    if (group_macs_[i] == m) return;
  }
  if (num_group_macs_ == kMaxGroupMacs) {
    any_solicited_node_ = true;
    return;
  }
  group_macs_[num_group_macs_++] = m;
}

std::vector<MacAddress> NeighborDiscovery::GroupMacs() const {
  return std::vector<MacAddress>(group_macs_, group_macs_ + num_group_macs_);
}

uint8_t NeighborDiscovery::Find(const Ipv6Address& ip) const {
  for (int i = 0; i < num_ranges_; ++i) {
    if (!(ip < ranges_[i].first) && !(ranges_[i].last < ip)) {
      return ranges_[i].owner;
    }
  }
  return kNotLocal;
}

bool NeighborDiscovery::IsLocal(const Ipv6Address& ip) const {
  for (int i = 0; i < num_ranges_; ++i) {
    if (ranges_[i].answer_nd && !(ip < ranges_[i].first) &&
        !(ranges_[i].last < ip)) {
      return true;
    }
  }
  return false;
}

bool NeighborDiscovery::AcceptsMac(const MacAddress& dst) const {
  const auto& b = dst.bytes;
  if (b[0] != 0x33 || b[1] != 0x33) return false;
  if (any_solicited_node_ && b[2] == 0xff) return true;
  for (int i = 0; i < num_group_macs_; ++i) {
    if (group_macs_[i] == dst) return true;
  }
  return false;
}

uint8_t NeighborDiscovery::Classify(const uint8_t* frame,
                                    const wire::PacketInfo& info) {
  const Ipv6Address dst = wire::Ipv6Dst(frame, info);
  if (info.kind == wire::PacketKind::kIcmp6) {
    if (!dst.IsMulticast()) {
      if (Find(dst) != kNotLocal) return kNoOwner;
    } else if (dst == wire::kAllNodes) {
      return kNoOwner;
    } else if (dst.IsSolicitedNodeMulticast()) {
      // One of our groups? (A range may hold any; HandleIcmp6 checks the
      // target.)
      for (int i = 0; i < num_ranges_; ++i) {
        const Range& r = ranges_[i];
        if (r.answer_nd &&
            (!(r.first == r.last) || r.first.SolicitedNode() == dst)) {
          return kNoOwner;
        }
      }
    }
  } else if (!dst.IsMulticast()) {  // TCP
    const uint8_t owner = Find(dst);
    if (owner != kNotLocal) return owner;
  }
  Count(NdCounter::kDropNotForUs);
  return kNotLocal;
}

void NeighborDiscovery::HandleIcmp6(rte_mbuf* m, const wire::PacketInfo& info,
                                    uint64_t now_ns) {
  const uint8_t type = rte_pktmbuf_mtod(m, const uint8_t*)[info.l4_offset];
  switch (type) {
    case wire::kIcmpv6NeighborSolicitation:
      HandleSolicitation(m, info, now_ns);
      return;
    case wire::kIcmpv6NeighborAdvertisement:
      HandleAdvertisement(m, info, now_ns);
      return;
    case wire::kIcmpv6EchoRequest:
      HandleEchoRequest(m, info);
      return;
    default:  // an echo reply: we send no requests
      Count(NdCounter::kDropIcmp6NotEcho);
      Drop(m);
      return;
  }
}

void NeighborDiscovery::HandleSolicitation(rte_mbuf* m,
                                           const wire::PacketInfo& info,
                                           uint64_t now_ns) {
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  const auto* ns = reinterpret_cast<const wire::NeighborSolicitation*>(
      frame + info.l4_offset);
  const Ipv6Address target = ns->Target();
  const size_t room = m->buf_len - m->data_off;
  if (!IsLocal(target) || room < wire::kNdFrameMaxLength) {
    Count(NdCounter::kDropNdNotForUs);
    Drop(m);
    return;
  }
  // RFC 4861 7.2.3: the solicitation's source link-layer address creates
  // or updates its entry (an address probe from :: has neither).
  const Ipv6Address src = wire::Ipv6Src(frame, info);
  if (!src.IsUnspecified() && info.nd_link_address_offset != 0) {
    const MacAddress sll =
        MacAddress::FromBytes(frame + info.nd_link_address_offset);
    if (!sll.IsMulticast() && !sll.IsZero()) {
      switch (neighbors_.Learn(src, sll, now_ns)) {
        case Neighbor6Table::LearnResult::kAdded:
          Count(NdCounter::kNeighborsLearned);
          break;
        case Neighbor6Table::LearnResult::kUpdated:
          break;
        case Neighbor6Table::LearnResult::kTableFull:
          deltas_->Add(Counter::kDropNeighborTableFull);
          break;
      }
    }
  }
  Count(NdCounter::kSolicitationsIn);
  // The advertisement is written over the solicitation (the spec is read
  // from it first).
  const wire::NdSpec na = wire::AdvertisementFor(frame, info, config_.mac);
  const auto len =
      static_cast<uint16_t>(wire::WriteNeighborAdvertisement(frame, na));
  m->data_len = len;
  m->pkt_len = len;
  m->ol_flags = 0;
  Count(NdCounter::kAdvertisementsOut);
  link_->Transmit(m);
}

void NeighborDiscovery::HandleAdvertisement(rte_mbuf* m,
                                            const wire::PacketInfo& info,
                                            uint64_t now_ns) {
  const uint8_t* frame = rte_pktmbuf_mtod(m, const uint8_t*);
  const auto* na = reinterpret_cast<const wire::NeighborAdvertisement*>(
      frame + info.l4_offset);
  const Ipv6Address target = na->Target();
  if (IsLocal(target)) {
    // Another host claims one of our addresses (ours do not come back).
    Count(NdCounter::kDropNdConflict);
    Drop(m);
    return;
  }
  // RFC 4861 7.2.5: only an entry we hold is updated; without the target's
  // link-layer address an unresolved one learns nothing.
  bool updated = false;
  if (info.nd_link_address_offset != 0) {
    const MacAddress tll =
        MacAddress::FromBytes(frame + info.nd_link_address_offset);
    const bool was_resolved = neighbors_.Lookup(target, now_ns) != nullptr;
    if (!tll.IsMulticast() && !tll.IsZero() &&
        neighbors_.Merge(target, tll, now_ns)) {
      updated = true;
      if (!was_resolved) Count(NdCounter::kNeighborsLearned);
    }
  }
  Count(updated ? NdCounter::kAdvertisementsIn
                : NdCounter::kDropNdNotForUs);
  Drop(m);
}

void NeighborDiscovery::HandleEchoRequest(rte_mbuf* m,
                                          const wire::PacketInfo& info) {
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  const Ipv6Address dst = wire::Ipv6Dst(frame, info);
  Ipv6Address from = dst;
  if (dst.IsMulticast()) {
    // To a group we are in: answered from the address of our scope that
    // matches the sender's.
    from = wire::Ipv6Src(frame, info).IsLinkLocal() ? link_local_
                                                    : config_.ip.address;
  } else if (!IsLocal(dst)) {  // a range that only routes TCP
    Count(NdCounter::kDropNotForUs);
    Drop(m);
    return;
  }
  Count(NdCounter::kEchoIn);
  const auto len = static_cast<uint16_t>(
      wire::WriteIcmpv6EchoReply(frame, info, from, config_.mac));
  m->data_len = len;
  m->pkt_len = len;
  m->ol_flags = 0;
  Count(NdCounter::kEchoOut);
  link_->Transmit(m);
}

std::optional<Ipv6Address> NeighborDiscovery::NextHop(
    const Ipv6Address& dst) const {
  if (dst.IsLinkLocal() || config_.ip.Contains(dst)) return dst;
  return config_.gateway;
}

const MacAddress* NeighborDiscovery::ResolveNextHop(const Ipv6Address& dst,
                                                    uint64_t now_ns) {
  const std::optional<Ipv6Address> hop = NextHop(dst);
  if (!hop) return nullptr;
  const MacAddress* mac = neighbors_.Lookup(*hop, now_ns);
  // A refresh may be due even while the entry is still usable.
  if (neighbors_.ShouldRequest(*hop, now_ns)) SendSolicitation(*hop);
  return mac;
}

// Link's IPv6 next hop, here where NeighborDiscovery is complete.
const MacAddress* Link::ResolveNextHop(const Ipv6Address& dst,
                                       uint64_t now_ns) {
  return nd_ != nullptr ? nd_->ResolveNextHop(dst, now_ns) : nullptr;
}

void NeighborDiscovery::SendSolicitation(const Ipv6Address& target) {
  rte_mbuf* m = link_->Alloc();
  if (m == nullptr) return;
  // RFC 4861 7.2.2: from an address of ours of the target's scope.
  const Ipv6Address& src =
      target.IsLinkLocal() ? link_local_ : config_.ip.address;
  const wire::NdSpec ns = wire::SolicitationFor(target, src, config_.mac);
  const auto len = static_cast<uint16_t>(
      wire::WriteNeighborSolicitation(rte_pktmbuf_mtod(m, uint8_t*), ns));
  m->data_len = len;
  m->pkt_len = len;
  Count(NdCounter::kSolicitationsOut);
  link_->Transmit(m);
}

void NeighborDiscovery::Publish(CoreCounters& counters) const {
  for (size_t i = 0; i < kNumNdCounters; ++i) {
    counters.Store(kNdBase + i, counts_[i]);
  }
}

void NeighborDiscovery::Housekeeping(uint64_t now_ns) {
  next_housekeeping_ns_ = now_ns + config_.housekeeping_ns;
  Count(NdCounter::kNeighborsExpired, neighbors_.Expire(now_ns));
  if (config_.gateway) ResolveNextHop(*config_.gateway, now_ns);
}

}  // namespace synwave::engine
