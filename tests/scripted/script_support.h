// What the packet-script parser (script_parse.cc) and runner
// (script_run.cc) share: the two hosts' addresses, text helpers and the
// name lookups of counters, gauges, states and generator figures.
#ifndef SYNWAVE_TESTS_SCRIPTED_SCRIPT_SUPPORT_H_
#define SYNWAVE_TESTS_SCRIPTED_SCRIPT_SUPPORT_H_

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "app/counters.h"
#include "app/generator.h"
#include "engine/counters.h"
#include "tcp/state.h"
#include "wire/headers.h"

namespace synwave::scripted {

inline const wire::Ipv4Address kOurIp = wire::Ipv4Address::FromOctets(198, 18, 0, 2);
inline const wire::Ipv4Address kPeerIp = wire::Ipv4Address::FromOctets(198, 18, 0, 1);
// The same two hosts over IPv6 (FAMILIES in script.h).
inline const wire::Ipv6Address kOurIp6 = *wire::Ipv6Address::Parse("fd00::2");
inline const wire::Ipv6Address kPeerIp6 = *wire::Ipv6Address::Parse("fd00::1");
// Script time 0 on the worker's clock: a little after its start, so that no
// timestamp or "last time" of the stack is zero by accident.
inline constexpr uint64_t kBaseNs = 1'000'000'000;
inline constexpr size_t kTraceLines = 40;

template <typename... Args>
std::string Cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

inline std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) out += sep;
    out += parts[i];
  }
  return out;
}

template <typename... Args>
void Append(std::string* out, const Args&... args) {
  *out += Cat(args...);
}

inline std::string FlagString(uint8_t f) {
  std::string s;
  if (f & wire::tcp_flags::kFin) s += 'F';
  if (f & wire::tcp_flags::kSyn) s += 'S';
  if (f & wire::tcp_flags::kRst) s += 'R';
  if (f & wire::tcp_flags::kPsh) s += 'P';
  if (f & wire::tcp_flags::kUrg) s += 'U';
  if (f & wire::tcp_flags::kEce) s += 'E';
  if (f & wire::tcp_flags::kCwr) s += 'W';
  if (f & wire::tcp_flags::kAck) s += '.';
  return s;
}

inline bool Compare(uint64_t a, std::string_view op, uint64_t b) {
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  return a >= b;
}

inline std::optional<size_t> CounterIndex(std::string_view name) {
  app::RegisterCounters();  // the generator's and the flood's blocks too
  for (size_t i = 0; i < engine::NumCounters(); ++i) {
    if (!name.empty() && engine::CounterName(i) == name) return i;
  }
  return std::nullopt;
}

inline std::optional<size_t> GaugeIndex(std::string_view name) {
  app::RegisterCounters();
  for (size_t i = 0; i < engine::NumGauges(); ++i) {
    if (!name.empty() && engine::GaugeName(i) == name) return i;
  }
  return std::nullopt;
}

inline std::optional<tcp::TcpState> StateByName(std::string_view name) {
  std::string n(name);
  for (char& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::replace(n.begin(), n.end(), '_', '-');
  for (int s = 0; s < tcp::kNumTcpStates; ++s) {
    const auto st = static_cast<tcp::TcpState>(s);
    if (tcp::StateName(st) == n) return st;
  }
  return std::nullopt;
}

// A Generator figure by name (`expect app NAME` in client mode).
inline std::optional<uint64_t> LoadStat(const app::GeneratorStats& s,
                                 std::string_view name) {
  if (name == "attempted") return s.attempted;
  if (name == "connected") return s.connected;
  if (name == "completed") return s.completed;
  if (name == "failed_refused") return s.failed_refused;
  if (name == "failed_timeout") return s.failed_timeout;
  if (name == "failed_reset") return s.failed_reset;
  if (name == "failed_other") return s.failed_other;
  if (name == "tuples_busy") return s.tuples_busy;
  if (name == "requests") return s.requests;
  if (name == "responses") return s.responses;
  if (name == "open") return s.open;
  if (name == "abandoned") return s.abandoned;
  return std::nullopt;
}

// Text: the scripts' words, numbers and times.

inline std::string_view Strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

inline std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t i = s.find(sep, start);
    out.push_back(s.substr(start, i == std::string_view::npos ? i : i - start));
    if (i == std::string_view::npos) return out;
    start = i + 1;
  }
}

inline std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::string_view w : Split(s, ' ')) {
    w = Strip(w);
    if (!w.empty()) out.push_back(w);
  }
  return out;
}

inline bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

inline absl::Status Invalid(const std::string& what) {
  return absl::InvalidArgumentError(what);
}

inline std::string Message(const absl::Status& s) { return std::string(s.message()); }


inline absl::Status LineError(int line, std::string_view what) {
  return Invalid(Cat("line ", line, ": ", what));
}

// Seconds with up to 9 decimals, to nanoseconds, without floating point.
inline std::optional<int64_t> ParseSeconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t whole = 0;
  int64_t frac = 0;
  int frac_digits = 0;
  bool dot = false;
  bool digits = false;
  for (char c : s) {
    if (c == '.') {
      if (dot) return std::nullopt;
      dot = true;
    } else if (c >= '0' && c <= '9') {
      digits = true;
      if (!dot) {
        whole = whole * 10 + (c - '0');
        if (whole > 1'000'000) return std::nullopt;
      } else {
        if (++frac_digits > 9) return std::nullopt;
        frac = frac * 10 + (c - '0');
      }
    } else {
      return std::nullopt;
    }
  }
  if (!digits) return std::nullopt;
  while (frac_digits++ < 9) frac *= 10;
  return whole * kNsPerSecond + frac;
}

inline bool IsTimeToken(std::string_view t) {
  return !t.empty() && (t[0] == '+' || std::isdigit(static_cast<unsigned char>(t[0])) ||
                        (t[0] == '.' && t.size() > 1));
}

// `+X` relative to `prev`, or absolute `X`.
inline std::optional<int64_t> ParseTime(std::string_view t, int64_t prev) {
  if (ConsumePrefix(&t, "+")) {
    auto d = ParseSeconds(t);
    if (!d) return std::nullopt;
    return prev + *d;
  }
  return ParseSeconds(t);
}

template <typename T>
inline std::optional<T> ParseNumber(std::string_view s, int base = 10) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

inline std::optional<int64_t> ParseInt(std::string_view s) {
  return ParseNumber<int64_t>(s);
}

inline std::optional<uint64_t> ParseUint(std::string_view s) {
  return ParseNumber<uint64_t>(s);
}

inline std::optional<bool> ParseBool(std::string_view s) {
  if (s == "1" || s == "true" || s == "on" || s == "yes") return true;
  if (s == "0" || s == "false" || s == "off" || s == "no") return false;
  return std::nullopt;
}

// Strips a `//` or `#` comment that is not inside a quoted string.
inline std::string_view StripComment(std::string_view line) {
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') quoted = true;
    if (c == '#' || (c == '/' && i + 1 < line.size() && line[i + 1] == '/')) {
      return line.substr(0, i);
    }
  }
  return line;
}

}  // namespace synwave::scripted

#endif  // SYNWAVE_TESTS_SCRIPTED_SCRIPT_SUPPORT_H_
