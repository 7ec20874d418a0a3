// bench/src/efficiency.hpp: the smallest arena in which keel replays a trace without a failure.
#pragma once

#include <cstddef>

#include "trace.hpp"

namespace keel_bench {

struct EfficiencyResult {
  std::size_t smallest_arena = 0;   ///< bytes of the smallest span that replays with no failure
  std::size_t largest_failing = 0;  ///< the largest size seen to fail (smallest_arena - 8)
  std::size_t attempts = 0;
  bool monotone_above = true;  ///< the 16 sizes just above smallest_arena replay too
};

/// Binary search, at 8-byte resolution, over the size of the span handed to claim (the first N
/// bytes of a page-aligned buffer, a fresh heap each attempt). `heap` is "default" or
/// "nosearch".
[[nodiscard]] EfficiencyResult find_smallest_arena(const Trace& trace, const char* heap);

}  // namespace keel_bench
