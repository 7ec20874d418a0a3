// bench/src/oom_claim.hpp: what the shipped OOM policy costs, apart from the heap's own bounds.
//
// An allocate that finds no block calls its heap's OOM policy. keel::ClaimOnOom claims the
// reserve it holds as a new region, and the allocate then serves from it. The claim of a span
// beside every region (below or above them all) takes no walk over the regions
// (docs/design.md 13), so this allocate should cost the same with 1 region as with 1 000. The
// benchmark builds a heap of `regions` small regions, abutting or with a gap after each, the
// reserve below them all, fills every region, and measures the one allocate that claims the
// reserve (category Category::allocate, between markers).
#pragma once

#include <cstddef>

namespace keel_bench {

/// Prints `oom_claim <regions> <gaps> <served>` and returns whether the measured allocate was
/// served from the claimed reserve and the heap validates afterwards.
bool run_oom_claim(std::size_t regions, bool gaps);

}  // namespace keel_bench
