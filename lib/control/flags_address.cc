// The addressing flags: --ip and --gateway, each repeatable, taking either
// family (dual stack: one address and one gateway of each); and a load's
// addresses: --client-ips (repeatable, one range of each family),
// --flood-sources (either family) and loopback --ipv6. Their help is
// listed with the others' (FlagsHelp matches control/flags*).
#include <optional>
#include <string>
#include <utility>

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
ABSL_FLAG(std::string, client_ips, "",
          "load: client addresses, a range 10.0.0.2-10.0.0.200, a prefix "
          "10.0.1.0/24 or one address, or IPv6 ones (fd00::100-fd00::1ff, "
          "fd00::/120; at most 2^24) for IPv6 servers (repeatable: one of "
          "each family; default: the --ip address of the server's family; "
          "loopback: 10.0.1.1-10.0.1.254, fd00::1:1-fd00::1:fe)");
ABSL_FLAG(std::string, flood_sources, "",
          "load: spoofed source addresses of --flood, a prefix or range of "
          "the first server's family (IPv6: within one /64) (loopback "
          "default: 10.128.0.0/9, with --ipv6 fd00::8000:0:0:0/65)");
ABSL_FLAG(bool, ipv6, false,
          "loopback: the generator connects to the server over IPv6 "
          "(server fd00::1, clients fd00::1:1-fd00::1:fe)");

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

namespace {

// One address-range flag value of either family into [*first, *last] or
// [*first6, *last6]; `seen4`/`seen6` say whether that family was given
// already.
absl::Status RangeInto(const char* flag, const std::string& text,
                       uint32_t* first, uint32_t* last,
                       wire::Ipv6Address* first6, wire::Ipv6Address* last6,
                       bool* seen4, bool* seen6) {
  if (text.find(':') != std::string::npos) {
    if (*seen6) return Bad(flag, "at most one IPv6 range");
    absl::StatusOr<std::pair<wire::Ipv6Address, wire::Ipv6Address>> r =
        ParseAddressRange6(text);
    if (!r.ok()) return Bad(flag, r.status().message());
    *first6 = r->first;
    *last6 = r->second;
    *seen6 = true;
    return absl::OkStatus();
  }
  if (*seen4) return Bad(flag, "at most one IPv4 range");
  absl::StatusOr<std::pair<uint32_t, uint32_t>> r = ParseAddressRange(text);
  if (!r.ok()) return Bad(flag, r.status().message());
  *first = r->first;
  *last = r->second;
  *seen4 = true;
  return absl::OkStatus();
}

}  // namespace

// --client-ips, --flood-sources and --ipv6, after --ip and --server.
absl::Status LoadAddressesFromFlags(Mode mode, Config& c) {
  LoadSettings& load = c.load;
  load.loopback_ipv6 = absl::GetFlag(FLAGS_ipv6);
  if (load.loopback_ipv6 && mode != Mode::kLoopback) {
    return Bad("ipv6", "is for loopback (load and serve take an IPv6 --ip)");
  }
  bool seen4 = false, seen6 = false;
  for (const std::string& r : SplitRepeated(absl::GetFlag(FLAGS_client_ips))) {
    if (absl::Status s = RangeInto("client-ips", r, &load.client_ip_first,
                                   &load.client_ip_last, &load.client_ip6_first,
                                   &load.client_ip6_last, &seen4, &seen6);
        !s.ok()) {
      return s;
    }
  }
  bool server6 = false;
  for (const app::LoadTarget& t : load.servers) server6 |= t.ipv6;
  if (mode == Mode::kLoopback) {
    if (!seen4) {
      load.client_ip_first = kLoopbackClientFirst;
      load.client_ip_last = kLoopbackClientLast;
    }
    if (!seen6 && (load.loopback_ipv6 || server6)) {
      load.client_ip6_first =
          wire::Ipv6Address::FromWords(kLoopback6Prefix, kLoopback6ClientFirst);
      load.client_ip6_last =
          wire::Ipv6Address::FromWords(kLoopback6Prefix, kLoopback6ClientLast);
    }
  } else {
    if (!seen4 && c.ip) {
      load.client_ip_first = load.client_ip_last = c.ip->address.value;
    }
    if (!seen6 && c.ip6 && server6) {
      load.client_ip6_first = load.client_ip6_last = c.ip6->address;
    }
  }
  bool f4 = false, f6 = false;
  if (std::string fs = absl::GetFlag(FLAGS_flood_sources); !fs.empty()) {
    if (absl::Status s = RangeInto("flood-sources", fs, &load.flood_src_first,
                                   &load.flood_src_last, &load.flood_src6_first,
                                   &load.flood_src6_last, &f4, &f6);
        !s.ok()) {
      return s;
    }
    load.flood_ipv6 = f6;
  } else if (mode == Mode::kLoopback) {
    // The first server's family: the loopback's own server is IPv6 with
    // --ipv6.
    load.flood_ipv6 = load.servers.empty() ? load.loopback_ipv6
                                           : load.servers.front().ipv6;
    if (load.flood_ipv6) {
      load.flood_src6_first =
          wire::Ipv6Address::FromWords(kLoopback6Prefix, kLoopback6FloodFirst);
      load.flood_src6_last =
          wire::Ipv6Address::FromWords(kLoopback6Prefix, kLoopback6FloodLast);
    } else {
      load.flood_src_first = kLoopbackFloodFirst;
      load.flood_src_last = kLoopbackFloodLast;
    }
  }
  return absl::OkStatus();
}

}  // namespace synwave::control
