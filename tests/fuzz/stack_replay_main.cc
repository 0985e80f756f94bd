// Drives stack_fuzzer.cc without libFuzzer, so that its invariants run as
// an ordinary test on every build (gcc included).
//
// It replays every file in the directories (or files) named on the command
// line, then a fixed-seed stream of generated programs: random bytes, and
// the seed programs below with a few mutations each (byte overwrites,
// inserted and deleted operations, splices of two seeds, truncation). The
// stream is deterministic, so a failure reproduces exactly.
//
//   stack_fuzz_replay [--generated=N] [--write-seeds=DIR] [PATH...]
//
// --write-seeds writes the seed programs to DIR (how tests/fuzz/corpus/stack/
// was made) and exits.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replay_driver.h"
#include "stack_fuzz_program.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using synwave::fuzz_replay::ReplayCommandLine;
using synwave::fuzz_replay::Rng;
using synwave::fuzz_replay::Seeds;

using namespace synwave::tcp::stack_fuzz;


constexpr uint8_t kPolicy = cfg0::kTimestamps | cfg0::kSack | cfg0::kWindowScale;
constexpr uint8_t kCookiesOff = 0;
constexpr uint8_t kCookiesOverflow = 1;
constexpr uint8_t kCookiesAlways = 2;

// 10.0.0.1:80 (listener) <- 10.0.0.2:40000, and our port 1024 for Connect.
constexpr int kPassive = Tuple(0, 0, 0, 0);
constexpr int kActive = Tuple(0, 3, 0, 0);

// Advance amounts (stack_fuzz_program.h AdvanceNs).
constexpr uint8_t kHalfSeconds = 2 << 6;    // (b & 63) * 500 ms
constexpr uint8_t kFifteenSeconds = 3 << 6; // (b & 31) * 15 s

ProgramBuilder PassiveOpen(uint8_t c0, uint8_t c1 = 0) {
  ProgramBuilder p(c0, c1);
  p.Syn(kPassive).Answer().Accept();
  return p;
}

