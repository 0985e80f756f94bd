#include "control/config.h"

#include "control/metrics.h"

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace synwave::control {

namespace {

// The proxy's own rules (--port and --ip are checked with every mode's).
// An IPv6 proxy's addresses: an IPv6 VIP, IPv6 backends on the prefix of
// --backend-ip.
absl::Status ValidateProxy6(const Config& config) {
  const ProxySettings& p = config.proxy;
  if (!config.ip6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--backend-ip: ", p.backend_ip6->ToString(),
        " is IPv6, so the VIP is too: give an IPv6 --ip (e.g. "
        "--ip=fd00::2/64; an IPv4 VIP in front of IPv6 backends is not "
        "supported)"));
  }
  for (size_t i = 0; i < p.backends.size(); ++i) {
    const app::ProxyBackend& b = p.backends[i];
    if (b.ip != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--backend: ", wire::Ipv4Address{b.ip}.ToString(),
          " is IPv4 but --backend-ip is IPv6: the proxy's backends are all "
          "of one family"));
    }
    const wire::Ipv6Address& a = b.ip6;
    if (!p.backend_ip6->Contains(a) || a == p.backend_ip6->address ||
        a.IsMulticast() || a.IsUnspecified()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--backend: ", a.ToString(), " is not another host on the prefix "
          "of --backend-ip=", p.backend_ip6->ToString()));
    }
    if (b.port != 0 && config.listen_ports.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--backend: with several --listen ports give backends without a "
          "port (", a.ToString(), "): each VIP port goes to the same port"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (p.backends[j] == b) {
        return absl::InvalidArgumentError(
            absl::StrCat("--backend: ", a.ToString(), " is given twice"));
      }
    }
  }
  if (p.backend_ip6->address == config.ip6->address) {
    return absl::InvalidArgumentError(
        "--backend-ip: must differ from the VIP (--ip)");
  }
  return absl::OkStatus();
}

absl::Status ValidateProxy(const Config& config) {
  const ProxySettings& p = config.proxy;
  if (!p.backend_ip && !p.backend_ip6) {
    return absl::InvalidArgumentError(
        "--backend-ip: the proxy needs its backend-side address (e.g. "
        "--backend-ip=10.9.0.1/24)");
  }
  if (p.backends.empty()) {
    return absl::InvalidArgumentError(
        "--backend: the proxy needs a backend (e.g. --backend=10.9.0.2:80)");
  }
  if (p.backends.size() > static_cast<size_t>(app::kMaxProxyBackends)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--backend: at most ", app::kMaxProxyBackends, " backends"));
  }
  if (config.listen_ports.empty()) {
    return absl::InvalidArgumentError("--listen: the proxy needs a VIP port");
  }
  if (p.backend_ip6) {
    if (absl::Status s = ValidateProxy6(config); !s.ok()) return s;
  }
  for (size_t i = 0; p.backend_ip && i < p.backends.size(); ++i) {
    const app::ProxyBackend& b = p.backends[i];
    const wire::Ipv4Address a{b.ip};
    if (!b.ip6.IsUnspecified()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--backend: ", b.ip6.ToString(), " is IPv6 but --backend-ip is "
          "IPv4: the proxy's backends are all of one family (an IPv6 proxy "
          "takes an IPv6 --backend-ip)"));
    }
    if (!p.backend_ip->Contains(a) || a == p.backend_ip->address) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--backend: ", a.ToString(), " is not another host on the subnet "
          "of --backend-ip=", p.backend_ip->ToString()));
    }
    if (b.port != 0 && config.listen_ports.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--backend: with several --listen ports give backends without a "
          "port (", a.ToString(), "): each VIP port goes to the same port"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (p.backends[j].ip == b.ip && p.backends[j].port == b.port) {
        return absl::InvalidArgumentError(
            absl::StrCat("--backend: ", a.ToString(), " is given twice"));
      }
    }
  }
  if (p.backend_ip && config.ip6 && config.mode == Mode::kProxy) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ip: ", config.ip6->ToString(), " is IPv6 but --backend-ip is "
        "IPv4: an IPv6 VIP in front of IPv4 backends is not supported (an "
        "IPv6 proxy takes an IPv6 --backend-ip and IPv6 backends)"));
  }
  if (config.ip && p.backend_ip &&
      p.backend_ip->address == config.ip->address) {
    return absl::InvalidArgumentError(
        "--backend-ip: must differ from the VIP (--ip)");
  }
  if (!(p.linger_s > 0) || p.linger_s > 3600) {
    return absl::InvalidArgumentError("--proxy-linger: must be 0..3600 s, not 0");
  }
  if (!(p.idle_timeout_s > 0) || p.idle_timeout_s > 1e6) {
    return absl::InvalidArgumentError(
        "--proxy-idle-timeout: must be a positive number of seconds");
  }
  if (!(p.probe_interval_s >= 0) || p.probe_interval_s > 3600) {
    return absl::InvalidArgumentError("--probe-interval: must be 0..3600 s");
  }
  if (p.max_flows < 1 || p.max_flows > (1u << 24)) {
    return absl::InvalidArgumentError("--max-flows: must be 1..16777216");
  }
  return absl::OkStatus();
}

