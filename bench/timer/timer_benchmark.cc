// Microbenchmarks for TimerWheel, the per-core home of every TCP timer.
//
// Each case holds the wheel at a steady population of live timers, 10^3 (a
// lightly loaded core: everything in L1/L2) and 10^6 (a loaded one: 32 MiB of
// nodes, so the neighbours a list operation touches are cache misses), and
// times a batch of one operation:
//   Arm        arm a timer 1-120 s out (RTO backed off to keepalive)
//   Cancel     cancel a random live timer (an RTO cancelled by its ACK)
//   Rearm      move a random live timer to a new random 1-120 s expiry
//   RearmPushBack  push a random live timer back by 1-4 ms, as an ACK
//              restarting an RTO or a segment pushing back a keepalive does:
//              mostly within its slot, Rearm's shortcut
//   ArmExpire  60 s timers armed at a steady rate while the clock advances,
//              so each one is armed, cascades twice and fires: the whole life
//              of a TIME-WAIT or FIN-WAIT-2 timer. Per item = per timer; this
//              is the figure to hold against a FIFO's few ns (header comment
//              of lib/timer/timer_wheel.h).
//   AdvanceIdle  an Advance with nothing due: the cost the worker pays on
//              every loop iteration.
// The untimed part of each batch (the inverse operation that keeps the
// population steady) is excluded with manual timing. Besides time, each case
// reports cycles_per_item from the TSC read around each timed batch of 256,
// and ns_per_item from the same reads (see Stopwatch for batches that lost
// the CPU); the TSC ticks at the nominal frequency, so under turbo these are
// reference cycles.
#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "timer/timer_wheel.h"

namespace synwave::timer {
namespace {

using Handle = TimerWheel::Handle;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMs = 1'000'000;  // ns
constexpr uint64_t kSec = 1000 * kMs;
constexpr uint32_t kBatch = 256;  // < 10^3, so a batch's victims are distinct

// Times batches of kBatch items. This machine is shared: a batch during
// which the thread lost the CPU (its wall time exceeds its thread CPU time)
// is left out of the counters, which are means over the other batches, so
// that the rare batches that pay a big cascade still count. The benchmark's
// own Time column is thread CPU time per batch (it includes part of the two
// clock_gettime calls, about 1 ns per item).
class Stopwatch {
 public:
  void Start() {
    cpu0_ = ThreadCpuNs();
    wall0_ = Clock::now();
    tsc0_ = __rdtsc();
  }
  void Stop(benchmark::State& state) {
    const uint64_t tsc = __rdtsc() - tsc0_;
    const double wall_ns =
        std::chrono::duration<double, std::nano>(Clock::now() - wall0_).count();
    const double cpu_ns = ThreadCpuNs() - cpu0_;
    state.SetIterationTime(cpu_ns * 1e-9);
    if (wall_ns > cpu_ns + 2000) {
      ++preempted_;
      return;
    }
    kept_tsc_ += tsc;
    kept_wall_ns_ += wall_ns;
    ++kept_;
  }
  void Report(benchmark::State& state, int64_t items) const {
    state.SetItemsProcessed(items);
    if (kept_ == 0) return;
    const double per_item = static_cast<double>(kept_) * kBatch;
    const double cycles = static_cast<double>(kept_tsc_) / per_item;
    state.counters["cycles_per_item"] = cycles;
    // The TSC's rate, from the same batches.
    state.counters["ns_per_item"] =
        cycles * kept_wall_ns_ / static_cast<double>(kept_tsc_);
    state.counters["preempted"] = static_cast<double>(preempted_) /
                                  static_cast<double>(preempted_ + kept_);
  }

 private:
  static double ThreadCpuNs() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 +
           static_cast<double>(ts.tv_nsec);
  }

  double cpu0_ = 0;
  Clock::time_point wall0_;
  uint64_t tsc0_ = 0;
  uint64_t kept_tsc_ = 0;
  double kept_wall_ns_ = 0;
  uint64_t kept_ = 0;
  uint64_t preempted_ = 0;
};

// A wheel holding `live` timers 1-120 s out, the caller's record of each
// (handle and expiry together, as in a TCB: one cache line per timer on the
// caller's side), and precomputed random expiries and victims so that no
// random number is drawn while timed.
struct Population {
  struct Timer {
    Handle handle;
    uint64_t expiry;
  };

