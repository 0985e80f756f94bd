// Tests for SYN cookies (docs/conformance.md item 31): a cookie made for a
// SYN is accepted from the completing ACK within its validity window and
// carries the MSS back; it is rejected when stale, from the future, for
// another 4-tuple or client ISN, or with any bit changed; random ACKs are
// accepted about 2^-29 of the time; window scale and SACK survive the trip
// through TSval.
#include "tcp/syncookie.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace synwave::tcp {
namespace {

using flow::FlowKey;
using wire::SeqNum;

constexpr SipKey kSecret = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
constexpr FlowKey kKey = {0x0a000001, 0xc0a80105, 443, 51234};
constexpr SeqNum kPeerIsn(0x12345678);

FlowKey RandomKey(std::mt19937_64& rng) {
  const uint64_t r = rng();
  return {static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32),
          static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng())};
}

TEST(SynCookieTest, CounterIsTimeShiftedByThePeriod) {
  EXPECT_EQ(SynCookies::Counter(0), 0u);
  EXPECT_EQ(SynCookies::Counter((uint64_t{1} << 36) - 1), 0u);
  EXPECT_EQ(SynCookies::Counter(uint64_t{1} << 36), 1u);
  EXPECT_EQ(SynCookies::Counter(uint64_t{5} << 20, SynCookieParams{20}), 5u);
  // Wraps modulo 2^32 with a short period.
  EXPECT_EQ(SynCookies::Counter((uint64_t{1} << 32) + 7, SynCookieParams{0}),
            7u);
}

TEST(SynCookieTest, MssTableRoundsDown) {
  EXPECT_EQ(SynCookies::MssIndex(0), 0u);  // no option: 536
  EXPECT_EQ(SynCookies::MssIndex(100), 0u);
  EXPECT_EQ(SynCookies::MssIndex(536), 0u);
  EXPECT_EQ(SynCookies::MssIndex(1299), 0u);
  EXPECT_EQ(SynCookies::MssIndex(1300), 1u);
  EXPECT_EQ(SynCookies::MssIndex(1439), 1u);
  EXPECT_EQ(SynCookies::MssIndex(1440), 2u);
  EXPECT_EQ(SynCookies::MssIndex(1459), 2u);
  EXPECT_EQ(SynCookies::MssIndex(1460), 3u);
  EXPECT_EQ(SynCookies::MssIndex(9000), 3u);
  EXPECT_EQ(SynCookies::MssIndex(65535), 3u);
  for (unsigned i = 0; i < 4; ++i) {
    EXPECT_EQ(SynCookies::MssForIndex(i), kCookieMssTable[i]);
    EXPECT_EQ(SynCookies::MssIndex(kCookieMssTable[i]), i);
  }
}

// The layout the header documents: bits 31..3 are SipHash-2-4 of the 21-byte
// message, bit 2 the counter's parity, bits 1..0 the MSS index.
TEST(SynCookieTest, LayoutMatchesReferenceSipHash) {
  const SynCookies cookies(kSecret);
  for (uint32_t counter : {0u, 1u, 0x89abcdefu}) {
    for (unsigned index = 0; index < 4; ++index) {
      uint8_t msg[21];
      const uint64_t w0 = (uint64_t{kKey.local_ip} << 32) | kKey.remote_ip;
      const uint64_t w1 = (uint64_t{kKey.local_port} << 48) |
                          (uint64_t{kKey.remote_port} << 32) | kPeerIsn.value();
      std::memcpy(msg, &w0, 8);
      std::memcpy(msg + 8, &w1, 8);
      std::memcpy(msg + 16, &counter, 4);
      msg[20] = static_cast<uint8_t>(index);
      const uint32_t mac = static_cast<uint32_t>(SipHash24(kSecret, msg, 21));
      EXPECT_EQ(cookies.Mac(kKey, kPeerIsn, counter, index), mac);
      const uint32_t cookie =
          cookies.Make(kKey, kPeerIsn, kCookieMssTable[index], counter).value();
      EXPECT_EQ(cookie, (mac & ~7u) | ((counter & 1) << 2) | index);
    }
  }
}

