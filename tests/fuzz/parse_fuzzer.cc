// libFuzzer target for the frame parser and the TCP option codec.
//
// ParseFrame sees attacker-controlled bytes before anything else does, so
// beyond "does not crash" (which ASan and UBSan check) this target asserts
// what the rest of the endpoint relies on when the verdict is kOk: every
// offset and length lies inside the frame, the payload inside the L4 message,
// the checksums that were not offloaded really are right, and the options in
// PacketInfo are the ones in the header; for IPv6, that the extension headers
// skipped fit the payload, the addresses are ones we may answer, and neighbor
// discovery messages passed RFC 4861's checks. It runs each input under every
// RxOffload combination, because kGood skips the checksums and so lets the
// fuzzer reach the TCP option parser without forging a checksum. The option
// codec is also fuzzed directly, with an Emit -> Parse round trip, and the
// receive fast path (BurstClassifier, ParseTcp4Fast) against ParseFrame.
//
// Built with -fsanitize=fuzzer when meson's `fuzz` option is set; otherwise
// replay_main.cc drives it as an ordinary test.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "wire/checksum.h"
#include "wire/classify.h"
#include "wire/headers.h"
#include "wire/parse.h"
#include "wire/tcp_options.h"

namespace {

using namespace synwave::wire;

// Invariant violations abort so that libFuzzer records the input as a crash.
#define FUZZ_CHECK(cond)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                  \
      std::abort();                                                   \
    }                                                                 \
  } while (0)

constexpr RxChecksum kStates[] = {RxChecksum::kUnknown, RxChecksum::kGood,
                                  RxChecksum::kBad};

bool SamePacket(const PacketInfo& a, const PacketInfo& b) {
  return a.kind == b.kind && a.family == b.family &&
         a.tcp_flags == b.tcp_flags &&
         (a.kind != PacketKind::kIcmp6 ||
          a.nd_link_address_offset == b.nd_link_address_offset) &&
         a.l3_offset == b.l3_offset && a.l4_offset == b.l4_offset &&
         a.l4_length == b.l4_length && a.payload_offset == b.payload_offset &&
         a.payload_length == b.payload_length && a.src_port == b.src_port &&
         a.dst_port == b.dst_port && a.window == b.window &&
         a.src_ip == b.src_ip && a.dst_ip == b.dst_ip && a.seq == b.seq &&
         a.ack == b.ack && a.options == b.options;
}

// The TCP header and PacketInfo's TCP fields agree (either family).
void CheckTcpFields(const uint8_t* l4, const PacketInfo& info) {
  FUZZ_CHECK(info.l4_length >= kTcpMinHeaderLength);
  const size_t header_len = info.payload_offset - info.l4_offset;
  FUZZ_CHECK(info.payload_offset >= info.l4_offset + kTcpMinHeaderLength);
  FUZZ_CHECK(header_len == static_cast<size_t>(l4[12] >> 4) * 4);
  FUZZ_CHECK(size_t{info.payload_offset} + info.payload_length ==
             size_t{info.l4_offset} + info.l4_length);
  FUZZ_CHECK(info.src_port == LoadBe16(l4));
  FUZZ_CHECK(info.dst_port == LoadBe16(l4 + 2));
  FUZZ_CHECK(info.seq.value() == LoadBe32(l4 + 4));
  FUZZ_CHECK(info.ack.value() == LoadBe32(l4 + 8));
  FUZZ_CHECK(info.tcp_flags == l4[13]);
  FUZZ_CHECK(info.window == LoadBe16(l4 + 14));
  FUZZ_CHECK(info.SegmentLength() >= info.payload_length);
  TcpOptions again;
  FUZZ_CHECK(ParseTcpOptions(l4 + kTcpMinHeaderLength,
                             header_len - kTcpMinHeaderLength,
                             &again) == Verdict::kOk);
  FUZZ_CHECK(again == info.options);
}

