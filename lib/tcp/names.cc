#include <array>
#include <string_view>

#include "tcp/counters.h"
#include "tcp/state.h"
#include "tcp/tcb.h"

namespace synwave::tcp {
namespace {

constexpr std::array<std::string_view, kNumTcpStates> kStateNames = {
#define SYNWAVE_X(e, name) name,
    SYNWAVE_TCP_STATES(SYNWAVE_X)
#undef SYNWAVE_X
};

constexpr std::array<std::string_view, kNumMibs> kMibNames = {
#define SYNWAVE_X(e, name, help) name,
    SYNWAVE_TCP_MIBS(SYNWAVE_X)
#undef SYNWAVE_X
};
constexpr std::array<std::string_view, kNumMibs> kMibHelp = {
#define SYNWAVE_X(e, name, help) help,
    SYNWAVE_TCP_MIBS(SYNWAVE_X)
#undef SYNWAVE_X
};
constexpr std::array<std::string_view, kNumDrops> kDropNames = {
    "",
#define SYNWAVE_X(e, name, help) name,
    SYNWAVE_TCP_DROPS(SYNWAVE_X)
#undef SYNWAVE_X
};
constexpr std::array<std::string_view, kNumDrops> kDropHelp = {
    "",
#define SYNWAVE_X(e, name, help) help,
    SYNWAVE_TCP_DROPS(SYNWAVE_X)
#undef SYNWAVE_X
};

}  // namespace

std::string_view StateName(TcpState s) {
  return kStateNames[static_cast<size_t>(s)];
}
std::string_view MibName(Mib m) { return kMibNames[static_cast<size_t>(m)]; }
std::string_view MibHelp(Mib m) { return kMibHelp[static_cast<size_t>(m)]; }
std::string_view DropName(Drop d) { return kDropNames[static_cast<size_t>(d)]; }
std::string_view DropHelp(Drop d) { return kDropHelp[static_cast<size_t>(d)]; }

std::string_view CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kNormal:
      return "normal";
    case CloseReason::kReset:
      return "reset";
    case CloseReason::kTimeout:
      return "timeout";
    case CloseReason::kAborted:
      return "aborted";
    case CloseReason::kUnreadData:
      return "unread-data";
    case CloseReason::kFinWait2Timeout:
      return "fin-wait-2-timeout";
    case CloseReason::kRefused:
      return "refused";
    case CloseReason::kConnectTimeout:
      return "connect-timeout";
    case CloseReason::kIdleTimeout:
      return "idle-timeout";
    case CloseReason::kReclaimed:
      return "reclaimed";
    case CloseReason::kAbandoned:
      return "abandoned";
  }
  return "?";
}

}  // namespace synwave::tcp