TEST(SynCookieTest, RoundTripEveryMssAtAgeZeroAndOne) {
  const SynCookies cookies(kSecret);
  const uint32_t counter = 1000;
  for (unsigned index = 0; index < 4; ++index) {
    const uint16_t mss = kCookieMssTable[index];
    // Also an MSS just above the entry: rounded down to it.
    for (uint16_t peer_mss : {mss, static_cast<uint16_t>(mss + 1)}) {
      const SeqNum cookie = cookies.Make(kKey, kPeerIsn, peer_mss, counter);
      EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, counter), mss);
      EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, counter + 1), mss);
    }
  }
  // No MSS option: 536.
  const SeqNum cookie = cookies.Make(kKey, kPeerIsn, 0, counter);
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, counter), 536);
}

TEST(SynCookieTest, RejectsAgeTwoAndOlder) {
  const SynCookies cookies(kSecret);
  for (unsigned index = 0; index < 4; ++index) {
    const SeqNum cookie =
        cookies.Make(kKey, kPeerIsn, kCookieMssTable[index], 1000);
    for (uint32_t age = 2; age < 10; ++age) {
      EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, 1000 + age), 0) << age;
    }
  }
}

TEST(SynCookieTest, RejectsCounterFromTheFuture) {
  const SynCookies cookies(kSecret);
  for (unsigned index = 0; index < 4; ++index) {
    const SeqNum cookie =
        cookies.Make(kKey, kPeerIsn, kCookieMssTable[index], 1000);
    for (uint32_t ahead = 1; ahead < 10; ++ahead) {
      EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, 1000 - ahead), 0)
          << ahead;
    }
  }
}

TEST(SynCookieTest, ValidityWindowAcrossCounterWrap) {
  const SynCookies cookies(kSecret);
  const SeqNum made_last = cookies.Make(kKey, kPeerIsn, 1460, 0xffffffffu);
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, made_last, 0xffffffffu), 1460);
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, made_last, 0), 1460);  // age 1
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, made_last, 1), 0);     // age 2
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, made_last, 0xfffffffeu), 0);

  const SeqNum made_zero = cookies.Make(kKey, kPeerIsn, 1460, 0);
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, made_zero, 0), 1460);
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, made_zero, 1), 1460);
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, made_zero, 0xffffffffu),
            0);  // future
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, made_zero, 0xfffffffeu),
            0);  // future
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, made_zero, 2), 0);
}

// The validity window in time, through Counter: with 1024 ns slots a cookie
// made at t is good until the end of the slot after t's, so for at least one
// and at most two slot lengths.
TEST(SynCookieTest, LifetimeInNanoseconds) {
  const SynCookies cookies(kSecret);
  const SynCookieParams params{10};
  for (uint64_t made_ns : {uint64_t{5} << 10, (uint64_t{5} << 10) + 1023}) {
    const SeqNum cookie = cookies.Make(kKey, kPeerIsn, 1440,
                                       SynCookies::Counter(made_ns, params));
    auto check_at = [&](uint64_t ns) {
      return cookies.Check(kKey, kPeerIsn, cookie,
                           SynCookies::Counter(ns, params));
    };
    EXPECT_EQ(check_at(made_ns), 1440);
    EXPECT_EQ(check_at((uint64_t{7} << 10) - 1), 1440);  // last ns of slot 6
    EXPECT_EQ(check_at(uint64_t{7} << 10), 0);           // slot 7: age 2
    EXPECT_EQ(check_at((uint64_t{5} << 10) - 1), 0);     // slot 4: before it
  }
}

TEST(SynCookieTest, RejectsAnotherFourTuple) {
  const SynCookies cookies(kSecret);
  const SeqNum cookie = cookies.Make(kKey, kPeerIsn, 1460, 7);
  ASSERT_EQ(cookies.Check(kKey, kPeerIsn, cookie, 7), 1460);
  std::vector<FlowKey> others;
  for (uint32_t bit = 0; bit < 32; ++bit) {
    FlowKey k = kKey;
    k.local_ip ^= 1u << bit;
    others.push_back(k);
    k = kKey;
    k.remote_ip ^= 1u << bit;
    others.push_back(k);
  }
  for (uint32_t bit = 0; bit < 16; ++bit) {
    FlowKey k = kKey;
    k.local_port ^= static_cast<uint16_t>(1u << bit);
    others.push_back(k);
    k = kKey;
    k.remote_port ^= static_cast<uint16_t>(1u << bit);
    others.push_back(k);
  }
  // The tuple seen from the other side (addresses and ports swapped).
  others.push_back(
      {kKey.remote_ip, kKey.local_ip, kKey.remote_port, kKey.local_port});
  for (const FlowKey& k : others) {
    EXPECT_EQ(cookies.Check(k, kPeerIsn, cookie, 7), 0);
    EXPECT_EQ(cookies.Check(k, kPeerIsn, cookie, 8), 0);
  }
}

