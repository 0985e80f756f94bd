// RingHarness: one Worker on an in-memory net_ring port, and the test as the
// peer on the other end of the link.
//
// The test injects frames as a host on the link would send them, advances a
// virtual clock by calling Poll(now), and reads back what the worker sent.
// Everything runs on the calling thread, so a test is deterministic. The
// harness also tells whether every mbuf came back to its pool, which is how
// the leak checks work.
//
// Used by tests/engine (the worker's own stages) and tests/scripted (the
// packet-script runner, which installs an app::Responder or app::Generator
// as the application).
#ifndef SYNWAVE_TESTS_ENGINE_RING_HARNESS_H_
#define SYNWAVE_TESTS_ENGINE_RING_HARNESS_H_

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/app.h"
#include "engine/counters.h"
#include "engine/worker.h"
#include "gtest/gtest.h"
#include "port/port.h"

namespace synwave::testutil {

using Frame = std::vector<uint8_t>;

class RingHarness {
 public:
  // `app` is handed to the Worker (the application behind its TCP stack,
  // e.g. an app::Responder); it must outlive the harness.
  // With `publish_every_poll` (the tests read counters right after a
  // poll) the worker publishes after every busy poll; without it, as
  // configured (WorkerConfig::publish_interval_ns).
  explicit RingHarness(engine::WorkerConfig config, engine::AppOps app = {},
                       bool publish_every_poll = true) {
    static int instance = 0;
    auto ids = port::CreateRingPair(absl::StrCat("rh", instance++), 1, 1024);
    EXPECT_TRUE(ids.ok()) << ids.status();
    port::PortConfig pc;
    pc.num_queues = 1;
    pc.rx_descriptors = 512;
    pc.tx_descriptors = 512;
    pc.num_mbufs = 2047;
    auto a = port::Port::OpenById(ids->first, pc);
    EXPECT_TRUE(a.ok()) << a.status();
    pc.mac = wire::MacAddress{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
    auto b = port::Port::OpenById(ids->second, pc);
    EXPECT_TRUE(b.ok()) << b.status();
    endpoint_ = std::make_unique<port::Port>(std::move(*a));
    peer_ = std::make_unique<port::Port>(std::move(*b));
    engine::QueueBinding qb{endpoint_->id(), 0, endpoint_->pool(),
                            endpoint_->mac(), endpoint_->offloads()};
    if (publish_every_poll) config.publish_interval_ns = 0;
    worker_ = std::make_unique<engine::Worker>(config, qb, &counters_, app);
  }

  // The endpoint's MAC (frames to it must carry this destination).
  const wire::MacAddress& mac() const { return endpoint_->mac(); }
  // The test's own MAC as a host on the link.
  const wire::MacAddress& peer_mac() const { return peer_->mac(); }

  void Inject(const Frame& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(peer_->pool());
    ASSERT_NE(m, nullptr);
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
    ASSERT_NE(p, nullptr);
    std::memcpy(p, frame.data(), frame.size());
    ASSERT_EQ(rte_eth_tx_burst(peer_->id(), 0, &m, 1), 1);
  }

  // Runs one worker iteration at `now_ns` and returns what it sent.
  std::vector<Frame> Poll(uint64_t now_ns) {
    worker_->PollOnce(now_ns);
    std::vector<Frame> out;
    rte_mbuf* rx[64];
    uint16_t n;
    while ((n = rte_eth_rx_burst(peer_->id(), 0, rx, 64)) != 0) {
      for (uint16_t i = 0; i < n; ++i) {
        const auto* d = rte_pktmbuf_mtod(rx[i], const uint8_t*);
        out.emplace_back(d, d + rte_pktmbuf_data_len(rx[i]));
      }
      rte_pktmbuf_free_bulk(rx, n);
    }
    return out;
  }

  uint64_t Count(engine::Counter c) const { return counters_.Read(c); }
  uint64_t Count(size_t index) const { return counters_.Read(index); }
  // A published gauge (engine::Gauge or a StateGaugeIndex).
  uint64_t Gauge(size_t index) const { return counters_.ReadGauge(index); }
  engine::Worker& worker() { return *worker_; }
  // The worker's published counters.
  engine::CoreCounters* counters() { return &counters_; }

  // True when no mbuf of either pool is held anywhere (rings, worker, test).
  bool AllMbufsReturned() const {
    return endpoint_->AvailableMbufs() == endpoint_->pool_size() &&
           peer_->AvailableMbufs() == peer_->pool_size();
  }

 private:
  engine::CoreCounters counters_;
  std::unique_ptr<port::Port> endpoint_;
  std::unique_ptr<port::Port> peer_;
  std::unique_ptr<engine::Worker> worker_;
};

}  // namespace synwave::testutil

#endif  // SYNWAVE_TESTS_ENGINE_RING_HARNESS_H_
