// Generator: the client behind `synwave load` and `synwave loopback`.
//
// Per core, it opens connections to the servers from a range of client
// addresses and ports, sends a request (HTTP GET or raw bytes), reads the
// response, repeats for --keepalive-requests, and ends the connection as
// configured (we close, the server closes, or we reset). It plugs into a
// Worker as an application (AppOps): on_poll opens new connections (the
// servers' next hops resolved through the worker's Link), on_event drives
// the exchange, on_publish stores its counters (the load_* block below,
// registered by app::RegisterCounters).
//
// Pacing is open-loop (wrk2's coordinated-omission correction): with a
// target rate, the k-th connection has an intended start time fixed by the
// schedule (linear ramp, then constant), and every latency is measured from
// that time, not from when the connection could be opened. A stalled server
// therefore shows up as latency, not as a lower rate with good latency.
// Without a rate (cps = 0) connections open as fast as the concurrency limit
// allows and their latency starts when they are opened.
//
// Offered load above capacity: the generator never lets its own pools turn
// a slow server into a collapse. It opens nothing while max_pending of its
// connections are pending (opened, their last response not yet in: in the
// handshake or awaiting the server; more of them than the link's rings
// hold would have their SYNs and requests dropped, each then waiting a
// whole RTO), nor while the stack's TCB pool is full (Connect would reset
// one of our closing connections to make room).
// A connection that falls due then waits, its latency still counted from
// its intended start; the connections opened while a cap holds the
// schedule behind count as held by it (load_held_pending, load_held_pool),
// and the completed rate degrades to what the server sustains. At the end of a paced run, what fell due before the stop but
// is still held back is not opened (load_not_opened), so that a run ends
// on time and attempted + not_opened is the schedule.
//
// Tuples: the k-th attempt goes to the servers in turn, and for each walks
// the client (address, port) space so that all addresses are used before a
// port repeats; a tuple that still has a
// connection or TIME-WAIT record is skipped (counted). With several workers
// each takes the tuples that come back to its own queue: on RSS ports the
// reply's Toeplitz hash through the redirection table must name its queue;
// on ports without RSS (ring, memif) each queue takes the ports equal to
// its index modulo the number of queues.
//
// IPv6: a server of that family is reached from the IPv6 clients
// (client_ip6_*) through the stack's IPv6 Connect, its next hop resolved by
// Neighbor Discovery (Link::ResolveNextHop for an Ipv6Address); the tuple
// walk and the ports are as for IPv4. On an RSS port that hashes IPv6 TCP
// (port::Port enables it where the device offers it) the reply's IPv6
// Toeplitz hash picks the queue as for IPv4 (rss6); without it (rss6 null
// beside rss) the NIC puts every IPv6 reply on the queue of
// redirection-table entry 0, and only that queue's worker opens IPv6
// connections. Per-family counts (load_ipv6_*) say what share ran over
// IPv6.
//
// Per-connection state lives in an array indexed like the TCBs, sized once;
// nothing is allocated while running. Latencies go into per-core
// histograms that the main thread merges after the workers stop.
#ifndef SYNWAVE_APP_GENERATOR_H_
#define SYNWAVE_APP_GENERATOR_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "app/close_mode.h"
#include "engine/app.h"
#include "engine/counters.h"
#include "engine/histogram.h"
#include "flow/flow_key.h"
#include "flow/toeplitz.h"
#include "wire/addresses.h"