TEST(SynCookieTest, RejectsAnotherClientIsn) {
  const SynCookies cookies(kSecret);
  const SeqNum cookie = cookies.Make(kKey, kPeerIsn, 1460, 7);
  for (uint32_t bit = 0; bit < 32; ++bit) {
    const SeqNum other(kPeerIsn.value() ^ (1u << bit));
    EXPECT_EQ(cookies.Check(kKey, other, cookie, 7), 0) << bit;
  }
  // SEG.SEQ itself instead of SEG.SEQ - 1 (an off-by-one in the caller).
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn + 1, cookie, 7), 0);
}

TEST(SynCookieTest, RejectsEverySingleBitFlip) {
  const SynCookies cookies(kSecret);
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 64; ++trial) {
    const FlowKey key = RandomKey(rng);
    const SeqNum isn(static_cast<uint32_t>(rng()));
    const uint16_t mss = kCookieMssTable[trial & 3];
    const uint32_t counter = static_cast<uint32_t>(rng());
    const SeqNum cookie = cookies.Make(key, isn, mss, counter);
    ASSERT_EQ(cookies.Check(key, isn, cookie, counter), mss);
    for (uint32_t bit = 0; bit < 32; ++bit) {
      const SeqNum tampered(cookie.value() ^ (1u << bit));
      EXPECT_EQ(cookies.Check(key, isn, tampered, counter), 0) << bit;
      EXPECT_EQ(cookies.Check(key, isn, tampered, counter + 1), 0) << bit;
    }
  }
}

// A blind attacker who knows the 4-tuple and SEG.SEQ but not the secret:
// each random SEG.ACK is accepted with probability 2^-29, so 10^6 tries
// should find about 0.002 (the bound 5 has a false-failure chance far below
// 10^-15).
TEST(SynCookieTest, RandomAcksAreAlmostNeverAccepted) {
  const SynCookies cookies(kSecret);
  std::mt19937_64 rng(42);
  const uint32_t counter = 12345;
  int accepted = 0;
  for (int i = 0; i < 1000000; ++i) {
    const SeqNum seg_ack(static_cast<uint32_t>(rng()));
    if (cookies.Check(kKey, kPeerIsn, seg_ack - 1, counter) != 0) ++accepted;
  }
  EXPECT_LE(accepted, 5);
}

// Every MakeBatch path the CPU can run (a path it cannot run resolves to a
// slower one, which is then tested twice).
class SynCookieBatchTest : public testing::TestWithParam<SynCookieImpl> {};

