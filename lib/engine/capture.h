// Capture: the port's received and sent frames, written to a pcapng file
// (--pcap) with DPDK's rte_pcapng, off the hot path.
//
// A worker copies each frame it receives (after rx_burst) and sends
// (before tx_burst) into an mbuf of the capture's own pool
// (rte_pcapng_copy: the pcapng block around the first `snaplen` bytes) and
// enqueues the copies on a multi-producer ring; one writer thread dequeues
// them and writes them out. Nothing waits for the file: a copy that finds
// the pool or the ring full is not made, and is counted (drop_capture), so a
// slow disk costs frames in the capture, never time in a worker. The writer
// stops taking frames at the packet or byte limit.
//
// Lifetime: Open() after the ports are configured (pcapng describes each
// port in the file's header), Close() after the workers stopped (it drains
// what is queued and writes the interface statistics).
#ifndef SYNWAVE_ENGINE_CAPTURE_H_
#define SYNWAVE_ENGINE_CAPTURE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "engine/counters.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct rte_pcapng;

namespace synwave::engine {

struct CaptureConfig {
  std::string path;
  uint32_t snaplen = 2048;   // bytes of each frame kept
  uint64_t max_packets = 0;  // 0: no limit
  uint64_t max_bytes = 0;    // of frames kept; 0: no limit
};

class Capture {
 public:
  static absl::StatusOr<std::unique_ptr<Capture>> Open(
      const CaptureConfig& config);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Worker side (any number of workers at once): copies `n` frames of
  // port/queue, received (`sent` false) or about to be sent, and counts
  // what it copied or could not.
  void Take(uint16_t port, uint16_t queue, rte_mbuf* const* pkts, uint16_t n,
            bool sent, CounterDeltas* deltas);

  // After the workers stopped: writes what is queued and closes the file.
  void Close();

  uint64_t written_packets() const {
    return written_packets_.load(std::memory_order_relaxed);
  }

 private:
  explicit Capture(const CaptureConfig& config) : config_(config) {}
  void WriterLoop();

  CaptureConfig config_;
  int fd_ = -1;
  rte_pcapng* pcapng_ = nullptr;
  rte_mempool* pool_ = nullptr;
  rte_ring* ring_ = nullptr;
  std::thread writer_;
  std::atomic<bool> taking_{true};  // false at the limits
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> written_packets_{0};
  uint64_t written_bytes_ = 0;
  uint64_t start_ns_ = 0;      // wall clock at Open
  uint64_t start_tsc_ = 0;     // TSC at Open
  double ns_per_cycle_ = 0;
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_CAPTURE_H_
