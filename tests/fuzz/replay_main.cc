// Drives a libFuzzer target without libFuzzer, so that the fuzz invariants
// run as an ordinary test on every build (gcc included).
//
// It replays every file in the directories (or files) named on the command
// line, then a fixed-seed stream of generated inputs: random bytes, and
// valid frames from the frame builder with a few mutations each (bit flips,
// byte overwrites with boundary values, truncation, extension), half of them
// with their checksums recomputed so that the mutation reaches the deeper
// checks, plus TCP option lists assembled from plausible items, alone and
// inside otherwise valid frames. The stream is deterministic, so a failure
// reproduces exactly.
//
//   parse_fuzz_replay [--generated=N] [--write-seeds=DIR] [PATH...]
//
// --write-seeds writes the builder's seed frames to DIR (how
// tests/fuzz/corpus/ was made) and exits.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replay_driver.h"
#include "testing/frame_builder.h"
#include "wire/byte_order.h"
#include "wire/headers.h"
#include "wire/parse.h"
#include "wire/tcp_options.h"
#include "wire/verdict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using synwave::fuzz_replay::ReplayCommandLine;
using synwave::fuzz_replay::Rng;
using synwave::fuzz_replay::Seeds;

namespace wire = synwave::wire;
namespace tu = synwave::testutil;


Seeds SeedFrames() {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds;

  tu::TcpFrame syn;
  syn.tcp.options.has_mss = true;
  syn.tcp.options.mss = 1460;
  syn.tcp.options.sack_permitted = true;
  syn.tcp.options.has_timestamps = true;
  syn.tcp.options.ts_val = 12345;
  syn.tcp.options.has_window_scale = true;
  syn.tcp.options.window_scale = 7;
  seeds.emplace_back("tcp_syn_options", tu::BuildFrame(syn));

  tu::TcpFrame data;
  data.tcp.flags = wire::tcp_flags::kAck | wire::tcp_flags::kPsh;
  data.tcp.ack = 5000;
  data.tcp.options.has_timestamps = true;
  data.tcp.options.ts_val = 7;
  data.tcp.options.ts_ecr = 9;
  data.tcp.payload = {'G', 'E', 'T', ' ', '/', '\r', '\n'};
  data.ip.options = {1, 1, 1, 0};
  seeds.emplace_back("tcp_data_ip_options", tu::BuildFrame(data));

  tu::TcpFrame ack;
  ack.tcp.flags = wire::tcp_flags::kAck;
  ack.tcp.raw_options = std::vector<uint8_t>{1, 1, 5, 10, 0, 0, 0,
                                             1, 0, 0, 0,  2};  // one SACK block
  ack.eth.pad_to = tu::kMinEthernetFrame;
  seeds.emplace_back("tcp_ack_sack_padded", tu::BuildFrame(ack));

  tu::IcmpFrame ping;
  ping.icmp.payload = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  seeds.emplace_back("icmp_echo", tu::BuildFrame(ping));

  tu::ArpFrame arp;
  arp.eth.dst = wire::MacAddress::Broadcast();
  seeds.emplace_back("arp_request", tu::BuildFrame(arp));

  tu::Tcp6Frame syn6;
  syn6.tcp = syn.tcp;
  seeds.emplace_back("tcp6_syn_options", tu::BuildFrame(syn6));

  // Every extension header the parser skips, each with an option in it.
  tu::Tcp6Frame ext6;
  ext6.tcp = data.tcp;
  auto ext = [](uint8_t type, std::vector<uint8_t> body) {
    tu::Ipv6Extension e;
    e.type = type;
    e.body = std::move(body);
    return e;
  };
  ext6.ip.extensions = {ext(wire::kIpProtoHopByHop, {5, 2, 0, 0}),
                        ext(wire::kIpProtoDestinationOptions,
                            {1, 4, 0, 0, 0, 0}),
                        ext(wire::kIpProtoRouting, {4, 0, 0, 0, 0, 0}),
                        ext(wire::kIpProtoDestinationOptions, {0x1e, 1, 7, 0})};
  seeds.emplace_back("tcp6_data_ext_headers", tu::BuildFrame(ext6));

  tu::Tcp6Frame frag6;
  frag6.ip.extensions = {ext(wire::kIpProtoFragment, {0, 1, 0, 0, 0, 9})};
  seeds.emplace_back("tcp6_fragment", tu::BuildFrame(frag6));

  tu::Icmp6Frame ping6;
  ping6.icmp.body = tu::EchoBody(1, 1, std::vector<uint8_t>{0, 1, 2, 3, 4});
  seeds.emplace_back("icmp6_echo", tu::BuildFrame(ping6));

  const wire::Ipv6Address target = ping6.ip.dst;
  const wire::MacAddress mac{{0x02, 0, 0, 0, 0, 0x01}};
  tu::Icmp6Frame ns;
  ns.eth.dst = target.SolicitedNode().MulticastMac();
  ns.ip.dst = target.SolicitedNode();
  ns.ip.hop_limit = wire::kNdHopLimit;
  ns.icmp.type = wire::kIcmpv6NeighborSolicitation;
  ns.icmp.body = tu::NdBody(target, 0, mac);
  seeds.emplace_back("icmp6_ns", tu::BuildFrame(ns));

  tu::Icmp6Frame na;
  na.ip.src = target;
  na.ip.dst = ping6.ip.src;
  na.ip.hop_limit = wire::kNdHopLimit;
  na.icmp.type = wire::kIcmpv6NeighborAdvertisement;
  na.icmp.body = tu::NdBody(target, wire::na_flags::kSolicited, mac,
                            wire::kNdOptionTargetLinkAddress);
  seeds.emplace_back("icmp6_na", tu::BuildFrame(na));
  return seeds;
}

