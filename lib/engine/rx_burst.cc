// Stage 2 of the worker's loop over a whole burst: the receive fast path.
//
// A first pass takes each frame's address and length (0 for a chained
// mbuf, which the fast path never takes) and prefetches its first line;
// wire::BurstClassifier then marks, in one pass over the burst, the frames
// whose fixed header bytes say "IPv4 TCP to our MAC and config_.ip". Those
// are parsed by wire::ParseTcp4Fast straight into the stack's input arrays
// (keys_, segs_), without a PacketInfo, and go through admission control
// at once. Everything else, and a marked frame the fast parse does not
// accept (bad checksum, odd lengths, a source we refuse, bad options, the
// subnet's broadcast as source), takes ParseRx, whose verdicts and drop
// counters are what they were; the stack's IPv4 TCP among those joins the
// same arrays in the same pass, so the stack sees the burst's segments in
// arrival order either way.
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "engine/rx_offload.h"
#include "engine/worker.h"

namespace synwave::engine {

void Worker::UpdateFastPath() {
  fast_path_ = stack_ != nullptr && ipv4_ &&
               locals_.Find(config_.ip.address.value) == LocalAddresses::kStack;
}

uint16_t Worker::ParseBurst(rte_mbuf** rx, uint16_t n, rte_mbuf** tcp_pkts,
                            uint16_t* rest) {
  const uint8_t* frames[kMaxBurst];
  uint16_t lens[kMaxBurst];
  uint64_t rx_bytes = 0;
  for (uint16_t i = 0; i < n; ++i) {
    const rte_mbuf* m = rx[i];
    frames[i] = rte_pktmbuf_mtod(m, const uint8_t*);
    rte_prefetch0(frames[i]);
    lens[i] = m->nb_segs == 1 ? m->data_len : 0;
    rx_bytes += m->pkt_len;
  }
  deltas_.Add(Counter::kRxPackets, n);
  deltas_.Add(Counter::kRxBytes, rx_bytes);
  const uint64_t fast = fast_path_ ? classifier_.Classify(frames, lens, n) : 0;

  wire::PacketInfo* const info = info_;
  uint8_t* const owner = owner_;
  flow::FlowKey* const keys = keys_;
  tcp::Segment* const segs = segs_;
  uint16_t num_tcp = 0;
  uint64_t segments_in = 0;
  uint16_t left = 0;  // frames for stage 3
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* const m = rx[i];
    const uint8_t* const frame = frames[i];
    if ((fast >> i) & 1) {
      tcp::Segment& seg = segs[num_tcp];
      wire::Tcp4Fields f;
      if (wire::ParseTcp4Fast(frame, lens[i], RxOffloadOf(m), &f,
                              &seg.options) &&
          f.src_ip != subnet_broadcast_) [[likely]] {
        owner[i] = LocalAddresses::kNotLocal;  // taken: stage 3 skips it
        ++segments_in;
        if (!Admit(f.flags)) [[unlikely]] {
          Drop(m);
          continue;
        }
        keys[num_tcp] = flow::FlowKey{f.dst_ip, f.src_ip, f.dst_port,
                                      f.src_port};
        seg.seq = wire::SeqNum(f.seq);
        seg.ack = wire::SeqNum(f.ack);
        seg.flags = f.flags;
        seg.window = f.window;
        seg.payload_length = f.payload_length;
        seg.payload = frame + f.payload_offset;
        seg.peer_l2 = PeerL2(frame + 6);  // the Ethernet source
        tcp_pkts[num_tcp++] = m;
        continue;
      }
    }
    const uint8_t o = ParseRx(m, &info[i]);
    owner[i] = o;
    if (o == LocalAddresses::kNotLocal) continue;  // dropped
    if (o == LocalAddresses::kStack &&
        info[i].kind == wire::PacketKind::kTcp &&
        info[i].family == wire::IpFamily::kIpv4) {
      owner[i] = LocalAddresses::kNotLocal;
      ++segments_in;
      if (!Admit(info[i])) [[unlikely]] {
        Drop(m);
        continue;
      }
      keys[num_tcp] = flow::FlowKey{info[i].dst_ip.value, info[i].src_ip.value,
                                    info[i].dst_port, info[i].src_port};
      FillSegment(info[i], frame, segs[num_tcp]);
      tcp_pkts[num_tcp++] = m;
      continue;
    }
    ++left;
  }
  *rest = left;
  deltas_.Add(Counter::kTcpSegmentsIn, segments_in);
  return num_tcp;
}

}  // namespace synwave::engine