// What must hold for an IPv6 frame ParseFrame accepted.
void CheckAcceptedIpv6(const uint8_t* data, size_t size, RxOffload offload,
                       const PacketInfo& info) {
  FUZZ_CHECK(info.family == IpFamily::kIpv6);
  const uint8_t* ip = data + info.l3_offset;
  FUZZ_CHECK(size >= info.l3_offset + size_t{kIpv6HeaderLength});
  FUZZ_CHECK((ip[0] >> 4) == 6);
  const size_t payload = LoadBe16(ip + 4);
  const size_t ext = info.l4_offset - info.l3_offset - kIpv6HeaderLength;
  FUZZ_CHECK(info.l4_offset >= info.l3_offset + kIpv6HeaderLength);
  FUZZ_CHECK(ext % 8 == 0 && ext <= kMaxIpv6ExtensionHeaders * 2048u);
  FUZZ_CHECK(ext + info.l4_length == payload);
  FUZZ_CHECK(size_t{info.l4_offset} + info.l4_length <= size);
  const Ipv6Address src = Ipv6Src(data, info);
  const Ipv6Address dst = Ipv6Dst(data, info);
  FUZZ_CHECK(!src.IsMulticast() && !src.IsLoopback() && !src.IsV4Mapped());
  FUZZ_CHECK(!(src == dst));
  FUZZ_CHECK(info.src_ip.IsZero() && info.dst_ip.IsZero());
  const uint8_t* l4 = data + info.l4_offset;
  if (info.kind == PacketKind::kIcmp6) {
    FUZZ_CHECK(info.l4_length >= 4);
    // Never offloaded: always verified.
    FUZZ_CHECK(Ipv6L4Checksum(ip + 8, ip + 24, kIpProtoIcmpv6, l4,
                              info.l4_length) == 0);
    const uint8_t type = l4[0];
    if (type == kIcmpv6NeighborSolicitation ||
        type == kIcmpv6NeighborAdvertisement) {
      FUZZ_CHECK(ip[7] == kNdHopLimit);
      FUZZ_CHECK(info.l4_length >= kNdMessageLength);
      FUZZ_CHECK(l4[1] == 0);
      if (info.nd_link_address_offset != 0) {
        FUZZ_CHECK(info.nd_link_address_offset >=
                   info.l4_offset + kNdMessageLength + 2);
        FUZZ_CHECK(size_t{info.nd_link_address_offset} + 6 <=
                   size_t{info.l4_offset} + info.l4_length);
      }
    } else {
      FUZZ_CHECK(type == kIcmpv6EchoRequest || type == kIcmpv6EchoReply);
      FUZZ_CHECK(info.l4_length >= sizeof(IcmpEchoHeader));
      FUZZ_CHECK(!src.IsUnspecified());
    }
    return;
  }
  FUZZ_CHECK(info.kind == PacketKind::kTcp);
  FUZZ_CHECK(!src.IsUnspecified());
  FUZZ_CHECK(offload.l4 != RxChecksum::kBad);
  CheckTcpFields(l4, info);
  if (offload.l4 == RxChecksum::kUnknown) {
    FUZZ_CHECK(Ipv6L4Checksum(ip + 8, ip + 24, kIpProtoTcp, l4,
                              info.l4_length) == 0);
  }
}

// What must hold for a frame ParseFrame accepted.
void CheckAccepted(const uint8_t* data, size_t size, RxOffload offload,
                   const PacketInfo& info) {
  FUZZ_CHECK(info.l3_offset == kEthernetHeaderLength);
  const uint16_t ether_type = LoadBe16(data + 12);
  if (info.kind == PacketKind::kArp) {
    FUZZ_CHECK(ether_type == kEtherTypeArp);
    FUZZ_CHECK(size >= kEthernetHeaderLength + sizeof(ArpHeader));
    return;
  }
  if (ether_type == kEtherTypeIpv6) {
    CheckAcceptedIpv6(data, size, offload, info);
    return;
  }
  FUZZ_CHECK(ether_type == kEtherTypeIpv4);
  FUZZ_CHECK(info.family == IpFamily::kIpv4);
  const size_t ihl = info.l4_offset - info.l3_offset;
  FUZZ_CHECK(info.l4_offset >= info.l3_offset + kIpv4MinHeaderLength);
  FUZZ_CHECK(ihl <= 60 && ihl % 4 == 0);
  FUZZ_CHECK(size_t{info.l4_offset} + info.l4_length <= size);
  const uint8_t* ip = data + info.l3_offset;
  FUZZ_CHECK(ihl == static_cast<size_t>(ip[0] & 0x0f) * 4);
  FUZZ_CHECK(LoadBe16(ip + 2) == ihl + info.l4_length);
  FUZZ_CHECK(info.src_ip.value == LoadBe32(ip + 12));
  FUZZ_CHECK(info.dst_ip.value == LoadBe32(ip + 16));
  FUZZ_CHECK(!info.src_ip.IsZero() && !info.src_ip.IsMulticast() &&
             !info.src_ip.IsLimitedBroadcast());
  FUZZ_CHECK(offload.ip != RxChecksum::kBad);
  if (offload.ip == RxChecksum::kUnknown) {
    FUZZ_CHECK(Ipv4HeaderChecksum(ip, ihl) == 0);
  }
  const uint8_t* l4 = data + info.l4_offset;
  if (info.kind == PacketKind::kIcmp) {
    FUZZ_CHECK(ip[9] == kIpProtoIcmp);
    FUZZ_CHECK(info.l4_length >= sizeof(IcmpEchoHeader));
    // Never offloaded: always verified.
    FUZZ_CHECK(InternetChecksum(l4, info.l4_length) == 0);
    return;
  }
  FUZZ_CHECK(info.kind == PacketKind::kTcp);
  FUZZ_CHECK(ip[9] == kIpProtoTcp);
  FUZZ_CHECK(offload.l4 != RxChecksum::kBad);
  CheckTcpFields(l4, info);
  if (offload.l4 == RxChecksum::kUnknown) {
    FUZZ_CHECK(TcpChecksum(info.src_ip, info.dst_ip, l4, info.l4_length) == 0);
  }
}

