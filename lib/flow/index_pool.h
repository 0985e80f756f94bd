// IndexPool: a fixed-capacity allocator of 32-bit indices in [0, capacity).
//
// The per-core pools of TCBs and TIME-WAIT records are plain arrays sized at
// start-up; this class hands out and takes back their slot numbers, so that
// nothing is allocated per connection. Free indices are kept on a LIFO stack:
// the index freed most recently is handed out first, because its record is
// the one most likely still in cache. Indices never handed out yet come from
// a high-water mark (ascending), so a pool that is never more than 10% full
// only ever touches the first 10% of the caller's records.
//
// Alloc and Free are O(1). Free always checks, for the price of one compare
// each, that the index was handed out at some time and that the pool is not
// given more indices than it handed out, because either mistake would corrupt
// the stack. Exact double-free detection (freeing an index that is free now)
// keeps one bit per index (capacity / 8 bytes) and costs one extra cache-line
// read-modify-write per Alloc and Free; it is on by default in builds without
// NDEBUG and can be switched on or off per pool. Misuse that is detected ends
// the process with a message: a double free would otherwise give two
// connections one record.
#ifndef SYNWAVE_FLOW_INDEX_POOL_H_
#define SYNWAVE_FLOW_INDEX_POOL_H_

#include <cstdint>
#include <memory>

#include "flow/pool_memory.h"

namespace synwave::flow {

// "No record": the one value no pool hands out and no table stores (the
// flow table's kNotFound, a connection id that names nothing).
inline constexpr uint32_t kNoIndex = 0xffffffffu;

class IndexPool {
 public:
  static constexpr uint32_t kNoIndex = flow::kNoIndex;
#ifdef NDEBUG
  static constexpr bool kCheckDoubleFreeByDefault = false;
#else
  static constexpr bool kCheckDoubleFreeByDefault = true;
#endif

  // `capacity` must be below kNoIndex.
  explicit IndexPool(uint32_t capacity,
                     bool check_double_free = kCheckDoubleFreeByDefault);

  IndexPool(const IndexPool&) = delete;
  IndexPool& operator=(const IndexPool&) = delete;

  // Returns a free index, or kNoIndex when all `capacity()` are in use.
  uint32_t Alloc() {
    uint32_t index;
    if (free_top_ > 0) {
      index = free_stack_[--free_top_];
    } else if (high_water_ < capacity_) {
      index = high_water_++;
    } else {
      return kNoIndex;
    }
    if (allocated_ != nullptr) MarkAllocated(index);
    return index;
  }

  // Returns `index`, which must have come from Alloc and not have been freed
  // since.
  void Free(uint32_t index) {
    if (index >= high_water_ || free_top_ >= high_water_) [[unlikely]] {
      FailBadFree(index);
    }
    if (allocated_ != nullptr) MarkFree(index);
    free_stack_[free_top_++] = index;
  }

  uint32_t in_use() const { return high_water_ - free_top_; }
  uint32_t capacity() const { return capacity_; }
  bool checks_double_free() const { return allocated_ != nullptr; }

 private:
  void MarkAllocated(uint32_t index) {
    allocated_[index / 64] |= uint64_t{1} << (index % 64);
  }
  void MarkFree(uint32_t index) {
    uint64_t& word = allocated_[index / 64];
    const uint64_t bit = uint64_t{1} << (index % 64);
    if ((word & bit) == 0) [[unlikely]]
      FailDoubleFree(index);
    word &= ~bit;
  }
  [[noreturn]] void FailBadFree(uint32_t index) const;
  [[noreturn]] void FailDoubleFree(uint32_t index) const;

  uint32_t capacity_;
  uint32_t high_water_ = 0;  // indices >= this were never handed out
  uint32_t free_top_ = 0;    // number of indices on free_stack_
  PoolArray<uint32_t> free_stack_;  // populated at start-up
  std::unique_ptr<uint64_t[]> allocated_;  // null unless checking
};

}  // namespace synwave::flow

#endif  // SYNWAVE_FLOW_INDEX_POOL_H_
