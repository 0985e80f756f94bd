#include "script.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>

#include <charconv>
#include <sstream>

#include "absl/status/status.h"
#include "app/counters.h"
#include "engine/counters.h"
#include "ring_harness.h"
#include "tcp/state.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"
#include "wire/seq_num.h"

namespace synwave::scripted {
namespace {

namespace tf = wire::tcp_flags;
using testutil::Frame;

const wire::Ipv4Address kOurIp = wire::Ipv4Address::FromOctets(198, 18, 0, 2);
const wire::Ipv4Address kPeerIp = wire::Ipv4Address::FromOctets(198, 18, 0, 1);
// The same two hosts over IPv6 (FAMILIES in script.h).
const wire::Ipv6Address kOurIp6 = *wire::Ipv6Address::Parse("fd00::2");
const wire::Ipv6Address kPeerIp6 = *wire::Ipv6Address::Parse("fd00::1");
// Script time 0 on the worker's clock: a little after its start, so that no
// timestamp or "last time" of the stack is zero by accident.
constexpr uint64_t kBaseNs = 1'000'000'000;
constexpr size_t kTraceLines = 40;

// ---------------------------------------------------------------------------
// Parsing

// Debian's abseil has its own string_view type, so text handling here uses
// the standard library only.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string_view Strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t i = s.find(sep, start);
    out.push_back(s.substr(start, i == std::string_view::npos ? i : i - start));
    if (i == std::string_view::npos) return out;
    start = i + 1;
  }
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::string_view w : Split(s, ' ')) {
    w = Strip(w);
    if (!w.empty()) out.push_back(w);
  }
  return out;
}

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

absl::Status Invalid(const std::string& what) {
  return absl::InvalidArgumentError(what);
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

template <typename... Args>
void Append(std::string* out, const Args&... args) {
  *out += Cat(args...);
}


absl::Status LineError(int line, std::string_view what) {
  return Invalid(Cat("line ", line, ": ", what));
}

// Seconds with up to 9 decimals, to nanoseconds, without floating point.
std::optional<int64_t> ParseSeconds(std::string_view s) {
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

bool IsTimeToken(std::string_view t) {
  return !t.empty() && (t[0] == '+' || std::isdigit(static_cast<unsigned char>(t[0])) ||
                        (t[0] == '.' && t.size() > 1));
}

// `+X` relative to `prev`, or absolute `X`.
std::optional<int64_t> ParseTime(std::string_view t, int64_t prev) {
  if (ConsumePrefix(&t, "+")) {
    auto d = ParseSeconds(t);
    if (!d) return std::nullopt;
    return prev + *d;
  }
  return ParseSeconds(t);
}

template <typename T>
std::optional<T> ParseNumber(std::string_view s, int base = 10) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  return ParseNumber<int64_t>(s);
}

std::optional<uint64_t> ParseUint(std::string_view s) {
  return ParseNumber<uint64_t>(s);
}

std::optional<bool> ParseBool(std::string_view s) {
  if (s == "1" || s == "true" || s == "on" || s == "yes") return true;
  if (s == "0" || s == "false" || s == "off" || s == "no") return false;
  return std::nullopt;
}

// Strips a `//` or `#` comment that is not inside a quoted string.
std::string_view StripComment(std::string_view line) {
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

// A cursor over one line: words, `<...>` groups and quoted strings.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }
  char Peek() {
    SkipSpace();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  // The next whitespace-delimited word (stops before '<' or '"' openers
  // only at a word's start).
  std::string_view Word() {
    SkipSpace();
    const size_t start = pos_;
    while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_]))) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }
  // After a '<': everything up to the matching '>'.
  std::optional<std::string_view> Group() {
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] != '<') return std::nullopt;
    const size_t close = s_.find('>', pos_);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view g = s_.substr(pos_ + 1, close - pos_ - 1);
    pos_ = close + 1;
    return g;
  }
  // A quoted string with C escapes.
  std::optional<std::string> Quoted(std::string* error) {
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] != '"') return std::nullopt;
    std::string out;
    ++pos_;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) break;
      c = s_[pos_++];
      switch (c) {
        case 'r': out.push_back('\r'); break;
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case '0': out.push_back('\0'); break;
        case '\\': out.push_back('\\'); break;
        case '"': out.push_back('"'); break;
        case 'x': {
          if (pos_ + 2 > s_.size()) {
            *error = "bad \\x escape";
            return std::nullopt;
          }
          auto v = ParseNumber<uint8_t>(s_.substr(pos_, 2), 16);
          if (!v) {
            *error = "bad \\x escape";
            return std::nullopt;
          }
          out.push_back(static_cast<char>(*v));
          pos_ += 2;
          break;
        }
        default:
          *error = Cat("unknown escape \\", std::string(1, c));
          return std::nullopt;
      }
    }
    if (pos_ >= s_.size()) {
      *error = "unterminated string";
      return std::nullopt;
    }
    ++pos_;  // closing quote
    return out;
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) {
      ++pos_;
    }
  }
  std::string_view s_;
  size_t pos_ = 0;
};

std::optional<uint8_t> ParseFlags(std::string_view s) {
  uint8_t f = 0;
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    switch (c) {
      case 'F': f |= tf::kFin; break;
      case 'S': f |= tf::kSyn; break;
      case 'R': f |= tf::kRst; break;
      case 'P': f |= tf::kPsh; break;
      case '.': f |= tf::kAck; break;
      case 'U': f |= tf::kUrg; break;
      case 'E': f |= tf::kEce; break;
      case 'W': f |= tf::kCwr; break;
      default: return std::nullopt;
    }
  }
  return f;
}

std::string FlagString(uint8_t f) {
  std::string s;
  if (f & tf::kFin) s += 'F';
  if (f & tf::kSyn) s += 'S';
  if (f & tf::kRst) s += 'R';
  if (f & tf::kPsh) s += 'P';
  if (f & tf::kUrg) s += 'U';
  if (f & tf::kEce) s += 'E';
  if (f & tf::kCwr) s += 'W';
  if (f & tf::kAck) s += '.';
  return s;
}

// A number or `*`.
bool ParseValue(std::string_view w, bool allow_any, uint32_t* v, bool* any) {
  if (w == "*") {
    *any = true;
    return allow_any;
  }
  auto n = ParseUint(w);
  if (!n || *n > 0xffffffffu) return false;
  *v = static_cast<uint32_t>(*n);
  return true;
}