  explicit Population(uint32_t live)
      : wheel(live + kBatch, kMs, 0), timers(live), order(live) {
    rng.seed(live);
    expiries.resize(1 << 16);
    for (uint64_t& e : expiries) e = kSec + rng() % (119 * kSec);
    push_backs.resize(1 << 16);
    for (uint64_t& d : push_backs) d = kMs + rng() % (3 * kMs);
    for (uint32_t i = 0; i < live; ++i) {
      timers[i].expiry = NextExpiry();
      timers[i].handle = wheel.Arm(timers[i].expiry, i);
    }
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(order.begin(), order.end(), rng);
  }

  uint64_t NextExpiry() {
    return expiries[next_expiry++ & (expiries.size() - 1)];
  }
  // The next kBatch distinct indices into `timers`, in random order.
  // Reshuffled on every pass: the timers one batch touches were put on
  // their lists together, so they are each other's list neighbours, and
  // meeting them together again would hide the cache misses on neighbours.
  const uint32_t* NextVictims() {
    // Only between batches, so that a batch's victims stay distinct.
    if (next_victim + kBatch > order.size()) {
      std::shuffle(order.begin(), order.end(), rng);
      next_victim = 0;
    }
    victims.assign(order.begin() + next_victim,
                   order.begin() + next_victim + kBatch);
    next_victim += kBatch;
    return victims.data();
  }

