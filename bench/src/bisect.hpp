// bench/src/bisect.hpp: the bisection step of a smallest-arena search, shared by the benchmark's
// heap-efficiency search (efficiency.cpp) and keel-size's replayer (tools/keel-size/replay.cpp).
#pragma once

#include <cstddef>

namespace keel_bench {

/// Narrows [low, high] to one `step`, given that `serves(high)` holds and `serves(low)` does not,
/// and returns the `high` it ends with: a size that serves, one step above a size that does not.
/// Sizes tried are multiples of `step`. (Serving need not be monotone in the size, so this is a
/// boundary, not necessarily the least size that serves: the callers scan around it.)
template <typename Serves>
std::size_t bisect(std::size_t low, std::size_t high, std::size_t step, Serves&& serves) {
  while (high - low > step) {
    const std::size_t middle = (low + (high - low) / 2) / step * step;
    if (serves(middle)) {
      high = middle;
    } else {
      low = middle;
    }
  }
  return high;
}

}  // namespace keel_bench