absl::StatusOr<std::vector<OptionSpec>> ParseOptions(std::string_view group,
                                                     bool outbound) {
  std::vector<OptionSpec> out;
  if (Strip(group).empty()) return out;
  for (std::string_view item : Split(group, ',')) {
    std::vector<std::string_view> w = Words(item);
    if (w.empty()) return Invalid("empty option");
    OptionSpec o;
    const std::string_view k = w[0];
    bool ok = true;
    if (k == "nop" && w.size() == 1) {
      o.kind = OptionSpec::Kind::kNop;
    } else if (k == "eol" && w.size() == 1) {
      o.kind = OptionSpec::Kind::kEol;
    } else if (k == "sackOK" && w.size() == 1) {
      o.kind = OptionSpec::Kind::kSackOk;
    } else if (k == "mss" && w.size() == 2) {
      o.kind = OptionSpec::Kind::kMss;
      ok = ParseValue(w[1], outbound, &o.a, &o.a_any) && o.a <= 0xffff;
    } else if (k == "wscale" && w.size() == 2) {
      o.kind = OptionSpec::Kind::kWscale;
      ok = ParseValue(w[1], outbound, &o.a, &o.a_any) && o.a <= 0xff;
    } else if (k == "TS" && w.size() == 5 && w[1] == "val" && w[3] == "ecr") {
      o.kind = OptionSpec::Kind::kTs;
      // Inbound: `ecr *` echoes the endpoint's latest TSval; `val` is ours.
      ok = ParseValue(w[2], outbound, &o.a, &o.a_any) &&
           ParseValue(w[4], true, &o.b, &o.b_any);
    } else if (k == "sack" && w.size() >= 2) {
      o.kind = OptionSpec::Kind::kSack;
      for (size_t i = 1; i < w.size() && ok; ++i) {
        std::vector<std::string_view> lr = Split(w[i], ':');
        std::optional<int64_t> l, r;
        if (lr.size() == 2) {
          l = ParseInt(lr[0]);
          r = ParseInt(lr[1]);
        }
        ok = l && r;
        if (ok) o.sack.emplace_back(*l, *r);
      }
      ok = ok && o.sack.size() <= 4;
    } else {
      ok = false;
    }
    if (!ok) {
      return Invalid(
          Cat("bad option `", Strip(item), "`"));
    }
    out.push_back(std::move(o));
  }
  return out;
}

size_t RawOptionLength(const std::vector<OptionSpec>& opts) {
  size_t n = 0;
  for (const OptionSpec& o : opts) {
    switch (o.kind) {
      case OptionSpec::Kind::kNop:
      case OptionSpec::Kind::kEol: n += 1; break;
      case OptionSpec::Kind::kMss: n += 4; break;
      case OptionSpec::Kind::kWscale: n += 3; break;
      case OptionSpec::Kind::kSackOk: n += 2; break;
      case OptionSpec::Kind::kTs: n += 10; break;
      case OptionSpec::Kind::kSack: n += 2 + 8 * o.sack.size(); break;
    }
  }
  return n;
}

absl::Status ParseSegment(Cursor& c, bool outbound, SegmentSpec* seg) {
  std::string_view w = c.Word();
  if (ConsumePrefix(&w, "@")) {
    auto p = ParseUint(w);
    if (!p || *p == 0 || *p > 0xffff) {
      return Invalid("bad @port");
    }
    seg->peer_port = static_cast<uint16_t>(*p);
    w = c.Word();
  }
  auto flags = ParseFlags(w);
  if (!flags) {
    return Invalid(Cat("bad flags `", w, "`"));
  }
  seg->flags = *flags;
  // START:END(LEN)
  w = c.Word();
  {
    const size_t colon = w.find(':');
    const size_t open = w.find('(');
    std::optional<int64_t> start, end;
    std::optional<uint64_t> len;
    if (colon != std::string_view::npos && open != std::string_view::npos &&
        open > colon && w.back() == ')') {
      start = ParseInt(w.substr(0, colon));
      end = ParseInt(w.substr(colon + 1, open - colon - 1));
      len = ParseUint(w.substr(open + 1, w.size() - open - 2));
    }
    if (!start || !end || !len) {
      return Invalid(
          Cat("expected START:END(LEN), got `", w, "`"));
    }
    if (*end - *start != static_cast<int64_t>(*len) || *len > 65000) {
      return Invalid(
          Cat("END - START is not LEN in `", w, "`"));
    }
    seg->start = *start;
    seg->end = *end;
    seg->len = static_cast<uint32_t>(*len);
  }
  while (!c.AtEnd()) {
    const char p = c.Peek();
    if (p == '<') {
      auto g = c.Group();
      if (!g) return Invalid("unterminated <options>");
      auto opts = ParseOptions(*g, outbound);
      if (!opts.ok()) return opts.status();
      if (!outbound && RawOptionLength(*opts) > wire::kTcpMaxOptionsLength) {
        return Invalid("options longer than 40 bytes");
      }
      seg->options = std::move(*opts);
      continue;
    }
    if (p == '"') {
      std::string error;
      auto q = c.Quoted(&error);
      if (!q) return Invalid(error);
      if (q->size() != seg->len) {
        return Invalid(Cat(
            "payload string has ", q->size(), " bytes, LEN is ", seg->len));
      }
      seg->payload = std::move(*q);
      continue;
    }
    const std::string_view key = c.Word();
    const std::string_view val = c.Word();
    if (key == "ack") {
      auto v = ParseInt(val);
      if (!v) return Invalid("bad ack");
      seg->ack = *v;
    } else if (key == "win") {
      auto v = ParseUint(val);
      if (!v || *v > 0xffff) return Invalid("bad win");
      seg->window = static_cast<uint16_t>(*v);
    } else {
      return Invalid(Cat("unexpected `", key, "`"));
    }
  }
  if (!outbound && (seg->flags & tf::kAck) && !seg->ack) {
    return Invalid("`<` segment with ACK needs `ack N`");
  }
  return absl::OkStatus();
}

