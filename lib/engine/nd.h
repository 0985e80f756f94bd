// NeighborDiscovery: one core's IPv6 control plane on its link, the twin of
// what the worker and its Link do for IPv4 with ARP and ICMP echo.
//
// It owns the worker's IPv6 addresses (the global one from --ip, the
// link-local one made from the MAC by modified EUI-64, and ranges claimed
// for a stack's or an application's TCP, like LocalAddresses for IPv4), and
// for them it:
//   - answers Neighbor Solicitations (RFC 4861 7.2.4), address probes of
//     duplicate address detection included (to all-nodes, RFC 4862 5.4.3);
//   - answers ICMPv6 echo requests (RFC 4443 4.2), to a unicast address of
//     ours or to all-nodes;
//   - resolves next hops with solicitations to the target's solicited-node
//     group (RFC 4861 7.2.2), into a Neighbor6Table that expires and is
//     refreshed as the IPv4 one is, with the gateway kept resolved;
//   - says which IPv6 multicast MACs the link must accept (all-nodes and
//     the solicited-node groups of our addresses), so that the worker's L2
//     filter passes them and the port can be told (port::AcceptMulticast).
// Replies are written over the received mbuf; only a solicitation we
// originate allocates one. Frames reach it from the worker's stage 2
// (Classify: is this IPv6 frame ours, and who takes its TCP) and stage 3
// (HandleIcmp6); everything it drops is counted by name, in a counter
// block of its own (NdCounter) that the worker publishes only when there
// is IPv6, so that the IPv4 path publishes nothing more.
//
// Single-threaded, per core; no allocation after construction.
#ifndef SYNWAVE_ENGINE_ND_H_
#define SYNWAVE_ENGINE_ND_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/counters.h"
#include "engine/link.h"
#include "engine/neighbor.h"
#include "wire/addresses.h"
#include "wire/parse.h"

struct rte_mbuf;

namespace synwave::engine {

// RFC 4291 2.5.1 and appendix A, RFC 4862 5.3: fe80::/64 with the modified
// EUI-64 interface identifier of `mac` (ff:fe in the middle, the
// universal/local bit flipped).
wire::Ipv6Address LinkLocalFromMac(const wire::MacAddress& mac);

// The multicast MACs a link with these unicast addresses must accept:
// all-nodes (33:33:00:00:00:01) and each address's solicited-node group,
// without repeats.
std::vector<wire::MacAddress> Ipv6MulticastMacs(
    const std::vector<wire::Ipv6Address>& addresses);

struct NdConfig {
  wire::Ipv6Prefix ip;                        // our global address, prefix
  std::optional<wire::Ipv6Address> gateway;   // link-local or on-prefix
  wire::MacAddress mac;                       // the port's
  size_t neighbor_capacity = 64;              // entries
  uint64_t neighbor_reachable_ns = 60'000'000'000;
  uint64_t neighbor_retry_ns = 1'000'000'000;  // between solicitations
  uint64_t housekeeping_ns = 100'000'000;      // expiry/refresh period
};

class NeighborDiscovery {
 public:
  // Owners, as LocalAddresses names them.
  static constexpr uint8_t kStack = 0xfd;
  static constexpr uint8_t kNoOwner = 0xfe;
  static constexpr uint8_t kNotLocal = 0xff;
  // Address ranges at most: ours (global, link-local) and claims.
  static constexpr int kMaxRanges = 8;
  // Multicast MACs the L2 filter holds; more claimed single addresses make
  // it accept every solicited-node MAC (the target is checked anyway).
  static constexpr int kMaxGroupMacs = 8;

  // Our global and link-local addresses are added with `tcp_owner`.
  NeighborDiscovery(const NdConfig& config, uint8_t tcp_owner, Link* link,
                    CounterDeltas* deltas);
  NeighborDiscovery(const NeighborDiscovery&) = delete;
  NeighborDiscovery& operator=(const NeighborDiscovery&) = delete;

  const wire::Ipv6Address& address() const { return config_.ip.address; }
  const wire::Ipv6Address& link_local() const { return link_local_; }

