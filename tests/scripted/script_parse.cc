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
#include "script_support.h"
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

// ---------------------------------------------------------------------------
// Parsing

// Debian's abseil has its own string_view type, so text handling here uses
// the standard library only.

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

}  // namespace synwave::scripted
