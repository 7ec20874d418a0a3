// bench/src/measured.cpp: the measured wrappers (see measured.hpp). Kept in their own
// translation unit and out of line so that each is one function callgrind can toggle on.
#include "measured.hpp"

#include <cstdlib>

namespace measured {

template <typename Heap>
[[gnu::noinline]] void* keel_allocate(Heap& heap, std::size_t size, std::size_t align) {
  return heap.allocate(size, align);
}

template <typename Heap>
[[gnu::noinline]] void* keel_allocate_zeroed(Heap& heap, std::size_t count, std::size_t size) {
  return heap.allocate_zeroed(count, size, keel::detail::kGranule);
}

template <typename Heap>
[[gnu::noinline]] void* keel_reallocate(Heap& heap, void* pointer, std::size_t size,
                                        std::size_t align) {
  return heap.reallocate(pointer, size, align);
}

template <typename Heap>
[[gnu::noinline]] void keel_free(Heap& heap, void* pointer) {
  heap.free(pointer);
}

#define KEEL_BENCH_DEFINE_MEASURED(Heap)                                        \
  template void* keel_allocate<Heap>(Heap&, std::size_t, std::size_t);          \
  template void* keel_allocate_zeroed<Heap>(Heap&, std::size_t, std::size_t);   \
  template void* keel_reallocate<Heap>(Heap&, void*, std::size_t, std::size_t); \
  template void keel_free<Heap>(Heap&, void*);
KEEL_BENCH_DEFINE_MEASURED(keel_bench::DefaultHeap)
KEEL_BENCH_DEFINE_MEASURED(keel_bench::SearchHeap)
KEEL_BENCH_DEFINE_MEASURED(keel_bench::LeanHeap)
KEEL_BENCH_DEFINE_MEASURED(keel_bench::SevenStepHeap)
KEEL_BENCH_DEFINE_MEASURED(keel_bench::ClaimHeap)
KEEL_BENCH_DEFINE_MEASURED(keel_bench::QuickHeap)
#undef KEEL_BENCH_DEFINE_MEASURED

[[gnu::noinline]] void* glibc_malloc(std::size_t size) {
  return std::malloc(size);
}

[[gnu::noinline]] void* glibc_aligned_alloc(std::size_t align, std::size_t size) {
  return std::aligned_alloc(align, size);
}

[[gnu::noinline]] void* glibc_calloc(std::size_t count, std::size_t size) {
  return std::calloc(count, size);
}

[[gnu::noinline]] void* glibc_realloc(void* pointer, std::size_t size) {
  return std::realloc(pointer, size);
}

[[gnu::noinline]] void glibc_free(void* pointer) {
  std::free(pointer);
}

}  // namespace measured
