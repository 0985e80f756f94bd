// The TCP connection states of RFC 9293 3.3.2, named as the RFC names them.
#ifndef SYNWAVE_TCP_STATE_H_
#define SYNWAVE_TCP_STATE_H_

#include <cstdint>
#include <string_view>

namespace synwave::tcp {

#define SYNWAVE_TCP_STATES(X)       \
  X(kClosed, "CLOSED")              \
  X(kListen, "LISTEN")              \
  X(kSynSent, "SYN-SENT")           \
  X(kSynReceived, "SYN-RECEIVED")   \
  X(kEstablished, "ESTABLISHED")    \
  X(kFinWait1, "FIN-WAIT-1")        \
  X(kFinWait2, "FIN-WAIT-2")        \
  X(kCloseWait, "CLOSE-WAIT")       \
  X(kClosing, "CLOSING")            \
  X(kLastAck, "LAST-ACK")           \
  X(kTimeWait, "TIME-WAIT")

enum class TcpState : uint8_t {
#define SYNWAVE_X(e, name) e,
  SYNWAVE_TCP_STATES(SYNWAVE_X)
#undef SYNWAVE_X
};

inline constexpr int kNumTcpStates = 0
#define SYNWAVE_X(e, name) +1
    SYNWAVE_TCP_STATES(SYNWAVE_X)
#undef SYNWAVE_X
    ;

std::string_view StateName(TcpState s);

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_STATE_H_
