// The receive fast path: which frames of a burst are the common case (IPv4
// TCP to our MAC and our address), and their parse without a PacketInfo.
//
// BurstClassifier::Classify compares the fixed bytes of each frame's Ethernet and IPv4
// headers against a template (our MAC, an individual source MAC, EtherType
// IPv4, version 4 with a 20-byte header, not a fragment, protocol TCP, our
// IPv4 address) and returns a bit mask over the burst. Its AVX2 form holds a
// frame's bytes 2-33 in one 32-byte register: one load, one xor and one
// masked test (vptest) a frame, where the scalar form needs five masked
// 64-bit compares; the form is chosen once from the CPU's flags
// (__builtin_cpu_supports), and both must give the same mask
// (wire_classify_test; the parse fuzzer compares them on every input).
// The vector does not hold the same field of 8 frames: the fields sit in 8
// different buffers, and gathering them costs more than one load of each
// frame's header bytes.
//
// ParseTcp4Fast then does the rest of what ParseFrame checks for such a
// frame (lengths, both checksums unless the NIC vouched for them, the
// source address, SYN with FIN or RST, the options) and gives the TCP
// fields. It accepts a frame only if ParseFrame accepts it as kTcp with the
// same fields (wire_classify_test, parse_fuzzer); for anything unusual it
// returns false and the caller takes ParseFrame, whose verdict names what
// is wrong, so the drop counters do not change. Pure: no DPDK.
#ifndef SYNWAVE_WIRE_CLASSIFY_H_
#define SYNWAVE_WIRE_CLASSIFY_H_

#include <cstdint>
#include <cstring>

#include "wire/addresses.h"
#include "wire/checksum.h"
#include "wire/headers.h"
#include "wire/parse.h"
#include "wire/tcp_options.h"

namespace synwave::wire {

// What ClassifyBurst looks for.
struct ClassifyKey {
  MacAddress mac;  // ours (a frame to broadcast is not the common case)
  Ipv4Address ip;  // our address, host order
};

// The shortest frame the classifier passes: Ethernet, IPv4 and TCP headers.
inline constexpr uint32_t kClassifyMinLength =
    kEthernetHeaderLength + kIpv4MinHeaderLength + kTcpMinHeaderLength;

// The template of one key, built once (a worker keeps one).
class BurstClassifier {
 public:
  explicit BurstClassifier(const ClassifyKey& key);

  // Bit i is set when frames[i] (lens[i] bytes; 0 for a frame to leave
  // out) is at least kClassifyMinLength bytes and its header bytes match
  // the template (see the file comment). n <= 64. Reads the first 34 bytes
  // of every frame of at least kClassifyMinLength bytes.
  uint64_t Classify(const uint8_t* const* frames, const uint16_t* lens,
                    uint32_t n) const {
    return (this->*kImpl)(frames, lens, n);
  }
  // The two forms; ClassifyAvx2 only where the CPU has AVX2 (HasAvx2).
  uint64_t ClassifyScalar(const uint8_t* const* frames, const uint16_t* lens,
                          uint32_t n) const;
  uint64_t ClassifyAvx2(const uint8_t* const* frames, const uint16_t* lens,
                        uint32_t n) const;
  static bool HasAvx2();
  // "avx2" or "scalar": the form Classify uses on this CPU.
  static const char* ImplName();

 private:
  using Impl = uint64_t (BurstClassifier::*)(const uint8_t* const*,
                                             const uint16_t*, uint32_t) const;
  static const Impl kImpl;

  static constexpr int kBytes = 34;  // the template covers bytes 0-33
  // Template bytes and their masks (value already masked), padded.
  alignas(32) uint8_t value_[40] = {};
  alignas(32) uint8_t mask_[40] = {};
};

// The TCP fields of a frame ParseTcp4Fast accepted, host order.
struct Tcp4Fields {
  uint32_t src_ip = 0;
  uint32_t dst_ip = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t payload_offset = 0;  // from the frame's start
  uint16_t payload_length = 0;
};

// For a frame BurstClassifier::Classify passed (`len` bytes, >= kClassifyMinLength):
// true, with `f` and `options` filled, when ParseFrame would accept it as
// TCP with these fields; false otherwise (`f` and `options` unspecified).
[[gnu::always_inline]] inline bool ParseTcp4Fast(const uint8_t* frame,
                                                 uint32_t len,
                                                 RxOffload offload,
                                                 Tcp4Fields* f,
                                                 TcpOptions* options) {
  using namespace checksum_internal;
  const uint8_t* const ip = frame + kEthernetHeaderLength;
  const uint8_t* const tcp = ip + kIpv4MinHeaderLength;
  // The template fixed a 20-byte header; the total length must hold it and
  // a TCP header, inside the frame (padding past it is allowed).
  const uint16_t total_len = __builtin_bswap16(Load16(ip + 2));
  if (total_len < kIpv4MinHeaderLength + kTcpMinHeaderLength ||
      total_len > len - kEthernetHeaderLength) {
    return false;
  }
  if (offload.ip != RxChecksum::kGood &&
      (offload.ip == RxChecksum::kBad || FoldSum(PartialSum20(ip)) != 0xffff)) {
    return false;
  }
  const Ipv4Address src{LoadBe32Raw(ip + 12)};
  const Ipv4Address dst{LoadBe32Raw(ip + 16)};
  if (src.IsZero() || src.IsLimitedBroadcast() || src.IsMulticast() ||
      src.IsLoopback() || src == dst) {
    return false;
  }
  const auto l4_len = static_cast<uint16_t>(total_len - kIpv4MinHeaderLength);
  const uint16_t header_len = static_cast<uint16_t>((tcp[12] >> 4) * 4);
  if (header_len < kTcpMinHeaderLength || header_len > l4_len) return false;
  if (offload.l4 != RxChecksum::kGood &&
      (offload.l4 == RxChecksum::kBad ||
       !Ipv4TcpChecksumOk(ip, tcp, l4_len))) {
    return false;
  }
  const uint8_t flags = tcp[13];
  if ((flags & tcp_flags::kSyn) &&
      (flags & (tcp_flags::kFin | tcp_flags::kRst))) {
    return false;
  }
  if (header_len > kTcpMinHeaderLength) {
    if (ParseTcpOptions(tcp + kTcpMinHeaderLength,
                        header_len - kTcpMinHeaderLength,
                        options) != Verdict::kOk) {
      return false;
    }
  } else {
    *options = TcpOptions{};
  }
  f->src_ip = src.value;
  f->dst_ip = dst.value;
  f->src_port = __builtin_bswap16(Load16(tcp));
  f->dst_port = __builtin_bswap16(Load16(tcp + 2));
  f->seq = LoadBe32Raw(tcp + 4);
  f->ack = LoadBe32Raw(tcp + 8);
  f->flags = flags;
  f->window = __builtin_bswap16(Load16(tcp + 14));
  f->payload_offset = static_cast<uint16_t>(kEthernetHeaderLength +
                                            kIpv4MinHeaderLength + header_len);
  f->payload_length = static_cast<uint16_t>(l4_len - header_len);
  return true;
}

}  // namespace synwave::wire

#endif  // SYNWAVE_WIRE_CLASSIFY_H_
