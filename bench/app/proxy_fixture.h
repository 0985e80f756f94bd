// A ProxyCore with established flows and bursts of frames for them, shared
// by proxy_benchmark (cycles) and proxy_cost (callgrind Ir): 32 flows, each
// joined to one backend through the real handshake (cookie SYN-ACK, cookie
// ACK, backend SYN-ACK), then one data segment per flow each way (100
// payload bytes, NOP NOP timestamps), and a burst of SYNs from 32 other
// clients for the cookie path. Process rewrites a frame in place, so each
// round restores the 66 header bytes it changes (a memcpy per frame,
// included in the figures, about 4 cycles). ProxyFixture(true): the same
// over IPv6 (an IPv6 proxy, Process6; 86 header bytes restored).
#ifndef SYNWAVE_BENCH_APP_PROXY_FIXTURE_H_
#define SYNWAVE_BENCH_APP_PROXY_FIXTURE_H_

#include <cstdint>
#include <cstring>
#include <vector>

#include "app/proxy_core.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::bench {

inline constexpr size_t kProxyBurst = 32;
inline constexpr size_t kHeaderBytes = 14 + 20 + 32;
inline constexpr size_t kHeaderBytes6 = 14 + 40 + 32;

struct ProxyFrames {
  std::vector<uint8_t> bytes[kProxyBurst];
  std::vector<uint8_t> pristine[kProxyBurst];
  wire::PacketInfo info[kProxyBurst];
  bool ipv6 = false;

  // Constant sizes: inline moves (the IPv4 figures as before IPv6).
  void Restore(size_t i) {
    std::memcpy(bytes[i].data(), pristine[i].data(), kHeaderBytes);
  }
  void Restore6(size_t i) {
    std::memcpy(bytes[i].data(), pristine[i].data(), kHeaderBytes6);
  }
};

class ProxyFixture {
 public:
  explicit ProxyFixture(bool ipv6 = false) : v6_(ipv6), core_(Config(ipv6)) {
    const wire::MacAddress bmac{{2, 0, 0, 0, 0, 2}};
    core_.SetBackendMac(0, &bmac);
    to_backend.ipv6 = to_client.ipv6 = syns.ipv6 = ipv6;
    for (size_t i = 0; i < kProxyBurst; ++i) Join(i);
  }

  app::ProxyCore& core() { return core_; }
  ProxyFrames to_backend;
  ProxyFrames to_client;
  ProxyFrames syns;

 private:
  static constexpr uint32_t kVip = 0xc000020a;      // 192.0.2.10
  static constexpr uint32_t kBackend = 0x0a090002;  // 10.9.0.2
  static constexpr uint64_t kNow = 5'000'000'000;

  static wire::Ipv6Address V6(uint32_t v4) {  // 64:ff9b::/96 + v4
    wire::Ipv6Address a = *wire::Ipv6Address::Parse("64:ff9b::");
    for (int k = 0; k < 4; ++k) a.bytes[12 + k] = static_cast<uint8_t>(v4 >> (24 - 8 * k));
    return a;
  }

  static app::ProxyConfig Config(bool ipv6) {
    app::ProxyConfig c;
    c.vip = kVip;
    c.backend_side_ip = 0x0a090001;
    if (ipv6) {
      c.ipv6 = true;
      c.vip = c.backend_side_ip = 0;
      c.vip6 = V6(kVip);
      c.backend_side_ip6 = V6(0x0a090001);
    }
    c.client_side_mac = wire::MacAddress{{2, 0, 0, 0, 0, 0x10}};
    c.backend_side_mac = wire::MacAddress{{2, 0, 0, 0, 0, 0x20}};
    c.listen_ports = {80};
    c.backends = {{kBackend, 8080}};
    if (ipv6) c.backends = {{0, 8080, V6(kBackend)}};
    c.max_flows = 65536;
    c.secret = {1, 2};
    c.hash_seed = 3;
    c.probe_interval_ns = 0;
    return c;
  }

  static testutil::TcpFrame FromClient(size_t i) {
    testutil::TcpFrame t;
    t.ip.src = wire::Ipv4Address{0xc6336400u + static_cast<uint32_t>(i * 7)};
    t.ip.dst = wire::Ipv4Address{kVip};
    t.tcp.src_port = static_cast<uint16_t>(30000 + i);
    t.tcp.dst_port = 80;
    return t;
  }

  // The frame of `t`, over IPv6 with the mapped addresses when v6_.
  std::vector<uint8_t> Build(const testutil::TcpFrame& t) const {
    if (!v6_) return testutil::BuildFrame(t);
    testutil::Tcp6Frame f;
    f.eth = t.eth;
    f.ip.src = V6(t.ip.src.value);
    f.ip.dst = V6(t.ip.dst.value);
    f.tcp = t.tcp;
    return testutil::BuildFrame(f);
  }

  static void Keep(ProxyFrames& f, size_t i, std::vector<uint8_t> bytes) {
    f.bytes[i] = bytes;
    f.pristine[i] = bytes;
    wire::ParseFrame(f.bytes[i].data(), f.bytes[i].size(), {}, &f.info[i]);
  }

