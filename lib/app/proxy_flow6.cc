// ProxyCore over IPv6: the dispatch of an IPv6 proxy's frames and their
// forwarding both ways. The steps are IPv4's (proxy_flow.cc; the edge's
// are one template for both families, proxy_edge.cc): the flow is keyed by
// the client's IPv6 tuple in a FlowTable6, the client's address kept beside
// its record (client6_), and a forwarded frame rewritten in place. IPv6
// has no header checksum; the pseudo-header's change (the VIP for the
// backend's address or back, 8 words each) is a constant per backend,
// summed once (SetAddressDeltas) and added to the TCP checksum's delta.
#include <cstring>

#include "app/proxy_core.h"
#include "app/proxy_internal.h"
#include "wire/checksum.h"
#include "wire/byte_order.h"
#include "wire/headers.h"

namespace synwave::app {
namespace {

namespace tf = wire::tcp_flags;
using proxy_internal::CsumDelta;
using proxy_internal::FollowToBackend;
using proxy_internal::FollowToClient;
using proxy_internal::Same6;
using proxy_internal::TranslateToBackend;
using proxy_internal::TranslateToClient;

// Where the addresses sit in an IPv6 header.
constexpr size_t kSrcOffset = 8;
constexpr size_t kDstOffset = 24;

}  // namespace

void ProxyCore::SetAddressDeltas(int b) {
  if (!config_.ipv6 || b >= kMaxProxyBackends) return;
  CsumDelta d;
  const uint8_t* from = config_.vip6.bytes.data();
  const uint8_t* to = backends_[b].addr.ip6.bytes.data();
  for (size_t i = 0; i < 16; i += 2) {
    d.Change16(wire::LoadBe16(from + i), wire::LoadBe16(to + i));
  }
  to_backend_sum_[b] = wire::FoldSum(d.sum);
}

const ProxyRecord* ProxyCore::Find6(const wire::Ipv6Address& client,
                                    uint16_t client_port,
                                    uint16_t vport) const {
  const flow::FlowKey6 key{config_.vip6, client, vport, client_port};
  const uint32_t idx = table6_.Find(key, hasher6_(key));
  return idx == kNone ? nullptr : &records_[idx];
}

uint32_t ProxyCore::NewRecord(const flow::FlowKey6& key, uint32_t hash) {
  const uint32_t idx = pool_.Alloc();
  if (idx == kNone) return kNone;
  if (!table6_.Insert(key, hash, idx)) {
    pool_.Free(idx);
    return kNone;
  }
  ProxyRecord& r = records_[idx];
  std::memset(&r, 0, sizeof(r));
  r.client_ip = ClientId(key.remote_ip);
  r.client_port = key.remote_port;
  r.vport = key.local_port;
  client6_[idx] = key.remote_ip;
  return idx;
}

int ProxyCore::FindBackend6(const wire::Ipv6Address& ip, uint16_t port,
                            uint16_t* vport) const {
  for (size_t b = 0; b < backends_.size(); ++b) {
    const ProxyBackend& a = backends_[b].addr;
    if (!Same6(a.ip6, ip)) continue;
    if (a.port == 0) {
      if (!IsListenPort(port)) continue;
      *vport = port;
    } else {
      if (a.port != port) continue;
      *vport = config_.listen_ports.front();  // config: one listen port
    }
    return static_cast<int>(b);
  }
  return -1;
}

ProxyAction ProxyCore::Process6(uint8_t* frame, uint16_t,
                                const wire::PacketInfo& info, uint64_t now_ns,
                                wire::Tcp6SegmentSpec* spec, int slot) {
  const wire::Ipv6Address dst = wire::Ipv6Dst(frame, info);
  const uint8_t f = info.tcp_flags;
  if (Same6(dst, config_.vip6) && IsListenPort(info.dst_port)) {
    const flow::FlowKey6 key{config_.vip6, wire::Ipv6Src(frame, info),
                             info.dst_port, info.src_port};
    const uint32_t hash = hasher6_(key);
    const uint32_t idx = table6_.Find(key, hash);
    if (idx == kNone) {
      if ((f & (tf::kSyn | tf::kAck | tf::kRst)) == tf::kSyn) {
        return ClientSyn(frame, info, key, now_ns, spec, slot);
      }
      if ((f & (tf::kSyn | tf::kAck | tf::kRst)) == tf::kAck) {
        return CookieAck(frame, info, key, hash, now_ns, spec);
      }
      Count(ProxyCounter::kClientNoFlow);
      return ProxyAction::kDrop;
    }
    ProxyRecord& r = records_[idx];
    if (r.state == kRecordConnecting) {
      if (info.payload_length > 0) Count(ProxyCounter::kEarlyDataDropped);
      if (f & tf::kRst) FreeRecord(idx);  // the client gave up
      return ProxyAction::kDrop;
    }
    const bool closing =
        r.state == kRecordLinger ||
        (r.flags & (record_flag::kFinClient | record_flag::kFinBackend));
    if (closing) {
      // A new connection on the tuple of a closing flow.
      if ((f & (tf::kSyn | tf::kAck | tf::kRst)) == tf::kSyn) {
        return ClientSyn(frame, info, key, now_ns, spec, slot);
      }
      if ((f & (tf::kSyn | tf::kAck | tf::kRst | tf::kFin)) == tf::kAck &&
          cookies_.Check(key, info.seq - 1, info.ack - 1,
                         tcp::SynCookies::Counter(now_ns, config_.cookies)) !=
              0) {
        FreeRecord(idx);
        Count(ProxyCounter::kReopened);
        return CookieAck(frame, info, key, hash, now_ns, spec);
      }
    }
    return ForwardToBackend6(idx, frame, info, now_ns);
  }
  if ((Same6(dst, config_.backend_side_ip6) || Same6(dst, config_.vip6)) &&
      IsProbePort(info.dst_port)) {
    return ProbeAnswer(frame, info, now_ns, spec);
  }
  uint16_t vport = 0;
  const int b =
      FindBackend6(wire::Ipv6Src(frame, info), info.src_port, &vport);
  if (b >= 0) {
    const flow::FlowKey6 key{config_.vip6, dst, vport, info.dst_port};
    const uint32_t idx = table6_.Find(key, hasher6_(key));
    if (idx != kNone && records_[idx].backend == b) {
      ProxyRecord& r = records_[idx];
      if (r.state == kRecordConnecting) {
        return BackendConnecting(idx, frame, info, now_ns, spec);
      }
      if ((f & (tf::kSyn | tf::kAck)) == (tf::kSyn | tf::kAck)) {
        return BackendSynAckAgain(r, frame, info, spec);
      }
      return ForwardToClient6(idx, frame, info, now_ns);
    }
  }
  Count(Same6(dst, config_.vip6) ? ProxyCounter::kClientNoFlow
                            : ProxyCounter::kUnknownBackendFrames);
  return ProxyAction::kDrop;
}

ProxyAction ProxyCore::ForwardToBackend6(uint32_t idx, uint8_t* frame,
                                         const wire::PacketInfo& info,
                                         uint64_t now_ns) {
  ProxyRecord& r = records_[idx];
  const ProxyBackendState& be = backends_[r.backend];
  if (!be.mac_valid) {
    Count(ProxyCounter::kNoBackendMac);
    return ProxyAction::kDrop;
  }
  auto* eth = reinterpret_cast<wire::EthernetHeader*>(frame);
  be.mac.CopyTo(eth->dst);
  config_.backend_side_mac.CopyTo(eth->src);
  std::memcpy(frame + info.l3_offset + kDstOffset, be.addr.ip6.bytes.data(),
              16);
  CsumDelta d;
  d.sum = to_backend_sum_[r.backend];  // pseudo-header: VIP -> backend
  TranslateToBackend(r, BackendPort(r.backend, r.vport),
                     frame + info.l4_offset, info, &d);
  FollowToBackend(r, info, now_ns);
  Count(ProxyCounter::kToBackend);
  return ProxyAction::kForwardToBackend;
}

ProxyAction ProxyCore::ForwardToClient6(uint32_t idx, uint8_t* frame,
                                        const wire::PacketInfo& info,
                                        uint64_t now_ns) {
  ProxyRecord& r = records_[idx];
  auto* eth = reinterpret_cast<wire::EthernetHeader*>(frame);
  std::memcpy(eth->dst, r.client_mac, 6);
  config_.client_side_mac.CopyTo(eth->src);
  std::memcpy(frame + info.l3_offset + kSrcOffset, config_.vip6.bytes.data(),
              16);
  CsumDelta d;
  // Backend -> VIP: the negation of VIP -> backend (ones' complement).
  d.sum = static_cast<uint16_t>(~to_backend_sum_[r.backend]);
  const uint32_t seq = TranslateToClient(r, frame + info.l4_offset, info, &d);
  FollowToClient(r, info, seq, now_ns);
  Count(ProxyCounter::kToClient);
  return ProxyAction::kForwardToClient;
}

}  // namespace synwave::app
