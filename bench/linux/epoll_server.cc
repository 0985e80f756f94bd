// linux_epoll_server: the Linux kernel baseline for `synwave serve`.
//
// The same exchange on kernel sockets: accept a connection, read a request
// (HTTP: up to its first blank line; raw: exactly --request-bytes bytes),
// answer it (an HTTP/1.1 200 with a --response-bytes body, or in raw mode
// exactly --response-bytes bytes), and close as --close says: `server` closes
// once the response is written; `client` keeps serving requests until the
// client closes, then closes.
//
// One thread, nonblocking sockets, level-triggered epoll, accept4 until
// EAGAIN. Prints "listening on IP:PORT" once it accepts (the real port when
// --listen asked for port 0), and a one-line summary at exit.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "socket_util.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8080",
          "address to listen on, IP:PORT, [IPv6]:PORT or just PORT (on "
          "127.0.0.1); port 0 "
          "lets the kernel choose and prints it");
ABSL_FLAG(int64_t, response_bytes, 64,
          "body bytes of the HTTP/1.1 200 response (raw mode: bytes of the "
          "whole response)");
ABSL_FLAG(int64_t, request_bytes, 0,
          "raw mode: a request is exactly this many bytes (0: HTTP, a request "
          "ends at its first blank line)");
ABSL_FLAG(std::string, close, "server",
          "server: close after the response; client: serve requests until the "
          "client closes, then close");
ABSL_FLAG(int32_t, cpu, -1, "pin to this CPU (-1: no pinning)");
ABSL_FLAG(double, duration, 0,
          "seconds to run; 0 runs until SIGINT or SIGTERM");
ABSL_FLAG(int32_t, backlog, 4096,
          "listen() backlog (capped by net.core.somaxconn)");

namespace synwave::bench {
namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Config {
  Endpoint listen;
  uint64_t response_bytes = 64;
  uint64_t request_bytes = 0;  // 0: HTTP
  bool close_after_response = true;
  int cpu = -1;
  double duration_s = 0;
  int backlog = 4096;
};

// Per-connection state, indexed by file descriptor.
struct Conn {
  bool open = false;
  uint32_t generation = 0;  // tells a stale epoll event from a reused fd
  uint8_t match = 0;        // bytes of "\r\n\r\n" matched so far
  bool peer_closed = false;
  uint32_t events = 0;    // what epoll watches for
  uint64_t seen = 0;      // raw mode: bytes of the current request
  uint64_t owed = 0;      // responses not yet fully written
  uint64_t out_off = 0;   // bytes of the current response written
  uint64_t answered = 0;  // responses fully written
};

struct Counters {
  uint64_t accepted = 0;
  uint64_t requests = 0;
  uint64_t responses = 0;
  uint64_t closed = 0;
  uint64_t resets = 0;         // reads or writes that met ECONNRESET/EPIPE
  uint64_t errors = 0;         // other read/write/epoll errors
  uint64_t accept_errors = 0;  // other than EAGAIN
};

class Server {
 public:
  explicit Server(const Config& c) : config_(c) {
    if (config_.request_bytes == 0) {
      response_ = "HTTP/1.1 200 OK\r\nServer: linux-epoll\r\nContent-Length: " +
                  std::to_string(config_.response_bytes) + "\r\nConnection: " +
                  (config_.close_after_response ? "close" : "keep-alive") +
                  "\r\n\r\n";
    }
    response_.append(config_.response_bytes, 'x');
  }

  bool Start();
  void Run();
  const Counters& counters() const { return counters_; }
  size_t open_connections() const { return open_; }

 private:
  static uint64_t Tag(int fd, uint32_t gen) {
    return uint64_t(uint32_t(fd)) | (uint64_t(gen) << 32);
  }
  void AcceptAll();
  void OnReadable(int fd);
  void Flush(int fd);
  void Close(int fd);
  void Consume(Conn& c, const char* data, size_t n);
  void CountError(int err) {
    ++(err == ECONNRESET || err == EPIPE ? counters_.resets : counters_.errors);
  }

