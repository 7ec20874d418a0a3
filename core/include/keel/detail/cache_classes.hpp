// keel/detail/cache_classes.hpp: the size classes of the per-CPU caches (keel/cpu_cache.hpp,
// docs/design.md section 11).
//
// A class is a block size in granules. Sizes up to 16 granules (128-byte blocks) have a class
// each, as they have an exact bin in the heap; above, eight classes per power of two, so that a
// request rounded up to its class wastes less than 1/8 of the block:
//
//   class    0 .. 14    15 .. 22           23 .. 30           31 .. 38             39 ..
//   granules 2 .. 16    18, 20, .. 32      36, 40, .. 64      72, 80, .. 128       144, ..
//   bytes    16 .. 128  144 .. 256         288 .. 512         576 .. 1024          1152 ..
//
// A request of g granules takes the smallest class of at least g granules (class_up); a block of
// g granules can serve the largest class of at most g granules (class_down). The two agree on
// class sizes, so a block allocated for a class goes back into that class, and a block one
// granule larger (the heap does not split off a single granule) into the class it still serves.
#pragma once

#include <cstdint>

#include "keel/detail/bits.hpp"
#include "keel/detail/block.hpp"

namespace keel::detail {

/// Classes below this many granules are exact, one per size.
inline constexpr Word kExactClassGranules = 16;
inline constexpr unsigned kExactClasses = kExactClassGranules - kMinBlockGranules + 1;  // 15 or 16
/// Classes per power of two above the exact ones.
inline constexpr unsigned kClassesPerDoubling = 8;

/// The block size of class `index`, in granules.
[[nodiscard]] constexpr Word class_granules(unsigned index) {
  if (index < kExactClasses) {
    return index + kMinBlockGranules;
  }
  const unsigned row = (index - kExactClasses) / kClassesPerDoubling;
  const unsigned column = (index - kExactClasses) % kClassesPerDoubling;
  const unsigned power = row + 4;  // 2^4 = kExactClassGranules
  return (Word{1} << power) + ((column + 1) << (power - 3));
}

/// The smallest class whose blocks have at least `granules` granules. Precondition:
/// kMinBlockGranules <= granules < 2^31.
[[nodiscard]] constexpr unsigned class_up(Word granules) {
  if (granules <= kExactClassGranules) {
    return granules - kMinBlockGranules;
  }
  const unsigned power = highest_bit(granules - 1);  // >= 4: granules - 1 lies in [2^p, 2^(p+1))
  const unsigned column = (granules - 1 - (Word{1} << power)) >> (power - 3);
  return kExactClasses + (power - 4) * kClassesPerDoubling + column;
}

/// The largest class whose blocks have at most `granules` granules: the class a block of that
/// size can serve. Precondition: kMinBlockGranules <= granules < 2^31.
[[nodiscard]] constexpr unsigned class_down(Word granules) {
  const unsigned up = class_up(granules);
  return class_granules(up) == granules ? up : up - 1;
}

static_assert(class_granules(class_up(17)) == 18 && class_down(17) == class_up(16));
static_assert(class_granules(class_up(33)) == 36 && class_granules(class_down(35)) == 32);
static_assert(class_granules(kExactClasses + 23) == 128 && class_up(128) == kExactClasses + 23 &&
              class_up(129) == kExactClasses + 24);

}  // namespace keel::detail
