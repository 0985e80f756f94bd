// The MSS a link allows: its MTU less the IP and TCP headers (RFC 9293
// 3.7.1: the MSS counts data only; RFC 8200's IPv6 header is 40 bytes, 20
// more than IPv4's). Options are not counted in, as RFC 9293 asks; the
// sender subtracts them per segment.
#ifndef SYNWAVE_TCP_MSS_H_
#define SYNWAVE_TCP_MSS_H_

#include <algorithm>
#include <cstdint>

#include "wire/parse.h"

namespace synwave::tcp {

inline constexpr uint32_t kIpv4TcpHeaderBytes = 20 + 20;
inline constexpr uint32_t kIpv6TcpHeaderBytes = 40 + 20;
// Smallest MTUs a link may have: RFC 791 (68) and RFC 8200 5 (1280).
inline constexpr uint32_t kIpv4MinMtu = 68;
inline constexpr uint32_t kIpv6MinMtu = 1280;
inline constexpr uint32_t kMaxMtu = 65535;

// The MSS for a link of `mtu` bytes. An MTU below the family's minimum is
// taken as that minimum (an IPv6 link carries 1280 bytes whatever it
// claims), one above 65535 as 65535.
inline constexpr uint16_t MssForMtu(wire::IpFamily family, uint32_t mtu) {
  if (family == wire::IpFamily::kIpv6) {
    return static_cast<uint16_t>(std::clamp(mtu, kIpv6MinMtu, kMaxMtu) -
                                 kIpv6TcpHeaderBytes);
  }
  return static_cast<uint16_t>(std::clamp(mtu, kIpv4MinMtu, kMaxMtu) -
                               kIpv4TcpHeaderBytes);
}

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_MSS_H_
