// ProxyCore, the flow half: the record table, the dispatch of a frame to
// its side, the translation both ways with incremental checksums (RFC
// 1624), FIN/RST following, and the sweep (linger, idle timeout, backend
// SYN retransmission) that replaces a timer per flow.
#include <algorithm>
#include <cstring>

#include "app/proxy_core.h"

#include "absl/strings/str_cat.h"
#include "app/proxy_internal.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::app {
namespace {

using wire::SeqNum;
namespace tf = wire::tcp_flags;
using proxy_internal::CsumDelta;
using proxy_internal::FollowToBackend;
using proxy_internal::FollowToClient;
using proxy_internal::Ms;
using proxy_internal::MsSpan;
using proxy_internal::TranslateToBackend;
using proxy_internal::TranslateToClient;

}  // namespace

// The rendezvous weight of a backend: from its address, not its place in
// the list, so that a list change keeps every other backend's scores.
static uint64_t BackendWeight(const ProxyBackend& a) {
  const uint64_t ip = a.ip ^ ProxyCore::ClientId(a.ip6);
  return proxy_internal::Mix(ip << 16 | a.port);
}

// One family's table is the proxy's; the other's is a token one.
ProxyCore::ProxyCore(const ProxyConfig& config)
    : config_(config),
      hasher_(config.hash_seed),
      cookies_(config.secret),
      table_(config.ipv6 ? 1 : config.max_flows),
      pool_(config.max_flows),
      records_(new ProxyRecord[config.max_flows]()),
      hasher6_(config.hash_seed),
      table6_(config.ipv6 ? config.max_flows : 1) {
  if (config_.ipv6) {
    client6_.reset(new wire::Ipv6Address[config.max_flows]());
  }
  for (const ProxyBackend& b : config_.backends) {
    ProxyBackendState s;
    s.addr = b;
    s.weight = BackendWeight(b);
    s.learned = config_.defaults;
    s.counts[static_cast<size_t>(BackendCounter::kUp)] = 1;
    backends_.push_back(s);
    SetAddressDeltas(static_cast<int>(backends_.size()) - 1);
  }
}

ProxyCore::~ProxyCore() = default;

bool ProxyBackendSlots::Plan(const std::vector<ProxyBackend>& list,
                             ProxyBackendSlots* next,
                             std::string* error) const {
  next->slots = slots;
  next->active.assign(slots.size(), false);
  for (const ProxyBackend& b : list) {
    size_t i = 0;
    while (i < next->slots.size() && !(next->slots[i] == b)) ++i;
    if (i == next->slots.size()) {
      if (i == static_cast<size_t>(kMaxProxyBackends)) {
        *error = absl::StrCat(
            "more than ", kMaxProxyBackends,
            " backend slots: removed backends keep theirs until a restart");
        return false;
      }
      next->slots.push_back(b);
      next->active.push_back(false);
    }
    next->active[i] = true;
  }
  return true;
}

int ProxyBackendSlots::num_active() const {
  int n = 0;
  for (bool a : active) n += a ? 1 : 0;
  return n;
}

void ProxyCore::SetBackends(const ProxyBackendSlots& slots) {
  for (size_t b = 0; b < slots.slots.size(); ++b) {
    if (b == backends_.size()) {
      ProxyBackendState s;
      s.addr = slots.slots[b];
      s.weight = BackendWeight(s.addr);
      s.learned = config_.defaults;
      backends_.push_back(s);
      SetAddressDeltas(static_cast<int>(b));
    }
    ProxyBackendState& s = backends_[b];
    s.removed = !slots.active[b];
    if (s.removed) s.probe_pending = false;
    s.counts[static_cast<size_t>(BackendCounter::kUp)] =
        (s.up && !s.removed) ? 1 : 0;
  }
  Count(ProxyCounter::kBackendReloads);
}

ProxyBackendSlots ProxyCore::backend_slots() const {
  ProxyBackendSlots s;
  for (const ProxyBackendState& b : backends_) {
    s.slots.push_back(b.addr);
    s.active.push_back(!b.removed);
  }
  return s;
}

bool ProxyCore::IsListenPort(uint16_t port) const {
  for (uint16_t p : config_.listen_ports) {
    if (p == port) return true;
  }
  return false;
}

