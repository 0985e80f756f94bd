// HttpFramer: request boundaries in a byte stream, as RFC 9112 has them
// (issue 11, finding 3). Pure: no EAL.
#include "app/http_framer.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace synwave::app {
namespace {

using Result = HttpFramer::Result;

const std::string kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

// Feeds `chunks` in order, carrying the state between them as the
// responder does (through its 19-bit word), and returns the offsets in the
// whole stream where requests ended. `end` is the framer afterwards.
std::vector<size_t> Frame(const std::vector<std::string>& chunks,
                          HttpFramer* end = nullptr, bool* too_large = nullptr) {
  std::vector<size_t> ends;
  uint32_t state = 0;
  size_t offset = 0;
  for (const std::string& c : chunks) {
    HttpFramer f = HttpFramer::FromState(state);
    for (char ch : c) {
      const Result r = f.Feed(static_cast<uint8_t>(ch));
      if (r == Result::kRequest) ends.push_back(offset);
      if (r == Result::kTooLarge && too_large != nullptr) *too_large = true;
      ++offset;
    }
    state = f.state();
  }
  if (end != nullptr) *end = HttpFramer::FromState(state);
  return ends;
}

TEST(HttpFramerTest, OneRequestEndsAtItsEmptyLine) {
  HttpFramer f;
  EXPECT_EQ(Frame({kGet}, &f), std::vector<size_t>{kGet.size() - 1});
  EXPECT_TRUE(f.idle());
}

TEST(HttpFramerTest, AnEmptyLineIsNotARequest) {
  HttpFramer f;
  EXPECT_TRUE(Frame({"\r\n\r\n"}, &f).empty());
  EXPECT_TRUE(f.idle());
  EXPECT_TRUE(Frame({std::string(3000, '\n')}, &f).empty());
  EXPECT_TRUE(Frame({"\r\n\r\n\r\n\r\n\n\r\n"}, &f).empty());
  EXPECT_TRUE(f.idle());
}

TEST(HttpFramerTest, EmptyLinesBeforeARequestLineAreIgnored) {
  const std::string s = "\r\n\r\n\n" + kGet;
  EXPECT_EQ(Frame({s}), std::vector<size_t>{s.size() - 1});
}

// Finding 3: after a complete request, trailing terminators leave no
// request under way (the server may close); other bytes start one.
TEST(HttpFramerTest, TrailingLineTerminatorsLeaveTheFramerIdle) {
  for (const std::string tail : {"", "\r", "\n", "\r\n", "\r\n\r", "\r\n\r\n"}) {
    HttpFramer f;
    EXPECT_EQ(Frame({kGet + tail}, &f).size(), 1u) << "tail " << tail.size();
    EXPECT_TRUE(f.idle()) << "tail of " << tail.size() << " bytes";
  }
  HttpFramer f;
  EXPECT_EQ(Frame({kGet + "X"}, &f).size(), 1u);
  EXPECT_FALSE(f.idle());
  EXPECT_EQ(Frame({kGet + "\r\nG"}, &f).size(), 1u);
  EXPECT_FALSE(f.idle());
}

TEST(HttpFramerTest, BareLfEndsLines) {
  EXPECT_EQ(Frame({"GET / HTTP/1.1\nHost: x\n\n"}).size(), 1u);
  EXPECT_EQ(Frame({"GET / HTTP/1.1\nHost: x\r\n\n"}).size(), 1u);
  EXPECT_EQ(Frame({"GET / HTTP/1.1\r\nHost: x\n\r\n"}).size(), 1u);
  EXPECT_EQ(Frame({"GET / HTTP/1.1\n\n"}).size(), 1u);
}

TEST(HttpFramerTest, ABareCrIsAnOrdinaryByte) {
  // "\r\r\n" is a line holding a bare CR, not an empty line.
  HttpFramer f;
  EXPECT_TRUE(Frame({"GET / HTTP/1.1\r\n\r\r\n"}, &f).empty());
  EXPECT_FALSE(f.idle());
  EXPECT_TRUE(Frame({"GET /\r HTTP/1.1\r\nHost: x\r\r\n"}, &f).empty());
  EXPECT_EQ(Frame({"GET /\r HTTP/1.1\r\nHost: x\r\r\n\r\n"}).size(), 1u);
}

// Pipelined requests: the same ends whether they come in one segment, one
// per segment, or cut at any byte.
TEST(HttpFramerTest, SegmentationDoesNotChangeTheRequests) {
  const std::string stream = "\r\n" + kGet + "GET /a HTTP/1.1\nA: b\n\n" + kGet +
                             "\r\n" + kGet + "\r\n\r";
  const std::vector<size_t> whole = Frame({stream});
  ASSERT_EQ(whole.size(), 4u);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    EXPECT_EQ(Frame({stream.substr(0, cut), stream.substr(cut)}), whole)
        << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : stream) bytes.push_back(std::string(1, c));
  EXPECT_EQ(Frame(bytes), whole);
  HttpFramer f;
  Frame(bytes, &f);
  EXPECT_TRUE(f.idle());
}

