// parse_cost: runs ParseFrame over fixed frames so that an instruction
// counter can see exactly the parser, frame kind by frame kind.
//
// Each case's measured rounds run inside its own non-inlined function,
// synwave::bench::ParseMeasure<Case>(), and nothing else does, so
//   valgrind --tool=callgrind --collect-atstart=no
//            --toggle-collect='synwave::bench::ParseMeasure*' parse_cost ...
// counts the parser's instructions for those frames only (frame building and
// the warm-up round are outside). bench/callgrind.sh does that for every case
// (PARSE=1) and prints instructions per frame. Deterministic: the same build
// gives the same counts on every run; Ir is instructions, not time (the
// microbenchmarks in bench/parse_benchmark give cycles).
//
// A round parses a burst of 32 distinct buffers, as the worker's parse stage
// sees an rx burst. Every frame must parse to kOk; a case that does not is an
// error, so a count can never come from an early reject.
//
//   parse_cost [--case=NAME|all] [--rounds=N] [--list]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "testing/frame_builder.h"
#include "wire/parse.h"

namespace synwave::bench {

// X(Enumerator, "name", "what it parses")
#define SYNWAVE_PARSE_CASES(X)                                               \
  X(Ipv4SynSoftware, "ipv4-syn-sw",                                          \
    "IPv4 SYN with MSS, SACK-permitted, timestamps, window scale; checksums " \
    "in software")                                                           \
  X(Ipv4SynOffload, "ipv4-syn-offload",                                      \
    "the same SYN with the NIC's good-checksum flags")                       \
  X(Ipv4AckOffload, "ipv4-ack-offload",                                      \
    "IPv4 pure ACK with timestamps, good-checksum flags")                    \
  X(Ipv4Data1460Software, "ipv4-data1460-sw",                                \
    "IPv4 segment with 1448 payload bytes and timestamps, software checksums") \
  X(Ipv6SynSoftware, "ipv6-syn-sw",                                          \
    "the IPv4 SYN's TCP over IPv6; checksum in software")                    \
  X(Ipv6SynOffload, "ipv6-syn-offload",                                      \
    "the same IPv6 SYN with the NIC's good-checksum flags")                  \
  X(Ipv6AckOffload, "ipv6-ack-offload",                                      \
    "IPv6 pure ACK with timestamps, good-checksum flags")

enum class ParseCase : uint8_t {
#define SYNWAVE_X(e, name, what) k##e,
  SYNWAVE_PARSE_CASES(SYNWAVE_X)
#undef SYNWAVE_X
};

constexpr int kNumParseCases = 0
#define SYNWAVE_X(e, name, what) +1
    SYNWAVE_PARSE_CASES(SYNWAVE_X)
#undef SYNWAVE_X
    ;

constexpr std::string_view kCaseNames[] = {
#define SYNWAVE_X(e, name, what) name,
    SYNWAVE_PARSE_CASES(SYNWAVE_X)
#undef SYNWAVE_X
};

constexpr std::string_view kCaseHelp[] = {
#define SYNWAVE_X(e, name, what) what,
    SYNWAVE_PARSE_CASES(SYNWAVE_X)
#undef SYNWAVE_X
};

constexpr int kBurst = 32;

struct Burst {
  std::vector<std::vector<uint8_t>> frames;
  const uint8_t* data[kBurst] = {};
  uint32_t len[kBurst] = {};
  wire::RxOffload offload;
  wire::PacketInfo infos[kBurst];
};

// Parses the burst once; returns how many frames were not kOk.
[[gnu::always_inline]] inline int ParseBurst(Burst& b) {
  int bad = 0;
  for (int i = 0; i < kBurst; ++i) {
    bad += wire::ParseFrame(b.data[i], b.len[i], b.offload, &b.infos[i]) !=
           wire::Verdict::kOk;
  }
  return bad;
}

// One measured function per case (see the file comment). The case check
// keeps the bodies distinct so that identical functions are not folded.
#define SYNWAVE_X(e, name, what)                                           \
  [[gnu::noinline]] int ParseMeasure##e(Burst& b, ParseCase c, int rounds) { \
    if (c != ParseCase::k##e) std::abort();                                \
    int bad = 0;                                                           \
    for (int r = 0; r < rounds; ++r) bad += ParseBurst(b);                 \
    return bad;                                                            \
  }
SYNWAVE_PARSE_CASES(SYNWAVE_X)
#undef SYNWAVE_X

namespace {

using MeasureFn = int (*)(Burst&, ParseCase, int);

constexpr MeasureFn kMeasure[kNumParseCases] = {
#define SYNWAVE_X(e, name, what) &ParseMeasure##e,
    SYNWAVE_PARSE_CASES(SYNWAVE_X)
#undef SYNWAVE_X
};

constexpr wire::RxOffload kSoftware{wire::RxChecksum::kUnknown,
                                    wire::RxChecksum::kUnknown};
constexpr wire::RxOffload kGood{wire::RxChecksum::kGood,
                                wire::RxChecksum::kGood};

wire::TcpOptions SynOptions(uint16_t i) {
  wire::TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = 0x11223344u + i;
  o.has_window_scale = true;
  o.window_scale = 7;
  return o;
}

testutil::TcpFields Segment(ParseCase c, uint16_t i) {
  testutil::TcpFields t;
  t.src_port = static_cast<uint16_t>(40000 + i);
  t.dst_port = 80;
  t.seq = 0x01020304u + i;
  if (c == ParseCase::kIpv4SynSoftware || c == ParseCase::kIpv4SynOffload ||
      c == ParseCase::kIpv6SynSoftware || c == ParseCase::kIpv6SynOffload) {
    t.flags = wire::tcp_flags::kSyn;
    t.window = 64240;
    t.options = SynOptions(i);
    return t;
  }
  t.flags = wire::tcp_flags::kAck;
  t.ack = 5000;
  t.options.has_timestamps = true;
  t.options.ts_val = 77u + i;
  t.options.ts_ecr = 99;
  if (c == ParseCase::kIpv4Data1460Software) {
    t.payload.resize(1448);
    for (size_t k = 0; k < t.payload.size(); ++k) {
      t.payload[k] = static_cast<uint8_t>(k * 7 + i);
    }
  }
  return t;
}

void Build(ParseCase c, Burst* b) {
  b->offload = (c == ParseCase::kIpv4SynSoftware ||
                c == ParseCase::kIpv4Data1460Software ||
                c == ParseCase::kIpv6SynSoftware)
                   ? kSoftware
                   : kGood;
  const bool ipv6 = c == ParseCase::kIpv6SynSoftware ||
                    c == ParseCase::kIpv6SynOffload ||
                    c == ParseCase::kIpv6AckOffload;
  for (uint16_t i = 0; i < kBurst; ++i) {
    if (ipv6) {
      testutil::Tcp6Frame f;
      f.ip.src = *wire::Ipv6Address::Parse("2001:db8::10");
      f.ip.dst = *wire::Ipv6Address::Parse("2001:db8::20");
      f.tcp = Segment(c, i);
      b->frames.push_back(testutil::BuildFrame(f));
      continue;
    }
    testutil::TcpFrame f;
    f.ip.src = wire::Ipv4Address::FromOctets(192, 168, 1, 10);
    f.ip.dst = wire::Ipv4Address::FromOctets(192, 168, 1, 20);
    f.tcp = Segment(c, i);
    b->frames.push_back(testutil::BuildFrame(f));
  }
  for (int i = 0; i < kBurst; ++i) {
    b->data[i] = b->frames[i].data();
    b->len[i] = static_cast<uint32_t>(b->frames[i].size());
  }
}

bool RunCase(ParseCase c, int rounds) {
  Burst b;
  Build(c, &b);
  const std::string_view name = kCaseNames[static_cast<int>(c)];
  // Warm-up round outside the measured function.
  if (ParseBurst(b) != 0 || kMeasure[static_cast<int>(c)](b, c, rounds) != 0) {
    std::fprintf(stderr, "parse_cost: %.*s: a frame does not parse\n",
                 static_cast<int>(name.size()), name.data());
    return false;
  }
  std::printf("%-20.*s %9d\n", static_cast<int>(name.size()), name.data(),
              rounds * kBurst);
  std::fflush(stdout);
  return true;
}

}  // namespace
}  // namespace synwave::bench

