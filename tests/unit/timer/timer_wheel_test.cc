// Tests for TimerWheel: the promises a TCP worker relies on. A timer never
// fires early and, advanced every tick, at most one tick late; timers fire in
// expiry order and exactly once; a stale handle is harmless; the budget
// bounds the work of one Advance; long idle gaps and far-future expiries are
// cheap and exact; nothing is allocated after construction. The randomized
// tests against a plain sorted model are in
// timer_wheel_differential_test.cc.
#include "timer/timer_wheel.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Counts heap allocations so that a test can prove the wheel makes none after
// construction. Replacing the global operator new is how a C++ program hooks
// allocation; the counter is only read around code that runs no other thread.
// noinline: where g++ inlines these pairs it sees malloc'd memory reach
// free() through "operator new" and warns (-Wmismatched-new-delete).
namespace {
int64_t g_allocations = 0;
}  // namespace

__attribute__((noinline)) void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new[](std::size_t n) {
  return ::operator new(n);
}
__attribute__((noinline)) void operator delete(void* p) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete[](void* p) noexcept {
  ::operator delete(p);
}
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept {
  ::operator delete(p);
}
__attribute__((noinline)) void operator delete[](void* p,
                                                 std::size_t) noexcept {
  ::operator delete(p);
}

namespace synwave::timer {
namespace {

using Handle = TimerWheel::Handle;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr uint64_t kMs = 1'000'000;  // ns
constexpr uint64_t kSec = 1000 * kMs;
constexpr uint64_t kHour = 3600 * kSec;
constexpr uint32_t kUnlimited = TimerWheel::kUnlimited;

// Advances and returns the cookies fired, in order.
std::vector<uint64_t> Fire(TimerWheel& w, uint64_t now_ns,
                           uint32_t budget = kUnlimited) {
  std::vector<uint64_t> cookies;
  const uint32_t n = w.Advance(now_ns, budget, [&](Handle, uint64_t cookie) {
    cookies.push_back(cookie);
  });
  EXPECT_EQ(n, cookies.size());
  return cookies;
}

TEST(TimerWheelTest, FiresAtItsExpiryAndNotBefore) {
  TimerWheel w(16, kMs, 0);
  const Handle h = w.Arm(5 * kMs, 42);
  ASSERT_NE(h, TimerWheel::kInvalidHandle);
  EXPECT_TRUE(w.IsLive(h));
  EXPECT_EQ(w.size(), 1u);
  EXPECT_THAT(Fire(w, 4 * kMs), IsEmpty());
  EXPECT_THAT(Fire(w, 5 * kMs - 1), IsEmpty());
  EXPECT_THAT(Fire(w, 5 * kMs), ElementsAre(42u));
  EXPECT_EQ(w.size(), 0u);
  EXPECT_FALSE(w.IsLive(h));
  EXPECT_THAT(Fire(w, 100 * kMs), IsEmpty());
}

TEST(TimerWheelTest, HandsBackTheHandleAndCookie) {
  TimerWheel w(16, kMs, 0);
  const Handle h = w.Arm(kMs, 0xfeedface12345678);
  Handle got = TimerWheel::kInvalidHandle;
  uint64_t cookie = 0;
  EXPECT_EQ(w.Advance(kMs, kUnlimited,
                      [&](Handle fh, uint64_t c) {
                        got = fh;
                        cookie = c;
                      }),
            1u);
  EXPECT_EQ(got, h);
  EXPECT_EQ(cookie, 0xfeedface12345678u);
}

TEST(TimerWheelTest, RoundsExpiryUpToATick) {
  // start_ns is not a multiple of the tick: ticks count from it.
  constexpr uint64_t kStart = 1'000'000'123;
  TimerWheel w(16, kMs, kStart);
  w.Arm(kStart + 5 * kMs + 1, 1);  // rounds up to tick 6
  w.Arm(kStart + 5 * kMs, 2);      // exactly tick 5
  EXPECT_THAT(Fire(w, kStart + 5 * kMs - 1), IsEmpty());
  EXPECT_THAT(Fire(w, kStart + 5 * kMs), ElementsAre(2u));
  // Past the expiry of 1 but not at its tick: a wheel may fire late within
  // a tick, never early.
  EXPECT_THAT(Fire(w, kStart + 5 * kMs + 500'000), IsEmpty());
  EXPECT_THAT(Fire(w, kStart + 6 * kMs), ElementsAre(1u));
}

TEST(TimerWheelTest, ExpiryAlreadyPassedFiresOnTheNextAdvance) {
  TimerWheel w(16, kMs, 1000 * kMs);
  EXPECT_THAT(Fire(w, 1010 * kMs), IsEmpty());
  w.Arm(1003 * kMs, 1);  // behind the wheel
  w.Arm(0, 2);           // before start_ns
  w.Arm(1010 * kMs, 3);  // exactly the wheel's time
  EXPECT_LE(w.NextEventNs(), 1010 * kMs);
  // Same now: no time has to pass for them.
  EXPECT_THAT(Fire(w, 1010 * kMs), UnorderedElementsAre(1u, 2u, 3u));
}

TEST(TimerWheelTest, ArmBeforeStartNsFiresOnFirstAdvance) {
  TimerWheel w(4, kMs, 50 * kMs);
  w.Arm(10 * kMs, 7);
  EXPECT_THAT(Fire(w, 50 * kMs), ElementsAre(7u));
}

TEST(TimerWheelTest, FiresInExpiryOrder) {
  TimerWheel w(1000, kMs, 0);
  // Distinct ticks (in ms) over levels 0 to 3, armed in a random order.
  std::vector<uint64_t> expiries;
  for (uint64_t i = 0; i < 1000; ++i) expiries.push_back(1 + i * 293);
  std::shuffle(expiries.begin(), expiries.end(), std::mt19937_64(7));
  for (uint64_t e : expiries) w.Arm(e * kMs, e);
  std::vector<uint64_t> sorted = expiries;
  std::sort(sorted.begin(), sorted.end());
  // In several uneven jumps: order must hold across calls too.
  std::vector<uint64_t> fired;
  for (uint64_t now : {1ull, 77ull, 4095ull, 4096ull, 70'000ull, 400'000ull}) {
    for (uint64_t c : Fire(w, now * kMs)) fired.push_back(c);
  }
  EXPECT_THAT(fired, ElementsAreArray(sorted));
}

TEST(TimerWheelTest, SameTickFiresTogether) {
  TimerWheel w(8, kMs, 0);
  for (uint64_t c = 0; c < 5; ++c) w.Arm(3 * kSec, c);
  EXPECT_THAT(Fire(w, 3 * kSec - 1), IsEmpty());
  EXPECT_THAT(Fire(w, 3 * kSec), UnorderedElementsAre(0u, 1u, 2u, 3u, 4u));
}

TEST(TimerWheelTest, CancelBeforeExpiry) {
  TimerWheel w(8, kMs, 0);
  const Handle a = w.Arm(10 * kMs, 1);
  const Handle b = w.Arm(10 * kMs, 2);
  const Handle c = w.Arm(20 * kSec, 3);
  EXPECT_TRUE(w.Cancel(a));
  EXPECT_TRUE(w.Cancel(c));
  EXPECT_EQ(w.size(), 1u);
  EXPECT_FALSE(w.Cancel(a));  // twice
  EXPECT_THAT(Fire(w, 30 * kSec), ElementsAre(2u));
  EXPECT_FALSE(w.Cancel(b));  // after firing
  EXPECT_EQ(w.NextEventNs(), UINT64_MAX);
}

TEST(TimerWheelTest, InvalidAndZeroHandlesAreNeverLive) {
  TimerWheel w(4, kMs, 0);
  // Fill the wheel so that node 0 is live: a zero-initialized handle field
  // in a TCB must still not name it.
  for (int i = 0; i < 4; ++i) w.Arm(kSec, i);
  EXPECT_FALSE(w.IsLive(0));
  EXPECT_FALSE(w.Cancel(0));
  EXPECT_FALSE(w.Rearm(0, 5 * kMs));
  EXPECT_FALSE(w.Cancel(TimerWheel::kInvalidHandle));
  EXPECT_FALSE(w.Rearm(TimerWheel::kInvalidHandle, 5 * kMs));
  EXPECT_EQ(w.size(), 4u);
  EXPECT_EQ(Fire(w, kSec).size(), 4u);
}

TEST(TimerWheelTest, StaleHandleAfterFireIsANoOp) {
  TimerWheel w(4, kMs, 0);
  const Handle h = w.Arm(kMs, 1);
  EXPECT_THAT(Fire(w, kMs), ElementsAre(1u));
  EXPECT_FALSE(w.Cancel(h));
  EXPECT_FALSE(w.Rearm(h, 5 * kMs));
  EXPECT_EQ(w.size(), 0u);
  EXPECT_THAT(Fire(w, 10 * kMs), IsEmpty());
}

TEST(TimerWheelTest, StaleHandleAfterSlotReuseLeavesTheNewTimerAlone) {
  TimerWheel w(1, kMs, 0);  // one node: reuse is certain
  const Handle old_fired = w.Arm(kMs, 1);
  EXPECT_THAT(Fire(w, kMs), ElementsAre(1u));
  const Handle cancelled = w.Arm(5 * kMs, 2);
  ASSERT_NE(cancelled, TimerWheel::kInvalidHandle);
  EXPECT_NE(cancelled, old_fired);
  EXPECT_TRUE(w.Cancel(cancelled));
  const Handle live = w.Arm(5 * kMs, 3);
  ASSERT_NE(live, TimerWheel::kInvalidHandle);
  for (Handle stale : {old_fired, cancelled}) {
    EXPECT_FALSE(w.IsLive(stale));
    EXPECT_FALSE(w.Cancel(stale));
    EXPECT_FALSE(w.Rearm(stale, 100 * kMs));
  }
  EXPECT_TRUE(w.IsLive(live));
  EXPECT_THAT(Fire(w, 5 * kMs), ElementsAre(3u));
}

TEST(TimerWheelTest, StaleHandlesStayStaleOverManyReuses) {
  // capacity 1: 1 index bit, 31 generation bits.
  TimerWheel w(1, kMs, 0);
  std::vector<Handle> stale;
  for (int i = 0; i < 10'000; ++i) {
    const Handle h = w.Arm(kSec, i);
    ASSERT_NE(h, TimerWheel::kInvalidHandle);
    stale.push_back(h);
    ASSERT_TRUE(w.Cancel(h));
  }
  const Handle live = w.Arm(kSec, 99);
  for (Handle h : stale) ASSERT_FALSE(w.Cancel(h));
  EXPECT_TRUE(w.IsLive(live));
  EXPECT_EQ(w.size(), 1u);
}

TEST(TimerWheelTest, RearmLaterAndEarlierKeepsTheHandle) {
  TimerWheel w(4, kMs, 0);
  const Handle later = w.Arm(10 * kMs, 1);
  const Handle earlier = w.Arm(10 * kSec, 2);
  EXPECT_TRUE(w.Rearm(later, 20 * kSec));
  EXPECT_TRUE(w.Rearm(earlier, 5 * kMs));
  EXPECT_EQ(w.size(), 2u);
  EXPECT_THAT(Fire(w, 5 * kMs - 1), IsEmpty());
  EXPECT_THAT(Fire(w, 5 * kMs), ElementsAre(2u));
  EXPECT_THAT(Fire(w, 10 * kSec), IsEmpty());
  EXPECT_TRUE(w.IsLive(later));
  EXPECT_THAT(Fire(w, 20 * kSec - 1), IsEmpty());
  EXPECT_THAT(Fire(w, 20 * kSec), ElementsAre(1u));
}

TEST(TimerWheelTest, RearmWithinItsSlotMovesTheExpiry) {
  // 1000 ms is in level 1, whose slots are 64 ticks wide: 960..1023 ms
  // share one. Moving inside it takes Rearm's shortcut; the expiry still
  // counts exactly, both ways.
  TimerWheel w(4, kMs, 0);
  const Handle later = w.Arm(1000 * kMs, 1);
  const Handle earlier = w.Arm(1000 * kMs, 2);
  EXPECT_TRUE(w.Rearm(later, 1020 * kMs));
  EXPECT_TRUE(w.Rearm(earlier, 970 * kMs));
  EXPECT_THAT(Fire(w, 970 * kMs - 1), IsEmpty());
  EXPECT_THAT(Fire(w, 970 * kMs), ElementsAre(2u));
  EXPECT_THAT(Fire(w, 1019 * kMs), IsEmpty());
  EXPECT_TRUE(w.IsLive(later));
  EXPECT_THAT(Fire(w, 1020 * kMs), ElementsAre(1u));
}

TEST(TimerWheelTest, RearmIntoThePastFiresOnTheNextAdvance) {
  TimerWheel w(4, kMs, 0);
  const Handle h = w.Arm(kHour, 1);
  EXPECT_THAT(Fire(w, 10 * kMs), IsEmpty());
  EXPECT_TRUE(w.Rearm(h, 2 * kMs));
  EXPECT_THAT(Fire(w, 10 * kMs), ElementsAre(1u));
}

TEST(TimerWheelTest, BudgetLeavesTheRestForTheNextCall) {
  TimerWheel w(32, kMs, 0);
  for (uint64_t ms = 1; ms <= 10; ++ms) w.Arm(ms * kMs, ms);
  EXPECT_THAT(Fire(w, 10 * kMs, 3), ElementsAre(1u, 2u, 3u));
  EXPECT_LE(w.NextEventNs(), 10 * kMs);  // work is waiting
  // now_ns does not move: the leftovers still fire, in order.
  EXPECT_THAT(Fire(w, 10 * kMs, 3), ElementsAre(4u, 5u, 6u));
  w.Arm(11 * kMs, 11);
  // Leftovers come before a timer of a later tick.
  EXPECT_THAT(Fire(w, 11 * kMs, 3), ElementsAre(7u, 8u, 9u));
  EXPECT_THAT(Fire(w, 11 * kMs, 3), ElementsAre(10u, 11u));
  EXPECT_THAT(Fire(w, 11 * kMs, 3), IsEmpty());
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, ZeroBudgetFiresNothing) {
  TimerWheel w(4, kMs, 0);
  w.Arm(kMs, 1);
  EXPECT_THAT(Fire(w, kSec, 0), IsEmpty());
  EXPECT_EQ(w.size(), 1u);
  EXPECT_THAT(Fire(w, kSec, 1), ElementsAre(1u));
}

TEST(TimerWheelTest, CancelALeftoverDueTimer) {
  TimerWheel w(4, kMs, 0);
  w.Arm(kMs, 1);
  const Handle h = w.Arm(kMs, 2);
  EXPECT_THAT(Fire(w, kMs, 1), ElementsAre(1u));
  EXPECT_TRUE(w.Cancel(h));  // due but not fired: still live
  EXPECT_THAT(Fire(w, kMs), IsEmpty());
}

TEST(TimerWheelTest, RearmALeftoverDueTimerTakesItBack) {
  TimerWheel w(4, kMs, 0);
  w.Arm(kMs, 1);
  const Handle h = w.Arm(kMs, 2);
  EXPECT_THAT(Fire(w, kMs, 1), ElementsAre(1u));
  EXPECT_TRUE(w.Rearm(h, kSec));
  EXPECT_THAT(Fire(w, kMs), IsEmpty());
  EXPECT_THAT(Fire(w, kSec), ElementsAre(2u));
}

TEST(TimerWheelTest, CallbackArmsADueTimerThatFiresInTheSameCall) {
  TimerWheel w(4, kMs, 0);
  w.Arm(kMs, 1);
  std::vector<uint64_t> fired;
  auto on_expire = [&](Handle, uint64_t c) {
    fired.push_back(c);
    if (c == 1) {
      w.Arm(0, 2);        // long past
      w.Arm(2 * kMs, 3);  // due by now_ns, not yet reached by the wheel
      w.Arm(4 * kMs, 4);  // not due
    }
  };
  EXPECT_EQ(w.Advance(3 * kMs, kUnlimited, on_expire), 3u);
  EXPECT_THAT(fired, ElementsAre(1u, 2u, 3u));
  EXPECT_EQ(w.size(), 1u);
}

TEST(TimerWheelTest, CallbackArmsADueTimerWithNoBudgetLeft) {
  TimerWheel w(4, kMs, 0);
  w.Arm(kMs, 1);
  std::vector<uint64_t> fired;
  auto on_expire = [&](Handle, uint64_t c) {
    fired.push_back(c);
    if (c == 1) w.Arm(kMs, 2);
  };
  EXPECT_EQ(w.Advance(kMs, 1, on_expire), 1u);
  EXPECT_THAT(fired, ElementsAre(1u));
  EXPECT_EQ(w.Advance(kMs, 1, on_expire), 1u);
  EXPECT_THAT(fired, ElementsAre(1u, 2u));
}

TEST(TimerWheelTest, CallbackCancelsATimerDueInTheSameAdvance) {
  TimerWheel w(8, kMs, 0);
  Handle victims[3];
  w.Arm(kMs, 0);
  victims[0] = w.Arm(kMs, 1);        // same tick, queued behind
  victims[1] = w.Arm(2 * kMs, 2);    // a later tick of the same call
  victims[2] = w.Arm(100 * kMs, 3);  // in a higher level, same call
  std::vector<uint64_t> fired;
  std::vector<bool> cancelled;
  EXPECT_EQ(w.Advance(200 * kMs, kUnlimited,
                      [&](Handle, uint64_t c) {
                        fired.push_back(c);
                        for (Handle v : victims) {
                          cancelled.push_back(w.Cancel(v));
                        }
                      }),
            1u);
  EXPECT_THAT(fired, ElementsAre(0u));
  EXPECT_THAT(cancelled, ElementsAre(true, true, true));
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, CallbackSeesItsOwnHandleStale) {
  TimerWheel w(4, kMs, 0);
  w.Arm(kMs, 1);
  bool cancel_result = true;
  bool rearm_result = true;
  w.Advance(kMs, kUnlimited, [&](Handle h, uint64_t) {
    cancel_result = w.Cancel(h);
    rearm_result = w.Rearm(h, 5 * kMs);
  });
  EXPECT_FALSE(cancel_result);
  EXPECT_FALSE(rearm_result);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, CallbackRearmsADueTimerToLater) {
  TimerWheel w(4, kMs, 0);
  w.Arm(kMs, 1);
  const Handle other = w.Arm(kMs, 2);
  std::vector<uint64_t> fired;
  auto on_expire = [&](Handle, uint64_t c) {
    fired.push_back(c);
    if (c == 1) {
      EXPECT_TRUE(w.Rearm(other, 50 * kMs));
    }
  };
  w.Advance(10 * kMs, kUnlimited, on_expire);
  EXPECT_THAT(fired, ElementsAre(1u));
  w.Advance(50 * kMs, kUnlimited, on_expire);
  EXPECT_THAT(fired, ElementsAre(1u, 2u));
}

TEST(TimerWheelTest, CallbackReusesTheFiredNode) {
  // Capacity 1: the timer re-armed from its own callback (a periodic timer,
  // an RTO backing off) can only get the node that just fired.
  TimerWheel w(1, kMs, 0);
  w.Arm(kMs, 1);
  Handle rearmed = TimerWheel::kInvalidHandle;
  w.Advance(kMs, kUnlimited,
            [&](Handle, uint64_t) { rearmed = w.Arm(2 * kMs, 2); });
  EXPECT_NE(rearmed, TimerWheel::kInvalidHandle);
  EXPECT_THAT(Fire(w, 2 * kMs), ElementsAre(2u));
}

TEST(TimerWheelTest, CapacityExhaustionAndRecovery) {
  TimerWheel w(3, kMs, 0);
  EXPECT_EQ(w.capacity(), 3u);
  const Handle a = w.Arm(kMs, 1);
  w.Arm(kSec, 2);
  w.Arm(kSec, 3);
  EXPECT_EQ(w.Arm(kSec, 4), TimerWheel::kInvalidHandle);
  EXPECT_EQ(w.size(), 3u);
  EXPECT_TRUE(w.Cancel(a));
  const Handle b = w.Arm(kMs, 5);
  EXPECT_NE(b, TimerWheel::kInvalidHandle);
  EXPECT_EQ(w.Arm(kSec, 6), TimerWheel::kInvalidHandle);
  EXPECT_THAT(Fire(w, kMs), ElementsAre(5u));  // firing frees a node too
  EXPECT_NE(w.Arm(kSec, 7), TimerWheel::kInvalidHandle);
  EXPECT_THAT(Fire(w, kSec), UnorderedElementsAre(2u, 3u, 7u));
}

TEST(TimerWheelTest, ZeroCapacityArmsNothing) {
  TimerWheel w(0, kMs, 0);
  EXPECT_EQ(w.Arm(kMs, 1), TimerWheel::kInvalidHandle);
  EXPECT_THAT(Fire(w, kSec), IsEmpty());
}

TEST(TimerWheelTest, ZeroTickIsOneNanosecond) {
  TimerWheel w(2, 0, 0);
  EXPECT_EQ(w.tick_ns(), 1u);
  w.Arm(7, 1);
  EXPECT_THAT(Fire(w, 6), IsEmpty());
  EXPECT_THAT(Fire(w, 7), ElementsAre(1u));
}

TEST(TimerWheelTest, LongIdleGapFiresEverythingInFewSteps) {
  constexpr uint32_t kTimers = 100'000;
  TimerWheel w(kTimers, kMs, 0);
  std::mt19937_64 rng(11);
  std::vector<uint64_t> expiries;  // by cookie
  for (uint32_t i = 0; i < kTimers; ++i) {
    // RTOs to keepalives: 1 ms to 2 h, on whole ticks.
    const uint64_t e = (1 + rng() % (2 * kHour / kMs)) * kMs;
    expiries.push_back(e);
    w.Arm(e, i);
  }
  std::vector<uint64_t> fired_at;
  // The worker was descheduled for three hours (10.8 million ticks).
  const uint32_t n = w.Advance(3 * kHour, kUnlimited, [&](Handle, uint64_t c) {
    fired_at.push_back(c);
  });
  EXPECT_EQ(n, kTimers);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_TRUE(std::is_sorted(fired_at.begin(), fired_at.end(),
                             [&](uint64_t a, uint64_t b) {
                               return expiries[a] / kMs < expiries[b] / kMs;
                             }));
  // The wheel stops only at occupied slots, at most once per timer and level
  // it passes through (2 h is level 3: four), and relinks each timer at most
  // once per level: a tick-by-tick walk would stop 10.8 million times.
  EXPECT_LE(w.stats().stops, 4u * kTimers);
  EXPECT_LE(w.stats().cascaded, 5u * kTimers);
  // And an empty wheel jumping a year does not stop at all.
  const TimerWheel::Stats before = w.stats();
  EXPECT_THAT(Fire(w, 24 * 365 * kHour), IsEmpty());
  EXPECT_EQ(w.stats().stops, before.stops);
}

TEST(TimerWheelTest, OneTimerHoursAwayTakesAFewSteps) {
  TimerWheel w(4, kMs, 0);
  w.Arm(5 * kHour + 3 * kMs, 1);  // 18 million ticks: level 4
  EXPECT_THAT(Fire(w, 5 * kHour + 2 * kMs), IsEmpty());
  EXPECT_THAT(Fire(w, 5 * kHour + 3 * kMs), ElementsAre(1u));
  // One stop per level it passed through.
  EXPECT_LE(w.stats().stops, 5u);
  EXPECT_LE(w.stats().cascaded, 4u);
}

// Expiries just below, at and above every level boundary (64^L ticks), from a
// wheel whose time is not aligned to any level.
TEST(TimerWheelTest, FiresExactlyAcrossEveryLevelBoundary) {
  for (uint64_t offset : {0ull, 1ull, 37ull, 63ull, 4095ull, 262'143ull}) {
    TimerWheel w(64, 1, 0);  // 1 ns ticks: ticks and ns are the same
    EXPECT_THAT(Fire(w, offset), IsEmpty());
    std::vector<uint64_t> expiries;
    for (int level = 0; level <= 6; ++level) {
      const uint64_t width = uint64_t{1} << (6 * level);
      for (uint64_t d : {width - 1, width, width + 1}) {
        if (d == 0) continue;
        expiries.push_back(offset + d);
      }
    }
    std::sort(expiries.begin(), expiries.end());
    expiries.erase(std::unique(expiries.begin(), expiries.end()),
                   expiries.end());
    for (uint64_t e : expiries) w.Arm(e, e);
    // Stop just before and at each expiry: nothing early, nothing late.
    for (uint64_t e : expiries) {
      EXPECT_THAT(Fire(w, e - 1), IsEmpty()) << "offset " << offset;
      EXPECT_THAT(Fire(w, e), ElementsAre(e)) << "offset " << offset;
    }
    EXPECT_EQ(w.size(), 0u);
  }
}

TEST(TimerWheelTest, FarFutureExpiriesArePlacedAgainAndFireExactly) {
  // 1 ns ticks make the span 2^36 ns (68 s), so these are far beyond it.
  TimerWheel w(8, 1, 0);
  const uint64_t span = uint64_t{1} << 36;
  const std::vector<uint64_t> expiries = {span - 1, span, span + 1,
                                          3 * span + 12345, uint64_t{1} << 44};
  for (uint64_t e : expiries) w.Arm(e, e);
  for (uint64_t e : expiries) {
    EXPECT_THAT(Fire(w, e - 1), IsEmpty());
    EXPECT_THAT(Fire(w, e), ElementsAre(e));
  }
  // 2^44 is 256 spans away: it was placed again about once per span.
  EXPECT_LE(w.stats().cascaded, 6u * 300);
}

TEST(TimerWheelTest, FarFutureTimerSurvivesOneGiantJump) {
  TimerWheel w(2, kMs, 0);
  w.Arm(UINT64_MAX, 1);  // "never", as a keepalive with a huge setting
  w.Arm(3 * 365 * 24 * kHour, 2);  // three years: past the 2^36-tick span
  EXPECT_THAT(Fire(w, 3 * 365 * 24 * kHour - 1), IsEmpty());
  EXPECT_THAT(Fire(w, 3 * 365 * 24 * kHour), ElementsAre(2u));
  EXPECT_EQ(w.size(), 1u);
  EXPECT_LT(w.NextEventNs(), UINT64_MAX);
}

TEST(TimerWheelTest, TimeGoingBackwardsIsNoMovement) {
  TimerWheel w(4, kMs, 0);
  w.Arm(20 * kMs, 1);
  EXPECT_THAT(Fire(w, 10 * kMs), IsEmpty());
  EXPECT_THAT(Fire(w, 5 * kMs), IsEmpty());
  w.Arm(8 * kMs, 2);  // behind the wheel's 10 ms: due
  EXPECT_THAT(Fire(w, 5 * kMs), ElementsAre(2u));
  EXPECT_THAT(Fire(w, 20 * kMs), ElementsAre(1u));
}

TEST(TimerWheelTest, NextEventNsLetsAnIdleWorkerSleep) {
  TimerWheel w(4, kMs, 0);
  EXPECT_EQ(w.NextEventNs(), UINT64_MAX);
  w.Arm(7 * kMs + 5, 1);  // tick 8
  EXPECT_EQ(w.NextEventNs(), 8 * kMs);
  w.Arm(90 * kSec, 2);
  EXPECT_EQ(w.NextEventNs(), 8 * kMs);
  // Sleeping until NextEventNs each time reaches every expiry exactly, in a
  // few wakeups (one per level a timer passes through).
  std::vector<std::pair<uint64_t, uint64_t>> fired;  // (cookie, now)
  int wakeups = 0;
  for (uint64_t now = w.NextEventNs(); now != UINT64_MAX;
       now = w.NextEventNs()) {
    ASSERT_LT(++wakeups, 10);
    w.Advance(now, kUnlimited,
              [&](Handle, uint64_t c) { fired.emplace_back(c, now); });
  }
  EXPECT_THAT(fired, ElementsAre(std::pair<uint64_t, uint64_t>{1, 8 * kMs},
                                 std::pair<uint64_t, uint64_t>{2, 90 * kSec}));
}

TEST(TimerWheelTest, CascadeWorkPerCallIsBoundedByTheBudget) {
  // 10,000 60 s timers armed within one level-2 slot, as a burst of
  // connections entering FIN-WAIT-2 would.
  constexpr uint32_t kTimers = 10'000;
  TimerWheel w(kTimers, kMs, 0);
  for (uint32_t i = 0; i < kTimers; ++i) w.Arm(60 * kSec + i * kMs / 8, i);
  uint64_t now = 60 * kSec + kTimers * kMs;
  std::vector<uint64_t> fired;
  int calls = 0;
  while (w.size() > 0) {
    ASSERT_LT(++calls, 100'000);
    const uint64_t cascaded_before = w.stats().cascaded;
    const uint32_t n =
        w.Advance(now, 4, [&](Handle, uint64_t c) { fired.push_back(c); });
    EXPECT_LE(n, 4u);
    EXPECT_LE(w.stats().cascaded - cascaded_before,
              4u * TimerWheel::kCascadesPerFire);
    if (n < 4 && w.size() > 0) {
      EXPECT_LE(w.NextEventNs(), now);  // says there is more to do
    }
  }
  ASSERT_EQ(fired.size(), kTimers);
  // In tick order (cookie i expires at 60 s + i/8 ms, rounded up).
  EXPECT_TRUE(std::is_sorted(
      fired.begin(), fired.end(),
      [](uint64_t a, uint64_t b) { return (a + 7) / 8 < (b + 7) / 8; }));
}

TEST(TimerWheelTest, ClampsCapacityToWhatHandlesCanName) {
  // Only the arithmetic is checked here; a wheel of 2^24 nodes is 512 MiB.
  EXPECT_EQ(TimerWheel::kMaxCapacity, (1u << 24) - 1);
  TimerWheel w(255, kMs, 0);  // 8 index bits, 24 generation bits
  std::set<Handle> handles;
  for (int i = 0; i < 255; ++i) {
    const Handle h = w.Arm(kSec, i);
    ASSERT_NE(h, TimerWheel::kInvalidHandle);
    EXPECT_NE(h, 0u);
    EXPECT_EQ(h & 0xff, static_cast<Handle>(i));  // the node index
    handles.insert(h);
  }
  EXPECT_EQ(handles.size(), 255u);
  EXPECT_EQ(w.Arm(kSec, 0), TimerWheel::kInvalidHandle);
}

TEST(TimerWheelTest, AllocatesNothingAfterConstruction) {
  TimerWheel w(10'000, kMs, 0);
  std::mt19937_64 rng(3);
  std::vector<Handle> handles(10'000, TimerWheel::kInvalidHandle);
  uint64_t fired = 0;
  const int64_t before = g_allocations;
  for (uint64_t now = 0; now < 20 * kSec; now += kMs) {
    for (int k = 0; k < 4; ++k) {
      Handle& h = handles[rng() % handles.size()];
      if (!w.Rearm(h, now + rng() % (10 * kSec))) {
        h = w.Arm(now + rng() % (10 * kSec), 0);
      }
      if (rng() % 4 == 0) w.Cancel(handles[rng() % handles.size()]);
    }
    fired += w.Advance(now, 64, [&](Handle, uint64_t) {
      if (rng() % 2 == 0) w.Arm(now + rng() % kSec, 1);
    });
  }
  EXPECT_EQ(g_allocations - before, 0);
  EXPECT_GT(fired, 1000u);
}

}  // namespace
}  // namespace synwave::timer
