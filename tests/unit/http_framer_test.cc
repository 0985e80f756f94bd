// HttpFramer: request boundaries in a byte stream, as RFC 9112 has them
// (issue 11, finding 3). Pure: no EAL.
#include "app/http_framer.h"

#include <string>
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
