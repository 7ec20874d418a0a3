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
  /// ~(lowest bytes free so far), 0 before the first claim: stored complemented, so that the
  /// zero state means "none yet" and no claim after the first can raise the minimum.
  std::size_t min_free_complement = 0;
  std::size_t live = 0;
  std::uint64_t total = 0;
  std::uint64_t failed = 0;
  std::size_t free_blocks = 0;
  std::size_t regions = 0;
};
struct NoCounters {};

/// 1000 · part / whole, rounded down, for part <= whole and whole != 0, in size_t arithmetic
/// only: a 32-bit target needs no 64-bit division from its runtime library (__aeabi_uldivmod).
/// Both are halved until part · 1000 fits, which loses at most 1 per mille.
constexpr unsigned permille(std::size_t part, std::size_t whole) {
  while (part > ~std::size_t{0} / 1000) {
    part >>= 1;
    whole >>= 1;
  }
  return static_cast<unsigned>(part * 1000 / whole);
}
static_assert(permille(1, 2) == 500 && permille(3, 3) == 1000 && permille(0, 7) == 0);
static_assert(permille(~std::size_t{0} / 2, ~std::size_t{0}) == 499);

}  // namespace keel::detail