// --ip and --gateway of the IPv4 family (none: IPv6 only).
absl::Status ValidateIpv4(const Config& config) {
  if (!config.ip) {
    if (config.gateway) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--gateway: ", config.gateway->ToString(),
          " is IPv4 but no IPv4 --ip is given"));
    }
    return absl::OkStatus();
  }
  const wire::Ipv4Address a = config.ip->address;
  if (a.IsZero() || a.IsMulticast() || a.IsLimitedBroadcast()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ip: ", a.ToString(), " cannot be a host address"));
  }
  if (config.ip->length < 31 && (a == config.ip->Broadcast() ||
                                 (a.value & ~config.ip->Mask()) == 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ip: ", config.ip->ToString(),
                     " is the subnet's network or broadcast address"));
  }
  if (config.gateway) {
    if (!config.ip->Contains(*config.gateway)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--gateway: ", config.gateway->ToString(),
                       " is not on the subnet of --ip=",
                       config.ip->ToString()));
    }
    if (*config.gateway == a) {
      return absl::InvalidArgumentError(
          "--gateway: must differ from our own address");
    }
  }
  return absl::OkStatus();
}

// --ip and --gateway of the IPv6 family.
absl::Status ValidateIpv6(const Config& config) {
  if (!config.ip6) {
    if (config.gateway6) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--gateway: ", config.gateway6->ToString(),
          " is IPv6 but no IPv6 --ip is given"));
    }
    return absl::OkStatus();
  }
  const wire::Ipv6Address& a = config.ip6->address;
  if (a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() ||
      a.IsV4Mapped()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ip: ", a.ToString(), " cannot be a host address"));
  }
  if (a.IsLinkLocal()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ip: ", a.ToString(),
        " is link-local: give a global or unique local address (the "
        "link-local one is made from the MAC)"));
  }
  if (config.gateway6) {
    const wire::Ipv6Address& g = *config.gateway6;
    if (g.IsUnspecified() || g.IsLoopback() || g.IsMulticast() ||
        g.IsV4Mapped()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--gateway: ", g.ToString(), " cannot be a next hop"));
    }
    // RFC 4861 8: routers are known by their link-local addresses; any
    // other next hop must be on our prefix.
    if (!g.IsLinkLocal() && !config.ip6->Contains(g)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--gateway: ", g.ToString(), " is neither link-local nor on the "
          "prefix of --ip=", config.ip6->ToString()));
    }
    if (g == a) {
      return absl::InvalidArgumentError(
          "--gateway: must differ from our own address");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Validate(const Config& config) {
  if (config.mode == Mode::kProxy) {
    if (absl::Status s = ValidateProxy(config); !s.ok()) return s;
  }
  if (!config.metrics.empty()) {
    std::string host;
    int port = 0;
    if (absl::Status st = ParseHostPort(config.metrics, &host, &port);
        !st.ok()) {
      return st;
    }
  }
  if (config.mode == Mode::kLoad && config.load.servers.empty()) {
    return absl::InvalidArgumentError(
        "--server: load needs a server to connect to (e.g. --server=198.18.0.1:80)");
  }
  if (config.mode != Mode::kServe && config.load.flood &&
      config.load.flood_src_first == 0 && !config.load.flood_ipv6) {
    return absl::InvalidArgumentError(
        "--flood-sources: a flood needs its spoofed source range (e.g. "
        "--flood-sources=198.18.128.0/17)");
  }
  if (config.mode != Mode::kServe && !config.load.flood &&
      config.load.concurrency == 0 && config.load.cps == 0) {
    return absl::InvalidArgumentError(
        "--concurrency: with --cps=0 (unpaced) a concurrency limit is needed");
  }
  if (absl::Status s = ValidateLoadFamilies(config); !s.ok()) return s;
  if (config.burst < 1 || config.burst > engine::kMaxBurst) {
    return absl::InvalidArgumentError(
        absl::StrCat("--burst: must be 1..", engine::kMaxBurst));
  }
  if (config.arp_timeout_s < 1) {
    return absl::InvalidArgumentError("--arp-timeout: must be >= 1");
  }
  if (config.mode == Mode::kLoopback) {
    // Everything else is chosen by the loopback itself.
    if (config.lcores.empty()) {
      return absl::InvalidArgumentError("--lcores: no worker CPU given");
    }
    return absl::OkStatus();
  }
  if (config.ports.empty()) {
    return absl::InvalidArgumentError(
        "--port: no DPDK device given (e.g. --port=net_tap0,iface=sw0)");
  }
  if (!config.ip && !config.ip6) {
    return absl::InvalidArgumentError(
        "--ip: the endpoint needs an address (e.g. --ip=198.18.0.2/24, "
        "--ip=fd00::2/64, or one of each)");
  }
  if (absl::Status s = ValidateIpv4(config); !s.ok()) return s;
  if (absl::Status s = ValidateIpv6(config); !s.ok()) return s;
  if (config.mac && (config.mac->IsMulticast() || config.mac->IsZero())) {
    return absl::InvalidArgumentError(
        "--mac: must be a unicast, non-zero address");
  }
  if (config.lcores.empty()) {
    return absl::InvalidArgumentError("--lcores: no worker CPU given");
  }
  if (config.duration_s < 0) {
    return absl::InvalidArgumentError("--duration: must be >= 0");
  }
  if (config.stats_interval_s < 0) {
    return absl::InvalidArgumentError("--stats-interval: must be >= 0");
  }
  if (!config.json_path.empty()) {
    // Fail now rather than after a long run.
    std::filesystem::path dir =
        std::filesystem::path(config.json_path).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--json: directory '", dir.string(), "' does not exist"));
    }
  }
  if (config.ports.size() > 1) {
    return absl::InvalidArgumentError(
        "--port: one port per process in this version");
  }
  return absl::OkStatus();
}

