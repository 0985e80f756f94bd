// Microbenchmark of the whole worker path for the SYN flood case: a burst of
// SYN frames to a listener with syncookies=always, one Worker::PollOnce,
// the cookie SYN-ACKs out, each written into its SYN's own mbuf. This is the
// figure for the target "a cookie SYN-ACK in at most 100 cycles, rx and tx
// on the in-memory port included".
//
// The worker owns one queue of a net_ring port; the benchmark is the host
// at the other end of the link (the peer port of the pair). Per iteration,
// untimed: allocate `burst` mbufs, copy in prebuilt SYN frames (Linux-style
// options: MSS, SACK-permitted, timestamps, window scale; 1024 different
// 4-tuples in turn) and transmit them to the worker. Timed: PollOnce, which
// receives them (rte_eth_rx_burst on the ring), parses and verifies the
// checksums in software (net_ring has no offloads), looks the burst up,
// runs the stack, rewrites each SYN into its SYN-ACK in place, computes the
// checksums, transmits the burst (rte_eth_tx_burst), advances the timers and
// publishes its counters. Untimed again: the peer receives the SYN-ACKs and
// frees them. The setup checks that every SYN got a SYN-ACK in its own mbuf.
//
// cycles_per_item is TSC cycles of PollOnce per SYN (the TSC ticks at the
// nominal frequency: under turbo these are reference cycles, not core
// cycles); tcp_cycles_per_item is the worker's own tcp_cycles counter per
// SYN (lookup and state machine, reply frames included), the rest being rx,
// parse, tx and the loop. Time is the same TSC span (manual time).
//
// Needs the EAL, started as the engine tests start it: no hugepages, no
// PCI, no privileges. Run with --benchmark_repetitions=5 and read the
// medians: this machine is shared and noisy.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/counters.h"
#include "engine/worker.h"
#include "port/eal.h"
#include "port/port.h"
#include "tcp/config.h"
#include "testing/frame_builder.h"
#include "wire/headers.h"
#include "wire/parse.h"

namespace synwave::engine {
namespace {

namespace tf = wire::tcp_flags;
using wire::Ipv4Address;

constexpr uint32_t kFrames = 1024;  // distinct SYNs, used in turn
const Ipv4Address kOurIp = Ipv4Address::FromOctets(198, 18, 0, 2);
const Ipv4Address kClientIp = Ipv4Address::FromOctets(198, 18, 0, 1);
constexpr uint64_t kPollStepNs = 1000;  // virtual time per iteration

// Every PollOnce and every reply in this process, for bench/callgrind.sh,
// which divides the instructions of all PollOnce calls by the replies.
uint64_t total_polls = 0;
uint64_t total_replies = 0;

double Min(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}

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
  CoreCounters& counters() { return counters_; }

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
    now_ += kPollStepNs;
    ++total_polls;
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

// One rig per burst, kept across the calls Google Benchmark makes; main()
// clears them (closing the ports) before the EAL is cleaned up.
std::map<uint16_t, std::unique_ptr<Rig>>& Rigs() {
  static std::map<uint16_t, std::unique_ptr<Rig>> rigs;
  return rigs;
}

void BM_WorkerCookieSynAck(benchmark::State& state) {
  const auto burst = static_cast<uint16_t>(state.range(0));
  std::unique_ptr<Rig>& rig = Rigs()[burst];
  if (rig == nullptr) {
    rig = std::make_unique<Rig>(burst);
    if (rig->error().empty()) {
      const std::string e = rig->Check(burst);
      if (!e.empty()) rig->set_error(e);
    }
  }
  if (!rig->error().empty()) {
    state.SkipWithError(rig->error().c_str());
    return;
  }
  const double tsc_hz = static_cast<double>(rte_get_tsc_hz());
  const uint64_t tcp_before = rig->counters().Read(Counter::kTcpCycles);
  const uint64_t tx_before = rig->counters().Read(Counter::kTxPackets);
  uint64_t items = 0;
  uint64_t cycles = 0;
  rte_mbuf* bufs[kMaxBurst];
  for (auto _ : state) {
    if (!rig->Inject(burst, bufs)) {
      state.SkipWithError("could not inject (mbuf pool or ring full)");
      break;
    }
    const uint64_t c = rig->Poll();
    state.SetIterationTime(static_cast<double>(c) / tsc_hz);
    cycles += c;
    items += burst;
    rig->Drain(bufs, kMaxBurst);
  }
  const uint64_t tx = rig->counters().Read(Counter::kTxPackets) - tx_before;
  if (tx != items) state.SkipWithError("not every SYN was answered");
  state.SetItemsProcessed(static_cast<int64_t>(items));
  const double n = items > 0 ? static_cast<double>(items) : 1.0;
  state.counters["cycles_per_item"] = static_cast<double>(cycles) / n;
  state.counters["tcp_cycles_per_item"] =
      static_cast<double>(rig->counters().Read(Counter::kTcpCycles) -
                          tcp_before) /
      n;
  state.counters["time_per_item"] = benchmark::Counter(
      static_cast<double>(items),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_WorkerCookieSynAck)
    ->ArgName("burst")
    ->Arg(32)
    ->Arg(1)
    ->UseManualTime()
    ->ComputeStatistics("min", Min);

}  // namespace
}  // namespace synwave::engine

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::string prefix = "synwave_bench_" + std::to_string(getpid());
  const absl::Status s = synwave::port::InitEal(
      {"worker_benchmark", "--no-huge", "-m", "256", "--no-pci",
       "--no-shconf", "--log-level=warning", "-l", "0",
       "--file-prefix=" + prefix});
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fprintf(stderr, "worker_benchmark: %llu polls, %llu replies\n",
               static_cast<unsigned long long>(synwave::engine::total_polls),
               static_cast<unsigned long long>(synwave::engine::total_replies));
  synwave::engine::Rigs().clear();
  synwave::port::CleanupEal();
  return 0;
}
