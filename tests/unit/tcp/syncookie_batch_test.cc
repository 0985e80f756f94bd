// The vector-lane batches of SYN cookies against the one-at-a-time path
// they must equal, for every implementation the CPU can run, on random
// tuples of both families: MakeBatch (IPv4 and IPv6) and Batch, a burst's
// mixed work (cookies to make for SYNs, cookies to check for ACKs: valid
// ones from the current and the previous slot, and forged ones), at every
// burst length up to 64 (whole groups, padded tails and scalar tails).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tcp/syncookie.h"
#include "wire/addresses.h"

namespace synwave::tcp {
namespace {

using flow::FlowKey;
using flow::FlowKey6;
using wire::SeqNum;

constexpr SipKey kSecret = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

void RandomKey(std::mt19937_64& rng, FlowKey* key) {
  const uint64_t r = rng();
  *key = {static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32),
          static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng())};
}

void RandomKey(std::mt19937_64& rng, FlowKey6* key) {
  for (auto* a : {&key->local_ip, &key->remote_ip}) {
    for (uint8_t& b : a->bytes) b = static_cast<uint8_t>(rng());
  }
  key->local_port = static_cast<uint16_t>(rng());
  key->remote_port = static_cast<uint16_t>(rng());
}

// An MSS option value: often one of the table's edges, else anything.
uint16_t RandomMss(std::mt19937_64& rng) {
  constexpr uint16_t kEdges[] = {0, 535, 536, 1219, 1220, 1300, 1420, 1440,
                                 1460, 8940, 9000, 65535};
  return rng() % 2 ? kEdges[rng() % std::size(kEdges)]
                   : static_cast<uint16_t>(rng());
}

// How the IPv6 keys' local addresses relate: random (every key its own),
// shared (a server's SYNs to its one address: the batch hashes from the
// state after that address), or shared but for one bit of the last key's
// (the batch must notice and hash every key whole).
enum class Local { kRandom, kShared, kLastDiffers };

void ApplyLocal(Local mode, std::vector<FlowKey>&) {
  EXPECT_EQ(mode, Local::kRandom);
}
void ApplyLocal(Local mode, std::vector<FlowKey6>& keys) {
  if (mode == Local::kRandom || keys.empty()) return;
  for (FlowKey6& k : keys) k.local_ip = keys[0].local_ip;
  if (mode == Local::kLastDiffers && keys.size() > 1) {
    keys.back().local_ip.bytes[15 - keys.size() % 16] ^= 0x10;
  }
}

class SynCookieLanesTest : public testing::TestWithParam<SynCookieImpl> {
 protected:
  void SetUp() override {
    if (cookies_.impl() != GetParam()) {
      GTEST_SKIP() << "CPU lacks " << SynCookieImplName(GetParam());
    }
  }

  template <typename Key>
  void MakeBatchEqualsMake(Local local = Local::kRandom) {
    std::mt19937_64 rng(11);
    for (size_t n = 0; n <= 64; ++n) {
      std::vector<Key> keys(n);
      std::vector<SeqNum> isns(n);
      std::vector<uint16_t> mss(n);
      for (size_t i = 0; i < n; ++i) {
        RandomKey(rng, &keys[i]);
        isns[i] = SeqNum(static_cast<uint32_t>(rng()));
        mss[i] = RandomMss(rng);
      }
      ApplyLocal(local, keys);
      const auto counter = static_cast<uint32_t>(rng());
      std::vector<SeqNum> out(n + 1, SeqNum(0xdeadbeef));
      std::vector<uint32_t> aux(n + 1, 0xdeadbeef);
      cookies_.MakeBatch(keys.data(), isns.data(), mss.data(), n, counter,
                         out.data(), aux.data());
      for (size_t i = 0; i < n; ++i) {
        uint32_t single_aux = 0;
        EXPECT_EQ(out[i],
                  cookies_.Make(keys[i], isns[i], mss[i], counter, &single_aux))
            << n << " " << i;
        EXPECT_EQ(aux[i], single_aux) << n << " " << i;
      }
      EXPECT_EQ(out[n], SeqNum(0xdeadbeef)) << "wrote past n = " << n;
      EXPECT_EQ(aux[n], 0xdeadbeefu) << "aux written past n = " << n;
    }
  }