  // Feeds a frame; `seq`, `ts_val`: the reply's (the cookie SYN-ACK's).
  void Feed(std::vector<uint8_t> f, uint32_t* seq = nullptr,
            uint32_t* ts_val = nullptr) {
    wire::PacketInfo info;
    wire::ParseFrame(f.data(), f.size(), {}, &info);
    if (v6_) {
      wire::Tcp6SegmentSpec spec;
      core_.Process6(f.data(), static_cast<uint16_t>(f.size()), info, kNow,
                     &spec);
      if (seq != nullptr) *seq = spec.seq.value();
      if (ts_val != nullptr) *ts_val = spec.options.ts_val;
      return;
    }
    wire::TcpSegmentSpec spec;
    core_.Process(f.data(), static_cast<uint16_t>(f.size()), info, kNow,
                  &spec);
    if (seq != nullptr) *seq = spec.seq.value();
    if (ts_val != nullptr) *ts_val = spec.options.ts_val;
  }

  void Join(size_t i) {
    namespace tf = wire::tcp_flags;
    const uint32_t ic = 1000 + static_cast<uint32_t>(i) * 100000;
    const uint32_t ib = 7000000 + static_cast<uint32_t>(i);
    testutil::TcpFrame t = FromClient(i);
    t.tcp.seq = ic;
    t.tcp.flags = tf::kSyn;
    t.tcp.options.has_mss = true;
    t.tcp.options.mss = 1460;
    t.tcp.options.has_timestamps = true;
    t.tcp.options.ts_val = 100;
    uint32_t ip = 0, tp = 0;
    Feed(Build(t), &ip, &tp);
    t.tcp.flags = tf::kAck;
    t.tcp.seq = ic + 1;
    t.tcp.ack = ip + 1;
    t.tcp.options = {};
    t.tcp.options.has_timestamps = true;
    t.tcp.options.ts_val = 101;
    t.tcp.options.ts_ecr = tp;
    Feed(Build(t));
    testutil::TcpFrame b;
    b.ip.src = wire::Ipv4Address{kBackend};
    b.ip.dst = t.ip.src;
    b.tcp.src_port = 8080;
    b.tcp.dst_port = t.tcp.src_port;
    b.tcp.seq = ib;
    b.tcp.ack = ic + 1;
    b.tcp.flags = tf::kSyn | tf::kAck;
    b.tcp.options.has_mss = true;
    b.tcp.options.mss = 1460;
    b.tcp.options.has_timestamps = true;
    b.tcp.options.ts_val = 5000;
    b.tcp.options.ts_ecr = 101;
    Feed(Build(b));
    // The steady state: data each way.
    t.tcp.flags = tf::kAck | tf::kPsh;
    t.tcp.payload.assign(100, 'c');
    t.tcp.options.ts_val = 200;
    Keep(to_backend, i, Build(t));
    b.tcp.flags = tf::kAck | tf::kPsh;
    b.tcp.seq = ib + 1;
    b.tcp.options = {};
    b.tcp.options.has_timestamps = true;
    b.tcp.options.ts_val = 5100;
    b.tcp.options.ts_ecr = 200;
    b.tcp.payload.assign(100, 's');
    Keep(to_client, i, Build(b));
    // A SYN from another client, for the cookie path.
    testutil::TcpFrame s = FromClient(i + 1000);
    s.tcp.seq = ic;
    s.tcp.flags = tf::kSyn;
    s.tcp.options.has_mss = true;
    s.tcp.options.mss = 1460;
    s.tcp.options.has_window_scale = true;
    s.tcp.options.window_scale = 7;
    s.tcp.options.sack_permitted = true;
    s.tcp.options.has_timestamps = true;
    s.tcp.options.ts_val = 100;
    Keep(syns, i, Build(s));
  }

  bool v6_;
  app::ProxyCore core_;
};

// One burst through PrepareSyns and Process; returns how many were forwarded or answered.
inline size_t ProcessBurst(app::ProxyCore& core, ProxyFrames& f,
                           uint64_t now_ns) {
  size_t done = 0;
  if (f.ipv6) {  // as app::Proxy does: PrepareSyns6, then Process6
    wire::Tcp6SegmentSpec spec6;
    // The headers restored first: PrepareSyns6 reads the addresses.
    const uint8_t* frames[kProxyBurst];
    for (size_t i = 0; i < kProxyBurst; ++i) {
      f.Restore6(i);
      frames[i] = f.bytes[i].data();
    }
    core.PrepareSyns6(frames, f.info, kProxyBurst, now_ns);
    for (size_t i = 0; i < kProxyBurst; ++i) {
      done += core.Process6(f.bytes[i].data(),
                            static_cast<uint16_t>(f.bytes[i].size()),
                            f.info[i], now_ns, &spec6, static_cast<int>(i)) !=
              app::ProxyAction::kDrop;
    }
    return done;
  }
  wire::TcpSegmentSpec spec;
  core.PrepareSyns(f.info, kProxyBurst, now_ns);  // as app::Proxy does
  for (size_t i = 0; i < kProxyBurst; ++i) {
    f.Restore(i);
    done += core.Process(f.bytes[i].data(),
                         static_cast<uint16_t>(f.bytes[i].size()), f.info[i],
                         now_ns, &spec, static_cast<int>(i)) !=
            app::ProxyAction::kDrop;
  }
  return done;
}

}  // namespace synwave::bench

#endif  // SYNWAVE_BENCH_APP_PROXY_FIXTURE_H_