  Config config_;
  std::string response_;
  int epfd_ = -1;
  int listen_fd_ = -1;
  std::vector<Conn> conns_;
  size_t open_ = 0;
  Counters counters_;
};

bool Server::Start() {
  listen_fd_ = socket(config_.listen.family(),
                      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return perror("socket"), false;
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(listen_fd_, config_.listen.sa(), config_.listen.len) != 0) {
    return perror("bind"), false;
  }
  if (listen(listen_fd_, config_.backlog) != 0) return perror("listen"), false;
  socklen_t len = sizeof(config_.listen.addr);
  getsockname(listen_fd_, config_.listen.sa(), &len);

  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return perror("epoll_create1"), false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = Tag(listen_fd_, 0);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    return perror("epoll_ctl"), false;
  }
  std::printf("listening on %s\n", FormatEndpoint(config_.listen).c_str());
  std::fflush(stdout);
  return true;
}

void Server::Run() {
  const uint64_t deadline =
      config_.duration_s > 0 ? NowNs() + uint64_t(config_.duration_s * 1e9) : 0;
  epoll_event events[256];
  while (!g_stop) {
    int timeout_ms = -1;
    if (deadline != 0) {
      uint64_t now = NowNs();
      if (now >= deadline) break;
      timeout_ms = int((deadline - now + 999'999) / 1'000'000);
    }
    int n = epoll_wait(epfd_, events, 256, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      break;
    }
    for (int i = 0; i < n; ++i) {
      int fd = int(uint32_t(events[i].data.u64));
      uint32_t gen = uint32_t(events[i].data.u64 >> 32);
      if (fd == listen_fd_) {
        AcceptAll();
        continue;
      }
      if (size_t(fd) >= conns_.size() || !conns_[fd].open ||
          conns_[fd].generation != gen) {
        continue;  // closed earlier in this batch
      }
      uint32_t e = events[i].events;
      if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) OnReadable(fd);
      if ((e & EPOLLOUT) && conns_[fd].open && conns_[fd].generation == gen) {
        Flush(fd);
      }
    }
  }
  for (size_t fd = 0; fd < conns_.size(); ++fd) {
    if (conns_[fd].open) close(int(fd));
  }
  close(listen_fd_);
  close(epfd_);
}

void Server::AcceptAll() {
  for (;;) {
    int fd =
        accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) ++counters_.accept_errors;
      return;
    }
    ++counters_.accepted;
    if (size_t(fd) >= conns_.size()) conns_.resize(size_t(fd) * 2 + 64);
    Conn& c = conns_[fd];
    uint32_t gen = c.generation + 1;
    c = Conn{};
    c.open = true;
    c.generation = gen;
    ++open_;
    // Small responses go out at once instead of waiting for Nagle.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    epoll_event ev{};
    ev.events = c.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = Tag(fd, gen);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ++counters_.errors;
      Close(fd);
    }
  }
}

// Counts the requests completed by `n` more bytes.
void Server::Consume(Conn& c, const char* data, size_t n) {
  if (config_.request_bytes != 0) {
    c.seen += n;
    uint64_t complete = c.seen / config_.request_bytes;
    c.seen %= config_.request_bytes;
    c.owed += complete;
    counters_.requests += complete;
    return;
  }
  static constexpr char kBlankLine[4] = {'\r', '\n', '\r', '\n'};
  for (size_t i = 0; i < n; ++i) {
    if (data[i] == kBlankLine[c.match]) {
      ++c.match;
    } else {
      c.match = data[i] == '\r' ? 1 : 0;
    }
    if (c.match == 4) {
      c.match = 0;
      ++c.owed;
      ++counters_.requests;
    }
  }
}

void Server::OnReadable(int fd) {
  Conn& c = conns_[fd];
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      Consume(c, buf, size_t(n));
      // Level-triggered: a short read drained the socket; anything that
      // arrives later is reported again.
      if (size_t(n) < sizeof(buf)) break;
      continue;
    }
    if (n == 0) {
      c.peer_closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    CountError(errno);
    Close(fd);
    return;
  }
  if (c.owed > 0) {
    Flush(fd);
    return;
  }
  if (c.peer_closed) Close(fd);
}

