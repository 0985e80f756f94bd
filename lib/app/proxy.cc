#include "app/proxy.h"

#include <algorithm>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "app/counters.h"
#include "engine/nd.h"

namespace synwave::app {

Proxy::Proxy(const ProxyConfig& config)
    : core_(config),
      counter_base_(CounterIndex(ProxyCounter::kSynIn)),
      backend_base_(ProxyBackendCounterIndex(0, BackendCounter::kUp)),
      gauge_base_(ProxyFlowsGaugeIndex()) {
  core_.set_output(this);
}

Proxy::~Proxy() {
  for (rte_ring* r : from_) {
    if (r == nullptr) continue;
    void* m;
    while (rte_ring_sc_dequeue(r, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    }
    rte_ring_free(r);
  }
}

void Proxy::SetHandoff(int self, std::vector<rte_ring*> to,
                       std::vector<rte_ring*> from) {
  self_ = self;
  workers_ = static_cast<int>(to.size());
  to_ = std::move(to);
  from_ = std::move(from);
}

engine::AppOps Proxy::ops(bool primary) {
  engine::AppOps ops;
  ops.ctx = this;
  ops.on_frames = &Proxy::OnFrames;
  if (primary) {
    ops.on_poll = &Proxy::OnPoll;
    ops.on_publish = &Proxy::OnPublish;
  }
  return ops;
}

void Proxy::OnFrames(void* ctx, engine::Link& link, rte_mbuf* const* pkts,
                     const wire::PacketInfo* infos, uint16_t n,
                     uint64_t now_ns) {
  auto* self = static_cast<Proxy*>(ctx);
  wire::TcpSegmentSpec spec;
  const bool ipv6 = self->core_.config().ipv6;
  if (!ipv6) {
    self->core_.PrepareSyns(infos, n, now_ns);
  } else {
    // Zeroed: PrepareSyns6 reads only the first m, but GCC cannot see that
    // and warned (-Wmaybe-uninitialized).
    const uint8_t* frames[ProxyCore::kMaxPrepared] = {};
    const uint16_t m = std::min(n, ProxyCore::kMaxPrepared);
    for (uint16_t i = 0; i < m; ++i) {
      frames[i] = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
    }
    self->core_.PrepareSyns6(frames, infos, m, now_ns);
  }
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    if (self->workers_ > 1) {
      const int owner =
          ipv6 ? self->core_.Owner6(rte_pktmbuf_mtod(m, const uint8_t*),
                                    infos[i], self->workers_)
               : self->core_.Owner(infos[i], self->workers_);
      if (owner >= 0 && owner != self->self_) {
        if (rte_ring_sp_enqueue(self->to_[owner], m) == 0) {
          self->core_.Count(ProxyCounter::kHandoffOut);
        } else {
          self->core_.Count(ProxyCounter::kHandoffFull);
          link.Free(m);
        }
        continue;
      }
    }
    self->Handle(m, infos[i], link, now_ns, &spec, i);
  }
}

void Proxy::Handle(rte_mbuf* m, const wire::PacketInfo& info,
                   engine::Link& link, uint64_t now_ns,
                   wire::TcpSegmentSpec* spec, int slot) {
  if (info.family == wire::IpFamily::kIpv6) {
    Handle6(m, info, link, now_ns, slot);
    return;
  }
  switch (core_.Process(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m),
                        info, now_ns, spec, slot)) {
    case ProxyAction::kDrop:
      link.Free(m);
      break;
    case ProxyAction::kForwardToClient:
      m->ol_flags = 0;  // checksums were adjusted in place
      client_->Transmit(m);
      break;
    case ProxyAction::kForwardToBackend:
      m->ol_flags = 0;
      backend_->Transmit(m);
      break;
    case ProxyAction::kReplyToClient:
      spec->ip_id = client_->NextIpId();
      client_->WriteTcpFrame(m, *spec);
      client_->Transmit(m);
      break;
    case ProxyAction::kReplyToBackend:
      spec->ip_id = backend_->NextIpId();
      backend_->WriteTcpFrame(m, *spec);
      backend_->Transmit(m);
      break;
  }
}

namespace {

// Writes `spec` (no payload) into `m`: headers, lengths, the TCP checksum
// in software (the NIC is not asked: IPv6 offload flags differ by device).
void WriteTcp6(rte_mbuf* m, const wire::Tcp6SegmentSpec& spec) {
  const auto len = static_cast<uint16_t>(wire::Tcp6FrameHeaderLength(spec));
  m->data_off = RTE_PKTMBUF_HEADROOM;
  m->data_len = len;
  m->pkt_len = len;
  m->ol_flags = 0;
  wire::WriteTcp6FrameHeaders(rte_pktmbuf_mtod(m, uint8_t*), spec,
                              wire::ChecksumMode::kSoftware);
}

}  // namespace

// An IPv6 frame: the IPv6 proxy's, or dropped (counted as for no flow) by
// an IPv4 one, which claims no IPv6 address and should not see it.
void Proxy::Handle6(rte_mbuf* m, const wire::PacketInfo& info,
                    engine::Link& link, uint64_t now_ns, int slot) {
  if (!core_.config().ipv6) {
    core_.Count(ProxyCounter::kClientNoFlow);
    link.Free(m);
    return;
  }
  wire::Tcp6SegmentSpec spec;
  switch (core_.Process6(rte_pktmbuf_mtod(m, uint8_t*),
                         rte_pktmbuf_data_len(m), info, now_ns, &spec,
                         slot)) {
    case ProxyAction::kDrop:
      link.Free(m);
      break;
    case ProxyAction::kForwardToClient:
      m->ol_flags = 0;  // the checksum was adjusted in place
      client_->Transmit(m);
      break;
    case ProxyAction::kForwardToBackend:
      m->ol_flags = 0;
      backend_->Transmit(m);
      break;
    case ProxyAction::kReplyToClient:
      WriteTcp6(m, spec);
      client_->Transmit(m);
      break;
    case ProxyAction::kReplyToBackend:
      WriteTcp6(m, spec);
      backend_->Transmit(m);
      break;
  }
}

