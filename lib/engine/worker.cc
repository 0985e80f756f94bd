#include "engine/worker.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_cycles.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>

#include "engine/clock.h"
#include "wire/build.h"
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

// A MAC address as the stack's opaque next-hop hint: never zero.
uint64_t PackMac(const uint8_t* mac) {
  uint64_t v = 0;
  std::memcpy(&v, mac, 6);
  return v | (uint64_t{1} << 63);
}

wire::MacAddress UnpackMac(uint64_t v) {
  wire::MacAddress m;
  std::memcpy(m.bytes.data(), &v, 6);
  return m;
}

}  // namespace

uint64_t PeerL2(const wire::MacAddress& mac) { return PackMac(mac.bytes.data()); }

Worker::Worker(const WorkerConfig& config, const QueueBinding& queue,
               CoreCounters* counters, AppOps app)
    : config_(config),
      queue_(queue),
      counters_(counters),
      neighbors_(config.neighbor_capacity, config.neighbor_reachable_ns,
                 config.neighbor_retry_ns),
      app_(app),
      ip_mode_(queue.offloads.tx_ipv4_checksum ? wire::ChecksumMode::kOffload
                                               : wire::ChecksumMode::kSoftware),
      tcp_mode_(queue.offloads.tx_tcp_checksum ? wire::ChecksumMode::kOffload
                                               : wire::ChecksumMode::kSoftware) {
  config_.burst = std::clamp<uint16_t>(config_.burst, 1, kMaxBurst);
  if (!config_.listen_ports.empty() || config_.tcp_active) {
    stack_ = std::make_unique<tcp::TcpStack>(config_.tcp, config_.secret,
                                             config_.hash_seed, 0);
    for (uint16_t port : config_.listen_ports) {
      stack_->Listen(config_.ip.address.value, port);
    }
  }
}

Worker::~Worker() = default;

void Worker::Run(const std::atomic<bool>& stop) {
  const TscClock clock;
  while (!stop.load(std::memory_order_relaxed)) PollOnce(clock.NowNs());
}

void Worker::SetFlood(const FloodConfig& flood) {
  flood_ = flood;
  rng_ ^= (uint64_t{queue_.queue_id} + 1) * 0xbf58476d1ce4e5b9ull ^ rte_rdtsc();
}