engine::WorkerConfig MakeWorkerConfig(const Config& config) {
  engine::WorkerConfig w;
  w.ip = config.ip.value_or(wire::Ipv4Prefix{});
  w.gateway = config.gateway;
  w.ip6 = config.ip6;
  w.gateway6 = config.gateway6;
  w.burst = config.burst;
  w.neighbor_reachable_ns = uint64_t{config.arp_timeout_s} * 1'000'000'000;
  w.listen_ports = config.listen_ports;
  w.tcp = config.tcp;
  w.admission = config.admission;
  if (config.mode == Mode::kProxy) w.listen_ports.clear();  // no stack
  if (config.mode == Mode::kLoad) {
    w.listen_ports.clear();
    w.admission.target_ns = 0;  // nothing is admitted: it connects out
    w.tcp_active = true;
    w.local_ip_first = config.load.client_ip_first;
    w.local_ip_last = config.load.client_ip_last;
    if (config.ip6) {  // answered to Neighbor Discovery like our address
      w.local_ip6_first = config.load.client_ip6_first;
      w.local_ip6_last = config.load.client_ip6_last;
    }
  }
  return w;
}

app::ProxyConfig MakeProxyConfig(const Config& config) {
  const ProxySettings& p = config.proxy;
  app::ProxyConfig pc;
  if (p.backend_ip6) {
    pc.ipv6 = true;
    pc.vip6 = config.ip6 ? config.ip6->address : wire::Ipv6Address{};
    pc.backend_side_ip6 = p.backend_ip6->address;
    pc.defaults.mss = 1440;  // a 1500-byte link under IPv6's 40 bytes
  } else {
    pc.vip = config.ip ? config.ip->address.value : 0;
    pc.backend_side_ip = p.backend_ip ? p.backend_ip->address.value : 0;
  }
  pc.listen_ports = config.listen_ports;
  pc.backends = p.backends;
  pc.max_flows = p.max_flows;
  pc.no_backend = p.no_backend;
  pc.linger_ns = static_cast<uint64_t>(p.linger_s * 1e9);
  pc.idle_timeout_ns = static_cast<uint64_t>(p.idle_timeout_s * 1e9);
  pc.probe_interval_ns = static_cast<uint64_t>(p.probe_interval_s * 1e9);
  return pc;
}