Seeds SeedPrograms() {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds;
  auto add = [&](const char* name, const ProgramBuilder& p) {
    seeds.emplace_back(name, p.bytes());
  };

  // SYN, SYN-ACK, ACK; data both ways; we close first: FIN-WAIT-1,
  // FIN-WAIT-2 and TIME-WAIT, which expires.
  add("passive_handshake_close",
      PassiveOpen(kPolicy | kCookiesOff)
          .Answer(0, answer::kData, 100)
          .Read(0, 200)
          .Send(0, 75)
          .Answer()
          .Close(0)
          .Answer()
          .Answer(0, answer::kFin)
          .Advance(kHalfSeconds | 10));

  // The peer closes first: CLOSE-WAIT, then LAST-ACK.
  add("passive_peer_close",
      PassiveOpen(kCookiesOff)
          .Answer(0, answer::kFin)
          .Close(0)
          .Answer());

  // Connect: SYN-SENT, ESTABLISHED, data both ways, the peer's FIN.
  add("active_open",
      ProgramBuilder(kPolicy | kCookiesOverflow, 0)
          .Connect(kActive)
          .Answer()
          .Send(0, 100)
          .Answer(0, answer::kData | answer::kFin, 50)
          .Read(0, 100)
          .Close(0)
          .Answer());

  // Every SYN gets a cookie; the ACK carries it back (with the options in
  // the timestamp), then data and an abort.
  add("cookie_handshake",
      PassiveOpen(kPolicy | kCookiesAlways)
          .Answer(0, answer::kData, 20)
          .Read(0, 20)
          .Abort(0));

  // Cookies without timestamps, on overflow: the fifth SYN to listener 81
  // (syn_backlog 4) gets a cookie, then every handshake completes; the
  // accept queue (4) holds back one.
  {
    ProgramBuilder p(kCookiesOverflow, 0);
    const int tuples[5] = {Tuple(0, 1, 0, 0), Tuple(0, 1, 0, 1),
                           Tuple(0, 1, 1, 0), Tuple(0, 1, 1, 1),
                           Tuple(1, 1, 0, 0)};
    for (int t : tuples) p.Syn(t, iss::kSame, opt::kMss);
    for (uint8_t k = 0; k < 5; ++k) p.Answer(k);
    p.Accept().Answer(0).Accept().Close(0).Close(1).Advance(kHalfSeconds | 63);
    add("cookie_overflow", p);
  }

  // Both ends open at once: SYN-SENT, SYN-RECEIVED, ESTABLISHED.
  add("simultaneous_open",
      ProgramBuilder(kPolicy, 0)
          .Connect(kActive)
          .Answer(0, answer::kOther)
          .Answer()
          .Close(0)
          .Answer(0, answer::kFin));

  // TIME-WAIT, then a SYN with a higher sequence number reopens the tuple.
  add("time_wait_reopen",
      PassiveOpen(kCookiesOff)
          .Close(0)
          .Answer(0, answer::kFin)
          .Syn(kPassive, iss::kNewer, opt::kMss)
          .Answer()
          .Accept());

  // Nobody answers our data: retransmissions back off, then give up.
  {
    ProgramBuilder p(kPolicy, 0);
    p.Connect(kActive).Answer().Send(0, 200);
    for (int i = 0; i < 6; ++i) p.Advance(kHalfSeconds | 8);
    add("retransmit_timeout", p);
  }

  // A zero window: the data waits, the persist timer probes.
  {
    ProgramBuilder p(kCookiesOff, 0);
    p.Connect(kActive).Answer(0, answer::kZeroWindow).Send(0, 20);
    for (int i = 0; i < 4; ++i) p.Advance(kHalfSeconds | 4).Answer(0, answer::kZeroWindow);
    p.Answer();
    add("zero_window", p);
  }

  // Keepalive probes go unanswered.
  add("keepalive",
      PassiveOpen(kPolicy | cfg0::kKeepalive)
          .Advance(kFifteenSeconds | 2)
          .Advance(kHalfSeconds | 8)
          .Answer()
          .Advance(kFifteenSeconds | 3));

  // 26 days of silence: PAWS forgets TS.Recent (RFC 7323 5.5), so a
  // segment with an old TSval is taken.
  add("paws_idle",
      PassiveOpen(kPolicy)
          .Advance(0xff)
          .Segment(kPassive, 0x18, seqsel::kExpected, acksel::kAll, 65535,
                   opt::kTimestamps | opt::kTsLiteral, 10)
          .Read(0, 10));

  // Segments no connection expects: to a closed port, to the listener with
  // odd flags, RSTs, stale ids.
  add("unexpected_segments",
      ProgramBuilder(kPolicy | kCookiesOverflow, 0)
          .Segment(Tuple(0, 2, 0, 0), 0x02, seqsel::kPeerIss, acksel::kZero)
          .Segment(Tuple(1, 0, 0, 0), 0x02, seqsel::kPeerIss, acksel::kZero)
          .Segment(kPassive, 0x03, seqsel::kPeerIss, acksel::kZero)
          .Segment(kPassive, 0x10, seqsel::kPeerIss, acksel::kZero)
          .Segment(kPassive, 0x04, seqsel::kPeerIss, acksel::kZero)
          .Segment(kPassive, 0xff, seqsel::kPeerIss, acksel::kAll, 0,
                   opt::kAll, 10)
          .Stale(0)
          .Stale(1)
          .Stale(2)
          .Syn(kPassive)
          .Segment(kPassive, 0x14, seqsel::kExpected, acksel::kAll)
          .Stale(3));

  // An MSS option below the 12 bytes of the timestamp option, with
  // timestamps on: the payload per segment must not wrap to 64 KB (it once
  // did, on both the passive and the active side).
  add("tiny_mss_passive",
      ProgramBuilder(cfg0::kTimestamps, 0)
          .Syn(kPassive, iss::kSame, opt::kMss | opt::kTimestamps, 5)
          .Answer()
          .Accept()
          .Send(0, 132));
  add("tiny_mss_active",
      ProgramBuilder(cfg0::kTimestamps, 0)
          .Connect(kActive)
          .Segment(kActive, 0x12, seqsel::kPeerIss, acksel::kAll, 65535,
                   opt::kMss | opt::kTimestamps, 0, 11)
          .Send(0, 132));

  // A burst looked up before it is processed: the completing ACK and a
  // second one for the same tuple, then a RST.
  add("burst",
      ProgramBuilder(kPolicy | kCookiesOff, 0)
          .Syn(kPassive)
          .Burst(2)
          .BurstAnswer()
          .BurstAnswer()
          .Burst(2)
          .Raw({1, static_cast<uint8_t>(kPassive), 0x04, seqsel::kExpected,
                acksel::kZero, 0, 0, 0, 0})
          .BurstAnswer());

  // A SYN flood in one burst, its cookies prepared at once (in vector
  // lanes), then the completing ACKs in another burst.
  {
    ProgramBuilder p(kPolicy | kCookiesAlways, 0);
    p.Burst(8);
    for (int i = 0; i < 8; ++i) {
      p.BurstSyn(Tuple(i >> 2, 1, (i >> 1) & 1, i & 1),
                 i % 3 == 0 ? opt::kMss : opt::kAll, 1460);
    }
    p.Burst(8);
    for (uint8_t i = 0; i < 8; ++i) p.BurstAnswer(i);
    p.Accept();
    add("cookie_flood_burst", p);
  }
  return seeds;
}

