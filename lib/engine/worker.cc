#include "engine/worker.h"

#include "engine/capture.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_cycles.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>

#include "engine/clock.h"
#include "engine/rx_offload.h"
#include "wire/build.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::engine {
namespace {

using wire::ArpHeader;
using wire::EthernetHeader;
using wire::IcmpEchoHeader;
using wire::Ipv4Header;

LinkConfig MakeLinkConfig(const WorkerConfig& c) {
  LinkConfig l;
  l.ip = c.ip;
  l.gateway = c.gateway;
  l.neighbor_capacity = c.neighbor_capacity;
  l.neighbor_reachable_ns = c.neighbor_reachable_ns;
  l.neighbor_retry_ns = c.neighbor_retry_ns;
  l.housekeeping_ns = c.housekeeping_ns;
  return l;
}

}  // namespace

Worker::Worker(const WorkerConfig& config, const QueueBinding& queue,
               CoreCounters* counters, AppOps app)
    : config_(config),
      counters_(counters),
      link_(MakeLinkConfig(config), queue, &deltas_),
      admission_(config.admission),
      classifier_(wire::ClassifyKey{queue.mac, config.ip.address}) {
  config_.burst = std::clamp<uint16_t>(config_.burst, 1, kMaxBurst);
  ipv4_ = !config_.ip.address.IsZero();
  if (ipv4_ && config_.ip.length <= 30) {
    subnet_broadcast_ = config_.ip.Broadcast().value;
  }
  if (!config_.listen_ports.empty() || config_.tcp_active) {
    config_.tcp.ipv6 = config_.ip6.has_value();  // the IPv6 table if needed
    stack_ = std::make_unique<tcp::TcpStack>(config_.tcp, config_.secret,
                                             config_.hash_seed, 0);
    for (uint16_t port : config_.listen_ports) {
      if (ipv4_) stack_->Listen(config_.ip.address.value, port);
      if (config_.ip6) stack_->Listen(config_.ip6->address, port);
    }
  }
  // Our addresses: their TCP goes to the stack, or is counted as having no
  // handler when there is none.
  const uint8_t tcp_owner =
      stack_ != nullptr ? LocalAddresses::kStack : LocalAddresses::kNoOwner;
  if (ipv4_) {
    locals_.Add(config_.ip.address.value, config_.ip.address.value, tcp_owner);
  }
  if (config_.local_ip_first != 0) {
    locals_.Add(config_.local_ip_first, config_.local_ip_last, tcp_owner);
  }
  if (config_.ip6) SetUpIpv6(queue, tcp_owner);
  if (!app.empty()) AddApp(app);
  UpdateFastPath();
}

Worker::~Worker() = default;

int Worker::AddApp(const AppOps& app) {
  if (num_apps_ == kMaxApps) return -1;
  if (app.on_event != nullptr) {
    if (stack_app_ >= 0) return -1;
    stack_app_ = num_apps_;
    on_event_ = app.on_event;
    event_ctx_ = app.ctx;
  }
  apps_[num_apps_] = app;
  return num_apps_++;
}

bool Worker::ClaimAddresses(uint32_t first, uint32_t last, int slot,
                            bool answer_arp) {
  if (slot < 0 || slot >= num_apps_ || apps_[slot].on_frames == nullptr) {
    return false;
  }
  const bool added =
      locals_.Add(first, last, static_cast<uint8_t>(slot), answer_arp);
  UpdateFastPath();
  return added;
}

void Worker::Run(const std::atomic<bool>& stop) {
  const TscClock clock;
  while (!stop.load(std::memory_order_relaxed)) PollOnce(clock.NowNs());
}