TEST(HttpFramerTest, ThreeHundredPipelinedRequestsInOneSegment) {
  std::string s;
  for (int i = 0; i < 300; ++i) s += kGet;
  EXPECT_EQ(Frame({s}).size(), 300u);
}

// A header block without an end is bounded: 8 KiB pass, one byte more is
// refused, and the framer stays refused.
TEST(HttpFramerTest, AHeaderBlockWithoutEndIsBounded) {
  const std::string line = "GET / HTTP/1.1\r\n";
  std::string at_limit = line;
  while (at_limit.size() < HttpFramer::kMaxHeaderBytes - 2) {
    at_limit += "X-Pad: y\r\n";
  }
  at_limit.resize(HttpFramer::kMaxHeaderBytes - 4, 'y');
  at_limit += "\r\n\r\n";
  ASSERT_EQ(at_limit.size(), HttpFramer::kMaxHeaderBytes);
  bool too_large = false;
  EXPECT_EQ(Frame({at_limit}, nullptr, &too_large).size(), 1u);
  EXPECT_FALSE(too_large);

  std::string over = at_limit;
  over.insert(over.size() - 4, "z");
  HttpFramer f;
  EXPECT_TRUE(Frame({over}, &f, &too_large).empty());
  EXPECT_TRUE(too_large);
  EXPECT_TRUE(f.refused());
  EXPECT_EQ(f.Feed('\n'), Result::kTooLarge);  // sticky

  // 67 KB of header lines without an end (the finding), and a request line
  // that never ends: both refused.
  std::string endless = line;
  while (endless.size() < 67000) endless += "X-Pad: y\r\n";
  too_large = false;
  EXPECT_TRUE(Frame({endless}, nullptr, &too_large).empty());
  EXPECT_TRUE(too_large);
  too_large = false;
  EXPECT_TRUE(Frame({std::string(9000, 'G')}, nullptr, &too_large).empty());
  EXPECT_TRUE(too_large);
}

TEST(HttpFramerTest, LeadingEmptyLinesDoNotCountTowardTheBound) {
  const std::string s = std::string(20000, '\n') + kGet;
  bool too_large = false;
  EXPECT_EQ(Frame({s}, nullptr, &too_large).size(), 1u);
  EXPECT_FALSE(too_large);
}

// The responder's loop: runs of ordinary bytes through SkipOrdinary, the
// rest through Feed. Returns (offset, result) for every result other than
// kNone, and the final state.
std::pair<std::vector<std::pair<size_t, Result>>, uint32_t> Bulk(
    const std::string& s, const std::vector<size_t>& cuts) {
  std::vector<std::pair<size_t, Result>> out;
  uint32_t state = 0;
  size_t begin = 0;
  for (size_t k = 0; k <= cuts.size(); ++k) {
    const size_t end = k < cuts.size() ? cuts[k] : s.size();
    HttpFramer f = HttpFramer::FromState(state);
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    for (size_t i = begin; i < end; ++i) {
      i += f.SkipOrdinary(p + i, static_cast<uint32_t>(end - i));
      if (i == end) break;
      const Result r = f.Feed(p[i]);
      if (r != Result::kNone) out.emplace_back(i, r);
    }
    state = f.state();
    begin = end;
  }
  return {out, state};
}

std::pair<std::vector<std::pair<size_t, Result>>, uint32_t> ByteByByte(
    const std::string& s) {
  std::vector<std::pair<size_t, Result>> out;
  HttpFramer f;
  for (size_t i = 0; i < s.size(); ++i) {
    const Result r = f.Feed(static_cast<uint8_t>(s[i]));
    if (r != Result::kNone) out.emplace_back(i, r);
  }
  return {out, f.state()};
}

// SkipOrdinary takes runs of bytes at once (16 at a time where SSE2 is
// there): on random streams of short and long lines (up to past the 8 KiB
// bound), cut into random segments, the requests, the refusal and the
// state are exactly those of feeding byte by byte.
TEST(HttpFramerTest, SkippingOrdinaryRunsEqualsFeedingEachByte) {
  std::mt19937 rng(7);
  for (int round = 0; round < 400; ++round) {
    std::string s;
    const int lines = 1 + static_cast<int>(rng() % 12);
    for (int l = 0; l < lines; ++l) {
      const uint32_t kind = rng() % 10;
      size_t len = kind < 6 ? rng() % 40 : kind < 9 ? rng() % 300
                                                    : 8000 + rng() % 400;
      for (size_t i = 0; i < len; ++i) {
        const uint32_t c = rng() % 64;
        s += c == 0 ? '\r' : c == 1 ? '\n' : static_cast<char>('a' + c % 26);
      }
      const uint32_t end = rng() % 4;
      s += end == 0 ? "\n" : end == 1 ? "\r\n" : end == 2 ? "\r\n\r\n" : "\r";
    }
    std::vector<size_t> cuts;
    for (size_t at = rng() % 64; at < s.size(); at += 1 + rng() % 200) {
      cuts.push_back(at);
    }
    const auto bulk = Bulk(s, cuts);
    const auto bytes = ByteByByte(s);
    ASSERT_EQ(bulk.first, bytes.first) << "round " << round;
    ASSERT_EQ(bulk.second, bytes.second) << "round " << round;
  }
}

