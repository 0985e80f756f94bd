// linux_epoll_client: a TCP connection-rate load generator on kernel sockets,
// the client side of the Linux baseline (and a load for `synwave serve`).
//
// Each connection: nonblocking connect, one request (HTTP "GET / HTTP/1.1"
// or, in raw mode, exactly --request-bytes bytes), read the whole response
// (HTTP: header, then Content-Length bytes of body; raw: exactly
// --response-bytes bytes), then end it as --close says: `client` closes
// (we send the first FIN), `server` waits for the server's FIN (read returns
// 0) and then closes, `rst` aborts with SO_LINGER {1, 0} so the kernel sends
// a RST and keeps no TIME-WAIT.
//
// Up to --concurrency connections are open at once; a finished one is
// replaced at once, or on the --cps schedule when pacing. Each new socket is
// bound to the next address of --source-ips (port chosen at connect time,
// IP_BIND_ADDRESS_NO_PORT), so client TIME-WAITs spread over many 4-tuples.
//
// One thread, edge-triggered epoll. Prints a one-line summary; --json writes
// the same figures as JSON.
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "nlohmann/json.hpp"
#include "socket_util.h"

ABSL_FLAG(std::string, server, "127.0.0.1:8080", "server address, IP:PORT");
ABSL_FLAG(int32_t, concurrency, 64, "connections open at once");
ABSL_FLAG(double, duration, 10,
          "seconds to run (0: until --connections are done, or SIGINT)");
ABSL_FLAG(
    int64_t, connections, 0,
    "stop after this many connections have finished (0: --duration only)");
ABSL_FLAG(double, cps, 0, "new connections per second (0: unpaced)");
ABSL_FLAG(int64_t, request_bytes, 0,
          "raw mode: send exactly this many bytes (0: HTTP GET)");
ABSL_FLAG(int64_t, response_bytes, 64,
          "expected response body bytes (HTTP: must equal Content-Length; raw "
          "mode: bytes of the whole response)");
ABSL_FLAG(std::string, close, "client",
          "client: close after the response; server: wait for the server's "
          "FIN, then close; rst: abort with a RST after the response");
ABSL_FLAG(std::string, source_ips, "127.0.0.2-127.0.0.254",
          "bind each socket to the next address of this range, A-B or A "
          "(empty: let the kernel choose)");
ABSL_FLAG(double, timeout, 5,
          "seconds a connection may take in all before it counts as failed "
          "(timeout)");
ABSL_FLAG(int32_t, cpu, -1, "pin to this CPU (-1: no pinning)");
ABSL_FLAG(std::string, json, "", "write the results as JSON to this path");