void Worker::PollOnce(uint64_t now_ns) {
  const uint64_t tsc_start = rte_rdtsc();
  // Stage 1: rx burst.
  rte_mbuf* rx[kMaxBurst];
  const QueueBinding& q = link_.queue();
  const uint16_t n = rte_eth_rx_burst(q.port_id, q.queue_id, rx, config_.burst);
  if (q.capture != nullptr) {
    q.capture->Take(q.port_id, q.queue_id, rx, n, /*sent=*/false, &deltas_);
  }
  if (admission_.enabled() && stack_ != nullptr) {
    admission_.OnRxBurst(now_ns, n, config_.burst,
                         stack_->counters().Get(tcp::Mib::kPassiveOpens));
  }

  // Stage 2: filter and parse the whole burst before acting on any of it;
  // the stack's IPv4 segments go straight into its input, in order.
  rte_mbuf* tcp_pkts[kMaxBurst];
  uint16_t rest;  // frames left for stage 3
  const uint16_t num_tcp = ParseBurst(rx, n, tcp_pkts, &rest);

  // Stage 3: classify and process the rest; the stack's TCP segments are
  // gathered so that the connection table is searched for all of them at
  // once.
  wire::PacketInfo* const info = info_;  // members: not cleared per poll
  uint8_t* const owner = owner_;
  uint16_t num_tcp6 = 0;  // IPv6 segments for the stack (tcp6_pkts_)
  bool app_frames = false;
  for (uint16_t i = 0; rest > 0 && i < n; ++i) {
    if (owner[i] == LocalAddresses::kNotLocal) continue;  // dropped or taken
    --rest;
    switch (info[i].kind) {
      case wire::PacketKind::kArp:
        HandleArp(rx[i], info[i], now_ns);
        break;
      case wire::PacketKind::kIcmp:
        if (locals_.IsLocal(info[i].dst_ip.value)) {
          HandleIcmp(rx[i], info[i]);
        } else {
          deltas_.Add(Counter::kDropIpNotForUs);  // a TCP-only claim
          Drop(rx[i]);
        }
        break;
      case wire::PacketKind::kIcmp6:  // ParseRx passed it: nd_ is set
        nd_->HandleIcmp6(rx[i], info[i], now_ns);
        break;
      case wire::PacketKind::kTcp: {
        deltas_.Add(Counter::kTcpSegmentsIn);
        const uint8_t o = owner[i];
        if (o == LocalAddresses::kStack) {  // IPv6: IPv4's left in stage 2
          if (!Admit(info[i])) [[unlikely]] {
            Drop(rx[i]);
            break;
          }
          tcp6_pkts_[num_tcp6] = rx[i];
          tcp6_info_[num_tcp6++] = info[i];
        } else if (o < kMaxApps) {
          const uint16_t k = num_app_pkts_[o]++;
          app_pkts_[o][k] = rx[i];
          app_info_[o][k] = info[i];
          app_frames = true;
        } else {
          deltas_.Add(Counter::kDropTcpNoHandler);
          Drop(rx[i]);
        }
        break;
      }
    }
  }
  if (num_tcp > 0) {
    const uint64_t t0 = rte_rdtsc();
    HandleTcpBurst(tcp_pkts, num_tcp, now_ns);
    deltas_.Add(Counter::kTcpCycles, rte_rdtsc() - t0);
  }
  if (num_tcp6 > 0) [[unlikely]] HandleTcp6Burst(num_tcp6, now_ns);
  if (app_frames) DeliverAppFrames(now_ns);

  // Stage 4: timers, the stack's events, then what became sendable, and the
  // applications' per-poll hooks.
  bool busy = n > 0;
  if (stack_ != nullptr) {
    stack_->AdvanceTimers(now_ns);
    EmitTcpOutput(nullptr, 0, now_ns);
    stack_->Accept(config_.accept_batch);
    // Events raised while dispatching (a close that resets) are handled in
    // the same pass; the array may grow, so index, don't iterate.
    for (size_t e = 0; e < stack_->events().size(); ++e) {
      const tcp::AppEvent ev = stack_->events()[e];
      if (on_event_ != nullptr) on_event_(event_ctx_, *stack_, ev, now_ns);
    }
    busy |= !stack_->events().empty();
    stack_->ClearEvents();
  }
  // The stack's application polls before the flush, so that what it
  // queued (a connection's SYN, a request) leaves in this burst; the others
  // send on the link directly and poll after it.
  if (stack_app_ >= 0 && apps_[stack_app_].on_poll != nullptr) {
    const AppOps& app = apps_[stack_app_];
    app.on_poll(app.ctx, link_, stack_.get(), now_ns);
  }
  if (stack_ != nullptr) {
    stack_->Flush(now_ns);
    EmitTcpOutput(nullptr, 0, now_ns);
  }
  for (int a = 0; a < num_apps_; ++a) {
    if (a != stack_app_ && apps_[a].on_poll != nullptr) {
      apps_[a].on_poll(apps_[a].ctx, link_, stack_.get(), now_ns);
    }
  }

  // Stage 5 runs before the flush so that what it sends joins this burst.
  link_.Tick(now_ns);
  if (nd_ != nullptr) nd_->Tick(now_ns);

  // Stage 6: one tx burst; free what died in bulk.
  busy |= link_.FlushTx();
  link_.FreePending();
  // Publish while busy once per interval (publishing every burst cost
  // about 34 instructions per SYN at burst 32), at the first idle
  // iteration after busy ones, so that the counts are exact as soon as the
  // queue goes quiet, and now and then when idle (timers move gauges).
  if (busy) {
    deltas_.Add(Counter::kBusyCycles, rte_rdtsc() - tsc_start);
    unpublished_ = true;
    if (now_ns - published_ns_ >= config_.publish_interval_ns) {
      published_ns_ = now_ns;
      PublishCounters();
    }
  } else if (unpublished_ || ++idle_polls_ >= 1024) {
    published_ns_ = now_ns;
    PublishCounters();
  }
}

void Worker::DeliverAppFrames(uint64_t now_ns) {
  for (int a = 0; a < num_apps_; ++a) {
    const uint16_t k = num_app_pkts_[a];
    if (k == 0) continue;
    num_app_pkts_[a] = 0;
    apps_[a].on_frames(apps_[a].ctx, link_, app_pkts_[a], app_info_[a], k,
                       now_ns);
  }
}

