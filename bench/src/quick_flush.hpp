// bench/src/quick_flush.hpp: the dearest allocate of a heap with quick lists (HeapOptions::
// quick_lists, docs/design.md section 15), apart from the heap's own bounds.
//
// A heap with quick lists holds freed small blocks unmerged. When a search finds no block, the
// allocate flushes every list, freeing each held block as free() would, and searches again.
// The benchmark fills every list to its depth with blocks whose two neighbours are free (so
// that each flushed block merges both ways), leaves the top smaller than the request and no
// binned block large enough, and measures the one allocate that flushes them all and is then
// served from a merged block (category Category::allocate, between markers).
#pragma once

#include <cstddef>

namespace keel_bench {

/// Prints `quick_flush <held blocks> <served>` and returns whether the measured allocate was
/// served after flushing every list and the heap validates afterwards.
bool run_quick_flush();

}  // namespace keel_bench
