#include "app/flood.h"

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>

#include "app/counters.h"
#include "engine/link.h"
#include "wire/build.h"
#include "wire/headers.h"

namespace synwave::app {

Flood::Flood(const FloodConfig& config)
    : config_(config), counter_base_(CounterIndex(FloodCounter::kSynsOut)) {
  config_.burst = std::clamp<uint16_t>(config_.burst, 1, engine::kMaxBurst);
  rng_ ^=
      (uint64_t{config_.queue_id} + 1) * 0xbf58476d1ce4e5b9ull ^ rte_rdtsc();
}

engine::AppOps Flood::ops() {
  engine::AppOps ops;
  ops.ctx = this;
  ops.on_poll = &Flood::OnPoll;
  ops.on_frames = &Flood::OnFrames;
  ops.on_publish = &Flood::OnPublish;
  return ops;
}

void Flood::SetSchedule(uint64_t start_ns, uint64_t stop_ns) {
  start_ns_.store(start_ns, std::memory_order_relaxed);
  stop_ns_.store(stop_ns, std::memory_order_release);  // stop last: it opens
}

void Flood::OnPoll(void* ctx, engine::Link& link, tcp::TcpStack*,
                   uint64_t now_ns) {
  static_cast<Flood*>(ctx)->Send(link, now_ns);
}

// Answers to our spoofed SYNs: counted, not processed.
void Flood::OnFrames(void* ctx, engine::Link& link, rte_mbuf* const* pkts,
                     const wire::PacketInfo* infos, uint16_t n, uint64_t) {
  auto* self = static_cast<Flood*>(ctx);
  for (uint16_t i = 0; i < n; ++i) {
    const uint8_t f = infos[i].tcp_flags;
    self->Count((f & wire::tcp_flags::kRst)   ? FloodCounter::kRstsIn
                : (f & wire::tcp_flags::kSyn) ? FloodCounter::kSynAcksIn
                                              : FloodCounter::kOtherIn);
    link.Free(pkts[i]);
  }
}

void Flood::OnPublish(void* ctx, engine::CoreCounters& counters) {
  const auto* self = static_cast<const Flood*>(ctx);
  for (size_t c = 0; c < static_cast<size_t>(FloodCounter::kCount); ++c) {
    counters.Store(self->counter_base_ + c, self->counts_[c]);
  }
}

// Spoofed SYNs, written into freshly allocated mbufs in one bulk
// allocation per burst; paced by a token schedule when pps > 0.
void Flood::Send(engine::Link& link, uint64_t now_ns) {
  const uint64_t stop_ns = stop_ns_.load(std::memory_order_acquire);
  if (now_ns >= stop_ns || now_ns < start_ns_.load(std::memory_order_relaxed)) {
    return;
  }
  const wire::MacAddress* mac =
      config_.ipv6
          ? link.ResolveNextHop(config_.target_ip6, now_ns)
          : link.ResolveNextHop(wire::Ipv4Address{config_.target_ip}, now_ns);
  if (mac == nullptr) return;
  uint32_t n = config_.burst;
  if (config_.pps > 0) {
    if (next_ns_ == 0 ||
        (now_ns > next_ns_ && now_ns - next_ns_ > 1'000'000'000)) {
      next_ns_ = now_ns;  // start, or resume after a stall
    }
    if (now_ns < next_ns_) return;
    const double due =
        static_cast<double>(now_ns - next_ns_) * config_.pps * 1e-9 + 1;
    n = static_cast<uint32_t>(std::min<double>(due, config_.burst));
    next_ns_ += static_cast<uint64_t>(n * 1e9 / config_.pps);
  }
  // The flood never takes the last quarter of the pool: legitimate
  // connections (SYNs, requests) allocate from it too. Checked every 16
  // bursts (counting a pool's free mbufs walks every lcore's cache).
  rte_mempool* pool = link.pool();
  if ((pool_checks_++ & 15) == 0) {
    pool_low_ = rte_mempool_avail_count(pool) < pool->size / 4;
  }
  rte_mbuf* m[engine::kMaxBurst];
  if (pool_low_ || rte_pktmbuf_alloc_bulk(pool, m, n) != 0) {
    Count(FloodCounter::kThrottled, n);
    return;
  }
  if (config_.ipv6) {
    for (uint32_t i = 0; i < n; ++i) WriteSyn6(link, *mac, Random(), m[i]);
    Count(FloodCounter::kSynsOut, n);
    return;
  }
  const uint64_t span = uint64_t{config_.src_last} - config_.src_first + 1;
  for (uint32_t i = 0; i < n; ++i) {
    // xorshift64*: cheap, and good enough to spread sources and ports.
    const uint64_t r = Random();
    wire::TcpSegmentSpec spec;
    spec.dst_mac = *mac;
    spec.src_mac = link.mac();
    spec.src_ip = wire::Ipv4Address{
        static_cast<uint32_t>(config_.src_first + (r >> 32) % span)};
    spec.dst_ip = wire::Ipv4Address{config_.target_ip};
    spec.src_port = static_cast<uint16_t>(1024 + (r & 0xffff) % 64512);
    spec.dst_port = config_.target_port;
    spec.seq = wire::SeqNum(static_cast<uint32_t>(r >> 16));
    spec.flags = wire::tcp_flags::kSyn;
    spec.window = 65535;
    spec.options.has_mss = true;
    spec.options.mss = 1460;
    spec.ip_id = link.NextIpId();
    link.WriteTcpFrame(m[i], spec);
    link.Transmit(m[i]);
  }
  Count(FloodCounter::kSynsOut, n);
}

void Flood::WriteSyn6(engine::Link& link, const wire::MacAddress& dst_mac,
                      uint64_t r, rte_mbuf* m) {
  // A source in [src6_first, src6_last]: the range is within one /64, so
  // only the low word is drawn (a second draw for ranges of 2^32 or more).
  const uint64_t lo = config_.src6_first.Low();
  const uint64_t span = config_.src6_last.Low() - lo;  // + 1 may wrap
  const uint64_t pick = span < 0xffffffffull ? (r >> 32) % (span + 1)
                        : span == ~uint64_t{0} ? Random()
                                               : Random() % (span + 1);
  wire::Tcp6SegmentSpec spec;
  spec.dst_mac = dst_mac;
  spec.src_mac = link.mac();
  spec.src_ip =
      wire::Ipv6Address::FromWords(config_.src6_first.High(), lo + pick);
  spec.dst_ip = config_.target_ip6;
  spec.src_port = static_cast<uint16_t>(1024 + (r & 0xffff) % 64512);
  spec.dst_port = config_.target_port;
  spec.seq = wire::SeqNum(static_cast<uint32_t>(r >> 16));
  spec.flags = wire::tcp_flags::kSyn;
  spec.window = 65535;
  spec.options.has_mss = true;
  spec.options.mss = 1440;
  // Software checksum over the IPv6 pseudo-header, as the worker's own
  // IPv6 segments (Worker::EmitTcp6Segment).
  const auto len = static_cast<uint16_t>(wire::Tcp6FrameHeaderLength(spec));
  m->data_off = RTE_PKTMBUF_HEADROOM;
  m->data_len = len;
  m->pkt_len = len;
  m->ol_flags = 0;
  wire::WriteTcp6FrameHeaders(rte_pktmbuf_mtod(m, uint8_t*), spec,
                              wire::ChecksumMode::kSoftware);
  link.Transmit(m);
}

}  // namespace synwave::app