  // Batch over a mix of jobs equals Make and Check one at a time; the
  // valid checks carry the MSS and the aux bits of the cookie's Make.
  template <typename Key>
  void BatchEqualsMakeAndCheck(Local local = Local::kRandom) {
    std::mt19937_64 rng(12);
    int valid = 0;
    int forged = 0;
    for (size_t n = 0; n <= 64; ++n) {
      std::vector<Key> keys(n);
      std::vector<SynCookies::Job> jobs(n);
      const auto counter = static_cast<uint32_t>(rng());
      for (size_t i = 0; i < n; ++i) RandomKey(rng, &keys[i]);
      ApplyLocal(local, keys);
      for (size_t i = 0; i < n; ++i) {
        const SeqNum isn(static_cast<uint32_t>(rng()));
        SynCookies::Job& j = jobs[i];
        j.peer_seq = isn;
        switch (rng() % 4) {
          case 0:
          case 1:
            j.op = SynCookies::Op::kMake;
            j.arg = RandomMss(rng);
            break;
          case 2:  // a valid cookie, made in this slot or the last
            j.op = SynCookies::Op::kCheck;
            j.arg = cookies_.Make(keys[i], isn, RandomMss(rng),
                                  counter - static_cast<uint32_t>(rng() % 2))
                        .value();
            break;
          default:  // forged
            j.op = SynCookies::Op::kCheck;
            j.arg = static_cast<uint32_t>(rng());
            break;
        }
      }
      std::vector<uint32_t> value(n + 1, 0xdeadbeef);
      std::vector<uint32_t> aux(n + 1, 0xdeadbeef);
      cookies_.Batch(keys.data(), jobs.data(), n, counter, value.data(),
                     aux.data());
      for (size_t i = 0; i < n; ++i) {
        const SynCookies::Job& j = jobs[i];
        uint32_t single_aux = 0;
        if (j.op == SynCookies::Op::kMake) {
          EXPECT_EQ(value[i],
                    cookies_
                        .Make(keys[i], j.peer_seq,
                              static_cast<uint16_t>(j.arg), counter,
                              &single_aux)
                        .value())
              << n << " " << i;
          EXPECT_EQ(aux[i], single_aux) << n << " " << i;
          continue;
        }
        const uint16_t mss = cookies_.Check(keys[i], j.peer_seq,
                                            SeqNum(j.arg), counter,
                                            &single_aux);
        EXPECT_EQ(value[i], mss) << n << " " << i;
        if (mss != 0) {
          EXPECT_EQ(aux[i], single_aux) << n << " " << i;
          ++valid;
        } else {
          ++forged;
        }
      }
      EXPECT_EQ(value[n], 0xdeadbeefu) << "wrote past n = " << n;
      EXPECT_EQ(aux[n], 0xdeadbeefu) << "aux written past n = " << n;
    }
    // Both kinds of check were exercised.
    EXPECT_GT(valid, 100);
    EXPECT_GT(forged, 100);
  }

  const SynCookies cookies_{kSecret, GetParam()};
};

TEST_P(SynCookieLanesTest, MakeBatchEqualsMakeIpv4) {
  MakeBatchEqualsMake<FlowKey>();
}
TEST_P(SynCookieLanesTest, MakeBatchEqualsMakeIpv6) {
  MakeBatchEqualsMake<FlowKey6>();
}
TEST_P(SynCookieLanesTest, BatchEqualsMakeAndCheckIpv4) {
  BatchEqualsMakeAndCheck<FlowKey>();
}
TEST_P(SynCookieLanesTest, BatchEqualsMakeAndCheckIpv6) {
  BatchEqualsMakeAndCheck<FlowKey6>();
}
TEST_P(SynCookieLanesTest, MakeBatchEqualsMakeIpv6SharedLocal) {
  MakeBatchEqualsMake<FlowKey6>(Local::kShared);
}
TEST_P(SynCookieLanesTest, MakeBatchEqualsMakeIpv6LastLocalDiffers) {
  MakeBatchEqualsMake<FlowKey6>(Local::kLastDiffers);
}
TEST_P(SynCookieLanesTest, BatchEqualsMakeAndCheckIpv6SharedLocal) {
  BatchEqualsMakeAndCheck<FlowKey6>(Local::kShared);
}
TEST_P(SynCookieLanesTest, BatchEqualsMakeAndCheckIpv6LastLocalDiffers) {
  BatchEqualsMakeAndCheck<FlowKey6>(Local::kLastDiffers);
}

INSTANTIATE_TEST_SUITE_P(Impls, SynCookieLanesTest,
                         testing::Values(SynCookieImpl::kScalar,
                                         SynCookieImpl::kAvx2,
                                         SynCookieImpl::kAvx512),
                         [](const testing::TestParamInfo<SynCookieImpl>& info) {
                           return std::string(SynCookieImplName(info.param));
                         });

}  // namespace
}  // namespace synwave::tcp
