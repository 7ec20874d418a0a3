// bench/src/efficiency.hpp: the smallest arena in which keel replays a trace without a failure.
#pragma once

#include <cstddef>

#include "trace.hpp"

namespace keel_bench {

struct EfficiencyResult {
  std::size_t smallest_arena = 0;   ///< bytes of the smallest span that replays with no failure
  std::size_t largest_failing = 0;  ///< smallest_arena - 8, which fails
  std::size_t bisection = 0;        ///< the boundary the bisection found
  std::size_t stable_from = 0;    ///< the first of 64 sizes in a row, from smallest up, that replay
  std::size_t failing_above = 0;  ///< sizes between smallest_arena and stable_from that fail
  bool stable_found = false;  ///< false: no 64 sizes in a row replayed within the 2048 looked at
  std::size_t attempts = 0;
  /// The heap at the first failure in an arena of largest_failing bytes: why it failed.
  struct Failure {
    std::size_t operation = 0;  ///< index of the failing trace operation
    std::size_t request = 0;    ///< bytes asked for
    std::size_t align = 0;
    std::size_t live_bytes = 0;  ///< request bytes live (the trace's view)
    std::size_t live_blocks = 0;
    std::size_t bytes_in_use = 0;  ///< whole used blocks (headers, rounding, pads)
    std::size_t bytes_free = 0;    ///< in free blocks
    std::size_t free_blocks = 0;
    std::size_t largest_free = 0;    ///< usable bytes of the largest free block
    std::size_t bytes_overhead = 0;  ///< region record and sentinel
    std::size_t bytes_claimed = 0;
  } failure;
};

/// Binary search, at 8-byte resolution, over the size of the span handed to claim (the first N
/// bytes of a page-aligned buffer, a fresh heap each attempt); then, since failure is not
/// monotone in the size, every size below the boundary until 64 in a row fail (1024 at most),
/// and every size above the smallest found until 64 in a row replay (2048 at most). The search
/// replays without patterns; the sizes reported are checked with patterns. `heap` is "default"
/// or "search8".
[[nodiscard]] EfficiencyResult find_smallest_arena(const Trace& trace, const char* heap);

}  // namespace keel_bench
