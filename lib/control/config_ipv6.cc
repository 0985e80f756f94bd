// The IPv6 side of a load's configuration: client and flood-source ranges
// of IPv6 addresses, "[fd00::1]:80" servers, and the rules that tie a
// load's servers, clients and flood to the families it has addresses of.
// Kept apart from config.cc, whose IPv4 forms read as before.
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "control/config.h"

namespace synwave::control {
namespace {

using U128 = unsigned __int128;

U128 Value(const wire::Ipv6Address& a) {
  return (U128{a.High()} << 64) | a.Low();
}

wire::Ipv6Address FromValue(U128 v) {
  return wire::Ipv6Address::FromWords(static_cast<uint64_t>(v >> 64),
                                      static_cast<uint64_t>(v));
}

// Not an address a client (or a spoofed source) can have.
bool BadHost(const wire::Ipv6Address& a) {
  return a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() ||
         a.IsV4Mapped();
}

}  // namespace

absl::StatusOr<std::pair<wire::Ipv6Address, wire::Ipv6Address>>
ParseAddressRange6(absl::string_view text) {
  const std::string t(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", t, "' is not an IPv6 address, a range A-B or a prefix A/N"));
  };
  wire::Ipv6Address first, last;
  if (t.find('/') != std::string::npos) {
    std::optional<wire::Ipv6Prefix> p = wire::Ipv6Prefix::Parse(t);
    if (!p) return bad();
    const U128 host_mask =
        p->length == 0 ? ~U128{0} : (U128{1} << (128 - p->length)) - 1;
    U128 lo = Value(p->address) & ~host_mask;
    const U128 hi = lo | host_mask;
    if (p->length < 127) ++lo;  // not the subnet-router anycast address
    first = FromValue(lo);
    last = FromValue(hi);
  } else {
    const size_t dash = t.find('-');
    std::optional<wire::Ipv6Address> a =
        wire::Ipv6Address::Parse(t.substr(0, dash));
    if (!a) return bad();
    first = last = *a;
    if (dash != std::string::npos) {
      std::optional<wire::Ipv6Address> b =
          wire::Ipv6Address::Parse(t.substr(dash + 1));
      if (!b) return bad();
      if (*b < *a) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", t, "': the range ends before it starts"));
      }
      last = *b;
    }
  }
  for (const wire::Ipv6Address& a : {first, last}) {
    if (BadHost(a)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", t, "': ", a.ToString(),
                       " cannot be a host "
                       "address (unspecified, loopback, multicast or "
                       "IPv4-mapped)"));
    }
  }
  // A range from below to above the multicast block (or loopback) holds
  // its ends' checks only: refuse ranges that straddle ff00::/8.
  if (first.bytes[0] != 0xff && last.bytes[0] == 0xff) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", t, "' reaches into multicast (ff00::/8)"));
  }
  return std::make_pair(first, last);
}

uint64_t AddressCount6(const wire::Ipv6Address& first,
                       const wire::Ipv6Address& last) {
  if (last < first) return 0;
  const U128 n = Value(last) - Value(first);
  return n >= ~uint64_t{0} ? ~uint64_t{0} : static_cast<uint64_t>(n) + 1;
}

std::string TargetText(const app::LoadTarget& target) {
  if (target.ipv6) {
    return absl::StrCat("[", target.ip6.ToString(), "]:", target.port);
  }
  return absl::StrCat(wire::Ipv4Address{target.ip}.ToString(), ":",
                      target.port);
}

absl::StatusOr<app::LoadTarget> ParseServer(absl::string_view text) {
  const std::string t(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", t, "' is not a server like 198.18.0.1:80 or [fd00::1]:80"));
  };
  const size_t colon = t.rfind(':');
  if (colon == std::string::npos) return bad();
  uint32_t port = 0;
  if (!absl::SimpleAtoi(t.substr(colon + 1), &port) || port == 0 ||
      port > 65535) {
    return bad();
  }
  app::LoadTarget target;
  target.port = static_cast<uint16_t>(port);
  const std::string host = t.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
    std::optional<wire::Ipv6Address> a =
        wire::Ipv6Address::Parse(host.substr(1, host.size() - 2));
    if (!a) return bad();
    if (BadHost(*a)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", t, "': ", a->ToString(), " cannot be a server's address"));
    }
    return app::LoadTarget::Ipv6(*a, target.port);
  }
  if (host.find(':') != std::string::npos) {
    // fd00::1:80 cannot be told from the address fd00::1:80.
    return absl::InvalidArgumentError(absl::StrCat(
        "'", t, "': an IPv6 server takes brackets, as [fd00::1]:80"));
  }
  std::optional<wire::Ipv4Address> ip = wire::Ipv4Address::Parse(host);
  if (!ip) return bad();
  target.ip = ip->value;
  return target;
}