namespace synwave::bench {
namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

enum class CloseMode : uint8_t { kClient, kServer, kRst };

struct Config {
  sockaddr_in server{};
  int concurrency = 64;
  double duration_s = 10;
  uint64_t connections = 0;  // 0: no limit
  double cps = 0;            // 0: unpaced
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 64;
  CloseMode close = CloseMode::kClient;
  uint32_t source_first = 0;  // host order; 0: no bind
  uint32_t source_last = 0;
  uint64_t timeout_ns = 5'000'000'000;
};

// Why a connection failed. Errno values count under their class; kEof and
// kBadResponse are ours.
enum class FailClass : uint8_t { kRefused, kTimeout, kReset, kOther };
constexpr int kEof = -1;          // the server closed before the response
constexpr int kBadResponse = -2;  // not a 200, or the wrong length

FailClass Classify(int err) {
  switch (err) {
    case ECONNREFUSED:
      return FailClass::kRefused;
    case ETIMEDOUT:
      return FailClass::kTimeout;
    case ECONNRESET:
    case EPIPE:
      return FailClass::kReset;
    default:
      return FailClass::kOther;
  }
}

std::string ErrorName(int err) {
  if (err == kEof) return "EOF";
  if (err == kBadResponse) return "BAD_RESPONSE";
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

struct Conn {
  enum class Phase : uint8_t {
    kIdle,
    kConnecting,
    kSending,
    kReading,
    kAwaitingFin
  };
  int fd = -1;
  uint32_t generation = 0;  // tells a stale epoll event from a reused slot
  Phase phase = Phase::kIdle;
  bool header_done = false;
  uint64_t start_ns = 0;
  uint64_t connected_ns = 0;
  uint64_t sent = 0;       // request bytes written
  uint64_t body_left = 0;  // response bytes still to read
  uint32_t header_len = 0;
  char header[1024];  // the HTTP response header, as it arrives
};

struct Results {
  uint64_t attempted = 0;
  uint64_t completed = 0;
  uint64_t failed = 0;
  std::array<uint64_t, 4> failed_by{};           // by FailClass
  uint64_t unfinished = 0;                       // still open when time ran out
  std::vector<std::pair<int, uint64_t>> errors;  // errno (or kEof...) -> count
  std::vector<uint64_t> connect_ns;
  std::vector<uint64_t> total_ns;
  double elapsed_s = 0;
};

class Client {
 public:
  explicit Client(const Config& c);
  bool Init();
  void Run();
  Results& results() { return results_; }

 private:
  static uint64_t Tag(uint32_t slot, uint32_t gen) {
    return uint64_t(slot) | (uint64_t(gen) << 32);
  }
  bool MayStart() const;
  void Start(uint64_t now);
  void OnEvent(uint32_t slot, uint32_t events);
  void OnConnected(Conn& c);
  void SendRequest(Conn& c);
  void OnReadable(Conn& c);
  bool ParseHeader(Conn& c, uint64_t body_bytes_after);
  void OnResponse(Conn& c);
  void Finish(Conn& c);
  void Fail(Conn& c, int err);
  void Release(Conn& c);
  void CountError(int err);

  Config config_;
  std::string request_;
  int epfd_ = -1;
  std::vector<Conn> conns_;
  std::vector<uint32_t> free_;  // idle slots
  uint32_t next_source_ = 0;    // offset into the source range
  bool warned_length_ = false;
  Results results_;
};

Client::Client(const Config& c) : config_(c), conns_(size_t(c.concurrency)) {
  if (config_.request_bytes == 0) {
    request_ = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  } else {
    request_.assign(config_.request_bytes, 'x');
  }
  for (uint32_t i = uint32_t(c.concurrency); i > 0; --i) free_.push_back(i - 1);
  results_.connect_ns.reserve(1 << 20);
  results_.total_ns.reserve(1 << 20);
}

bool Client::Init() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return perror("epoll_create1"), false;
  return true;
}

bool Client::MayStart() const {
  if (free_.empty()) return false;
  return config_.connections == 0 || results_.attempted < config_.connections;
}

// Opens one connection in a free slot.
void Client::Start(uint64_t now) {
  uint32_t slot = free_.back();
  free_.pop_back();
  Conn& c = conns_[slot];
  c.generation++;
  c.phase = Conn::Phase::kConnecting;
  c.header_done = config_.request_bytes != 0;  // raw mode has no header
  c.start_ns = now;
  c.connected_ns = 0;
  c.sent = 0;
  c.body_left = config_.request_bytes != 0 ? config_.response_bytes : 0;
  c.header_len = 0;
  ++results_.attempted;

  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return Fail(c, errno);
  if (config_.source_first != 0) {
    // Pick the port at connect() time, per 4-tuple, not at bind() time
    // (which would need a port free for every destination).
    int one = 1;
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(config_.source_first + next_source_);
    if (++next_source_ > config_.source_last - config_.source_first) {
      next_source_ = 0;
    }
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      return Fail(c, errno);
    }
  }
  int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&config_.server),
                   sizeof(config_.server));
  if (rc != 0 && errno != EINPROGRESS) return Fail(c, errno);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = Tag(slot, c.generation);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) return Fail(c, errno);
  if (rc == 0) OnConnected(c);
}

