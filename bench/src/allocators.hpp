// bench/src/allocators.hpp: the allocators a trace is replayed against, behind one interface.
//
//   void* allocate(size, align); void* allocate_zeroed(count, size);
//   void* reallocate(pointer, size, align); void free(pointer);
//
// Each call goes to one measured wrapper (measured.hpp) and nothing else.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "keel/heap.hpp"
#include "measured.hpp"

namespace keel_bench {

/// Page-aligned anonymous memory, reserved but only committed where it is touched.
class Arena {
 public:
  explicit Arena(std::size_t bytes) : bytes_(bytes) {
    void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) {
      std::fprintf(stderr, "keel_bench: cannot map %zu bytes\n", bytes);
      std::exit(2);
    }
    data_ = static_cast<std::byte*>(memory);
  }
  ~Arena() { munmap(data_, bytes_); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  [[nodiscard]] std::byte* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return bytes_; }
  /// The first `bytes` of the arena.
  [[nodiscard]] keel::Span prefix(std::size_t bytes) const { return keel::Span{data_, bytes}; }

 private:
  std::byte* data_ = nullptr;
  std::size_t bytes_ = 0;
};

/// One keel heap over one span. `claimed()` is false if the span was refused.
template <typename HeapT>
class KeelAllocator {
 public:
  using Heap = HeapT;
  explicit KeelAllocator(keel::Span span) : extent_(heap_.claim(span)) {}

  [[nodiscard]] bool claimed() const { return extent_.ok(); }
  [[nodiscard]] keel::Span extent() const { return extent_.extent(); }
  Heap& heap() { return heap_; }

  void* allocate(std::size_t size, std::size_t align) {
    return measured::keel_allocate(heap_, size, align);
  }
  void* allocate_zeroed(std::size_t count, std::size_t size) {
    return measured::keel_allocate_zeroed(heap_, count, size);
  }
  void* reallocate(void* pointer, std::size_t size, std::size_t align) {
    return measured::keel_reallocate(heap_, pointer, size, align);
  }
  void free(void* pointer) { measured::keel_free(heap_, pointer); }

 private:
  Heap heap_;
  keel::RegionResult extent_;
};

/// glibc's malloc family; aligned_alloc for alignments above malloc's 16 bytes.
class GlibcAllocator {
 public:
  static constexpr std::size_t kMallocAlignment = alignof(std::max_align_t);

  void* allocate(std::size_t size, std::size_t align) {
    return align <= kMallocAlignment ? measured::glibc_malloc(size)
                                     : measured::glibc_aligned_alloc(align, size);
  }
  void* allocate_zeroed(std::size_t count, std::size_t size) {
    return measured::glibc_calloc(count, size);
  }
  void* reallocate(void* pointer, std::size_t size, std::size_t /*align*/) {
    return measured::glibc_realloc(pointer, size);
  }
  void free(void* pointer) { measured::glibc_free(pointer); }
};

}  // namespace keel_bench
