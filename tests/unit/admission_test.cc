// Admission control (engine/admission.h) on a virtual clock: when a worker
// is behind, how many new connections it takes on, and that a closed loop
// no larger than the backlog is never refused.
#include "engine/admission.h"

#include "gtest/gtest.h"

namespace synwave::engine {
namespace {

constexpr uint64_t kUs = 1000;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint32_t kBurst = 32;

AdmissionConfig Config(uint64_t target_ns, uint32_t backlog) {
  AdmissionConfig c;
  c.target_ns = target_ns;
  c.backlog = backlog;
  return c;
}

// SYNs admitted of `n` offered.
int Offer(Admission& a, int n) {
  int admitted = 0;
  for (int i = 0; i < n; ++i) admitted += a.AdmitSyn() ? 1 : 0;
  return admitted;
}

TEST(AdmissionTest, OffByDefaultAndWithTargetZero) {
  EXPECT_FALSE(Admission(AdmissionConfig{}).enabled());
  Admission a(Config(0, 0));
  EXPECT_FALSE(a.enabled());
  // Even a queue that never empties does not make it refuse.
  for (uint64_t t = 0; t < 100 * kMs; t += 100 * kUs) {
    a.OnRxBurst(t, kBurst, kBurst, 0);
    EXPECT_FALSE(a.behind());
    EXPECT_EQ(Offer(a, 10), 10);
  }
}

TEST(AdmissionTest, QueueThatEmptiesIsNeverBehind) {
  Admission a(Config(1 * kMs, 0));
  // Full bursts for 0.9 ms at a time, then a short one: never a standing
  // queue past the target, so every SYN is admitted, however many.
  uint64_t t = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 9; ++i, t += 100 * kUs) {
      a.OnRxBurst(t, kBurst, kBurst, 0);
      EXPECT_FALSE(a.behind());
      EXPECT_EQ(Offer(a, 32), 32);
    }
    a.OnRxBurst(t, 5, kBurst, 0);
    t += 100 * kUs;
  }
}

TEST(AdmissionTest, BehindOnlyAfterTheTarget) {
  Admission a(Config(1 * kMs, 0));
  a.OnRxBurst(0, 3, kBurst, 0);  // empty at 0
  a.OnRxBurst(500 * kUs, kBurst, kBurst, 0);
  EXPECT_FALSE(a.behind());
  a.OnRxBurst(1 * kMs, kBurst, kBurst, 0);
  EXPECT_FALSE(a.behind());  // exactly the target is not past it
  a.OnRxBurst(1 * kMs + 1, kBurst, kBurst, 0);
  EXPECT_TRUE(a.behind());
  EXPECT_EQ(Offer(a, 5), 0);  // backlog 0: nothing while behind
  a.OnRxBurst(2 * kMs, 31, kBurst, 3);  // the queue emptied
  EXPECT_FALSE(a.behind());
  EXPECT_EQ(Offer(a, 5), 5);
}

TEST(AdmissionTest, FirstBurstStartsTheClock) {
  // A worker whose very first burst is full is not behind at once, however
  // large the clock's value.
  Admission a(Config(1 * kMs, 0));
  a.OnRxBurst(1'000'000 * kMs, kBurst, kBurst, 0);
  EXPECT_FALSE(a.behind());
  a.OnRxBurst(1'000'000 * kMs + 2 * kMs, kBurst, kBurst, 0);
  EXPECT_TRUE(a.behind());
}

TEST(AdmissionTest, BehindHoldsTheHandshakeBacklog) {
  Admission a(Config(1 * kMs, 100));
  a.OnRxBurst(0, 0, kBurst, 0);
  // 60 SYNs admitted before the worker is behind count against the
  // backlog: they are in their handshake too.
  a.OnRxBurst(100 * kUs, kBurst, kBurst, 0);
  EXPECT_EQ(Offer(a, 60), 60);
  a.OnRxBurst(2 * kMs, kBurst, kBurst, 40);
  ASSERT_TRUE(a.behind());
  EXPECT_EQ(a.in_handshake(), 20);
  EXPECT_EQ(Offer(a, 1000), 80);  // up to 100 in their handshake
  EXPECT_EQ(a.in_handshake(), 100);
  // 25 handshakes complete: 25 more may start, no more.
  a.OnRxBurst(3 * kMs, kBurst, kBurst, 65);
  EXPECT_EQ(Offer(a, 1000), 25);
  EXPECT_EQ(a.in_handshake(), 100);
  // The queue empties: the counts start over, everything is admitted.
  a.OnRxBurst(4 * kMs, 0, kBurst, 70);
  EXPECT_FALSE(a.behind());
  EXPECT_EQ(Offer(a, 1000), 1000);
}

