// keel/detail/bins.hpp: the size-to-bin mapping (docs/design.md section 3).
//
// Two-level segregated fit over block sizes counted in granules (g):
//   g < 16                : one exact bin per size, bin = g            (first level 0)
//   g >= 16, l = log2(g)  : first level fl = l - 3, second level sl = (g >> (l - 4)) - 16
//                           bin = 16·fl + sl; a bin is 1/16 of its power of two wide
// With 29-bit sizes, l <= 28, so there are 26 first levels and 416 bins.
#pragma once

#include <cstdint>

#include "keel/detail/bits.hpp"
#include "keel/detail/block.hpp"

namespace keel::detail {

inline constexpr unsigned kSecondLevelBits = 4;
inline constexpr unsigned kSecondLevels = 1U << kSecondLevelBits;  // 16 bins per first level
inline constexpr unsigned kFirstLevels = highest_bit(kMaxBlockGranules) - kSecondLevelBits + 2;
inline constexpr unsigned kBinCount = kFirstLevels * kSecondLevels;

static_assert(kFirstLevels <= 32, "the first-level bitmap is one 32-bit word");

/// The bin that holds free blocks of `granules`. Precondition: 0 < granules <= max.
/// Above the exact bins, with s = l - 4: bin = 16·s + (g >> s), since g >> s keeps the top five
/// bits of g, which are 16 + sl, and 16·s + 16 = 16·fl.
[[nodiscard]] constexpr unsigned bin_of(Word granules) {
  if (granules < kSecondLevels) {
    return granules;
  }
  const unsigned shift = highest_bit(granules) - kSecondLevelBits;
  return (shift << kSecondLevelBits) + (granules >> shift);
}

/// The smallest block size that bin `bin` holds.
[[nodiscard]] constexpr Word bin_floor(unsigned bin) {
  const unsigned first = bin / kSecondLevels;
  const unsigned second = bin % kSecondLevels;
  if (first == 0) {
    return second;
  }
  return static_cast<Word>(kSecondLevels + second) << (first - 1);
}

/// The size from which the good-fit search starts: every block in bin_of(result) and above
/// is at least `granules` long. May exceed kMaxBlockGranules (the search then finds nothing).
[[nodiscard]] constexpr Word search_size(Word granules) {
  if (granules < kSecondLevels) {
    return granules;
  }
  const Word step = Word{1} << (highest_bit(granules) - kSecondLevelBits);
  return granules + step - 1;
}

static_assert(bin_of(15) == 15 && bin_of(16) == 16 && bin_of(31) == 31 && bin_of(32) == 32);
static_assert(bin_floor(bin_of(kMaxBlockGranules)) <= kMaxBlockGranules);
static_assert(bin_of(kMaxBlockGranules) < kBinCount);

}  // namespace keel::detail
