#include "tcp/byte_queue.h"

#include <algorithm>
#include <cstring>

namespace synwave::tcp {

ChunkPool::ChunkPool(uint32_t chunks)
    : capacity_(chunks),
      data_(size_t{chunks} * kChunkSize, flow::Populate::kOnFirstUse),
      next_(chunks == 0 ? 1 : chunks) {}

uint32_t ChunkPool::Alloc() {
  uint32_t c = free_head_;
  if (c != kNone) {
    free_head_ = next_[c];
  } else if (high_water_ < capacity_) {
    c = high_water_++;
  } else {
    return kNone;
  }
  next_[c] = kNone;
  ++in_use_;
  return c;
}

void ChunkPool::Free(uint32_t chunk) {
  next_[chunk] = free_head_;
  free_head_ = chunk;
  --in_use_;
}

uint32_t ByteQueue::Append(ChunkPool& pool, const uint8_t* data, uint32_t len) {
  uint32_t done = 0;
  while (done < len) {
    // Bytes used in the tail chunk (the head chunk's may start mid-way).
    uint32_t tail_used =
        (head_offset_ + size_) % ChunkPool::kChunkSize;
    if (tail_ == ChunkPool::kNone ||
        (tail_used == 0 && size_ + head_offset_ != 0)) {
      const uint32_t c = pool.Alloc();
      if (c == ChunkPool::kNone) break;
      if (tail_ == ChunkPool::kNone) {
        head_ = c;
        head_offset_ = 0;
      } else {
        pool.Next(tail_) = c;
      }
      tail_ = c;
      tail_used = 0;
    }
    const uint32_t n = std::min(len - done, ChunkPool::kChunkSize - tail_used);
    std::memcpy(pool.Data(tail_) + tail_used, data + done, n);
    done += n;
    size_ += n;
  }
  return done;
}

void ByteQueue::CopyOut(ChunkPool& pool, uint32_t offset, uint32_t len,
                        uint8_t* out) const {
  uint32_t chunk = head_;
  uint32_t pos = head_offset_ + offset;
  while (pos >= ChunkPool::kChunkSize) {
    chunk = pool.Next(chunk);
    pos -= ChunkPool::kChunkSize;
  }
  while (len > 0) {
    const uint32_t n = std::min(len, ChunkPool::kChunkSize - pos);
    std::memcpy(out, pool.Data(chunk) + pos, n);
    out += n;
    len -= n;
    pos = 0;
    chunk = pool.Next(chunk);
  }
}

void ByteQueue::Consume(ChunkPool& pool, uint32_t len) {
  size_ -= len;
  head_offset_ += len;
  while (head_offset_ >= ChunkPool::kChunkSize ||
         (size_ == 0 && head_ != ChunkPool::kNone)) {
    const uint32_t next = pool.Next(head_);
    pool.Free(head_);
    head_ = next;
    if (head_ == ChunkPool::kNone) {
      tail_ = ChunkPool::kNone;
      head_offset_ = 0;
      break;
    }
    head_offset_ -= ChunkPool::kChunkSize;
  }
}

void ByteQueue::ClearChunks(ChunkPool& pool) {
  while (head_ != ChunkPool::kNone) {
    const uint32_t next = pool.Next(head_);
    pool.Free(head_);
    head_ = next;
  }
  tail_ = ChunkPool::kNone;
  head_offset_ = 0;
  size_ = 0;
}

}  // namespace synwave::tcp
