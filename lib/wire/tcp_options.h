// TCP options: parse and emit MSS, window scale, SACK-permitted, timestamps
// (RFC 9293 3.2, RFC 7323, RFC 2018), with NOP and EOL.
//
// Parsing walks the option bytes of one header; an unknown option is skipped
// by its length byte, and any option whose length is missing, below 2, runs
// past the header, or is wrong for its kind rejects the segment
// (Verdict::kTcpBadOption). SACK blocks are length-checked and counted but not
// kept (the endpoint does not use them yet). Emitting writes the layout Linux
// uses, padded to a multiple of 4 bytes with NOPs.
#ifndef SYNWAVE_WIRE_TCP_OPTIONS_H_
#define SYNWAVE_WIRE_TCP_OPTIONS_H_

#include <cstddef>
#include <cstdint>

#include "wire/verdict.h"

namespace synwave::wire {

namespace tcp_option_kind {
inline constexpr uint8_t kEol = 0;
inline constexpr uint8_t kNop = 1;
inline constexpr uint8_t kMss = 2;            // length 4
inline constexpr uint8_t kWindowScale = 3;    // length 3
inline constexpr uint8_t kSackPermitted = 4;  // length 2
inline constexpr uint8_t kSack = 5;           // length 2 + 8n, n = 1..4
inline constexpr uint8_t kTimestamps = 8;     // length 10
}  // namespace tcp_option_kind

// RFC 7323 2.3: a shift above 14 is used as 14.
inline constexpr uint8_t kMaxWindowScale = 14;

struct TcpOptions {
  bool has_mss = false;
  bool has_window_scale = false;
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint16_t mss = 0;           // bytes
  uint8_t window_scale = 0;   // shift count as received (clamp is the caller's)
  uint8_t sack_blocks = 0;    // number of SACK blocks seen (0-4)
  uint32_t ts_val = 0;        // TSval
  uint32_t ts_ecr = 0;        // TSecr

  friend bool operator==(const TcpOptions&, const TcpOptions&) = default;
};

// Parses `len` option bytes (the TCP header past its first 20 bytes).
// Returns kOk or kTcpBadOption; `out` is reset first. A repeated option is
// not an error: the last occurrence wins, as in Linux.
Verdict ParseTcpOptions(const uint8_t* data, size_t len, TcpOptions* out);

// Writes the options set in `opts` (MSS, SACK-permitted, timestamps, window
// scale; SACK blocks are not emitted) to `out`, which has room for
// kTcpMaxOptionsLength (40) bytes. Returns the length written, a multiple
// of 4 (0 when nothing is set).
size_t EmitTcpOptions(const TcpOptions& opts, uint8_t* out);
// The same, and `*sum` gets a checksum partial sum of the bytes written,
// computed from the values, not read back: a frame writer adds it to the
// header's without touching the bytes it just stored. It is congruent
// modulo 0xffff to the sum of the big-endian words (32-bit fields are added
// whole: 2^16 is 1 modulo 0xffff) and 0 only when they all are; read it
// through FoldSum.
size_t EmitTcpOptions(const TcpOptions& opts, uint8_t* out, uint64_t* sum);

// Length EmitTcpOptions would write.
size_t TcpOptionsLength(const TcpOptions& opts);

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_TCP_OPTIONS_H_
