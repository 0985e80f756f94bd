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

uint64_t Worker::EmitTcp6Segment(const tcp::OutSegment& o, rte_mbuf** rx,
                                 uint16_t num_rx, uint64_t reused,
                                 uint64_t now_ns) {
  const bool reply = o.reply_to < num_rx;
  const tcp::OutAddresses6& a = stack_->Addresses6(o);
  wire::Tcp6SegmentSpec spec;
  if (o.peer_l2 != 0) {
    spec.dst_mac = MacFromPeerL2(o.peer_l2);
  } else if (reply) {
    spec.dst_mac = MacFromPeerL2(segs_[o.reply_to].peer_l2);  // the sender
  } else {
    const wire::MacAddress* mac =
        nd_ != nullptr ? nd_->ResolveNextHop(a.remote, now_ns) : nullptr;
    if (mac == nullptr) {
      deltas_.Add(Counter::kDropNoNeighbor);
      return reused;
    }
    spec.dst_mac = *mac;
  }
  spec.src_mac = link_.mac();
  spec.src_ip = a.local;
  spec.dst_ip = a.remote;
  spec.src_port = o.key.local_port;
  spec.dst_port = o.key.remote_port;
  spec.seq = o.seq;
  spec.ack = o.ack;
  spec.flags = o.flags;
  spec.window = o.window;
  spec.options = o.options;
  spec.payload_length = o.payload_length;
  spec.hop_limit = 64;

  rte_mbuf* m;
  const uint64_t slot = reply ? uint64_t{1} << o.reply_to : 0;
  if (reply && !(reused & slot) && o.payload_length == 0) {
    m = rx[o.reply_to];  // the reply takes over the segment's own buffer
    reused |= slot;
  } else {
    m = link_.Alloc();
    if (m == nullptr) return reused;
  }
  // Software checksum over the IPv6 pseudo-header: the payload is copied
  // first, then the headers are written over it.
  const size_t header_len = wire::Tcp6FrameHeaderLength(spec);
  const auto total = static_cast<uint16_t>(header_len + o.payload_length);
  m->data_off = RTE_PKTMBUF_HEADROOM;
  m->data_len = total;
  m->pkt_len = total;
  m->ol_flags = 0;
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  if (o.payload_length != 0) stack_->CopyPayload(o, frame + header_len);
  wire::WriteTcp6FrameHeaders(frame, spec, wire::ChecksumMode::kSoftware);
  link_.Transmit(m);
  return reused;
}

}  // namespace synwave::engine
