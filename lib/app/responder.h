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
// Per-connection state fits in the 64-bit AppData slot of the TCB, so the
// responder allocates nothing.
#ifndef SYNWAVE_APP_RESPONDER_H_
#define SYNWAVE_APP_RESPONDER_H_

#include <cstdint>
#include <string>

#include "app/close_mode.h"
#include "engine/app.h"

namespace synwave::app {

struct ResponderConfig {
  uint32_t response_bytes = 0;  // body bytes
  uint32_t request_bytes = 0;   // 0: HTTP mode (blank line ends a request)
  CloseMode close = kDefaultClose;
  // close=server: responses per connection before the server closes.
  uint32_t requests_per_connection = 1;
};

class Responder {
 public:
  explicit Responder(const ResponderConfig& config);

  engine::AppOps ops();

  uint64_t requests() const { return requests_; }
  uint64_t responses() const { return responses_; }

 private:
  static void OnEvent(void* ctx, tcp::TcpStack& stack, const tcp::AppEvent& ev,
                      uint64_t now_ns);
  void Handle(tcp::TcpStack& stack, const tcp::AppEvent& ev, uint64_t now_ns);
  void Consume(tcp::TcpStack& stack, tcp::ConnId id, uint64_t now_ns);
  void Pump(tcp::TcpStack& stack, tcp::ConnId id, uint64_t now_ns);

  ResponderConfig config_;
  std::string header_;    // HTTP status line and headers
  uint32_t total_bytes_;  // header + body of one response
  uint64_t requests_ = 0;
  uint64_t responses_ = 0;
};

}  // namespace synwave::app

#endif  // SYNWAVE_APP_RESPONDER_H_
