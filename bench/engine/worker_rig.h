// The worker benchmarks' rig: a Worker on one end of a net_ring pair with a
// syncookies=always listener, and the benchmark as the host at the other
// end, with 1024 prebuilt SYN frames (Linux-style options: MSS,
// SACK-permitted, timestamps, window scale; distinct 4-tuples used in turn).
// Shared by worker_benchmark (TSC cycles, Google Benchmark) and worker_cost
// (a fixed number of bursts for callgrind). Needs the EAL.
#ifndef SYNWAVE_BENCH_ENGINE_WORKER_RIG_H_
#define SYNWAVE_BENCH_ENGINE_WORKER_RIG_H_

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/counters.h"
#include "engine/worker.h"
#include "port/port.h"
#include "tcp/config.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::engine::rig {

namespace tf = wire::tcp_flags;
using wire::Ipv4Address;
inline constexpr uint32_t kFrames = 1024;  // distinct SYNs, used in turn
inline const Ipv4Address kOurIp = Ipv4Address::FromOctets(198, 18, 0, 2);
inline const Ipv4Address kClientIp = Ipv4Address::FromOctets(198, 18, 0, 1);
inline constexpr uint64_t kPollStepNs = 1000;  // virtual time per iteration

// Every PollOnce and every reply in this process.
inline uint64_t total_polls = 0;
inline uint64_t total_replies = 0;

