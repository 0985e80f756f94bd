// LatencyHistogram: percentiles stay within the documented relative error of
// the nearest-rank percentile of a sorted reference, for the shapes latencies
// take (uniform, exponential, heavy-tailed, constant, power-of-two edges,
// zeros); merging per-core histograms equals recording into one; empty and
// saturated histograms report what a load-generator report expects.
#include "engine/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace synwave::engine {
namespace {

// Nearest rank from the definition, in integers: p_milli is the percentile in
// thousandths of a percent (99.9% = 99900); rank = ceil(p * n / 100), >= 1.
uint64_t ReferencePercentile(const std::vector<uint64_t>& sorted,
                             uint64_t p_milli) {
  const uint64_t n = sorted.size();
  uint64_t rank = (p_milli * n + 99'999) / 100'000;
  rank = std::max<uint64_t>(rank, 1);
  return sorted[rank - 1];
}

// Records `values`, then checks count, min, max, mean exactly and every
// percentile from 0 to 100 in steps of 0.1 (plus 99.99 and 99.999) against
// the sorted reference: truth <= reported < truth * (1 + kRelativeError).
template <typename Histogram>
void ExpectMatchesReference(std::vector<uint64_t> values) {
  const auto kInverseError =
      static_cast<uint64_t>(std::llround(1.0 / Histogram::kRelativeError));
  Histogram h;
  for (uint64_t v : values) h.Record(v);
  std::sort(values.begin(), values.end());

  ASSERT_EQ(h.count(), values.size());
  EXPECT_EQ(h.saturated(), 0u);
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  long double sum = 0;
  for (uint64_t v : values) sum += v;
  const double mean = static_cast<double>(sum / values.size());
  EXPECT_NEAR(h.mean(), mean, mean * 1e-12);

  std::vector<uint64_t> p_millis;
  for (uint64_t p = 0; p <= 100'000; p += 100) p_millis.push_back(p);
  p_millis.push_back(99'990);
  p_millis.push_back(99'999);
  for (uint64_t p_milli : p_millis) {
    const uint64_t truth = ReferencePercentile(values, p_milli);
    const uint64_t got = h.ValueAtPercentile(p_milli / 1000.0);
    ASSERT_GE(got, truth) << "p=" << p_milli / 1000.0;
    // (got - truth) / truth < kRelativeError, in integers: doubles cannot
    // tell 2^56 - 1 from 2^56.
    const auto excess = static_cast<unsigned __int128>(got - truth);
    ASSERT_TRUE(got == truth || excess * kInverseError < truth)
        << "p=" << p_milli / 1000.0 << " truth=" << truth << " got=" << got;
  }
  EXPECT_EQ(h.ValueAtPercentile(0), values.front());
  EXPECT_EQ(h.ValueAtPercentile(100), values.back());
}

std::vector<uint64_t> Uniform(std::mt19937_64& rng, uint64_t hi, int n) {
  std::uniform_int_distribution<uint64_t> d(0, hi);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<uint64_t> Exponential(std::mt19937_64& rng, double mean, int n) {
  std::exponential_distribution<double> d(1.0 / mean);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = static_cast<uint64_t>(d(rng));
  return v;
}

// Heavy tail: most values near e^10 (22 us in ns), a tail out to ~e^20.
std::vector<uint64_t> LogNormal(std::mt19937_64& rng, int n) {
  std::lognormal_distribution<double> d(10.0, 2.0);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = static_cast<uint64_t>(d(rng));
  return v;
}

// 2^e - 1, 2^e, 2^e + 1 and the neighbours of a few sub-bucket edges, for
// every e up to 39, each repeated a random number of times.
std::vector<uint64_t> PowerOfTwoEdges(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> times(1, 5);
  std::vector<uint64_t> v;
  auto add = [&](uint64_t x) {
    for (int i = times(rng); i > 0; --i) v.push_back(x);
  };
  for (int e = 0; e < 40; ++e) {
    const uint64_t p = uint64_t{1} << e;
    add(p - 1);
    add(p);
    add(p + 1);
    if (e > 8) {
      const uint64_t width = p >> 7;
      add(p + 3 * width - 1);
      add(p + 3 * width);
    }
  }
  return v;
}

TEST(LatencyHistogramTest, UniformMatchesSortedReference) {
  std::mt19937_64 rng(1);
  ExpectMatchesReference<LatencyHistogram>(Uniform(rng, 1'000'000, 100'000));
  ExpectMatchesReference<LatencyHistogram>(Uniform(rng, 200, 10'000));
}

TEST(LatencyHistogramTest, ExponentialMatchesSortedReference) {
  std::mt19937_64 rng(2);
  ExpectMatchesReference<LatencyHistogram>(Exponential(rng, 1e5, 100'000));
}

TEST(LatencyHistogramTest, HeavyTailMatchesSortedReference) {
  std::mt19937_64 rng(3);
  ExpectMatchesReference<LatencyHistogram>(LogNormal(rng, 100'000));
}

TEST(LatencyHistogramTest, ConstantReportsTheConstant) {
  ExpectMatchesReference<LatencyHistogram>(std::vector<uint64_t>(1000, 12345));
  LatencyHistogram h;
  h.Record(12345, 1000);
  // Clamped to the exact max, so a constant is reported exactly at every p.
  for (double p : {0.0, 50.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(h.ValueAtPercentile(p), 12345u) << p;
  }
}

TEST(LatencyHistogramTest, PowerOfTwoEdgesMatchSortedReference) {
  std::mt19937_64 rng(4);
  ExpectMatchesReference<LatencyHistogram>(PowerOfTwoEdges(rng));
}

TEST(LatencyHistogramTest, ZerosAreExact) {
  ExpectMatchesReference<LatencyHistogram>(std::vector<uint64_t>(100, 0));
  std::vector<uint64_t> v(900, 0);
  for (uint64_t i = 1; i <= 100; ++i) v.push_back(i * 1000);
  ExpectMatchesReference<LatencyHistogram>(v);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  // Below 2^(k+1) = 256 every value has its own bucket.
  LatencyHistogram h;
  for (uint64_t v = 0; v < 256; ++v) h.Record(v);
  for (uint64_t rank = 1; rank <= 256; ++rank) {
    EXPECT_EQ(h.ValueAtPercentile(100.0 * rank / 256), rank - 1);
  }
}

TEST(LatencyHistogramTest, DecimalPercentileMeansThatRank) {
  // 99.9% of 1000 is rank 999 although 99.9 / 100 * 1000 is just above 999
  // in binary floating point.
  LatencyHistogram h;
  h.Record(100, 999);
  h.Record(5000);
  EXPECT_EQ(h.ValueAtPercentile(99.9), 100u);
  EXPECT_EQ(h.ValueAtPercentile(99.91), 5000u);
}

TEST(LatencyHistogramTest, CoarserAndWiderVariantsKeepTheirBound) {
  std::mt19937_64 rng(5);
  using Coarse = BasicLatencyHistogram<4, 40>;
  static_assert(Coarse::kRelativeError == 1.0 / 16);
  ExpectMatchesReference<Coarse>(LogNormal(rng, 50'000));
  ExpectMatchesReference<Coarse>(PowerOfTwoEdges(rng));

  using Full = BasicLatencyHistogram<7, 64>;
  std::vector<uint64_t> v = LogNormal(rng, 10'000);
  v.push_back(std::numeric_limits<uint64_t>::max());
  v.push_back(uint64_t{1} << 63);
  v.push_back((uint64_t{1} << 63) - 1);
  ExpectMatchesReference<Full>(v);
}

TEST(LatencyHistogramTest, DefaultBoundIsUnderOnePercent) {
  EXPECT_LT(LatencyHistogram::kRelativeError, 0.01);
  EXPECT_GE(LatencyHistogram::kMaxValue, (uint64_t{1} << 40) - 1);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingBothStreams) {
  std::mt19937_64 rng(6);
  const std::vector<uint64_t> a = LogNormal(rng, 20'000);
  const std::vector<uint64_t> b = Exponential(rng, 3e6, 30'000);
  LatencyHistogram ha, hb, both;
  for (uint64_t v : a) {
    ha.Record(v);
    both.Record(v);
  }
  for (uint64_t v : b) {
    hb.Record(v);
    both.Record(v);
  }
  hb.Record(uint64_t{1} << 45);  // Saturated values merge too.
  both.Record(uint64_t{1} << 45);

  LatencyHistogram merged = ha;
  merged.Merge(hb);
  EXPECT_EQ(merged, both);
  EXPECT_EQ(merged.count(), a.size() + b.size() + 1);
  EXPECT_EQ(merged.saturated(), 1u);
  EXPECT_EQ(merged.min(), both.min());
  EXPECT_EQ(merged.max(), uint64_t{1} << 45);
  EXPECT_EQ(merged.mean(), both.mean());
  for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(merged.ValueAtPercentile(p), both.ValueAtPercentile(p)) << p;
  }

  // Merging with an empty histogram, either way round, changes nothing.
  LatencyHistogram empty;
  LatencyHistogram copy = both;
  copy.Merge(empty);
  EXPECT_EQ(copy, both);
  empty.Merge(both);
  EXPECT_EQ(empty, both);
}

TEST(LatencyHistogramTest, RecordWithCountEqualsRepeatedRecord) {
  LatencyHistogram once, repeated;
  once.Record(777, 5);
  once.Record(3, 0);  // A zero count records nothing, not even min.
  for (int i = 0; i < 5; ++i) repeated.Record(777);
  EXPECT_EQ(once, repeated);
  EXPECT_EQ(once.min(), 777u);
}

TEST(LatencyHistogramTest, EmptyReportsZeros) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.saturated(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  for (double p : {0.0, 50.0, 99.9, 100.0}) {
    EXPECT_EQ(h.ValueAtPercentile(p), 0u) << p;
  }
}

TEST(LatencyHistogramTest, ResetReturnsToEmpty) {
  std::mt19937_64 rng(7);
  LatencyHistogram h;
  for (uint64_t v : LogNormal(rng, 1000)) h.Record(v);
  h.Record(std::numeric_limits<uint64_t>::max());
  h.Reset();
  EXPECT_EQ(h, LatencyHistogram());
  h.Record(42);
  EXPECT_EQ(h.ValueAtPercentile(50), 42u);
  EXPECT_EQ(h.min(), 42u);
}

TEST(LatencyHistogramTest, ValuesAboveMaxSaturateIntoTheTopBucket) {
  constexpr uint64_t kMax = LatencyHistogram::kMaxValue;
  LatencyHistogram h;
  h.Record(200, 10);
  h.Record(kMax);  // The largest trackable value is not saturated.
  EXPECT_EQ(h.saturated(), 0u);
  h.Record(kMax + 1);
  h.Record(uint64_t{1} << 50, 2);
  h.Record(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(h.count(), 15u);
  EXPECT_EQ(h.saturated(), 4u);
  // min, max and mean see the true values.
  EXPECT_EQ(h.min(), 200u);
  EXPECT_EQ(h.max(), std::numeric_limits<uint64_t>::max());
  const double mean = (10.0 * 200 + kMax + (kMax + 1.0) +
                       2.0 * std::pow(2, 50) + std::pow(2, 64)) /
                      15;
  EXPECT_NEAR(h.mean(), mean, mean * 1e-12);
  // Ranks inside the top bucket report its upper edge, the exact max for p100.
  EXPECT_EQ(h.ValueAtPercentile(50), 200u);  // exact below 256
  EXPECT_EQ(h.ValueAtPercentile(70), kMax);  // rank 11: kMax itself
  EXPECT_EQ(h.ValueAtPercentile(90), kMax);  // rank 14: 2^50, saturated
  EXPECT_EQ(h.ValueAtPercentile(100), std::numeric_limits<uint64_t>::max());
}

}  // namespace
}  // namespace synwave::engine