absl::Status ValidateLoadFamilies(const Config& config) {
  if (config.mode == Mode::kServe || config.mode == Mode::kProxy) {
    return absl::OkStatus();
  }
  const LoadSettings& load = config.load;
  bool any6 = false;
  // IPv6 only (no IPv4 --ip): IPv4 servers and clients are refused by
  // name (with no --ip at all, Validate's own message says so).
  const bool only6 = !config.ip && config.ip6 && config.mode != Mode::kLoopback;
  for (const app::LoadTarget& s : load.servers) {
    if (!s.ipv6 && only6) {
      return absl::InvalidArgumentError(
          absl::StrCat("--server: ", TargetText(s),
                       " is IPv4 but no IPv4 --ip is given "
                       "(e.g. --ip=198.18.0.2/24 beside the IPv6 one)"));
    }
    if (!s.ipv6) continue;
    any6 = true;
    if (!config.ip6 && config.mode != Mode::kLoopback) {
      return absl::InvalidArgumentError(
          absl::StrCat("--server: ", TargetText(s),
                       " is IPv6 but no IPv6 --ip is given "
                       "(e.g. --ip=fd00::2/64 beside the IPv4 one)"));
    }
  }
  if (only6 && load.client_ip_first != 0) {
    return absl::InvalidArgumentError(
        "--client-ips: IPv4 clients need an IPv4 --ip");
  }
  const bool clients6 = !load.client_ip6_first.IsUnspecified();
  if (clients6) {
    if (!config.ip6 && config.mode != Mode::kLoopback) {
      return absl::InvalidArgumentError(
          "--client-ips: IPv6 clients need an IPv6 --ip");
    }
    const uint64_t n =
        AddressCount6(load.client_ip6_first, load.client_ip6_last);
    if (load.client_ip6_first.High() != load.client_ip6_last.High()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--client-ips: ", load.client_ip6_first.ToString(), "-",
          load.client_ip6_last.ToString(),
          " spans more than one /64; give a range within one /64"));
    }
    if (n > kMaxClientIps6) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--client-ips: ", load.client_ip6_first.ToString(), "-",
          load.client_ip6_last.ToString(), " holds more than ", kMaxClientIps6,
          " addresses (a /104); give a smaller range"));
    }
  } else if (any6) {
    return absl::InvalidArgumentError(
        "--client-ips: IPv6 servers need IPv6 client addresses");
  }
  if (load.flood && !load.servers.empty()) {
    const bool target6 = load.servers.front().ipv6;
    if (target6 != load.flood_ipv6) {
      return absl::InvalidArgumentError(
          absl::StrCat("--flood-sources: ", load.flood_ipv6 ? "IPv6" : "IPv4",
                       " sources for an ", target6 ? "IPv6" : "IPv4",
                       " target (the "
                       "flood goes to the first --server, ",
                       TargetText(load.servers.front()), ")"));
    }
    if (load.flood_ipv6 &&
        load.flood_src6_first.High() != load.flood_src6_last.High()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--flood-sources: ", load.flood_src6_first.ToString(), "-",
          load.flood_src6_last.ToString(),
          " spans more than one /64; give a range within one /64"));
    }
  }
  return absl::OkStatus();
}

bool LoopbackNeedsIpv4(const Config& config) {
  const LoadSettings& load = config.load;
  if (load.flood && !load.flood_ipv6) return true;
  if (load.servers.empty()) return !load.loopback_ipv6;
  for (const app::LoadTarget& s : load.servers) {
    if (!s.ipv6) return true;
  }
  return false;
}

}  // namespace synwave::control
