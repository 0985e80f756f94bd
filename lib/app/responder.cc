#include "app/responder.h"

#include <rte_cycles.h>
#include <rte_pause.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "app/counters.h"
#include "app/http_framer.h"

namespace synwave::app {

// AppData layout: bits 0-31 response bytes still to queue; bits 32-50 the
// request framing (HTTP: the HttpFramer's state; raw mode: request bytes
// seen); bit 51 reading is paused; bit 52 the peer closed; bits 53-63
// responses queued (saturating at 2047).
struct Responder::ConnState {
  uint32_t to_send = 0;
  uint32_t framing = 0;    // 19 bits
  bool paused = false;
  bool peer_closed = false;
  uint32_t responses = 0;  // 11 bits

  static constexpr uint32_t kFramingMask =
      (uint32_t{1} << HttpFramer::kStateBits) - 1;

  static ConnState Load(uint64_t v) {
    ConnState s;
    s.to_send = static_cast<uint32_t>(v);
    s.framing = static_cast<uint32_t>(v >> 32) & kFramingMask;
    s.paused = (v >> 51) & 1;
    s.peer_closed = (v >> 52) & 1;
    s.responses = static_cast<uint32_t>(v >> 53);
    return s;
  }
  uint64_t Store() const {
    return uint64_t{to_send} | (uint64_t{framing & kFramingMask} << 32) |
           (uint64_t{paused} << 51) | (uint64_t{peer_closed} << 52) |
           (uint64_t{std::min<uint32_t>(responses, 0x7ff)} << 53);
  }
};

namespace {

// A fixed body pattern, sent in slices.
const uint8_t* Body() {
  static const auto* body = [] {
    auto* b = new uint8_t[4096];
    std::memset(b, 'x', 4096);
    return b;
  }();
  return body;
}

constexpr char kTooLarge[] =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nServer: synwave\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";

}  // namespace

Responder::Responder(const ResponderConfig& config) : config_(config) {
  RegisterCounters();
  counter_base_ = CounterIndex(ServeCounter::kRequests);
  if (config_.request_bytes == 0) {
    header_ = absl::StrCat(
        "HTTP/1.1 200 OK\r\nServer: synwave\r\nContent-Length: ",
        config_.response_bytes, "\r\nConnection: ",
        config_.close == CloseMode::kServer ? "close" : "keep-alive",
        "\r\n\r\n");
  }
  config_.request_bytes = std::min<uint32_t>(config_.request_bytes, 0xffff);
  config_.requests_per_connection =
      std::clamp<uint32_t>(config_.requests_per_connection, 1, 0x7ff);
  total_bytes_ = static_cast<uint32_t>(header_.size()) + config_.response_bytes;
  // The whole response in one buffer when it is not large: one Send (one
  // copy into the send queue) a response instead of the header and the
  // body's slices apart.
  if (total_bytes_ <= kPrebuiltMax) {
    response_.reserve(total_bytes_);
    response_.append(header_);
    response_.append(config_.response_bytes, 'x');
  }
  // Requests are read only while no response is owed, and one read may
  // complete at most max_read_ / 3 requests (the shortest, "X\n\n", is 3
  // bytes; a raw request at least 1): their bytes must fit in to_send.
  const uint32_t min_request = config_.request_bytes != 0
                                   ? config_.request_bytes
                                   : 3;
  const uint64_t fit =
      total_bytes_ == 0
          ? ~uint64_t{0}
          : uint64_t{std::numeric_limits<uint32_t>::max()} / total_bytes_ *
                min_request;
  max_read_ = static_cast<uint32_t>(std::clamp<uint64_t>(fit, 1, 2048));
}

engine::AppOps Responder::ops() {
  engine::AppOps ops;
  ops.ctx = this;
  ops.on_event = &Responder::OnEvent;
  ops.on_publish = &Responder::OnPublish;
  return ops;
}

void Responder::OnEvent(void* ctx, tcp::TcpStack& stack,
                        const tcp::AppEvent& ev, uint64_t now_ns) {
  static_cast<Responder*>(ctx)->Handle(stack, ev, now_ns);
}

void Responder::OnPublish(void* ctx, engine::CoreCounters& counters) {
  const auto* r = static_cast<const Responder*>(ctx);
  for (size_t c = 0; c < std::size(r->counts_); ++c) {
    counters.Store(r->counter_base_ + c, r->counts_[c]);
  }
}

void Responder::Handle(tcp::TcpStack& stack, const tcp::AppEvent& ev,
                       uint64_t now_ns) {
  if (!stack.IsOpen(ev.conn)) return;
  switch (ev.kind) {
    case tcp::AppEvent::Kind::kAccepted:
      stack.AppData(ev.conn) = 0;
      break;
    case tcp::AppEvent::Kind::kConnected:
      break;  // the responder only accepts
    case tcp::AppEvent::Kind::kData:
    case tcp::AppEvent::Kind::kSent:
      Serve(stack, ev.conn, now_ns);
      break;
    case tcp::AppEvent::Kind::kPeerClosed: {
      ConnState s = ConnState::Load(stack.AppData(ev.conn));
      s.peer_closed = true;
      stack.AppData(ev.conn) = s.Store();
      // Finish what was asked (responses in flight, requests not yet
      // read), then close our side.
      Serve(stack, ev.conn, now_ns);
      break;
    }
    case tcp::AppEvent::Kind::kClosed:
      break;
  }
}

void Responder::Serve(tcp::TcpStack& stack, tcp::ConnId id, uint64_t now_ns) {
  ConnState s = ConnState::Load(stack.AppData(id));
  uint8_t buf[2048];
  // Set once a read took less than it asked for: the receive queue is
  // empty, and reading again would only find that out.
  bool drained = false;
  for (;;) {
    Pump(stack, id, s);
    if (s.to_send > 0) {
      // The send buffer is full: read no further requests until it drains
      // (kSent). The client's bytes wait in our receive queue.
      const bool unread = stack.Readable(id) > 0;
      // A client that pipelined (more requests unread, or more than one
      // response owed) while the pool is down to its reserve is reset: it
      // would hold its chunks while the reserve is for clients that read.
      if ((unread || s.to_send > total_bytes_) && stack.memory_pressure()) {
        Count(ServeCounter::kResetUnderPressure);
        stack.Abort(id, now_ns);
        return;
      }
      if (!s.paused && unread) {
        s.paused = true;
        Count(ServeCounter::kReadsPaused);
      }
      break;
    }
    if (s.paused) {
      s.paused = false;
      Count(ServeCounter::kReadsResumed);
    }
    if (drained) break;
    const uint32_t n = stack.Read(id, buf, max_read_);
    if (n == 0) break;
    if (!Frame(stack, id, s, buf, n, now_ns)) return;  // refused: closed
    drained = n < max_read_;
  }
  stack.AppData(id) = s.Store();
  // Done: everything answered and nothing left to read, and either the
  // peer closed or (close=server) the connection had its responses. Bytes
  // after the last request that start no request (a CR, a CRLF) do not
  // keep it open.
  if (s.to_send == 0 && stack.Readable(id) == 0 &&
      (s.peer_closed ||
       (config_.close == CloseMode::kServer &&
        s.responses >= config_.requests_per_connection))) {
    stack.Close(id, now_ns);
  }
}

bool Responder::Frame(tcp::TcpStack& stack, tcp::ConnId id, ConnState& s,
                      const uint8_t* buf, uint32_t n, uint64_t now_ns) {
  uint32_t requests = 0;
  if (config_.request_bytes != 0) {
    // Raw mode: every request_bytes bytes.
    const uint32_t total = s.framing + n;
    requests = total / config_.request_bytes;
    s.framing = total % config_.request_bytes;
  } else {
    HttpFramer framer = HttpFramer::FromState(s.framing);
    if (framer.FeedBlock(buf, n, &requests) == HttpFramer::Result::kTooLarge)
        [[unlikely]] {
      Count(ServeCounter::kHeaderTooLarge);
      // Answered only when nothing else is owed (the common case: one
      // oversized request); else the client gets a RST.
      const uint32_t len = sizeof(kTooLarge) - 1;
      if (requests == 0 && s.to_send == 0 &&
          stack.Send(id, reinterpret_cast<const uint8_t*>(kTooLarge), len) ==
              len) {
        s.framing = framer.state();
        stack.AppData(id) = s.Store();
        stack.Close(id, now_ns);  // RST if more is unread: it is refused
      } else {
        stack.Abort(id, now_ns);
      }
      return false;
    }
    s.framing = framer.state();
  }
  counts_[static_cast<size_t>(ServeCounter::kRequests)] += requests;
  if (config_.request_work_cycles != 0 && requests != 0) {
    // The application's work on the requests (--request-work).
    const uint64_t until = rte_rdtsc() + requests * config_.request_work_cycles;
    while (rte_rdtsc() < until) rte_pause();
  }
  s.to_send += requests * total_bytes_;
  if (total_bytes_ == 0) s.responses += requests;  // nothing to answer with
  return true;
}

// Queues as much of the pending responses as the send buffer takes.
void Responder::Pump(tcp::TcpStack& stack, tcp::ConnId id, ConnState& s) {
  while (s.to_send > 0) {
    // Position within the current response: header bytes first, then body.
    // (to_send > 0 implies total_bytes_ > 0.)
    const uint32_t pos = total_bytes_ - ((s.to_send - 1) % total_bytes_ + 1);
    const uint8_t* src;
    uint32_t len;
    if (!response_.empty()) {
      src = reinterpret_cast<const uint8_t*>(response_.data()) + pos;
      len = total_bytes_ - pos;
    } else if (pos < header_.size()) {
      src = reinterpret_cast<const uint8_t*>(header_.data()) + pos;
      len = static_cast<uint32_t>(header_.size()) - pos;
    } else {
      src = Body();
      len = std::min<uint32_t>(total_bytes_ - pos, 4096);
    }
    len = std::min(len, s.to_send);
    const uint32_t sent = stack.Send(id, src, len);
    s.to_send -= sent;
    if (sent > 0 && (s.to_send % total_bytes_) == 0) {
      Count(ServeCounter::kResponses);
      ++s.responses;
    }
    if (sent < len) break;  // send buffer full: continue on kSent
  }
}

}  // namespace synwave::app