absl::StatusOr<std::vector<app::ProxyBackend>> ReadBackendList(
    const Config& running) {
  const std::string& path = running.proxy.reload_path;
  if (path.empty()) {
    return absl::FailedPreconditionError(
        "no --config file to re-read (the backends came from --backend on "
        "the command line)");
  }
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", where.line, ":", where.column, ": ",
                     std::string(e.description())));
  }
  const toml::node* node = table.get("backend");
  if (node == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no 'backend' key"));
  }
  std::vector<std::string> texts;
  if (const toml::array* arr = node->as_array()) {
    for (const toml::node& n : *arr) {
      std::optional<std::string> t = n.value<std::string>();
      if (!t) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": 'backend' must be strings, \"IP\" or \"IP:PORT\""));
      }
      texts.push_back(*t);
    }
  } else if (std::optional<std::string> t = node->value<std::string>()) {
    texts.push_back(*t);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": 'backend' must be a string or an array of strings"));
  }
  Config next = running;
  next.proxy.backends.clear();
  for (const std::string& t : texts) {
    absl::StatusOr<app::ProxyBackend> b = ParseBackend(t);
    if (!b.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": backend '", t, "': ", b.status().message()));
    }
    next.proxy.backends.push_back(*b);
  }
  if (absl::Status s = ValidateProxy(next); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return next.proxy.backends;
}

absl::StatusOr<app::ProxyBackend> ParseBackend(absl::string_view text) {
  app::ProxyBackend b;
  // IPv6: [ADDR]:PORT, or ADDR alone (two colons or more).
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    std::optional<wire::Ipv6Address> a;
    if (close != absl::string_view::npos) {
      a = wire::Ipv6Address::Parse(std::string(text.substr(1, close - 1)));
    }
    int port = 0;
    const absl::string_view rest =
        close == absl::string_view::npos ? "" : text.substr(close + 1);
    if (!a || rest.size() < 2 || rest.front() != ':' ||
        !absl::SimpleAtoi(rest.substr(1), &port) || port < 1 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", text, "' is not [IPv6]:PORT (e.g. [fd01::2]:8080)"));
    }
    b.ip6 = *a;
    b.port = static_cast<uint16_t>(port);
    return b;
  }
  if (std::count(text.begin(), text.end(), ':') >= 2) {
    const std::optional<wire::Ipv6Address> a =
        wire::Ipv6Address::Parse(std::string(text));
    if (!a) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", text, "' is not an IPv6 address (with a port: [IPv6]:PORT)"));
    }
    b.ip6 = *a;
    return b;
  }
  if (text.find(':') == absl::string_view::npos) {
    const std::optional<wire::Ipv4Address> a =
        wire::Ipv4Address::Parse(std::string(text));
    if (!a) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", text, "' is not IP or IP:PORT"));
    }
    b.ip = a->value;
    return b;
  }
  absl::StatusOr<app::LoadTarget> t = ParseServer(text);
  if (!t.ok()) return t.status();
  if (t->ipv6) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "': IPv6 backends are not supported yet"));
  }
  b.ip = t->ip;
  b.port = t->port;
  return b;
}

app::GeneratorConfig MakeGeneratorConfig(const Config& config, uint16_t queue,
                                         uint16_t queues) {
  const LoadSettings& load = config.load;
  app::GeneratorConfig gc;
  gc.servers = load.servers;
  gc.client_ip_first = load.client_ip_first;
  gc.client_ip_last = load.client_ip_last;
  gc.client_ip6_first = load.client_ip6_first;
  gc.client_ip6_last = load.client_ip6_last;
  gc.port_first = load.port_first;
  gc.port_last = load.port_last;
  gc.cps = load.cps / queues;
  gc.concurrency =
      load.concurrency == 0
          ? 0
          : std::max<uint32_t>(1, (load.concurrency + queues - 1) / queues);
  gc.max_pending =
      load.max_pending == 0
          ? 0
          : std::max<uint32_t>(1, (load.max_pending + queues - 1) / queues);
  gc.ramp_ns = static_cast<uint64_t>(load.ramp_s * 1e9);
  gc.request_bytes = config.responder.request_bytes;
  gc.response_bytes = config.responder.response_bytes;
  gc.close = load.close;
  gc.requests_per_connection = load.keepalive_requests;
  gc.max_connections = config.tcp.max_connections;
  gc.abandon_ns = static_cast<uint64_t>(load.abandon_s * 1e9);
  // --flood with --cps=0 --concurrency=0: the flood alone.
  if (load.flood && load.cps == 0 && load.concurrency == 0) {
    gc.opens_per_poll = 0;
  }
  gc.queue_id = queue;
  gc.num_queues = queues;
  return gc;
}

