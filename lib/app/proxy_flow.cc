// ProxyCore, the flow half: the record table, the dispatch of a frame to
// its side, the translation both ways with incremental checksums (RFC
// 1624), FIN/RST following, and the sweep (linger, idle timeout, backend
// SYN retransmission) that replaces a timer per flow.
#include <algorithm>
#include <cstring>

#include "app/proxy_core.h"

#include "absl/strings/str_cat.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::app {
namespace {

using wire::SeqNum;
namespace tf = wire::tcp_flags;

// Coarse time for records: now_ns >> 20, about 1.05 ms.
uint32_t Ms(uint64_t ns) { return static_cast<uint32_t>(ns >> 20); }
uint32_t MsSpan(uint64_t ns) {
  return static_cast<uint32_t>(std::min<uint64_t>(ns >> 20, 0xffffffffu));
}

// A running ones'-complement adjustment of the TCP checksum: the sum of
// the new values minus the old ones, applied once (RFC 1624 eqn. 3).
struct CsumDelta {
  uint32_t sum = 0;

  // A 16-bit word at an even offset.
  void Change16(uint16_t from, uint16_t to) {
    sum += static_cast<uint16_t>(~from);
    sum += to;
  }
  // A 32-bit field at an even offset from the header start.
  void Change32(uint32_t from, uint32_t to) {
    Change16(static_cast<uint16_t>(from >> 16), static_cast<uint16_t>(to >> 16));
    Change16(static_cast<uint16_t>(from), static_cast<uint16_t>(to));
  }
  // A 32-bit field at an odd offset: its bytes fall into three words,
  // [x b0] [b1 b2] [b3 y].
  static uint16_t OddSum(uint32_t v) {
    return wire::FoldSum(uint64_t{v >> 24} + ((v >> 8) & 0xffff) +
                         ((v & 0xff) << 8));
  }
  void Change32At(size_t offset, uint32_t from, uint32_t to) {
    if ((offset & 1) == 0) {
      Change32(from, to);
    } else {
      Change16(OddSum(from), OddSum(to));
    }
  }
  uint16_t Apply(uint16_t checksum) const {
    return static_cast<uint16_t>(
        ~wire::FoldSum(uint64_t{static_cast<uint16_t>(~checksum)} + sum));
  }
};

// Big-endian 32-bit fields at any alignment (one load and a bswap).
uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
void Store32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

// Adds `add` (mod 2^32) to the 32-bit field at tcp + off.
void Shift32(uint8_t* tcp, size_t off, uint32_t add, CsumDelta* d) {
  const uint32_t from = Load32(tcp + off);
  const uint32_t to = from + add;
  Store32(tcp + off, to);
  d->Change32At(off, from, to);
}

// Rewrites the timestamps (TSval += tsval_add, TSecr += tsecr_add) and the
// SACK block edges (+= sack_add) of a TCP header of `hlen` bytes. The
// common layout (NOP, NOP, timestamps) is taken without a walk.
void RewriteOptions(uint8_t* tcp, size_t hlen, uint32_t tsval_add,
                    uint32_t tsecr_add, uint32_t sack_add, CsumDelta* d) {
  constexpr size_t kOpt = wire::kTcpMinHeaderLength;
  if (hlen == kOpt + 12 && tcp[kOpt] == 1 && tcp[kOpt + 1] == 1 &&
      tcp[kOpt + 2] == wire::tcp_option_kind::kTimestamps &&
      tcp[kOpt + 3] == 10) {
    if (tsval_add != 0) Shift32(tcp, kOpt + 4, tsval_add, d);
    if (tsecr_add != 0) Shift32(tcp, kOpt + 8, tsecr_add, d);
    return;
  }
  size_t i = kOpt;
  while (i < hlen) {
    const uint8_t kind = tcp[i];
    if (kind == wire::tcp_option_kind::kEol) break;
    if (kind == wire::tcp_option_kind::kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= hlen) break;
    const uint8_t len = tcp[i + 1];
    if (len < 2 || i + len > hlen) break;  // the parser already refused it
    if (kind == wire::tcp_option_kind::kTimestamps && len == 10) {
      if (tsval_add != 0) Shift32(tcp, i + 2, tsval_add, d);
      if (tsecr_add != 0) Shift32(tcp, i + 6, tsecr_add, d);
    } else if (kind == wire::tcp_option_kind::kSack && sack_add != 0) {
      for (size_t e = i + 2; e + 4 <= i + len; e += 4) {
        Shift32(tcp, e, sack_add, d);
      }
    }
    i += len;
  }
}

}  // namespace

