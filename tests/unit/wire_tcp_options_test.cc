// Tests for TCP option parsing and emission: each known option, the
// malformed-length cases that must reject a segment, unknown and duplicate
// options, and the exact Linux-style byte layout of what we send.
#include "wire/tcp_options.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace synwave::wire {
namespace {

using ::testing::ElementsAreArray;

// Parses a copy held in a buffer of exactly the option length, so reading
// one byte too far is an ASan error.
Verdict Parse(const std::vector<uint8_t>& bytes, TcpOptions* out) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  return ParseTcpOptions(copy.get(), bytes.size(), out);
}

TcpOptions ParseOk(const std::vector<uint8_t>& bytes) {
  TcpOptions o;
  EXPECT_EQ(Parse(bytes, &o), Verdict::kOk);
  return o;
}

std::vector<uint8_t> Emit(const TcpOptions& o) {
  std::vector<uint8_t> out(kTcpMaxOptionsLength, 0xcc);
  const size_t n = EmitTcpOptions(o, out.data());
  EXPECT_EQ(n, TcpOptionsLength(o));
  EXPECT_EQ(n % 4, 0u);
  EXPECT_LE(n, kTcpMaxOptionsLength);
  // Nothing past the reported length was touched.
  for (size_t i = n; i < out.size(); ++i) EXPECT_EQ(out[i], 0xcc) << i;
  out.resize(n);
  return out;
}

// ---------------------------------------------------------------------------
// Parsing well-formed options.

TEST(ParseTcpOptionsTest, EmptyIsOk) { EXPECT_EQ(ParseOk({}), TcpOptions{}); }

TEST(ParseTcpOptionsTest, Mss) {
  TcpOptions o = ParseOk({2, 4, 0x05, 0xb4});
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_FALSE(o.has_window_scale);
  EXPECT_FALSE(o.sack_permitted);
  EXPECT_FALSE(o.has_timestamps);
}

TEST(ParseTcpOptionsTest, WindowScaleKeptAsSent) {
  TcpOptions o = ParseOk({1, 3, 3, 7});
  EXPECT_TRUE(o.has_window_scale);
  EXPECT_EQ(o.window_scale, 7);
  // RFC 7323 2.3 clamps at 14, but that is the caller's job.
  EXPECT_EQ(ParseOk({3, 3, 200, 0}).window_scale, 200);
}

TEST(ParseTcpOptionsTest, SackPermitted) {
  EXPECT_TRUE(ParseOk({1, 1, 4, 2}).sack_permitted);
}

TEST(ParseTcpOptionsTest, Timestamps) {
  TcpOptions o =
      ParseOk({1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04});
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_val, 0xdeadbeefu);
  EXPECT_EQ(o.ts_ecr, 0x01020304u);
}

TEST(ParseTcpOptionsTest, SackBlocksCounted) {
  for (uint8_t n = 1; n <= 4; ++n) {
    std::vector<uint8_t> b = {1, 1, 5, static_cast<uint8_t>(2 + 8 * n)};
    b.resize(4 + 8 * n, 0x11);
    EXPECT_EQ(ParseOk(b).sack_blocks, n);
  }
}

TEST(ParseTcpOptionsTest, LinuxSynLayout) {
  // What a Linux SYN carries: MSS, SACKOK, TS, NOP, WS.
  TcpOptions o = ParseOk(
      {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7});
  EXPECT_TRUE(o.has_mss && o.sack_permitted && o.has_timestamps &&
              o.has_window_scale);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_EQ(o.ts_val, 9u);
  EXPECT_EQ(o.window_scale, 7);
}

TEST(ParseTcpOptionsTest, EolEndsParsing) {
  // After EOL comes padding, which may be anything (even what would be a
  // malformed option).
  TcpOptions o = ParseOk({2, 4, 0x02, 0x18, 0, 3, 1, 0xff});
  EXPECT_EQ(o.mss, 536);
  EXPECT_FALSE(o.has_window_scale);
  EXPECT_EQ(ParseOk({0, 2, 0}), TcpOptions{});
}

