#include "engine/worker.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>

#include "engine/clock.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::engine {
namespace {

using wire::ArpHeader;
using wire::EthernetHeader;
using wire::IcmpEchoHeader;
using wire::Ipv4Header;

wire::RxChecksum FromFlags(uint64_t flags, uint64_t mask, uint64_t good,
                           uint64_t bad) {
  const uint64_t f = flags & mask;
  if (f == good) return wire::RxChecksum::kGood;
  if (f == bad) return wire::RxChecksum::kBad;
  return wire::RxChecksum::kUnknown;  // UNKNOWN or NONE: check in software
}

}  // namespace

Worker::Worker(const WorkerConfig& config, const QueueBinding& queue,
               CoreCounters* counters)
    : config_(config),
      queue_(queue),
      counters_(counters),
      neighbors_(config.neighbor_capacity, config.neighbor_reachable_ns,
                 config.neighbor_retry_ns) {
  config_.burst = std::clamp<uint16_t>(config_.burst, 1, kMaxBurst);
}

void Worker::Run(const std::atomic<bool>& stop) {
  const TscClock clock;
  while (!stop.load(std::memory_order_relaxed)) PollOnce(clock.NowNs());
}

void Worker::PollOnce(uint64_t now_ns) {
  // Stage 1: rx burst.
  rte_mbuf* rx[kMaxBurst];
  const uint16_t n =
      rte_eth_rx_burst(queue_.port_id, queue_.queue_id, rx, config_.burst);

  // Stage 2: filter and parse the whole burst before acting on any of it.
  wire::PacketInfo info[kMaxBurst];
  bool ok[kMaxBurst];
  uint64_t rx_bytes = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void*));
    rx_bytes += rte_pktmbuf_pkt_len(rx[i]);
    ok[i] = Accept(rx[i], &info[i]);
  }
  deltas_.Add(Counter::kRxPackets, n);
  deltas_.Add(Counter::kRxBytes, rx_bytes);

  // Stage 3: classify and process.
  for (uint16_t i = 0; i < n; ++i) {
    if (!ok[i]) continue;
    switch (info[i].kind) {
      case wire::PacketKind::kArp:
        HandleArp(rx[i], info[i], now_ns);
        break;
      case wire::PacketKind::kIcmp:
        HandleIcmp(rx[i], info[i]);
        break;
      case wire::PacketKind::kTcp:
        deltas_.Add(Counter::kTcpSegmentsIn);
        deltas_.Add(Counter::kDropTcpNoHandler);
        Drop(rx[i]);
        break;
    }
  }

  // Stage 5 runs before the flush so that what it sends joins this burst.
  if (now_ns >= next_housekeeping_ns_) Housekeeping(now_ns);

  // Stage 4: one tx burst; free what died in bulk.
  FlushTx();
  if (num_free_ != 0) {
    rte_pktmbuf_free_bulk(to_free_, num_free_);
    num_free_ = 0;
  }
  counters_->Publish(deltas_);
}

bool Worker::Accept(rte_mbuf* m, wire::PacketInfo* info) {
  if (m->nb_segs != 1) {
    // A frame larger than one mbuf: no path here needs one.
    deltas_.Add(Counter::kDropRxMultiSegment);
    Drop(m);
    return false;
  }
  const auto* frame = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len >= sizeof(EthernetHeader)) {
    const auto* eth = reinterpret_cast<const EthernetHeader*>(frame);
    const wire::MacAddress dst = eth->Dst();
    if (!(dst == queue_.mac) && !dst.IsBroadcast()) {
      deltas_.Add(Counter::kDropEthNotForUs);
      Drop(m);
      return false;
    }
  }
  wire::RxOffload offload;
  offload.ip = FromFlags(m->ol_flags, RTE_MBUF_F_RX_IP_CKSUM_MASK,
                         RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                         RTE_MBUF_F_RX_IP_CKSUM_BAD);
  offload.l4 = FromFlags(m->ol_flags, RTE_MBUF_F_RX_L4_CKSUM_MASK,
                         RTE_MBUF_F_RX_L4_CKSUM_GOOD,
                         RTE_MBUF_F_RX_L4_CKSUM_BAD);
  const wire::Verdict v = wire::ParseFrame(frame, len, offload, info);
  if (v != wire::Verdict::kOk) {
    deltas_.AddDrop(v);
    Drop(m);
    return false;
  }
  if (info->kind != wire::PacketKind::kArp &&
      !(info->dst_ip == config_.ip.address)) {
    deltas_.Add(Counter::kDropIpNotForUs);
    Drop(m);
    return false;
  }
  return true;
}

