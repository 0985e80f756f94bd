// rte_pcapng is experimental in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API
#include "engine/capture.h"

#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/link.h"

namespace synwave::engine {
namespace {

constexpr unsigned kPoolSize = 8191;  // copies in flight
constexpr unsigned kRingSize = 4096;
constexpr uint16_t kWriteBurst = 64;

uint64_t WallNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

absl::StatusOr<std::unique_ptr<Capture>> Capture::Open(
    const CaptureConfig& config) {
  auto c = std::unique_ptr<Capture>(new Capture(config));
  c->fd_ = ::open(config.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (c->fd_ < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--pcap: cannot write '", config.path, "': ", std::strerror(errno)));
  }
  c->pool_ = rte_pktmbuf_pool_create("synwave_pcap", kPoolSize, 256, 0,
                                     rte_pcapng_mbuf_size(config.snaplen),
                                     SOCKET_ID_ANY);
  c->ring_ = rte_ring_create("synwave_pcap", kRingSize, SOCKET_ID_ANY,
                             RING_F_SC_DEQ);  // any worker enqueues
  if (c->pool_ == nullptr || c->ring_ == nullptr) {
    return absl::ResourceExhaustedError(
        "--pcap: no memory for the capture's pool and ring");
  }
  // The file's header describes every port (rte_pcapng_fdopen walks them).
  c->pcapng_ = rte_pcapng_fdopen(c->fd_, nullptr, nullptr, "synwave", nullptr);
  if (c->pcapng_ == nullptr) {
    return absl::InternalError(
        absl::StrCat("--pcap: cannot start a pcapng file: ",
                     rte_strerror(rte_errno)));
  }
  c->fd_ = -1;  // the pcapng handle owns it now
  c->start_ns_ = WallNs();
  c->start_tsc_ = rte_get_tsc_cycles();
  c->ns_per_cycle_ = 1e9 / static_cast<double>(rte_get_tsc_hz());
  c->writer_ = std::thread([p = c.get()] { p->WriterLoop(); });
  return c;
}

Capture::~Capture() {
  Close();
  if (fd_ >= 0) ::close(fd_);
  if (ring_ != nullptr) rte_ring_free(ring_);
  if (pool_ != nullptr) rte_mempool_free(pool_);
}

void Capture::Take(uint16_t port, uint16_t queue, rte_mbuf* const* pkts,
                   uint16_t n, bool sent, CounterDeltas* deltas) {
  if (n == 0 || !taking_.load(std::memory_order_relaxed)) return;
  rte_mbuf* copies[kMaxBurst * 2];
  uint16_t k = 0;
  const uint64_t tsc = rte_get_tsc_cycles();
  // DPDK 22.11's own TSC-to-time conversion overflows a few seconds after
  // start (cycles x 1e9 in 64 bits), so the block's time is written here
  // (nanoseconds since the epoch, as the file's if_tsresol says).
  const uint64_t ns =
      start_ns_ + static_cast<uint64_t>(static_cast<double>(tsc - start_tsc_) *
                                        ns_per_cycle_);
  for (uint16_t i = 0; i < n && k < kMaxBurst * 2; ++i) {
    rte_mbuf* c = rte_pcapng_copy(
        port, queue, pkts[i], pool_, config_.snaplen, tsc,
        sent ? RTE_PCAPNG_DIRECTION_OUT : RTE_PCAPNG_DIRECTION_IN);
    if (c == nullptr) continue;
    // The Enhanced Packet Block: type, length, interface id, then the
    // timestamp's high and low words.
    auto* epb = rte_pktmbuf_mtod(c, uint32_t*);
    epb[3] = static_cast<uint32_t>(ns >> 32);
    epb[4] = static_cast<uint32_t>(ns);
    copies[k++] = c;
  }
  const unsigned queued = rte_ring_enqueue_burst(
      ring_, reinterpret_cast<void* const*>(copies), k, nullptr);
  if (queued < k) rte_pktmbuf_free_bulk(&copies[queued], k - queued);
  deltas->Add(Counter::kCaptureFrames, queued);
  deltas->Add(Counter::kDropCapture, n - queued);
}

void Capture::WriterLoop() {
  rte_mbuf* pkts[kWriteBurst];
  for (;;) {
    const unsigned n = rte_ring_dequeue_burst(
        ring_, reinterpret_cast<void**>(pkts), kWriteBurst, nullptr);
    if (n == 0) {
      if (stop_.load(std::memory_order_acquire)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    unsigned keep = n;
    if (taking_.load(std::memory_order_relaxed)) {
      const uint64_t packets = written_packets_.load(std::memory_order_relaxed);
      if (config_.max_packets != 0 && packets + keep > config_.max_packets) {
        keep = static_cast<unsigned>(config_.max_packets - packets);
      }
    } else {
      keep = 0;
    }
    if (keep > 0) {
      const ssize_t written = rte_pcapng_write_packets(pcapng_, pkts, keep);
      if (written > 0) written_bytes_ += static_cast<uint64_t>(written);
      written_packets_.fetch_add(keep, std::memory_order_relaxed);
    }
    rte_pktmbuf_free_bulk(pkts, n);
    const uint64_t packets = written_packets_.load(std::memory_order_relaxed);
    if ((config_.max_packets != 0 && packets >= config_.max_packets) ||
        (config_.max_bytes != 0 && written_bytes_ >= config_.max_bytes)) {
      taking_.store(false, std::memory_order_relaxed);
    }
  }
}

void Capture::Close() {
  if (!writer_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  writer_.join();
  uint16_t port;
  const uint64_t end_ns = WallNs();
  RTE_ETH_FOREACH_DEV(port) {
    rte_eth_stats stats{};
    rte_eth_stats_get(port, &stats);
    rte_pcapng_write_stats(pcapng_, port, nullptr, start_ns_, end_ns,
                           stats.ipackets, stats.imissed + stats.ierrors);
  }
  rte_pcapng_close(pcapng_);
  pcapng_ = nullptr;
}

}  // namespace synwave::engine
