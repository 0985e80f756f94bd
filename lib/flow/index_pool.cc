#include "flow/index_pool.h"

#include <cstdio>
#include <cstdlib>

namespace synwave::flow {

IndexPool::IndexPool(uint32_t capacity, bool check_double_free)
    : capacity_(capacity < kNoIndex ? capacity : kNoIndex - 1),
      // Populated pool memory: the stack takes no page fault on the packet
      // path (pool_memory.h).
      free_stack_(capacity_ == 0 ? 1 : capacity_) {
  if (check_double_free) {
    allocated_ = std::make_unique<uint64_t[]>(capacity_ / 64 + 1);
  }
}

void IndexPool::FailBadFree(uint32_t index) const {
  std::fprintf(stderr,
               "IndexPool::Free(%u): index never allocated or more frees than "
               "allocations (capacity %u, high water %u, free %u)\n",
               index, capacity_, high_water_, free_top_);
  std::abort();
}

void IndexPool::FailDoubleFree(uint32_t index) const {
  std::fprintf(stderr, "IndexPool::Free(%u): double free (capacity %u)\n",
               index, capacity_);
  std::abort();
}

}  // namespace synwave::flow
