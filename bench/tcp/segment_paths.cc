#include "segment_paths.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "tcp/config.h"
#include "wire/headers.h"

namespace synwave::bench {
namespace {

namespace tf = wire::tcp_flags;
using tcp::Mib;
using tcp::TcpState;
using wire::SeqNum;

constexpr uint32_t kLocalIp = 0x0a000001;     // 10.0.0.1, us
constexpr uint16_t kLocalPort = 80;
constexpr uint32_t kRemoteBase = 0xac100000;  // 172.16.0.0/12, the clients
constexpr uint32_t kPortsPerAddress = 50000;
// The virtual clock starts well away from zero, as a real clock does.
constexpr uint64_t kT0 = 1000 * tcp::kSecond;
constexpr uint64_t kPeerL2 = (uint64_t{1} << 63) | 0x0200000000aaull;
constexpr uint16_t kSynWindow = 64240;  // Linux's SYN window
constexpr uint16_t kWindow = 502;       // and later, scaled by 7: 64256
constexpr uint16_t kPayloadLength = 128;
constexpr uint8_t kPayload[kPayloadLength] = {'G', 'E', 'T', ' ', '/'};

[[noreturn]] void Fail(const char* what, Path p) {
  std::fprintf(stderr, "segment paths: %s (path %.*s)\n", what,
               static_cast<int>(PathName(p).size()), PathName(p).data());
  std::abort();
}

uint32_t Mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

}  // namespace

std::string_view PathName(Path p) {
  switch (p) {
#define SYNWAVE_X(e, name, what) \
  case Path::k##e:               \
    return name;
    SYNWAVE_SEGMENT_PATHS(SYNWAVE_X)
#undef SYNWAVE_X
  }
  return "?";
}

std::string_view PathDescription(Path p) {
  switch (p) {
#define SYNWAVE_X(e, name, what) \
  case Path::k##e:               \
    return what;
    SYNWAVE_SEGMENT_PATHS(SYNWAVE_X)
#undef SYNWAVE_X
  }
  return "?";
}

std::optional<Path> PathByName(std::string_view name) {
  for (int i = 0; i < kNumPaths; ++i) {
    if (PathName(static_cast<Path>(i)) == name) return static_cast<Path>(i);
  }
  return std::nullopt;
}

PathDriver::PathDriver(Path path, const PathOptions& options)
    : path_(path),
      burst_(std::clamp<uint32_t>(options.burst, 1, kMaxBurst)),
      connections_(std::max<uint32_t>(options.connections, 1)),
      now_(kT0),
      ipv6_(options.ipv6) {
  const bool time_wait =
      path == Path::kTimeWaitInsert || path == Path::kTimeWaitExpire;
  tcp::TcpConfig c;
  if (time_wait) {
    groups_ = std::max<uint32_t>(1, options.time_wait_live / connections_);
    // Rounded up, so that one step after the last group the first is due.
    const uint64_t lifetime = 2 * c.msl_ns;
    group_step_ns_ = (lifetime + groups_ - 1) / groups_;
  }
  c.max_connections = connections_ + 64;
  c.max_half_open = connections_ + 64;
  c.max_time_wait = time_wait ? (groups_ + 1) * connections_ + 64
                              : connections_ + 64;
  c.buffer_chunks = 4 * connections_ + 64;
  c.syn_backlog = connections_ + 64;
  c.accept_backlog = connections_ + 64;
  // The closing paths hold every connection of a round as an orphan at once.
  c.max_orphans = c.max_connections;
  c.syncookies = path == Path::kSynCookie || path == Path::kCookieAck
                     ? tcp::SynCookieMode::kAlways
                     : tcp::SynCookieMode::kOverflow;
  // Expiry is measured per AdvanceTimers call of `burst` records.
  if (path == Path::kTimeWaitExpire) c.timer_budget = burst_;
  c.ipv6 = ipv6_;
  stack_ = std::make_unique<tcp::TcpStack>(
      c, tcp::SipKey{0x0123456789abcdefull, 0xfedcba9876543210ull},
      /*hash_seed=*/42, now_);
  if (!(ipv6_ ? stack_->Listen(Key6({kLocalIp, 0, 0, 0}).local_ip, kLocalPort)
              : stack_->Listen(kLocalIp, kLocalPort))) {
    Fail("Listen failed", path_);
  }
  conns_.resize(connections_);
  keys_.reserve(connections_);
  segs_.reserve(connections_);
}

PathDriver::~PathDriver() = default;

flow::FlowKey6 PathDriver::Key6(const flow::FlowKey& key) {
  constexpr uint64_t kPrefix = 0xfd00000000000000ull;
  return flow::FlowKey6{wire::Ipv6Address::FromWords(kPrefix, key.local_ip),
                        wire::Ipv6Address::FromWords(kPrefix, key.remote_ip),
                        key.local_port, key.remote_port};
}

bool PathDriver::SentTo(const Conn& c, const tcp::OutSegment& o) const {
  if (!ipv6_) return c.key == o.key;
  return o.ipv6 && o.key.local_port == c.key.local_port &&
         o.key.remote_port == c.key.remote_port &&
         stack_->Addresses6(o).remote == Key6(c.key).remote_ip;
}

flow::FlowKey PathDriver::NewTuple() {
  const uint32_t i = tuple_counter_++;
  return flow::FlowKey{kLocalIp, kRemoteBase + i / kPortsPerAddress,
                       kLocalPort,
                       static_cast<uint16_t>(10000 + i % kPortsPerAddress)};
}

PathDriver::Conn PathDriver::NewConn() {
  Conn c;
  c.key = NewTuple();
  c.peer_nxt = Mix(tuple_counter_);
  c.ts_val = 1'000'000 + (Mix(~tuple_counter_) & 0xffffff);
  return c;
}

tcp::Segment PathDriver::Syn(Conn& c) {
  tcp::Segment s;
  s.seq = SeqNum(c.peer_nxt);
  s.flags = tf::kSyn;
  s.window = kSynWindow;
  s.options.has_mss = true;
  s.options.mss = 1460;
  s.options.sack_permitted = true;
  s.options.has_window_scale = true;
  s.options.window_scale = 7;
  s.options.has_timestamps = true;
  s.options.ts_val = c.ts_val;
  s.peer_l2 = kPeerL2;
  c.peer_nxt += 1;
  return s;
}

tcp::Segment PathDriver::From(Conn& c, uint8_t flags, uint16_t payload_length,
                              std::optional<uint32_t> ack) {
  tcp::Segment s;
  s.seq = SeqNum(c.peer_nxt);
  s.ack = SeqNum((flags & tf::kAck) ? ack.value_or(c.our_nxt) : 0);
  s.flags = flags;
  s.window = kWindow;
  s.payload_length = payload_length;
  s.payload = payload_length > 0 ? kPayload : nullptr;
  s.options.has_timestamps = true;
  s.options.ts_val = ++c.ts_val;
  s.options.ts_ecr = c.ts_ecr;
  s.peer_l2 = kPeerL2;
  c.peer_nxt += payload_length + ((flags & tf::kFin) ? 1 : 0);
  return s;
}

void PathDriver::Deliver(Conn& c, const tcp::Segment& seg) {
  if (ipv6_) {
    stack_->Input(Key6(c.key), seg, now_);
  } else {
    stack_->Input(c.key, seg, now_);
  }
  stack_->Flush(now_);
  Absorb(std::span<Conn>(&c, 1));
}

void PathDriver::Absorb(std::span<Conn> conns) {
  // Output comes in the order the connections were touched, which is the
  // order of `conns`; search from the last match.
  size_t j = 0;
  for (const tcp::OutSegment& o : stack_->output()) {
    size_t tries = 0;
    while (tries < conns.size() && !SentTo(conns[j], o)) {
      j = (j + 1) % conns.size();
      ++tries;
    }
    if (tries == conns.size()) continue;  // not one of ours (cannot happen)
    Conn& c = conns[j];
    const uint32_t end = o.seq.value() + o.payload_length +
                         ((o.flags & tf::kSyn) ? 1 : 0) +
                         ((o.flags & tf::kFin) ? 1 : 0);
    if ((o.flags & tf::kSyn) || SeqNum(end) > SeqNum(c.our_nxt)) {
      c.our_nxt = end;
    }
    if (o.options.has_timestamps) c.ts_ecr = o.options.ts_val;
  }
  stack_->ClearOutput();
  stack_->ClearEvents();
}

void PathDriver::Establish(std::span<Conn> conns) {
  for (Conn& c : conns) {
    c = NewConn();
    const tcp::Segment syn = Syn(c);
    Deliver(c, syn);
  }
  for (Conn& c : conns) Deliver(c, From(c, tf::kAck));
  stack_->Accept();
  size_t i = 0;
  for (const tcp::AppEvent& e : stack_->events()) {
    if (e.kind != tcp::AppEvent::Kind::kAccepted) continue;
    if (i == conns.size()) Fail("more accepted than opened", path_);
    const tcp::Tcb* t = stack_->Find(e.conn);
    flow::FlowKey6 k6;
    if (t == nullptr ||
        (ipv6_ ? !stack_->Key6(e.conn, &k6) || !(k6 == Key6(conns[i].key))
               : !(t->key == conns[i].key))) {
      Fail("accepted out of order", path_);
    }
    conns[i++].id = e.conn;
  }
  stack_->ClearEvents();
  if (i != conns.size()) Fail("a connection did not open", path_);
}

void PathDriver::AbortAll(std::span<Conn> conns) {
  stack_->Accept();
  std::vector<tcp::ConnId> ids;
  for (const tcp::AppEvent& e : stack_->events()) {
    if (e.kind == tcp::AppEvent::Kind::kAccepted) ids.push_back(e.conn);
  }
  stack_->ClearEvents();
  for (Conn& c : conns) {
    if (c.id.valid()) ids.push_back(c.id);
    c.id = tcp::ConnId{};
  }
  for (const tcp::ConnId& id : ids) {
    if (stack_->IsOpen(id)) stack_->Abort(id, now_);
  }
  stack_->ClearOutput();
  stack_->ClearEvents();
}

void PathDriver::ExpireAllTimeWait() {
  if (stack_->time_wait_in_use() == 0) return;
  now_ += 2 * stack_->config().msl_ns + tcp::kMillisecond;
  for (int guard = 0; stack_->time_wait_in_use() > 0; ++guard) {
    if (guard > 1'000'000) Fail("TIME-WAIT does not expire", path_);
    stack_->AdvanceTimers(now_);
  }
  stack_->ClearOutput();
  stack_->ClearEvents();
}

void PathDriver::MakeFinWait2(std::span<Conn> conns) {
  Establish(conns);
  for (Conn& c : conns) stack_->Close(c.id, now_);
  stack_->Flush(now_);
  Absorb(conns);  // our FINs
  for (Conn& c : conns) Deliver(c, From(c, tf::kAck));
}

void PathDriver::InsertTimeWaitGroup() {
  MakeFinWait2(conns_);
  for (Conn& c : conns_) Deliver(c, From(c, tf::kFin | tf::kAck));
}

void PathDriver::Queue(const Conn& c, const tcp::Segment& seg) {
  keys_.push_back(c.key);
  if (ipv6_) keys6_.push_back(Key6(c.key));
  segs_.push_back(seg);
}

void PathDriver::PrepareRound() {
  std::span<Conn> conns(conns_);
  if (path_ != Path::kSynCookie || !built_) {
    keys_.clear();
    keys6_.clear();
    segs_.clear();
  }
  switch (path_) {
    case Path::kSynCookie:
      // Stateless: the same SYNs every round.
      if (!built_) {
        for (Conn& c : conns) {
          c = NewConn();
          const tcp::Segment syn = Syn(c);
          Queue(c, syn);
        }
      }
      break;
    case Path::kSynQueue:
      // Back to LISTEN: a RST at exactly RCV.NXT frees each entry.
      if (built_) {
        for (Conn& c : conns) Deliver(c, From(c, tf::kRst));
      }
      for (Conn& c : conns) {
        c = NewConn();
        const tcp::Segment syn = Syn(c);
        Queue(c, syn);
      }
      break;
    case Path::kCookieAck:
    case Path::kSynQueueAck:
      if (built_) AbortAll(conns);
      for (Conn& c : conns) {
        c = NewConn();
        const tcp::Segment syn = Syn(c);
        Deliver(c, syn);
      }
      for (Conn& c : conns) Queue(c, From(c, tf::kAck));
      break;
    case Path::kData:
      if (!built_) {
        Establish(conns);
      } else {
        uint8_t buf[4096];
        for (Conn& c : conns) {
          while (stack_->Read(c.id, buf, sizeof buf) > 0) {
          }
        }
        stack_->Flush(now_);  // window updates, if any
        Absorb(conns);
      }
      for (Conn& c : conns) {
        Queue(c, From(c, tf::kPsh | tf::kAck, kPayloadLength));
      }
      break;
    case Path::kPureAck:
      if (!built_) Establish(conns);
      for (Conn& c : conns) {
        if (stack_->Send(c.id, kPayload, kPayloadLength) != kPayloadLength) {
          Fail("Send took less", path_);
        }
      }
      stack_->Flush(now_);
      Absorb(conns);  // our data
      for (Conn& c : conns) Queue(c, From(c, tf::kAck));
      break;
    case Path::kEstablishedFin:
      if (built_) AbortAll(conns);
      Establish(conns);
      for (Conn& c : conns) Queue(c, From(c, tf::kFin | tf::kAck));
      break;
    case Path::kFinWait1FinAck:
      ExpireAllTimeWait();
      Establish(conns);
      for (Conn& c : conns) stack_->Close(c.id, now_);
      stack_->Flush(now_);
      Absorb(conns);  // our FINs
      for (Conn& c : conns) Queue(c, From(c, tf::kFin | tf::kAck));
      break;
    case Path::kFinWait2Fin:
      ExpireAllTimeWait();
      MakeFinWait2(conns);
      for (Conn& c : conns) Queue(c, From(c, tf::kFin | tf::kAck));
      break;
    case Path::kLastAckAck:
      Establish(conns);
      for (Conn& c : conns) Deliver(c, From(c, tf::kFin | tf::kAck));
      for (Conn& c : conns) stack_->Close(c.id, now_);
      stack_->Flush(now_);
      Absorb(conns);  // our FINs: LAST-ACK
      for (Conn& c : conns) Queue(c, From(c, tf::kAck));
      break;
    case Path::kClosingAck:
      ExpireAllTimeWait();
      Establish(conns);
      for (Conn& c : conns) stack_->Close(c.id, now_);
      stack_->Flush(now_);
      Absorb(conns);  // our FINs: FIN-WAIT-1
      // The client's FIN crosses ours (it acknowledges up to our FIN, not
      // the FIN): CLOSING.
      for (Conn& c : conns) {
        Deliver(c, From(c, tf::kFin | tf::kAck, 0, c.our_nxt - 1));
      }
      for (Conn& c : conns) Queue(c, From(c, tf::kAck));
      break;
    case Path::kTimeWaitInsert:
    case Path::kTimeWaitExpire:
      if (!built_) {
        // Groups of records spread over one 2 MSL lifetime, oldest first.
        for (uint32_t g = 0; g < groups_; ++g) {
          if (g > 0) now_ += group_step_ns_;
          InsertTimeWaitGroup();
        }
      }
      // One step on, the oldest group is due.
      now_ += group_step_ns_;
      if (path_ == Path::kTimeWaitInsert) {
        for (uint32_t in_use = ~0u; stack_->time_wait_in_use() != in_use;) {
          in_use = stack_->time_wait_in_use();
          stack_->AdvanceTimers(now_);
        }
        stack_->ClearOutput();
        stack_->ClearEvents();
        MakeFinWait2(conns);
        for (Conn& c : conns) Queue(c, From(c, tf::kFin | tf::kAck));
      } else {
        InsertTimeWaitGroup();
      }
      break;
  }
  built_ = true;
  before_ = stack_->counters();
  outputs_ = 0;
  next_ = 0;
  ready_ = path_ == Path::kTimeWaitExpire ? connections_
                                          : static_cast<uint32_t>(keys_.size());
  round_ran_ = false;
}

uint32_t PathDriver::RunBurst() {
  round_ran_ = true;
  if (path_ == Path::kTimeWaitExpire) {
    // The worker calls this once per loop iteration; the budget is `burst`.
    stack_->AdvanceTimers(now_);
    next_ += burst_;
    return burst_;
  }
  const uint32_t n = std::min(burst_, ready_ - next_);
  if (ipv6_) {
    stack_->InputBurst(keys6_.data() + next_, segs_.data() + next_, n, now_);
  } else {
    stack_->InputBurst(keys_.data() + next_, segs_.data() + next_, n, now_);
  }
  stack_->Flush(now_);
  outputs_ += stack_->output().size();
  stack_->ClearOutput();
  stack_->ClearEvents();
  next_ += n;
  return n;
}

uint32_t PathDriver::RunRound() {
  uint32_t items = 0;
  while (!RoundDone()) items += RunBurst();
  return items;
}

std::string PathDriver::CheckRound() const {
  if (!round_ran_) return "";
  if (!RoundDone()) return "round not finished";
  const tcp::TcpCounters& now = stack_->counters();
  for (size_t d = 1; d < tcp::kNumDrops; ++d) {
    if (now.drop[d] != before_.drop[d]) {
      return "dropped: " + std::string(tcp::DropName(static_cast<tcp::Drop>(d)));
    }
  }
  auto delta = [&](Mib m) { return now.Get(m) - before_.Get(m); };
  const uint64_t n = connections_;
  const uint32_t live = groups_ * connections_;
  uint64_t want_out = 0;
  bool ok = false;
  switch (path_) {
    case Path::kSynCookie:
      want_out = n;
      ok = delta(Mib::kSyncookiesSent) == n;
      break;
    case Path::kSynQueue:
      want_out = n;
      ok = stack_->half_open_in_use() == n;
      break;
    case Path::kCookieAck:
      ok = delta(Mib::kSyncookiesRecv) == n && delta(Mib::kPassiveOpens) == n;
      break;
    case Path::kSynQueueAck:
      ok = delta(Mib::kPassiveOpens) == n && stack_->half_open_in_use() == 0;
      break;
    case Path::kData:
      want_out = n;
      ok = delta(Mib::kDataBytesIn) == n * kPayloadLength;
      break;
    case Path::kPureAck:
      ok = stack_->buffer_chunks_in_use() == 0 && stack_->timers_in_use() == 0;
      break;
    case Path::kEstablishedFin:
      want_out = n;
      ok = stack_->StateCount(TcpState::kCloseWait) == n;
      break;
    case Path::kFinWait1FinAck:
    case Path::kFinWait2Fin:
      want_out = n;
      ok = delta(Mib::kTimeWaitEntered) == n && stack_->connections_in_use() == 0;
      break;
    case Path::kClosingAck:
      ok = delta(Mib::kTimeWaitEntered) == n && stack_->connections_in_use() == 0;
      break;
    case Path::kLastAckAck:
      ok = delta(Mib::kConnectionsClosed) == n && stack_->connections_in_use() == 0;
      break;
    case Path::kTimeWaitInsert:
      want_out = n;
      ok = delta(Mib::kTimeWaitEntered) == n && stack_->time_wait_in_use() == live;
      break;
    case Path::kTimeWaitExpire:
      ok = delta(Mib::kTimeWaitExpired) == n && stack_->time_wait_in_use() == live;
      break;
  }
  if (outputs_ != want_out) {
    return "sent " + std::to_string(outputs_) + " segments, expected " +
           std::to_string(want_out);
  }
  if (!ok) return "the segments did not do what the path says";
  return "";
}

}  // namespace synwave::bench
