// keel/detail/counters.hpp: the counters behind Heap::statistics() and Heap::histogram().
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/stats.hpp"

namespace keel::detail {

/// The size class of a request for the histogram: 0 for size 0, else 1 + floor(log2(size)).
constexpr unsigned size_class(std::size_t size) {
  unsigned bits = 0;
  while (size != 0 && bits < SizeHistogram::kClasses - 1) {
    ++bits;
    size >>= 1;
  }
  return bits;
}

/// The counters behind Statistics, kept only when HeapOptions::statistics is set. Free bytes are
/// not counted: they are claimed - overhead - in use (invariant 6), so the bins need no counter.
struct Counters {
  std::size_t claimed = 0;
  std::size_t in_use = 0;
  std::size_t overhead = 0;
  std::size_t peak_in_use = 0;
  std::size_t min_free = 0;
  std::size_t live = 0;
  std::uint64_t total = 0;
  std::uint64_t failed = 0;
  std::size_t free_blocks = 0;
  std::size_t regions = 0;
  bool claimed_once = false;  ///< min_free is set by the first claim only, never raised after
};
struct NoCounters {};

}  // namespace keel::detail
