// The TCP stack's pure parts over IPv6: the RFC 6528 ISN and the SYN cookie
// of an IPv6 4-tuple (their SipHash messages, checked against the reference
// SipHash24; round trips, rejection of other tuples, stale and tampered
// cookies, forged ACKs), the IPv6 MSS table for cookies, and the MSS of a
// link from its MTU.
#include <bit>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "tcp/isn.h"
#include "tcp/mss.h"
#include "tcp/syncookie.h"

namespace synwave::tcp {
namespace {

using flow::FlowKey6;
using wire::Ipv6Address;
using wire::SeqNum;

constexpr SipKey kSecret = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
constexpr SeqNum kPeerIsn(0x12345678);

const FlowKey6 kKey{*Ipv6Address::Parse("2001:db8::1"),
                    *Ipv6Address::Parse("2001:db8:ffff::abcd"), 443, 51234};

FlowKey6 RandomKey(std::mt19937_64& rng) {
  return {Ipv6Address::FromWords(rng(), rng()),
          Ipv6Address::FromWords(rng(), rng()), static_cast<uint16_t>(rng()),
          static_cast<uint16_t>(rng())};
}

// The key with one of its 288 bits flipped.
FlowKey6 FlipBit(FlowKey6 k, int bit) {
  if (bit < 128) {
    k.local_ip.bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  } else if (bit < 256) {
    k.remote_ip.bytes[(bit - 128) / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  } else if (bit < 272) {
    k.local_port ^= static_cast<uint16_t>(1u << (bit - 256));
  } else {
    k.remote_port ^= static_cast<uint16_t>(1u << (bit - 272));
  }
  return k;
}

// Little-endian bytes of a word, as SipHash reads a message.
void PutLe(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// ---------------------------------------------------------------------------
// ISN (RFC 6528) over the IPv6 tuple.

TEST(Isn6Test, IsSipHashOfThe36ByteMessage) {
  const IsnGenerator isn(kSecret);
  uint8_t msg[36];
  std::memcpy(msg, kKey.local_ip.bytes.data(), 16);
  std::memcpy(msg + 16, kKey.remote_ip.bytes.data(), 16);
  PutLe(msg + 32, (uint32_t{kKey.local_port} << 16) | kKey.remote_port, 4);
  const uint64_t h = SipHash24(kSecret, msg, sizeof(msg));
  EXPECT_EQ(isn.Isn(kKey, 0), SeqNum(static_cast<uint32_t>(h)));
  EXPECT_EQ(isn.TimestampOffset(kKey), static_cast<uint32_t>(h >> 32));
  uint32_t offset = 0;
  EXPECT_EQ(isn.IsnAndOffset(kKey, 4000 * 77, &offset),
            SeqNum(static_cast<uint32_t>(h) + 77));
  EXPECT_EQ(offset, static_cast<uint32_t>(h >> 32));
}

// The generator keeps the hash state after the last local address: a
// sequence of tuples whose local address changes (among a few, one of them
// differing from another in one bit of either word, and an address of all
// zeros, the cache's initial words) still gives each the reference hash.
TEST(Isn6Test, ReferenceHashWhileTheLocalAddressChanges) {
  const IsnGenerator isn(kSecret);
  std::mt19937_64 rng(61);
  const Ipv6Address a = kKey.local_ip;
  Ipv6Address b = a;
  b.bytes[3] ^= 0x40;
  Ipv6Address c = a;
  c.bytes[12] ^= 0x01;
  const Ipv6Address locals[] = {Ipv6Address{}, a, b, c,
                                Ipv6Address::FromWords(rng(), rng())};
  for (int i = 0; i < 400; ++i) {
    FlowKey6 k = RandomKey(rng);
    // The first is ::, the cache's words before any address was seen.
    k.local_ip = i == 0 ? Ipv6Address{}
                        : locals[(i % 3 == 0 ? rng() : i / 7) % std::size(locals)];
    uint8_t msg[36];
    std::memcpy(msg, k.local_ip.bytes.data(), 16);
    std::memcpy(msg + 16, k.remote_ip.bytes.data(), 16);
    PutLe(msg + 32, (uint32_t{k.local_port} << 16) | k.remote_port, 4);
    const uint64_t h = SipHash24(kSecret, msg, sizeof(msg));
    uint32_t offset = 0;
    ASSERT_EQ(isn.IsnAndOffset(k, 0, &offset),
              SeqNum(static_cast<uint32_t>(h)))
        << i;
    ASSERT_EQ(offset, static_cast<uint32_t>(h >> 32)) << i;
  }
}

TEST(Isn6Test, ClockTicksEveryFourMicroseconds) {
  const IsnGenerator isn(kSecret);
  const SeqNum base = isn.Isn(kKey, 1'000'000'000);
  EXPECT_EQ(isn.Isn(kKey, 1'000'000'000 + 3999), base);
  EXPECT_EQ(isn.Isn(kKey, 1'000'000'000 + 4000), base + 1);
  EXPECT_EQ(isn.Isn(kKey, 1'000'000'000 + 4'000'000), base + 1000);
}

TEST(Isn6Test, EveryTupleBitChangesTheIsn) {
  const IsnGenerator isn(kSecret);
  std::set<uint32_t> seen = {isn.Isn(kKey, 0).value()};
  for (int bit = 0; bit < 288; ++bit) {
    seen.insert(isn.Isn(FlipBit(kKey, bit), 0).value());
  }
  // 289 distinct tuples; a 32-bit collision among them has odds ~1e-5.
  EXPECT_GE(seen.size(), 288u);
}

TEST(Isn6Test, DifferentSecretsGiveUnrelatedIsns) {
  const IsnGenerator a(kSecret), b(SipKey{kSecret.k0 ^ 1, kSecret.k1});
  int equal = 0;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 1000; ++i) {
    const FlowKey6 k = RandomKey(rng);
    equal += a.Isn(k, 0) == b.Isn(k, 0);
  }
  EXPECT_LE(equal, 1);
}

// ---------------------------------------------------------------------------
// SYN cookies over the IPv6 tuple.

TEST(SynCookie6Test, MssTableRoundsDown) {
  EXPECT_EQ(SynCookies::MssIndex6(0), 0u);  // no option: 1220 (RFC 9293)
  EXPECT_EQ(SynCookies::MssIndex6(536), 0u);
  EXPECT_EQ(SynCookies::MssIndex6(1219), 0u);
  EXPECT_EQ(SynCookies::MssIndex6(1220), 0u);
  EXPECT_EQ(SynCookies::MssIndex6(1419), 0u);
  EXPECT_EQ(SynCookies::MssIndex6(1420), 1u);
  EXPECT_EQ(SynCookies::MssIndex6(1439), 1u);
  EXPECT_EQ(SynCookies::MssIndex6(1440), 2u);
  EXPECT_EQ(SynCookies::MssIndex6(1460), 2u);  // an IPv4 habit: rounds down
  EXPECT_EQ(SynCookies::MssIndex6(8939), 2u);
  EXPECT_EQ(SynCookies::MssIndex6(8940), 3u);
  EXPECT_EQ(SynCookies::MssIndex6(65535), 3u);
  const uint16_t linux_table[4] = {1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60};
  for (unsigned i = 0; i < 4; ++i) {
    EXPECT_EQ(kCookieMssTable6[i], linux_table[i]);
    EXPECT_EQ(SynCookies::MssForIndex6(i), kCookieMssTable6[i]);
    EXPECT_EQ(SynCookies::MssIndex6(kCookieMssTable6[i]), i);
  }
}

// Bits 31..3 are SipHash-2-4 of the 45-byte message the header documents,
// bit 2 the counter's parity, bits 1..0 the MSS index.
TEST(SynCookie6Test, LayoutMatchesReferenceSipHash) {
  const SynCookies cookies(kSecret);
  for (uint32_t counter : {0u, 1u, 0x89abcdefu}) {
    for (unsigned index = 0; index < 4; ++index) {
      uint8_t msg[45];
      std::memcpy(msg, kKey.local_ip.bytes.data(), 16);
      std::memcpy(msg + 16, kKey.remote_ip.bytes.data(), 16);
      PutLe(msg + 32,
            (uint64_t{kKey.local_port} << 48) |
                (uint64_t{kKey.remote_port} << 32) | kPeerIsn.value(),
            8);
      PutLe(msg + 40, counter, 4);
      msg[44] = static_cast<uint8_t>(index);
      const uint32_t mac =
          static_cast<uint32_t>(SipHash24(kSecret, msg, sizeof(msg)));
      EXPECT_EQ(cookies.Mac(kKey, kPeerIsn, counter, index), mac);
      const uint32_t cookie =
          cookies.Make(kKey, kPeerIsn, kCookieMssTable6[index], counter)
              .value();
      EXPECT_EQ(cookie, (mac & ~7u) | ((counter & 1) << 2) | index);
    }
  }
}

TEST(SynCookie6Test, RoundTripEveryMssAtAgeZeroAndOneNotTwo) {
  const SynCookies cookies(kSecret);
  const uint32_t counter = 1000;
  for (unsigned index = 0; index < 4; ++index) {
    const uint16_t mss = kCookieMssTable6[index];
    for (uint16_t peer_mss : {mss, static_cast<uint16_t>(mss + 1)}) {
      const SeqNum cookie = cookies.Make(kKey, kPeerIsn, peer_mss, counter);
      uint32_t aux_made = 0;
      cookies.Make(kKey, kPeerIsn, peer_mss, counter, &aux_made);
      uint32_t aux = 0;
      EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, counter, &aux), mss);
      EXPECT_EQ(aux, aux_made);
      EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, counter + 1), mss);
      EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, counter + 2), 0);
      EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, counter - 1), 0);
    }
  }
  const SeqNum cookie = cookies.Make(kKey, kPeerIsn, 0, counter);
  EXPECT_EQ(cookies.Check(kKey, kPeerIsn, cookie, counter), 1220);
}

TEST(SynCookie6Test, RejectsAnotherTupleAndAnotherClientIsn) {
  const SynCookies cookies(kSecret);
  const SeqNum cookie = cookies.Make(kKey, kPeerIsn, 1440, 7);
  ASSERT_EQ(cookies.Check(kKey, kPeerIsn, cookie, 7), 1440);
  for (int bit = 0; bit < 288; ++bit) {
    EXPECT_EQ(cookies.Check(FlipBit(kKey, bit), kPeerIsn, cookie, 7), 0)
        << "tuple bit " << bit;
  }
  const FlowKey6 swapped{kKey.remote_ip, kKey.local_ip, kKey.remote_port,
                         kKey.local_port};
  EXPECT_EQ(cookies.Check(swapped, kPeerIsn, cookie, 7), 0);
  for (uint32_t bit = 0; bit < 32; ++bit) {
    EXPECT_EQ(
        cookies.Check(kKey, SeqNum(kPeerIsn.value() ^ (1u << bit)), cookie, 7),
        0)
        << "ISN bit " << bit;
  }
}

TEST(SynCookie6Test, RejectsEverySingleBitFlipOfTheCookie) {
  const SynCookies cookies(kSecret);
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 32; ++trial) {
    const FlowKey6 key = RandomKey(rng);
    const SeqNum isn(static_cast<uint32_t>(rng()));
    const uint16_t mss = kCookieMssTable6[trial & 3];
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

// As for IPv4: each forged ACK passes with probability 2^-29.
TEST(SynCookie6Test, RandomAcksAreAlmostNeverAccepted) {
  const SynCookies cookies(kSecret);
  std::mt19937_64 rng(42);
  int accepted = 0;
  for (int i = 0; i < 1000000; ++i) {
    const SeqNum seg_ack(static_cast<uint32_t>(rng()));
    if (cookies.Check(kKey, kPeerIsn, seg_ack - 1, 12345) != 0) ++accepted;
  }
  EXPECT_LE(accepted, 5);
}

// An IPv4 cookie is no IPv6 cookie for the IPv4-mapped form of its tuple:
// the messages differ in length, so the MACs are unrelated.
TEST(SynCookie6Test, Ipv4CookieDoesNotPassForTheMappedTuple) {
  const SynCookies cookies(kSecret);
  int accepted = 0;
  for (uint16_t port = 1; port <= 1000; ++port) {
    const flow::FlowKey v4{0x0a000001, 0x0a000002, 80, port};
    const FlowKey6 v6{Ipv6Address::FromWords(0, 0xffff0a000001ull),
                      Ipv6Address::FromWords(0, 0xffff0a000002ull), 80, port};
    const SeqNum cookie = cookies.Make(v4, kPeerIsn, 1440, 7);
    accepted += cookies.Check(v6, kPeerIsn, cookie, 7) != 0;
  }
  EXPECT_EQ(accepted, 0);
}

// ---------------------------------------------------------------------------
// MSS from the link MTU.

TEST(MssForMtuTest, IsTheMtuLessTheHeaders) {
  using wire::IpFamily;
  EXPECT_EQ(MssForMtu(IpFamily::kIpv4, 1500), 1460);
  EXPECT_EQ(MssForMtu(IpFamily::kIpv6, 1500), 1440);
  EXPECT_EQ(MssForMtu(IpFamily::kIpv6, 9000), 8940);
  EXPECT_EQ(MssForMtu(IpFamily::kIpv6, 1280), 1220);
  EXPECT_EQ(MssForMtu(IpFamily::kIpv4, 576), 536);
  // Every usual IPv6 MTU gives an entry of the cookie table.
  for (uint32_t mtu : {1280u, 1480u, 1500u, 9000u}) {
    const uint16_t mss = MssForMtu(IpFamily::kIpv6, mtu);
    EXPECT_EQ(SynCookies::MssForIndex6(SynCookies::MssIndex6(mss)), mss);
  }
}

TEST(MssForMtuTest, ClampsToTheFamilysLimits) {
  using wire::IpFamily;
  EXPECT_EQ(MssForMtu(IpFamily::kIpv6, 1000), 1220);  // below RFC 8200's 1280
  EXPECT_EQ(MssForMtu(IpFamily::kIpv6, 0), 1220);
  EXPECT_EQ(MssForMtu(IpFamily::kIpv4, 0), 28);  // RFC 791's 68
  EXPECT_EQ(MssForMtu(IpFamily::kIpv4, 100000), 65495);
  EXPECT_EQ(MssForMtu(IpFamily::kIpv6, 100000), 65475);
}

}  // namespace
}  // namespace synwave::tcp
