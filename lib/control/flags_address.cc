// The addressing flags: --ip and --gateway, each repeatable, taking either
// family (dual stack: one address and one gateway of each). Their help is
// listed with the others' (FlagsHelp matches control/flags*).
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "control/command_line.h"
#include "control/config.h"
#include "control/flag_values.h"
#include "wire/addresses.h"

ABSL_FLAG(std::string, ip, "",
          "our address and prefix, A.B.C.D/N or an IPv6 one such as "
          "fd00::2/64 (repeatable: one of each family for dual stack; the "
          "IPv6 link-local address fe80::/64 from the MAC comes with an IPv6 "
          "one)");
ABSL_FLAG(std::string, gateway, "",
          "next hop for destinations off our subnet, of either family "
          "(optional; repeatable: one per family)");

namespace synwave::control {

// --ip and --gateway, each repeatable: an address of either family, at
// most one of each (dual stack). A value with a colon is IPv6.
absl::Status AddressesFromFlags(Config& c) {
  for (const std::string& ip : SplitRepeated(absl::GetFlag(FLAGS_ip))) {
    if (ip.find(':') != std::string::npos) {
      std::optional<wire::Ipv6Prefix> p = wire::Ipv6Prefix::Parse(ip);
      if (!p) {
        return Bad("ip", absl::StrCat("'", ip,
                                      "' is not an address like fd00::2/64"));
      }
      if (c.ip6) {
        return Bad("ip", absl::StrCat("two IPv6 addresses (",
                                      c.ip6->ToString(), " and ", ip,
                                      "): at most one of each family"));
      }
      c.ip6 = p;
      continue;
    }
    std::optional<wire::Ipv4Prefix> p = wire::Ipv4Prefix::Parse(ip);
    if (!p) {
      return Bad("ip", absl::StrCat("'", ip,
                                    "' is not an address like 198.18.0.2/24"));
    }
    if (c.ip) {
      return Bad("ip", absl::StrCat("two IPv4 addresses (", c.ip->ToString(),
                                    " and ", ip,
                                    "): at most one of each family"));
    }
    c.ip = p;
  }
  for (const std::string& gw : SplitRepeated(absl::GetFlag(FLAGS_gateway))) {
    if (gw.find(':') != std::string::npos) {
      std::optional<wire::Ipv6Address> a = wire::Ipv6Address::Parse(gw);
      if (!a) {
        return Bad("gateway",
                   absl::StrCat("'", gw, "' is not an IPv6 address"));
      }
      if (c.gateway6) {
        return Bad("gateway", "two IPv6 gateways: at most one per family");
      }
      c.gateway6 = a;
      continue;
    }
    std::optional<wire::Ipv4Address> a = wire::Ipv4Address::Parse(gw);
    if (!a) {
      return Bad("gateway", absl::StrCat("'", gw, "' is not an IPv4 address"));
    }
    if (c.gateway) {
      return Bad("gateway", "two IPv4 gateways: at most one per family");
    }
    c.gateway = a;
  }
  return absl::OkStatus();
}

}  // namespace synwave::control