// Frames other workers handed over: parsed again (their checksums were
// checked where they arrived) and handled here, where their flow lives.
void Proxy::DrainHandoff(uint64_t now_ns) {
  constexpr unsigned kBurst = engine::kMaxBurst;
  void* got[kBurst];
  wire::TcpSegmentSpec spec;
  const wire::RxOffload checked{wire::RxChecksum::kGood,
                                wire::RxChecksum::kGood};
  for (rte_ring* r : from_) {
    if (r == nullptr) continue;
    const unsigned n = rte_ring_sc_dequeue_burst(r, got, kBurst, nullptr);
    if (n == 0) continue;
    core_.Count(ProxyCounter::kHandoffIn, n);
    for (unsigned i = 0; i < n; ++i) {
      auto* m = static_cast<rte_mbuf*>(got[i]);
      wire::PacketInfo info;
      if (wire::ParseFrame(rte_pktmbuf_mtod(m, const uint8_t*),
                           rte_pktmbuf_data_len(m), checked,
                           &info) != wire::Verdict::kOk) {
        client_->Free(m);  // cannot happen: it parsed where it arrived
        continue;
      }
      Handle(m, info, *client_, now_ns, &spec, -1);
    }
  }
}

void Proxy::Send(bool to_backend, const wire::TcpSegmentSpec& spec) {
  engine::Link* link = to_backend ? backend_ : client_;
  rte_mbuf* m = link->Alloc();
  if (m == nullptr) return;  // counted as drop_no_mbuf
  wire::TcpSegmentSpec s = spec;
  s.ip_id = link->NextIpId();
  link->WriteTcpFrame(m, s);
  link->Transmit(m);
}

void Proxy::Send(bool to_backend, const wire::Tcp6SegmentSpec& spec) {
  engine::Link* link = to_backend ? backend_ : client_;
  rte_mbuf* m = link->Alloc();
  if (m == nullptr) return;  // counted as drop_no_mbuf
  WriteTcp6(m, spec);
  link->Transmit(m);
}

void Proxy::OnPoll(void* ctx, engine::Link&, tcp::TcpStack*, uint64_t now_ns) {
  auto* self = static_cast<Proxy*>(ctx);
  if (self->updates_ != nullptr) {
    const ProxyBackendSlots* list =
        self->updates_->current.load(std::memory_order_acquire);
    if (list != self->seen_) {
      self->seen_ = list;
      self->core_.SetBackends(*list);
    }
  }
  // The backends' MACs, every millisecond (ARP on the backend side).
  if (now_ns >= self->next_resolve_ns_) {
    self->next_resolve_ns_ = now_ns + 1'000'000;
    for (int b = 0; b < self->core_.num_backends(); ++b) {
      if (self->core_.config().ipv6) {
        self->ResolveBackend6(b, now_ns);
        continue;
      }
      self->core_.SetBackendMac(
          b, self->backend_->ResolveNextHop(
                 wire::Ipv4Address{self->core_.backend(b).addr.ip}, now_ns));
    }
  }
  if (!self->from_.empty()) self->DrainHandoff(now_ns);
  self->core_.Poll(now_ns);
}

// Neighbor Discovery on the backend side, or what another queue's proxy
// resolved (ProxySharedMacs); none: unresolved.
void Proxy::ResolveBackend6(int b, uint64_t now_ns) {
  const wire::MacAddress* mac =
      nd6_ == nullptr
          ? nullptr
          : nd6_->ResolveNextHop(core_.backend(b).addr.ip6, now_ns);
  if (shared_macs_ != nullptr && b < kMaxProxyBackends) {
    std::atomic<uint64_t>& shared = shared_macs_->mac[b];
    if (mac != nullptr) {
      shared.store(engine::PeerL2(*mac), std::memory_order_relaxed);
    } else if (const uint64_t l2 = shared.load(std::memory_order_relaxed);
               l2 != 0) {
      backend_mac6_[b] = engine::MacFromPeerL2(l2);
      mac = &backend_mac6_[b];
    }
  }
  core_.SetBackendMac(b, mac);
}

void Proxy::OnPublish(void* ctx, engine::CoreCounters& counters) {
  const auto* self = static_cast<const Proxy*>(ctx);
  for (size_t c = 0; c < static_cast<size_t>(ProxyCounter::kCount); ++c) {
    counters.Store(self->counter_base_ + c,
                   self->core_.count(static_cast<ProxyCounter>(c)));
  }
  constexpr size_t kPer = static_cast<size_t>(BackendCounter::kCount);
  for (int b = 0; b < self->core_.num_backends(); ++b) {
    for (size_t k = 0; k < kPer; ++k) {
      counters.Store(self->backend_base_ + b * kPer + k,
                     self->core_.backend(b).counts[k]);
    }
  }
  counters.StoreGauge(self->gauge_base_, self->core_.flows_in_use());
}

}  // namespace synwave::app
