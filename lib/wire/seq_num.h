// SeqNum: a TCP sequence number with wrap-safe (modulo 2^32) comparisons,
// and TsVal, an RFC 7323 timestamp value, ordered the same way.
//
// RFC 9293 3.4 does all sequence arithmetic modulo 2^32; comparing raw
// uint32_t values breaks at the wrap, so every sequence number in lib/tcp is a
// SeqNum. Ordering follows the kernel's before()/after(): a < b when the
// signed 32-bit difference a - b is negative. Two numbers exactly 2^31 apart
// have no meaningful order: the difference is INT32_MIN both ways, so each
// compares "before" the other. TCP's window limits rule such pairs out.
#ifndef SYNWAVE_WIRE_SEQ_NUM_H_
#define SYNWAVE_WIRE_SEQ_NUM_H_

#include <cstdint>

namespace synwave::wire {

class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(uint32_t v) : value_(v) {}

  constexpr uint32_t value() const { return value_; }

  constexpr SeqNum operator+(uint32_t n) const { return SeqNum(value_ + n); }
  constexpr SeqNum operator-(uint32_t n) const { return SeqNum(value_ - n); }
  constexpr SeqNum& operator+=(uint32_t n) {
    value_ += n;
    return *this;
  }
  constexpr SeqNum& operator-=(uint32_t n) {
    value_ -= n;
    return *this;
  }
  // Signed distance a - b, valid when |a - b| < 2^31.
  friend constexpr int32_t operator-(SeqNum a, SeqNum b) {
    return static_cast<int32_t>(a.value_ - b.value_);
  }

  friend constexpr bool operator==(SeqNum a, SeqNum b) = default;
  friend constexpr bool operator<(SeqNum a, SeqNum b) { return (a - b) < 0; }
  friend constexpr bool operator>(SeqNum a, SeqNum b) { return (a - b) > 0; }
  friend constexpr bool operator<=(SeqNum a, SeqNum b) { return (a - b) <= 0; }
  friend constexpr bool operator>=(SeqNum a, SeqNum b) { return (a - b) >= 0; }

  // lo <= this < hi, with wrap (the RFC's "lo =< x < hi" window checks).
  constexpr bool InWindow(SeqNum lo, SeqNum hi) const {
    return value_ - lo.value_ < hi.value_ - lo.value_;
  }
  // lo <= this <= hi.
  constexpr bool Between(SeqNum lo, SeqNum hi) const {
    return value_ - lo.value_ <= hi.value_ - lo.value_;
  }

 private:
  uint32_t value_ = 0;
};

constexpr SeqNum Max(SeqNum a, SeqNum b) { return a < b ? b : a; }
constexpr SeqNum Min(SeqNum a, SeqNum b) { return a < b ? a : b; }

// A TCP timestamp value (TSval, TS.Recent). RFC 7323 5.3 orders timestamps
// like sequence numbers, by the sign of their 32-bit difference, because the
// timestamp clock wraps too (after 49.7 days at 1 ms): PAWS rejects a TSval
// that is before TS.Recent. The wire format's fields (wire::TcpOptions)
// stay plain numbers; TCP reasons about them through this type.
class TsVal {
 public:
  constexpr TsVal() = default;
  constexpr explicit TsVal(uint32_t v) : value_(v) {}

  constexpr uint32_t value() const { return value_; }

  // Signed distance a - b (in timestamp clock ticks).
  friend constexpr int32_t operator-(TsVal a, TsVal b) {
    return static_cast<int32_t>(a.value_ - b.value_);
  }
  friend constexpr bool operator==(TsVal a, TsVal b) = default;
  friend constexpr bool operator<(TsVal a, TsVal b) { return (a - b) < 0; }
  friend constexpr bool operator>(TsVal a, TsVal b) { return (a - b) > 0; }
  friend constexpr bool operator<=(TsVal a, TsVal b) { return (a - b) <= 0; }
  friend constexpr bool operator>=(TsVal a, TsVal b) { return (a - b) >= 0; }

 private:
  uint32_t value_ = 0;
};

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_SEQ_NUM_H_