TEST(ParseTcpOptionsTest, NopsOnly) {
  EXPECT_EQ(ParseOk({1, 1, 1, 1}), TcpOptions{});
}

TEST(ParseTcpOptionsTest, UnknownKindsSkippedByLength) {
  // MPTCP (30) with a body, an experiment (254) with length 2, then MSS.
  TcpOptions o =
      ParseOk({30, 6, 0xff, 0xff, 0xff, 0xff, 254, 2, 2, 4, 0x23, 0x28});
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 9000);
}

TEST(ParseTcpOptionsTest, UnknownOptionCanEndExactlyAtEnd) {
  EXPECT_EQ(ParseOk({2, 4, 0, 100, 99, 4, 0, 0}).mss, 100);
}

TEST(ParseTcpOptionsTest, DuplicateOptionLastWins) {
  TcpOptions o = ParseOk({2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18,  //
                          3, 3, 2, 1, 3, 3, 9, 1});
  EXPECT_EQ(o.mss, 536);
  EXPECT_EQ(o.window_scale, 9);
  std::vector<uint8_t> two_sacks = {5, 10, 0, 0, 0, 0, 0, 0, 0, 0, 5, 18};
  two_sacks.resize(28, 0);
  EXPECT_EQ(ParseOk(two_sacks).sack_blocks, 2);
}

TEST(ParseTcpOptionsTest, OutputIsResetFirst) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1;
  o.has_timestamps = true;
  o.sack_blocks = 3;
  ASSERT_EQ(Parse({1, 3, 3, 2}, &o), Verdict::kOk);
  TcpOptions expected;
  expected.has_window_scale = true;
  expected.window_scale = 2;
  EXPECT_EQ(o, expected);
}

// ---------------------------------------------------------------------------
// Malformed options: each rejects the whole option list.