absl::Status ApplyConfig(std::string_view key_in, std::string_view v,
                         ScriptConfig* c) {
  std::string key(key_in);
  std::replace(key.begin(), key.end(), '-', '_');
  tcp::TcpConfig& t = c->worker.tcp;
  auto bad = [&] {
    return Invalid(
        Cat("bad value `", v, "` for ", key));
  };
  auto u32 = [&](uint32_t* dst, uint64_t max = 0xffffffffu) -> absl::Status {
    auto n = ParseUint(v);
    if (!n || *n > max) return bad();
    *dst = static_cast<uint32_t>(*n);
    return absl::OkStatus();
  };
  auto u16 = [&](uint16_t* dst) -> absl::Status {
    uint32_t x = 0;
    if (auto s = u32(&x, 0xffff); !s.ok()) return s;
    *dst = static_cast<uint16_t>(x);
    return absl::OkStatus();
  };
  auto u8 = [&](uint8_t* dst) -> absl::Status {
    uint32_t x = 0;
    if (auto s = u32(&x, 0xff); !s.ok()) return s;
    *dst = static_cast<uint8_t>(x);
    return absl::OkStatus();
  };
  auto secs = [&](uint64_t* dst) -> absl::Status {
    auto n = ParseSeconds(v);
    if (!n) return bad();
    *dst = static_cast<uint64_t>(*n);
    return absl::OkStatus();
  };
  auto flag = [&](bool* dst) -> absl::Status {
    auto b = ParseBool(v);
    if (!b) return bad();
    *dst = *b;
    return absl::OkStatus();
  };
  if (key == "listen") {
    c->worker.listen_ports.clear();
    for (std::string_view p : Split(v, ',')) {
      auto n = ParseUint(p);
      if (!n || *n == 0 || *n > 0xffff) return bad();
      c->worker.listen_ports.push_back(static_cast<uint16_t>(*n));
    }
    return absl::OkStatus();
  }
  if (key == "family") {
    if (v != "ipv4" && v != "ipv6" && v != "both") return bad();
    c->ipv4 = v != "ipv6";
    c->ipv6 = v != "ipv4";
    return absl::OkStatus();
  }
  if (key == "dport") return u16(&c->dport);
  if (key == "sport") return u16(&c->sport);
  if (key == "peer_isn") return u32(&c->peer_isn);
  if (key == "app") {
    if (v == "responder") {
      c->app = true;
    } else if (v == "none") {
      c->app = false;
    } else {
      return bad();
    }
    return absl::OkStatus();
  }
  if (key == "mode") {
    if (v == "server") {
      c->client = false;
    } else if (v == "client") {
      c->client = true;
    } else {
      return bad();
    }
    return absl::OkStatus();
  }
  // The application keys set both applications' configs; the mode picks
  // which one runs (close=rst exists only for the client: checked once the
  // mode is known).
  if (key == "close") {
    const std::optional<app::CloseMode> mode = app::ParseCloseMode(v);
    if (!mode) return bad();
    c->responder.close = *mode;
    c->generator.close = *mode;
    return absl::OkStatus();
  }
  if (key == "request_bytes") {
    if (auto s = u32(&c->responder.request_bytes); !s.ok()) return s;
    c->generator.request_bytes = c->responder.request_bytes;
    return absl::OkStatus();
  }
  if (key == "response_bytes") {
    if (auto s = u32(&c->responder.response_bytes); !s.ok()) return s;
    c->generator.response_bytes = c->responder.response_bytes;
    return absl::OkStatus();
  }
  if (key == "requests") {
    if (auto s = u32(&c->responder.requests_per_connection, 0xffff); !s.ok()) {
      return s;
    }
    if (c->responder.requests_per_connection == 0) return bad();
    c->generator.requests_per_connection = c->responder.requests_per_connection;
    return absl::OkStatus();
  }
  if (key == "abandon") {
    auto n = ParseSeconds(v);
    if (!n) return bad();
    c->generator.abandon_ns = static_cast<uint64_t>(*n);
    return absl::OkStatus();
  }
  if (key == "connections") {
    if (auto s = u32(&c->connections); !s.ok()) return s;
    return c->connections == 0 ? bad() : absl::OkStatus();
  }
  if (key == "tick" || key == "tolerance") {
    auto n = ParseSeconds(v);
    if (!n || (key == "tick" && *n == 0)) return bad();
    (key == "tick" ? c->tick_ns : c->tolerance_ns) = *n;
    return absl::OkStatus();
  }
  if (key == "burst") return u16(&c->worker.burst);
  if (key == "accept_batch") return u32(&c->worker.accept_batch);
  if (key == "max_connections") return u32(&t.max_connections);
  if (key == "max_half_open") return u32(&t.max_half_open);
  if (key == "max_time_wait") return u32(&t.max_time_wait);
  if (key == "buffer_chunks") return u32(&t.buffer_chunks);
  if (key == "syn_backlog") return u32(&t.syn_backlog);
  if (key == "syncookies") {
    if (v == "off") {
      t.syncookies = tcp::SynCookieMode::kOff;
    } else if (v == "overflow") {
      t.syncookies = tcp::SynCookieMode::kOverflow;
    } else if (v == "always") {
      t.syncookies = tcp::SynCookieMode::kAlways;
    } else {
      return bad();
    }
    return absl::OkStatus();
  }
  if (key == "backlog" || key == "accept_backlog") return u32(&t.accept_backlog);
  if (key == "mss") return u16(&t.mss);
  if (key == "wscale" || key == "window_scale") return u8(&t.window_scale);
  if (key == "timestamps") return flag(&t.timestamps);
  if (key == "sack" || key == "sack_permitted") return flag(&t.sack_permitted);
  if (key == "rcv_buffer") return u32(&t.rcv_buffer);
  if (key == "snd_buffer") return u32(&t.snd_buffer);
  if (key == "rto" || key == "rto_initial") return secs(&t.rto_initial_ns);
  if (key == "rto_min") return secs(&t.rto_min_ns);
  if (key == "rto_max") return secs(&t.rto_max_ns);
  if (key == "syn_ack_retries") return u8(&t.syn_ack_retries);
  if (key == "syn_retries") return u8(&t.syn_retries);
  if (key == "max_retransmits") return u8(&t.max_retransmits);
  if (key == "orphan_retries") return u8(&t.orphan_retries);
  if (key == "max_orphans") return u32(&t.max_orphans);
  if (key == "idle_timeout") return secs(&t.idle_timeout_ns);
  if (key == "buffer_reserve_chunks") return u32(&t.buffer_reserve_chunks);
  if (key == "msl") return secs(&t.msl_ns);
  if (key == "fin_wait2_timeout") return secs(&t.fin_wait2_timeout_ns);
  if (key == "keepalive") return flag(&t.keepalive);
  if (key == "keepalive_idle") return secs(&t.keepalive_idle_ns);
  if (key == "keepalive_interval") return secs(&t.keepalive_interval_ns);
  if (key == "keepalive_probes") return u8(&t.keepalive_probes);
  if (key == "challenge_ack_interval") return secs(&t.challenge_ack_interval_ns);
  if (key == "initial_cwnd") return u32(&t.initial_cwnd_segments);
  return Invalid(Cat("unknown config key `", key, "`"));
}

bool ValidOp(std::string_view op) {
  return op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" ||
         op == ">=";
}

bool Compare(uint64_t a, std::string_view op, uint64_t b) {
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  return a >= b;
}

std::optional<size_t> CounterIndex(std::string_view name) {
  app::RegisterCounters();  // the generator's and the flood's blocks too
  for (size_t i = 0; i < engine::NumCounters(); ++i) {
    if (!name.empty() && engine::CounterName(i) == name) return i;
  }
  return std::nullopt;
}

std::optional<size_t> GaugeIndex(std::string_view name) {
  app::RegisterCounters();
  for (size_t i = 0; i < engine::NumGauges(); ++i) {
    if (!name.empty() && engine::GaugeName(i) == name) return i;
  }
  return std::nullopt;
}

