// bench/src/measured.hpp: the only code the benchmark measures.
//
// Each allocator operation goes through one small out-of-line function here that does nothing
// but call the allocator. callgrind counts the instructions inside them
// (`--toggle-collect='*measured::*'`), and the QEMU plugin counts the same instructions between
// the markers around each call (bench/src/marker.hpp). Pattern filling and checking, trace
// bookkeeping and everything else stays outside. The namespace is deliberately not keel_bench:
// the plugin skips instructions of functions whose names contain keel_bench (the caller).
#pragma once

#include <cstddef>

#include "keel/heap.hpp"

namespace keel_bench {

/// The heap the targets are for: keel's defaults (statistics on, basic checking, no
/// fallback search: search_limit 0).
using DefaultHeap = keel::Heap<>;
/// The default with the bounded fallback search of up to 8 blocks (the default before
/// 2026-12-02).
using SearchHeap = keel::Heap<keel::FailOnOom, keel::HeapOptions{.search_limit = 8}>;
/// Everything optional switched off, to show what statistics and checks cost.
using LeanHeap = keel::Heap<keel::FailOnOom, keel::HeapOptions{.statistics = false,
                                                               .checking = keel::Checking::none}>;
/// Used only to prove that a constructed case needs all 8 steps of the fallback search.
using SevenStepHeap = keel::Heap<keel::FailOnOom, keel::HeapOptions{.search_limit = 7}>;
/// The default options with the shipped OOM policy that claims a reserve (oom_claim.hpp).
using ClaimHeap = keel::Heap<keel::ClaimOnOom>;
/// The default options with quick lists 8 deep (quick_flush.hpp, docs/design.md section 15).
using QuickHeap = keel::Heap<keel::FailOnOom, keel::HeapOptions{.quick_lists = 8}>;

}  // namespace keel_bench

namespace measured {

template <typename Heap>
void* keel_allocate(Heap& heap, std::size_t size, std::size_t align);
template <typename Heap>
void* keel_allocate_zeroed(Heap& heap, std::size_t count, std::size_t size);
template <typename Heap>
void* keel_reallocate(Heap& heap, void* pointer, std::size_t size, std::size_t align);
template <typename Heap>
void keel_free(Heap& heap, void* pointer);

#define KEEL_BENCH_DECLARE_MEASURED(Heap)                                              \
  extern template void* keel_allocate<Heap>(Heap&, std::size_t, std::size_t);          \
  extern template void* keel_allocate_zeroed<Heap>(Heap&, std::size_t, std::size_t);   \
  extern template void* keel_reallocate<Heap>(Heap&, void*, std::size_t, std::size_t); \
  extern template void keel_free<Heap>(Heap&, void*);
KEEL_BENCH_DECLARE_MEASURED(keel_bench::DefaultHeap)
KEEL_BENCH_DECLARE_MEASURED(keel_bench::SearchHeap)
KEEL_BENCH_DECLARE_MEASURED(keel_bench::LeanHeap)
KEEL_BENCH_DECLARE_MEASURED(keel_bench::SevenStepHeap)
KEEL_BENCH_DECLARE_MEASURED(keel_bench::ClaimHeap)
KEEL_BENCH_DECLARE_MEASURED(keel_bench::QuickHeap)
#undef KEEL_BENCH_DECLARE_MEASURED

void* glibc_malloc(std::size_t size);
void* glibc_aligned_alloc(std::size_t align, std::size_t size);
void* glibc_calloc(std::size_t count, std::size_t size);
void* glibc_realloc(void* pointer, std::size_t size);
void glibc_free(void* pointer);

}  // namespace measured
