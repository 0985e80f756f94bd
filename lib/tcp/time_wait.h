// TIME-WAIT records and their pool.
//
// After the close, a connection's 4-tuple lives on for 2 MSL (RFC 9293
// 3.3.2) so that a retransmitted FIN is acknowledged and old duplicates die.
// Keeping the whole TCB for that minute would cost a TCB per closed
// connection; a TimeWaitRecord holds only what TIME-WAIT needs: the sequence
// numbers to ACK with, the timestamps for PAWS, and what RFC 6191 needs to
// judge a new SYN for the tuple.
//
// Every record lasts the same 2 MSL, so records expire in the order they
// were made: the pool keeps them on a FIFO (doubly linked, oldest at the
// head), and expiry is a pop from the head with no timer per record. When
// the pool is full the oldest record is recycled (Linux's
// tcp_max_tw_buckets: counted as TCPTimeWaitOverflow by the caller).
#ifndef SYNWAVE_TCP_TIME_WAIT_H_
#define SYNWAVE_TCP_TIME_WAIT_H_

#include <cstdint>
#include <vector>

#include "flow/flow_key.h"
#include "flow/flow_table.h"
#include "flow/index_pool.h"
#include "flow/pool_memory.h"
#include "wire/addresses.h"
#include "wire/seq_num.h"

namespace synwave::tcp {

struct TimeWaitRecord {
  flow::FlowKey key;
  uint32_t hash = 0;
  wire::SeqNum snd_nxt;
  wire::SeqNum rcv_nxt;
  wire::TsVal ts_recent;
  uint32_t ts_offset = 0;
  uint64_t expires_ns = 0;
  uint32_t prev = flow::kNoIndex;  // FIFO links
  uint32_t next = flow::kNoIndex;
  uint16_t rcv_wnd = 0;            // window field to put in ACKs
  bool timestamps = false;
  // A connection the application abandoned (TcpStack::Abandon): the
  // record answers nothing, so the peer sees a host that vanished.
  // (Bits, so that the record keeps its 56 bytes: kTimeWaitBytesPerRecord.)
  bool silent : 1 = false;
  bool ipv6 : 1 = false;           // key names an IPv6 address slot
  uint32_t last_oow_ack_ms = 0;    // ACK to an invalid segment (limit)
};
static_assert(sizeof(TimeWaitRecord) <= 56);

// What one TIME-WAIT record costs in memory: the record, its slot on the
// pool's free stack, and its share of the flow table (which is sized for
// TCBs, SYN-queue entries and TIME-WAIT records together). Used to turn a
// memory budget (--time-wait-memory) into a record count.
inline constexpr double kTimeWaitBytesPerRecord =
    sizeof(TimeWaitRecord) + sizeof(uint32_t) +
    flow::FlowTable::BytesPerEntry();

// With IPv6 (TcpConfig::ipv6), what each record adds: the IPv6 table is
// sized like the IPv4 one (TIME-WAIT records included), and each of its
// entries has an address slot (two addresses) and that slot's free-stack
// entry (TcpStack's header comment).
inline constexpr double kTimeWaitBytesPerRecord6 =
    flow::FlowTable6::BytesPerEntry() + 2 * sizeof(wire::Ipv6Address) +
    sizeof(uint32_t);

// The TIME-WAIT records per stack that `budget_bytes` holds when `stacks`
// stacks share it evenly, at most 2^24 per stack; `ipv6`: the stacks have
// the IPv6 table too, so each record costs kTimeWaitBytesPerRecord6 more.
inline uint32_t TimeWaitRecordsFor(uint64_t budget_bytes, uint32_t stacks,
                                   bool ipv6 = false) {
  const double per_stack =
      static_cast<double>(budget_bytes) / (stacks == 0 ? 1 : stacks);
  const double records =
      per_stack / (kTimeWaitBytesPerRecord + (ipv6 ? kTimeWaitBytesPerRecord6 : 0));
  return records >= double(1u << 24) ? 1u << 24 : static_cast<uint32_t>(records);
}

class TimeWaitPool {
 public:
  explicit TimeWaitPool(uint32_t capacity)
      : records_(capacity), ids_(capacity) {}

  TimeWaitRecord& operator[](uint32_t index) { return records_[index]; }
  const TimeWaitRecord& operator[](uint32_t index) const {
    return records_[index];
  }

  // A free record, or kNoIndex when the pool is full (the caller may then
  // Recycle the oldest). Not yet on the FIFO.
  uint32_t Alloc() { return ids_.Alloc(); }
  // Takes the oldest record off the FIFO for reuse; kNoIndex when there is
  // none (a pool of capacity 0).
  uint32_t RecycleOldest() {
    const uint32_t index = head_;
    if (index != flow::kNoIndex) Unlink(index);
    return index;
  }
  // Appends `index` (its expires_ns the latest of all) to the FIFO.
  void PushBack(uint32_t index);
  // Moves `index` to the back after its expiry was pushed out.
  void MoveToBack(uint32_t index) {
    Unlink(index);
    PushBack(index);
  }
  // Unlinks and frees `index`.
  void Free(uint32_t index) {
    Unlink(index);
    ids_.Free(index);
  }

  // The record that expires first, or kNoIndex.
  uint32_t oldest() const { return head_; }
  uint32_t in_use() const { return ids_.in_use(); }

 private:
  void Unlink(uint32_t index);

  flow::PoolVector<TimeWaitRecord> records_;  // huge pages, populated
  flow::IndexPool ids_;
  uint32_t head_ = flow::kNoIndex;  // oldest
  uint32_t tail_ = flow::kNoIndex;
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_TIME_WAIT_H_