namespace synwave::app {

// The generator's counters, X(Enumerator, "name", "meaning"): a block of
// the per-core set (app::RegisterCounters), stored from GeneratorStats.
#define SYNWAVE_LOAD_COUNTERS(X)                                            \
  X(kAttempted, "load_attempted", "connections the generator opened")      \
  X(kConnected, "load_connected", "generator connections established")     \
  X(kCompleted, "load_completed", "generator connections completed: "      \
    "every response received and closed as configured")                     \
  X(kFailedRefused, "load_failed_refused", "generator connections "        \
    "refused (RST to the SYN)")                                              \
  X(kFailedTimeout, "load_failed_timeout", "generator connections "        \
    "timed out (SYN or data retries exhausted)")                             \
  X(kFailedReset, "load_failed_reset", "generator connections reset "      \
    "by the server")                                                         \
  X(kFailedOther, "load_failed_other", "generator connections that "       \
    "failed otherwise (no table slot, closed before the response)")         \
  X(kTuplesBusy, "load_tuples_busy", "client tuples skipped: still in "     \
    "use or in TIME-WAIT")                                                   \
  X(kRequests, "load_requests", "requests the generator sent")             \
  X(kResponses, "load_responses", "complete responses received")           \
  X(kAbandoned, "load_abandoned", "generator connections forgotten "       \
    "without a RST after --abandon seconds (later segments ignored)")       \
  X(kAttempted6, "load_ipv6_attempted", "generator connections opened "    \
    "over IPv6 (in load_attempted too)")                                     \
  X(kCompleted6, "load_ipv6_completed", "generator connections over IPv6 " \
    "completed (in load_completed too)")                                    \
  X(kHeldPending, "load_held_pending", "connections opened late: "      \
    "--max-pending connections were pending (handshake or response not "    \
    "yet in) when they fell due")                                            \
  X(kHeldPool, "load_held_pool", "connections opened late: the TCB pool "  \
    "(--max-connections) was full when they fell due")                      \
  X(kNotOpened, "load_not_opened", "connections scheduled before the end " \
    "of the run but never opened: the caps above held them back")

enum class LoadCounter : uint16_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_LOAD_COUNTERS(SYNWAVE_X)
#undef SYNWAVE_X
  kCount,
};

#define SYNWAVE_LOAD_GAUGES(X) \
  X(kOpen, "load_open", "generator connections open")

enum class LoadGauge : uint16_t {
#define SYNWAVE_X(e, name, help) e,
  SYNWAVE_LOAD_GAUGES(SYNWAVE_X)
#undef SYNWAVE_X
  kCount,
};

// A server to connect to, of either family.
struct LoadTarget {
  LoadTarget() = default;
  LoadTarget(uint32_t ipv4, uint16_t port_) : ip(ipv4), port(port_) {}
  static LoadTarget Ipv6(const wire::Ipv6Address& address, uint16_t port) {
    LoadTarget t;
    t.port = port;
    t.ipv6 = true;
    t.ip6 = address;
    return t;
  }

  uint32_t ip = 0;          // host order (IPv4)
  uint16_t port = 0;
  bool ipv6 = false;        // then the address is ip6 (and ip is 0)
  wire::Ipv6Address ip6;
};

struct GeneratorConfig {
  std::vector<LoadTarget> servers;
  uint32_t client_ip_first = 0;  // host order, inclusive
  uint32_t client_ip_last = 0;
  // The clients of IPv6 servers: [first, last] in numeric order, at most
  // 2^32 addresses (the flags allow 2^24); :: for none.
  wire::Ipv6Address client_ip6_first;
  wire::Ipv6Address client_ip6_last;
  uint16_t port_first = 1024;    // client ports, inclusive
  uint16_t port_last = 65535;
  double cps = 0;                // this worker's share; 0: unpaced
  uint32_t concurrency = 0;      // this worker's share; 0: no limit
  uint64_t ramp_ns = 0;          // linear ramp to `cps`
  uint32_t request_bytes = 0;    // 0: HTTP GET; else raw requests
  uint32_t response_bytes = 0;   // raw mode: bytes of each response
  CloseMode close = kDefaultClose;
  uint32_t requests_per_connection = 1;
  uint32_t max_connections = 0;  // the stack's TCB pool
  uint32_t opens_per_poll = 64;  // bound on work per loop iteration
  // Pending connections (opened, the last response not yet in) at once, at
  // most (0: no limit); see the header comment.
  uint32_t max_pending = 0;
  // A connection not finished this long after its (intended) start is
  // forgotten without a word (TcpStack::Abandon), as a client that gives
  // up and vanishes does; 0: never.
  uint64_t abandon_ns = 0;
  // Which tuples belong to this worker (see the header comment).
  uint16_t queue_id = 0;
  uint16_t num_queues = 1;
  const flow::ToeplitzIpv4Tcp* rss = nullptr;  // null: split by port
  // IPv6 replies' hash, with rss; null: the port does not hash IPv6 TCP
  // (its IPv6 replies reach the queue of reta[0]).
  const flow::ToeplitzIpv6Tcp* rss6 = nullptr;
  std::vector<uint16_t> reta;
};