struct BadCase {
  const char* name;
  std::vector<uint8_t> bytes;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class MalformedOptionTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(MalformedOptionTest, IsRejected) {
  TcpOptions o;
  EXPECT_EQ(Parse(GetParam().bytes, &o), Verdict::kTcpBadOption);
}

std::vector<uint8_t> Sack(int length, size_t buffer) {
  std::vector<uint8_t> b = {5, static_cast<uint8_t>(length)};
  b.resize(buffer, 0);
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    AllCases, MalformedOptionTest,
    ::testing::Values(
        BadCase{"MissingLengthAtEnd", {1, 1, 1, 2}},
        BadCase{"MissingLengthUnknownKind", {99}},
        BadCase{"LengthZero", {2, 0, 0, 0}},
        BadCase{"LengthOne", {99, 1, 0, 0}},
        BadCase{"LengthOverrunsByOne", {99, 5, 0, 0}},
        BadCase{"MssOverruns", {1, 2, 4, 5}},
        BadCase{"LengthFarPastEnd", {8, 255, 0, 0}},
        BadCase{"MssLength3", {2, 3, 5, 0}},
        BadCase{"MssLength5", {2, 5, 5, 0xb4, 0, 0, 0, 0}},
        BadCase{"WindowScaleLength2", {3, 2, 1, 1}},
        BadCase{"WindowScaleLength4", {3, 4, 7, 0}},
        BadCase{"SackPermittedLength3", {4, 3, 0, 0}},
        BadCase{"SackPermittedLength4", {4, 4, 0, 0}},
        BadCase{"TimestampsLength8", {8, 8, 0, 0, 0, 0, 0, 0}},
        BadCase{"TimestampsLength12", {8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
        BadCase{"SackNoBlocks", Sack(2, 4)},
        BadCase{"SackPartialBlock", Sack(9, 12)},
        BadCase{"SackBlockAndAHalf", Sack(14, 16)},
        BadCase{"SackFiveBlocks", Sack(42, 44)},
        BadCase{"BadAfterGood", {2, 4, 5, 0xb4, 3, 3, 7, 8, 10, 0, 0, 0}}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      return std::string(info.param.name);
    });

// Every truncation of a valid option list either parses (the cut fell on
// an option boundary) or is rejected; it never reads past the end.
TEST(ParseTcpOptionsTest, EveryPrefixIsSafe) {
  const std::vector<uint8_t> full = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2,
                                     3, 4, 5,    6,    7, 8, 1, 3,  3, 7};
  const size_t boundaries[] = {0, 4, 6, 16, 17, 20};
  for (size_t len = 0; len <= full.size(); ++len) {
    TcpOptions o;
    Verdict v =
        Parse(std::vector<uint8_t>(full.begin(), full.begin() + len), &o);
    bool on_boundary = false;
    for (size_t b : boundaries) on_boundary |= (b == len);
    EXPECT_EQ(v, on_boundary ? Verdict::kOk : Verdict::kTcpBadOption)
        << "len " << len;
  }
}

// The option walk as RFC 9293 3.2 reads, kept simple: what the parser's
// one-compare layouts (NOP NOP TS; MSS SACKOK/NOP NOP TS NOP WS) must
// agree with.
Verdict ReferenceParse(const uint8_t* d, size_t len, TcpOptions* out) {
  *out = TcpOptions{};
  size_t i = 0;
  while (i < len && d[i] != 0) {
    if (d[i] == 1) {
      ++i;
      continue;
    }
    if (len - i < 2 || d[i + 1] < 2 || d[i + 1] > len - i) {
      return Verdict::kTcpBadOption;
    }
    const uint8_t k = d[i];
    const uint8_t n = d[i + 1];
    const uint8_t* b = d + i + 2;
    if (k == 2) {
      if (n != 4) return Verdict::kTcpBadOption;
      out->has_mss = true;
      out->mss = static_cast<uint16_t>(b[0] << 8 | b[1]);
    } else if (k == 3) {
      if (n != 3) return Verdict::kTcpBadOption;
      out->has_window_scale = true;
      out->window_scale = b[0];
    } else if (k == 4) {
      if (n != 2) return Verdict::kTcpBadOption;
      out->sack_permitted = true;
    } else if (k == 8) {
      if (n != 10) return Verdict::kTcpBadOption;
      out->has_timestamps = true;
      out->ts_val = uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 |
                    uint32_t{b[2]} << 8 | b[3];
      out->ts_ecr = uint32_t{b[4]} << 24 | uint32_t{b[5]} << 16 |
                    uint32_t{b[6]} << 8 | b[7];
    } else if (k == 5) {
      if ((n - 2) % 8 != 0 || n < 10 || n > 34) return Verdict::kTcpBadOption;
      out->sack_blocks = static_cast<uint8_t>((n - 2) / 8);
    }
    i += n;
  }
  return Verdict::kOk;
}

// The fast layouts and every mutation of them (a byte or two changed, the
// list cut or grown) parse as the plain walk does: same verdict, same
// options.
TEST(ParseTcpOptionsTest, FastLayoutsEqualTheWalk) {
  const std::vector<uint8_t> layouts[] = {
      {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7},
      {2, 4, 0x05, 0xb4, 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7},
      {1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1},
  };
  const uint8_t interesting[] = {0, 1, 2, 3, 4, 5, 8, 10, 0xff};
  std::mt19937 rng(7323);
  int fast = 0;
  for (int trial = 0; trial < 100000; ++trial) {
    std::vector<uint8_t> b = layouts[trial % 3];
    const int changes = trial % 5 == 0 ? 0 : 1 + static_cast<int>(rng() % 2);
    for (int c = 0; c < changes; ++c) {
      const size_t at = rng() % b.size();
      b[at] = rng() % 2 ? interesting[rng() % std::size(interesting)]
                        : static_cast<uint8_t>(rng());
    }
    if (trial % 17 == 0) b.resize(rng() % (b.size() + 4), 1);
    TcpOptions got;
    TcpOptions want;
    const Verdict v = Parse(b, &got);
    ASSERT_EQ(v, ReferenceParse(b.data(), b.size(), &want)) << "trial " << trial;
    if (v == Verdict::kOk) {
      ASSERT_EQ(got, want) << "trial " << trial;
      fast += changes == 0;
    }
  }
  EXPECT_GT(fast, 0);
}

// ---------------------------------------------------------------------------
// Emission.

TEST(EmitTcpOptionsTest, NothingSetWritesNothing) {
  EXPECT_TRUE(Emit(TcpOptions{}).empty());
}

TEST(EmitTcpOptionsTest, LinuxSynLayoutMatchesScapyCapture) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = 0x11223344;
  o.has_window_scale = true;
  o.window_scale = 7;
  // The option bytes of the Scapy SYN in wire_checksum_test.cc, which is
  // also the order Linux sends.
  const uint8_t expected[] = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08,
                              0x0a, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00,
                              0x00, 0x00, 0x01, 0x03, 0x03, 0x07};
  EXPECT_THAT(Emit(o), ElementsAreArray(expected));
}

