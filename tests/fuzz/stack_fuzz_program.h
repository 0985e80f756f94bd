// The input format of stack_fuzzer.cc: a fuzz input is a small program of
// operations on one TcpStack, and this header is the one place that says
// how its bytes are read, so that the fuzzer and the seed generator
// (stack_replay_main.cc --write-seeds) cannot disagree.
//
// Every read past the end of the input yields 0, so any byte string is a
// valid program, and a mutation never makes the rest unreadable.
//
//   program := cfg0 cfg1 op*
//   op      := kind-byte args...     (kind = byte & 0x0f; bit 7: no Flush
//                                     after the op, as inside a burst)
//
// The peers are a fixed set of kNumTuples 4-tuples (TupleKey). The fuzzer
// remembers, per tuple, the last segment the stack sent there, so that an
// op can "answer correctly" (kAnswer: the ACK of a SYN-ACK, the SYN-ACK of
// a SYN, the ACK of data or a FIN) or pick sequence and acknowledgment
// numbers relative to it (kSegment), and handshakes, cookie handshakes
// included, actually complete.
#ifndef SYNWAVE_TESTS_FUZZ_STACK_FUZZ_PROGRAM_H_
#define SYNWAVE_TESTS_FUZZ_STACK_FUZZ_PROGRAM_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "flow/flow_key.h"