// A worker on one end of a net_ring pair, the benchmark on the other.
class Rig {
 public:
  explicit Rig(uint16_t burst) {
    static int instance = 0;
    auto ids = port::CreateRingPair("wb" + std::to_string(instance++), 1, 1024);
    if (!ids.ok()) {
      error_ = ids.status().ToString();
      return;
    }
    port::PortConfig pc;
    pc.num_queues = 1;
    pc.rx_descriptors = 512;
    pc.tx_descriptors = 512;
    pc.num_mbufs = 2047;
    auto a = port::Port::OpenById(ids->first, pc);
    if (!a.ok()) {
      error_ = a.status().ToString();
      return;
    }
    pc.mac = wire::MacAddress{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
    auto b = port::Port::OpenById(ids->second, pc);
    if (!b.ok()) {
      error_ = b.status().ToString();
      return;
    }
    endpoint_ = std::make_unique<port::Port>(std::move(*a));
    peer_ = std::make_unique<port::Port>(std::move(*b));

    WorkerConfig c;
    c.ip = wire::Ipv4Prefix{kOurIp, 24};
    c.burst = burst;
    c.listen_ports = {80};
    c.tcp.syncookies = tcp::SynCookieMode::kAlways;
    c.secret = tcp::SipKey{0x0123456789abcdefull, 0xfedcba9876543210ull};
    c.hash_seed = 42;
    const QueueBinding qb{endpoint_->id(), 0, endpoint_->pool(),
                          endpoint_->mac(), endpoint_->offloads()};
    worker_ = std::make_unique<Worker>(c, qb, &counters_);

    for (uint32_t i = 0; i < kFrames; ++i) {
      testutil::TcpFrame f;
      f.eth.dst = endpoint_->mac();
      f.eth.src = peer_->mac();
      f.ip.src = kClientIp;
      f.ip.dst = kOurIp;
      f.ip.id = static_cast<uint16_t>(i);
      f.tcp.src_port = static_cast<uint16_t>(10000 + i);
      f.tcp.dst_port = 80;
      f.tcp.seq = 0x9e3779b9u * (i + 1);
      f.tcp.flags = tf::kSyn;
      f.tcp.window = 64240;
      f.tcp.options.has_mss = true;
      f.tcp.options.mss = 1460;
      f.tcp.options.sack_permitted = true;
      f.tcp.options.has_timestamps = true;
      f.tcp.options.ts_val = 1'000'000 + i;
      f.tcp.options.has_window_scale = true;
      f.tcp.options.window_scale = 7;
      frames_.push_back(testutil::BuildFrame(f));
    }
  }

  const std::string& error() const { return error_; }
  void set_error(const std::string& why) { error_ = why; }
  // The worker's counters, published now (the worker itself publishes
  // only once per publish interval while busy).
  CoreCounters& counters() {
    worker_->PublishCounters();
    return counters_;
  }
  Worker& worker() { return *worker_; }
  // The virtual clock: each Poll advances it by kPollStepNs.
  uint64_t now() const { return now_; }
  void Step() {
    now_ += kPollStepNs;
    ++total_polls;
  }

  // Untimed: the peer sends the next `n` SYNs; `sent` gets their mbufs.
  bool Inject(uint16_t n, rte_mbuf** sent) {
    if (rte_pktmbuf_alloc_bulk(peer_->pool(), sent, n) != 0) return false;
    for (uint16_t i = 0; i < n; ++i) {
      const std::vector<uint8_t>& f = frames_[next_frame_];
      next_frame_ = (next_frame_ + 1) % kFrames;
      std::memcpy(rte_pktmbuf_mtod(sent[i], uint8_t*), f.data(), f.size());
      sent[i]->data_len = static_cast<uint16_t>(f.size());
      sent[i]->pkt_len = static_cast<uint32_t>(f.size());
    }
    const uint16_t queued = rte_eth_tx_burst(peer_->id(), 0, sent, n);
    if (queued < n) {
      rte_pktmbuf_free_bulk(sent + queued, n - queued);
      return false;
    }
    return true;
  }

  // Timed: one worker iteration. Returns its TSC cycles.
  uint64_t Poll() {
    const uint64_t start = rte_rdtsc();
    worker_->PollOnce(now_);
    const uint64_t cycles = rte_rdtsc() - start;
    Step();
    return cycles;
  }

  // Untimed: what came back to the peer. Frees it unless `keep`.
  uint16_t Drain(rte_mbuf** out, uint16_t max, bool keep = false) {
    const uint16_t n = rte_eth_rx_burst(peer_->id(), 0, out, max);
    total_replies += n;
    if (!keep && n > 0) rte_pktmbuf_free_bulk(out, n);
    return n;
  }

  // One burst end to end, checked: every SYN answered by a SYN-ACK written
  // into the SYN's own mbuf.
  std::string Check(uint16_t n) {
    rte_mbuf* sent[kMaxBurst];
    rte_mbuf* got[kMaxBurst];
    if (!Inject(n, sent)) return "could not inject";
    Poll();
    const uint16_t m = Drain(got, kMaxBurst, /*keep=*/true);
    std::string error;
    if (m != n) error = "sent " + std::to_string(n) + " SYNs, got " + std::to_string(m);
    for (uint16_t i = 0; i < m && error.empty(); ++i) {
      if (std::find(sent, sent + n, got[i]) == sent + n) {
        error = "a SYN-ACK did not reuse its SYN's mbuf";
        break;
      }
      wire::PacketInfo info;
      const auto* d = rte_pktmbuf_mtod(got[i], const uint8_t*);
      if (wire::ParseFrame(d, rte_pktmbuf_data_len(got[i]), {}, &info) !=
              wire::Verdict::kOk ||
          info.kind != wire::PacketKind::kTcp ||
          info.tcp_flags != (tf::kSyn | tf::kAck) || info.src_port != 80) {
        error = "a reply is not a valid SYN-ACK";
      }
    }
    if (m > 0) rte_pktmbuf_free_bulk(got, m);
    return error;
  }

 private:
  std::string error_;
  CoreCounters counters_;
  std::unique_ptr<port::Port> endpoint_;
  std::unique_ptr<port::Port> peer_;
  std::unique_ptr<Worker> worker_;
  std::vector<std::vector<uint8_t>> frames_;
  uint32_t next_frame_ = 0;
  uint64_t now_ = tcp::kSecond;
};

}  // namespace synwave::engine::rig

#endif  // SYNWAVE_BENCH_ENGINE_WORKER_RIG_H_