void Worker::PublishCounters() {
  unpublished_ = false;
  idle_polls_ = 0;
  counters_->Publish(deltas_);
  if (nd_ != nullptr) nd_->Publish(*counters_);
  for (int a = 0; a < num_apps_; ++a) {
    if (apps_[a].on_publish != nullptr) {
      apps_[a].on_publish(apps_[a].ctx, *counters_);
    }
  }
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
  gauge(Gauge::kOrphansInUse, stack_->orphans_in_use());
  gauge(Gauge::kBufferChunksInUse, stack_->buffer_chunks_in_use());
  gauge(Gauge::kTimersInUse, stack_->timers_in_use());
  gauge(Gauge::kIpv6TuplesInUse, stack_->addr6_in_use());
  for (int s = 0; s < tcp::kNumTcpStates; ++s) {
    const auto state = static_cast<TcpState>(s);
    counters_->StoreGauge(StateGaugeIndex(state), stack_->StateCount(state));
  }
}

void Worker::HandleTcpBurst(rte_mbuf** pkts, uint16_t n, uint64_t now_ns) {
  stack_->InputBurst(keys_, segs_, n, now_ns);
  EmitTcpOutput(pkts, n, now_ns);
}

uint8_t Worker::ParseRx(rte_mbuf* m, wire::PacketInfo* info) {
  if (m->nb_segs != 1) {
    // A frame larger than one mbuf: no path here needs one.
    deltas_.Add(Counter::kDropRxMultiSegment);
    Drop(m);
    return LocalAddresses::kNotLocal;
  }
  const auto* frame = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len >= sizeof(EthernetHeader)) {
    const auto* eth = reinterpret_cast<const EthernetHeader*>(frame);
    const wire::MacAddress dst = eth->Dst();
    if (!(dst == link_.mac()) && !dst.IsBroadcast()) [[unlikely]] {
      return ParseRxGroup(m, info);  // IPv6 multicast, or not for us
    }
  }
  const wire::Verdict v = wire::ParseFrame(frame, len, RxOffloadOf(m), info);
  if (v != wire::Verdict::kOk) {
    deltas_.AddDrop(v);
    Drop(m);
    return LocalAddresses::kNotLocal;
  }
  // ARP is answered for any local target (HandleArp checks); IPv4 must be
  // for one of our addresses, whose owner takes its TCP.
  if (info->kind == wire::PacketKind::kArp) return LocalAddresses::kNoOwner;
  if (info->family == wire::IpFamily::kIpv6) [[unlikely]] {
    return ParseRx6(m, info);
  }
  // The parser refused the sources no host may have; this one is only
  // invalid on our subnet. An answer would go to every host on it.
  if (info->src_ip.value == subnet_broadcast_ && subnet_broadcast_ != 0)
      [[unlikely]] {
    deltas_.Add(Counter::kDropIpv4SubnetBroadcastSource);
    Drop(m);
    return LocalAddresses::kNotLocal;
  }
  const uint8_t owner = locals_.Find(info->dst_ip.value);
  if (owner == LocalAddresses::kNotLocal) {
    if (ipv4_) [[likely]] {
      deltas_.Add(Counter::kDropIpNotForUs);
    } else {
      deltas_.AddDrop(wire::Verdict::kIpv4Disabled);
    }
    Drop(m);
  }
  return owner;
}

void Worker::HandleArp(rte_mbuf* m, const wire::PacketInfo& info,
                       uint64_t now_ns) {
  auto* eth = rte_pktmbuf_mtod(m, EthernetHeader*);
  auto* arp = rte_pktmbuf_mtod_offset(m, ArpHeader*, info.l3_offset);
  const wire::Ipv4Address sender = info.src_ip;
  const wire::MacAddress sha = wire::MacAddress::FromBytes(arp->sha);
  const uint16_t op = arp->op.get();

  if (locals_.IsLocal(sender.value)) {
    // Someone else claims our address (our own frames do not come back).
    deltas_.Add(Counter::kDropArpConflict);
    Drop(m);
    return;
  }
  if (!locals_.IsLocal(info.dst_ip.value)) {
    if (!ipv4_) {  // IPv6 only: no IPv4 neighbours to keep
      deltas_.AddDrop(wire::Verdict::kIpv4Disabled);
      Drop(m);
      return;
    }
    // RFC 826: update a mapping we already hold even when not the target.
    if (!sender.IsZero()) link_.neighbors().Merge(sender, sha, now_ns);
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
    switch (link_.neighbors().Learn(sender, sha, now_ns)) {
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
  link_.mac().CopyTo(arp->sha);
  arp->spa.set(info.dst_ip.value);  // the address asked for (one of ours)
  std::memcpy(eth->dst, eth->src, 6);
  link_.mac().CopyTo(eth->src);
  const uint16_t len = info.l3_offset + sizeof(ArpHeader);
  m->data_len = len;
  m->pkt_len = len;
  m->ol_flags = 0;
  deltas_.Add(Counter::kArpRepliesOut);
  link_.Transmit(m);
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
  link_.mac().CopyTo(eth->src);
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
  link_.Transmit(m);
}

}  // namespace synwave::engine
