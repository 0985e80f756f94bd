// Differential tests of TimerWheel: the wheel against a model that keeps
// every live timer in a std::set ordered by expiry tick. Each test runs ~100k
// random Arm, Rearm and Cancel calls (some from inside callbacks, some on
// stale handles) interleaved with Advance, over fixed seeds. The tests of
// single promises are in timer_wheel_test.cc.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "timer/timer_wheel.h"

namespace synwave::timer {
namespace {

using Handle = TimerWheel::Handle;
constexpr uint32_t kUnlimited = TimerWheel::kUnlimited;

struct DifferentialConfig {
  uint64_t seed = 1;
  bool every_tick = true;    // else random jumps (RandomJump)
  bool unlimited = true;     // else random budgets of 0..8
  int operations = 100'000;  // outside callbacks
  uint64_t phase_ns = 0;     // of the Advance calls after tick boundaries
};

class Differential {
 public:
  static constexpr uint64_t kTick = 1000;  // 1 us
  static constexpr uint64_t kStart = 1'000'000'007;
  static constexpr uint32_t kCapacity = 1024;

  explicit Differential(const DifferentialConfig& config)
      : config_(config),
        rng_(config.seed),
        wheel_(kCapacity, kTick, kStart),
        now_(kStart + 12 * kTick + config.phase_ns) {}

