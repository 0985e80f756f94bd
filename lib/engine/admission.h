// Admission control: whether a worker takes on a new connection now.
//
// A run-to-completion worker that cannot keep up shows it in one place: its
// RX queue stops emptying. Past that point, every SYN it answers brings
// back an ACK and a request that join the same queue, so answering all of
// them under overload only makes the queue longer, until the port drops
// frames at random (the established connections' segments as much as new
// SYNs) and the connections in progress stall past their clients'
// patience. Admission control sheds new connections instead, before the
// stack, so that the worker finishes those it took on:
//
//   behind   the RX queue has not emptied (every burst came back full) for
//            longer than `target_ns`: a standing queue, as CoDel's target
//            delay, measured by the burst sizes (net_memif and net_ring
//            report no ring occupancy, and a full burst is the one signal
//            every port gives);
//   backlog  while behind, at most `backlog` connections may be in their
//            handshake: SYNs admitted since the queue last emptied, less
//            the handshakes completed since (the stack's PassiveOpens). A
//            SYN past that is dropped (drop_tcp_admission) and its client
//            retries later; every other segment goes through, so the
//            connections in progress are finished first.
//
// The backlog is held only while at least a quarter of the SYNs admitted
// since the queue last emptied have completed their handshake: what fills
// the queue then is connections, each with its request to serve. A SYN
// flood (spoofed sources, whose handshakes never complete) would otherwise
// fill the backlog and lock every client out for as long as it keeps the
// worker behind; against it SYN cookies remain the defence, each SYN
// answered at a few hundred cycles and nothing kept.
//
// The backlog bounds what a burst of admissions can add to the queue, and
// it is what keeps a closed loop (clients that open a connection when one
// ends, as `synwave load --concurrency=N`) unharmed: its handshakes in
// progress never exceed its N connections, so with N <= backlog no SYN of
// it is ever refused, however long its standing queue; an open-loop
// overload (new clients keep coming whatever the server does) reaches the
// backlog within milliseconds and is held there. The counts restart each
// time the queue empties, so a handshake that never completes (a client
// that gave up) holds its place only until then.
//
// Pure: no EAL; the worker calls it with the time and the burst sizes, the
// tests with a virtual clock.
#ifndef SYNWAVE_ENGINE_ADMISSION_H_
#define SYNWAVE_ENGINE_ADMISSION_H_

#include <cstdint>

namespace synwave::engine {

struct AdmissionConfig {
  // How long the RX queue may stay non-empty before the worker is behind;
  // 0 turns admission control off (every SYN goes to the stack), the
  // library's default; a run's is control::Config's.
  uint64_t target_ns = 0;
  // Connections in their handshake while behind (0: none, every SYN is
  // refused while behind).
  uint32_t backlog = 1024;
};

class Admission {
 public:
  // The backlog is held only while at least 1 in kCompletingShare of the
  // SYNs admitted since the queue last emptied completed their handshake.
  static constexpr uint64_t kCompletingShare = 4;

  explicit Admission(const AdmissionConfig& config) : config_(config) {}

  bool enabled() const { return config_.target_ns != 0; }

  // After each RX burst at `now_ns`: `received` frames of the `asked`, and
  // `handshakes`, the passive opens completed so far (a running total).
  void OnRxBurst(uint64_t now_ns, uint32_t received, uint32_t asked,
                 uint64_t handshakes) {
    if (received < asked || !started_) {
      // The queue emptied: no standing queue, the counts start over.
      started_ = true;
      nonempty_since_ns_ = now_ns;
      behind_ = false;
      admitted_ = 0;
      handshakes_base_ = handshakes;
      handshakes_ = handshakes;
      return;
    }
    handshakes_ = handshakes;
    behind_ = config_.target_ns != 0 &&
              now_ns - nonempty_since_ns_ > config_.target_ns;
  }

  // Whether the SYN of a new connection goes to the stack; counts it when
  // it does.
  bool AdmitSyn() {
    const uint64_t completed = handshakes_ - handshakes_base_;
    if (behind_ && admitted_ >= completed + config_.backlog &&
        completed * kCompletingShare >= admitted_) {
      return false;
    }
    ++admitted_;
    return true;
  }

  bool behind() const { return behind_; }
  // Handshakes in progress by the counts (SYNs admitted since the queue
  // last emptied, less the handshakes completed since; may be negative when
  // connections admitted before complete).
  int64_t in_handshake() const {
    return static_cast<int64_t>(admitted_) -
           static_cast<int64_t>(handshakes_ - handshakes_base_);
  }

 private:
  AdmissionConfig config_;
  bool started_ = false;
  bool behind_ = false;
  uint64_t nonempty_since_ns_ = 0;
  uint64_t admitted_ = 0;
  uint64_t handshakes_base_ = 0;
  uint64_t handshakes_ = 0;
};

}  // namespace synwave::engine

#endif  // SYNWAVE_ENGINE_ADMISSION_H_
