#include "flow/pool_memory.h"

#include <cstdint>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SYNWAVE_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SYNWAVE_POOL_ASAN 1
#endif
#endif
#if defined(SYNWAVE_POOL_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace synwave::flow {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kPage = 4096;
constexpr std::align_val_t kSmallAlign{64};

#if defined(__linux__)
// Linux 5.14's MADV_POPULATE_WRITE, for older headers.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

// Under AddressSanitizer the mapping keeps at least a cache line past the
// pool, poisoned, so that an overrun is reported as it would be on the
// heap (the bytes before the pool are unmapped).
#if defined(SYNWAVE_POOL_ASAN)
constexpr size_t kRedzone = 64;
#else
constexpr size_t kRedzone = 0;
#endif

size_t MappedBytes(size_t bytes) {
  return (bytes + kRedzone + kHugePage - 1) / kHugePage * kHugePage;
}
#endif

}  // namespace

void* AllocatePoolMemory(size_t bytes, Populate populate) {
#if defined(__linux__)
  if (bytes >= kHugePage) {
    const size_t len = MappedBytes(bytes);
    // Map a huge page more than asked and trim both ends to 2 MiB bounds.
    void* raw = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
    if (aligned > start) munmap(raw, aligned - start);
    const size_t tail = start + len + kHugePage - (aligned + len);
    if (tail > 0) munmap(reinterpret_cast<void*>(aligned + len), tail);
    void* p = reinterpret_cast<void*>(aligned);
#if defined(MADV_HUGEPAGE)
    // Advice only: where transparent huge pages are off this fails and the
    // pool gets 4 KiB pages. It must come before the pages are populated.
    // Not for memory faulted in on first use: with THP's defrag setting
    // "madvise" (Debian's default) such a fault may compact memory to find
    // a huge page, a stall that belongs at start-up, not on the packet path.
    if (populate == Populate::kNow) madvise(p, len, MADV_HUGEPAGE);
#endif
    if (populate == Populate::kNow &&
        madvise(p, len, MADV_POPULATE_WRITE) != 0) {
      // Before Linux 5.14: fault each page in by writing it (a zero, which
      // the fresh mapping holds already).
      volatile char* c = static_cast<char*>(p);
      for (size_t i = 0; i < len; i += kPage) c[i] = 0;
    }
#if defined(SYNWAVE_POOL_ASAN)
    ASAN_POISON_MEMORY_REGION(static_cast<char*>(p) + bytes, len - bytes);
#endif
    return p;
  }
#endif
  void* p = ::operator new(bytes == 0 ? 1 : bytes, kSmallAlign);
  std::memset(p, 0, bytes);
  return p;
}

void FreePoolMemory(void* p, size_t bytes) noexcept {
  if (p == nullptr) return;
#if defined(__linux__)
  if (bytes >= kHugePage) {
#if defined(SYNWAVE_POOL_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(p, MappedBytes(bytes));
#endif
    munmap(p, MappedBytes(bytes));
    return;
  }
#endif
  ::operator delete(p, kSmallAlign);
}

}  // namespace synwave::flow
