// Per-connection byte queues (send and receive buffers) carved from a
// per-core pool of fixed-size chunks.
//
// A connection's buffers cost nothing until data arrives, and the pool is
// sized once from the config, so a flood of connections cannot make the
// endpoint allocate. A queue is a singly linked list of chunk indices;
// appending fills the tail chunk, consuming from the front returns emptied
// chunks to the pool. When the pool is empty an append is short: the caller
// sees it and counts it (a dropped segment, or a send that must wait).
#ifndef SYNWAVE_TCP_BYTE_QUEUE_H_
#define SYNWAVE_TCP_BYTE_QUEUE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "flow/pool_memory.h"

namespace synwave::tcp {

class ChunkPool {
 public:
  static constexpr uint32_t kChunkSize = 2048;  // bytes
  static constexpr uint32_t kNone = 0xffffffff;

  explicit ChunkPool(uint32_t chunks);

  uint32_t Alloc();
  void Free(uint32_t chunk);
  uint8_t* Data(uint32_t chunk) { return &data_[size_t{chunk} * kChunkSize]; }
  uint32_t& Next(uint32_t chunk) { return next_[chunk]; }
  uint32_t in_use() const { return in_use_; }
  uint32_t capacity() const { return capacity_; }

  // How many more bytes a queue holding `used` may take, up to `cap`, while
  // `reserve` chunks are kept free for the other connections: as many as
  // leave the reserve untouched, and always enough to fill one chunk (the
  // floor every connection keeps under pressure). `guard` is the reserve
  // plus the chunks `cap` spans: with that many free, the queue's own limit
  // is all there is (the common case, one compare).
  uint32_t Room(uint32_t used, uint32_t cap, uint32_t guard,
                uint32_t reserve) const {
    const uint32_t room = cap > used ? cap - used : 0;
    const uint32_t free = capacity_ - in_use_;
    if (free >= guard) return room;
    // Below the guard the headroom is under `cap`: 32 bits suffice.
    const uint32_t headroom = free > reserve ? (free - reserve) * kChunkSize : 0;
    const uint32_t floor = used < kChunkSize ? kChunkSize - used : 0;
    return std::min(room, std::max(headroom, floor));
  }

 private:
  uint32_t capacity_;
  uint32_t in_use_ = 0;
  uint32_t free_head_ = kNone;  // chunks freed, most recent first
  uint32_t high_water_ = 0;     // chunks >= this were never handed out
  // Pool memory: the data's pages come in as a run first uses them (a run
  // rarely fills every connection's buffers), the links' at start-up. The
  // free list holds only freed chunks: the never-used ones come from the
  // high water mark in ascending order, as from a list made at start.
  flow::PoolArray<uint8_t> data_;
  flow::PoolArray<uint32_t> next_;  // free list and queue links
};

class ByteQueue {
 public:
  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Appends up to `len` bytes; returns how many fit (the pool may be empty).
  uint32_t Append(ChunkPool& pool, const uint8_t* data, uint32_t len);
  // Copies `len` bytes starting `offset` bytes from the front to `out`.
  // Requires offset + len <= size().
  void CopyOut(ChunkPool& pool, uint32_t offset, uint32_t len,
               uint8_t* out) const;
  // Drops `len` bytes from the front (len <= size()).
  void Consume(ChunkPool& pool, uint32_t len);
  // Returns every chunk to the pool. Inline for the empty queue (most
  // queues of a closing connection): a test, no call.
  void Clear(ChunkPool& pool) {
    if (head_ != ChunkPool::kNone) ClearChunks(pool);
  }

 private:
  void ClearChunks(ChunkPool& pool);

  uint32_t head_ = ChunkPool::kNone;
  uint32_t tail_ = ChunkPool::kNone;
  uint32_t head_offset_ = 0;  // first byte in the head chunk
  uint32_t size_ = 0;         // bytes queued
};

}  // namespace synwave::tcp

#endif  // SYNWAVE_TCP_BYTE_QUEUE_H_
