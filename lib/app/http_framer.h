// HttpFramer: where HTTP/1.1 requests end in a byte stream (RFC 9112), for
// the responder, which answers every request the same way and so needs only
// their boundaries, never their contents.
//
// The rules (RFC 9112):
//   - A request is its request line and header fields, ended by an empty
//     line (2.1). The responder's requests have no content.
//   - Empty lines before a request line are ignored (2.2: "SHOULD ignore
//     at least one empty line"): a bare "\r\n\r\n", or "\r\n" after a
//     request, is not a request.
//   - A line ends at LF; a CR just before it is part of the terminator
//     (2.2: a recipient MAY recognize a single LF as a line terminator and
//     ignore any preceding CR). A CR followed by anything else is a bare
//     CR, taken as an ordinary byte (2.2: replaced by SP).
//   - Nothing depends on how the stream was cut into segments: the same
//     bytes give the same requests, in one segment or in many, because the
//     whole state is carried from one byte to the next.
//   - A request (from its first byte to its empty line) longer than
//     kMaxHeaderBytes is refused: kTooLarge, and the framer stays refused
//     (the caller answers 431, RFC 6585 5, and closes).
// Bytes after the last complete request that are only line terminators
// ("\r", "\r\n", "\r\n\r") leave the framer idle (no request under way), so
// a server that closes after its last response is not kept waiting.
//
// The state is 19 bits, so that it fits in the responder's per-connection
// word (a TCB's AppData) with the rest.
#ifndef SYNWAVE_APP_HTTP_FRAMER_H_
#define SYNWAVE_APP_HTTP_FRAMER_H_

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace synwave::app {

class HttpFramer {
 public:
  // Bytes a request (request line and header fields, terminators
  // included) may take; nginx's and Apache's default limit is 8 KiB.
  static constexpr uint32_t kMaxHeaderBytes = 8192;
  static constexpr int kStateBits = 19;

  enum class Result : uint8_t {
    kNone,      // nothing ended at this byte
    kRequest,   // a request ended at this byte (its empty line)
    kTooLarge,  // the request under way passed kMaxHeaderBytes
  };

  HttpFramer() = default;
  static HttpFramer FromState(uint32_t state) {
    HttpFramer f;
    f.state_ = state & ((uint32_t{1} << kStateBits) - 1);
    return f;
  }
  uint32_t state() const { return state_; }

  // One byte of the stream.
  Result Feed(uint8_t b) {
    if (refused()) return Result::kTooLarge;
    const uint32_t old = state_ & kFlagMask;
    uint32_t flags = old;
    bool ended = false;
    if (b == '\n') {
      if (old & kLineHasContent) {
        flags = kInRequest;  // the next line starts, empty so far
      } else {
        // An empty line: the end of a request, or (before any request
        // line) ignored.
        ended = (old & kInRequest) != 0;
        flags = 0;
      }
    } else {
      if (old & kCrPending) flags |= kLineHasContent | kInRequest;  // bare CR
      if (b == '\r') {
        flags |= kCrPending;
      } else {
        flags = (flags & ~kCrPending) | kLineHasContent | kInRequest;
      }
    }
    // A request's bytes: from its first byte to its last LF, inclusive.
    uint32_t bytes = state_ >> kFlagBits;
    if ((old | flags) & kInRequest) {
      if (++bytes > kMaxHeaderBytes) {
        state_ = kRefused;
        return Result::kTooLarge;
      }
    }
    if (ended) {
      state_ = 0;
      return Result::kRequest;
    }
    state_ = (flags & kInRequest) ? flags | (bytes << kFlagBits) : flags;
    return Result::kNone;
  }

  // Takes the run of ordinary bytes at p[0..n) in one step: in the middle
  // of a line that has content (no CR just before), every byte but CR and
  // LF changes nothing but the request's length, so a run of them is
  // counted at once, exactly as Feed would one by one. Stops before the
  // first CR or LF, and before the byte that would pass kMaxHeaderBytes
  // (which Feed then refuses). Returns how many bytes it took (0 in any
  // other state); the caller feeds the next byte with Feed.
  uint32_t SkipOrdinary(const uint8_t* p, uint32_t n) {
    if ((state_ & kFlagMask) != (kInRequest | kLineHasContent) || refused()) {
      return 0;
    }
    const uint32_t bytes = state_ >> kFlagBits;
    const uint32_t room = kMaxHeaderBytes - bytes;  // bytes <= the bound
    const uint32_t limit = n < room ? n : room;
    uint32_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= limit; i += 16) {
      const uint32_t hit = CrLfBits16(p + i);
      if (hit != 0) {
        i += static_cast<uint32_t>(__builtin_ctz(hit));
        state_ += i << kFlagBits;
        return i;
      }
    }
#endif
    while (i < limit && p[i] != '\r' && p[i] != '\n') ++i;
    state_ += i << kFlagBits;
    return i;
  }

  // Feeds p[0..n) whole, as Feed byte by byte would, and adds the requests
  // that ended in it to *requests. Returns kTooLarge at the byte where a
  // request passed kMaxHeaderBytes (the bytes after it are not looked at;
  // *requests holds those that ended before it), else kNone. Only CR and LF
  // go through Feed: the bytes between them are one ordinary run (a run
  // starts a line, or continues one, and counts toward the request's
  // length), and their positions come 64 at a time as a bit mask (16-byte
  // SSE2 compares where there is SSE2).
  Result FeedBlock(const uint8_t* p, uint32_t n, uint32_t* requests) {
    if (refused()) return Result::kTooLarge;
    uint32_t done = 0;  // bytes fed so far
    for (uint32_t base = 0; base < n; base += 64) {
      const uint32_t len = n - base < 64 ? n - base : 64;
      uint64_t specials = SpecialMask(p + base, len);
      while (specials != 0) {
        const uint32_t at = base + static_cast<uint32_t>(__builtin_ctzll(specials));
        specials &= specials - 1;
        if (at > done && !OrdinaryRun(at - done)) return Result::kTooLarge;
        // Feed with the byte known (LF or CR): each call inlines to its
        // own few branches.
        const Result r = p[at] == '\n' ? Feed('\n') : Feed('\r');
        if (r == Result::kRequest) {
          ++*requests;
        } else if (r == Result::kTooLarge) {
          return r;
        }
        done = at + 1;
      }
    }
    if (n > done && !OrdinaryRun(n - done)) return Result::kTooLarge;
    return Result::kNone;
  }

  // True when no request is under way: only complete requests, and at most
  // line terminators after them, have been fed.
  bool idle() const { return !(state_ & kInRequest); }
  // True once a request passed kMaxHeaderBytes.
  bool refused() const { return state_ == kRefused; }

 private:
  static constexpr uint32_t kInRequest = 1;      // a request line has begun
  static constexpr uint32_t kLineHasContent = 2; // bytes other than CR/LF
  static constexpr uint32_t kCrPending = 4;      // the last byte was a CR
  static constexpr uint32_t kFlagBits = 3;
  static constexpr uint32_t kFlagMask = 7;
  // All flags and a count no request reaches.
  static constexpr uint32_t kRefused = (uint32_t{1} << kStateBits) - 1;
  static_assert(((kMaxHeaderBytes + 1) << kFlagBits) < kRefused);

  // k >= 1 bytes other than CR and LF, as Feed would take them one by one:
  // the first ends a pending CR (a bare CR) and gives the line content, each
  // counts toward the request. False (and refused) when the run passes
  // kMaxHeaderBytes.
  bool OrdinaryRun(uint32_t k) {
    // Outside a request the state holds no count.
    const uint32_t bytes = (state_ >> kFlagBits) + k;
    if (bytes > kMaxHeaderBytes) {
      state_ = kRefused;
      return false;
    }
    state_ = kInRequest | kLineHasContent | (bytes << kFlagBits);
    return true;
  }

#if defined(__SSE2__)
  // Bit i set where p[i] (i < 16) is CR or LF.
  static uint32_t CrLfBits16(const uint8_t* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return static_cast<uint32_t>(_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')))));
  }
#endif

  // Bit i set where p[i] (i < len <= 64) is CR or LF.
  static uint64_t SpecialMask(const uint8_t* p, uint32_t len) {
    uint64_t mask = 0;
    uint32_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= len; i += 16) {
      mask |= uint64_t{CrLfBits16(p + i)} << i;
    }
    if (i < len && len >= 16) {
      // The last 16 bytes, overlapping ones already seen: the same bits.
      return mask | uint64_t{CrLfBits16(p + len - 16)} << (len - 16);
    }
#endif
    for (; i < len; ++i) {
      mask |= uint64_t{p[i] == '\r' || p[i] == '\n'} << i;
    }
    return mask;
  }

  uint32_t state_ = 0;
};

}  // namespace synwave::app

#endif  // SYNWAVE_APP_HTTP_FRAMER_H_
