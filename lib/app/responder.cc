#include "app/responder.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace synwave::app {
namespace {

// AppData layout: bits 0-31 response bytes still to queue; bits 32-34 the
// position in "\r\n\r\n" matched so far; bit 35 a response was completed;
// bit 36 the peer closed; bits 37-47 responses queued (saturating at 2047);
// bits 48-63 raw-mode request bytes seen.
struct ConnState {
  uint32_t to_send = 0;
  uint8_t match = 0;
  bool responded = false;
  bool peer_closed = false;
  uint32_t responses = 0;  // 11 bits
  uint32_t seen = 0;       // 16 bits

  static ConnState Load(uint64_t v) {
    ConnState s;
    s.to_send = static_cast<uint32_t>(v);
    s.match = static_cast<uint8_t>((v >> 32) & 0x7);
    s.responded = (v >> 35) & 1;
    s.peer_closed = (v >> 36) & 1;
    s.responses = static_cast<uint32_t>((v >> 37) & 0x7ff);
    s.seen = static_cast<uint32_t>(v >> 48);
    return s;
  }
  uint64_t Store() const {
    return uint64_t{to_send} | (uint64_t{match} << 32) |
           (uint64_t{responded} << 35) | (uint64_t{peer_closed} << 36) |
           (uint64_t{std::min<uint32_t>(responses, 0x7ff)} << 37) |
           (uint64_t{seen & 0xffff} << 48);
  }
};

constexpr uint8_t kBlankLine[4] = {'\r', '\n', '\r', '\n'};

// A fixed body pattern, sent in slices.
const uint8_t* Body() {
  static const auto* body = [] {
    auto* b = new uint8_t[4096];
    std::memset(b, 'x', 4096);
    return b;
  }();
  return body;
}

}  // namespace

Responder::Responder(const ResponderConfig& config) : config_(config) {
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
}

engine::AppOps Responder::ops() {
  engine::AppOps ops;
  ops.ctx = this;
  ops.on_event = &Responder::OnEvent;
  return ops;
}

void Responder::OnEvent(void* ctx, tcp::TcpStack& stack,
                        const tcp::AppEvent& ev, uint64_t now_ns) {
  static_cast<Responder*>(ctx)->Handle(stack, ev, now_ns);
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
      Consume(stack, ev.conn, now_ns);
      break;
    case tcp::AppEvent::Kind::kSent:
      Pump(stack, ev.conn, now_ns);
      break;
    case tcp::AppEvent::Kind::kPeerClosed: {
      ConnState s = ConnState::Load(stack.AppData(ev.conn));
      s.peer_closed = true;
      stack.AppData(ev.conn) = s.Store();
      // Finish the response in flight, then close our side.
      if (s.to_send == 0) stack.Close(ev.conn, now_ns);
      break;
    }
    case tcp::AppEvent::Kind::kClosed:
      break;
  }
}

// Reads what arrived and starts a response for each complete request.
void Responder::Consume(tcp::TcpStack& stack, tcp::ConnId id, uint64_t now_ns) {
  ConnState s = ConnState::Load(stack.AppData(id));
  uint8_t buf[2048];
  uint32_t n;
  while ((n = stack.Read(id, buf, sizeof(buf))) > 0) {
    for (uint32_t i = 0; i < n; ++i) {
      bool complete;
      if (config_.request_bytes != 0) {
        complete = ++s.seen == config_.request_bytes;
        if (complete) s.seen = 0;
      } else {
        // Match "\r\n\r\n" across reads; a mismatch may restart the match.
        if (buf[i] == kBlankLine[s.match]) {
          ++s.match;
        } else {
          s.match = buf[i] == '\r' ? 1 : 0;
        }
        complete = s.match == 4;
        if (complete) s.match = 0;
      }
      if (complete) {
        ++requests_;
        s.to_send += total_bytes_;
        if (total_bytes_ == 0) {  // nothing to answer with
          s.responded = true;
          ++s.responses;
        }
      }
    }
  }
  stack.AppData(id) = s.Store();
  Pump(stack, id, now_ns);
}

// Queues as much of the pending responses as the send buffer takes, and
// closes once done if this side closes (or the peer already did).
void Responder::Pump(tcp::TcpStack& stack, tcp::ConnId id, uint64_t now_ns) {
  ConnState s = ConnState::Load(stack.AppData(id));
  while (s.to_send > 0) {
    // Position within the current response: header bytes first, then body.
    const uint32_t pos = total_bytes_ - ((s.to_send - 1) % total_bytes_ + 1);  // to_send > 0 implies total_bytes_ > 0
    const uint8_t* src;
    uint32_t len;
    if (pos < header_.size()) {
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
      ++responses_;
      ++s.responses;
      s.responded = true;
    }
    if (sent < len) break;  // send buffer full: continue on kSent
  }
  stack.AppData(id) = s.Store();
  if (s.to_send == 0 &&
      (s.peer_closed ||
       (config_.close == CloseMode::kServer &&
        s.responses >= config_.requests_per_connection &&
        stack.Readable(id) == 0 && s.match == 0 && s.seen == 0))) {
    stack.Close(id, now_ns);
  }
}

}  // namespace synwave::app