ProxyCore::ProxyCore(const ProxyConfig& config)
    : config_(config),
      hasher_(config.hash_seed),
      cookies_(config.secret),
      table_(config.max_flows),
      pool_(config.max_flows),
      records_(new ProxyRecord[config.max_flows]()) {
  for (const ProxyBackend& b : config_.backends) {
    ProxyBackendState s;
    s.addr = b;
    s.learned = config_.defaults;
    s.counts[static_cast<size_t>(BackendCounter::kUp)] = 1;
    backends_.push_back(s);
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
    while (i < next->slots.size() &&
           (next->slots[i].ip != b.ip || next->slots[i].port != b.port)) {
      ++i;
    }
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
      s.learned = config_.defaults;
      backends_.push_back(s);
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
  const flow::FlowKey key{config_.vip, r.client_ip, r.vport, r.client_port};
  table_.Erase(key, hasher_(key));
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
    return ProbeAnswer(info, now_ns, spec);
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
        // The backend did not get our ACK: acknowledge its SYN-ACK again.
        const ProxyBackendState& be = backends_[b];
        *spec = wire::TcpSegmentSpec{};
        spec->src_mac = config_.backend_side_mac;
        spec->dst_mac = be.mac;
        spec->src_ip = info.dst_ip;
        spec->dst_ip = info.src_ip;
        spec->src_port = info.dst_port;
        spec->dst_port = info.src_port;
        spec->seq = info.ack;
        spec->ack = info.seq + 1;
        spec->flags = tf::kAck;
        spec->window = r.u.syn.client_window;
        if (info.options.has_timestamps) {
          spec->options.has_timestamps = true;
          spec->options.ts_val = info.options.ts_ecr;
          spec->options.ts_ecr = info.options.ts_val;
        }
        return ProxyAction::kReplyToBackend;
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
  uint8_t* tcp = frame + info.l4_offset;
  auto* th = reinterpret_cast<wire::TcpHeader*>(tcp);
  be.mac.CopyTo(eth->dst);
  config_.backend_side_mac.CopyTo(eth->src);

  CsumDelta d;
  const uint32_t bip = be.addr.ip;
  ip->checksum.set(wire::ChecksumUpdate32(ip->checksum.get(), config_.vip, bip));
  ip->dst.set(bip);
  d.Change32(config_.vip, bip);  // pseudo-header
  const uint16_t bport = BackendPort(r.backend, r.vport);
  if (bport != r.vport) {
    th->dst_port.set(bport);
    d.Change16(r.vport, bport);
  }
  const uint8_t f = info.tcp_flags;
  if (f & tf::kAck) {
    const uint32_t ack = info.ack.value() - r.seq_delta;
    th->ack.set(ack);
    d.Change32(info.ack.value(), ack);
  }
  const size_t hlen = th->HeaderLength();
  if (hlen > wire::kTcpMinHeaderLength) {
    RewriteOptions(tcp, hlen, 0, r.ts_off, 0u - r.seq_delta, &d);
  }
  th->checksum.set(d.Apply(th->checksum.get()));

  // FIN and RST, both ways: the client's FIN, and its ACK of the backend's.
  if (f & tf::kRst) {
    r.state = kRecordLinger;
  } else {
    if (f & tf::kFin) {
      r.flags |= record_flag::kFinClient;
      r.u.fin.fin_client = info.seq.value() + info.payload_length;
    }
    if ((r.flags & record_flag::kFinBackend) && (f & tf::kAck) &&
        info.ack > SeqNum(r.u.fin.fin_backend)) {
      r.flags |= record_flag::kFinBackendAcked;
    }
  }
  if (r.state == kRecordLinger) {
    // The linger runs from the first segment that ended the flow.
  } else if ((r.flags & (record_flag::kFinClientAcked |
                         record_flag::kFinBackendAcked)) ==
             (record_flag::kFinClientAcked | record_flag::kFinBackendAcked)) {
    r.state = kRecordLinger;
    r.last_ms = Ms(now_ns);
  } else {
    r.last_ms = Ms(now_ns);
  }
  if (f & tf::kRst) r.last_ms = Ms(now_ns);
  Count(ProxyCounter::kToBackend);
  return ProxyAction::kForwardToBackend;
}

ProxyAction ProxyCore::ForwardToClient(uint32_t idx, uint8_t* frame,
                                       const wire::PacketInfo& info,
                                       uint64_t now_ns) {
  ProxyRecord& r = records_[idx];
  auto* eth = reinterpret_cast<wire::EthernetHeader*>(frame);
  auto* ip = reinterpret_cast<wire::Ipv4Header*>(frame + info.l3_offset);
  uint8_t* tcp = frame + info.l4_offset;
  auto* th = reinterpret_cast<wire::TcpHeader*>(tcp);
  std::memcpy(eth->dst, r.client_mac, 6);
  config_.client_side_mac.CopyTo(eth->src);

  CsumDelta d;
  const uint32_t bip = info.src_ip.value;
  ip->checksum.set(wire::ChecksumUpdate32(ip->checksum.get(), bip, config_.vip));
  ip->src.set(config_.vip);
  d.Change32(bip, config_.vip);
  if (info.src_port != r.vport) {
    th->src_port.set(r.vport);
    d.Change16(info.src_port, r.vport);
  }
  const uint32_t seq = info.seq.value() + r.seq_delta;
  th->seq.set(seq);
  d.Change32(info.seq.value(), seq);
  if (r.ws_backend != r.ws_announced) {
    const uint32_t bytes = uint32_t{info.window} << r.ws_backend;
    const auto w = static_cast<uint16_t>(
        std::min<uint32_t>(bytes >> r.ws_announced, 0xffff));
    th->window.set(w);
    d.Change16(info.window, w);
  }
  const size_t hlen = th->HeaderLength();
  if (hlen > wire::kTcpMinHeaderLength) {
    RewriteOptions(tcp, hlen, 0u - r.ts_off, 0, 0, &d);
  }
  th->checksum.set(d.Apply(th->checksum.get()));

  const uint8_t f = info.tcp_flags;
  if (f & tf::kRst) {
    r.state = kRecordLinger;
    r.last_ms = Ms(now_ns);
  } else {
    if (f & tf::kFin) {
      r.flags |= record_flag::kFinBackend;
      r.u.fin.fin_backend = seq + info.payload_length;
    }
    if ((r.flags & record_flag::kFinClient) && (f & tf::kAck) &&
        info.ack > SeqNum(r.u.fin.fin_client)) {
      r.flags |= record_flag::kFinClientAcked;
    }
    if (r.state != kRecordLinger) {
      if ((r.flags & (record_flag::kFinClientAcked |
                      record_flag::kFinBackendAcked)) ==
          (record_flag::kFinClientAcked | record_flag::kFinBackendAcked)) {
        r.state = kRecordLinger;
      }
      r.last_ms = Ms(now_ns);
    }
  }
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
            wire::TcpSegmentSpec spec;
            BackendSynSpec(r, &spec);
            out_->Send(true, spec);
            Count(ProxyCounter::kBackendSynRetransmits);
          }
        } else {
          if (out_ != nullptr) {
            wire::TcpSegmentSpec spec;
            ClientRstSpec(r, &spec);
            out_->Send(false, spec);
          }
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
