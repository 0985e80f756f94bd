// The flags of synwave proxy (and loopback --proxy): the backends' side,
// the backends, the flows' times. Their help is listed with the others'
// (FlagsHelp matches control/flags*).
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "control/command_line.h"
#include "control/config.h"
#include "control/flag_values.h"

namespace {
const synwave::control::ProxySettings kProxyDefaults;
}  // namespace

// proxy
ABSL_FLAG(std::string, backend_port, "",
          "proxy: the DPDK device on the backends' side (default: --port's, "
          "one-armed)");
ABSL_FLAG(std::string, backend_ip, "",
          "proxy: our address and prefix on the backends' side, A.B.C.D/N "
          "or an IPv6 one (fd01::1/64: an IPv6 proxy, whose VIP is --ip's "
          "IPv6 address); the backends route the clients' addresses "
          "through it");
ABSL_FLAG(std::string, backend, "",
          "proxy: a backend, IP:PORT or [IPv6]:PORT, or IP for the VIP port "
          "itself "
          "(repeatable, at most 8; flows are spread by rendezvous hashing)");
ABSL_FLAG(std::string, no_backend, "rst",
          "proxy: with no backend up, answer a SYN with rst or drop it");
ABSL_FLAG(int64_t, max_flows, kProxyDefaults.max_flows,
          "proxy: flow records per worker");
ABSL_FLAG(double, proxy_linger, kProxyDefaults.linger_s,
          "proxy: seconds a flow's record stays after both FINs were "
          "acknowledged (or a RST), so that retransmissions still translate");
ABSL_FLAG(double, proxy_idle_timeout, kProxyDefaults.idle_timeout_s,
          "proxy: seconds without a segment after which a flow is dropped");
ABSL_FLAG(double, probe_interval, kProxyDefaults.probe_interval_s,
          "proxy: seconds between health probes of each backend (down after "
          "3 failed, up after 2 good; 0: no probes, always up)");
ABSL_FLAG(bool, proxy, false,
          "loopback: generator -> synwave proxy -> server, over two net_ring "
          "pairs in one process");

namespace synwave::control {

// proxy: the backend side, the backends, the flows' times.
absl::Status ProxyFromFlags(Config& c) {
  ProxySettings& p = c.proxy;
  p.loopback = absl::GetFlag(FLAGS_proxy);
  p.backend_port = absl::GetFlag(FLAGS_backend_port);
  if (std::string ip = absl::GetFlag(FLAGS_backend_ip); !ip.empty()) {
    if (ip.find(':') != std::string::npos) {
      p.backend_ip6 = wire::Ipv6Prefix::Parse(ip);
    } else {
      p.backend_ip = wire::Ipv4Prefix::Parse(ip);
    }
    if (!p.backend_ip && !p.backend_ip6) {
      return Bad("backend-ip",
                 absl::StrCat("'", ip, "' is not an address like 10.9.0.1/24 "
                              "or fd01::1/64"));
    }
  }
  for (const std::string& s : SplitRepeated(absl::GetFlag(FLAGS_backend))) {
    absl::StatusOr<app::ProxyBackend> b = ParseBackend(s);
    if (!b.ok()) return Bad("backend", b.status().message());
    p.backends.push_back(*b);
  }
  const std::string nb = absl::GetFlag(FLAGS_no_backend);
  if (nb == "rst") {
    p.no_backend = app::NoBackend::kRst;
  } else if (nb == "drop") {
    p.no_backend = app::NoBackend::kDrop;
  } else {
    return Bad("no-backend", absl::StrCat("'", nb, "' is not rst or drop"));
  }
  SYNWAVE_ASSIGN_OR_RETURN(
      p.max_flows, IntFlag<uint32_t>(FLAGS_max_flows, "max-flows", 1, 1 << 24));
  p.linger_s = absl::GetFlag(FLAGS_proxy_linger);
  p.idle_timeout_s = absl::GetFlag(FLAGS_proxy_idle_timeout);
  p.probe_interval_s = absl::GetFlag(FLAGS_probe_interval);
  return absl::OkStatus();
}

}  // namespace synwave::control