namespace synwave::tcp::stack_fuzz {

// Reads a program; past the end every value is 0.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>((U8() << 8) | U8()); }
  uint32_t U32() { return (uint32_t{U16()} << 16) | U16(); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// cfg0: the stack's policy.
namespace cfg0 {
inline constexpr uint8_t kCookieMask = 0x03;  // 0 off, 1 overflow, 2 always, 3 overflow
inline constexpr uint8_t kTimestamps = 1 << 2;
inline constexpr uint8_t kSack = 1 << 3;
inline constexpr uint8_t kWindowScale = 1 << 4;  // offer 7, else 0
inline constexpr uint8_t kKeepalive = 1 << 5;
inline constexpr uint8_t kShortCookiePeriod = 1 << 6;  // 2^30 ns, else 2^36
inline constexpr uint8_t kSmallBuffers = 1 << 7;  // rcv 3000 / snd 6000 bytes
}  // namespace cfg0

// cfg1: clock and resources.
namespace cfg1 {
inline constexpr uint8_t kStartMask = 0x03;  // index into kStartTimes
inline constexpr uint8_t kNoSynRetries = 1 << 2;
inline constexpr uint8_t kSmallMss = 1 << 3;      // 536, else 1460
inline constexpr uint8_t kFewChunks = 1 << 4;     // 6 buffer chunks, else 24
inline constexpr uint8_t kFewTimeWait = 1 << 5;   // 2 records, else 8
inline constexpr uint8_t kTinyBudget = 1 << 6;    // timer budget 2, else 256
inline constexpr uint8_t kOneRetransmit = 1 << 7; // max_retransmits 1, else 3
}  // namespace cfg1

// Virtual clock starts: an ordinary one, zero, just before our 32-bit
// millisecond TSval clock wraps, and just before the ISN clock (4 us ticks)
// wraps.
inline constexpr uint64_t kStartTimes[4] = {
    1000'000'000'000ull,
    0,
    (uint64_t{1} << 32) * 1'000'000 - 2'000'000'000ull,
    (uint64_t{1} << 32) * 4'000 - 1'000'000'000ull,
};

enum class Op : uint8_t {
  kSegment = 0,   // tuple flags seqsel [..] acksel [..] window:16 opts [..] paylen
  kAnswer = 1,    // recent variation [paylen]
  kSyn = 2,       // tuple iss-mode [iss:32] opts [..]
  kAdvance = 3,   // amount
  kConnect = 4,   // tuple
  kAccept = 5,    // limit (0: all)
  kSend = 6,      // conn len
  kRead = 7,      // conn max
  kClose = 8,     // conn
  kAbort = 9,     // conn
  kFlush = 10,
  kBurst = 11,    // count (bits 0-3: n - 1; bit 7: no PrepareCookies), then
                  // n times: kind (% 3: kAnswer, kSegment, kSyn) and its args
  kStale = 12,    // which: the API on a ConnId that is not (or no longer) open
  // 13-15 repeat the ops most programs need most.
};
inline constexpr Op kOpOfKind[16] = {
    Op::kSegment, Op::kAnswer, Op::kSyn,    Op::kAdvance, Op::kConnect,
    Op::kAccept,  Op::kSend,   Op::kRead,   Op::kClose,   Op::kAbort,
    Op::kFlush,   Op::kBurst,  Op::kStale,  Op::kAnswer,  Op::kAnswer,
    Op::kSegment};
inline constexpr uint8_t kNoFlush = 0x80;

// The peers: local 10.0.0.1 (listened on port 80) and 10.0.0.3; local
// ports 80 (listener on 10.0.0.1 only), 81 (listener on any address), 82
// (none) and 1024; remote 10.0.0.2 and 192.168.7.9, ports 40000 and 40001.
inline constexpr uint32_t kLocalIps[2] = {0x0a000001, 0x0a000003};
inline constexpr uint16_t kLocalPorts[4] = {80, 81, 82, 1024};
inline constexpr uint32_t kRemoteIps[2] = {0x0a000002, 0xc0a80709};
inline constexpr uint16_t kRemotePorts[2] = {40000, 40001};
inline constexpr int kNumTuples = 32;
inline flow::FlowKey TupleKey(int i) {
  return flow::FlowKey{kLocalIps[(i >> 4) & 1], kRemoteIps[(i >> 1) & 1],
                       kLocalPorts[(i >> 2) & 3], kRemotePorts[i & 1]};
}
// Tuple numbers for the seed generator.
constexpr int Tuple(int local_ip, int local_port, int remote_ip,
                    int remote_port) {
  return (local_ip << 4) | (local_port << 2) | (remote_ip << 1) | remote_port;
}

// Sequence selector byte: bits 0-2 the base, bits 3-4 the delta added.
namespace seqsel {
inline constexpr uint8_t kZero = 0;
inline constexpr uint8_t kLiteral = 1;     // U32 follows
inline constexpr uint8_t kExpected = 2;    // the last segment's ACK (our RCV.NXT)
inline constexpr uint8_t kWindowEdge = 3;  // that plus its window << 7
inline constexpr uint8_t kPeerIss = 4;     // the tuple's peer ISS
inline constexpr uint8_t kTheirSeq = 5;    // the last segment's SEQ
inline constexpr uint8_t kFar = 6;         // kExpected + 2^31
inline constexpr uint8_t kPeerIssNext = 7; // peer ISS + 1
}  // namespace seqsel
// Acknowledgment selector byte, the same shape.
namespace acksel {
inline constexpr uint8_t kZero = 0;
inline constexpr uint8_t kLiteral = 1;     // U32 follows
inline constexpr uint8_t kAll = 2;         // the last segment's SEQ + SEG.LEN
inline constexpr uint8_t kSynAckIsn1 = 3;  // the last SYN-ACK's ISN + 1
inline constexpr uint8_t kTheirSeq = 4;    // the last segment's SEQ
inline constexpr uint8_t kHighest = 5;     // the highest SEQ + LEN seen
inline constexpr uint8_t kOld = 6;         // the last SEQ - 2^30
inline constexpr uint8_t kEcho = 7;        // the last segment's ACK
}  // namespace acksel
// Delta kinds (bits 3-4 of a selector): none, int8, int16, int8 << 16.
inline constexpr uint8_t kDeltaShift = 3;

// Options byte.
namespace opt {
inline constexpr uint8_t kMss = 1 << 0;        // U16 follows
inline constexpr uint8_t kWscale = 1 << 1;     // U8 follows
inline constexpr uint8_t kSackOk = 1 << 2;
inline constexpr uint8_t kTimestamps = 1 << 3;
inline constexpr uint8_t kTsLiteral = 1 << 4;  // TSval:32 TSecr:32 follow
inline constexpr uint8_t kSackBlocksShift = 5; // bits 5-7: SACK blocks seen
inline constexpr uint8_t kAll = kMss | kWscale | kSackOk | kTimestamps;
}  // namespace opt

// kAnswer variation byte.
namespace answer {
inline constexpr uint8_t kFin = 1 << 0;
inline constexpr uint8_t kData = 1 << 1;      // paylen follows
inline constexpr uint8_t kAckNothing = 1 << 2;// ACK = the segment's SEQ
inline constexpr uint8_t kNoTs = 1 << 3;
inline constexpr uint8_t kOldTs = 1 << 4;     // TSval far in the past (PAWS)
inline constexpr uint8_t kTwice = 1 << 5;     // delivered twice
inline constexpr uint8_t kOther = 1 << 6;     // to a SYN: a SYN (simultaneous
                                              // open); else a RST at RCV.NXT
inline constexpr uint8_t kZeroWindow = 1 << 7;
}  // namespace answer

// kSyn ISS mode.
namespace iss {
inline constexpr uint8_t kSame = 0;
inline constexpr uint8_t kNewer = 1;  // + 2^20: a new incarnation
inline constexpr uint8_t kLiteral = 2;  // U32 follows
inline constexpr uint8_t kOlder = 3;
}  // namespace iss

// Payload length byte: b < 200 gives b bytes, else (b - 200) * 128.
inline uint32_t PayloadLength(uint8_t b) {
  return b < 200 ? b : (b - 200u) * 128u;
}
// Advance amount byte: by bits 6-7, (b & 63) times 1 ms, 20 ms or 500 ms;
// or, for 0xc0-0xdf, (b & 31) times 15 s; or, for 0xe0-0xff, 2^(20 + (b &
// 31)) ns, 1 ms to 26 days (past the 24 days after which PAWS forgets
// TS.Recent, RFC 7323 5.5).
inline uint64_t AdvanceNs(uint8_t b) {
  constexpr uint64_t kUnit[3] = {1'000'000, 20'000'000, 500'000'000};
  if (b < 0xc0) return (b & 63u) * kUnit[b >> 6];
  if (b < 0xe0) return (b & 31u) * 15'000'000'000ull;
  return uint64_t{1} << (20 + (b & 31u));
}
// Send length byte: b < 128 gives 4b bytes, else (b - 128) * 512.
inline uint32_t SendLength(uint8_t b) { return b < 128 ? 4u * b : (b - 128u) * 512u; }
// Read size byte: b < 128 gives b bytes, else (b - 128) * 256.
inline uint32_t ReadLength(uint8_t b) { return b < 128 ? b : (b - 128u) * 256u; }

// The bytes the application sends: a function of the offset in the stream,
// so that every payload the stack emits (retransmissions included) can be
// checked against its sequence number.
inline uint8_t AppByte(uint32_t offset) {
  return static_cast<uint8_t>((offset * 2654435761u) >> 24);
}
// The bytes the peers send: a function of the sequence number, so that
// overlapping, trimmed and retransmitted segments all agree on each byte.
inline uint8_t PeerByte(uint32_t seq) {
  return static_cast<uint8_t>(((seq * 40503u) >> 8) ^ seq);
}

// Writes programs (for the seed corpus and the replay test's generator).
class ProgramBuilder {
 public:
  ProgramBuilder(uint8_t c0, uint8_t c1) : bytes_{c0, c1} {}
  const std::vector<uint8_t>& bytes() const { return bytes_; }

  ProgramBuilder& Raw(std::initializer_list<uint8_t> b) {
    bytes_.insert(bytes_.end(), b);
    return *this;
  }
  ProgramBuilder& OpByte(Op op, bool flush = true) {
    bytes_.push_back(static_cast<uint8_t>(static_cast<uint8_t>(op) |
                                          (flush ? 0 : kNoFlush)));
    return *this;
  }
  ProgramBuilder& Syn(int tuple, uint8_t iss_mode = iss::kSame,
                      uint8_t opts = opt::kAll, uint16_t mss = 1460) {
    OpByte(Op::kSyn).Raw({static_cast<uint8_t>(tuple), iss_mode});
    return Options(opts, mss);
  }
  ProgramBuilder& Answer(uint8_t recent = 0, uint8_t variation = 0,
                         uint8_t paylen = 0) {
    OpByte(Op::kAnswer).Raw({recent, variation});
    if (variation & answer::kData) bytes_.push_back(paylen);
    return *this;
  }
  ProgramBuilder& Advance(uint8_t amount) {
    return OpByte(Op::kAdvance).Raw({amount});
  }
  ProgramBuilder& Connect(int tuple) {
    return OpByte(Op::kConnect).Raw({static_cast<uint8_t>(tuple)});
  }
  ProgramBuilder& Accept(uint8_t limit = 0) {
    return OpByte(Op::kAccept).Raw({limit});
  }
  ProgramBuilder& Send(uint8_t conn, uint8_t len) {
    return OpByte(Op::kSend).Raw({conn, len});
  }
  ProgramBuilder& Read(uint8_t conn, uint8_t max) {
    return OpByte(Op::kRead).Raw({conn, max});
  }
  ProgramBuilder& Close(uint8_t conn) { return OpByte(Op::kClose).Raw({conn}); }
  ProgramBuilder& Abort(uint8_t conn) { return OpByte(Op::kAbort).Raw({conn}); }
  ProgramBuilder& Flush() { return OpByte(Op::kFlush); }
  // A burst of n segments (the Burst* calls that follow), their SYN cookies
  // prepared at once unless `prepare` is false.
  ProgramBuilder& Burst(int n, bool prepare = true) {
    OpByte(Op::kBurst);
    return Raw({static_cast<uint8_t>(((n - 1) & 15) | (prepare ? 0 : 0x80))});
  }
  ProgramBuilder& BurstAnswer(uint8_t recent = 0, uint8_t variation = 0) {
    return Raw({0, recent, variation});
  }
  ProgramBuilder& BurstSyn(int tuple, uint8_t opts = opt::kAll,
                           uint16_t mss = 1460) {
    Raw({2, static_cast<uint8_t>(tuple), iss::kSame});
    return Options(opts, mss);
  }
  ProgramBuilder& Stale(uint8_t which) { return OpByte(Op::kStale).Raw({which}); }
  // A segment with selector bases only (no literals, no deltas).
  ProgramBuilder& Segment(int tuple, uint8_t flags, uint8_t seq_base,
                          uint8_t ack_base, uint16_t window = 65535,
                          uint8_t opts = 0, uint8_t paylen = 0,
                          uint16_t mss = 1460) {
    OpByte(Op::kSegment)
        .Raw({static_cast<uint8_t>(tuple), flags, seq_base, ack_base,
              static_cast<uint8_t>(window >> 8),
              static_cast<uint8_t>(window)});
    Options(opts, mss);
    bytes_.push_back(paylen);
    return *this;
  }

 private:
  ProgramBuilder& Options(uint8_t opts, uint16_t mss) {
    bytes_.push_back(opts);
    if (opts & opt::kMss) {
      Raw({static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)});
    }
    if (opts & opt::kWscale) Raw({7});
    if (opts & opt::kTsLiteral) Raw({0, 0, 0, 1, 0, 0, 0, 0});
    return *this;
  }

  std::vector<uint8_t> bytes_;
};

}  // namespace synwave::tcp::stack_fuzz

#endif  // SYNWAVE_TESTS_FUZZ_STACK_FUZZ_PROGRAM_H_
