// Memory for the per-core pools (TIME-WAIT records, TCBs, free stacks,
// buffer chunks): allocated once at start-up, sized from the configuration.
//
// A large pool (2 MiB or more) is mapped on its own, 2 MiB aligned, advised
// to use transparent huge pages, and populated before it is returned: every
// page is present, so neither the set-up nor the packet path takes a page
// fault on it. On this project's VMs a 4 KiB page fault costs 20-50 us (the
// hypervisor fills its own page tables on first touch as well): a 65 MiB
// TIME-WAIT pool faulted in 4 KiB pages took 0.5 s at every start, in huge
// pages 0.03 s. Where huge pages are off the advice fails harmlessly and
// the population still happens, one system call instead of a fault a page.
// A small pool comes from operator new, as before.
//
// The memory is zero-filled. PoolAllocator puts a std::vector on it (its
// elements are then value-initialised as usual); PoolArray is a fixed array
// whose elements are left as the kernel gave them (zero), for records that
// are written in full before they are first read.
#ifndef SYNWAVE_FLOW_POOL_MEMORY_H_
#define SYNWAVE_FLOW_POOL_MEMORY_H_

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace synwave::flow {

// When a large pool's pages are made present: at once (the default), or on
// first use, for a pool that a run may never fill (the buffer chunks, sized
// for every connection holding full buffers): such a pool gets 4 KiB pages
// (a huge page's fault may stop to compact memory), each faulted in once,
// on its first use, and none once warm.
enum class Populate { kNow, kOnFirstUse };

// At least `bytes` (rounded up to the alignment), zero-filled and, unless
// `populate` says otherwise, populated; throws std::bad_alloc when the
// memory cannot be had, as operator new does. Free with FreePoolMemory and
// the same `bytes`.
void* AllocatePoolMemory(size_t bytes, Populate populate = Populate::kNow);
void FreePoolMemory(void* p, size_t bytes) noexcept;

template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebind
  T* allocate(size_t n) {
    static_assert(alignof(T) <= 64);
    return static_cast<T*>(AllocatePoolMemory(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { FreePoolMemory(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

template <typename T>
using PoolVector = std::vector<T, PoolAllocator<T>>;

// `size` elements of T, zero-filled, never constructed: T must be an
// implicit-lifetime type (a trivially default constructible one, or an
// aggregate that the user assigns in full before reading it).
template <typename T>
class PoolArray {
  static_assert(std::is_trivially_destructible_v<T> &&
                std::is_trivially_copyable_v<T>);

 public:
  explicit PoolArray(size_t size, Populate populate = Populate::kNow)
      : data_(static_cast<T*>(AllocatePoolMemory(size * sizeof(T), populate))),
        size_(size) {}
  ~PoolArray() { FreePoolMemory(data_, size_ * sizeof(T)); }
  PoolArray(const PoolArray&) = delete;
  PoolArray& operator=(const PoolArray&) = delete;

  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* data() { return data_; }
  size_t size() const { return size_; }

 private:
  T* data_;
  size_t size_;
};

}  // namespace synwave::flow

#endif  // SYNWAVE_FLOW_POOL_MEMORY_H_
