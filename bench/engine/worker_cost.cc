// worker_cost: a fixed amount of the worker's cookie SYN-ACK path for an
// instruction counter (bench/callgrind.sh, row worker-syn-cookie; the Ir
// budget, bench/check_budget.sh).
//
// The rig of worker_benchmark (bench/engine/worker_rig.h: a Worker on a
// net_ring port, a syncookies=always listener, 1024 prebuilt SYNs with
// Linux's options). After the rig's check and kWarmUp untimed bursts, each
// of --rounds bursts is: the peer transmits `burst` SYNs (outside), one
// Worker::PollOnce inside the non-inlined synwave::bench::MeasureWorkerPolls
// (rx from the ring, parse with software checksums, stack, SYN-ACKs written
// into their SYNs' mbufs, tx, timers, counters), then the peer drains the
// SYN-ACKs (outside). So
//   valgrind --tool=callgrind --collect-atstart=no
//            --toggle-collect='synwave::bench::MeasureWorkerPolls*' ...
// counts exactly --rounds PollOnce calls over the same frames every run, and
// the count is the same from run to run (worker_benchmark picks its own
// iteration count, so the figure it gave varied).
//
// Prints "worker-syn-cookie BURST SYNS" (SYNS: the SYN-ACKs that came back
// from the measured polls, which must be burst * rounds, or it fails).
//
//   worker_cost [--burst=N] [--rounds=N]     (defaults 32, 64)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "bench/engine/worker_rig.h"
#include "port/eal.h"

namespace synwave::bench {

// The measured part: one PollOnce per burst the peer injected before.
[[gnu::noinline]] void MeasureWorkerPolls(engine::rig::Rig& rig) {
  rig.worker().PollOnce(rig.now());
}

namespace {

constexpr int kWarmUp = 8;

// Returns the SYN-ACKs the measured polls sent, or -1 on a failure.
long RunRounds(engine::rig::Rig& rig, uint16_t burst, int rounds) {
  rte_mbuf* bufs[engine::kMaxBurst];
  long replies = 0;
  for (int r = 0; r < kWarmUp + rounds; ++r) {
    if (!rig.Inject(burst, bufs)) return -1;
    if (r < kWarmUp) {
      rig.Poll();
    } else {
      MeasureWorkerPolls(rig);
      rig.Step();
    }
    const uint16_t got = rig.Drain(bufs, engine::kMaxBurst);
    if (r >= kWarmUp) replies += got;
  }
  return replies;
}

}  // namespace
}  // namespace synwave::bench

int main(int argc, char** argv) {
  int burst = 32;
  int rounds = 64;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--burst=", 8) == 0) {
      burst = std::atoi(argv[i] + 8);
    } else if (std::strncmp(argv[i], "--rounds=", 9) == 0) {
      rounds = std::atoi(argv[i] + 9);
    } else {
      std::fprintf(stderr, "usage: worker_cost [--burst=N] [--rounds=N]\n");
      return 2;
    }
  }
  if (burst < 1 || burst > synwave::engine::kMaxBurst || rounds < 1) {
    std::fprintf(stderr, "worker_cost: burst 1-%d, rounds >= 1\n",
                 synwave::engine::kMaxBurst);
    return 2;
  }
  const std::string prefix = "synwave_cost_" + std::to_string(getpid());
  const absl::Status s = synwave::port::InitEal(
      {"worker_cost", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
       "--log-level=warning", "-l", "0", "--file-prefix=" + prefix});
  if (!s.ok()) {
    std::fprintf(stderr, "worker_cost: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  int rc = 0;
  {
    const auto b = static_cast<uint16_t>(burst);
    auto rig = std::make_unique<synwave::engine::rig::Rig>(b);
    std::string error = rig->error();
    if (error.empty()) error = rig->Check(b);
    long replies = -1;
    if (error.empty()) {
      replies = synwave::bench::RunRounds(*rig, b, rounds);
      if (replies != long{burst} * rounds) {
        error = "expected " + std::to_string(burst * rounds) +
                " SYN-ACKs, got " + std::to_string(replies);
      }
    }
    if (error.empty()) {
      std::printf("worker-syn-cookie %d %ld\n", burst, replies);
    } else {
      std::fprintf(stderr, "worker_cost: %s\n", error.c_str());
      rc = 1;
    }
  }
  synwave::port::CleanupEal();
  return rc;
}