void Client::OnEvent(uint32_t slot, uint32_t events) {
  Conn& c = conns_[slot];
  if (c.phase == Conn::Phase::kConnecting &&
      (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    OnConnected(c);
  } else if (c.phase == Conn::Phase::kSending && (events & EPOLLOUT)) {
    SendRequest(c);
  }
  if ((c.phase == Conn::Phase::kReading ||
       c.phase == Conn::Phase::kAwaitingFin) &&
      (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    OnReadable(c);
  }
}

void Client::OnConnected(Conn& c) {
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return Fail(c, err);
  c.connected_ns = NowNs();
  c.phase = Conn::Phase::kSending;
  SendRequest(c);
}

void Client::SendRequest(Conn& c) {
  while (c.sent < request_.size()) {
    ssize_t w = send(c.fd, request_.data() + c.sent, request_.size() - c.sent,
                     MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;  // edge-triggered: EPOLLOUT comes back
      return Fail(c, errno);
    }
    c.sent += uint64_t(w);
  }
  c.phase = Conn::Phase::kReading;
}

// Reads until EAGAIN (edge-triggered), the end of the response, or EOF.
void Client::OnReadable(Conn& c) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(c.fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      return Fail(c, errno);
    }
    if (n == 0) {
      if (c.phase == Conn::Phase::kAwaitingFin) return Finish(c);
      return Fail(c, kEof);
    }
    if (c.phase == Conn::Phase::kAwaitingFin) continue;  // extra bytes
    uint64_t got = uint64_t(n);
    if (!c.header_done) {
      // Keep the header; once it is complete the rest of this read is body.
      const uint32_t old_len = c.header_len;
      const uint32_t take =
          uint32_t(std::min<uint64_t>(got, sizeof(c.header) - old_len));
      std::memcpy(c.header + old_len, buf, take);
      c.header_len += take;
      size_t end = std::string_view(c.header, c.header_len)
                       .find("\r\n\r\n", old_len >= 3 ? old_len - 3 : 0);
      if (end == std::string_view::npos) {
        if (c.header_len == sizeof(c.header)) return Fail(c, kBadResponse);
        continue;
      }
      c.header_len = uint32_t(end + 4);
      if (!ParseHeader(c, got - (c.header_len - old_len))) return;
      c.header_done = true;
    } else {
      c.body_left -= std::min(got, c.body_left);
    }
    if (c.body_left == 0) {
      OnResponse(c);
      if (c.phase != Conn::Phase::kAwaitingFin) return;
    }
  }
}

// Checks the status line and Content-Length; sets body_left from it less the
// body bytes that came in with the header.
bool Client::ParseHeader(Conn& c, uint64_t body_bytes_after) {
  std::string_view h(c.header, c.header_len);
  if (!h.starts_with("HTTP/1.1 200") && !h.starts_with("HTTP/1.0 200")) {
    Fail(c, kBadResponse);
    return false;
  }
  static constexpr std::string_view kName = "\r\ncontent-length:";
  uint64_t length = 0;
  bool found = false;
  for (size_t i = 0; i + kName.size() <= h.size(); ++i) {
    if (strncasecmp(h.data() + i, kName.data(), kName.size()) != 0) continue;
    size_t j = i + kName.size();
    while (j < h.size() && h[j] == ' ') ++j;
    for (; j < h.size() && h[j] >= '0' && h[j] <= '9'; ++j) {
      length = length * 10 + uint64_t(h[j] - '0');
      found = true;
    }
    break;
  }
  if (!found || length != config_.response_bytes) {
    if (!warned_length_) {
      warned_length_ = true;
      std::fprintf(stderr,
                   "linux_epoll_client: response Content-Length %s, expected "
                   "--response-bytes=%lu\n",
                   found ? std::to_string(length).c_str() : "missing",
                   config_.response_bytes);
    }
    Fail(c, kBadResponse);
    return false;
  }
  c.body_left = length - std::min(length, body_bytes_after);
  return true;
}

void Client::OnResponse(Conn& c) {
  switch (config_.close) {
    case CloseMode::kClient:
      return Finish(c);
    case CloseMode::kRst: {
      linger lg{1, 0};
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      return Finish(c);
    }
    case CloseMode::kServer:
      c.phase = Conn::Phase::kAwaitingFin;
      return;
  }
}

void Client::Finish(Conn& c) {
  uint64_t now = NowNs();
  ++results_.completed;
  results_.connect_ns.push_back(c.connected_ns - c.start_ns);
  results_.total_ns.push_back(now - c.start_ns);
  Release(c);
}

void Client::Fail(Conn& c, int err) {
  ++results_.failed;
  ++results_.failed_by[size_t(Classify(err))];
  CountError(err);
  Release(c);
}

void Client::CountError(int err) {
  for (auto& [e, n] : results_.errors) {
    if (e == err) {
      ++n;
      return;
    }
  }
  results_.errors.emplace_back(err, 1);
}

// Closes the socket (which also takes it out of the epoll set) and frees the
// slot.
void Client::Release(Conn& c) {
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.phase = Conn::Phase::kIdle;
  free_.push_back(uint32_t(&c - conns_.data()));
}