// Writes owed responses until done or the socket is full, then closes if the
// close mode says so.
void Server::Flush(int fd) {
  Conn& c = conns_[fd];
  while (c.owed > 0) {
    const size_t left = response_.size() - c.out_off;
    ssize_t w = send(fd, response_.data() + c.out_off, left, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      CountError(errno);
      Close(fd);
      return;
    }
    if (size_t(w) < left) {
      c.out_off += size_t(w);
      break;
    }
    c.out_off = 0;
    --c.owed;
    ++c.answered;
    ++counters_.responses;
    if (config_.close_after_response) break;
  }
  const bool done =
      c.owed == 0 || (config_.close_after_response && c.answered > 0);
  if (done && (config_.close_after_response || c.peer_closed)) {
    Close(fd);
    return;
  }
  // Wait for room only while something is left to write, and stop watching
  // for input once the peer has closed (level-triggered, EOF stays readable).
  const uint32_t want =
      (c.peer_closed ? 0u : EPOLLIN | EPOLLRDHUP) | (done ? 0u : EPOLLOUT);
  if (want != c.events) {
    c.events = want;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = Tag(fd, c.generation);
    epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  }
}

void Server::Close(int fd) {
  conns_[fd].open = false;
  --open_;
  ++counters_.closed;
  close(fd);  // also removes it from the epoll set
}

}  // namespace
}  // namespace synwave::bench

int main(int argc, char** argv) {
  using namespace synwave::bench;
  ParseFlags(
      argc, argv,
      "Linux kernel baseline for `synwave serve`: an epoll TCP server.\n"
      "usage: linux_epoll_server [--listen=IP:PORT] [--response-bytes=N] "
      "[--request-bytes=N] [--close=server|client] [--cpu=N] [--duration=S]");

  Config config;
  std::optional<Endpoint> listen =
      ParseAnyEndpoint(absl::GetFlag(FLAGS_listen), "127.0.0.1");
  if (!listen) {
    std::fprintf(stderr,
                 "linux_epoll_server: --listen: '%s' is not IP:PORT, "
                 "[IPv6]:PORT or PORT\n",
                 absl::GetFlag(FLAGS_listen).c_str());
    return 2;
  }
  config.listen = *listen;
  const int64_t response_bytes = absl::GetFlag(FLAGS_response_bytes);
  const int64_t request_bytes = absl::GetFlag(FLAGS_request_bytes);
  if (response_bytes < 0 || request_bytes < 0) {
    std::fprintf(stderr,
                 "linux_epoll_server: --response-bytes and --request-bytes "
                 "must be >= 0\n");
    return 2;
  }
  config.response_bytes = uint64_t(response_bytes);
  config.request_bytes = uint64_t(request_bytes);
  const std::string close_mode = absl::GetFlag(FLAGS_close);
  if (close_mode != "server" && close_mode != "client") {
    std::fprintf(stderr,
                 "linux_epoll_server: --close: '%s' is not server or client\n",
                 close_mode.c_str());
    return 2;
  }
  config.close_after_response = close_mode == "server";
  config.cpu = absl::GetFlag(FLAGS_cpu);
  config.duration_s = absl::GetFlag(FLAGS_duration);
  config.backlog = absl::GetFlag(FLAGS_backlog);

  if (!PinToCpu(config.cpu)) {
    std::perror("linux_epoll_server: --cpu: sched_setaffinity");
    return 2;
  }
  RaiseFdLimit();
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;  // no SA_RESTART: epoll_wait returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Server server(config);
  if (!server.Start()) return 1;
  const uint64_t start = NowNs();
  server.Run();
  const double elapsed = double(NowNs() - start) / 1e9;
  const Counters& c = server.counters();
  std::printf(
      "accepted=%lu requests=%lu responses=%lu closed=%lu resets=%lu "
      "errors=%lu accept_errors=%lu open=%zu elapsed_s=%.3f\n",
      c.accepted, c.requests, c.responses, c.closed, c.resets, c.errors,
      c.accept_errors, server.open_connections(), elapsed);
  return 0;
}