// Bytes worth writing over a header field: length and version boundaries.
constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                    0x08, 0x0a, 0x0f, 0x10, 0x14, 0x22, 0x28,
                                    0x3c, 0x40, 0x45, 0x4f, 0x50, 0x7f, 0x80,
                                    0xa0, 0xf0, 0xfe, 0xff};

// 32-bit values worth writing over an address or sequence number: the
// sources the parser must refuse, and the sequence-space wrap.
constexpr uint32_t kInteresting32[] = {0x00000000, 0xffffffff, 0xe0000001,
                                       0xefffffff, 0x7f000001, 0x80000000,
                                       0x7fffffff, 0x0a000002};

std::vector<uint8_t> Mutate(std::vector<uint8_t> f, Rng& rng) {
  const size_t count = 1 + rng.Below(4);
  for (size_t i = 0; i < count; ++i) {
    switch (rng.Below(7)) {
      case 0:  // flip one bit
        if (!f.empty()) {
          f[rng.Below(f.size())] ^= static_cast<uint8_t>(1u << rng.Below(8));
        }
        break;
      case 1:  // overwrite with a random byte
        if (!f.empty()) {
          f[rng.Below(f.size())] = static_cast<uint8_t>(rng.Next());
        }
        break;
      case 2:  // overwrite with a boundary value
      case 3:
        if (!f.empty()) {
          f[rng.Below(f.size())] =
              kInteresting[rng.Below(std::size(kInteresting))];
        }
        break;
      case 4:  // truncate
        f.resize(rng.Below(f.size() + 1));
        break;
      case 5:  // extend
        for (size_t n = 1 + rng.Below(16); n > 0; --n) {
          f.push_back(static_cast<uint8_t>(rng.Next()));
        }
        break;
      case 6:  // a boundary 32-bit word at an even offset (header fields)
        if (f.size() >= 4) {
          const size_t at = 2 * rng.Below((f.size() - 4) / 2 + 1);
          wire::StoreBe32(f.data() + at,
                          kInteresting32[rng.Below(std::size(kInteresting32))]);
        }
        break;
    }
  }
  if (rng.Below(2) == 0) tu::RefreshChecksums(f);
  return f;
}

