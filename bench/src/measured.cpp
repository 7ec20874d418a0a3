// bench/src/measured.cpp: the measured wrappers (see measured.hpp). Kept in their own
// translation unit and out of line so that each is one function callgrind can toggle on. The
// heap with quick lists has its own unit (measured_quick.cpp): with it here, GCC reached its
// growth limit for this unit and kept the default heap's bin operations out of line in
// reallocate (2 to 4 instructions more per operation on the traces that reallocate).
#include "measured.hpp"

#include "measured_impl.hpp"

#include <cstdlib>

namespace measured {

KEEL_BENCH_DEFINE_MEASURED(keel_bench::DefaultHeap)
KEEL_BENCH_DEFINE_MEASURED(keel_bench::SearchHeap)
KEEL_BENCH_DEFINE_MEASURED(keel_bench::LeanHeap)
KEEL_BENCH_DEFINE_MEASURED(keel_bench::SevenStepHeap)
KEEL_BENCH_DEFINE_MEASURED(keel_bench::ClaimHeap)
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
