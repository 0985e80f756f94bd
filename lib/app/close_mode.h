// CloseMode: who ends a connection once its exchange is done (--close).
//
// One choice describes both ends, named from the server's side: the
// responder (`synwave serve`) closes first with kServer and waits for the
// client's FIN otherwise; the generator (`synwave load`) waits for the
// server's FIN with kServer, sends the first FIN with kClient, and resets
// with kRst. A responder treats kRst like kClient: the client ends it.
#ifndef SYNWAVE_APP_CLOSE_MODE_H_
#define SYNWAVE_APP_CLOSE_MODE_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace synwave::app {

enum class CloseMode : uint8_t {
  kServer,  // the server sends the first FIN (and holds TIME-WAIT)
  kClient,  // the client sends the first FIN after the last response
  kRst,     // the client resets the connection after the last response
};

// What a run does unless told otherwise (--close's default).
inline constexpr CloseMode kDefaultClose = CloseMode::kServer;

// "server", "client", "rst": the --close values.
constexpr std::string_view CloseModeName(CloseMode mode) {
  switch (mode) {
    case CloseMode::kServer:
      return "server";
    case CloseMode::kClient:
      return "client";
    case CloseMode::kRst:
      return "rst";
  }
  return "";
}

constexpr std::optional<CloseMode> ParseCloseMode(std::string_view text) {
  for (CloseMode m :
       {CloseMode::kServer, CloseMode::kClient, CloseMode::kRst}) {
    if (text == CloseModeName(m)) return m;
  }
  return std::nullopt;
}

}  // namespace synwave::app

#endif  // SYNWAVE_APP_CLOSE_MODE_H_
