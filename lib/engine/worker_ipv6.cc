// The worker's IPv6 hooks: what ParseRx and the constructor hand to
// NeighborDiscovery (engine/nd.h), kept out of worker.cc so that the IPv4
// path reads as before.
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "engine/worker.h"
#include "wire/build.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::engine {

static_assert(NeighborDiscovery::kStack == LocalAddresses::kStack);
static_assert(NeighborDiscovery::kNoOwner == LocalAddresses::kNoOwner);
static_assert(NeighborDiscovery::kNotLocal == LocalAddresses::kNotLocal);

void Worker::SetUpIpv6(const QueueBinding& queue, uint8_t tcp_owner) {
  NdConfig nc;
  nc.ip = *config_.ip6;
  nc.gateway = config_.gateway6;
  nc.mac = queue.mac;
  nc.neighbor_capacity = config_.neighbor_capacity;
  nc.neighbor_reachable_ns = config_.neighbor_reachable_ns;
  nc.neighbor_retry_ns = config_.neighbor_retry_ns;
  nc.housekeeping_ns = config_.housekeeping_ns;
  const uint8_t owner = tcp_owner;
  nd_ = std::make_unique<NeighborDiscovery>(nc, owner, &link_, &deltas_);
  link_.set_nd(nd_.get());  // applications resolve IPv6 next hops there
  if (!config_.local_ip6_first.IsUnspecified()) {
    nd_->AddLocal(config_.local_ip6_first, config_.local_ip6_last, owner);
  }
}

bool Worker::ClaimAddresses6(const wire::Ipv6Address& first,
                             const wire::Ipv6Address& last, int slot,
                             bool answer_nd) {
  if (nd_ == nullptr || slot < 0 || slot >= num_apps_ ||
      apps_[slot].on_frames == nullptr) {
    return false;
  }
  return nd_->AddLocal(first, last, static_cast<uint8_t>(slot), answer_nd);
}

uint8_t Worker::ParseRxGroup(rte_mbuf* m, wire::PacketInfo* info) {
  const auto* frame = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);  // >= an Ethernet header
  if (nd_ == nullptr || !nd_->AcceptsMac(wire::MacAddress::FromBytes(frame))) {
    deltas_.Add(Counter::kDropEthNotForUs);
    Drop(m);
    return LocalAddresses::kNotLocal;
  }
  // Checksums in software: a few control frames.
  const wire::Verdict v = wire::ParseFrame(frame, len, {}, info);
  if (v != wire::Verdict::kOk) {
    deltas_.AddDrop(v);
    Drop(m);
    return LocalAddresses::kNotLocal;
  }
  if (info->family != wire::IpFamily::kIpv6) {  // IPv4 or ARP to a group
    deltas_.Add(Counter::kDropEthNotForUs);
    Drop(m);
    return LocalAddresses::kNotLocal;
  }
  return ParseRx6(m, info);
}

uint8_t Worker::ParseRx6(rte_mbuf* m, wire::PacketInfo* info) {
  if (nd_ == nullptr) {
    deltas_.AddDrop(wire::Verdict::kIpv6Disabled);
    Drop(m);
    return LocalAddresses::kNotLocal;
  }
  const uint8_t owner =
      nd_->Classify(rte_pktmbuf_mtod(m, const uint8_t*), *info);
  if (owner == LocalAddresses::kNotLocal) Drop(m);
  return owner;
}

void Worker::HandleTcp6Burst(uint16_t n, uint64_t now_ns) {
  const uint64_t t0 = rte_rdtsc();
  for (uint16_t k = 0; k < n; ++k) {
    const wire::PacketInfo& in = tcp6_info_[k];
    const auto* frame = rte_pktmbuf_mtod(tcp6_pkts_[k], const uint8_t*);
    keys6_[k] = flow::FlowKey6{wire::Ipv6Dst(frame, in),
                               wire::Ipv6Src(frame, in), in.dst_port,
                               in.src_port};
    FillSegment(in, frame, segs_[k]);
  }
  stack_->InputBurst(keys6_, segs_, n, now_ns);
  EmitTcpOutput(tcp6_pkts_, n, now_ns);
  deltas_.Add(Counter::kTcpCycles, rte_rdtsc() - t0);
}

}  // namespace synwave::engine