// A SYN flood that keeps the worker behind: its handshakes never complete
// (spoofed sources), so it does not fill the backlog; the worker answers
// every SYN with a cookie, and a client among the flood gets through.
TEST(AdmissionTest, SynFloodDoesNotLockClientsOut) {
  Admission a(Config(1 * kMs, 100));
  uint64_t handshakes = 0;
  a.OnRxBurst(0, 0, kBurst, handshakes);
  int admitted = 0;
  for (uint64_t t = 10 * kUs; t <= 100 * kMs; t += 10 * kUs) {
    if (t % kMs == 0) ++handshakes;  // one client a millisecond completes
    a.OnRxBurst(t, kBurst, kBurst, handshakes);
    admitted += Offer(a, 30);  // 3 million SYNs a second
  }
  EXPECT_TRUE(a.behind());
  EXPECT_EQ(admitted, 30 * 10000);
}

// An open loop offered twice what the worker finishes: while behind, it
// takes on only what the handshakes completed make room for, so the
// admitted rate follows the completion rate instead of the offered one.
TEST(AdmissionTest, OpenLoopOverloadIsHeldToTheCompletions) {
  Admission a(Config(1 * kMs, 64));
  uint64_t handshakes = 0;
  uint64_t admitted = 0;
  a.OnRxBurst(0, 0, kBurst, handshakes);
  // Every 10 us: 2 SYNs offered, 1 handshake completes; the queue never
  // empties. Over 1 s: 200,000 offered, 100,000 completions.
  for (uint64_t t = 10 * kUs; t <= 1000 * kMs; t += 10 * kUs) {
    ++handshakes;
    a.OnRxBurst(t, kBurst, kBurst, handshakes);
    admitted += static_cast<uint64_t>(Offer(a, 2));
  }
  EXPECT_TRUE(a.behind());
  // What came in before the target, plus one per completion (and the
  // backlog): not the 200,000 offered.
  EXPECT_LE(admitted, handshakes + 64 + 200);
  EXPECT_GE(admitted, handshakes);
  EXPECT_LE(a.in_handshake(), 64);
}

// A closed loop of N clients, N <= backlog: each client's next SYN comes
// only after its previous handshake completed, so no more than N are ever
// in their handshake and none is refused, however long the queue stands.
TEST(AdmissionTest, ClosedLoopWithinTheBacklogIsNeverRefused) {
  constexpr int kClients = 512;
  Admission a(Config(1 * kMs, kClients));
  uint64_t handshakes = 0;
  a.OnRxBurst(0, 0, kBurst, handshakes);
  // Client c is in its handshake from its SYN until its ACK is read a few
  // polls later; all start at once, as a load's first burst does.
  int in_handshake[kClients] = {};
  int refused = 0;
  uint64_t t = 0;
  for (int poll = 0; poll < 20000; ++poll, t += 50 * kUs) {
    a.OnRxBurst(t, kBurst, kBurst, handshakes);  // never empties
    for (int c = 0; c < kClients; ++c) {
      if (in_handshake[c] == 0) {
        if (a.AdmitSyn()) {
          in_handshake[c] = 1 + (c + poll) % 7;  // its ACK a few polls on
        } else {
          ++refused;
        }
      } else if (--in_handshake[c] == 0) {
        ++handshakes;  // completes; its next connection's SYN follows
      }
    }
  }
  EXPECT_TRUE(a.behind());
  EXPECT_EQ(refused, 0);
  EXPECT_GT(handshakes, 1'000'000u);
}

// The same closed loop with more clients than the backlog is refused while
// behind (the trade-off --admission-backlog sets).
TEST(AdmissionTest, ClosedLoopPastTheBacklogIsRefusedWhileBehind) {
  constexpr int kClients = 512;
  Admission a(Config(1 * kMs, 256));
  uint64_t handshakes = 0;
  a.OnRxBurst(0, 0, kBurst, handshakes);
  int in_handshake[kClients] = {};
  int refused = 0;
  uint64_t t = 0;
  for (int poll = 0; poll < 1000; ++poll, t += 50 * kUs) {
    a.OnRxBurst(t, kBurst, kBurst, handshakes);
    for (int c = 0; c < kClients; ++c) {
      if (in_handshake[c] == 0) {
        if (a.AdmitSyn()) {
          in_handshake[c] = 3;
        } else {
          ++refused;
        }
      } else if (--in_handshake[c] == 0) {
        ++handshakes;
      }
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_LE(a.in_handshake(), 256);
}

}  // namespace
}  // namespace synwave::engine