  void Run() {
    int ops = 0;
    ticking_ = config_.every_tick;
    if (!config_.unlimited) model_cur_ = kUnknownTick;
    while (ops < config_.operations) {
      const int burst = static_cast<int>(rng_() % 4);
      for (int k = 0; k < burst; ++k, ++ops) RandomOperation(model_cur_);
      now_ += config_.every_tick ? kTick : RandomJump();
      Advance(Budget());
      if (::testing::Test::HasFatalFailure()) return;
    }
    // Drain, far-future timers included, in jumps of up to a minute and now
    // and then of up to 2^38 ticks (the span of the wheel is 2^36 ticks).
    ticking_ = false;
    while (!by_tick_.empty()) {
      now_ += 1 + rng_() % (60'000'000 * kTick);
      if (rng_() % 8 == 0) now_ += rng_() % (uint64_t{1} << 38) * kTick;
      Advance(Budget());
      if (::testing::Test::HasFatalFailure()) return;
    }
    EXPECT_EQ(wheel_.size(), 0u);
    // The run exercised what it is meant to.
    EXPECT_GT(fired_, uint64_t{30'000});
    EXPECT_GT(cancelled_, uint64_t{5'000});
    EXPECT_GT(stale_refused_, uint64_t{2'000});
    if (config_.every_tick) {
      // Long timers pile up when the clock crawls: the wheel fills.
      EXPECT_GT(full_, uint64_t{0});
    }
    printf(
        "seed %llu: %llu fired, %llu cancelled, %llu stale refused, "
        "%llu arms refused (full), %llu most live, %llu cascaded\n",
        static_cast<unsigned long long>(config_.seed),
        static_cast<unsigned long long>(fired_),
        static_cast<unsigned long long>(cancelled_),
        static_cast<unsigned long long>(stale_refused_),
        static_cast<unsigned long long>(full_),
        static_cast<unsigned long long>(max_live_),
        static_cast<unsigned long long>(wheel_.stats().cascaded));
  }

 private:
  struct Timer {
    Handle handle;
    uint64_t expires_ns;
    uint64_t tick;  // rounded up, since kStart
    // Tick the wheel orders it by: an expiry already passed when armed
    // counts as the wheel's time at arming.
    uint64_t order_tick;
    uint64_t armed_ns;  // now_ when armed or rearmed
    size_t pos;         // in ids_
  };

  uint32_t Budget() {
    return config_.unlimited ? TimerWheel::kUnlimited
                             : static_cast<uint32_t>(rng_() % 9);
  }

  // Mostly short, now and then long enough to cross several levels.
  uint64_t RandomJump() {
    const uint64_t r = rng_() % 100;
    if (r < 60) return kTick;
    if (r < 90) return 1 + rng_() % (64 * kTick);
    if (r < 99) return 1 + rng_() % (1000 * kTick);
    return 1 + rng_() % (300'000 * kTick);
  }

  static uint64_t CeilTick(uint64_t ns) {
    return ns <= kStart ? 0 : (ns - kStart + kTick - 1) / kTick;
  }

  uint64_t RandomExpiry() {
    const uint64_t r = rng_() % 100;
    if (r < 8) return now_ - std::min(now_, rng_() % (5 * kTick));  // past
    if (r < 45) return now_ + rng_() % (64 * kTick);
    if (r < 75) return now_ + rng_() % (5000 * kTick);
    if (r < 98) return now_ + rng_() % (40'000 * kTick);
    return now_ + rng_() % ((uint64_t{1} << 38) * kTick);  // beyond the span
  }

  // `wheel_tick`: the wheel's time as the model knows it, for order_tick.
  void RandomOperation(uint64_t wheel_tick) {
    const uint64_t r = rng_() % 100;
    if (r < 60 || ids_.empty()) {
      const uint64_t expires = RandomExpiry();
      const uint64_t id = next_id_++;
      const Handle h = wheel_.Arm(expires, id);
      if (timers_.size() == kCapacity) {
        ASSERT_EQ(h, TimerWheel::kInvalidHandle);
        ++full_;
        return;
      }
      ASSERT_NE(h, TimerWheel::kInvalidHandle);
      Add(id, h, expires, wheel_tick);
    } else if (r < 65 && !dead_.empty()) {
      const Handle h = dead_[rng_() % dead_.size()];
      ASSERT_FALSE(wheel_.IsLive(h));
      if (rng_() % 2 == 0) {
        ASSERT_FALSE(wheel_.Cancel(h));
      } else {
        ASSERT_FALSE(wheel_.Rearm(h, RandomExpiry()));
      }
      ++stale_refused_;
    } else if (r < 80) {
      const uint64_t id = ids_[rng_() % ids_.size()];
      const Handle h = timers_.at(id).handle;
      ASSERT_TRUE(wheel_.Cancel(h));
      Remove(id);
      dead_.push_back(h);
      ++cancelled_;
    } else {
      const uint64_t id = ids_[rng_() % ids_.size()];
      const Handle h = timers_.at(id).handle;
      const uint64_t expires = RandomExpiry();
      ASSERT_TRUE(wheel_.Rearm(h, expires));
      Remove(id);
      Add(id, h, expires, wheel_tick);
    }
    ASSERT_EQ(wheel_.size(), timers_.size());
  }

  void Advance(uint32_t budget) {
    const uint64_t target = now_ <= kStart ? 0 : (now_ - kStart) / kTick;
    uint32_t calls = 0;
    const uint32_t n = wheel_.Advance(now_, budget, [&](Handle h, uint64_t id) {
      ++calls;
      auto it = timers_.find(id);
      ASSERT_NE(it, timers_.end()) << "fired twice, or after Cancel";
      const Timer t = it->second;
      ASSERT_EQ(t.handle, h);
      ASSERT_FALSE(wheel_.IsLive(h));
      // Never early.
      ASSERT_LE(t.expires_ns, now_);
      ASSERT_LE(t.tick, target);
      if (ticking_ && config_.unlimited) {
        // Called every tick: fired by the first call that reached its
        // expiry's tick, so less than a tick after expires_ns when calls
        // fall on tick boundaries, less than two otherwise. One armed
        // already expired fires in the next call.
        if (t.expires_ns > t.armed_ns) {
          ASSERT_LT(now_ - (kStart + t.tick * kTick), kTick);
          ASSERT_LT(now_ - t.expires_ns,
                    config_.phase_ns == 0 ? kTick : 2 * kTick);
        } else {
          ASSERT_LE(now_ - t.armed_ns, kTick);
        }
      }
      if (config_.unlimited) {
        // Nothing held back: the wheel's time is this timer's order tick.
        ASSERT_GE(t.order_tick, last_order_) << "out of order";
        last_order_ = t.order_tick;
      } else if (t.order_tick == t.tick) {
        // Timers armed ahead of the wheel keep their order across budgets.
        ASSERT_GE(t.tick, last_future_tick_) << "out of order";
        last_future_tick_ = t.tick;
      }
      Remove(id);
      dead_.push_back(h);
      ++fired_;
      // A worker's callbacks arm, rearm and cancel (RTO backoff, TIME-WAIT
      // after FIN-WAIT-2, a connection closed by the expiry).
      if (rng_() % 4 == 0) {
        RandomOperation(config_.unlimited ? t.order_tick : kUnknownTick);
      }
    });
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    ASSERT_EQ(n, calls);
    ASSERT_LE(n, budget);
    ASSERT_EQ(wheel_.size(), timers_.size());
    if (config_.unlimited) {
      // Nothing due is left: each timer fired in the first Advance whose
      // now_ns reached its tick.
      if (!by_tick_.empty()) {
        ASSERT_GT(by_tick_.begin()->first, target);
      }
      model_cur_ = std::max(model_cur_, target);
    } else {
      model_cur_ = kUnknownTick;
    }
    if (dead_.size() > 4096) dead_.erase(dead_.begin(), dead_.begin() + 2048);
  }

  void Add(uint64_t id, Handle h, uint64_t expires, uint64_t wheel_tick) {
    const uint64_t tick = CeilTick(expires);
    // With budgets the wheel's time is not known; an order tick equal to
    // the tick marks a timer that the order check may use, so make it
    // unequal for one that might be behind the wheel.
    uint64_t order_tick = tick;
    if (wheel_tick == kUnknownTick) {
      if (expires <= now_) order_tick = tick + 1;
    } else {
      order_tick = std::max(tick, wheel_tick);
    }
    timers_[id] = Timer{h, expires, tick, order_tick, now_, ids_.size()};
    ids_.push_back(id);
    by_tick_.emplace(tick, id);
    max_live_ = std::max<uint64_t>(max_live_, ids_.size());
  }

  void Remove(uint64_t id) {
    const Timer& t = timers_.at(id);
    by_tick_.erase({t.tick, id});
    const uint64_t moved = ids_.back();
    ids_[t.pos] = moved;
    timers_.at(moved).pos = t.pos;
    ids_.pop_back();
    timers_.erase(id);
  }

  static constexpr uint64_t kUnknownTick = UINT64_MAX;

  DifferentialConfig config_;
  std::mt19937_64 rng_;
  TimerWheel wheel_;
  uint64_t now_;
  bool ticking_ = false;    // Advance every tick, now
  uint64_t model_cur_ = 0;  // the wheel's tick, when budgets do not hide it
  uint64_t last_order_ = 0;
  uint64_t last_future_tick_ = 0;
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, Timer> timers_;
  std::vector<uint64_t> ids_;
  std::set<std::pair<uint64_t, uint64_t>> by_tick_;  // (tick, id)
  std::vector<Handle> dead_;
  uint64_t fired_ = 0;
  uint64_t cancelled_ = 0;
  uint64_t stale_refused_ = 0;
  uint64_t full_ = 0;
  uint64_t max_live_ = 0;
};

TEST(TimerWheelDifferentialTest, EveryTickUnlimitedBudget) {
  for (uint64_t seed : {1, 2}) {
    SCOPED_TRACE(seed);
    Differential(DifferentialConfig{.seed = seed}).Run();
  }
}

TEST(TimerWheelDifferentialTest, EveryTickBetweenBoundariesUnlimitedBudget) {
  SCOPED_TRACE(3);
  Differential(DifferentialConfig{.seed = 3, .phase_ns = 345}).Run();
}

TEST(TimerWheelDifferentialTest, RandomJumpsUnlimitedBudget) {
  for (uint64_t seed : {4, 5, 6}) {
    SCOPED_TRACE(seed);
    Differential(
        DifferentialConfig{.seed = seed, .every_tick = false, .phase_ns = 345})
        .Run();
  }
}

TEST(TimerWheelDifferentialTest, EveryTickSmallBudgets) {
  for (uint64_t seed : {7, 8}) {
    SCOPED_TRACE(seed);
    Differential(DifferentialConfig{.seed = seed, .unlimited = false}).Run();
  }
}

TEST(TimerWheelDifferentialTest, RandomJumpsSmallBudgets) {
  for (uint64_t seed : {9, 10}) {
    SCOPED_TRACE(seed);
    Differential(DifferentialConfig{.seed = seed,
                                    .every_tick = false,
                                    .unlimited = false,
                                    .phase_ns = 345})
        .Run();
  }
}

}  // namespace
}  // namespace synwave::timer
