// bench/src/measured_impl.hpp: the measured wrappers' definitions (measured.hpp declares them),
// for measured.cpp and measured_quick.cpp to instantiate.
#pragma once

#include "measured.hpp"

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

}  // namespace measured