TEST_P(SynCookieBatchTest, BatchEqualsSingle) {
  const SynCookies cookies(kSecret, GetParam());
  ASSERT_NE(cookies.impl(), SynCookieImpl::kAuto);
  if (cookies.impl() != GetParam()) {
    GTEST_SKIP() << "CPU lacks " << SynCookieImplName(GetParam());
  }
  std::mt19937_64 rng(7);
  for (size_t n = 0; n <= 64; ++n) {
    std::vector<FlowKey> keys(n);
    std::vector<SeqNum> isns(n);
    std::vector<uint16_t> mss(n);
    for (size_t i = 0; i < n; ++i) {
      keys[i] = RandomKey(rng);
      isns[i] = SeqNum(static_cast<uint32_t>(rng()));
      mss[i] = static_cast<uint16_t>(rng());
    }
    const uint32_t counter = static_cast<uint32_t>(rng());
    std::vector<SeqNum> out(n + 1, SeqNum(0xdeadbeef));
    std::vector<uint32_t> aux(n + 1, 0xdeadbeef);
    cookies.MakeBatch(keys.data(), isns.data(), mss.data(), n, counter,
                      out.data(), aux.data());
    for (size_t i = 0; i < n; ++i) {
      uint32_t single_aux = 0;
      EXPECT_EQ(out[i], cookies.Make(keys[i], isns[i], mss[i], counter, &single_aux))
          << n << " " << i;
      EXPECT_EQ(aux[i], single_aux) << n << " " << i;
      // Check gives the same aux bits back for the valid cookie.
      uint32_t checked_aux = 0;
      if (cookies.Check(keys[i], isns[i], out[i], counter, &checked_aux) != 0) {
        EXPECT_EQ(checked_aux, single_aux);
      } else {
        ADD_FAILURE() << "batch cookie does not check";
      }
    }
    EXPECT_EQ(out[n], SeqNum(0xdeadbeef)) << "wrote past n = " << n;
    EXPECT_EQ(aux[n], 0xdeadbeefu) << "aux written past n = " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Impls, SynCookieBatchTest,
                         testing::Values(SynCookieImpl::kScalar,
                                         SynCookieImpl::kAvx2,
                                         SynCookieImpl::kAvx512),
                         [](const testing::TestParamInfo<SynCookieImpl>& info) {
                           return std::string(SynCookieImplName(info.param));
                         });

TEST(SynCookieTest, DifferentSecretsGiveDifferentCookies) {
  const SynCookies a(kSecret);
  const SynCookies b(SipKey{kSecret.k0, kSecret.k1 ^ 1});
  std::mt19937_64 rng(3);
  int same = 0;
  for (int i = 0; i < 1000; ++i) {
    const FlowKey key = RandomKey(rng);
    const SeqNum isn(static_cast<uint32_t>(rng()));
    const SeqNum ca = a.Make(key, isn, 1460, 99);
    if (ca == b.Make(key, isn, 1460, 99)) ++same;
    EXPECT_EQ(b.Check(key, isn, ca, 99), 0);
  }
  EXPECT_EQ(same, 0);  // chance of any: 1000 * 2^-29
}

TEST(SynCookieTsTest, EveryWindowScaleAndSackRoundTrip) {
  std::vector<uint8_t> scales;
  for (uint8_t w = 0; w <= 14; ++w) scales.push_back(w);
  scales.push_back(kCookieNoWscale);
  for (uint32_t ts_now :
       {0u, 1u, 31u, 63u, 64u, 1000u, 0x12345678u, 0xffffffc0u, 0xffffffffu}) {
    for (uint8_t w : scales) {
      for (bool sack : {false, true}) {
        const uint32_t tsval = EncodeCookieTsval(ts_now, w, sack);
        // Never ahead of our clock, and behind it by less than 2^6 ticks
        // (modulo 2^32: ts_now below 64 may give a TSval before the wrap).
        EXPECT_LE(ts_now - tsval, kCookieTsMask) << ts_now;
        if (ts_now > kCookieTsMask) {
          EXPECT_LE(tsval, ts_now);
        }
        uint8_t w_out = 0x55;
        bool sack_out = !sack;
        ASSERT_TRUE(DecodeCookieTsecr(tsval, &w_out, &sack_out));
        EXPECT_EQ(w_out, w);
        EXPECT_EQ(sack_out, sack);
      }
    }
  }
}

TEST(SynCookieTsTest, TsvalNeverAheadOfRandomClocks) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t ts_now = static_cast<uint32_t>(rng());
    const uint32_t tsval = EncodeCookieTsval(ts_now, rng() % 15, rng() & 1);
    EXPECT_LE(ts_now - tsval, kCookieTsMask);
    if (ts_now > kCookieTsMask) {
      ASSERT_LE(tsval, ts_now);
    }
  }
}

TEST(SynCookieTsTest, ShiftAboveFourteenIsFourteen) {
  uint8_t w = 0;
  bool sack = false;
  ASSERT_TRUE(DecodeCookieTsecr(EncodeCookieTsval(5000, 15, false), &w, &sack));
  EXPECT_EQ(w, 14);
  ASSERT_TRUE(DecodeCookieTsecr(EncodeCookieTsval(5000, 200, true), &w, &sack));
  EXPECT_EQ(w, 14);
  EXPECT_TRUE(sack);
}

TEST(SynCookieTsTest, MalformedTsecrIsRejected) {
  uint8_t w = 3;
  bool sack = true;
  EXPECT_FALSE(DecodeCookieTsecr(0, &w, &sack));  // a client that echoes 0
  for (uint32_t low = 0; low < 32; ++low) {       // marker bit clear
    EXPECT_FALSE(DecodeCookieTsecr(0x12345600u | low, &w, &sack)) << low;
  }
  EXPECT_EQ(w, 3);  // outputs untouched
  EXPECT_TRUE(sack);
}

}  // namespace
}  // namespace synwave::tcp
