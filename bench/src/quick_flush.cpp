// bench/src/quick_flush.cpp: the allocate that flushes full quick lists (see quick_flush.hpp).
#include "quick_flush.hpp"

#include <cstdio>
#include <vector>

#include "allocators.hpp"
#include "marker.hpp"
#include "measured.hpp"

namespace keel_bench {

bool run_quick_flush() {
  using keel::detail::kGranule;
  using keel::detail::kHeaderBytes;
  constexpr std::size_t kDepth = QuickHeap::options.quick_lists;
  constexpr std::size_t kLargest = QuickHeap::options.quick_largest;
  constexpr std::size_t kSizes = kLargest / kGranule - 16 / kGranule + 1;
  // Each held block sits between two free blocks too large for any list, then a used spacer.
  constexpr std::size_t kSide = kLargest + 64 - kHeaderBytes;
  constexpr std::size_t kSpacer = 32;
  // Larger than a side block, smaller than a side block, a held block and a side block merged.
  constexpr std::size_t kRequest = 2 * kSide;
  const std::size_t units = kDepth * kSizes;
  const Arena arena(units * (2 * kSide + kLargest + kSpacer + 4 * kGranule) + 4096);
  QuickHeap heap;
  if (!heap.claim(keel::Span{arena.data(), arena.size()})) {
    return false;
  }
  struct Unit {
    void* left;
    void* held;
    void* right;
  };
  std::vector<Unit> built;
  for (std::size_t i = 0; i < units; ++i) {
    const std::size_t held_bytes = (16 / kGranule + i % kSizes) * kGranule - kHeaderBytes;
    Unit unit{heap.try_allocate(kSide), heap.try_allocate(held_bytes), heap.try_allocate(kSide)};
    if (unit.left == nullptr || unit.held == nullptr || unit.right == nullptr ||
        heap.try_allocate(kSpacer) == nullptr) {
      std::fprintf(stderr, "keel_bench: quick-flush: arena too small at unit %zu\n", i);
      return false;
    }
    built.push_back(unit);
  }
  // The top, used up before anything is held: no flush can happen yet.
  while (heap.try_allocate(kRequest) != nullptr) {
  }
  for (const Unit& unit : built) {
    heap.free(unit.held);  // held: its list has room
  }
  for (const Unit& unit : built) {
    heap.free(unit.left);  // binned: too large for a list, and its right neighbour is held
    heap.free(unit.right);
  }
  const std::size_t free_before = heap.statistics().free_blocks;
  mark_begin();
  void* block = measured::keel_allocate(heap, kRequest, kGranule);
  mark_end<Category::allocate>();
  // Every held block merged with both neighbours: one free block per unit, less the one taken.
  const bool served = block != nullptr &&
                      heap.statistics().free_blocks + 2 * units == free_before &&
                      heap.validate().ok();
  std::printf("quick_flush\t%zu\t%s\n", units, served ? "served" : "NOT-SERVED");
  return served;
}

}  // namespace keel_bench