void Run(const std::vector<uint8_t>& input) {
  // An exactly sized heap copy, so ASan sees any read past the end.
  auto* copy = new uint8_t[input.size()];
  std::copy(input.begin(), input.end(), copy);
  LLVMFuzzerTestOneInput(copy, input.size());
  delete[] copy;
}

std::vector<uint8_t> Mutate(std::vector<uint8_t> p, const std::vector<uint8_t>& other,
                            Rng& rng) {
  const size_t count = 1 + rng.Below(4);
  for (size_t i = 0; i < count; ++i) {
    switch (rng.Below(6)) {
      case 0:  // overwrite a byte (the first two: the configuration)
        if (!p.empty()) p[rng.Below(p.size())] = static_cast<uint8_t>(rng.Next());
        break;
      case 1:  // insert a random operation of a few bytes
      {
        const size_t at = 2 + rng.Below(p.size() > 2 ? p.size() - 1 : 1);
        std::vector<uint8_t> op(1 + rng.Below(8));
        for (uint8_t& b : op) b = static_cast<uint8_t>(rng.Next());
        p.insert(p.begin() + static_cast<std::ptrdiff_t>(std::min(at, p.size())),
                 op.begin(), op.end());
        break;
      }
      case 2:  // delete a few bytes
        if (p.size() > 4) {
          const size_t at = 2 + rng.Below(p.size() - 2);
          const size_t n = std::min<size_t>(1 + rng.Below(4), p.size() - at);
          p.erase(p.begin() + static_cast<std::ptrdiff_t>(at),
                  p.begin() + static_cast<std::ptrdiff_t>(at + n));
        }
        break;
      case 3:  // splice: the tail of another seed
        if (other.size() > 2) {
          const size_t from = 2 + rng.Below(other.size() - 2);
          p.insert(p.end(), other.begin() + static_cast<std::ptrdiff_t>(from),
                   other.end());
        }
        break;
      case 4:  // truncate
        p.resize(rng.Below(p.size() + 1));
        break;
      case 5:  // a clock jump
        p.push_back(static_cast<uint8_t>(Op::kAdvance));
        p.push_back(static_cast<uint8_t>(rng.Next()));
        break;
    }
  }
  return p;
}


}  // namespace

int main(int argc, char** argv) {
  size_t generated = 20000;
  size_t files = 0;
  if (const int rc = ReplayCommandLine(argc, argv, {&Run, &SeedPrograms},
                                       &generated, &files);
      rc >= 0) {
    return rc;
  }

  const auto seeds = SeedPrograms();
  Rng rng(0x57ac4f22);
  for (size_t i = 0; i < generated; ++i) {
    if (rng.Below(4) == 0) {  // noise
      std::vector<uint8_t> noise(rng.Below(257));
      for (uint8_t& b : noise) b = static_cast<uint8_t>(rng.Next());
      Run(noise);
      continue;
    }
    Run(Mutate(seeds[rng.Below(seeds.size())].second,
               seeds[rng.Below(seeds.size())].second, rng));
  }
  std::printf("replayed %zu files and %zu generated programs\n", files,
              generated);
  return 0;
}
