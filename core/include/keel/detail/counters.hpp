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
/// The lowest free is not counted either (docs/design.md section 13): between two changes of the
/// regions (an epoch) claimed - overhead is fixed, so free is lowest where in use peaks, and an
/// allocation updates one peak instead of a peak and a minimum.
struct Counters {
  std::size_t claimed = 0;
  std::size_t in_use = 0;
  std::size_t overhead = 0;
  /// The highest in_use in this epoch, and in the epochs before it.
  std::size_t epoch_peak = 0;
  std::size_t earlier_peak = 0;
  /// ~(lowest bytes free in the epochs before this one), 0 if there were none: stored
  /// complemented, so that the zero state means "none".
  std::size_t earlier_min_free_complement = 0;
  std::size_t live = 0;
  // 8-aligned on every target, so that an i386 build (keel-size's 32-bit replayer) lays a heap
  // out as 32-bit Arm does, and reports the same sizeof.
  alignas(8) std::uint64_t total = 0;
  std::uint64_t failed = 0;
  std::uint32_t free_blocks = 0;  // blocks are at least 16 bytes, links reach 2^31 granules
  std::uint32_t regions = 0;

  [[nodiscard]] std::size_t free_bytes() const { return claimed - overhead - in_use; }
  /// After in_use grew.
  void note_peak() {
    if (in_use > epoch_peak) {
      epoch_peak = in_use;
    }
  }
  /// Before claimed or overhead change: folds this epoch into the earlier ones, starts the next.
  void close_epoch() {
    // Before the first region there is no free memory to remember; an epoch without regions
    // after it had 0 bytes free.
    if (claimed != 0 || earlier_min_free_complement != 0) {
      if (~epoch_lowest_free() > earlier_min_free_complement) {
        earlier_min_free_complement = ~epoch_lowest_free();
      }
    }
    if (epoch_peak > earlier_peak) {
      earlier_peak = epoch_peak;
    }
    epoch_peak = in_use;
  }
  [[nodiscard]] std::size_t peak_in_use() const {
    return epoch_peak > earlier_peak ? epoch_peak : earlier_peak;
  }
  /// 0 before the first region and while there is none (epoch_peak is then in_use, 0).
  [[nodiscard]] std::size_t min_free() const {
    const std::size_t lowest = epoch_lowest_free();
    return lowest < ~earlier_min_free_complement ? lowest : ~earlier_min_free_complement;
  }
  /// The lowest free of this epoch: its capacity less its peak.
  [[nodiscard]] std::size_t epoch_lowest_free() const { return claimed - overhead - epoch_peak; }
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