app::FloodConfig MakeFloodConfig(const Config& config, uint16_t queue,
                                 uint16_t queues) {
  app::FloodConfig f;
  const app::LoadTarget& target = config.load.servers.front();
  f.target_ip = target.ip;
  f.target_port = target.port;
  f.src_first = config.load.flood_src_first;
  f.src_last = config.load.flood_src_last;
  f.ipv6 = target.ipv6;
  f.target_ip6 = target.ip6;
  f.src6_first = config.load.flood_src6_first;
  f.src6_last = config.load.flood_src6_last;
  f.pps = config.load.flood_pps / queues;
  f.burst = config.burst;
  f.queue_id = queue;
  return f;
}

absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseAddressRange(
    absl::string_view text) {
  const std::string t(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", t, "' is not an address, a range A-B or a prefix A/N"));
  };
  if (t.find('/') != std::string::npos) {
    std::optional<wire::Ipv4Prefix> p = wire::Ipv4Prefix::Parse(t);
    if (!p) return bad();
    uint32_t first = p->address.value & p->Mask();
    uint32_t last = first | ~p->Mask();
    if (p->length < 31) {  // leave out the network and broadcast addresses
      ++first;
      --last;
    }
    return std::make_pair(first, last);
  }
  const size_t dash = t.find('-');
  const std::optional<wire::Ipv4Address> a =
      wire::Ipv4Address::Parse(t.substr(0, dash));
  if (!a) return bad();
  if (dash == std::string::npos) return std::make_pair(a->value, a->value);
  const std::optional<wire::Ipv4Address> b =
      wire::Ipv4Address::Parse(t.substr(dash + 1));
  if (!b) return bad();
  if (b->value < a->value) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", t, "': the range ends before it starts"));
  }
  return std::make_pair(a->value, b->value);
}

absl::StatusOr<std::pair<uint16_t, uint16_t>> ParsePortRange(
    absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  uint32_t lo = 0, hi = 0;
  if (parts.size() > 2 || !absl::SimpleAtoi(parts[0], &lo) ||
      (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &hi))) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a port or a range like 1024-65535"));
  }
  if (parts.size() == 1) hi = lo;
  if (lo == 0 || hi > 65535 || hi < lo) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a range of ports 1-65535"));
  }
  return std::make_pair(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
}

absl::StatusOr<std::vector<unsigned>> ParseCpuList(absl::string_view text) {
  std::vector<unsigned> cpus;
  std::set<unsigned> seen;
  if (text.empty()) return absl::InvalidArgumentError("empty CPU list");
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(part, '-');
    unsigned lo = 0, hi = 0;
    if (range.size() > 2 || !absl::SimpleAtoi(range[0], &lo) ||
        (range.size() == 2 && !absl::SimpleAtoi(range[1], &hi))) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", part, "' is not a CPU or a range like 0-3"));
    }
    if (range.size() == 1) hi = lo;
    if (hi < lo || hi >= 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad CPU range '", part, "'"));
    }
    for (unsigned c = lo; c <= hi; ++c) {
      if (!seen.insert(c).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("CPU ", c, " listed twice"));
      }
      cpus.push_back(c);
    }
  }
  return cpus;
}

absl::StatusOr<std::vector<std::string>> SplitArgs(absl::string_view text) {
  std::vector<std::string> args;
  std::string cur;
  bool in_arg = false;
  char quote = 0;
  for (char c : text) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        cur.push_back(c);
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_arg = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_arg) args.push_back(std::move(cur));
      cur.clear();
      in_arg = false;
    } else {
      cur.push_back(c);
      in_arg = true;
    }
  }
  if (quote != 0) return absl::InvalidArgumentError("unterminated quote");
  if (in_arg) args.push_back(std::move(cur));
  return args;
}

unsigned AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  unsigned highest = 0;
  for (unsigned c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) highest = c + 1;
  }
  return highest == 0 ? 1 : highest;
}

std::vector<unsigned> DefaultLcores() { return {AvailableCpus() - 1}; }

}  // namespace synwave::control