// What one worker's generator did; published as its counter block.
struct GeneratorStats {
  uint64_t attempted = 0;
  uint64_t connected = 0;
  uint64_t completed = 0;
  uint64_t failed_refused = 0;
  uint64_t failed_timeout = 0;
  uint64_t failed_reset = 0;
  uint64_t failed_other = 0;   // pool full, closed before the response
  uint64_t tuples_busy = 0;    // tuple skipped: in use or in TIME-WAIT
  uint64_t requests = 0;
  uint64_t responses = 0;
  uint64_t abandoned = 0;      // forgotten after abandon_ns
  uint64_t attempted6 = 0;     // of attempted, over IPv6
  uint64_t completed6 = 0;     // of completed, over IPv6
  uint64_t held_pending = 0;   // opened late: max_pending reached
  uint64_t held_pool = 0;      // opened late: the TCB pool was full
  uint64_t not_opened = 0;     // scheduled before the stop, never opened
  uint64_t open = 0;           // gauge: connections now open
  uint64_t pending = 0;        // of open, the last response not yet in
};

class Generator {
 public:
  explicit Generator(const GeneratorConfig& config);

  engine::AppOps ops();

  // Opening starts at `start_ns` and stops at `stop_ns` (on the worker's
  // clock); connections already open finish either way. Any thread may set
  // it while the worker runs (the run loop does, once the servers are
  // resolved, so that the run is timed from the schedule's start).
  void SetSchedule(uint64_t start_ns, uint64_t stop_ns);
  // True once every server's next hop has answered ARP or Neighbor
  // Discovery (any thread may ask). The worker resolves them from its first
  // poll, scheduled or not.
  bool resolved() const { return resolved_.load(std::memory_order_acquire); }
  // Ends opening now (stop_ns = 0).
  void StopOpening() { stopped_ = true; }
  // True once the schedule has nothing more to open (any thread may ask).
  bool done_opening() const { return done_.load(std::memory_order_relaxed); }

  const GeneratorStats& stats() const { return stats_; }
  // Latencies in microseconds, from each connection's intended start.
  const engine::LatencyHistogram& connect_us() const { return connect_us_; }
  const engine::LatencyHistogram& first_byte_us() const {
    return first_byte_us_;
  }
  const engine::LatencyHistogram& total_us() const { return total_us_; }

  // The timeline's per-second latency: total latencies also go into one of
  // two histograms, the second's. The run loop (another thread) asks for a
  // new second with NextSecond(), which returns the new second's number;
  // once SecondTaken(n) holds, the worker records into the other histogram,
  // and Second(n - 1) is the finished second's, the caller's to read and
  // then Reset() before it asks for the second after.
  uint32_t NextSecond() {
    return second_req_.fetch_add(1, std::memory_order_release) + 1;
  }
  bool SecondTaken(uint32_t n) const {
    return second_ack_.load(std::memory_order_acquire) == n;
  }
  engine::LatencyHistogram& Second(uint32_t n) { return second_us_[n & 1]; }

 private:
  struct Track {
    uint64_t intended_ns = 0;
    uint32_t generation = 0;
    uint32_t body_left = 0;       // bytes of the current response to come
    uint32_t content_length = 0;  // HTTP header being parsed
    uint16_t line_pos = 0;        // HTTP: position in the header line
    uint16_t requests_left = 0;   // responses still expected
    uint8_t cl_match = 0;         // chars of "content-length:" matched
    uint8_t phase = 0;            // Phase
    bool first_byte = false;
    bool have_cl = false;
    bool open = false;            // a connection of ours uses this slot
    bool ipv6 = false;            // its family
    bool pending = false;         // its last response is not in yet
  };
  enum Phase : uint8_t { kHeader, kBody, kDone };