int main(int argc, char** argv) {
  using namespace synwave::bench;
  std::string which = "all";
  int rounds = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.substr(0, 7) == "--case=") {
      which = std::string(a.substr(7));
    } else if (a.substr(0, 9) == "--rounds=") {
      rounds = std::atoi(argv[i] + 9);
      if (rounds <= 0) {
        std::fprintf(stderr, "parse_cost: bad --rounds\n");
        return 2;
      }
    } else if (a == "--list") {
      for (int k = 0; k < kNumParseCases; ++k) {
        std::printf("%-20.*s %.*s\n", static_cast<int>(kCaseNames[k].size()),
                    kCaseNames[k].data(),
                    static_cast<int>(kCaseHelp[k].size()), kCaseHelp[k].data());
      }
      return 0;
    } else {
      std::fprintf(stderr, "usage: parse_cost [--case=NAME|all] [--rounds=N] "
                           "[--list]\n");
      return 2;
    }
  }
  std::printf("%-20s %9s\n", "case", "frames");
  bool ok = true;
  bool found = false;
  for (int k = 0; k < kNumParseCases; ++k) {
    if (which != "all" && which != kCaseNames[k]) continue;
    found = true;
    ok &= RunCase(static_cast<ParseCase>(k), rounds);
  }
  if (!found) {
    std::fprintf(stderr, "parse_cost: no case %s (--list)\n", which.c_str());
    return 2;
  }
  return ok ? 0 : 1;
}