void Client::Run() {
  const uint64_t start = NowNs();
  const uint64_t deadline =
      config_.duration_s > 0 ? start + uint64_t(config_.duration_s * 1e9) : 0;
  const uint64_t interval_ns =
      config_.cps > 0 ? uint64_t(1e9 / config_.cps) : 0;
  uint64_t next_start = start;
  uint64_t next_scan = start + 100'000'000;
  epoll_event events[256];
  uint64_t now = start;
  for (;;) {
    now = NowNs();
    if (g_stop || (deadline != 0 && now >= deadline)) break;
    // Start what the concurrency limit and the schedule allow. Starts that
    // fell due between two wake-ups go now; a start that found every slot
    // busy is dropped, not made up later. At most one round of slots per
    // pass, so that connections failing at once (refused, no free ports)
    // cannot keep us from the clock.
    for (size_t started = 0; started < conns_.size() && MayStart() &&
                             (interval_ns == 0 || next_start <= now);
         ++started) {
      Start(NowNs());
      next_start += interval_ns;
    }
    if (interval_ns != 0 && free_.empty() && next_start < now) next_start = now;
    if (free_.size() == conns_.size() && !MayStart()) break;  // all done

    uint64_t wake = next_scan;
    if (deadline != 0) wake = std::min(wake, deadline);
    if (interval_ns != 0 && MayStart()) wake = std::min(wake, next_start);
    int timeout_ms = wake > now ? int((wake - now + 999'999) / 1'000'000) : 0;
    int n = epoll_wait(epfd_, events, 256, timeout_ms);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      break;
    }
    for (int i = 0; i < n; ++i) {
      uint32_t slot = uint32_t(events[i].data.u64);
      uint32_t gen = uint32_t(events[i].data.u64 >> 32);
      if (conns_[slot].generation != gen ||
          conns_[slot].phase == Conn::Phase::kIdle) {
        continue;  // finished earlier in this batch
      }
      OnEvent(slot, events[i].events);
    }
    now = NowNs();
    if (now >= next_scan) {
      next_scan = now + 100'000'000;
      for (Conn& c : conns_) {
        if (c.phase != Conn::Phase::kIdle &&
            now - c.start_ns > config_.timeout_ns) {
          Fail(c, ETIMEDOUT);
        }
      }
    }
  }
  // Time is up: what is still open neither completed nor failed.
  for (Conn& c : conns_) {
    if (c.phase != Conn::Phase::kIdle) {
      ++results_.unfinished;
      Release(c);
    }
  }
  results_.elapsed_s =
      double(std::min(now, deadline ? deadline : now) - start) / 1e9;
}

// Nearest-rank percentile of sorted samples, in microseconds.
double Percentile(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = size_t(p * double(sorted.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return double(sorted[rank - 1]) / 1000.0;
}

nlohmann::json LatencyJson(std::vector<uint64_t>& samples) {
  std::sort(samples.begin(), samples.end());
  return {{"p50", Percentile(samples, 0.50)},
          {"p90", Percentile(samples, 0.90)},
          {"p99", Percentile(samples, 0.99)},
          {"p999", Percentile(samples, 0.999)},
          {"max", Percentile(samples, 1.0)}};
}

// Parses "A-B" or "A" into a host-order range; "" means no binding.
bool ParseSourceRange(const std::string& text, Config& config) {
  if (text.empty()) return true;
  size_t dash = text.find('-');
  std::optional<in_addr> first = ParseIpv4(text.substr(0, dash));
  std::optional<in_addr> last =
      dash == std::string::npos ? first : ParseIpv4(text.substr(dash + 1));
  if (!first || !last || ntohl(first->s_addr) > ntohl(last->s_addr) ||
      first->s_addr == 0) {
    return false;
  }
  config.source_first = ntohl(first->s_addr);
  config.source_last = ntohl(last->s_addr);
  return true;
}

int UsageError(const char* flag, const std::string& value, const char* want) {
  std::fprintf(stderr, "linux_epoll_client: --%s: '%s' is not %s\n", flag,
               value.c_str(), want);
  return 2;
}

}  // namespace
}  // namespace synwave::bench

int main(int argc, char** argv) {
  using namespace synwave::bench;
  ParseFlags(
      argc, argv,
      "TCP connection-rate load generator on Linux sockets.\n"
      "usage: linux_epoll_client --server=IP:PORT [--concurrency=N] "
      "[--duration=S] [--connections=N] [--cps=N] [--close=client|server|rst] "
      "[--json=PATH]");

  Config config;
  const std::string server = absl::GetFlag(FLAGS_server);
  std::optional<sockaddr_in> server_addr = ParseEndpoint(server, "127.0.0.1");
  if (!server_addr || server_addr->sin_port == 0) {
    return UsageError("server", server, "IP:PORT");
  }
  config.server = *server_addr;
  config.concurrency = absl::GetFlag(FLAGS_concurrency);
  if (config.concurrency < 1) {
    return UsageError("concurrency", std::to_string(config.concurrency),
                      ">= 1");
  }
  config.duration_s = absl::GetFlag(FLAGS_duration);
  const int64_t connections = absl::GetFlag(FLAGS_connections);
  const int64_t request_bytes = absl::GetFlag(FLAGS_request_bytes);
  const int64_t response_bytes = absl::GetFlag(FLAGS_response_bytes);
  if (connections < 0 || request_bytes < 0 || response_bytes < 0 ||
      config.duration_s < 0) {
    std::fprintf(stderr,
                 "linux_epoll_client: --connections, --duration, "
                 "--request-bytes and --response-bytes must be >= 0\n");
    return 2;
  }
  config.connections = uint64_t(connections);
  config.request_bytes = uint64_t(request_bytes);
  config.response_bytes = uint64_t(response_bytes);
  if (config.request_bytes != 0 && config.response_bytes == 0) {
    std::fprintf(stderr,
                 "linux_epoll_client: raw mode needs --response-bytes > 0\n");
    return 2;
  }
  config.cps = absl::GetFlag(FLAGS_cps);
  const std::string close_mode = absl::GetFlag(FLAGS_close);
  if (close_mode == "client") {
    config.close = CloseMode::kClient;
  } else if (close_mode == "server") {
    config.close = CloseMode::kServer;
  } else if (close_mode == "rst") {
    config.close = CloseMode::kRst;
  } else {
    return UsageError("close", close_mode, "client, server or rst");
  }
  const std::string sources = absl::GetFlag(FLAGS_source_ips);
  if (!ParseSourceRange(sources, config)) {
    return UsageError("source-ips", sources,
                      "A.B.C.D-A.B.C.D, A.B.C.D or empty");
  }
  config.timeout_ns = uint64_t(absl::GetFlag(FLAGS_timeout) * 1e9);
  const int cpu = absl::GetFlag(FLAGS_cpu);
  if (!PinToCpu(cpu)) {
    std::perror("linux_epoll_client: --cpu: sched_setaffinity");
    return 2;
  }
  RaiseFdLimit();
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;  // no SA_RESTART: epoll_wait returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Client client(config);
  if (!client.Init()) return 1;
  client.Run();

  Results& r = client.results();
  const double cps = r.elapsed_s > 0 ? double(r.completed) / r.elapsed_s : 0;
  nlohmann::json connect = LatencyJson(r.connect_ns);
  nlohmann::json total = LatencyJson(r.total_ns);
  std::printf(
      "attempted=%lu completed=%lu failed=%lu (refused=%lu timeout=%lu "
      "reset=%lu other=%lu) unfinished=%lu elapsed_s=%.3f cps=%.0f "
      "connect_us p50=%.1f p99=%.1f max=%.1f total_us p50=%.1f p99=%.1f "
      "max=%.1f\n",
      r.attempted, r.completed, r.failed, r.failed_by[0], r.failed_by[1],
      r.failed_by[2], r.failed_by[3], r.unfinished, r.elapsed_s, cps,
      connect["p50"].get<double>(), connect["p99"].get<double>(),
      connect["max"].get<double>(), total["p50"].get<double>(),
      total["p99"].get<double>(), total["max"].get<double>());
  if (!r.errors.empty()) {
    std::string line;
    for (auto& [err, n] : r.errors) {
      line += " " + ErrorName(err) + "=" + std::to_string(n);
    }
    std::fprintf(stderr, "linux_epoll_client: failures by error:%s\n",
                 line.c_str());
  }

  const std::string json_path = absl::GetFlag(FLAGS_json);
  if (!json_path.empty()) {
    nlohmann::json j = {
        {"duration_s", r.elapsed_s},
        {"connections",
         {{"attempted", r.attempted},
          {"completed", r.completed},
          {"failed", r.failed},
          {"failed_by",
           {{"refused", r.failed_by[0]},
            {"timeout", r.failed_by[1]},
            {"reset", r.failed_by[2]},
            {"other", r.failed_by[3]}}},
          {"unfinished", r.unfinished}}},
        {"cps", {{"mean", cps}}},
        {"latency_us", {{"connect", connect}, {"total", total}}},
        {"config",
         {{"server", FormatEndpoint(config.server)},
          {"concurrency", config.concurrency},
          {"close", close_mode},
          {"request_bytes", config.request_bytes},
          {"response_bytes", config.response_bytes},
          {"cps", config.cps}}},
    };
    std::ofstream out(json_path);
    out << j.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "linux_epoll_client: cannot write %s\n",
                   json_path.c_str());
      return 1;
    }
  }
  return 0;
}
