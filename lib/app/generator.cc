#include "app/generator.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "app/counters.h"
#include "engine/link.h"

namespace synwave::app {
namespace {

constexpr char kContentLength[] = "content-length:";
constexpr uint8_t kContentLengthLen = sizeof(kContentLength) - 1;
constexpr uint32_t kUntilClose = 0xffffffff;  // HTTP body without a length

char Lower(uint8_t c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

// Eight characters as the little-endian word a load of them gives.
constexpr uint64_t Word(const char* s) {
  uint64_t w = 0;
  for (int k = 7; k >= 0; --k) w = w << 8 | static_cast<uint8_t>(s[k]);
  return w;
}

// True if p[0..15) is "content-length:" in any letter case: two loads,
// the letters' case bit set (only theirs: '-' and ':' must be exact).
bool IsContentLength(const uint8_t* p) {
  uint64_t a;
  uint64_t b;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + 7, 8);
  constexpr uint64_t kLetters = 0x0020202020202020ull;  // "content", not '-'
  constexpr uint64_t kLetters2 = 0x0020202020202000ull;  // "length", not '-', ':'
  return (a | kLetters) == Word("content-") &&
         (b | kLetters2) == Word("-length:");
}

}  // namespace

Generator::Generator(const GeneratorConfig& config)
    : config_(config),
      counter_base_(CounterIndex(LoadCounter::kAttempted)),
      open_gauge_(GaugeIndex(LoadGauge::kOpen)),
      tracks_(config.max_connections) {
  if (config_.request_bytes == 0) {
    request_ = "GET / HTTP/1.1\r\nHost: synwave\r\nUser-Agent: synwave-load\r\n\r\n";
  } else {
    request_.assign(config_.request_bytes, 'r');
  }
  config_.requests_per_connection =
      std::clamp<uint32_t>(config_.requests_per_connection, 1, 0xffff);
  config_.num_queues = std::max<uint16_t>(config_.num_queues, 1);
  num_ips_ = config_.client_ip_last - config_.client_ip_first + 1;
  if (!config_.client_ip6_first.IsUnspecified() &&
      config_.client_ip6_first.High() == config_.client_ip6_last.High() &&
      config_.client_ip6_last.Low() - config_.client_ip6_first.Low() <
          0xffffffffull) {
    num_ips6_ = static_cast<uint32_t>(config_.client_ip6_last.Low() -
                                      config_.client_ip6_first.Low() + 1);
  }
  const uint32_t ports = uint32_t{config_.port_last} - config_.port_first + 1;
  if (config_.rss == nullptr) {
    // Ports first + queue_id, + num_queues, ...: disjoint per queue.
    num_ports_ = ports > config_.queue_id
                     ? (ports - config_.queue_id + config_.num_queues - 1) /
                           config_.num_queues
                     : 0;
  } else {
    num_ports_ = ports;
  }
  if (config_.servers.size() > kMaxServers) config_.servers.resize(kMaxServers);
  // IPv6 replies on an RSS port that does not hash them: the queue of
  // redirection-table entry 0.
  const bool takes_ipv6 = config_.rss == nullptr || config_.rss6 != nullptr ||
                          config_.reta.empty() ||
                          config_.reta[0] == config_.queue_id;
  uint64_t largest = 0;
  for (size_t s = 0; s < config_.servers.size(); ++s) {
    const bool v6 = config_.servers[s].ipv6;
    server_tuples_[s] =
        v6 && !takes_ipv6 ? 0
                          : uint64_t{v6 ? num_ips6_ : num_ips_} * num_ports_;
    largest = std::max(largest, server_tuples_[s]);
  }
  tuple_space_ = largest * config_.servers.size();
}

engine::AppOps Generator::ops() {
  engine::AppOps ops;
  ops.ctx = this;
  ops.on_event = &Generator::OnEvent;
  ops.on_poll = &Generator::OnPoll;
  ops.on_publish = &Generator::OnPublish;
  return ops;
}

void Generator::SetSchedule(uint64_t start_ns, uint64_t stop_ns) {
  stop_ns_.store(stop_ns, std::memory_order_relaxed);
  start_ns_.store(start_ns, std::memory_order_relaxed);
  scheduled_.store(true, std::memory_order_release);
}

void Generator::OnEvent(void* ctx, tcp::TcpStack& stack,
                        const tcp::AppEvent& ev, uint64_t now_ns) {
  static_cast<Generator*>(ctx)->Handle(stack, ev, now_ns);
}

void Generator::OnPoll(void* ctx, engine::Link& link, tcp::TcpStack* stack,
                       uint64_t now_ns) {
  if (stack == nullptr) return;  // wired without TCP: nothing to open
  auto* g = static_cast<Generator*>(ctx);
  if (g->config_.abandon_ns != 0) g->SweepAbandoned(*stack, now_ns);
  g->Open(*stack, link, now_ns);
}

void Generator::OnPublish(void* ctx, engine::CoreCounters& counters) {
  static_cast<const Generator*>(ctx)->Publish(counters);
}

// The k-th connection's intended start: a linear ramp from 0 to `cps` over
// ramp_ns opens cps*t^2/(2R) connections by time t; after it, cps per second.
uint64_t Generator::IntendedStart(uint64_t k) const {
  const double cps = config_.cps;
  const double ramp_s = static_cast<double>(config_.ramp_ns) * 1e-9;
  const double ramp_conns = cps * ramp_s / 2;
  double t;
  if (ramp_s > 0 && static_cast<double>(k) < ramp_conns) {
    t = std::sqrt(2 * ramp_s * static_cast<double>(k) / cps);
  } else {
    t = ramp_s + (static_cast<double>(k) - ramp_conns) / cps;
  }
  return start_ns_.load(std::memory_order_relaxed) +
         static_cast<uint64_t>(t * 1e9);
}

void Generator::Open(tcp::TcpStack& stack, engine::Link& link,
                     uint64_t now_ns) {
  // A new second of the timeline: record into the other histogram from
  // now, and say so (the run loop then reads the finished one).
  if (const uint32_t req = second_req_.load(std::memory_order_acquire);
      req != second_) {
    second_ = req;
    second_ack_.store(req, std::memory_order_release);
  }
  // The servers' next hops first, from the first poll: nothing opens until
  // they are resolved (the first SYN would otherwise wait for ARP and its
  // retransmission), and the run loop starts the schedule only then.
  uint64_t peer_l2[kMaxServers] = {};
  const size_t num_servers = config_.servers.size();
  for (size_t s = 0; s < num_servers; ++s) {
    const LoadTarget& server = config_.servers[s];
    const wire::MacAddress* mac =
        server.ipv6 ? link.ResolveNextHop(server.ip6, now_ns)
                    : link.ResolveNextHop(wire::Ipv4Address{server.ip}, now_ns);
    if (mac == nullptr) return;
    peer_l2[s] = engine::PeerL2(*mac);
  }
  if (!resolved_.load(std::memory_order_relaxed)) {
    resolved_.store(true, std::memory_order_release);
  }
  if (config_.opens_per_poll == 0) {
    done_.store(true, std::memory_order_relaxed);  // nothing to open at all
    return;
  }
  if (!scheduled_.load(std::memory_order_acquire) || stopped_ ||
      tuple_space_ == 0) {
    return;
  }
  uint64_t start_ns = start_ns_.load(std::memory_order_relaxed);
  uint64_t stop_ns = stop_ns_.load(std::memory_order_relaxed);
  if (!started_) {
    // A schedule set before the servers were resolved (a test's virtual
    // clock) starts when they are: the ARP exchange is set-up, not latency
    // of the first connections.
    started_ = true;
    if (next_k_ == 0 && now_ns > start_ns) {
      const uint64_t shift = now_ns - start_ns;
      start_ns = now_ns;
      if (stop_ns != ~uint64_t{0}) stop_ns += shift;
      start_ns_.store(start_ns, std::memory_order_relaxed);
      stop_ns_.store(stop_ns, std::memory_order_relaxed);
    }
  }
  if (now_ns < start_ns) return;
  // Unpaced opening ends at stop_ns; a paced schedule still opens the
  // connections that fell due before it (below).
  if (config_.cps == 0 && now_ns >= stop_ns) {
    done_.store(true, std::memory_order_relaxed);
    return;
  }
  bool capped = false;
  for (uint32_t n = 0; n < config_.opens_per_poll; ++n) {
    if (config_.concurrency != 0 && stats_.open >= config_.concurrency) break;
    uint64_t intended = now_ns;
    if (config_.cps > 0) {
      intended = IntendedStart(next_k_);
      if (intended >= stop_ns) {
        done_.store(true, std::memory_order_relaxed);
        break;
      }
      if (intended > now_ns) {
        held_ = LoadCounter::kCount;  // caught up with the schedule
        break;
      }
    }
    if (const LoadCounter why = Held(stack); why != LoadCounter::kCount) {
      held_ = why;
      capped = true;
      if (config_.cps > 0 && now_ns >= stop_ns) {
        // The run is over with the schedule behind: what is left of it is
        // not opened (the report says how many), so that the run ends.
        const uint64_t scheduled = ScheduledBefore(stop_ns);
        if (scheduled > next_k_) stats_.not_opened += scheduled - next_k_;
        next_k_ = std::max(next_k_, scheduled);
        done_.store(true, std::memory_order_relaxed);
      }
      break;
    }
    bool ipv6 = false;
    bool no_tuple = false;
    const tcp::ConnId id =
        ConnectNext(stack, peer_l2, now_ns, &ipv6, &no_tuple);
    if (no_tuple) break;  // every tuple probed is in use: next poll
    ++next_k_;
    ++stats_.attempted;
    if (ipv6) ++stats_.attempted6;
    if (!id.valid()) {
      // The table is full: the scheduled connection fails.
      ++stats_.failed_other;
      break;
    }
    // Opened while a cap holds the schedule back: late (paced), or after
    // a wait for the cap (unpaced).
    if (held_ != LoadCounter::kCount) {
      ++(held_ == LoadCounter::kHeldPending ? stats_.held_pending
                                            : stats_.held_pool);
    }
    Track& t = tracks_[id.index];
    if (t.open) [[unlikely]] {
      // Connect reset an orphan of ours to make room (a pool that filled
      // with closing connections): its kClosed is queued with the old
      // generation, which this slot no longer has. Settle it now.
      Closed(t, tcp::CloseReason::kReclaimed, now_ns);
    }
    t = Track{};
    t.intended_ns = intended;
    t.generation = id.generation;
    t.requests_left = static_cast<uint16_t>(config_.requests_per_connection);
    t.open = true;
    t.ipv6 = ipv6;
    ++stats_.open;
    ++stats_.pending;
    t.pending = true;
  }
  // Unpaced, nothing is late: a poll that opened without meeting a cap
  // ends the wait.
  if (config_.cps == 0 && !capped) held_ = LoadCounter::kCount;
}

LoadCounter Generator::Held(const tcp::TcpStack& stack) const {
  if (config_.max_pending != 0 &&
      stats_.pending >= config_.max_pending) {
    return LoadCounter::kHeldPending;
  }
  if (stack.connections_in_use() >= stack.config().max_connections) {
    return LoadCounter::kHeldPool;
  }
  return LoadCounter::kCount;
}

uint64_t Generator::ScheduledBefore(uint64_t t_ns) const {
  const uint64_t start = start_ns_.load(std::memory_order_relaxed);
  if (config_.cps <= 0 || t_ns <= start) return 0;
  // The inverse of IntendedStart, then corrected by its own rounding.
  const double cps = config_.cps;
  const double t = static_cast<double>(t_ns - start) * 1e-9;
  const double ramp_s = static_cast<double>(config_.ramp_ns) * 1e-9;
  const double k = ramp_s > 0 && t < ramp_s ? cps * t * t / (2 * ramp_s)
                                            : cps * ramp_s / 2 +
                                                  (t - ramp_s) * cps;
  auto n = static_cast<uint64_t>(std::max(0.0, k));
  while (n > 0 && IntendedStart(n - 1) >= t_ns) --n;
  while (IntendedStart(n) < t_ns) ++n;
  return n;
}

tcp::ConnId Generator::ConnectNext(tcp::TcpStack& stack,
                                   const uint64_t* peer_l2, uint64_t now_ns,
                                   bool* ipv6, bool* no_tuple) {
  const uint32_t probes = 64u * config_.num_queues;
  for (uint32_t p = 0; p < probes; ++p) {
    // The servers in turn; each walks its own block (a smaller one wraps
    // sooner: its tuples still in use are skipped).
    const uint64_t i = tuple_cursor_++ % tuple_space_;
    const size_t s = i % config_.servers.size();
    if (server_tuples_[s] == 0) continue;  // no clients of its family here
    const uint64_t j = i / config_.servers.size() % server_tuples_[s];
    const LoadTarget& server = config_.servers[s];
    const uint32_t ips = server.ipv6 ? num_ips6_ : num_ips_;
    const auto ip_index = static_cast<uint32_t>(j % ips);
    const auto port_index = static_cast<uint32_t>(j / ips);
    uint16_t port;
    wire::Ipv6Address client6;
    if (server.ipv6) {
      client6 = wire::Ipv6Address::FromWords(
          config_.client_ip6_first.High(),
          config_.client_ip6_first.Low() + ip_index);
    }
    if (config_.rss == nullptr) {
      port = static_cast<uint16_t>(config_.port_first + config_.queue_id +
                                   port_index * config_.num_queues);
    } else {
      port = static_cast<uint16_t>(config_.port_first + port_index);
      // The reply (server -> us) must hash to this worker's queue (IPv6
      // replies without rss6 are not hashed: this queue takes them, see
      // the header).
      uint32_t h = 0;
      bool hashed = true;
      if (!server.ipv6) {
        const uint32_t ip = config_.client_ip_first + ip_index;
        h = config_.rss->Hash(server.ip, ip, server.port, port);
      } else if (config_.rss6 != nullptr) {
        h = config_.rss6->Hash(server.ip6.bytes.data(), client6.bytes.data(),
                               server.port, port);
      } else {
        hashed = false;
      }
      if (hashed && flow::RssQueue(h, config_.reta.data(),
                                   config_.reta.size()) != config_.queue_id) {
        continue;
      }
    }
    // Connect looks the tuple up first: one in use (a connection or a
    // TIME-WAIT record) is skipped, counted, with nothing allocated.
    tcp::TcpStack::ConnectError err;
    const tcp::ConnId id =
        server.ipv6
            ? stack.Connect(
                  flow::FlowKey6{client6, server.ip6, port, server.port},
                  now_ns, peer_l2[s], &err)
            : stack.Connect(flow::FlowKey{config_.client_ip_first + ip_index,
                                          server.ip, port, server.port},
                            now_ns, peer_l2[s], &err);
    if (err == tcp::TcpStack::ConnectError::kTupleInUse) {
      ++stats_.tuples_busy;
      continue;
    }
    *ipv6 = server.ipv6;
    return id;
  }
  *no_tuple = true;
  return tcp::ConnId{};
}

void Generator::SendRequest(tcp::TcpStack& stack, tcp::ConnId id) {
  stack.Send(id, reinterpret_cast<const uint8_t*>(request_.data()),
             static_cast<uint32_t>(request_.size()));
  ++stats_.requests;
  Track& t = tracks_[id.index];
  t.phase = config_.request_bytes == 0 ? kHeader : kBody;
  t.body_left = config_.request_bytes == 0 ? 0 : config_.response_bytes;
  t.line_pos = 0;
  t.cl_match = 0;
  t.have_cl = false;
  t.content_length = 0;
}

void Generator::Handle(tcp::TcpStack& stack, const tcp::AppEvent& ev,
                       uint64_t now_ns) {
  Track& t = tracks_[ev.conn.index];
  if (t.generation != ev.conn.generation) return;
  switch (ev.kind) {
    case tcp::AppEvent::Kind::kConnected:
      ++stats_.connected;
      connect_us_.Record((now_ns - t.intended_ns) / 1000);
      SendRequest(stack, ev.conn);
      if (config_.request_bytes != 0 && config_.response_bytes == 0) {
        ResponseDone(stack, ev.conn, t, now_ns);  // nothing comes back
      }
      break;
    case tcp::AppEvent::Kind::kData:
      Consume(stack, ev.conn, t, now_ns);
      break;
    case tcp::AppEvent::Kind::kPeerClosed:
      // An HTTP body without Content-Length ends with the connection.
      if (t.phase == kBody && t.body_left == kUntilClose) {
        ResponseDone(stack, ev.conn, t, now_ns);
      }
      // Whatever remains, the server will send no more: close our side.
      stack.Close(ev.conn, now_ns);
      break;
    case tcp::AppEvent::Kind::kClosed:
      Closed(t, ev.reason, now_ns);
      break;
    case tcp::AppEvent::Kind::kAccepted:
    case tcp::AppEvent::Kind::kSent:
      break;
  }
}

// The connection of slot `t` is gone: its outcome.
void Generator::Closed(Track& t, tcp::CloseReason reason, uint64_t now_ns) {
  --stats_.open;
  if (t.pending) --stats_.pending;
  t.generation = ~t.generation;  // stale from now on
  t.open = false;
  if (reason == tcp::CloseReason::kAbandoned) {
    ++stats_.abandoned;
    return;
  }
  // Every response is in: the connection counts as completed however
  // it ended on our side (a close=rst abort, or an orphan reset to
  // make room for new connections).
  if (t.requests_left == 0 &&
      (reason == tcp::CloseReason::kNormal ||
       reason == tcp::CloseReason::kAborted ||
       reason == tcp::CloseReason::kReclaimed)) {
    ++stats_.completed;
    if (t.ipv6) ++stats_.completed6;
    total_us_.Record((now_ns - t.intended_ns) / 1000);
    second_us_[second_ & 1].Record((now_ns - t.intended_ns) / 1000);
    return;
  }
  switch (reason) {
    case tcp::CloseReason::kRefused:
      ++stats_.failed_refused;
      break;
    case tcp::CloseReason::kConnectTimeout:
    case tcp::CloseReason::kTimeout:
    case tcp::CloseReason::kIdleTimeout:
      ++stats_.failed_timeout;
      break;
    case tcp::CloseReason::kReset:
      ++stats_.failed_reset;
      break;
    case tcp::CloseReason::kNormal:
    case tcp::CloseReason::kAborted:
    case tcp::CloseReason::kUnreadData:
    case tcp::CloseReason::kFinWait2Timeout:
    case tcp::CloseReason::kReclaimed:
    case tcp::CloseReason::kAbandoned:  // counted above
      ++stats_.failed_other;
      break;
  }
}

// Reads the response: HTTP (a header with Content-Length, then the body)
// or raw (response_bytes bytes), scanned as it streams in.
void Generator::Consume(tcp::TcpStack& stack, tcp::ConnId id, Track& t,
                        uint64_t now_ns) {
  uint8_t buf[2048];
  uint32_t n;
  do {
    n = stack.Read(id, buf, sizeof(buf));
    if (n == 0) break;
    if (!t.first_byte) {
      t.first_byte = true;
      first_byte_us_.Record((now_ns - t.intended_ns) / 1000);
    }
    uint32_t i = 0;
    while (i < n && t.phase != kDone) {
      if (t.phase == kBody) {
        const uint32_t take = std::min(n - i, t.body_left);
        i += take;
        if (t.body_left != kUntilClose) t.body_left -= take;
        if (t.body_left == 0) ResponseDone(stack, id, t, now_ns);
        continue;
      }
      // Whole lines at once where they can be: at a line's start, a
      // Content-Length name is matched in two loads; a line that cannot
      // be one is skipped to its end.
      if (t.line_pos == 0 && n - i >= kContentLengthLen && buf[i] != '\r' &&
          buf[i] != '\n') {
        if (IsContentLength(buf + i)) {
          t.cl_match = kContentLengthLen;
          t.have_cl = true;
          t.content_length = 0;
          t.line_pos = kContentLengthLen;
          i += kContentLengthLen;
          continue;
        }
        t.line_pos = 1;  // not Content-Length (cl_match stays 0)
        ++i;
      }
      if (t.cl_match < kContentLengthLen && t.line_pos > t.cl_match) {
        const auto* nl =
            static_cast<const uint8_t*>(std::memchr(buf + i, '\n', n - i));
        if (nl == nullptr) {
          t.line_pos = static_cast<uint16_t>(
              std::min<uint32_t>(0xffff, t.line_pos + (n - i)));
          i = n;
          continue;
        }
        i = static_cast<uint32_t>(nl - buf);  // the '\n' is taken below
      }
      const uint8_t c = buf[i++];
      if (c == '\n') {
        if (t.line_pos == 0) {  // the blank line: the header is complete
          t.phase = kBody;
          t.body_left = t.have_cl ? t.content_length : kUntilClose;
          if (t.body_left == 0) ResponseDone(stack, id, t, now_ns);
        }
        t.line_pos = 0;
        t.cl_match = 0;
      } else if (c != '\r') {
        if (t.cl_match == kContentLengthLen) {
          if (c >= '0' && c <= '9') {
            t.content_length = t.content_length * 10 + (c - '0');
          }
        } else if (t.line_pos == t.cl_match &&
                   Lower(c) == kContentLength[t.cl_match]) {
          if (++t.cl_match == kContentLengthLen) {
            t.have_cl = true;
            t.content_length = 0;
          }
        }
        if (t.line_pos < 0xffff) ++t.line_pos;
      }
    }
  } while (n == sizeof(buf));  // less: the queue is empty
}

void Generator::SweepAbandoned(tcp::TcpStack& stack, uint64_t now_ns) {
  const auto slots = static_cast<uint32_t>(tracks_.size());
  if (slots == 0) return;
  // 256 slots a poll: a pool of 16,384 is walked in 64 polls, well under a
  // millisecond on a busy worker.
  for (uint32_t n = std::min<uint32_t>(256, slots); n > 0; --n) {
    const uint32_t i = abandon_cursor_;
    abandon_cursor_ = i + 1 == slots ? 0 : i + 1;
    Track& t = tracks_[i];
    if (!t.open || now_ns < t.intended_ns + config_.abandon_ns) continue;
    const tcp::ConnId id{i, t.generation};
    if (!stack.IsOpen(id)) continue;
    stack.Abandon(id, now_ns);  // kClosed (kAbandoned) follows
  }
}

void Generator::ResponseDone(tcp::TcpStack& stack, tcp::ConnId id, Track& t,
                             uint64_t now_ns) {
  ++stats_.responses;
  if (t.requests_left > 0) --t.requests_left;
  if (t.requests_left > 0) {
    SendRequest(stack, id);
    return;
  }
  t.phase = kDone;
  if (t.pending) {
    t.pending = false;
    --stats_.pending;
  }
  switch (config_.close) {
    case CloseMode::kClient:
      stack.Close(id, now_ns);
      break;
    case CloseMode::kRst:
      stack.Abort(id, now_ns);
      break;
    case CloseMode::kServer:
      break;  // the server's FIN (kPeerClosed) comes next
  }
}

void Generator::Publish(engine::CoreCounters& counters) const {
  auto put = [&](LoadCounter c, uint64_t v) {
    counters.Store(counter_base_ + static_cast<size_t>(c), v);
  };
  put(LoadCounter::kAttempted, stats_.attempted);
  put(LoadCounter::kConnected, stats_.connected);
  put(LoadCounter::kCompleted, stats_.completed);
  put(LoadCounter::kFailedRefused, stats_.failed_refused);
  put(LoadCounter::kFailedTimeout, stats_.failed_timeout);
  put(LoadCounter::kFailedReset, stats_.failed_reset);
  put(LoadCounter::kFailedOther, stats_.failed_other);
  put(LoadCounter::kTuplesBusy, stats_.tuples_busy);
  put(LoadCounter::kRequests, stats_.requests);
  put(LoadCounter::kResponses, stats_.responses);
  put(LoadCounter::kAbandoned, stats_.abandoned);
  put(LoadCounter::kAttempted6, stats_.attempted6);
  put(LoadCounter::kCompleted6, stats_.completed6);
  put(LoadCounter::kHeldPending, stats_.held_pending);
  put(LoadCounter::kHeldPool, stats_.held_pool);
  put(LoadCounter::kNotOpened, stats_.not_opened);
  counters.StoreGauge(open_gauge_, stats_.open);
}

}  // namespace synwave::app