// A TCP option list of up to 40 bytes built from plausible items: each known
// option with its right length (and sometimes a wrong one), NOP, EOL, SACK
// with 0-5 blocks, and unknown kinds with random lengths.
std::vector<uint8_t> RandomOptionBytes(Rng& rng) {
  namespace kind = wire::tcp_option_kind;
  std::vector<uint8_t> o;
  const size_t items = rng.Below(8);
  for (size_t i = 0; i < items; ++i) {
    const bool wrong_length = rng.Below(16) == 0;
    auto option = [&](uint8_t k, size_t length) {
      if (wrong_length) length = rng.Below(12);
      o.push_back(k);
      o.push_back(static_cast<uint8_t>(length));
      for (size_t n = 2; n < length; ++n) {
        o.push_back(static_cast<uint8_t>(rng.Next()));
      }
    };
    switch (rng.Below(9)) {
      case 0:
        o.push_back(kind::kNop);
        break;
      case 1:
        o.push_back(kind::kEol);
        break;
      case 2:
        option(kind::kMss, 4);
        break;
      case 3:
        option(kind::kWindowScale, 3);
        break;
      case 4:
        option(kind::kSackPermitted, 2);
        break;
      case 5:
        option(kind::kTimestamps, 10);
        break;
      case 6:
        option(kind::kSack, 2 + 8 * rng.Below(6));
        break;
      case 7:
        option(static_cast<uint8_t>(9 + rng.Below(247)), 2 + rng.Below(8));
        break;
      case 8:  // what we would send ourselves
        o.push_back(kind::kNop);
        o.push_back(kind::kWindowScale);
        o.push_back(3);
        o.push_back(static_cast<uint8_t>(rng.Below(16)));
        break;
    }
  }
  if (o.size() > wire::kTcpMaxOptionsLength)
    o.resize(wire::kTcpMaxOptionsLength);
  return o;
}

// A TCP frame whose option bytes come from RandomOptionBytes, with correct
// lengths and checksums so that the options are what decides the verdict.
std::vector<uint8_t> FrameWithRandomOptions(Rng& rng) {
  tu::TcpFrame f;
  f.tcp.raw_options = RandomOptionBytes(rng);
  f.tcp.flags = static_cast<uint8_t>(rng.Next());
  f.tcp.payload.resize(rng.Below(4));
  return tu::BuildFrame(f);
}

// How often each verdict came out (software checksums), to show that the
// generated inputs reach every check rather than dying at the first.
size_t verdict_counts[wire::kNumVerdicts] = {};

void Run(const std::vector<uint8_t>& input) {
  // An exactly sized heap copy, so ASan sees any read past the end.
  auto* copy = new uint8_t[input.size()];
  std::copy(input.begin(), input.end(), copy);
  LLVMFuzzerTestOneInput(copy, input.size());
  wire::PacketInfo info;
  ++verdict_counts[static_cast<int>(
      wire::ParseFrame(copy, static_cast<uint32_t>(input.size()), {}, &info))];
  delete[] copy;
}


}  // namespace

int main(int argc, char** argv) {
  size_t generated = 300000;
  size_t files = 0;
  if (const int rc = ReplayCommandLine(argc, argv, {&Run, &SeedFrames},
                                       &generated, &files);
      rc >= 0) {
    return rc;
  }

  const auto seeds = SeedFrames();
  Rng rng(0x5eed5eed);
  for (size_t i = 0; i < generated; ++i) {
    switch (rng.Below(10)) {
      case 0: {  // noise
        std::vector<uint8_t> noise(rng.Below(129));
        for (uint8_t& b : noise) b = static_cast<uint8_t>(rng.Next());
        Run(noise);
        break;
      }
      case 1:  // a bare option list, for the option codec
        Run(RandomOptionBytes(rng));
        break;
      case 2:
        Run(FrameWithRandomOptions(rng));
        break;
      default:
        Run(Mutate(seeds[rng.Below(seeds.size())].second, rng));
        break;
    }
  }
  std::printf("replayed %zu files and %zu generated inputs\n", files,
              generated);
  for (int v = 0; v < wire::kNumVerdicts; ++v) {
    std::printf(
        "  %-24s %zu\n",
        std::string(wire::VerdictName(static_cast<wire::Verdict>(v))).c_str(),
        verdict_counts[v]);
  }
  return 0;
}