std::optional<tcp::TcpState> StateByName(std::string_view name) {
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
std::optional<uint64_t> LoadStat(const app::GeneratorStats& s,
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

absl::Status ParseExpect(Cursor& c, bool client, Event* e) {
  const std::string_view what = c.Word();
  if (what == "isn") {
    if (c.Word() != "after" || c.Word() != "previous" || !c.AtEnd()) {
      return Invalid("expected `expect isn after previous`");
    }
    e->kind = Event::Kind::kExpectIsnAfterPrevious;
    return absl::OkStatus();
  }
  if (what == "counter") {
    e->kind = Event::Kind::kExpectCounter;
  } else if (what == "state") {
    e->kind = Event::Kind::kExpectState;
  } else if (what == "app") {
    e->kind = Event::Kind::kExpectApp;
  } else {
    return Invalid(
        "expected `expect counter|state|app|isn ...`");
  }
  e->name = std::string(c.Word());
  e->op = std::string(c.Word());
  auto v = ParseUint(c.Word());
  if (e->name.empty() || !ValidOp(e->op) || !v || !c.AtEnd()) {
    return Invalid("expected `expect KIND NAME OP N`");
  }
  e->value = *v;
  switch (e->kind) {
    case Event::Kind::kExpectCounter:
      if (!CounterIndex(e->name) && !GaugeIndex(e->name)) {
        return Invalid(
            Cat("no counter or gauge named `", e->name, "`"));
      }
      break;
    case Event::Kind::kExpectState:
      if (!StateByName(e->name)) {
        return Invalid(
            Cat("no TCP state named `", e->name, "`"));
      }
      break;
    case Event::Kind::kExpectApp:
      if (client && !LoadStat(app::GeneratorStats{}, e->name)) {
        return Invalid(
            "expected `expect app attempted|connected|completed|"
            "failed_refused|failed_timeout|failed_reset|failed_other|"
            "tuples_busy|requests|responses|open|abandoned OP N`");
      }
      if (!client && e->name != "requests" && e->name != "responses") {
        return Invalid(
            "expected `expect app requests|responses OP N`");
      }
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

}  // namespace

ScriptConfig::ScriptConfig() {
  worker.ip = wire::Ipv4Prefix{kOurIp, 24};
  worker.listen_ports = {80};
  // A script needs a handful of connections, not the production pools.
  worker.tcp.max_connections = 64;
  worker.tcp.max_half_open = 64;
  worker.tcp.max_time_wait = 64;
  worker.tcp.buffer_chunks = 512;
  // Client mode closes first unless a script says otherwise (README).
  generator.close = app::CloseMode::kClient;
}

absl::StatusOr<Script> ParseScript(std::string_view text) {
  Script script;
  int64_t prev = 0;
  bool started = false;
  int line_no = 0;
  bool explicit_dport = false;
  bool explicit_sport = false;
  bool explicit_listen = false;
  for (std::string_view raw : Split(text, '\n')) {
    ++line_no;
    const std::string_view line =
        Strip(StripComment(raw));
    if (line.empty()) continue;
    Cursor c(line);
    std::string_view first = c.Word();
    if (first == "config") {
      if (started) return LineError(line_no, "config after the first event");
      while (!c.AtEnd()) {
        const std::string_view kv = c.Word();
        const size_t eq = kv.find('=');
        if (eq == std::string_view::npos) {
          return LineError(line_no, Cat("expected KEY=VALUE, got `", kv, "`"));
        }
        if (kv.substr(0, eq) == "dport") explicit_dport = true;
        if (kv.substr(0, eq) == "sport") explicit_sport = true;
        if (kv.substr(0, eq) == "listen") explicit_listen = true;
        if (auto s = ApplyConfig(kv.substr(0, eq), kv.substr(eq + 1),
                                 &script.config);
            !s.ok()) {
          return LineError(line_no, Message(s));
        }
      }
      continue;
    }
    if (!started) {
      started = true;
      ScriptConfig& sc = script.config;
      if (sc.client) {
        // The endpoint is the client: port 40000 talking to the peer's 80.
        if (!explicit_listen) sc.worker.listen_ports.clear();
        if (!explicit_dport) sc.dport = 40000;
        if (!explicit_sport) sc.sport = 80;
      } else {
        if (sc.generator.close == app::CloseMode::kRst) {
          return LineError(line_no, "close=rst needs mode=client");
        }
        if (!explicit_dport && !sc.worker.listen_ports.empty()) {
          sc.dport = sc.worker.listen_ports[0];
        }
      }
    }
    Event e;
    e.line = line_no;
    e.time_ns = prev;
    const bool had_time = IsTimeToken(first);
    if (had_time) {
      auto t = ParseTime(first, prev);
      if (!t) return LineError(line_no, Cat("bad time `", first, "`"));
      if (*t < prev) return LineError(line_no, "time goes backwards");
      e.time_ns = *t;
      first = c.Word();
    }
    if (first == "ipv4:" || first == "ipv6:") {
      e.only = first == "ipv4:" ? Family::kIpv4 : Family::kIpv6;
      if (!script.config.RunsOver(*e.only)) {
        return LineError(line_no, Cat("`", first, "` line in a script that "
                                      "does not run over that family"));
      }
      first = c.Word();
    }
    // The body, for traces and reports.
    e.text = std::string(Strip(
        line.substr(static_cast<size_t>(first.data() - line.data()))));
    absl::Status s;
    if (first == "<" || first == ">") {
      const bool outbound = first == ">";
      if (outbound && c.Peek() == 'n') {
        if (c.Word() != "nothing" || !c.AtEnd()) {
          return LineError(line_no, "expected `> nothing`");
        }
        e.kind = Event::Kind::kNothing;
      } else {
        e.kind = outbound ? Event::Kind::kOutbound : Event::Kind::kInbound;
        s = ParseSegment(c, outbound, &e.seg);
      }
    } else if (first == "run") {
      if (had_time) {
        return LineError(line_no, "`run` takes its time after the keyword");
      }
      const std::string_view t = c.Word();
      auto at = ParseTime(t, prev);
      if (!at || !c.AtEnd()) return LineError(line_no, "expected `run TIME`");
      if (*at < prev) return LineError(line_no, "time goes backwards");
      e.kind = Event::Kind::kRun;
      e.time_ns = *at;
    } else if (first == "drop") {
      e.kind = Event::Kind::kDropNext;
      if (c.Word() != "next") return LineError(line_no, "expected `drop next [N] <|>`");
      std::string_view w = c.Word();
      if (auto n = ParseUint(w)) {
        if (*n == 0 || *n > 1000) return LineError(line_no, "bad count");
        e.drop_count = static_cast<uint32_t>(*n);
        w = c.Word();
      }
      if ((w != "<" && w != ">") || !c.AtEnd()) {
        return LineError(line_no, "expected `drop next [N] <|>`");
      }
      e.drop_outbound = w == ">";
    } else if (first == "expect") {
      s = ParseExpect(c, script.config.client, &e);
    } else {
      return LineError(line_no, Cat("unknown event `", first, "`"));
    }
    if (!s.ok()) return LineError(line_no, Message(s));
    prev = e.time_ns;
    script.events.push_back(std::move(e));
  }
  if (script.events.empty()) return LineError(line_no, "no events");
  return script;
}

// ---------------------------------------------------------------------------
// Running

namespace {

std::string FormatTime(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ns) / 1e9);
  return buf;
}

class Runner {
 public:
  Runner(const Script& script, std::string_view name, Family family)
      : script_(script),
        config_(script.config),
        name_(name),
        family_(family),
        ipv6_(family == Family::kIpv6) {}

  std::string Run() {
    engine::AppOps ops;
    engine::WorkerConfig worker = config_.worker;
    if (ipv6_) {
      // Dual stack; the script talks IPv6 only, with the MSS it wrote.
      worker.ip6 = wire::Ipv6Prefix{kOurIp6, 64};
      worker.tcp.mss6 = worker.tcp.mss;
    }
    if (config_.client) {
      worker.tcp_active = true;
      // The runner is the application and forwards to the generator, made
      // once the harness is up, so that it can stop it after
      // `connections` (ClientPoll).
      ops.ctx = this;
      ops.on_event = &Runner::ClientEvent;
      ops.on_poll = &Runner::ClientPoll;
      ops.on_publish = &Runner::ClientPublish;
    } else if (config_.app) {
      responder_ = std::make_unique<app::Responder>(config_.responder);
      ops = responder_->ops();
    }
    harness_ = std::make_unique<testutil::RingHarness>(worker, ops);
    if (config_.client) {
      app::GeneratorConfig g = config_.generator;
      if (ipv6_) {
        g.servers = {app::LoadTarget::Ipv6(kPeerIp6, config_.sport)};
        g.client_ip6_first = kOurIp6;
        g.client_ip6_last = kOurIp6;
      } else {
        g.servers = {app::LoadTarget{kPeerIp.value, config_.sport}};
        g.client_ip_first = kOurIp.value;
        g.client_ip_last = kOurIp.value;
      }
      g.port_first = config_.dport;
      g.port_last = config_.dport;
      g.concurrency = 1;
      g.max_connections = worker.tcp.max_connections;
      generator_ = std::make_unique<app::Generator>(g);
      generator_ops_ = generator_->ops();
      generator_->SetSchedule(kBaseNs, ~uint64_t{0});
      // Time 0: the generator asks for the peer's MAC (answered at once)
      // and sends its first SYN.
      PollAt(0);
    }
    for (const Event& e : script_.events) {
      if (e.only && *e.only != family_) continue;  // the other family's
      if (!Step(e)) return report_;
    }
    // Two more iterations at the same time: whatever is still sendable
    // goes out (nobody expects it), and the rings and the worker's arrays
    // drain, so every mbuf should be home.
    for (int i = 0; i < 2; ++i) {
      PollAt(now_);
      if (!ExpectIdle(nullptr)) return report_;
    }
    if (!harness_->AllMbufsReturned()) {
      Fail(nullptr, "an mbuf leaked: not every mbuf is back in its pool", {});
      return report_;
    }
    return "";
  }

 private:
  struct Observed {
    int64_t time_ns;
    Frame frame;
  };
  // What the runner knows about the endpoint side of one connection.
  struct Conn {
    bool isn_known = false;
    uint32_t isn = 0;
    uint32_t synack_ack = 0;   // ack of the SYN-ACK that taught the ISN
    uint64_t attempts = 0;     // client: the generator's opens by then
    bool have_end = false;
    uint32_t max_end = 0;      // highest sequence number sent, plus one
    bool prev_known = false;   // a previous incarnation was seen
    uint32_t prev_max_end = 0;
    uint32_t last_tsval = 0;   // latest TSval delivered to the peer
  };

  Conn& ConnFor(uint16_t port) { return conns_[port]; }

  // Client mode: the worker's application, forwarded to the generator,
  // which stops opening once it has opened `connections`.
  static void ClientEvent(void* ctx, tcp::TcpStack& stack,
                          const tcp::AppEvent& ev, uint64_t now_ns) {
    auto* r = static_cast<Runner*>(ctx);
    if (r->generator_ == nullptr) return;
    r->generator_ops_.on_event(r->generator_ops_.ctx, stack, ev, now_ns);
  }
  static void ClientPoll(void* ctx, engine::Link& link, tcp::TcpStack* stack,
                         uint64_t now_ns) {
    auto* r = static_cast<Runner*>(ctx);
    if (r->generator_ == nullptr) return;
    if (r->generator_->stats().attempted >= r->config_.connections) {
      r->generator_->StopOpening();
    }
    r->generator_ops_.on_poll(r->generator_ops_.ctx, link, stack, now_ns);
  }
  static void ClientPublish(void* ctx, engine::CoreCounters& counters) {
    auto* r = static_cast<Runner*>(ctx);
    if (r->generator_ == nullptr) return;
    r->generator_ops_.on_publish(r->generator_ops_.ctx, counters);
  }

  uint16_t PortOf(const SegmentSpec& s) const {
    return s.peer_port.value_or(config_.sport);
  }

  bool Step(const Event& e) {
    switch (e.kind) {
      case Event::Kind::kInbound:
        return DoInbound(e);
      case Event::Kind::kOutbound:
        return DoOutbound(e);
      case Event::Kind::kNothing:
        AdvanceTo(e.time_ns);
        return ExpectIdle(&e);
      case Event::Kind::kRun:
        AdvanceTo(e.time_ns);
        Trace(e.time_ns, Cat("run (clock at ", FormatTime(now_), ")"));
        return true;
      case Event::Kind::kDropNext:
        AdvanceTo(e.time_ns);
        (e.drop_outbound ? drop_out_ : drop_in_) += e.drop_count;
        Trace(e.time_ns, e.text);
        return true;
      case Event::Kind::kExpectCounter:
      case Event::Kind::kExpectState:
      case Event::Kind::kExpectApp:
      case Event::Kind::kExpectIsnAfterPrevious:
        AdvanceTo(e.time_ns);
        if (!ExpectIdle(&e)) return false;
        return DoExpect(e);
    }
    return false;  // not reached: the switch covers every kind
  }

  // One worker iteration at script time t; collects what it sent. An ARP
  // request for the peer is answered, and the answer handled by another
  // iteration at the same time.
  void PollAt(int64_t t) {
    bool again = true;
    while (again) {
      again = false;
      for (Frame& f : harness_->Poll(kBaseNs + static_cast<uint64_t>(t))) {
        if (AnswerArp(t, f) || AnswerNeighborSolicitation(t, f)) {
          again = true;
        } else {
          Collect(t, std::move(f));
        }
      }
    }
  }

  // True if `f` is an ARP request for the peer's address (answered).
  bool AnswerArp(int64_t t, const Frame& f) {
    wire::PacketInfo info;
    if (wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                         &info) != wire::Verdict::kOk ||
        info.kind != wire::PacketKind::kArp) {
      return false;
    }
    const auto* arp =
        reinterpret_cast<const wire::ArpHeader*>(f.data() + info.l3_offset);
    if (arp->op.get() != wire::kArpOpRequest || !(arp->TargetIp() == kPeerIp)) {
      return false;
    }
    testutil::ArpFrame reply;
    reply.eth.dst = harness_->mac();
    reply.eth.src = harness_->peer_mac();
    reply.arp.op = wire::kArpOpReply;
    reply.arp.sha = harness_->peer_mac();
    reply.arp.spa = kPeerIp;
    reply.arp.tha = harness_->mac();
    reply.arp.tpa = arp->SenderIp();
    harness_->Inject(testutil::BuildFrame(reply));
    Trace(t, "[ARP request for the peer answered]");
    return true;
  }

  // True if `f` is a Neighbor Solicitation for the peer's IPv6 address
  // (answered with a solicited advertisement, as the peer would).
  bool AnswerNeighborSolicitation(int64_t t, const Frame& f) {
    wire::PacketInfo info;
    if (wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                         &info) != wire::Verdict::kOk ||
        info.kind != wire::PacketKind::kIcmp6 ||
        f[info.l4_offset] != wire::kIcmpv6NeighborSolicitation ||
        !(wire::Ipv6Address::FromBytes(f.data() + info.l4_offset + 8) ==
          kPeerIp6)) {
      return false;
    }
    testutil::Icmp6Frame na;
    na.eth.dst = harness_->mac();
    na.eth.src = harness_->peer_mac();
    na.ip.src = kPeerIp6;
    na.ip.dst = wire::Ipv6Src(f.data(), info);
    na.ip.hop_limit = 255;
    na.icmp.type = wire::kIcmpv6NeighborAdvertisement;
    na.icmp.body = testutil::NdBody(
        kPeerIp6, wire::na_flags::kSolicited | wire::na_flags::kOverride,
        harness_->peer_mac(), wire::kNdOptionTargetLinkAddress);
    harness_->Inject(testutil::BuildFrame(na));
    Trace(t, "[Neighbor Solicitation for the peer answered]");
    return true;
  }

  // A frame the endpoint sent at t: learned from, lost (`drop next >`) or
  // queued for the `>` lines.
  void Collect(int64_t t, Frame f) {
    wire::PacketInfo info;
    const bool tcp =
        wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                         &info) == wire::Verdict::kOk &&
        info.kind == wire::PacketKind::kTcp;
    if (tcp) Learn(info);
    if (tcp && drop_out_ > 0) {
      --drop_out_;
      Trace(t, Cat("> ", Render(f), "   [lost: drop next >]"));
      return;
    }
    if (tcp && (info.options.has_timestamps)) {
      ConnFor(info.dst_port).last_tsval = info.options.ts_val;
    }
    queue_.push_back(Observed{t, std::move(f)});
  }

  // ISN learning and the highest sequence number of the incarnation (for
  // RFC 6191 checks). A new incarnation shows as a SYN-ACK answering a new
  // SYN (another ack) with another sequence number (the SYN-ACK of a
  // simultaneous open repeats the SYN's), or, in client mode, as a SYN of
  // a connection the generator has just opened. A retransmission teaches
  // nothing, so one with another ISN fails the script.
  void Learn(const wire::PacketInfo& info) {
    Conn& c = ConnFor(info.dst_port);
    const uint64_t attempts = generator_ ? generator_->stats().attempted : 0;
    bool fresh = false;
    if ((info.tcp_flags & (tf::kSyn | tf::kAck)) == tf::kSyn) {
      fresh = !c.isn_known || attempts != c.attempts;
    } else if (info.tcp_flags & tf::kSyn) {
      fresh = !c.isn_known || (info.ack.value() != c.synack_ack &&
                               info.seq.value() != c.isn);
    }
    if (fresh) {
      if (c.isn_known && c.have_end) {
        c.prev_known = true;
        c.prev_max_end = c.max_end;
      }
      c.isn_known = true;
      c.isn = info.seq.value();
      c.synack_ack = info.ack.value();
      c.attempts = attempts;
      c.have_end = false;
    }
    if (info.tcp_flags & tf::kRst) return;
    const wire::SeqNum end = info.seq + info.SegmentLength();
    if (!c.have_end || end > wire::SeqNum(c.max_end)) {
      c.have_end = true;
      c.max_end = end.value();
    }
  }

  void AdvanceTo(int64_t t) {
    while (now_ < t) {
      now_ = std::min(now_ + config_.tick_ns, t);
      PollAt(now_);
    }
  }

  bool ExpectIdle(const Event* e) {
    if (queue_.empty()) return true;
    const Observed& o = queue_.front();
    Trace(o.time_ns, "> " + Render(o.frame) + "   [unexpected]");
    return Fail(e,
                e == nullptr ? "the endpoint sent a segment no `>` line "
                               "expects (at the end of the script)"
                             : "the endpoint sent a segment no `>` line "
                               "expects (before this line)",
                {"  actual:   > " + Render(o.frame) + "   (at " +
                 FormatTime(o.time_ns) + ")"});
  }

  bool DoInbound(const Event& e) {
    AdvanceTo(e.time_ns);
    if (!ExpectIdle(&e)) return false;
    if (drop_in_ > 0) {
      --drop_in_;
      Trace(now_, Cat(e.text, "   [lost: drop next <]"));
      return true;
    }
    const SegmentSpec& s = e.seg;
    const uint16_t port = PortOf(s);
    Conn& c = ConnFor(port);
    testutil::TcpFields tcp;
    tcp.src_port = port;
    tcp.dst_port = config_.dport;
    tcp.seq = config_.peer_isn + static_cast<uint32_t>(s.start);
    tcp.ack = 0;
    if (s.ack) {
      tcp.ack = static_cast<uint32_t>(*s.ack) + (c.isn_known ? c.isn : 0);
    }
    tcp.flags = s.flags;
    tcp.window = s.window.value_or(65535);
    std::vector<uint8_t> raw;
    if (s.options) {
      for (const OptionSpec& o : *s.options) AppendRaw(o, c, &raw);
    }
    tcp.raw_options = std::move(raw);
    if (s.payload) {
      tcp.payload.assign(s.payload->begin(), s.payload->end());
    } else {
      for (uint32_t i = 0; i < s.len; ++i) {
        tcp.payload.push_back(static_cast<uint8_t>('a' + i % 26));
      }
    }
    if (ipv6_) {
      testutil::Tcp6Frame f6;
      f6.eth.dst = harness_->mac();
      f6.eth.src = harness_->peer_mac();
      f6.ip.src = kPeerIp6;
      f6.ip.dst = kOurIp6;
      f6.tcp = std::move(tcp);
      harness_->Inject(testutil::BuildFrame(f6));
    } else {
      testutil::TcpFrame f;
      f.eth.dst = harness_->mac();
      f.eth.src = harness_->peer_mac();
      f.ip.src = kPeerIp;
      f.ip.dst = kOurIp;
      f.ip.id = ip_id_++;
      f.tcp = std::move(tcp);
      harness_->Inject(testutil::BuildFrame(f));
    }
    Trace(now_, e.text);
    PollAt(now_);
    return true;
  }

  static void Be16(std::vector<uint8_t>* v, uint32_t x) {
    v->push_back(static_cast<uint8_t>(x >> 8));
    v->push_back(static_cast<uint8_t>(x));
  }
  static void Be32(std::vector<uint8_t>* v, uint32_t x) {
    Be16(v, x >> 16);
    Be16(v, x & 0xffff);
  }

  void AppendRaw(const OptionSpec& o, const Conn& c, std::vector<uint8_t>* v) {
    namespace k = wire::tcp_option_kind;
    switch (o.kind) {
      case OptionSpec::Kind::kNop:
        v->push_back(k::kNop);
        break;
      case OptionSpec::Kind::kEol:
        v->push_back(k::kEol);
        break;
      case OptionSpec::Kind::kMss:
        v->insert(v->end(), {k::kMss, 4});
        Be16(v, o.a);
        break;
      case OptionSpec::Kind::kWscale:
        v->insert(v->end(), {k::kWindowScale, 3, static_cast<uint8_t>(o.a)});
        break;
      case OptionSpec::Kind::kSackOk:
        v->insert(v->end(), {k::kSackPermitted, 2});
        break;
      case OptionSpec::Kind::kTs:
        v->insert(v->end(), {k::kTimestamps, 10});
        Be32(v, o.a);
        Be32(v, o.b_any ? c.last_tsval : o.b);
        break;
      case OptionSpec::Kind::kSack:
        v->push_back(k::kSack);
        v->push_back(static_cast<uint8_t>(2 + 8 * o.sack.size()));
        for (const auto& [l, r] : o.sack) {
          const uint32_t base = c.isn_known ? c.isn : 0;
          Be32(v, base + static_cast<uint32_t>(l));
          Be32(v, base + static_cast<uint32_t>(r));
        }
        break;
    }
  }

  bool DoOutbound(const Event& e) {
    const int64_t deadline = e.time_ns + config_.tolerance_ns;
    while (queue_.empty() && now_ < deadline) {
      now_ = std::min(now_ + config_.tick_ns, deadline);
      PollAt(now_);
    }
    if (queue_.empty()) {
      return Fail(&e,
                  Cat("the endpoint sent nothing by ",
                               FormatTime(deadline)),
                  {"  expected: " + e.text + "   (at " +
                   FormatTime(e.time_ns) + ")"});
    }
    Observed o = std::move(queue_.front());
    queue_.pop_front();
    const std::string actual = Render(o.frame);
    Trace(o.time_ns, "> " + actual);
    std::vector<std::string> diffs = Differences(e.seg, o.frame);
    if (o.time_ns < e.time_ns - config_.tolerance_ns) {
      diffs.push_back(Cat("time (sent at ", FormatTime(o.time_ns),
                                   ", expected at ", FormatTime(e.time_ns),
                                   " +- ", FormatTime(config_.tolerance_ns),
                                   ")"));
    }
    if (diffs.empty()) return true;
    return Fail(&e, "segment differs from the script",
                {"  expected: " + e.text + "   (at " +
                     FormatTime(e.time_ns) + ")",
                 "  actual:   > " + actual + "   (at " +
                     FormatTime(o.time_ns) + ")",
                 "  differs in: " + Join(diffs, ", ")});
  }

  std::vector<std::string> Differences(const SegmentSpec& s, const Frame& f) {
    std::vector<std::string> d;
    wire::PacketInfo info;
    const wire::Verdict v =
        wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {}, &info);
    if (v != wire::Verdict::kOk) {
      d.push_back(Cat("frame does not parse (",
                               wire::VerdictName(v), ")"));
      return d;
    }
    if (info.kind != wire::PacketKind::kTcp) {
      d.push_back("not a TCP segment");
      return d;
    }
    const auto* eth = reinterpret_cast<const wire::EthernetHeader*>(f.data());
    if (!(eth->Dst() == harness_->peer_mac()) ||
        !(eth->Src() == harness_->mac())) {
      d.push_back("MAC addresses");
    }
    if (ipv6_ ? info.family != wire::IpFamily::kIpv6 ||
                    !(wire::Ipv6Src(f.data(), info) == kOurIp6) ||
                    !(wire::Ipv6Dst(f.data(), info) == kPeerIp6)
              : info.family != wire::IpFamily::kIpv4 ||
                    !(info.src_ip == kOurIp) || !(info.dst_ip == kPeerIp)) {
      d.push_back("IP addresses");
    }
    const uint16_t port = PortOf(s);
    if (info.src_port != config_.dport || info.dst_port != port) {
      d.push_back(Cat("ports (", info.src_port, " > ", info.dst_port,
                               ", expected ", config_.dport, " > ", port,
                               ")"));
    }
    const Conn& c = ConnFor(info.dst_port);
    if (info.tcp_flags != s.flags) d.push_back("flags");
    const uint32_t rel_seq = info.seq.value() - (c.isn_known ? c.isn : 0);
    if (rel_seq != static_cast<uint32_t>(s.start)) d.push_back("sequence number");
    if (info.payload_length != s.len) d.push_back("length");
    if (s.ack &&
        info.ack.value() - config_.peer_isn != static_cast<uint32_t>(*s.ack)) {
      d.push_back("ack");
    }
    if (s.window && info.window != *s.window) d.push_back("window");
    if (s.payload &&
        (info.payload_length != s.payload->size() ||
         !std::equal(s.payload->begin(), s.payload->end(),
                     f.begin() + info.payload_offset))) {
      d.push_back("payload bytes");
    }
    if (s.options) {
      const wire::TcpOptions& a = info.options;
      bool mss = false, ws = false, sack_ok = false, ts = false;
      uint32_t sack_blocks = 0;
      for (const OptionSpec& o : *s.options) {
        switch (o.kind) {
          case OptionSpec::Kind::kNop:
          case OptionSpec::Kind::kEol:
            break;
          case OptionSpec::Kind::kMss:
            mss = true;
            if (a.has_mss && !o.a_any && a.mss != o.a) d.push_back("mss value");
            break;
          case OptionSpec::Kind::kWscale:
            ws = true;
            if (a.has_window_scale && !o.a_any && a.window_scale != o.a) {
              d.push_back("wscale value");
            }
            break;
          case OptionSpec::Kind::kSackOk:
            sack_ok = true;
            break;
          case OptionSpec::Kind::kTs:
            ts = true;
            if (a.has_timestamps && !o.a_any && a.ts_val != o.a) {
              d.push_back("TS val");
            }
            if (a.has_timestamps && !o.b_any && a.ts_ecr != o.b) {
              d.push_back("TS ecr");
            }
            break;
          case OptionSpec::Kind::kSack:
            sack_blocks += static_cast<uint32_t>(o.sack.size());
            break;
        }
      }
      if (mss != a.has_mss) d.push_back(mss ? "mss missing" : "unexpected mss");
      if (ws != a.has_window_scale) {
        d.push_back(ws ? "wscale missing" : "unexpected wscale");
      }
      if (sack_ok != a.sack_permitted) {
        d.push_back(sack_ok ? "sackOK missing" : "unexpected sackOK");
      }
      if (ts != a.has_timestamps) d.push_back(ts ? "TS missing" : "unexpected TS");
      if (sack_blocks != a.sack_blocks) d.push_back("SACK blocks");
    }
    return d;
  }

  // A frame the endpoint sent, in script syntax with relative numbers.
  std::string Render(const Frame& f) {
    wire::PacketInfo info;
    const wire::Verdict v =
        wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {}, &info);
    if (v != wire::Verdict::kOk) {
      return Cat("<unparseable frame: ", wire::VerdictName(v), ", ",
                          f.size(), " bytes>");
    }
    if (info.kind == wire::PacketKind::kArp) return "<ARP frame>";
    if (info.kind == wire::PacketKind::kIcmp) return "<ICMP frame>";
    if (info.kind == wire::PacketKind::kIcmp6) return "<ICMPv6 frame>";
    const Conn& c = ConnFor(info.dst_port);
    std::string s;
    if (info.dst_port != config_.sport) Append(&s, "@", info.dst_port, " ");
    if (info.src_port != config_.dport) {
      Append(&s, "[from port ", info.src_port, "] ");
    }
    auto rel = [](uint32_t v, bool known, uint32_t base) -> std::string {
      if (!known) return Cat(v);
      return Cat(static_cast<int32_t>(v - base));
    };
    const uint32_t start = info.seq.value();
    Append(&s, FlagString(info.tcp_flags), " ",
                    rel(start, c.isn_known, c.isn), ":",
                    rel(start + info.payload_length, c.isn_known, c.isn), "(",
                    info.payload_length, ")");
    if (info.tcp_flags & tf::kAck) {
      Append(&s, " ack ",
                      rel(info.ack.value(), true, config_.peer_isn));
    } else if (info.ack.value() != 0) {
      Append(&s, " [ack field ", info.ack.value(), "]");
    }
    Append(&s, " win ", info.window);
    const wire::TcpOptions& o = info.options;
    std::vector<std::string> opts;
    if (o.has_mss) opts.push_back(Cat("mss ", o.mss));
    if (o.sack_permitted) opts.push_back("sackOK");
    if (o.has_timestamps) {
      opts.push_back(Cat("TS val ", o.ts_val, " ecr ", o.ts_ecr));
    }
    if (o.has_window_scale) opts.push_back(Cat("wscale ", +o.window_scale));
    if (o.sack_blocks != 0) opts.push_back(Cat("sack x", +o.sack_blocks));
    if (!opts.empty()) Append(&s, " <", Join(opts, ","), ">");
    return s;
  }

  bool DoExpect(const Event& e) {
    uint64_t actual = 0;
    std::string what;
    switch (e.kind) {
      case Event::Kind::kExpectCounter: {
        harness_->worker().PublishCounters();
        if (auto i = CounterIndex(e.name)) {
          actual = harness_->Count(*i);
        } else {
          actual = harness_->Gauge(*GaugeIndex(e.name));
        }
        what = Cat("counter ", e.name);
        break;
      }
      case Event::Kind::kExpectState: {
        tcp::TcpStack* stack = harness_->worker().stack();
        if (stack == nullptr) return Fail(&e, "no TCP stack (nothing listens)", {});
        actual = stack->StateCount(*StateByName(e.name));
        what = Cat("state ", e.name);
        break;
      }
      case Event::Kind::kExpectApp:
        if (generator_) {
          actual = *LoadStat(generator_->stats(), e.name);
          what = Cat("app ", e.name);
          break;
        }
        if (!responder_) return Fail(&e, "no application (app=none)", {});
        actual = e.name == "requests" ? responder_->requests()
                                      : responder_->responses();
        what = Cat("app ", e.name);
        break;
      case Event::Kind::kExpectIsnAfterPrevious: {
        const Conn& c = ConnFor(config_.sport);
        if (!c.prev_known) {
          return Fail(&e, "no previous incarnation of the connection was seen",
                      {});
        }
        if (wire::SeqNum(c.isn) > wire::SeqNum(c.prev_max_end)) return true;
        return Fail(&e, "the new ISN does not lie above the old sequence space",
                    {Cat("  new ISN ", c.isn,
                                  ", previous incarnation sent up to ",
                                  c.prev_max_end)});
      }
      default:
        return false;
    }
    Trace(now_, Cat(e.text, "   [", actual, "]"));
    if (Compare(actual, e.op, e.value)) return true;
    return Fail(&e, "expectation not met",
                {Cat("  ", what, " is ", actual, ", expected ", e.op,
                              " ", e.value)});
  }

  void Trace(int64_t t, std::string line) {
    trace_.push_back(Cat(FormatTime(t), " ", line));
    if (trace_.size() > kTraceLines) trace_.pop_front();
  }

  bool Fail(const Event* e, std::string_view what,
            const std::vector<std::string>& details) {
    std::string r = e != nullptr
                        ? Cat(name_, ":", e->line, ": ", what, "\n",
                                       "  line:     ", e->text, "\n")
                        : Cat(name_, ": ", what, "\n");
    for (const std::string& d : details) Append(&r, d, "\n");
    Append(&r, "  clock at ", FormatTime(now_), "; last events:\n");
    for (const std::string& t : trace_) Append(&r, "    ", t, "\n");
    report_ = std::move(r);
    return false;
  }

  const Script& script_;
  const ScriptConfig& config_;
  std::string name_;
  Family family_;  // the family the script runs over
  bool ipv6_;
  // The responder outlives the harness (its worker calls into it).
  std::unique_ptr<app::Responder> responder_;
  // Client mode: the application, and its entry points (see ClientPoll).
  std::unique_ptr<app::Generator> generator_;
  engine::AppOps generator_ops_;
  std::unique_ptr<testutil::RingHarness> harness_;
  int64_t now_ = 0;
  uint16_t ip_id_ = 1;
  uint32_t drop_in_ = 0;
  uint32_t drop_out_ = 0;
  std::deque<Observed> queue_;
  std::map<uint16_t, Conn> conns_;
  std::deque<std::string> trace_;
  std::string report_;
};

}  // namespace

std::string_view FamilyName(Family f) {
  return f == Family::kIpv6 ? "ipv6" : "ipv4";
}

std::string RunScript(const Script& script, std::string_view name,
                      Family family) {
  Runner runner(script, name, family);
  return runner.Run();
}

}  // namespace synwave::scripted