void Worker::PollOnce(uint64_t now_ns) {
  const uint64_t tsc_start = rte_rdtsc();
  // Stage 1: rx burst.
  rte_mbuf* rx[kMaxBurst];
  const uint16_t n =
      rte_eth_rx_burst(queue_.port_id, queue_.queue_id, rx, config_.burst);

  // Stage 2: filter and parse the whole burst before acting on any of it.
  wire::PacketInfo* const info = info_;  // members: not cleared per poll
  bool ok[kMaxBurst];
  uint64_t rx_bytes = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void*));
    rx_bytes += rte_pktmbuf_pkt_len(rx[i]);
    ok[i] = Accept(rx[i], &info[i]);
  }
  deltas_.Add(Counter::kRxPackets, n);
  deltas_.Add(Counter::kRxBytes, rx_bytes);

  // Stage 3: classify and process; TCP segments are gathered so that the
  // connection table is searched for all of them at once.
  rte_mbuf* tcp_pkts[kMaxBurst];
  wire::PacketInfo* const tcp_info = tcp_info_;
  uint16_t num_tcp = 0;
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
        if (InFloodRange(info[i].dst_ip)) {
          // An answer to one of our spoofed SYNs: counted, not processed.
          const uint8_t f = info[i].tcp_flags;
          deltas_.Add((f & wire::tcp_flags::kRst) ? Counter::kFloodRstsIn
                      : (f & wire::tcp_flags::kSyn) ? Counter::kFloodSynAcksIn
                                                    : Counter::kFloodOtherIn);
          Drop(rx[i]);
        } else if (stack_ == nullptr) {
          deltas_.Add(Counter::kDropTcpNoHandler);
          Drop(rx[i]);
        } else {
          tcp_pkts[num_tcp] = rx[i];
          tcp_info[num_tcp++] = info[i];
        }
        break;
    }
  }
  if (num_tcp > 0) {
    const uint64_t t0 = rte_rdtsc();
    HandleTcpBurst(tcp_pkts, tcp_info, num_tcp, now_ns);
    deltas_.Add(Counter::kTcpCycles, rte_rdtsc() - t0);
  }

  // Stage 4: timers, the application's events, then what became sendable.
  bool busy = n > 0;
  if (stack_ != nullptr) {
    stack_->AdvanceTimers(now_ns);
    EmitTcpOutput(nullptr, 0, now_ns);
    stack_->Accept(config_.accept_batch);
    // Events raised while dispatching (a close that resets) are handled in
    // the same pass; the array may grow, so index, don't iterate.
    for (size_t e = 0; e < stack_->events().size(); ++e) {
      const tcp::AppEvent ev = stack_->events()[e];
      if (app_.on_event != nullptr) app_.on_event(app_.ctx, *stack_, ev, now_ns);
    }
    busy |= !stack_->events().empty();
    stack_->ClearEvents();
    if (app_.on_poll != nullptr) app_.on_poll(app_.ctx, *stack_, now_ns);
    stack_->Flush(now_ns);
    EmitTcpOutput(nullptr, 0, now_ns);
  }
  if (flood_) SendFlood(now_ns);

  // Stage 5 runs before the flush so that what it sends joins this burst.
  if (now_ns >= next_housekeeping_ns_) Housekeeping(now_ns);

  // Stage 6: one tx burst; free what died in bulk.
  busy |= num_tx_ > 0;
  FlushTx();
  if (num_free_ != 0) {
    rte_pktmbuf_free_bulk(to_free_, num_free_);
    num_free_ = 0;
  }
  // Publish once per busy iteration, and now and then when idle.
  if (busy) deltas_.Add(Counter::kBusyCycles, rte_rdtsc() - tsc_start);
  if (busy || ++idle_polls_ >= 1024) {
    idle_polls_ = 0;
    PublishCounters();
  }
}

void Worker::PublishCounters() {
  counters_->Publish(deltas_);
  if (app_.on_publish != nullptr) app_.on_publish(app_.ctx);
  if (stack_ == nullptr) return;
  const tcp::TcpCounters& c = stack_->counters();
  for (size_t m = 0; m < tcp::kNumMibs; ++m) {
    counters_->Store(kTcpMibBase + m, c.mib[m]);
  }
  for (size_t d = 1; d < tcp::kNumDrops; ++d) {
    counters_->Store(kTcpDropBase + d, c.drop[d]);
  }
  using tcp::TcpState;
  auto gauge = [&](Gauge g, uint64_t v) {
    counters_->StoreGauge(static_cast<size_t>(g), v);
  };
  gauge(Gauge::kCurrEstab, stack_->StateCount(TcpState::kEstablished) +
                               stack_->StateCount(TcpState::kCloseWait));
  gauge(Gauge::kTcbsInUse, stack_->connections_in_use());
  gauge(Gauge::kHalfOpenInUse, stack_->half_open_in_use());
  gauge(Gauge::kTimeWaitInUse, stack_->time_wait_in_use());
  gauge(Gauge::kBufferChunksInUse, stack_->buffer_chunks_in_use());
  gauge(Gauge::kTimersInUse, stack_->timers_in_use());
  for (int s = 0; s < tcp::kNumTcpStates; ++s) {
    const auto state = static_cast<TcpState>(s);
    counters_->StoreGauge(StateGaugeIndex(state), stack_->StateCount(state));
  }
}

