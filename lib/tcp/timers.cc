// Timers: the retransmission timer (RFC 6298, which doubles as the persist
// timer on a zero window and times our SYN in SYN-SENT), the auxiliary
// timer (keepalive, RFC 1122 4.2.3.6, or the FIN-WAIT-2 timeout), the
// SYN-ACK retransmission of SYN-queue entries (listener.cc), the RTT
// estimator, and the per-loop advance that also expires TIME-WAIT records.
#include <algorithm>

#include "tcp/stack.h"

namespace synwave::tcp {

void TcpStack::CancelTimer(timer::TimerWheel::Handle& h) {
  if (h != timer::TimerWheel::kInvalidHandle) {
    timers_.Cancel(h);
    h = timer::TimerWheel::kInvalidHandle;
  }
}

void TcpStack::ArmRto(Tcb& t, uint32_t index, uint64_t now_ns) {
  const uint64_t at = now_ns + uint64_t{t.rto_us} * 1000;
  if (t.rto_timer == timer::TimerWheel::kInvalidHandle ||
      !timers_.Rearm(t.rto_timer, at)) {
    t.rto_timer = timers_.Arm(at, TimerCookie(TimerKind::kRto, index));
  }
}

void TcpStack::ArmAux(Tcb& t, uint32_t index, uint64_t at_ns) {
  if (t.aux_timer == timer::TimerWheel::kInvalidHandle ||
      !timers_.Rearm(t.aux_timer, at_ns)) {
    t.aux_timer = timers_.Arm(at_ns, TimerCookie(TimerKind::kAux, index));
  }
}

void TcpStack::UpdateRtt(Tcb& t, uint64_t rtt_us) {
  // RFC 6298 2.2 and 2.3 (alpha 1/8, beta 1/4, K = 4, G = 1 ms).
  const auto r = static_cast<uint32_t>(std::min<uint64_t>(rtt_us, 0xffffffffu));
  if (t.srtt_us == 0) {
    t.srtt_us = std::max<uint32_t>(r, 1);
    t.rttvar_us = r / 2;
  } else {
    const uint32_t delta = t.srtt_us > r ? t.srtt_us - r : r - t.srtt_us;
    t.rttvar_us = (3 * t.rttvar_us + delta) / 4;
    t.srtt_us = (7 * t.srtt_us + r) / 8;
  }
  const uint64_t rto =
      uint64_t{t.srtt_us} + std::max<uint64_t>(1000, 4 * uint64_t{t.rttvar_us});
  t.rto_us = static_cast<uint32_t>(
      std::clamp<uint64_t>(rto, config_.rto_min_ns / 1000,
                           config_.rto_max_ns / 1000));
}

void TcpStack::AdvanceTimers(uint64_t now_ns) {
  // The idle sweep first: it frees TCBs, and a payload segment a timer
  // puts in output() (a retransmission) must find its TCB when the engine
  // copies the payload out.
  SweepIdle(now_ns);
  timers_.Advance(now_ns, config_.timer_budget,
                  [&](timer::TimerWheel::Handle, uint64_t cookie) {
                    OnTimer(cookie, now_ns);
                  });
  ExpireTimeWait(now_ns);
}

void TcpStack::OnTimer(uint64_t cookie, uint64_t now_ns) {
  const auto index = static_cast<uint32_t>(cookie);
  switch (static_cast<TimerKind>(cookie >> 32)) {
    case TimerKind::kRto:
      tcbs_[index].rto_timer = timer::TimerWheel::kInvalidHandle;
      OnRto(index, now_ns);
      break;
    case TimerKind::kAux:
      tcbs_[index].aux_timer = timer::TimerWheel::kInvalidHandle;
      OnAux(index, now_ns);
      break;
    case TimerKind::kSynAck:
      half_open_[index].timer = timer::TimerWheel::kInvalidHandle;
      OnSynAckTimer(index, now_ns);
      break;
  }
}

// RFC 6298 5.4-5.7: retransmit the earliest unacknowledged segment, back
// off, and give up after the retry limit.
void TcpStack::OnRto(uint32_t index, uint64_t now_ns) {
  Tcb& t = tcbs_[index];
  if (t.state == TcpState::kSynSent || t.state == TcpState::kSynReceived) {
    // Our SYN (or, after a simultaneous SYN, our SYN-ACK) went unanswered:
    // again with the timeout doubled, up to the retry limit (RFC 6298 5.5,
    // docs/conformance.md item 14), then the open fails.
    counters_.Add(Mib::kTimeouts);
    const uint8_t limit = t.state == TcpState::kSynSent
                              ? config_.syn_retries
                              : config_.syn_ack_retries;
    if (++t.retries > limit) {
      counters_.Add(Mib::kAttemptFails);
      counters_.Add(Mib::kConnectTimeouts);
      CloseTcb(index, CloseReason::kConnectTimeout, /*notify=*/true);
      return;
    }
    t.rto_us = static_cast<uint32_t>(std::min<uint64_t>(
        uint64_t{t.rto_us} * 2, config_.rto_max_ns / 1000));
    t.flags &= ~tcb_flags::kRttTiming;  // Karn
    counters_.Add(Mib::kSynRetrans);
    counters_.Add(Mib::kRetransSegs);
    SendSyn(t, now_ns, /*with_ack=*/t.state == TcpState::kSynReceived);
    ArmRto(t, index, now_ns);
    return;
  }
  const bool probing = t.snd_wnd == 0 && t.snd_queue.size() > 0;
  if (t.snd_una == t.snd_max && !probing) return;
  counters_.Add(Mib::kTimeouts);
  const bool orphan = (t.flags & tcb_flags::kFinQueued) != 0;
  if (++t.retries > (orphan ? config_.orphan_retries : config_.max_retransmits)) {
    counters_.Add(Mib::kAbortOnTimeout);
    // An orphan's peer may be alive behind a shut window: tell it.
    if (orphan) SendRst(t);
    CloseTcb(index, CloseReason::kTimeout, /*notify=*/true);
    return;
  }
  t.rto_us = static_cast<uint32_t>(std::min<uint64_t>(
      uint64_t{t.rto_us} * 2, config_.rto_max_ns / 1000));
  t.flags &= ~tcb_flags::kRttTiming;  // Karn: no sample from a retransmission
  const uint32_t flight = t.snd_max - t.snd_una;
  t.ssthresh = std::max<uint32_t>(flight / 2, 2u * t.snd_mss);
  t.cwnd = t.snd_mss;
  t.snd_nxt = t.snd_una;  // go back to the first unacknowledged byte
  Output(t, index, now_ns, /*force_probe=*/probing);
  ArmRto(t, index, now_ns);
}

void TcpStack::OnAux(uint32_t index, uint64_t now_ns) {
  Tcb& t = tcbs_[index];
  if (t.state == TcpState::kFinWait2) {
    counters_.Add(Mib::kFinWait2Timeouts);
    CloseTcb(index, CloseReason::kFinWait2Timeout, /*notify=*/true);
    return;
  }
  if (!config_.keepalive ||
      (t.state != TcpState::kEstablished && t.state != TcpState::kCloseWait)) {
    return;
  }
  // Keepalive (RFC 1122 4.2.3.6): probe <SEQ=SND.UNA-1> after the idle time.
  // Not while data is in flight or waiting: the retransmission (or
  // persist) timer watches the peer then (Linux tcp_keepalive_timer).
  if (t.snd_una != t.snd_max || !t.snd_queue.empty()) {
    t.keepalive_probes = 0;
    ArmAux(t, index, now_ns + config_.keepalive_idle_ns);
    return;
  }
  if (now_ns - t.last_rx_ns < config_.keepalive_idle_ns &&
      t.keepalive_probes == 0) {
    ArmAux(t, index, t.last_rx_ns + config_.keepalive_idle_ns);
    return;
  }
  if (t.keepalive_probes >= config_.keepalive_probes) {
    // A RST, as Linux does, in case the peer is alive but its answers are
    // lost on the way back.
    counters_.Add(Mib::kAbortOnTimeout);
    SendRst(t);
    CloseTcb(index, CloseReason::kTimeout, /*notify=*/true);
    return;
  }
  ++t.keepalive_probes;
  counters_.Add(Mib::kKeepAlive);
  OutSegment& o = SendAck(t.key, t.snd_una - 1, t.rcv_nxt, WindowField(t),
                          t.peer_l2, TsOf(t), now_ns);
  if (IsIpv6(t)) [[unlikely]] Address6(o, t.key);
  ArmAux(t, index, now_ns + config_.keepalive_interval_ns);
}

}  // namespace synwave::tcp