  // Makes [first, last] (inclusive, numeric order) local, owned by `owner`
  // (an application's slot, kStack or kNoOwner). Claims of applications
  // are searched before the worker's own addresses. With `answer_nd`
  // false the range only routes TCP: solicitations and echo requests for
  // it are not answered. False when the table is full or the range empty.
  bool AddLocal(const wire::Ipv6Address& first, const wire::Ipv6Address& last,
                uint8_t owner, bool answer_nd = true);

  // The owner of unicast `ip`'s TCP, or kNotLocal.
  uint8_t Find(const wire::Ipv6Address& ip) const;
  // Ours to answer solicitations and echo requests for.
  bool IsLocal(const wire::Ipv6Address& ip) const;

  // The L2 filter, for a destination MAC that is neither ours nor
  // broadcast: true for all-nodes and our solicited-node groups.
  bool AcceptsMac(const wire::MacAddress& dst) const;

  // Stage 2 for a frame the parser accepted as IPv6 (`info.family`):
  // ICMPv6 to one of our addresses, to all-nodes or to one of our
  // solicited-node groups gives kNoOwner (HandleIcmp6 takes it); TCP
  // gives its destination's owner. Otherwise counts the frame as
  // drop_ipv6_not_for_us and returns kNotLocal; the caller frees it.
  uint8_t Classify(const uint8_t* frame, const wire::PacketInfo& info);

  // Stage 3 for an ICMPv6 frame Classify accepted: solicitations for our
  // addresses answered, advertisements learnt, echo requests answered, the
  // rest counted and dropped. Takes `m`.
  void HandleIcmp6(rte_mbuf* m, const wire::PacketInfo& info,
                   uint64_t now_ns);

  // The address a packet to `dst` goes to on the link: dst itself when it
  // is link-local or on our prefix, else the gateway (nullopt: none).
  std::optional<wire::Ipv6Address> NextHop(const wire::Ipv6Address& dst) const;
  // The MAC of dst's next hop, or nullptr while it is being resolved (a
  // solicitation goes out, at most once per retry interval).
  const wire::MacAddress* ResolveNextHop(const wire::Ipv6Address& dst,
                                         uint64_t now_ns);

  // Expiry and keeping the gateway resolved, once per housekeeping period.
  void Tick(uint64_t now_ns) {
    if (now_ns >= next_housekeeping_ns_) Housekeeping(now_ns);
  }

  const Neighbor6Table& neighbors() const { return neighbors_; }
  Neighbor6Table& neighbors() { return neighbors_; }

  // Stores its counters (the NdCounter block) into `counters`; the worker
  // calls it when it publishes.
  void Publish(CoreCounters& counters) const;
  uint64_t count(NdCounter c) const {
    return counts_[static_cast<size_t>(c)];
  }

  // The multicast MACs this worker accepts now (for the port's filter).
  std::vector<wire::MacAddress> GroupMacs() const;

 private:
  struct Range {
    wire::Ipv6Address first;
    wire::Ipv6Address last;
    uint8_t owner;
    bool answer_nd;
  };

  void Housekeeping(uint64_t now_ns);
  void SendSolicitation(const wire::Ipv6Address& target);
  void HandleSolicitation(rte_mbuf* m, const wire::PacketInfo& info,
                          uint64_t now_ns);
  void HandleAdvertisement(rte_mbuf* m, const wire::PacketInfo& info,
                           uint64_t now_ns);
  void HandleEchoRequest(rte_mbuf* m, const wire::PacketInfo& info);
  void AddGroupMac(const wire::Ipv6Address& unicast);
  void Drop(rte_mbuf* m) { link_->Free(m); }
  void Count(NdCounter c, uint64_t n = 1) {
    counts_[static_cast<size_t>(c)] += n;
  }

  NdConfig config_;
  wire::Ipv6Address link_local_;
  Link* link_;
  CounterDeltas* deltas_;
  Neighbor6Table neighbors_;
  uint64_t next_housekeeping_ns_ = 0;
  Range ranges_[kMaxRanges];
  int num_ranges_ = 0;
  wire::MacAddress group_macs_[kMaxGroupMacs];
  int num_group_macs_ = 0;
  bool any_solicited_node_ = false;  // too many claims for the list
  uint64_t counts_[kNumNdCounters] = {};  // since start, published as is
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_ND_H_