void Worker::HandleArp(rte_mbuf* m, const wire::PacketInfo& info,
                       uint64_t now_ns) {
  auto* eth = rte_pktmbuf_mtod(m, EthernetHeader*);
  auto* arp = rte_pktmbuf_mtod_offset(m, ArpHeader*, info.l3_offset);
  const wire::Ipv4Address sender = info.src_ip;
  const wire::MacAddress sha = wire::MacAddress::FromBytes(arp->sha);
  const uint16_t op = arp->op.get();

  if (sender == config_.ip.address) {
    // Someone else claims our address (our own frames do not come back).
    deltas_.Add(Counter::kDropArpConflict);
    Drop(m);
    return;
  }
  if (!(info.dst_ip == config_.ip.address)) {
    // RFC 826: update a mapping we already hold even when not the target.
    if (!sender.IsZero()) neighbors_.Merge(sender, sha, now_ns);
    deltas_.Add(Counter::kDropArpNotForUs);
    Drop(m);
    return;
  }
  if (op != wire::kArpOpRequest && op != wire::kArpOpReply) {
    deltas_.AddDrop(wire::Verdict::kArpUnsupported);
    Drop(m);
    return;
  }
  // Sender 0.0.0.0 is an address probe (RFC 5227): answer it, learn nothing.
  if (!sender.IsZero() && !sha.IsMulticast()) {
    switch (neighbors_.Learn(sender, sha, now_ns)) {
      case NeighborTable::LearnResult::kAdded:
        deltas_.Add(Counter::kNeighborsLearned);
        break;
      case NeighborTable::LearnResult::kUpdated:
        break;
      case NeighborTable::LearnResult::kTableFull:
        deltas_.Add(Counter::kDropNeighborTableFull);
        break;
    }
  }
  if (op == wire::kArpOpReply) {
    deltas_.Add(Counter::kArpRepliesIn);
    Drop(m);
    return;
  }

  // Answer the request in place.
  deltas_.Add(Counter::kArpRequestsIn);
  arp->op.set(wire::kArpOpReply);
  std::memcpy(arp->tha, arp->sha, 6);
  arp->tpa = arp->spa;
  queue_.mac.CopyTo(arp->sha);
  arp->spa.set(config_.ip.address.value);
  std::memcpy(eth->dst, eth->src, 6);
  queue_.mac.CopyTo(eth->src);
  const uint16_t len = info.l3_offset + sizeof(ArpHeader);
  m->data_len = len;
  m->pkt_len = len;
  m->ol_flags = 0;
  deltas_.Add(Counter::kArpRepliesOut);
  Transmit(m);
}

void Worker::HandleIcmp(rte_mbuf* m, const wire::PacketInfo& info) {
  auto* eth = rte_pktmbuf_mtod(m, EthernetHeader*);
  auto* ip = rte_pktmbuf_mtod_offset(m, Ipv4Header*, info.l3_offset);
  auto* icmp = rte_pktmbuf_mtod_offset(m, IcmpEchoHeader*, info.l4_offset);
  if (icmp->type != wire::kIcmpEchoRequest || icmp->code != 0) {
    deltas_.Add(Counter::kDropIcmpNotEcho);
    Drop(m);
    return;
  }
  deltas_.Add(Counter::kIcmpEchoIn);

  // Echo reply in place (RFC 792): swap the addresses, type 8 -> 0. The ICMP
  // checksum changes by the type word only (RFC 1624 update); the IP header
  // is small, so its checksum is recomputed.
  std::memcpy(eth->dst, eth->src, 6);
  queue_.mac.CopyTo(eth->src);
  std::swap(ip->src, ip->dst);
  ip->ttl = 64;
  ip->checksum.set(0);
  ip->checksum.set(wire::Ipv4HeaderChecksum(ip, ip->HeaderLength()));
  const uint16_t old_word = static_cast<uint16_t>(icmp->type << 8 | icmp->code);
  icmp->type = wire::kIcmpEchoReply;
  icmp->checksum.set(wire::ChecksumUpdate16(
      icmp->checksum.get(), old_word,
      static_cast<uint16_t>(icmp->type << 8 | icmp->code)));
  // Drop any Ethernet padding past the IP datagram.
  const uint16_t len = info.l4_offset + info.l4_length;
  m->data_len = len;
  m->pkt_len = len;
  m->ol_flags = 0;
  deltas_.Add(Counter::kIcmpEchoOut);
  Transmit(m);
}