void FuzzParseFrame(const uint8_t* data, size_t size) {
  const auto len = static_cast<uint32_t>(size);
  PacketInfo software;
  const Verdict sw = ParseFrame(data, len, RxOffload{}, &software);
  for (RxChecksum ip : kStates) {
    for (RxChecksum l4 : kStates) {
      const RxOffload offload{ip, l4};
      PacketInfo info;
      const Verdict v = ParseFrame(data, len, offload, &info);
      FUZZ_CHECK(static_cast<int>(v) < kNumVerdicts);
      if (v == Verdict::kOk) CheckAccepted(data, size, offload, info);
      // A NIC that vouches for a checksum can only let more frames through,
      // and must not change what the parser reports about them.
      if (sw == Verdict::kOk && ip != RxChecksum::kBad &&
          l4 != RxChecksum::kBad) {
        FUZZ_CHECK(v == Verdict::kOk);
        FUZZ_CHECK(SamePacket(info, software));
      }
    }
  }
}

// The receive fast path (wire/classify.h): the classifier's two forms give
// the same verdict, and a frame it passes is accepted by ParseTcp4Fast
// exactly when ParseFrame accepts it as TCP, with the same fields. The key
// is taken from the input itself (its destination MAC and address) so that
// most inputs reach the fast parse, and a fixed one is tried too.
void FuzzFastPath(const uint8_t* data, size_t size) {
  if (size < kClassifyMinLength || size > 0xffff) return;
  ClassifyKey keys[2];
  keys[0].mac = MacAddress::FromBytes(data);
  keys[0].ip = Ipv4Address{LoadBe32(data + 30)};
  keys[1].mac = MacAddress{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
  keys[1].ip = Ipv4Address::FromOctets(10, 0, 0, 2);
  const uint8_t* frames[1] = {data};
  const uint16_t lens[1] = {static_cast<uint16_t>(size)};
  const auto len = static_cast<uint32_t>(size);
  for (const ClassifyKey& key : keys) {
    const BurstClassifier c(key);
    const uint64_t bits = c.ClassifyScalar(frames, lens, 1);
    if (BurstClassifier::HasAvx2()) {
      FUZZ_CHECK(c.ClassifyAvx2(frames, lens, 1) == bits);
    }
    if (bits == 0) continue;
    for (RxChecksum ip : kStates) {
      for (RxChecksum l4 : kStates) {
        const RxOffload offload{ip, l4};
        PacketInfo info;
        const bool full = ParseFrame(data, len, offload, &info) ==
                              Verdict::kOk &&
                          info.kind == PacketKind::kTcp;
        Tcp4Fields f;
        TcpOptions options;
        const bool fast = ParseTcp4Fast(data, len, offload, &f, &options);
        FUZZ_CHECK(fast == full);
        if (!fast) continue;
        FUZZ_CHECK(info.family == IpFamily::kIpv4);
        FUZZ_CHECK(f.src_ip == info.src_ip.value);
        FUZZ_CHECK(f.dst_ip == info.dst_ip.value && f.dst_ip == key.ip.value);
        FUZZ_CHECK(f.src_port == info.src_port && f.dst_port == info.dst_port);
        FUZZ_CHECK(f.seq == info.seq.value() && f.ack == info.ack.value());
        FUZZ_CHECK(f.flags == info.tcp_flags && f.window == info.window);
        FUZZ_CHECK(f.payload_offset == info.payload_offset);
        FUZZ_CHECK(f.payload_length == info.payload_length);
        FUZZ_CHECK(options == info.options);
      }
    }
  }
}

void FuzzTcpOptions(const uint8_t* data, size_t size) {
  TcpOptions parsed;
  if (ParseTcpOptions(data, size, &parsed) != Verdict::kOk) return;
  FUZZ_CHECK(parsed.sack_blocks <= 4);
  // What we emit for these options must parse back to them (SACK blocks
  // are not emitted).
  uint8_t buf[kTcpMaxOptionsLength];
  const size_t n = EmitTcpOptions(parsed, buf);
  FUZZ_CHECK(n == TcpOptionsLength(parsed));
  FUZZ_CHECK(n <= kTcpMaxOptionsLength && n % 4 == 0);
  TcpOptions back;
  FUZZ_CHECK(ParseTcpOptions(buf, n, &back) == Verdict::kOk);
  TcpOptions expected = parsed;
  expected.sack_blocks = 0;
  FUZZ_CHECK(back == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzParseFrame(data, size);
  FuzzFastPath(data, size);
  FuzzTcpOptions(data, size);
  return 0;
}