void Worker::HandleTcpBurst(rte_mbuf** pkts, const wire::PacketInfo* infos,
                            uint16_t n, uint64_t now_ns) {
  flow::FlowKey* const keys = keys_;
  tcp::Segment* const segs = segs_;
  for (uint16_t k = 0; k < n; ++k) {
    const wire::PacketInfo& in = infos[k];
    const auto* frame = rte_pktmbuf_mtod(pkts[k], const uint8_t*);
    keys[k] = flow::FlowKey{in.dst_ip.value, in.src_ip.value, in.dst_port,
                            in.src_port};
    tcp::Segment& seg = segs[k];
    seg.seq = in.seq;
    seg.ack = in.ack;
    seg.flags = in.tcp_flags;
    seg.window = in.window;
    seg.payload_length = in.payload_length;
    seg.payload = frame + in.payload_offset;
    seg.options = in.options;
    seg.peer_l2 = PackMac(reinterpret_cast<const EthernetHeader*>(frame)->src);
  }
  stack_->InputBurst(keys, segs, n, now_ns);
  EmitTcpOutput(pkts, n, now_ns);
}

// Writes a TCP frame into `m` (its payload, if any, from the stack's send
// queue), sets its lengths, and asks the NIC for the checksums it offers.
void Worker::WriteTcpFrame(rte_mbuf* m, const wire::TcpSegmentSpec& spec,
                           const tcp::OutSegment* payload) {
  const size_t header_len = wire::TcpFrameHeaderLength(spec);
  const auto total = static_cast<uint16_t>(header_len + spec.payload_length);
  m->data_off = RTE_PKTMBUF_HEADROOM;
  m->data_len = total;
  m->pkt_len = total;
  auto* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (payload != nullptr) stack_->CopyPayload(*payload, p + header_len);
  wire::WriteTcpFrameHeaders(p, spec, ip_mode_, tcp_mode_);
  m->ol_flags = 0;
  if (ip_mode_ == wire::ChecksumMode::kOffload ||
      tcp_mode_ == wire::ChecksumMode::kOffload) {
    m->ol_flags = RTE_MBUF_F_TX_IPV4;
    if (ip_mode_ == wire::ChecksumMode::kOffload) {
      m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
    }
    if (tcp_mode_ == wire::ChecksumMode::kOffload) {
      m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
    }
    m->l2_len = sizeof(EthernetHeader);
    m->l3_len = sizeof(Ipv4Header);
  }
}