  std::mt19937_64 rng;
  TimerWheel wheel;
  std::vector<Timer> timers;
  std::vector<uint32_t> order;
  std::vector<uint32_t> victims;
  std::vector<uint64_t> expiries;
  std::vector<uint64_t> push_backs;
  uint64_t next_expiry = 0;
  uint64_t next_victim = 0;
};

void BM_Arm(benchmark::State& state) {
  Population p(static_cast<uint32_t>(state.range(0)));
  Stopwatch watch;
  int64_t items = 0;
  for (auto _ : state) {
    const uint32_t* victims = p.NextVictims();
    for (uint32_t k = 0; k < kBatch; ++k) {
      p.wheel.Cancel(p.timers[victims[k]].handle);
    }
    watch.Start();
    for (uint32_t k = 0; k < kBatch; ++k) {
      p.timers[victims[k]].handle = p.wheel.Arm(p.NextExpiry(), victims[k]);
    }
    watch.Stop(state);
    items += kBatch;
  }
  watch.Report(state, items);
}

void BM_Cancel(benchmark::State& state) {
  Population p(static_cast<uint32_t>(state.range(0)));
  Stopwatch watch;
  int64_t items = 0;
  for (auto _ : state) {
    const uint32_t* victims = p.NextVictims();
    watch.Start();
    for (uint32_t k = 0; k < kBatch; ++k) {
      benchmark::DoNotOptimize(p.wheel.Cancel(p.timers[victims[k]].handle));
    }
    watch.Stop(state);
    for (uint32_t k = 0; k < kBatch; ++k) {
      p.timers[victims[k]].handle = p.wheel.Arm(p.NextExpiry(), victims[k]);
    }
    items += kBatch;
  }
  watch.Report(state, items);
}

void BM_Rearm(benchmark::State& state) {
  Population p(static_cast<uint32_t>(state.range(0)));
  Stopwatch watch;
  int64_t items = 0;
  for (auto _ : state) {
    const uint32_t* victims = p.NextVictims();
    watch.Start();
    for (uint32_t k = 0; k < kBatch; ++k) {
      benchmark::DoNotOptimize(
          p.wheel.Rearm(p.timers[victims[k]].handle, p.NextExpiry()));
    }
    watch.Stop(state);
    items += kBatch;
  }
  watch.Report(state, items);
}

void BM_RearmPushBack(benchmark::State& state) {
  Population p(static_cast<uint32_t>(state.range(0)));
  Stopwatch watch;
  int64_t items = 0;
  uint64_t next = 0;
  for (auto _ : state) {
    const uint32_t* victims = p.NextVictims();
    watch.Start();
    for (uint32_t k = 0; k < kBatch; ++k) {
      Population::Timer& t = p.timers[victims[k]];
      t.expiry += p.push_backs[next++ & (p.push_backs.size() - 1)];
      benchmark::DoNotOptimize(p.wheel.Rearm(t.handle, t.expiry));
    }
    watch.Stop(state);
    items += kBatch;
  }
  watch.Report(state, items);
}

// Steady state: `live` 60 s timers, kPerStep armed per step while the clock
// moves 60 s * kPerStep / live, so as many fire as are armed. At 10^6 a step
// is about one 1 ms tick; at 10^3 about a second.
void BM_ArmExpire(benchmark::State& state) {
  constexpr uint32_t kPerStep = 16;
  constexpr uint32_t kStepsPerBatch = kBatch / kPerStep;
  const auto live = static_cast<uint32_t>(state.range(0));
  const uint64_t step_ns = 60 * kSec * kPerStep / live;
  TimerWheel wheel(live + 2 * kPerStep, kMs, 0);
  uint64_t now = 0;
  uint64_t fired = 0;
  auto on_expire = [&fired](Handle, uint64_t) { ++fired; };
  auto step = [&] {
    for (uint32_t k = 0; k < kPerStep; ++k) {
      benchmark::DoNotOptimize(wheel.Arm(now + 60 * kSec, k));
    }
    now += step_ns;
    wheel.Advance(now, TimerWheel::kUnlimited, on_expire);
  };
  // Fill to the steady population: 60 s of arming, untimed.
  while (wheel.size() < live - kPerStep) step();

  Stopwatch watch;
  const uint64_t fired_before = fired;
  int64_t armed = 0;
  for (auto _ : state) {
    watch.Start();
    for (uint32_t s = 0; s < kStepsPerBatch; ++s) step();
    watch.Stop(state);
    armed += kBatch;
  }
  // Per timer (one Arm, its cascades, its firing); in steady state as many
  // fire as are armed.
  watch.Report(state, armed);
  state.counters["fired_per_armed"] =
      armed > 0 ? static_cast<double>(fired - fired_before) /
                      static_cast<double>(armed)
                : 0.0;
  state.counters["cascades_per_timer"] =
      static_cast<double>(wheel.stats().cascaded) /
      static_cast<double>(std::max<uint64_t>(1, wheel.stats().fired));
}

// The worker's per-iteration call when nothing is due: now moves within a
// tick, with `live` timers 1-120 s out.
void BM_AdvanceIdle(benchmark::State& state) {
  Population p(static_cast<uint32_t>(state.range(0)));
  Stopwatch watch;
  int64_t items = 0;
  uint64_t fired = 0;
  for (auto _ : state) {
    watch.Start();
    for (uint32_t k = 0; k < kBatch; ++k) {
      fired += p.wheel.Advance(k * 1000, 64, [](Handle, uint64_t) {});
    }
    watch.Stop(state);
    items += kBatch;
  }
  benchmark::DoNotOptimize(fired);
  watch.Report(state, items);
}

BENCHMARK(BM_Arm)->Arg(1'000)->Arg(1'000'000)->UseManualTime();
BENCHMARK(BM_Cancel)->Arg(1'000)->Arg(1'000'000)->UseManualTime();
BENCHMARK(BM_Rearm)->Arg(1'000)->Arg(1'000'000)->UseManualTime();
BENCHMARK(BM_RearmPushBack)->Arg(1'000)->Arg(1'000'000)->UseManualTime();
BENCHMARK(BM_ArmExpire)->Arg(1'000)->Arg(1'000'000)->UseManualTime();
BENCHMARK(BM_AdvanceIdle)->Arg(1'000)->Arg(1'000'000)->UseManualTime();

}  // namespace
}  // namespace synwave::timer

BENCHMARK_MAIN();
