#include "app/proxy.h"

#include <rte_mbuf.h>

#include "app/counters.h"

namespace synwave::app {

Proxy::Proxy(const ProxyConfig& config)
    : core_(config),
      counter_base_(CounterIndex(ProxyCounter::kSynIn)),
      backend_base_(ProxyBackendCounterIndex(0, BackendCounter::kUp)),
      gauge_base_(ProxyFlowsGaugeIndex()) {
  core_.set_output(this);
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
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    switch (self->core_.Process(rte_pktmbuf_mtod(m, uint8_t*),
                                rte_pktmbuf_data_len(m), infos[i], now_ns,
                                &spec)) {
      case ProxyAction::kDrop:
        link.Free(m);
        break;
      case ProxyAction::kForwardToClient:
        m->ol_flags = 0;  // checksums were adjusted in place
        self->client_->Transmit(m);
        break;
      case ProxyAction::kForwardToBackend:
        m->ol_flags = 0;
        self->backend_->Transmit(m);
        break;
      case ProxyAction::kReplyToClient:
        spec.ip_id = self->client_->NextIpId();
        self->client_->WriteTcpFrame(m, spec);
        self->client_->Transmit(m);
        break;
      case ProxyAction::kReplyToBackend:
        spec.ip_id = self->backend_->NextIpId();
        self->backend_->WriteTcpFrame(m, spec);
        self->backend_->Transmit(m);
        break;
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

void Proxy::OnPoll(void* ctx, engine::Link&, tcp::TcpStack*, uint64_t now_ns) {
  auto* self = static_cast<Proxy*>(ctx);
  // The backends' MACs, every millisecond (ARP on the backend side).
  if (now_ns >= self->next_resolve_ns_) {
    self->next_resolve_ns_ = now_ns + 1'000'000;
    for (int b = 0; b < self->core_.num_backends(); ++b) {
      self->core_.SetBackendMac(
          b, self->backend_->ResolveNextHop(
                 wire::Ipv4Address{self->core_.backend(b).addr.ip}, now_ns));
    }
  }
  self->core_.Poll(now_ns);
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
