// bench/src/worst_cases.hpp: heap states built to make one keel operation as slow as it can be.
//
// Each scenario lays blocks out in a fresh heap (addresses are deterministic: a fresh heap
// hands out blocks in address order), frees chosen ones so that the free lists and bitmaps are
// in the state wanted, and then measures one allocate, free or reallocate between markers
// (category Category::scenario_base + index). What makes a case slow, from docs/design.md
// sections 3 and 8:
//   - allocate: the O(1) good-fit search fails, the fallback walks search_limit blocks, across
//     as many bins as possible (an aligned request spans many bins), the last one fits behind a
//     free front gap that goes back to a bin, and the tail is split off into another bin;
//   - free: both neighbours are free and must be unlinked (from the middle of their lists, or
//     emptying their bins and first-level rows), the block is PADDED, the merged block is binned;
//   - reallocate: in place with a neighbour, backwards with a memmove, or moved.
// Every case checks that it reached the intended path (see Scenario::expect) and the heap
// validates afterwards; a case that does not is reported as a failure by the program.
#pragma once

#include <cstddef>

namespace keel_bench {

enum class Expect : unsigned char { succeeds, fails, succeeds_if_searching };

struct ScenarioInfo {
  const char* kind;  ///< "allocate", "free" or "reallocate"
  const char* name;
  Expect expect;  ///< what the measured call returns (allocate, reallocate)
};

/// Runs every scenario (or only scenario `only`, if >= 0) against a fresh heap over the first
/// `arena_bytes` of an arena, for the heap named `heap` ("default", "search8", "lean"). Prints
/// one line per scenario (index, kind, outcome, as-planned, name); a layout too large for the
/// arena is reported as does-not-fit, a case about pads as not-applicable where the granule is
/// 16 bytes (no pads exist there). Returns false if any case missed its intended path.
bool run_scenarios(const char* heap, std::size_t arena_bytes, long only);

}  // namespace keel_bench
