// Responder: the request/response server behind `synwave serve`.
//
// For each connection it reads a request, answers it, and closes as
// configured. A request is complete at its first blank line (HTTP/1.1
// style, "\r\n\r\n"), or after exactly `request_bytes` bytes in raw mode.
// The answer is an HTTP/1.1 200 response whose body is `response_bytes`
// bytes (raw mode: just that many bytes). With close=server the responder
// closes (sends the first FIN) once the response is queued; with
// close=client it waits for the client's FIN and then closes, and serves
// further requests on the connection meanwhile (keep-alive); with
// close=server and requests_per_connection N it closes after N responses.
// close=rst (the client resets) is served like close=client.
//
// Requests are framed as RFC 9112 has it (app/http_framer.h): empty lines
// before a request are not requests, a bare LF ends a line, and a request
// without an end is refused past 8 KiB with a 431 response (RFC 6585 5) and
// the connection closed (with a RST instead when earlier responses are
// still owed).
//
// A connection whose responses cannot be sent (its send buffer is full: the
// client does not read, or keeps its window shut) is not read any further
// until they can (serve_reads_paused): what it sent stays in its receive
// queue, our window closes, and one client holds at most its send and
// receive buffers (--snd-buffer, --rcv-buffer), however many requests it
// pipelines. Reading resumes when the send side drains. A connection whose
// responses do not fit while it pipelined (more requests unread, or more
// than one response owed) and the buffer pool is under pressure
// (TcpStack::memory_pressure: down to its reserve) is reset instead
// (serve_reset_under_pressure): it would hold its chunks while sending
// nothing, and the reserve is for clients that read. An ordinary client,
// whose request is answered before it sends the next, is never reset.
//
// Per-connection state fits in the 64-bit AppData slot of the TCB, so the
// responder allocates nothing. Its counters are the serve_* block
// (app::RegisterCounters), stored when the worker publishes.
#ifndef SYNWAVE_APP_RESPONDER_H_
#define SYNWAVE_APP_RESPONDER_H_

#include <cstdint>
#include <string>

#include "app/close_mode.h"
#include "engine/app.h"
#include "engine/counters.h"

namespace synwave::app {

// The responder's counters, X(Enumerator, "name", "meaning").
#define SYNWAVE_SERVE_COUNTERS(X)                                            \
  X(kRequests, "serve_requests", "requests the responder read")              \
  X(kResponses, "serve_responses", "responses queued whole")                 \
  X(kReadsPaused, "serve_reads_paused", "times a connection was no longer "  \
    "read: its responses could not be sent (send buffer full)")              \
  X(kReadsResumed, "serve_reads_resumed", "times reading a paused "          \
    "connection resumed: its send side drained")                             \
  X(kHeaderTooLarge, "serve_header_too_large", "requests refused: over "     \
    "8 KiB without an end (431 and close, or RST when responses were owed)") \
  X(kResetUnderPressure, "serve_reset_under_pressure", "connections reset: "\
    "pipelined requests whose responses did not fit while the buffer pool "  \
    "was under pressure")

enum class ServeCounter : uint16_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_SERVE_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
  kCount,
};

struct ResponderConfig {
  uint32_t response_bytes = 0;  // body bytes
  uint32_t request_bytes = 0;   // 0: HTTP mode (blank line ends a request)
  CloseMode close = kDefaultClose;
  // close=server: responses per connection before the server closes.
  uint32_t requests_per_connection = 1;
  // TSC cycles of busy work per request read, before it is answered: what a
  // real application spends on a request (parsing, TLS, a lookup), so that
  // a test can make the server the bottleneck of a client as cheap per
  // connection as it is (bench/overload.sh). A test-target knob; 0: none.
  uint64_t request_work_cycles = 0;
};

class Responder {
 public:
  explicit Responder(const ResponderConfig& config);

  engine::AppOps ops();

  uint64_t requests() const { return count(ServeCounter::kRequests); }
  uint64_t responses() const { return count(ServeCounter::kResponses); }
  uint64_t count(ServeCounter c) const {
    return counts_[static_cast<size_t>(c)];
  }

 private:
  struct ConnState;
  static void OnEvent(void* ctx, tcp::TcpStack& stack, const tcp::AppEvent& ev,
                      uint64_t now_ns);
  static void OnPublish(void* ctx, engine::CoreCounters& counters);
  void Handle(tcp::TcpStack& stack, const tcp::AppEvent& ev, uint64_t now_ns);
  // Sends what is owed and reads (and frames) requests while their
  // responses can be sent; then closes if the connection is done.
  void Serve(tcp::TcpStack& stack, tcp::ConnId id, uint64_t now_ns);
  // Queues as much of the owed responses as the send buffer takes.
  void Pump(tcp::TcpStack& stack, tcp::ConnId id, ConnState& s);
  // Frames `n` bytes just read; false when a request was refused (the
  // connection is then closed or reset).
  bool Frame(tcp::TcpStack& stack, tcp::ConnId id, ConnState& s,
             const uint8_t* buf, uint32_t n, uint64_t now_ns);
  void Count(ServeCounter c) { ++counts_[static_cast<size_t>(c)]; }

  ResponderConfig config_;
  // Responses up to this size are prebuilt whole in response_.
  static constexpr uint32_t kPrebuiltMax = 64 * 1024;
  std::string header_;    // HTTP status line and headers
  std::string response_;  // header_ and the body, or empty (larger ones)
  uint32_t total_bytes_;  // header + body of one response
  uint32_t max_read_;     // bytes read at once (see Serve)
  size_t counter_base_;   // serve_requests in the per-core set
  uint64_t counts_[static_cast<size_t>(ServeCounter::kCount)] = {};
};

}  // namespace synwave::app

#endif  // SYNWAVE_APP_RESPONDER_H_