std::optional<wire::Ipv4Address> Worker::NextHop(wire::Ipv4Address dst) const {
  if (config_.ip.Contains(dst)) return dst;
  return config_.gateway;
}

const wire::MacAddress* Worker::ResolveNextHop(wire::Ipv4Address dst,
                                               uint64_t now_ns) {
  const std::optional<wire::Ipv4Address> hop = NextHop(dst);
  if (!hop) return nullptr;
  const wire::MacAddress* mac = neighbors_.Lookup(*hop, now_ns);
  // A refresh may be due even while the entry is still usable.
  if (neighbors_.ShouldRequest(*hop, now_ns)) SendArpRequest(*hop);
  return mac;
}

void Worker::SendArpRequest(wire::Ipv4Address target) {
  rte_mbuf* m = rte_pktmbuf_alloc(queue_.pool);
  if (m == nullptr) {
    deltas_.Add(Counter::kDropNoMbuf);
    return;
  }
  constexpr uint16_t kLen = sizeof(EthernetHeader) + sizeof(ArpHeader);
  auto* eth = reinterpret_cast<EthernetHeader*>(rte_pktmbuf_append(m, kLen));
  wire::MacAddress::Broadcast().CopyTo(eth->dst);
  queue_.mac.CopyTo(eth->src);
  eth->ether_type.set(wire::kEtherTypeArp);
  auto* arp = reinterpret_cast<ArpHeader*>(eth + 1);
  arp->htype.set(wire::kArpHardwareEthernet);
  arp->ptype.set(wire::kEtherTypeIpv4);
  arp->hlen = 6;
  arp->plen = 4;
  arp->op.set(wire::kArpOpRequest);
  queue_.mac.CopyTo(arp->sha);
  arp->spa.set(config_.ip.address.value);
  std::memset(arp->tha, 0, 6);
  arp->tpa.set(target.value);
  deltas_.Add(Counter::kArpRequestsOut);
  Transmit(m);
}

void Worker::Housekeeping(uint64_t now_ns) {
  next_housekeeping_ns_ = now_ns + config_.housekeeping_ns;
  deltas_.Add(Counter::kNeighborsExpired, neighbors_.Expire(now_ns));
  // Keep the gateway resolved before anything needs it.
  if (config_.gateway) ResolveNextHop(*config_.gateway, now_ns);
}

void Worker::Transmit(rte_mbuf* m) {
  if (num_tx_ == kTxCapacity) FlushTx();
  tx_[num_tx_++] = m;
}

void Worker::FlushTx() {
  if (num_tx_ == 0) return;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < num_tx_; ++i) bytes += rte_pktmbuf_pkt_len(tx_[i]);
  const uint16_t sent =
      rte_eth_tx_burst(queue_.port_id, queue_.queue_id, tx_, num_tx_);
  if (sent < num_tx_) {
    for (uint16_t i = sent; i < num_tx_; ++i) {
      bytes -= rte_pktmbuf_pkt_len(tx_[i]);
    }
    deltas_.Add(Counter::kDropTxQueueFull, num_tx_ - sent);
    rte_pktmbuf_free_bulk(&tx_[sent], num_tx_ - sent);
  }
  deltas_.Add(Counter::kTxPackets, sent);
  deltas_.Add(Counter::kTxBytes, bytes);
  num_tx_ = 0;
}

}  // namespace synwave::engine
