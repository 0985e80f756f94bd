// Small helpers shared by the Linux kernel baseline tools (epoll_server.cc,
// epoll_client.cc): address parsing, CPU pinning, the monotonic clock, the
// file-descriptor limit and flag parsing.
//
// These tools measure what the kernel's own TCP stack does for the same
// request/response exchange as `synwave serve`, so they use nothing but
// Linux sockets and epoll and stay independent of lib/.
#ifndef SYNWAVE_BENCH_LINUX_SOCKET_UTIL_H_
#define SYNWAVE_BENCH_LINUX_SOCKET_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/string_view.h"

namespace synwave::bench {

// Monotonic time in nanoseconds.
inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

// Parses a dotted-quad IPv4 address.
inline std::optional<in_addr> ParseIpv4(const std::string& text) {
  in_addr a;
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return a;
}

// Parses "A.B.C.D:PORT", or just "PORT" (then the address is `default_ip`).
// Port 0 is allowed: the kernel picks one on bind.
inline std::optional<sockaddr_in> ParseEndpoint(const std::string& text,
                                                const std::string& default_ip) {
  std::string ip = default_ip;
  std::string port = text;
  if (size_t colon = text.rfind(':'); colon != std::string::npos) {
    ip = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  unsigned long p = std::strtoul(port.c_str(), nullptr, 10);
  std::optional<in_addr> addr = ParseIpv4(ip);
  if (p > 65535 || !addr) return std::nullopt;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(p));
  sa.sin_addr = *addr;
  return sa;
}

inline std::string FormatEndpoint(const sockaddr_in& sa) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
  return std::string(ip) + ":" + std::to_string(ntohs(sa.sin_port));
}

// An address of either family, as bind() and getsockname() take it.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;

  int family() const { return addr.ss_family; }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&addr); }
};

// "A.B.C.D:PORT", "[IPv6]:PORT", or just "PORT" (on `default_ip`, IPv4).
inline std::optional<Endpoint> ParseAnyEndpoint(const std::string& text,
                                                const std::string& default_ip) {
  Endpoint e;
  if (text.empty() || text[0] != '[') {
    std::optional<sockaddr_in> v4 = ParseEndpoint(text, default_ip);
    if (!v4) return std::nullopt;
    std::memcpy(&e.addr, &*v4, sizeof(*v4));
    e.len = sizeof(*v4);
    return e;
  }
  const size_t close = text.find("]:");
  if (close == std::string::npos) return std::nullopt;
  const std::string ip = text.substr(1, close - 1);
  const std::string port = text.substr(close + 2);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const unsigned long p = std::strtoul(port.c_str(), nullptr, 10);
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(static_cast<uint16_t>(p));
  if (p > 65535 || inet_pton(AF_INET6, ip.c_str(), &sa.sin6_addr) != 1) {
    return std::nullopt;
  }
  std::memcpy(&e.addr, &sa, sizeof(sa));
  e.len = sizeof(sa);
  return e;
}

inline std::string FormatEndpoint(const Endpoint& e) {
  if (e.family() == AF_INET) {
    sockaddr_in sa;
    std::memcpy(&sa, &e.addr, sizeof(sa));
    return FormatEndpoint(sa);
  }
  sockaddr_in6 sa;
  std::memcpy(&sa, &e.addr, sizeof(sa));
  char ip[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &sa.sin6_addr, ip, sizeof(ip));
  return "[" + std::string(ip) + "]:" + std::to_string(ntohs(sa.sin6_port));
}

// Pins the calling thread to one CPU; a negative cpu leaves it alone.
inline bool PinToCpu(int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

// Raises the soft limit on open files to the hard limit: each connection in
// flight (and, for the server, each one being served) holds a descriptor.
inline void RaiseFdLimit() {
  rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// Parses the command line with Abseil flags. Abseil spells flags with
// underscores; these tools document dashes (--response-bytes), like
// `synwave`, so "--a-b=v" is rewritten to "--a_b=v" first. --help lists the
// flags defined under bench/linux/.
inline void ParseFlags(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return file.find("bench/linux/") != absl::string_view::npos;
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);

  std::vector<std::string> args(argv, argv + argc);
  std::vector<char*> ptrs;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string& a = args[i];
    bool flag = i > 0 && a.size() > 2 && a[0] == '-' && a != "--";
    if (flag) {
      size_t end = std::min(a.find('='), a.size());
      for (size_t j = a[1] == '-' ? 2 : 1; j < end; ++j) {
        if (a[j] == '-') a[j] = '_';
      }
    }
    ptrs.push_back(a.data());
  }
  absl::ParseCommandLine(int(ptrs.size()), ptrs.data());
}

}  // namespace synwave::bench

#endif  // SYNWAVE_BENCH_LINUX_SOCKET_UTIL_H_
