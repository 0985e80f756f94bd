// segment_cost: runs N segments of each TcpStack path (bench/tcp/
// segment_paths.h) so that an instruction counter can see exactly them.
//
// Each path's measured rounds run inside its own non-inlined function,
// synwave::bench::Measure<Path>(), and nothing else does, so
//   valgrind --tool=callgrind --collect-atstart=no
//            --toggle-collect='synwave::bench::Measure*' segment_cost ...
// counts the instructions of those segments only: no setup, no recycling
// between rounds, no warm-up round. bench/callgrind.sh does that for every
// path and prints instructions per segment. Under callgrind the program
// also turns instrumentation on only once a path's one-time setup (the 10^6
// TIME-WAIT records) is done, which is what keeps those runs short.
//
// Deterministic: fixed secret and seeds, a virtual clock, tuples from a
// counter; the same build gives the same counts on every run. Run natively,
// it prints TSC cycles per segment as well (noisy; the microbenchmarks in
// bench/tcp/segment_benchmark are the better clock).
//
//   segment_cost [--path=NAME|all] [--burst=N] [--rounds=N]
//                [--connections=N] [--time-wait-live=N] [--ipv6] [--list]
// --ipv6 runs the same paths over IPv6 tuples (PathOptions::ipv6).
#include <x86intrin.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "segment_paths.h"

namespace synwave::bench {

// One measured function per path, so that callgrind can toggle on each by
// name and its profile names the path. The path check keeps their bodies
// distinct (identical functions could be folded into one).
#define SYNWAVE_X(e, name, what)                            \
  [[gnu::noinline]] uint64_t Measure##e(PathDriver& d) {    \
    if (d.path() != Path::k##e) std::abort();               \
    return d.RunRound();                                    \
  }
SYNWAVE_SEGMENT_PATHS(SYNWAVE_X)
#undef SYNWAVE_X

namespace {

using MeasureFn = uint64_t (*)(PathDriver&);

constexpr MeasureFn kMeasure[kNumPaths] = {
#define SYNWAVE_X(e, name, what) &Measure##e,
    SYNWAVE_SEGMENT_PATHS(SYNWAVE_X)
#undef SYNWAVE_X
};

struct Flags {
  std::string path = "all";
  PathOptions options;
  uint32_t rounds = 2;
  bool connections_set = false;  // else 4000 for TIME-WAIT: 250 x 4000 = 10^6
  bool list = false;
};

bool ParseUint(std::string_view arg, std::string_view name, uint32_t* out) {
  if (arg.substr(0, name.size()) != name) return false;
  const std::string value(arg.substr(name.size()));
  char* end = nullptr;
  const unsigned long v = std::strtoul(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || v == 0 || v > 0xffffffffu) {
    std::fprintf(stderr, "segment_cost: bad value in %.*s\n",
                 static_cast<int>(arg.size()), arg.data());
    std::exit(2);
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.substr(0, 7) == "--path=") {
      f.path = std::string(a.substr(7));
    } else if (a == "--ipv6") {
      f.options.ipv6 = true;
    } else if (a == "--list") {
      f.list = true;
    } else if (ParseUint(a, "--burst=", &f.options.burst) ||
               ParseUint(a, "--rounds=", &f.rounds) ||
               (ParseUint(a, "--connections=", &f.options.connections) &&
                (f.connections_set = true)) ||
               ParseUint(a, "--time-wait-live=", &f.options.time_wait_live)) {
    } else {
      std::fprintf(stderr,
                   "usage: segment_cost [--path=NAME|all] [--burst=N] "
                   "[--rounds=N] [--connections=N] [--time-wait-live=N] "
                   "[--ipv6] [--list]\n");
      std::exit(2);
    }
  }
  return f;
}

// Runs one path: a warm-up round (grows the stack's output and event
// arrays to their steady size), then `rounds` measured ones.
bool RunPath(Path path, const Flags& flags) {
  PathOptions options = flags.options;
  if ((path == Path::kTimeWaitInsert || path == Path::kTimeWaitExpire) &&
      !flags.connections_set) {
    options.connections = 4000;  // as segment_benchmark: 250 groups, 10^6
  }
  PathDriver d(path, options);
  d.PrepareRound();
  d.RunRound();
  std::string error = d.CheckRound();
  uint64_t segments = 0;
  uint64_t cycles = 0;
  CALLGRIND_START_INSTRUMENTATION;
  for (uint32_t r = 0; r < flags.rounds && error.empty(); ++r) {
    d.PrepareRound();
    const uint64_t start = __rdtsc();
    segments += kMeasure[static_cast<int>(path)](d);
    cycles += __rdtsc() - start;
    error = d.CheckRound();
  }
  CALLGRIND_STOP_INSTRUMENTATION;
  const std::string_view name = PathName(path);
  if (!error.empty()) {
    std::fprintf(stderr, "segment_cost: %.*s: %s\n",
                 static_cast<int>(name.size()), name.data(), error.c_str());
    return false;
  }
  std::printf("%-20.*s %5u %9llu %14.1f\n", static_cast<int>(name.size()),
              name.data(), d.burst(), static_cast<unsigned long long>(segments),
              static_cast<double>(cycles) / static_cast<double>(segments));
  std::fflush(stdout);
  return true;
}

}  // namespace
}  // namespace synwave::bench

int main(int argc, char** argv) {
  using namespace synwave::bench;
  const Flags flags = ParseFlags(argc, argv);
  if (flags.list) {
    for (int i = 0; i < kNumPaths; ++i) {
      const auto p = static_cast<Path>(i);
      std::printf("%-20.*s %.*s\n", static_cast<int>(PathName(p).size()),
                  PathName(p).data(), static_cast<int>(PathDescription(p).size()),
                  PathDescription(p).data());
    }
    return 0;
  }
  std::vector<Path> paths;
  if (flags.path == "all") {
    for (int i = 0; i < kNumPaths; ++i) paths.push_back(static_cast<Path>(i));
  } else if (const auto p = PathByName(flags.path)) {
    paths.push_back(*p);
  } else {
    std::fprintf(stderr, "segment_cost: no path %s (--list)\n",
                 flags.path.c_str());
    return 2;
  }
  std::printf("%-20s %5s %9s %14s\n", "path", "burst", "segments",
              "tsc_cycles/seg");
  bool ok = true;
  for (Path p : paths) ok &= RunPath(p, flags);
  return ok ? 0 : 1;
}