TEST(EmitTcpOptionsTest, TimestampsWithoutSack) {
  TcpOptions o;
  o.has_timestamps = true;
  o.ts_val = 1;
  o.ts_ecr = 0xfffffffe;
  const uint8_t expected[] = {1, 1, 8, 10, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe};
  EXPECT_THAT(Emit(o), ElementsAreArray(expected));
}

TEST(EmitTcpOptionsTest, SackPermittedAlone) {
  TcpOptions o;
  o.sack_permitted = true;
  const uint8_t expected[] = {1, 1, 4, 2};
  EXPECT_THAT(Emit(o), ElementsAreArray(expected));
}

TEST(EmitTcpOptionsTest, MssAndWindowScale) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 8960;
  o.has_window_scale = true;
  o.window_scale = 14;
  const uint8_t expected[] = {2, 4, 0x23, 0x00, 1, 3, 3, 14};
  EXPECT_THAT(Emit(o), ElementsAreArray(expected));
}

TEST(EmitTcpOptionsTest, SackBlocksAreNotEmitted) {
  TcpOptions o;
  o.sack_blocks = 3;
  EXPECT_TRUE(Emit(o).empty());
}

// All 16 combinations of the four options, with random values, survive
// Emit -> Parse unchanged.
TEST(EmitTcpOptionsTest, RoundTripsEveryCombination) {
  std::mt19937 rng(7323);
  for (int trial = 0; trial < 64; ++trial) {
    const int mask = trial % 16;
    TcpOptions o;
    o.has_mss = mask & 1;
    o.sack_permitted = mask & 2;
    o.has_timestamps = mask & 4;
    o.has_window_scale = mask & 8;
    if (o.has_mss) o.mss = static_cast<uint16_t>(rng());
    if (o.has_timestamps) {
      o.ts_val = static_cast<uint32_t>(rng());
      o.ts_ecr = static_cast<uint32_t>(rng());
    }
    if (o.has_window_scale) o.window_scale = static_cast<uint8_t>(rng() % 15);
    std::vector<uint8_t> bytes = Emit(o);
    EXPECT_EQ(bytes.size(),
              (o.has_mss ? 4u : 0u) + (o.has_timestamps ? 12u : 0u) +
                  (!o.has_timestamps && o.sack_permitted ? 4u : 0u) +
                  (o.has_window_scale ? 4u : 0u));
    TcpOptions back;
    ASSERT_EQ(Parse(bytes, &back), Verdict::kOk);
    EXPECT_EQ(back, o) << "mask " << mask;
    // The sum the frame writers take instead of reading the bytes back.
    std::vector<uint8_t> again(kTcpMaxOptionsLength);
    uint64_t sum = 0;
    ASSERT_EQ(EmitTcpOptions(o, again.data(), &sum), bytes.size());
    uint64_t words = 0;
    for (size_t i = 0; i < bytes.size(); i += 2) {
      words += uint32_t{bytes[i]} << 8 | bytes[i + 1];
    }
    EXPECT_EQ(FoldSum(sum), FoldSum(words)) << "mask " << mask;
  }
}

}  // namespace
}  // namespace synwave::wire
