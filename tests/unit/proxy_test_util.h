// The ProxyCore fixture shared by proxy_test and proxy_backends_test: a
// core with one or two backends, a recorder of what it sends besides
// replies, frame makers for each side, and the whole handshake with
// timestamps, window scale 7 and SACK.
#ifndef SYNWAVE_TESTS_UNIT_PROXY_TEST_UTIL_H_
#define SYNWAVE_TESTS_UNIT_PROXY_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <vector>

#include "app/proxy_core.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::app {

using testutil::BuildFrame;
using testutil::TcpFrame;
using wire::Ipv4Address;
using wire::MacAddress;
namespace tf = wire::tcp_flags;

inline const Ipv4Address kVip = Ipv4Address::FromOctets(192, 0, 2, 10);
inline const Ipv4Address kBackendSide = Ipv4Address::FromOctets(10, 9, 0, 1);
inline const Ipv4Address kBackend = Ipv4Address::FromOctets(10, 9, 0, 2);
inline const Ipv4Address kBackend2 = Ipv4Address::FromOctets(10, 9, 0, 3);
inline const Ipv4Address kClient = Ipv4Address::FromOctets(198, 51, 100, 7);
inline const MacAddress kClientSideMac{{0x02, 0, 0, 0, 0, 0x10}};
inline const MacAddress kBackendSideMac{{0x02, 0, 0, 0, 0, 0x20}};
inline const MacAddress kClientMac{{0x02, 0, 0, 0, 0, 0x01}};
inline const MacAddress kBackendMac{{0x02, 0, 0, 0, 0, 0x02}};
inline constexpr uint16_t kVport = 80;
inline constexpr uint16_t kCport = 40000;
inline constexpr uint64_t kT0 = 5'000'000'000;  // ns

struct Recorder : ProxyOutput {
  struct Sent {
    bool to_backend;
    wire::TcpSegmentSpec spec;
  };
  struct Sent6 {
    bool to_backend;
    wire::Tcp6SegmentSpec spec;
  };
  std::vector<Sent> sent;
  std::vector<Sent6> sent6;  // an IPv6 proxy's
  void Send(bool to_backend, const wire::TcpSegmentSpec& spec) override {
    sent.push_back({to_backend, spec});
  }
  void Send(bool to_backend, const wire::Tcp6SegmentSpec& spec) override {
    sent6.push_back({to_backend, spec});
  }
};

inline ProxyConfig MakeConfig(int backends = 1) {
  ProxyConfig c;
  c.vip = kVip.value;
  c.backend_side_ip = kBackendSide.value;
  c.client_side_mac = kClientSideMac;
  c.backend_side_mac = kBackendSideMac;
  c.listen_ports = {kVport};
  c.backends.push_back({kBackend.value, 8080});
  if (backends > 1) c.backends.push_back({kBackend2.value, 8080});
  c.max_flows = 1024;
  c.secret = {0x0123456789abcdefull, 0xfedcba9876543210ull};
  c.hash_seed = 42;
  c.probe_interval_ns = 0;  // probes only where a test asks
  return c;
}

struct Parsed {
  wire::Verdict verdict;
  wire::PacketInfo info;
};

// Parses with software checksum checks: a wrong checksum is kTcpBadChecksum.
inline Parsed Reparse(const std::vector<uint8_t>& f) {
  Parsed p;
  p.verdict = wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                               &p.info);
  return p;
}

class ProxyTest : public ::testing::Test {
 protected:
  explicit ProxyTest(int backends = 1) : core_(MakeConfig(backends)) {
    core_.set_output(&out_);
    for (int b = 0; b < core_.num_backends(); ++b) {
      core_.SetBackendMac(b, &kBackendMac);
    }
  }

  ProxyAction Feed(std::vector<uint8_t>& f, uint64_t now,
                   wire::TcpSegmentSpec* spec) {
    wire::PacketInfo info;
    EXPECT_EQ(wire::ParseFrame(f.data(), static_cast<uint32_t>(f.size()), {},
                               &info),
              wire::Verdict::kOk);
    return core_.Process(f.data(), static_cast<uint16_t>(f.size()), info, now,
                         spec);
  }