// FeedBlock (CR and LF found 64 at a time, the runs between them taken at
// once) against Feed byte by byte: on random streams of short and long
// lines (past the 8 KiB bound too), bare CRs, empty lines and runs of
// terminators, cut into random segments, the requests that end in each
// segment, the refusal and the state after every segment are the same.
TEST(HttpFramerTest, FeedBlockEqualsFeedingEachByte) {
  std::mt19937 rng(9112);
  for (int round = 0; round < 600; ++round) {
    std::string s;
    const int lines = 1 + static_cast<int>(rng() % 14);
    for (int l = 0; l < lines; ++l) {
      const uint32_t kind = rng() % 10;
      const size_t len = kind < 5 ? rng() % 20
                         : kind < 9 ? rng() % 200
                                    : 8000 + rng() % 400;
      for (size_t i = 0; i < len; ++i) {
        const uint32_t c = rng() % 48;
        s += c == 0 ? '\r' : c == 1 ? '\n' : static_cast<char>('a' + c % 26);
      }
      const uint32_t end = rng() % 5;
      s += end == 0 ? "\n" : end == 1 ? "\r\n" : end == 2 ? "\r\n\r\n"
           : end == 3 ? "\r" : "";
    }
    HttpFramer block;
    HttpFramer bytes;
    size_t begin = 0;
    while (begin < s.size()) {
      const size_t end = std::min(s.size(), begin + 1 + rng() % 300);
      uint32_t block_requests = 0;
      const Result r = block.FeedBlock(
          reinterpret_cast<const uint8_t*>(s.data()) + begin,
          static_cast<uint32_t>(end - begin), &block_requests);
      uint32_t byte_requests = 0;
      Result byte_result = Result::kNone;
      for (size_t i = begin; i < end; ++i) {
        const Result b = bytes.Feed(static_cast<uint8_t>(s[i]));
        if (b == Result::kRequest) ++byte_requests;
        if (b == Result::kTooLarge) {
          byte_result = b;
          break;
        }
      }
      ASSERT_EQ(r, byte_result) << "round " << round << " at " << begin;
      ASSERT_EQ(block_requests, byte_requests)
          << "round " << round << " at " << begin;
      ASSERT_EQ(block.state(), bytes.state())
          << "round " << round << " at " << begin;
      if (r == Result::kTooLarge) break;
      begin = end;
    }
  }
}

// The common request in one segment: one request, the framer idle after it.
TEST(HttpFramerTest, FeedBlockCountsPipelinedRequests) {
  const std::string two = kGet + "\r\n" + kGet + "GET /a";
  HttpFramer f;
  uint32_t requests = 0;
  EXPECT_EQ(f.FeedBlock(reinterpret_cast<const uint8_t*>(two.data()),
                        static_cast<uint32_t>(two.size()), &requests),
            Result::kNone);
  EXPECT_EQ(requests, 2u);
  EXPECT_FALSE(f.idle());  // "GET /a" is under way
}

TEST(HttpFramerTest, SkipOrdinaryTakesNothingOutsideALine) {
  HttpFramer f;
  const auto* get = reinterpret_cast<const uint8_t*>("GET / HTTP/1.1\r\n");
  EXPECT_EQ(f.SkipOrdinary(get, 16), 0u);  // no request line yet
  EXPECT_EQ(f.Feed('G'), Result::kNone);
  EXPECT_EQ(f.SkipOrdinary(get + 1, 15), 13u);  // "ET / HTTP/1.1", then CR
  EXPECT_EQ(f.Feed('\r'), Result::kNone);
  EXPECT_EQ(f.SkipOrdinary(get + 15, 1), 0u);  // a CR is pending
}

TEST(HttpFramerTest, StateFitsItsBits) {
  HttpFramer f;
  for (char c : std::string("GET / HTTP/1.1\r\nHost: x\r")) {
    f.Feed(static_cast<uint8_t>(c));
    EXPECT_LT(f.state(), uint32_t{1} << HttpFramer::kStateBits);
  }
  std::string big(9000, 'a');
  for (char c : big) f.Feed(static_cast<uint8_t>(c));
  EXPECT_LT(f.state(), uint32_t{1} << HttpFramer::kStateBits);
  EXPECT_TRUE(HttpFramer::FromState(f.state()).refused());
}

}  // namespace
}  // namespace synwave::app
