// LatencyHistogram: a log-linear histogram of latencies, for the load
// generator's per-core recording (connect time, time to first byte, total
// time) and the merge of all cores' histograms at the end of a run.
//
// A sorted list of samples would give exact percentiles but grows with the
// run; a linear histogram is either too coarse at microseconds or too large at
// seconds. This is the HdrHistogram layout instead: each power-of-two range
// [2^e, 2^(e+1)) is split into 2^kSubBucketBits equal-width sub-buckets, so a
// bucket's width is never more than 2^-kSubBucketBits of the smallest value it
// holds. Values below 2^(kSubBucketBits+1) get one bucket each and are exact.
//
// Error bound: a percentile is reported as the highest value that falls in
// the same bucket as the true percentile value v (clamped to the exact max),
// so the reported value r satisfies
//     v <= r < v * (1 + 2^-kSubBucketBits),
// that is, it never understates a latency, and overstates it by less than
// 0.79% with the default kSubBucketBits = 7. Rank 1 (p = 0, or any p when one
// value was recorded) and rank count (p = 100) report the exact min and max.
// min(), max() and mean() are exact (mean from an exact 128-bit sum).
//
// Range: values in [0, 2^kMaxValueBits) (default 2^40: 18 minutes in
// nanoseconds, 12 days in microseconds; the unit is the caller's). Larger
// values are counted in the top bucket as 2^kMaxValueBits - 1 and in
// saturated(); the bound above does not hold for them, but min/max/mean still
// see their true value. The count array, (kMaxValueBits - kSubBucketBits + 1)
// * 2^kSubBucketBits uint64 (34 KiB by default), is allocated once by the
// constructor; Record() never allocates and has no data-dependent branch
// (OR, count-leading-zeros, shift, add, index).
//
// One histogram per core, no atomics: merge at the end with Merge().
#ifndef SYNWAVE_ENGINE_HISTOGRAM_H_
#define SYNWAVE_ENGINE_HISTOGRAM_H_

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace synwave::engine {

template <int kSubBucketBits = 7, int kMaxValueBits = 40>
class BasicLatencyHistogram {
  static_assert(kSubBucketBits >= 1 && kSubBucketBits <= 20);
  static_assert(kMaxValueBits > kSubBucketBits && kMaxValueBits <= 64);

 public:
  // Largest value recorded without saturation.
  static constexpr uint64_t kMaxValue =
      kMaxValueBits == 64 ? std::numeric_limits<uint64_t>::max()
                          : (uint64_t{1} << kMaxValueBits) - 1;
  // Upper bound on (reported - true) / true for ValueAtPercentile().
  static constexpr double kRelativeError =
      1.0 / (uint64_t{1} << kSubBucketBits);

  BasicLatencyHistogram() : counts_(kBucketCount, 0) {}

  void Record(uint64_t value) {
    ++count_;
    sum_ += value;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
    saturated_ += value > kMaxValue;
    ++counts_[IndexOf(std::min(value, kMaxValue))];
  }

  // Records `value` `n` times (for example, a batch of equal timestamps).
  void Record(uint64_t value, uint64_t n) {
    if (n == 0) return;
    count_ += n;
    sum_ += static_cast<unsigned __int128>(value) * n;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
    saturated_ += value > kMaxValue ? n : 0;
    counts_[IndexOf(std::min(value, kMaxValue))] += n;
  }

  // Adds every value recorded in `other`, as if this histogram had seen them.
  void Merge(const BasicLatencyHistogram& other) {
    count_ += other.count_;
    sum_ += other.sum_;
    saturated_ += other.saturated_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  }

  void Reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    saturated_ = 0;
    sum_ = 0;
    min_ = std::numeric_limits<uint64_t>::max();
    max_ = 0;
  }

  uint64_t count() const { return count_; }
  // Values recorded above kMaxValue (also included in count()).
  uint64_t saturated() const { return saturated_; }
  // Exact; 0 when empty.
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const {
    return count_ == 0
               ? 0.0
               : static_cast<double>(sum_) / static_cast<double>(count_);
  }

  // The p-th percentile, p in [0, 100], by nearest rank: the smallest
  // recorded value v such that at least p% of the values are <= v, that is
  // the value of rank ceil(p / 100 * count()) (at least 1). Returned as the
  // highest value of v's bucket clamped to max(), so within kRelativeError
  // above v and never below it; exact for ranks 1 and count(). 0 when empty.
  // p is taken with a relative tolerance of 1e-12, so that 99.9 percent of
  // 1000 values is rank 999 although 99.9 / 100 * 1000 rounds to just above
  // 999 in binary floating point. Scans the buckets: for reports, not for
  // the per-packet path.
  uint64_t ValueAtPercentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    const double exact_rank = p / 100.0 * static_cast<double>(count_);
    const double rank_f = std::ceil(exact_rank - exact_rank * 1e-12);
    const uint64_t rank =
        std::clamp<uint64_t>(static_cast<uint64_t>(rank_f), 1, count_);
    if (rank == 1) return min_;
    if (rank == count_) return max_;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBucketCount; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(HighestInBucket(i), max_);
    }
    return max_;  // Not reached: the counts sum to count_.
  }

  friend bool operator==(const BasicLatencyHistogram&,
                         const BasicLatencyHistogram&) = default;

  // The histogram in a form that can be written out and added up elsewhere
  // (the JSON report, merged across hosts): its non-empty buckets by index,
  // and the exact figures. Import(Export()) gives back an equal histogram.
  struct Snapshot {
    int sub_bucket_bits = kSubBucketBits;
    std::vector<std::pair<uint32_t, uint64_t>> buckets;  // index, count
    uint64_t count = 0;
    uint64_t saturated = 0;
    uint64_t sum = 0;  // saturating at 2^64 - 1 (mean() stays exact below)
    uint64_t min = 0;
    uint64_t max = 0;
  };
  Snapshot Export() const {
    Snapshot s;
    for (size_t i = 0; i < kBucketCount; ++i) {
      if (counts_[i] != 0) s.buckets.emplace_back(static_cast<uint32_t>(i), counts_[i]);
    }
    s.count = count_;
    s.saturated = saturated_;
    s.sum = sum_ > std::numeric_limits<uint64_t>::max()
                ? std::numeric_limits<uint64_t>::max()
                : static_cast<uint64_t>(sum_);
    s.min = min();
    s.max = max_;
    return s;
  }
  // False (and this histogram unchanged) if `s` has another layout, a
  // bucket out of range, or counts that do not add up to its count.
  bool Import(const Snapshot& s) {
    if (s.sub_bucket_bits != kSubBucketBits) return false;
    uint64_t total = 0;
    for (const auto& [index, n] : s.buckets) {
      if (index >= kBucketCount) return false;
      total += n;
    }
    if (total != s.count) return false;
    Reset();
    for (const auto& [index, n] : s.buckets) counts_[index] += n;
    count_ = s.count;
    saturated_ = s.saturated;
    sum_ = s.sum;
    if (s.count != 0) min_ = s.min;
    max_ = s.max;
    return true;
  }

 private:
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  // Buckets [0, 2 * kSubBuckets) hold one value each; each further
  // power of two adds kSubBuckets.
  static constexpr size_t kBucketCount =
      (kMaxValueBits - kSubBucketBits + 1) * kSubBuckets;

  // Values below 2 * kSubBuckets map to themselves. A value v with highest
  // set bit e > kSubBucketBits keeps its top kSubBucketBits + 1 bits:
  // shift = e - kSubBucketBits, v >> shift is in [kSubBuckets, 2 *
  // kSubBuckets), and the power of two's buckets start at (shift + 1) *
  // kSubBuckets. OR-ing in 2 * kSubBuckets - 1 makes shift 0 for small
  // values (and defines clz for 0) without a branch.
  static size_t IndexOf(uint64_t value) {
    const int shift =
        63 - std::countl_zero(value | (2 * kSubBuckets - 1)) - kSubBucketBits;
    return (static_cast<size_t>(shift) << kSubBucketBits) + (value >> shift);
  }

  // The largest value that IndexOf() maps to bucket `index`.
  static uint64_t HighestInBucket(size_t index) {
    if (index < 2 * kSubBuckets) return index;
    const int shift = static_cast<int>(index >> kSubBucketBits) - 1;
    const uint64_t sub =
        index - (static_cast<uint64_t>(shift) << kSubBucketBits);
    return (sub << shift) + ((uint64_t{1} << shift) - 1);
  }

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t saturated_ = 0;
  unsigned __int128 sum_ = 0;  // Exact sum of recorded values, for mean().
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

// Default: 2^7 sub-buckets per power of two (< 0.79% error), values to 2^40.
using LatencyHistogram = BasicLatencyHistogram<>;

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_HISTOGRAM_H_
