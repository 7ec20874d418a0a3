// keel/detail/quick_lists.hpp: the state of a heap's deferred frees (HeapOptions::quick_lists,
// docs/design.md section 15). The operations are Heap's (detail/heap_quick.hpp).
#pragma once

#include <cstdint>

#include "keel/config.hpp"
#include "keel/detail/block.hpp"

namespace keel::detail {

/// How many exact-size lists a heap with these options keeps: one per block size from the
/// smallest block to quick_largest, 0 with quick_lists off.
constexpr unsigned quick_classes(const HeapOptions& options) {
  if (options.quick_lists == 0 || options.quick_largest < kMinBlockGranules * kGranule) {
    return 0;
  }
  return options.quick_largest / kGranule - kMinBlockGranules + 1;
}

/// Whether `header` is that of a cached block of `granules` (its PREV_USED bit either way): what
/// allocate checks before it hands a popped block out, and validate() for every list entry.
[[nodiscard]] constexpr bool is_cached_of(Word header, Word granules) {
  return (header & ~kPrevUsedBit) == make_header(granules, kPaddedBit);
}

/// One LIFO list of cached blocks per size: a block of g granules is on list g -
/// kMinBlockGranules. A head is a granule link (0: empty), as the bins' heads; a cached block's
/// next link sits where a free block's does. Zero at start, as every member of a heap.
template <unsigned kClasses>
struct QuickLists {
  Word heads[kClasses] = {};
  std::uint8_t counts[kClasses] = {};
};
struct NoQuickLists {};

}  // namespace keel::detail
