// ProxyCore, the edge half: the client's handshake with a cookie (no state
// per SYN), the completing ACK, the backend's handshake with the client's
// ISN and options, backend choice (rendezvous hashing) and health probes.
#include <algorithm>
#include <cstring>

#include "app/proxy_core.h"
#include "app/proxy_internal.h"
#include "wire/headers.h"

namespace synwave::app {
namespace {

using wire::SeqNum;
namespace tf = wire::tcp_flags;
using proxy_internal::Mix;
using proxy_internal::Ms;
using Spec4 = wire::TcpSegmentSpec;
using Spec6 = wire::Tcp6SegmentSpec;

constexpr uint8_t kNoWscale = tcp::kCookieNoWscale;

}  // namespace

void ProxyCore::SetBackendMac(int b, const wire::MacAddress* mac) {
  ProxyBackendState& s = backends_[b];
  s.mac_valid = mac != nullptr;
  if (mac != nullptr) s.mac = *mac;
}

int ProxyCore::PickBackend(uint32_t client_ip, uint16_t client_port) const {
  const uint64_t flow =
      Mix((uint64_t{client_ip} << 16 | client_port) ^ config_.hash_seed);
  int best = -1;
  uint64_t best_score = 0;
  for (size_t b = 0; b < backends_.size(); ++b) {
    if (!backends_[b].up || backends_[b].removed) continue;
    // The weight of a backend depends on its address, not its position in
    // the list, so a list change keeps every other backend's scores.
    const uint64_t score = Mix(flow ^ backends_[b].weight);
    if (best < 0 || score > best_score) {
      best = static_cast<int>(b);
      best_score = score;
    }
  }
  return best;
}

int ProxyCore::ClientOwner(uint32_t client_ip, uint16_t client_port,
                           int workers) {
  const uint64_t h = Mix(uint64_t{client_ip} << 16 | client_port);
  return static_cast<int>((h >> 32) % static_cast<uint64_t>(workers));
}

int ProxyCore::Owner(const wire::PacketInfo& info, int workers) const {
  const uint32_t dst = info.dst_ip.value;
  if (dst == config_.vip && IsListenPort(info.dst_port)) {
    if ((info.tcp_flags & (tf::kSyn | tf::kAck)) == tf::kSyn) return -1;
    return ClientOwner(info.src_ip.value, info.src_port, workers);
  }
  if ((dst == config_.backend_side_ip || dst == config_.vip) &&
      info.dst_port >= kProbePortBase &&
      info.dst_port < kProbePortBase + kProbePortsPerWorker * workers) {
    return (info.dst_port - kProbePortBase) / kProbePortsPerWorker;
  }
  return ClientOwner(dst, info.dst_port, workers);
}

int ProxyCore::Owner6(const uint8_t* frame, const wire::PacketInfo& info,
                      int workers) const {
  const wire::Ipv6Address dst = wire::Ipv6Dst(frame, info);
  if (proxy_internal::Same6(dst, config_.vip6) &&
      IsListenPort(info.dst_port)) {
    if ((info.tcp_flags & (tf::kSyn | tf::kAck)) == tf::kSyn) return -1;
    return ClientOwner(ClientId(wire::Ipv6Src(frame, info)), info.src_port,
                       workers);
  }
  if ((proxy_internal::Same6(dst, config_.backend_side_ip6) ||
       proxy_internal::Same6(dst, config_.vip6)) &&
      info.dst_port >= kProbePortBase &&
      info.dst_port < kProbePortBase + kProbePortsPerWorker * workers) {
    return (info.dst_port - kProbePortBase) / kProbePortsPerWorker;
  }
  return ClientOwner(ClientId(dst), info.dst_port, workers);
}

ProxyOptions ProxyCore::Announced() const {
  ProxyOptions a;
  bool any = false;
  for (const ProxyBackendState& s : backends_) {
    if (!s.up || !s.probed || s.removed) continue;
    if (!any) {
      a = s.learned;
      any = true;
      continue;
    }
    a.mss = std::min(a.mss, s.learned.mss);
    a.wscale = (a.wscale == kNoWscale || s.learned.wscale == kNoWscale)
                   ? kNoWscale
                   : std::min(a.wscale, s.learned.wscale);
    a.sack &= s.learned.sack;
    a.timestamps &= s.learned.timestamps;
  }
  return any ? a : config_.defaults;
}

template <class S>
ProxyAction ProxyCore::NoBackendAnswer(const uint8_t* frame,
                                       const wire::PacketInfo& info,
                                       S* spec) {
  if (config_.no_backend == NoBackend::kDrop) {
    Count(ProxyCounter::kNoBackendDrop);
    return ProxyAction::kDrop;
  }
  Count(ProxyCounter::kNoBackendRst);
  return RstToClient(frame, info, spec);
}

template <class S>
ProxyAction ProxyCore::RstToClient(const uint8_t* frame,
                                   const wire::PacketInfo& info, S* spec) {
  *spec = S{};
  spec->src_mac = config_.client_side_mac;
  spec->dst_mac = reinterpret_cast<const wire::EthernetHeader*>(frame)->Src();
  spec->src_ip = DstOf<S>(frame, info);
  spec->dst_ip = SrcOf<S>(frame, info);
  spec->src_port = info.dst_port;
  spec->dst_port = info.src_port;
  if (info.tcp_flags & tf::kAck) {
    spec->seq = info.ack;  // RFC 9293 3.10.7.1: <SEQ=SEG.ACK><CTL=RST>
    spec->flags = tf::kRst;
  } else {
    spec->seq = SeqNum(0);
    spec->ack = info.seq + info.SegmentLength();
    spec->flags = tf::kRst | tf::kAck;
  }
  return ProxyAction::kReplyToClient;
}

// The SYNs of a burst to a listening port whose key `key_of(i, &key)`
// builds (false: not to the VIP, or of the other family), their cookies
// hashed together.
template <class K, class KeyOf>
void ProxyCore::PrepareBatch(K* keys, const wire::PacketInfo* infos,
                             uint16_t n, uint64_t now_ns, KeyOf key_of) {
  SeqNum* seqs = prepared_seqs_;
  uint16_t* mss = prepared_mss_;
  n = std::min(n, kMaxPrepared);
  unsigned m = 0;
  for (uint16_t i = 0; i < n; ++i) {
    const wire::PacketInfo& in = infos[i];
    syn_index_[i] = 0xff;
    if ((in.tcp_flags & (tf::kSyn | tf::kAck | tf::kRst)) != tf::kSyn ||
        !IsListenPort(in.dst_port) || !key_of(i, &keys[m])) {
      continue;
    }
    seqs[m] = in.seq;
    mss[m] = in.options.has_mss ? in.options.mss : 0;
    syn_index_[i] = static_cast<uint8_t>(m++);
  }
  prepared_n_ = n;
  prepared_ns_ = now_ns;
  if (m > 0) {
    cookies_.MakeBatch(keys, seqs, mss, m,
                       tcp::SynCookies::Counter(now_ns, config_.cookies),
                       prepared_cookie_, prepared_aux_);
  }
}

void ProxyCore::PrepareSyns(const wire::PacketInfo* infos, uint16_t n,
                            uint64_t now_ns) {
  PrepareBatch(prepared_keys_, infos, n, now_ns,
               [&](uint16_t i, flow::FlowKey* key) {
                 const wire::PacketInfo& in = infos[i];
                 if (in.dst_ip.value != config_.vip) return false;
                 *key = flow::FlowKey{config_.vip, in.src_ip.value,
                                      in.dst_port, in.src_port};
                 return true;
               });
}

void ProxyCore::PrepareSyns6(const uint8_t* const* frames,
                             const wire::PacketInfo* infos, uint16_t n,
                             uint64_t now_ns) {
  PrepareBatch(prepared_keys6_, infos, n, now_ns,
               [&](uint16_t i, flow::FlowKey6* key) {
                 const wire::PacketInfo& in = infos[i];
                 if (in.family != wire::IpFamily::kIpv6 ||
                     !proxy_internal::Same6(wire::Ipv6Dst(frames[i], in),
                                            config_.vip6)) {
                   return false;
                 }
                 *key = flow::FlowKey6{config_.vip6,
                                       wire::Ipv6Src(frames[i], in),
                                       in.dst_port, in.src_port};
                 return true;
               });
}

template <class K, class S>
ProxyAction ProxyCore::ClientSyn(uint8_t* frame, const wire::PacketInfo& info,
                                 const K& key, uint64_t now_ns, S* spec,
                                 int slot) {
  Count(ProxyCounter::kSynIn);
  if (PickBackend(RemoteId(key), key.remote_port) < 0) {
    return NoBackendAnswer(frame, info, spec);
  }
  const ProxyOptions a = Announced();
  const wire::TcpOptions& o = info.options;
  uint32_t aux;
  SeqNum isn;
  if (slot >= 0 && slot < prepared_n_ && syn_index_[slot] != 0xff &&
      prepared_ns_ == now_ns) {
    isn = prepared_cookie_[syn_index_[slot]];  // PrepareSyns(6) made it
    aux = prepared_aux_[syn_index_[slot]];
  } else {
    isn = cookies_.Make(key, info.seq, o.has_mss ? o.mss : 0,
                        tcp::SynCookies::Counter(now_ns, config_.cookies),
                        &aux);
  }
  *spec = S{};
  spec->src_mac = config_.client_side_mac;
  spec->dst_mac = reinterpret_cast<const wire::EthernetHeader*>(frame)->Src();
  spec->src_ip = DstOf<S>(frame, info);
  spec->dst_ip = SrcOf<S>(frame, info);
  spec->src_port = info.dst_port;
  spec->dst_port = info.src_port;
  spec->seq = isn;
  spec->ack = info.seq + 1;
  spec->flags = tf::kSyn | tf::kAck;
  spec->window = 0;  // no data before the backend is there
  spec->options.has_mss = true;
  spec->options.mss = a.mss;
  // Window scale and SACK ride in the timestamp; without one, neither.
  if (o.has_timestamps && a.timestamps) {
    const bool ws = o.has_window_scale && a.wscale != kNoWscale;
    const bool sack = o.sack_permitted && a.sack;
    spec->options.has_timestamps = true;
    spec->options.ts_val = tcp::EncodeCookieTsval(
        Ms(now_ns) + aux,
        ws ? std::min(o.window_scale, wire::kMaxWindowScale) : kNoWscale,
        sack);
    spec->options.ts_ecr = o.ts_val;
    spec->options.has_window_scale = ws;
    spec->options.window_scale = ws ? a.wscale : 0;
    spec->options.sack_permitted = sack;
  }
  Count(ProxyCounter::kCookieSynAcks);
  return ProxyAction::kReplyToClient;
}

template <class K, class S>
ProxyAction ProxyCore::CookieAck(uint8_t* frame, const wire::PacketInfo& info,
                                 const K& key, uint32_t hash, uint64_t now_ns,
                                 S* spec) {
  const uint32_t counter = tcp::SynCookies::Counter(now_ns, config_.cookies);
  const SeqNum cookie = info.ack - 1;
  SeqNum isn = info.seq - 1;
  uint32_t aux;
  uint16_t mss = cookies_.Check(key, isn, cookie, counter, &aux);
  bool probe_form = false;
  if (mss == 0 && info.payload_length == 0 && !(info.tcp_flags & tf::kFin)) {
    // A window probe (SEG.SEQ = ISN) from a client whose ACK was lost.
    isn = info.seq;
    mss = cookies_.Check(key, isn, cookie, counter, &aux);
    probe_form = mss != 0;
  }
  uint8_t ws = kNoWscale;
  bool sack = false;
  const bool ts = info.options.has_timestamps;
  if (mss == 0 || (ts && !tcp::DecodeCookieTsecr(info.options.ts_ecr, &ws,
                                                  &sack))) {
    Count(ProxyCounter::kCookiesInvalid);
    return ProxyAction::kDrop;
  }
  Count(ProxyCounter::kCookiesValid);
  if (probe_form) Count(ProxyCounter::kCookiesValidProbe);
  const int b = PickBackend(RemoteId(key), key.remote_port);
  if (b < 0) return NoBackendAnswer(frame, info, spec);
  const uint32_t idx = NewRecord(key, hash);
  if (idx == kNone) {
    // No record to be had: the client, which believes it is connected,
    // is told at once (RST, counted) rather than left to retransmit into
    // a flow that does not exist.
    Count(ProxyCounter::kTableFull);
    return RstToClient(frame, info, spec);
  }
  ProxyRecord& r = records_[idx];
  r.seq_delta = cookie.value();             // Ip, until the backend answers
  r.ts_off = ts ? info.options.ts_ecr : 0;  // our TSval, likewise
  std::memcpy(r.client_mac,
              reinterpret_cast<const wire::EthernetHeader*>(frame)->src, 6);
  r.backend = static_cast<uint8_t>(b);
  r.state = kRecordConnecting;
  if (ws != kNoWscale) {
    r.flags |= record_flag::kClientWscale;
    const uint8_t announced = Announced().wscale;
    r.ws_announced = announced == kNoWscale ? 0 : announced;
    r.ws_backend = ws;  // the client's, until the backend answers
  }
  if (ts) r.flags |= record_flag::kTimestamps;
  if (sack) r.flags |= record_flag::kSack;
  r.tries = 1;
  r.last_ms = Ms(now_ns);
  r.u.syn.client_isn = isn.value();
  r.u.syn.client_tsval = ts ? info.options.ts_val : 0;
  r.u.syn.client_window = info.window;
  r.u.syn.mss = mss;
  CountBackend(b, BackendCounter::kOpen);
  if (info.payload_length > 0) Count(ProxyCounter::kEarlyDataDropped);
  if (!backends_[b].mac_valid) {
    Count(ProxyCounter::kNoBackendMac);  // the sweep sends it when known
    return ProxyAction::kDrop;
  }
  BackendSynSpec(r, spec);
  Count(ProxyCounter::kBackendSynOut);
  return ProxyAction::kReplyToBackend;
}

template <class S>
void ProxyCore::BackendSynSpec(const ProxyRecord& r, S* spec) const {
  const ProxyBackendState& be = backends_[r.backend];
  *spec = S{};
  spec->src_mac = config_.backend_side_mac;
  spec->dst_mac = be.mac;
  spec->src_ip = ClientAddr<S>(r);
  spec->dst_ip = BackendAddr<S>(r.backend);
  spec->src_port = r.client_port;
  spec->dst_port = BackendPort(r.backend, r.vport);
  spec->seq = SeqNum(r.u.syn.client_isn);
  spec->flags = tf::kSyn;
  const bool client_ws = r.flags & record_flag::kClientWscale;
  const uint32_t window = uint32_t{r.u.syn.client_window}
                          << (client_ws ? r.ws_backend : 0);
  spec->window = static_cast<uint16_t>(std::min<uint32_t>(window, 0xffff));
  spec->options.has_mss = true;
  spec->options.mss = r.u.syn.mss;
  if (client_ws) {
    spec->options.has_window_scale = true;
    spec->options.window_scale = r.ws_backend;
  }
  spec->options.sack_permitted = (r.flags & record_flag::kSack) != 0;
  if (r.flags & record_flag::kTimestamps) {
    spec->options.has_timestamps = true;
    spec->options.ts_val = r.u.syn.client_tsval;
    spec->options.ts_ecr = 0;
  }
}

template <class S>
void ProxyCore::ClientRstSpec(const ProxyRecord& r, S* spec) const {
  *spec = S{};
  spec->src_mac = config_.client_side_mac;
  spec->dst_mac = wire::MacAddress::FromBytes(r.client_mac);
  spec->src_ip = VipAddr<S>();
  spec->dst_ip = ClientAddr<S>(r);
  spec->src_port = r.vport;
  spec->dst_port = r.client_port;
  spec->seq = SeqNum(r.seq_delta + 1);  // Ip + 1 while connecting
  spec->ack = SeqNum(r.u.syn.client_isn + 1);
  spec->flags = tf::kRst | tf::kAck;
}

template <class S>
ProxyAction ProxyCore::BackendConnecting(uint32_t idx, const uint8_t* frame,
                                         const wire::PacketInfo& info,
                                         uint64_t now_ns, S* spec) {
  ProxyRecord& r = records_[idx];
  const uint8_t f = info.tcp_flags;
  const uint32_t isn = r.u.syn.client_isn;
  if ((f & tf::kRst) && (f & tf::kAck) && info.ack.value() == isn + 1) {
    Count(ProxyCounter::kBackendRefused);
    ClientRstSpec(r, spec);
    FreeRecord(idx);
    return ProxyAction::kReplyToClient;
  }
  if ((f & (tf::kSyn | tf::kAck | tf::kRst)) != (tf::kSyn | tf::kAck) ||
      info.ack.value() != isn + 1) {
    Count(ProxyCounter::kUnknownBackendFrames);
    return ProxyAction::kDrop;
  }
  const ProxyBackendState& be = backends_[r.backend];
  const uint32_t ip_isn = r.seq_delta;
  const uint32_t our_tsval = r.ts_off;
  const uint32_t client_tsval = r.u.syn.client_tsval;
  const uint16_t client_window = r.u.syn.client_window;
  const uint32_t backend_isn = info.seq.value();
  const bool ts = (r.flags & record_flag::kTimestamps) &&
                  info.options.has_timestamps;
  r.seq_delta = ip_isn - backend_isn;
  r.ts_off = ts ? info.options.ts_val - our_tsval : 0;
  r.ws_backend = (r.flags & record_flag::kClientWscale) &&
                         info.options.has_window_scale
                     ? std::min(info.options.window_scale,
                                wire::kMaxWindowScale)
                     : 0;
  r.state = kRecordJoined;
  r.u.fin.fin_client = 0;
  r.u.fin.fin_backend = 0;
  r.u.syn.client_window = client_window;  // kept for a repeated SYN-ACK
  r.last_ms = Ms(now_ns);
  Count(ProxyCounter::kEstablished);
  CountBackend(r.backend, BackendCounter::kConnections);

  // The backend's handshake ends with our ACK, written over its SYN-ACK.
  *spec = S{};
  spec->src_mac = config_.backend_side_mac;
  spec->dst_mac = be.mac;
  spec->src_ip = DstOf<S>(frame, info);
  spec->dst_ip = SrcOf<S>(frame, info);
  spec->src_port = info.dst_port;
  spec->dst_port = info.src_port;
  spec->seq = SeqNum(isn + 1);
  spec->ack = SeqNum(backend_isn + 1);
  spec->flags = tf::kAck;
  spec->window = client_window;
  if (ts) {
    spec->options.has_timestamps = true;
    spec->options.ts_val = client_tsval;
    spec->options.ts_ecr = info.options.ts_val;
  }
  // The client may send now: the backend's window, in the scale it was
  // told (a SYN-ACK's window is never scaled).
  if (out_ != nullptr) {
    S wu;
    wu.src_mac = config_.client_side_mac;
    wu.dst_mac = wire::MacAddress::FromBytes(r.client_mac);
    wu.src_ip = VipAddr<S>();
    wu.dst_ip = ClientAddr<S>(r);
    wu.src_port = r.vport;
    wu.dst_port = r.client_port;
    wu.seq = SeqNum(ip_isn + 1);
    wu.ack = SeqNum(isn + 1);
    wu.flags = tf::kAck;
    wu.window = static_cast<uint16_t>(info.window >> r.ws_announced);
    if (ts) {
      wu.options.has_timestamps = true;
      wu.options.ts_val = our_tsval;
      wu.options.ts_ecr = client_tsval;
    }
    out_->Send(false, wu);
  }
  return ProxyAction::kReplyToBackend;
}

void ProxyCore::ProbeResult(int b, bool ok, const wire::TcpOptions* opts) {
  ProxyBackendState& s = backends_[b];
  s.probe_pending = false;
  if (ok) {
    Count(ProxyCounter::kProbesOk);
    CountBackend(b, BackendCounter::kProbesOk);
    s.bad = 0;
    if (s.good < 255) ++s.good;
    if (opts != nullptr) {
      s.learned.mss = opts->has_mss ? opts->mss : 536;
      s.learned.wscale = opts->has_window_scale
                             ? std::min(opts->window_scale,
                                        wire::kMaxWindowScale)
                             : kNoWscale;
      s.learned.sack = opts->sack_permitted;
      s.learned.timestamps = opts->has_timestamps;
    }
    // The first answer decides at once; later, up_after in a row.
    if (!s.up && (!s.probed || s.good >= config_.up_after)) {
      s.up = true;
      Count(ProxyCounter::kBackendUp);
    }
    s.probed = true;
  } else {
    Count(ProxyCounter::kProbesFailed);
    CountBackend(b, BackendCounter::kProbesFailed);
    s.good = 0;
    if (s.bad < 255) ++s.bad;
    if (s.up && (!s.probed || s.bad >= config_.down_after)) {
      s.up = false;
      Count(ProxyCounter::kBackendDown);
    }
    s.probed = true;
  }
  s.counts[static_cast<size_t>(BackendCounter::kUp)] =
      (s.up && !s.removed) ? 1 : 0;
}

// Each interval: a probe still unanswered failed (one that could not
// leave because the backend does not answer ARP too); then a new SYN to
// each backend. A probe that waits for ARP leaves as soon as the MAC is
// known (ProxyCore::Poll), so a backend is judged on its answers.
void ProxyCore::SendProbes(uint64_t now_ns) {
  next_probe_ns_ = now_ns + config_.probe_interval_ns;
  for (size_t b = 0; b < backends_.size(); ++b) {
    ProxyBackendState& s = backends_[b];
    if (s.removed) continue;
    if (s.probe_pending) ProbeResult(static_cast<int>(b), false, nullptr);
    s.probe_pending = true;
    s.probe_sent = false;
    s.probe_seq = probe_seq_;
    probe_seq_ = probe_seq_ * 2654435761u + 0x3c6ef372u;
    SendProbe(static_cast<int>(b), now_ns);
  }
}

template <class S>
void ProxyCore::ProbeSpec(int b, uint64_t now_ns, S* spec) const {
  const ProxyBackendState& s = backends_[b];
  spec->src_mac = config_.backend_side_mac;
  spec->dst_mac = s.mac;
  spec->src_ip = BackendSideAddr<S>();
  spec->dst_ip = BackendAddr<S>(b);
  spec->src_port = static_cast<uint16_t>(config_.probe_port + b);
  spec->dst_port = BackendPort(b, config_.listen_ports.front());
  spec->seq = SeqNum(s.probe_seq);
  spec->flags = tf::kSyn;
  spec->window = 65535;
  spec->options.has_mss = true;
  // IPv6's header is 20 bytes longer: the MSS of a 1500-byte link.
  spec->options.mss = kIs6<S> ? 1440 : 1460;
  spec->options.has_window_scale = true;
  spec->options.window_scale = 7;
  spec->options.sack_permitted = true;
  spec->options.has_timestamps = true;
  spec->options.ts_val = Ms(now_ns);
}

void ProxyCore::SendProbe(int b, uint64_t now_ns) {
  ProxyBackendState& s = backends_[b];
  if (!s.mac_valid || out_ == nullptr) return;
  s.probe_sent = true;
  if (config_.ipv6) {
    Spec6 spec;
    ProbeSpec(b, now_ns, &spec);
    out_->Send(true, spec);
  } else {
    Spec4 spec;
    ProbeSpec(b, now_ns, &spec);
    out_->Send(true, spec);
  }
  Count(ProxyCounter::kProbesOut);
}

void ProxyCore::SendBackendSyn(const ProxyRecord& r) {
  if (config_.ipv6) {
    Spec6 spec;
    BackendSynSpec(r, &spec);
    out_->Send(true, spec);
  } else {
    Spec4 spec;
    BackendSynSpec(r, &spec);
    out_->Send(true, spec);
  }
}

void ProxyCore::SendClientRst(const ProxyRecord& r) {
  if (config_.ipv6) {
    Spec6 spec;
    ClientRstSpec(r, &spec);
    out_->Send(false, spec);
  } else {
    Spec4 spec;
    ClientRstSpec(r, &spec);
    out_->Send(false, spec);
  }
}

template <class S>
ProxyAction ProxyCore::BackendSynAckAgain(const ProxyRecord& r,
                                          const uint8_t* frame,
                                          const wire::PacketInfo& info,
                                          S* spec) {
  const ProxyBackendState& be = backends_[r.backend];
  *spec = S{};
  spec->src_mac = config_.backend_side_mac;
  spec->dst_mac = be.mac;
  spec->src_ip = DstOf<S>(frame, info);
  spec->dst_ip = SrcOf<S>(frame, info);
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

template <class S>
ProxyAction ProxyCore::ProbeAnswer(const uint8_t* frame,
                                   const wire::PacketInfo& info, uint64_t,
                                   S* spec) {
  const int b = info.dst_port - config_.probe_port;
  ProxyBackendState& s = backends_[b];
  if (!(SrcOf<S>(frame, info) == BackendAddr<S>(b)) || !s.probe_pending ||
      info.ack.value() != s.probe_seq + 1) {
    Count(ProxyCounter::kUnknownBackendFrames);
    return ProxyAction::kDrop;
  }
  const uint8_t f = info.tcp_flags;
  if (f & tf::kRst) {
    ProbeResult(b, false, nullptr);
    return ProxyAction::kDrop;
  }
  if ((f & (tf::kSyn | tf::kAck)) != (tf::kSyn | tf::kAck)) {
    Count(ProxyCounter::kUnknownBackendFrames);
    return ProxyAction::kDrop;
  }
  ProbeResult(b, true, &info.options);
  // Close the probe's half-open connection at once.
  *spec = S{};
  spec->src_mac = config_.backend_side_mac;
  spec->dst_mac = s.mac;
  spec->src_ip = DstOf<S>(frame, info);
  spec->dst_ip = SrcOf<S>(frame, info);
  spec->src_port = info.dst_port;
  spec->dst_port = info.src_port;
  spec->seq = info.ack;
  spec->flags = tf::kRst;
  return ProxyAction::kReplyToBackend;
}

// Both families' steps.
template ProxyAction ProxyCore::ClientSyn(uint8_t*, const wire::PacketInfo&,
                                          const flow::FlowKey&, uint64_t,
                                          Spec4*, int);
template ProxyAction ProxyCore::ClientSyn(uint8_t*, const wire::PacketInfo&,
                                          const flow::FlowKey6&, uint64_t,
                                          Spec6*, int);
template ProxyAction ProxyCore::CookieAck(uint8_t*, const wire::PacketInfo&,
                                          const flow::FlowKey&, uint32_t,
                                          uint64_t, Spec4*);
template ProxyAction ProxyCore::CookieAck(uint8_t*, const wire::PacketInfo&,
                                          const flow::FlowKey6&, uint32_t,
                                          uint64_t, Spec6*);
template ProxyAction ProxyCore::BackendConnecting(uint32_t, const uint8_t*,
                                                  const wire::PacketInfo&,
                                                  uint64_t, Spec4*);
template ProxyAction ProxyCore::BackendConnecting(uint32_t, const uint8_t*,
                                                  const wire::PacketInfo&,
                                                  uint64_t, Spec6*);
template ProxyAction ProxyCore::ProbeAnswer(const uint8_t*,
                                            const wire::PacketInfo&, uint64_t,
                                            Spec4*);
template ProxyAction ProxyCore::ProbeAnswer(const uint8_t*,
                                            const wire::PacketInfo&, uint64_t,
                                            Spec6*);
template ProxyAction ProxyCore::BackendSynAckAgain(const ProxyRecord&,
                                                   const uint8_t*,
                                                   const wire::PacketInfo&,
                                                   Spec4*);
template ProxyAction ProxyCore::BackendSynAckAgain(const ProxyRecord&,
                                                   const uint8_t*,
                                                   const wire::PacketInfo&,
                                                   Spec6*);

}  // namespace synwave::app
