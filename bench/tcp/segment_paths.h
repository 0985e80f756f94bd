// The per-segment paths of TcpStack, set up so that one kind of segment at a
// time can be pushed through the real stack over and over: the driver behind
// the microbenchmarks (segment_benchmark) and the instruction counts
// (segment_cost, bench/callgrind.sh).
//
// A PathDriver owns a TcpStack and runs rounds. PrepareRound() (untimed)
// undoes what the previous round left, so that no pool ever fills, and
// builds the round's segments, one per connection: e.g. for LAST-ACK + ACK
// it opens `connections` connections, takes each through FIN and Close() to
// LAST-ACK, and builds the ACKs of our FINs. RunBurst() (timed) pushes the
// next `burst` segments through as the worker does: one InputBurst (which
// hashes, looks the burst up at once and prepares its SYN cookies, then runs
// each segment through the state machine), then one Flush() (the ACKs
// that wait for it go out) and the output and events dropped, as the
// worker's EmitTcpOutput and event dispatch would take them. CheckRound()
// then says whether every segment did what the path claims (the expected
// output count, the state or counter it should move, and no drop counted),
// so a benchmark cannot silently time a cheaper drop path.
//
// The peer behaves as a Linux client: SYN with MSS 1460, SACK-permitted,
// timestamps and window scale 7; later segments with timestamps (TSval
// increasing, TSecr echoing ours), window 502 << 7. Everything is
// deterministic: fixed secret and hash seed, a virtual clock that only moves
// where a path needs time to pass (TIME-WAIT expiry), tuples from a counter.
#ifndef SYNWAVE_BENCH_TCP_SEGMENT_PATHS_H_
#define SYNWAVE_BENCH_TCP_SEGMENT_PATHS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flow/flow_key.h"
#include "tcp/counters.h"
#include "tcp/stack.h"

namespace synwave::bench {

// X(Enumerator suffix, "name", "what one segment of the path is")
#define SYNWAVE_SEGMENT_PATHS(X)                                               \
  X(SynCookie, "syn-cookie",                                                   \
    "LISTEN + SYN -> cookie SYN-ACK (syncookies=always)")                     \
  X(SynQueue, "syn-queue", "LISTEN + SYN -> SYN-queue entry + SYN-ACK")        \
  X(CookieAck, "cookie-ack",                                                   \
    "LISTEN + ACK with a valid cookie -> ESTABLISHED, accept queue")          \
  X(SynQueueAck, "syn-queue-ack",                                              \
    "SYN-RECEIVED + ACK -> ESTABLISHED, accept queue")                        \
  X(Data, "data", "ESTABLISHED + 128-byte segment -> queued, ACK at Flush")    \
  X(PureAck, "pure-ack", "ESTABLISHED + ACK of 128 bytes we sent")             \
  X(EstablishedFin, "established-fin",                                         \
    "ESTABLISHED + FIN -> CLOSE-WAIT, ACK at Flush")                          \
  X(FinWait1FinAck, "fin-wait-1-fin-ack",                                      \
    "FIN-WAIT-1 + FIN acking our FIN -> TIME-WAIT, ACK")                      \
  X(FinWait2Fin, "fin-wait-2-fin", "FIN-WAIT-2 + FIN -> TIME-WAIT, ACK")       \
  X(LastAckAck, "last-ack-ack", "LAST-ACK + ACK -> CLOSED")                    \
  X(ClosingAck, "closing-ack", "CLOSING + ACK -> TIME-WAIT")                   \
  X(TimeWaitInsert, "time-wait-insert",                                        \
    "FIN-WAIT-2 + FIN -> TIME-WAIT, with ~10^6 records live")                 \
  X(TimeWaitExpire, "time-wait-expire",                                        \
    "one TIME-WAIT record expired by AdvanceTimers, ~10^6 live")

enum class Path : uint8_t {
#define SYNWAVE_X(e, name, what) k##e,
  SYNWAVE_SEGMENT_PATHS(SYNWAVE_X)
#undef SYNWAVE_X
};

inline constexpr int kNumPaths = 0
#define SYNWAVE_X(e, name, what) +1
    SYNWAVE_SEGMENT_PATHS(SYNWAVE_X)
#undef SYNWAVE_X
    ;

std::string_view PathName(Path p);
std::string_view PathDescription(Path p);
std::optional<Path> PathByName(std::string_view name);

struct PathOptions {
  uint32_t burst = 32;           // segments per Input burst, 1..64
  uint32_t connections = 4096;   // segments per round (a multiple of burst
                                 // keeps every burst full)
  // TIME-WAIT paths: records live while they run (rounded down to a
  // multiple of `connections`).
  uint32_t time_wait_live = 1'000'000;
  // The same paths over IPv6: each client's tuple is its IPv4 one with the
  // addresses mapped into fd00::/64 (stack built with TcpConfig::ipv6).
  bool ipv6 = false;
};

class PathDriver {
 public:
  // The largest burst RunBurst takes (the worker's kMaxBurst).
  static constexpr uint32_t kMaxBurst = 64;