void Worker::EmitTcpOutput(rte_mbuf** rx, uint16_t num_rx, uint64_t now_ns) {
  // Which received buffers a reply has taken over (bit per burst slot).
  uint64_t reused = 0;
  for (const tcp::OutSegment& o : stack_->output()) {
    const bool reply = o.reply_to < num_rx;
    wire::TcpSegmentSpec spec;
    if (o.peer_l2 != 0) {
      spec.dst_mac = UnpackMac(o.peer_l2);
    } else if (reply) {
      spec.dst_mac = UnpackMac(segs_[o.reply_to].peer_l2);  // the sender
    } else {
      const wire::MacAddress* mac =
          ResolveNextHop(wire::Ipv4Address{o.key.remote_ip}, now_ns);
      if (mac == nullptr) {
        deltas_.Add(Counter::kDropNoNeighbor);
        continue;
      }
      spec.dst_mac = *mac;
    }
    spec.src_mac = queue_.mac;
    spec.src_ip = wire::Ipv4Address{o.key.local_ip};
    spec.dst_ip = wire::Ipv4Address{o.key.remote_ip};
    spec.src_port = o.key.local_port;
    spec.dst_port = o.key.remote_port;
    spec.seq = o.seq;
    spec.ack = o.ack;
    spec.flags = o.flags;
    spec.window = o.window;
    spec.options = o.options;
    spec.payload_length = o.payload_length;
    spec.ip_id = ip_id_++;

    rte_mbuf* m;
    const uint64_t slot = reply ? uint64_t{1} << o.reply_to : 0;
    if (reply && !(reused & slot) && o.payload_length == 0) {
      m = rx[o.reply_to];  // the reply takes over the segment's own buffer
      reused |= slot;
    } else {
      m = rte_pktmbuf_alloc(queue_.pool);
      if (m == nullptr) {
        deltas_.Add(Counter::kDropNoMbuf);
        continue;
      }
    }
    WriteTcpFrame(m, spec, o.payload_length > 0 ? &o : nullptr);
    Transmit(m);
  }
  stack_->ClearOutput();
  for (uint16_t k = 0; k < num_rx; ++k) {
    if (!(reused & (uint64_t{1} << k))) Drop(rx[k]);
  }
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
  if (info->kind != wire::PacketKind::kArp && !IsLocal(info->dst_ip)) {
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

  if (IsLocal(sender)) {
    // Someone else claims our address (our own frames do not come back).
    deltas_.Add(Counter::kDropArpConflict);
    Drop(m);
    return;
  }
  if (!IsLocal(info.dst_ip)) {
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
  arp->spa.set(info.dst_ip.value);  // the address asked for (one of ours)
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

// Spoofed SYNs, written into freshly allocated mbufs in one bulk
// allocation per burst; paced by a token schedule when pps > 0.
void Worker::SendFlood(uint64_t now_ns) {
  const FloodConfig& f = *flood_;
  if (now_ns < f.start_ns || now_ns >= f.stop_ns) return;
  const wire::MacAddress* mac =
      ResolveNextHop(wire::Ipv4Address{f.target_ip}, now_ns);
  if (mac == nullptr) return;
  uint32_t n = config_.burst;
  if (f.pps > 0) {
    if (next_flood_ns_ == 0 ||
        (now_ns > next_flood_ns_ && now_ns - next_flood_ns_ > 1'000'000'000)) {
      next_flood_ns_ = now_ns;  // start, or resume after a stall
    }
    if (now_ns < next_flood_ns_) return;
    const double due = static_cast<double>(now_ns - next_flood_ns_) * f.pps * 1e-9 + 1;
    n = static_cast<uint32_t>(std::min<double>(due, config_.burst));
    next_flood_ns_ += static_cast<uint64_t>(n * 1e9 / f.pps);
  }
  // The flood never takes the last quarter of the pool: legitimate
  // connections (SYNs, requests) allocate from it too. Checked every 16
  // bursts (counting a pool's free mbufs walks every lcore's cache).
  if ((flood_pool_checks_++ & 15) == 0) {
    flood_pool_low_ = rte_mempool_avail_count(queue_.pool) < queue_.pool->size / 4;
  }
  rte_mbuf* m[kMaxBurst];
  if (flood_pool_low_ || rte_pktmbuf_alloc_bulk(queue_.pool, m, n) != 0) {
    deltas_.Add(Counter::kFloodThrottled, n);
    return;
  }
  const uint64_t span = uint64_t{f.src_last} - f.src_first + 1;
  for (uint32_t i = 0; i < n; ++i) {
    // xorshift64*: cheap, and good enough to spread sources and ports.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    const uint64_t r = rng_ * 0x2545f4914f6cdd1dull;
    wire::TcpSegmentSpec spec;
    spec.dst_mac = *mac;
    spec.src_mac = queue_.mac;
    spec.src_ip = wire::Ipv4Address{static_cast<uint32_t>(f.src_first + (r >> 32) % span)};
    spec.dst_ip = wire::Ipv4Address{f.target_ip};
    spec.src_port = static_cast<uint16_t>(1024 + (r & 0xffff) % 64512);
    spec.dst_port = f.target_port;
    spec.seq = wire::SeqNum(static_cast<uint32_t>(r >> 16));
    spec.flags = wire::tcp_flags::kSyn;
    spec.window = 65535;
    spec.options.has_mss = true;
    spec.options.mss = 1460;
    spec.ip_id = ip_id_++;
    WriteTcpFrame(m[i], spec, nullptr);
    Transmit(m[i]);
  }
  deltas_.Add(Counter::kFloodSynsOut, n);
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