int ProxyCore::FindBackend(uint32_t ip, uint16_t port, uint16_t* vport) const {
  for (size_t b = 0; b < backends_.size(); ++b) {
    const ProxyBackend& a = backends_[b].addr;
    if (a.ip != ip) continue;
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

const ProxyRecord* ProxyCore::Find(uint32_t client_ip, uint16_t client_port,
                                   uint16_t vport) const {
  const flow::FlowKey key{config_.vip, client_ip, vport, client_port};
  const uint32_t idx = table_.Find(key, hasher_(key));
  return idx == kNone ? nullptr : &records_[idx];
}

uint32_t ProxyCore::NewRecord(const flow::FlowKey& key, uint32_t hash) {
  const uint32_t idx = pool_.Alloc();
  if (idx == kNone) return kNone;
  if (!table_.Insert(key, hash, idx)) {
    pool_.Free(idx);
    return kNone;
  }
  ProxyRecord& r = records_[idx];
  std::memset(&r, 0, sizeof(r));
  r.client_ip = key.remote_ip;
  r.client_port = key.remote_port;
  r.vport = key.local_port;
  return idx;
}

void ProxyCore::FreeRecord(uint32_t idx) {
  ProxyRecord& r = records_[idx];
  if (config_.ipv6) {
    const flow::FlowKey6 key{config_.vip6, client6_[idx], r.vport,
                             r.client_port};
    table6_.Erase(key, hasher6_(key));
  } else {
    const flow::FlowKey key{config_.vip, r.client_ip, r.vport, r.client_port};
    table_.Erase(key, hasher_(key));
  }
  CountBackend(r.backend, BackendCounter::kOpen, -1);
  r.state = kRecordFree;
  pool_.Free(idx);
}

ProxyAction ProxyCore::Process(uint8_t* frame, uint16_t,
                               const wire::PacketInfo& info, uint64_t now_ns,
                               wire::TcpSegmentSpec* spec, int slot) {
  const uint32_t dst = info.dst_ip.value;
  const uint8_t f = info.tcp_flags;
  if (dst == config_.vip && IsListenPort(info.dst_port)) {
    const flow::FlowKey key{config_.vip, info.src_ip.value, info.dst_port,
                            info.src_port};
    const uint32_t hash = hasher_(key);
    const uint32_t idx = table_.Find(key, hash);
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
      // A new connection on the tuple of a closing flow: a SYN gets a
      // cookie, a valid cookie ACK replaces the old record.
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
    return ForwardToBackend(idx, frame, info, now_ns);
  }
  if ((dst == config_.backend_side_ip || dst == config_.vip) &&
      IsProbePort(info.dst_port)) {
    return ProbeAnswer(frame, info, now_ns, spec);
  }
  uint16_t vport = 0;
  const int b = FindBackend(info.src_ip.value, info.src_port, &vport);
  if (b >= 0) {
    const flow::FlowKey key{config_.vip, dst, vport, info.dst_port};
    const uint32_t idx = table_.Find(key, hasher_(key));
    if (idx != kNone && records_[idx].backend == b) {
      ProxyRecord& r = records_[idx];
      if (r.state == kRecordConnecting) {
        return BackendConnecting(idx, frame, info, now_ns, spec);
      }
      if ((f & (tf::kSyn | tf::kAck)) == (tf::kSyn | tf::kAck)) {
        return BackendSynAckAgain(r, frame, info, spec);
      }
      return ForwardToClient(idx, frame, info, now_ns);
    }
  }
  Count(dst == config_.vip ? ProxyCounter::kClientNoFlow
                           : ProxyCounter::kUnknownBackendFrames);
  return ProxyAction::kDrop;
}

ProxyAction ProxyCore::ForwardToBackend(uint32_t idx, uint8_t* frame,
                                        const wire::PacketInfo& info,
                                        uint64_t now_ns) {
  ProxyRecord& r = records_[idx];
  const ProxyBackendState& be = backends_[r.backend];
  if (!be.mac_valid) {
    Count(ProxyCounter::kNoBackendMac);
    return ProxyAction::kDrop;
  }
  auto* eth = reinterpret_cast<wire::EthernetHeader*>(frame);
  auto* ip = reinterpret_cast<wire::Ipv4Header*>(frame + info.l3_offset);
  be.mac.CopyTo(eth->dst);
  config_.backend_side_mac.CopyTo(eth->src);

  CsumDelta d;
  const uint32_t bip = be.addr.ip;
  ip->checksum.set(wire::ChecksumUpdate32(ip->checksum.get(), config_.vip, bip));
  ip->dst.set(bip);
  d.Change32(config_.vip, bip);  // pseudo-header
  TranslateToBackend(r, BackendPort(r.backend, r.vport),
                     frame + info.l4_offset, info, &d);

  // FIN and RST, both ways: the client's FIN, and its ACK of the backend's.
  FollowToBackend(r, info, now_ns);
  Count(ProxyCounter::kToBackend);
  return ProxyAction::kForwardToBackend;
}

ProxyAction ProxyCore::ForwardToClient(uint32_t idx, uint8_t* frame,
                                       const wire::PacketInfo& info,
                                       uint64_t now_ns) {
  ProxyRecord& r = records_[idx];
  auto* eth = reinterpret_cast<wire::EthernetHeader*>(frame);
  auto* ip = reinterpret_cast<wire::Ipv4Header*>(frame + info.l3_offset);
  std::memcpy(eth->dst, r.client_mac, 6);
  config_.client_side_mac.CopyTo(eth->src);

  CsumDelta d;
  const uint32_t bip = info.src_ip.value;
  ip->checksum.set(wire::ChecksumUpdate32(ip->checksum.get(), bip, config_.vip));
  ip->src.set(config_.vip);
  d.Change32(bip, config_.vip);
  const uint32_t seq =
      TranslateToClient(r, frame + info.l4_offset, info, &d);

  FollowToClient(r, info, seq, now_ns);
  Count(ProxyCounter::kToClient);
  return ProxyAction::kForwardToClient;
}

void ProxyCore::Poll(uint64_t now_ns) {
  if (now_ns >= next_sweep_ns_) Sweep(now_ns);
  if (config_.probe_interval_ns == 0) return;
  if (now_ns >= next_probe_ns_) {
    SendProbes(now_ns);
    return;
  }
  for (size_t b = 0; b < backends_.size(); ++b) {
    const ProxyBackendState& s = backends_[b];
    if (s.probe_pending && !s.probe_sent && s.mac_valid) {
      SendProbe(static_cast<int>(b), now_ns);
    }
  }
}

// A slice of the records per millisecond, the whole array every 100 ms;
// after a longer pause, as much more as the pause was long.
void ProxyCore::Sweep(uint64_t now_ns) {
  constexpr uint64_t kPeriodNs = 1'000'000;
  const uint32_t cap = pool_.capacity();
  const uint64_t periods =
      next_sweep_ns_ == 0 ? 1 : (now_ns - next_sweep_ns_) / kPeriodNs + 1;
  next_sweep_ns_ = now_ns + kPeriodNs;
  const uint64_t n = std::min<uint64_t>(cap, periods * (cap / 100 + 1));
  const uint32_t now = Ms(now_ns);
  const uint32_t rto = MsSpan(config_.syn_rto_ns);
  const uint32_t linger = MsSpan(config_.linger_ns);
  const uint32_t idle = MsSpan(config_.idle_timeout_ns);
  for (uint64_t k = 0; k < n; ++k) {
    const uint32_t idx = sweep_at_;
    sweep_at_ = sweep_at_ + 1 == cap ? 0 : sweep_at_ + 1;
    ProxyRecord& r = records_[idx];
    const uint32_t age = now - r.last_ms;
    switch (r.state) {
      case kRecordFree:
        break;
      case kRecordConnecting:
        if (age < rto) break;
        if (r.tries < config_.syn_tries) {
          ++r.tries;
          r.last_ms = now;
          if (backends_[r.backend].mac_valid && out_ != nullptr) {
            SendBackendSyn(r);
            Count(ProxyCounter::kBackendSynRetransmits);
          }
        } else {
          if (out_ != nullptr) SendClientRst(r);
          Count(ProxyCounter::kBackendSynTimeouts);
          FreeRecord(idx);
        }
        break;
      case kRecordJoined:
        if (age > idle) {
          Count(ProxyCounter::kIdleTimeouts);
          FreeRecord(idx);
        }
        break;
      case kRecordLinger:
        if (age > linger) {
          Count(ProxyCounter::kClosed);
          FreeRecord(idx);
        }
        break;
    }
  }
}

}  // namespace synwave::app