  // A client's segment to the VIP.
  TcpFrame FromClient(uint32_t seq, uint32_t ack, uint8_t flags) {
    TcpFrame t;
    t.eth.src = kClientMac;
    t.eth.dst = kClientSideMac;
    t.ip.src = kClient;
    t.ip.dst = kVip;
    t.tcp.src_port = kCport;
    t.tcp.dst_port = kVport;
    t.tcp.seq = seq;
    t.tcp.ack = ack;
    t.tcp.flags = flags;
    return t;
  }
  // The backend's segment to the client.
  TcpFrame FromBackend(uint32_t seq, uint32_t ack, uint8_t flags) {
    TcpFrame t;
    t.eth.src = kBackendMac;
    t.eth.dst = kBackendSideMac;
    t.ip.src = kBackend;
    t.ip.dst = kClient;
    t.tcp.src_port = 8080;
    t.tcp.dst_port = kCport;
    t.tcp.seq = seq;
    t.tcp.ack = ack;
    t.tcp.flags = flags;
    return t;
  }

  // The whole handshake with timestamps, wscale 7 and SACK on the client,
  // the backend answering with wscale `backend_ws`.
  void Handshake(uint8_t backend_ws = 7, bool client_ts = true) {
    TcpFrame syn = FromClient(kIc, 0, tf::kSyn);
    syn.tcp.window = 64240;
    syn.tcp.options.has_mss = true;
    syn.tcp.options.mss = 1460;
    syn.tcp.options.has_window_scale = true;
    syn.tcp.options.window_scale = 7;
    syn.tcp.options.sack_permitted = true;
    syn.tcp.options.has_timestamps = client_ts;
    syn.tcp.options.ts_val = kClientTs;
    std::vector<uint8_t> f = BuildFrame(syn);
    wire::TcpSegmentSpec spec;
    ASSERT_EQ(Feed(f, kT0, &spec), ProxyAction::kReplyToClient);
    synack_ = spec;
    ip_ = spec.seq.value();
    tp_ = spec.options.ts_val;

    TcpFrame ack = FromClient(kIc + 1, ip_ + 1, tf::kAck);
    ack.tcp.window = 502;
    ack.tcp.options.has_timestamps = client_ts;
    ack.tcp.options.ts_val = kClientTs + 1;
    ack.tcp.options.ts_ecr = tp_;
    f = BuildFrame(ack);
    ASSERT_EQ(Feed(f, kT0 + 1000, &spec), ProxyAction::kReplyToBackend);
    backend_syn_ = spec;

    TcpFrame sa = FromBackend(kIb, kIc + 1, tf::kSyn | tf::kAck);
    sa.tcp.window = 65160;
    sa.tcp.options.has_mss = true;
    sa.tcp.options.mss = 1460;
    sa.tcp.options.has_window_scale = true;
    sa.tcp.options.window_scale = backend_ws;
    sa.tcp.options.sack_permitted = true;
    sa.tcp.options.has_timestamps = client_ts;
    sa.tcp.options.ts_val = kTb;
    sa.tcp.options.ts_ecr = kClientTs + 1;
    f = BuildFrame(sa);
    out_.sent.clear();
    ASSERT_EQ(Feed(f, kT0 + 2000, &spec), ProxyAction::kReplyToBackend);
    backend_ack_ = spec;
  }

  static constexpr uint32_t kIc = 0xfffffff0;  // wraps during the test
  static constexpr uint32_t kIb = 0x10000000;
  static constexpr uint32_t kClientTs = 777000;
  static constexpr uint32_t kTb = 0xfffffff8;
  Recorder out_;
  ProxyCore core_;
  uint32_t ip_ = 0;
  uint32_t tp_ = 0;
  wire::TcpSegmentSpec synack_, backend_syn_, backend_ack_;
};

}  // namespace synwave::app

#endif  // SYNWAVE_TESTS_UNIT_PROXY_TEST_UTIL_H_