  PathDriver(Path path, const PathOptions& options);
  ~PathDriver();
  PathDriver(const PathDriver&) = delete;
  PathDriver& operator=(const PathDriver&) = delete;

  Path path() const { return path_; }
  uint32_t burst() const { return burst_; }
  // Segments (or, for kTimeWaitExpire, records) per round.
  uint32_t round_size() const { return connections_; }
  // True when PrepareRound does real work between rounds (everything but
  // the stateless cookie SYN): benchmarks pause their clock around it.
  bool stateful() const { return path_ != Path::kSynCookie; }

  // Untimed: clears up after the previous round and makes the next one's
  // segments ready. The first call also builds what the path needs once
  // (for the TIME-WAIT paths: ~10^6 records).
  void PrepareRound();
  bool RoundDone() const { return next_ >= ready_; }
  // Timed: the next burst. Returns the number of items it processed.
  uint32_t RunBurst();
  // Timed: RunBurst until RoundDone(). Returns the items processed.
  uint32_t RunRound();
  // After a round: empty if every item did what the path says, else why not.
  std::string CheckRound() const;

  const tcp::TcpStack& stack() const { return *stack_; }

 private:
  // One peer connection, as the client on the other end tracks it.
  struct Conn {
    flow::FlowKey key;
    uint32_t peer_nxt = 0;  // the client's next sequence number
    uint32_t our_nxt = 0;   // our SND.NXT as far as the client has seen
    uint32_t ts_val = 0;    // the client's TSval clock
    uint32_t ts_ecr = 0;    // the last TSval it received from us
    tcp::ConnId id;
  };

  flow::FlowKey NewTuple();
  Conn NewConn();
  tcp::Segment Syn(Conn& c);
  // A segment from `c` at its current numbers; it acknowledges our_nxt
  // unless `ack` is given. Advances the client's sequence number.
  tcp::Segment From(Conn& c, uint8_t flags, uint16_t payload_length = 0,
                    std::optional<uint32_t> ack = std::nullopt);

  // Setup helpers: deliver, flush, and absorb what came back into the conns.
  void Deliver(Conn& c, const tcp::Segment& seg);
  void Absorb(std::span<Conn> conns);
  // `n` fresh connections: SYN, SYN-ACK, ACK, accepted.
  void Establish(std::span<Conn> conns);
  // Accepts whatever waits in the accept queue and aborts every connection
  // of `conns` that is still open (RST; frees TCB and table entry).
  void AbortAll(std::span<Conn> conns);
  // Moves the clock past 2 MSL and expires every TIME-WAIT record.
  void ExpireAllTimeWait();
  // FIN-WAIT-2 (ours acked), then the FIN that moves each to TIME-WAIT is
  // appended to the round.
  void MakeFinWait2(std::span<Conn> conns);
  // One group of TIME-WAIT records at the current time (untimed).
  void InsertTimeWaitGroup();

  void Queue(const Conn& c, const tcp::Segment& seg);
  void StartRound();

  const Path path_;
  const uint32_t burst_;
  const uint32_t connections_;
  uint32_t groups_ = 0;         // TIME-WAIT paths: groups of records live
  uint64_t group_step_ns_ = 0;  // TIME-WAIT paths: clock step per group
  uint64_t now_;
  uint32_t tuple_counter_ = 0;
  std::unique_ptr<tcp::TcpStack> stack_;
  std::vector<Conn> conns_;

  // IPv6: the tuple of a client (its IPv4 key, mapped), and whether `o`
  // went to it.
  static flow::FlowKey6 Key6(const flow::FlowKey& key);
  bool SentTo(const Conn& c, const tcp::OutSegment& o) const;

  const bool ipv6_;
  // The round: keys and segments side by side, as the worker holds them
  // (keys6_ too for IPv6).
  std::vector<flow::FlowKey6> keys6_;
  std::vector<flow::FlowKey> keys_;
  std::vector<tcp::Segment> segs_;
  uint32_t next_ = 0;
  uint32_t ready_ = 0;
  bool built_ = false;
  bool round_ran_ = false;

  // For CheckRound: the counters when the round started, and what it sent.
  tcp::TcpCounters before_;
  uint64_t outputs_ = 0;
};

}  // namespace synwave::bench

#endif  // SYNWAVE_BENCH_TCP_SEGMENT_PATHS_H_
