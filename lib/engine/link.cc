#include "engine/link.h"

#include "engine/capture.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>

#include "wire/headers.h"

namespace synwave::engine {

using wire::ArpHeader;
using wire::EthernetHeader;
using wire::Ipv4Header;

Link::Link(const LinkConfig& config, const QueueBinding& queue,
           CounterDeltas* deltas)
    : config_(config),
      queue_(queue),
      deltas_(deltas),
      neighbors_(config.neighbor_capacity, config.neighbor_reachable_ns,
                 config.neighbor_retry_ns),
      ip_mode_(queue.offloads.tx_ipv4_checksum ? wire::ChecksumMode::kOffload
                                               : wire::ChecksumMode::kSoftware),
      tcp_mode_(queue.offloads.tx_tcp_checksum
                    ? wire::ChecksumMode::kOffload
                    : wire::ChecksumMode::kSoftware) {
  std::memcpy(&mac_word_, queue_.mac.bytes.data(), 6);
  if (ip_mode_ == wire::ChecksumMode::kOffload) {
    tcp_tx_flags_ |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
  }
  if (tcp_mode_ == wire::ChecksumMode::kOffload) {
    tcp_tx_flags_ |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
  }
}

std::optional<wire::Ipv4Address> Link::NextHop(wire::Ipv4Address dst) const {
  if (config_.ip.Contains(dst)) return dst;
  return config_.gateway;
}

const wire::MacAddress* Link::ResolveNextHop(wire::Ipv4Address dst,
                                             uint64_t now_ns) {
  const std::optional<wire::Ipv4Address> hop = NextHop(dst);
  if (!hop) return nullptr;
  const wire::MacAddress* mac = neighbors_.Lookup(*hop, now_ns);
  // A refresh may be due even while the entry is still usable.
  if (neighbors_.ShouldRequest(*hop, now_ns)) SendArpRequest(*hop);
  return mac;
}

void Link::Housekeeping(uint64_t now_ns) {
  next_housekeeping_ns_ = now_ns + config_.housekeeping_ns;
  deltas_->Add(Counter::kNeighborsExpired, neighbors_.Expire(now_ns));
  // Keep the gateway resolved before anything needs it.
  if (config_.gateway) ResolveNextHop(*config_.gateway, now_ns);
}

rte_mbuf* Link::Alloc() {
  rte_mbuf* m = rte_pktmbuf_alloc(queue_.pool);
  if (m == nullptr) deltas_->Add(Counter::kDropNoMbuf);
  return m;
}

void Link::SendArpRequest(wire::Ipv4Address target) {
  rte_mbuf* m = Alloc();
  if (m == nullptr) return;
  constexpr uint16_t kLen = sizeof(EthernetHeader) + sizeof(ArpHeader);
  auto* eth = reinterpret_cast<EthernetHeader*>(rte_pktmbuf_append(m, kLen));
  wire::MacAddress::Broadcast().CopyTo(eth->dst);
  queue_.mac.CopyTo(eth->src);
  eth->ether_type.set(wire::kEtherTypeArp);
  auto* arp = reinterpret_cast<ArpHeader*>(eth + 1);
  arp->htype.set(wire::kArpHardwareEthernet);
  arp->ptype.set(wire::kEtherTypeIpv4);
  arp->hlen = 6;
  arp->plen = 4;
  arp->op.set(wire::kArpOpRequest);
  queue_.mac.CopyTo(arp->sha);
  arp->spa.set(config_.ip.address.value);
  std::memset(arp->tha, 0, 6);
  arp->tpa.set(target.value);
  deltas_->Add(Counter::kArpRequestsOut);
  Transmit(m);
}

void Link::SetTxOffloads(rte_mbuf* m) const {
  m->ol_flags = tcp_tx_flags_;
  if (tcp_tx_flags_ != 0) {
    m->l2_len = sizeof(EthernetHeader);
    m->l3_len = sizeof(Ipv4Header);
  }
}

void Link::WriteTcpFrame(rte_mbuf* m, const wire::TcpSegmentSpec& spec) {
  m->data_off = RTE_PKTMBUF_HEADROOM;
  // Without payload the frame is its headers: the writer says how long.
  const auto total = static_cast<uint16_t>(wire::WriteTcpFrameHeaders(
      rte_pktmbuf_mtod(m, uint8_t*), spec, ip_mode_, tcp_mode_));
  m->data_len = total;
  m->pkt_len = total;
  SetTxOffloads(m);
}

uint8_t* Link::TcpPayload(rte_mbuf* m, const wire::TcpSegmentSpec& spec) {
  const size_t header_len = wire::TcpFrameHeaderLength(spec);
  const auto total = static_cast<uint16_t>(header_len + spec.payload_length);
  m->data_off = RTE_PKTMBUF_HEADROOM;
  m->data_len = total;
  m->pkt_len = total;
  return rte_pktmbuf_mtod(m, uint8_t*) + header_len;
}

void Link::FinishTcpFrame(rte_mbuf* m, const wire::TcpSegmentSpec& spec) {
  wire::WriteTcpFrameHeaders(rte_pktmbuf_mtod(m, uint8_t*), spec, ip_mode_,
                             tcp_mode_);
  SetTxOffloads(m);
}

bool Link::FlushTx() {
  if (num_tx_ == 0) return false;
  if (queue_.capture != nullptr) {
    queue_.capture->Take(queue_.port_id, queue_.queue_id, tx_, num_tx_,
                         /*sent=*/true, deltas_);
  }
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < num_tx_; ++i) bytes += rte_pktmbuf_pkt_len(tx_[i]);
  const uint16_t sent =
      rte_eth_tx_burst(queue_.port_id, queue_.queue_id, tx_, num_tx_);
  if (sent < num_tx_) {
    for (uint16_t i = sent; i < num_tx_; ++i) {
      bytes -= rte_pktmbuf_pkt_len(tx_[i]);
    }
    deltas_->Add(Counter::kDropTxQueueFull, num_tx_ - sent);
    rte_pktmbuf_free_bulk(&tx_[sent], num_tx_ - sent);
  }
  deltas_->Add(Counter::kTxPackets, sent);
  deltas_->Add(Counter::kTxBytes, bytes);
  num_tx_ = 0;
  return true;
}

void Link::FreePending() {
  if (num_free_ == 0) return;
  rte_pktmbuf_free_bulk(to_free_, num_free_);
  num_free_ = 0;
}

}  // namespace synwave::engine
