// TCP option parsing and emission (RFC 9293 3.2, RFC 7323, RFC 2018).
//
// Parsing is strict about lengths because a length byte that lies is the
// classic way to make a stack read past the header: every option other than
// EOL and NOP must carry a length of at least 2 that fits in what is left,
// and known kinds must have exactly their defined length. A repeated option
// is not an error; the last occurrence wins, as in Linux tcp_parse_options(),
// so we never reject a segment the kernel would accept for that reason.
#include "wire/tcp_options.h"

#include "wire/byte_order.h"

namespace synwave::wire {
namespace {

namespace kind = tcp_option_kind;

inline constexpr uint8_t kMssLength = 4;
inline constexpr uint8_t kWindowScaleLength = 3;
inline constexpr uint8_t kSackPermittedLength = 2;
inline constexpr uint8_t kTimestampsLength = 10;
inline constexpr uint8_t kSackBlockLength = 8;
inline constexpr uint8_t kMaxSackBlocks = 4;
inline constexpr uint32_t kNopNopTimestamps =
    (uint32_t{kind::kNop} << 24) | (uint32_t{kind::kNop} << 16) |
    (uint32_t{kind::kTimestamps} << 8) | kTimestampsLength;
inline constexpr uint32_t kSackTimestamps =
    (uint32_t{kind::kSackPermitted} << 24) |
    (uint32_t{kSackPermittedLength} << 16) |
    (uint32_t{kind::kTimestamps} << 8) | kTimestampsLength;

}  // namespace

Verdict ParseTcpOptions(const uint8_t* data, size_t len, TcpOptions* out) {
  *out = TcpOptions{};
  // Nearly every segment after the handshake carries exactly NOP, NOP, TS
  // (the layout RFC 7323 Appendix A suggests and Linux sends); recognise it
  // in one compare, as Linux tcp_fast_parse_options() does.
  if (len == 12 && LoadBe32(data) == kNopNopTimestamps) {
    out->has_timestamps = true;
    out->ts_val = LoadBe32(data + 4);
    out->ts_ecr = LoadBe32(data + 8);
    return Verdict::kOk;
  }
  // A SYN or SYN-ACK from Linux (and from us): MSS, SACK-permitted (or two
  // NOPs), timestamps, NOP, window scale; 20 bytes in four compares. Any
  // other layout, or these kinds with other lengths, takes the loop below.
  if (len == 20 && (LoadBe32(data) >> 16) == (kind::kMss << 8 | kMssLength) &&
      LoadBe32(data + 16) >> 8 ==
          (kind::kNop << 16 | kind::kWindowScale << 8 | kWindowScaleLength)) {
    const uint32_t second = LoadBe32(data + 4);
    if (second == kSackTimestamps || second == kNopNopTimestamps) {
      out->has_mss = true;
      out->mss = LoadBe16(data + 2);
      out->sack_permitted = second == kSackTimestamps;
      out->has_timestamps = true;
      out->ts_val = LoadBe32(data + 8);
      out->ts_ecr = LoadBe32(data + 12);
      out->has_window_scale = true;
      out->window_scale = data[19];
      return Verdict::kOk;
    }
  }
  size_t i = 0;
  while (i < len) {
    const uint8_t k = data[i];
    // RFC 9293 3.2: EOL ends the option list; whatever follows is padding.
    if (k == kind::kEol) break;
    if (k == kind::kNop) {
      ++i;
      continue;
    }
    // RFC 9293 3.2: all other options have a length byte that counts the
    // kind and length bytes themselves.
    if (len - i < 2) return Verdict::kTcpBadOption;
    const uint8_t olen = data[i + 1];
    if (olen < 2 || olen > len - i) return Verdict::kTcpBadOption;
    const uint8_t* body = data + i + 2;
    switch (k) {
      case kind::kMss:
        if (olen != kMssLength) return Verdict::kTcpBadOption;
        out->has_mss = true;
        out->mss = LoadBe16(body);
        break;
      case kind::kWindowScale:
        // RFC 7323 2.3: the shift is kept as sent; clamping it to 14 is the
        // caller's, which also decides whether to count the oddity.
        if (olen != kWindowScaleLength) return Verdict::kTcpBadOption;
        out->has_window_scale = true;
        out->window_scale = body[0];
        break;
      case kind::kSackPermitted:
        if (olen != kSackPermittedLength) return Verdict::kTcpBadOption;
        out->sack_permitted = true;
        break;
      case kind::kTimestamps:
        if (olen != kTimestampsLength) return Verdict::kTcpBadOption;
        out->has_timestamps = true;
        out->ts_val = LoadBe32(body);
        out->ts_ecr = LoadBe32(body + 4);
        break;
      case kind::kSack: {
        // RFC 2018 3: 2 + 8n bytes; at most 4 blocks fit in 40 bytes.
        const uint8_t blocks = (olen - 2) / kSackBlockLength;
        if ((olen - 2) % kSackBlockLength != 0 || blocks == 0 ||
            blocks > kMaxSackBlocks) {
          return Verdict::kTcpBadOption;
        }
        out->sack_blocks = blocks;
        break;
      }
      default:
        // Unknown kinds are skipped by their length (RFC 9293 3.2 requires
        // a receiver to handle options it does not implement).
        break;
    }
    i += olen;
  }
  return Verdict::kOk;
}

size_t TcpOptionsLength(const TcpOptions& opts) {
  size_t n = 0;
  if (opts.has_mss) n += 4;
  if (opts.has_timestamps) {
    n += 12;  // SACKOK,TS or NOP,NOP,TS
  } else if (opts.sack_permitted) {
    n += 4;  // NOP,NOP,SACKOK
  }
  if (opts.has_window_scale) n += 4;  // NOP,WS
  return n;
}

size_t EmitTcpOptions(const TcpOptions& opts, uint8_t* out) {
  uint64_t sum;
  return EmitTcpOptions(opts, out, &sum);
}

size_t EmitTcpOptions(const TcpOptions& opts, uint8_t* out, uint64_t* sum) {
  uint8_t* p = out;
  // The checksum sum of what is written, from the values (see the header).
  uint64_t s = 0;
  // Every SYN and SYN-ACK of a Linux-like peer: the full set, five words.
  if (opts.has_mss && opts.has_timestamps && opts.has_window_scale) {
    const uint32_t first = uint32_t{kind::kMss} << 24 |
                           uint32_t{kMssLength} << 16 | opts.mss;
    const uint32_t second =
        opts.sack_permitted ? kSackTimestamps : kNopNopTimestamps;
    const uint32_t last = uint32_t{kind::kNop} << 24 |
                          uint32_t{kind::kWindowScale} << 16 |
                          uint32_t{kWindowScaleLength} << 8 |
                          opts.window_scale;
    StoreBe32(p, first);
    StoreBe32(p + 4, second);
    StoreBe32(p + 8, opts.ts_val);
    StoreBe32(p + 12, opts.ts_ecr);
    StoreBe32(p + 16, last);
    *sum = uint64_t{first} + second + opts.ts_val + opts.ts_ecr + last;
    return 20;
  }
  // Linux tcp_options_write() order, which every middlebox has seen: MSS,
  // then SACK-permitted folded into the two bytes of padding before the
  // timestamps when both are present, then NOP + window scale. Every option
  // group is a multiple of 4 bytes, so the total is too.
  if (opts.has_mss) {
    p[0] = kind::kMss;
    p[1] = kMssLength;
    StoreBe16(p + 2, opts.mss);
    s += (kind::kMss << 8 | kMssLength) + opts.mss;
    p += 4;
  }
  if (opts.has_timestamps) {
    if (opts.sack_permitted) {
      p[0] = kind::kSackPermitted;
      p[1] = kSackPermittedLength;
      s += kind::kSackPermitted << 8 | kSackPermittedLength;
    } else {
      p[0] = kind::kNop;
      p[1] = kind::kNop;
      s += kind::kNop << 8 | kind::kNop;
    }
    p[2] = kind::kTimestamps;
    p[3] = kTimestampsLength;
    StoreBe32(p + 4, opts.ts_val);
    StoreBe32(p + 8, opts.ts_ecr);
    s += uint64_t{kind::kTimestamps << 8 | kTimestampsLength} + opts.ts_val +
         opts.ts_ecr;
    p += 12;
  } else if (opts.sack_permitted) {
    p[0] = kind::kNop;
    p[1] = kind::kNop;
    p[2] = kind::kSackPermitted;
    p[3] = kSackPermittedLength;
    s += (kind::kNop << 8 | kind::kNop) +
         (kind::kSackPermitted << 8 | kSackPermittedLength);
    p += 4;
  }
  if (opts.has_window_scale) {
    p[0] = kind::kNop;
    p[1] = kind::kWindowScale;
    p[2] = kWindowScaleLength;
    p[3] = opts.window_scale;
    s += (kind::kNop << 8 | kind::kWindowScale) +
         (kWindowScaleLength << 8 | opts.window_scale);
    p += 4;
  }
  *sum = s;
  return static_cast<size_t>(p - out);
}

}  // namespace synwave::wire