  static void OnEvent(void* ctx, tcp::TcpStack& stack, const tcp::AppEvent& ev,
                      uint64_t now_ns);
  static void OnPoll(void* ctx, engine::Link& link, tcp::TcpStack* stack,
                     uint64_t now_ns);
  static void OnPublish(void* ctx, engine::CoreCounters& counters);
  void Handle(tcp::TcpStack& stack, const tcp::AppEvent& ev, uint64_t now_ns);
  void Closed(Track& t, tcp::CloseReason reason, uint64_t now_ns);
  // Why the next connection cannot open now (a Held* counter), or kCount.
  LoadCounter Held(const tcp::TcpStack& stack) const;
  // The connections whose intended start is before `t_ns` (paced).
  uint64_t ScheduledBefore(uint64_t t_ns) const;
  void Open(tcp::TcpStack& stack, engine::Link& link, uint64_t now_ns);
  // Abandons connections older than abandon_ns: a share of the slots per
  // poll (all of them over a few thousand polls), no timer per connection.
  void SweepAbandoned(tcp::TcpStack& stack, uint64_t now_ns);
  uint64_t IntendedStart(uint64_t k) const;
  // Connects the next free tuple of this worker (see the header comment).
  // An invalid id: with *no_tuple, none of the probed tuples was free;
  // without, Connect failed otherwise (the table full).
  tcp::ConnId ConnectNext(tcp::TcpStack& stack, const uint64_t* peer_l2,
                          uint64_t now_ns, bool* ipv6, bool* no_tuple);
  void SendRequest(tcp::TcpStack& stack, tcp::ConnId id);
  void Consume(tcp::TcpStack& stack, tcp::ConnId id, Track& t,
               uint64_t now_ns);
  void ResponseDone(tcp::TcpStack& stack, tcp::ConnId id, Track& t,
                    uint64_t now_ns);
  void Publish(engine::CoreCounters& counters) const;

  GeneratorConfig config_;
  size_t counter_base_;  // index of load_attempted (the first) in the set
  size_t open_gauge_;    // index of load_open
  std::vector<Track> tracks_;
  std::string request_;
  GeneratorStats stats_;
  engine::LatencyHistogram connect_us_;
  engine::LatencyHistogram first_byte_us_;
  engine::LatencyHistogram total_us_;
  engine::LatencyHistogram second_us_[2];
  std::atomic<uint32_t> second_req_{0};  // run loop -> worker
  std::atomic<uint32_t> second_ack_{0};  // worker -> run loop
  uint32_t second_ = 0;                  // the worker's current second

  // Set by SetSchedule from another thread: stop first, then start, with
  // `scheduled_` published last (release), read with acquire.
  std::atomic<uint64_t> start_ns_{0};
  std::atomic<uint64_t> stop_ns_{~uint64_t{0}};
  std::atomic<bool> scheduled_{false};
  bool stopped_ = false;
  std::atomic<bool> resolved_{false};
  bool started_ = false;          // the first Open after the schedule began
  std::atomic<bool> done_{false};
  uint64_t next_k_ = 0;          // connections scheduled so far
  // The cap that holds opening back (LoadCounter::kHeld*), kCount when
  // none: connections opened meanwhile count as held by it.
  LoadCounter held_ = LoadCounter::kCount;
  uint64_t tuple_cursor_ = 0;
  uint32_t abandon_cursor_ = 0;
  // The tuple space: the servers in turn, each with its block of tuples
  // (clients of its family times ports, the clients varying fastest).
  static constexpr size_t kMaxServers = 8;
  uint64_t tuple_space_ = 0;
  uint64_t server_tuples_[kMaxServers] = {};
  uint32_t num_ips_ = 1;    // IPv4 clients
  uint32_t num_ips6_ = 0;   // IPv6 clients
  uint32_t num_ports_ = 1;
};

}  // namespace synwave::app

#endif  // SYNWAVE_APP_GENERATOR_H_
