// keel/detail/bins.hpp: the size-to-bin mapping (docs/design.md sections 3 and 13).
//
// Two-level segregated fit over block sizes counted in granules (g), with 2^b bins per power of
// two (b second-level bits, S = 2^b):
//   g < 2S                : one exact bin per size, bin = g
//   g >= 2S, l = log2(g)  : first level fl = l - b + 1, second level sl = (g >> (l - b)) - S,
//                           bin = S·fl + sl; a bin is 1/S of its power of two wide
// A layout also fixes the largest block G it maps; its bins are those of sizes 1..G, so
// bin_of(G) is the last one. The default layout (b = 4, G = 2^29 - 1) has 26 first levels and
// 416 bins. A heap built for blocks of at most 64 KiB uses b = 3 and its G (HeapOptions::
// largest_block; 89 bins for 64 KiB).
#pragma once

#include <cstdint>
#include <type_traits>

#include "keel/detail/bits.hpp"
#include "keel/detail/block.hpp"

namespace keel::detail {

/// The bin of `granules` with `kBits` second-level bits. Precondition: granules > 0.
/// Above the exact bins, with s = l - b: bin = S·s + (g >> s), since g >> s keeps the top b + 1
/// bits of g, which are S + sl, and S·s + S = S·fl. Below S the same sum with s = 0 is g itself.
/// With 8-byte granules S granules are only 64 or 128 bytes and most blocks are larger, so s
/// comes from g | S, with no branch; with 16-byte granules, or where highest_bit is a call, the
/// test g < S is cheaper.
template <unsigned kBits>
[[nodiscard]] constexpr unsigned bin_index(Word granules) {
  Word top = granules;
  if constexpr (kGranule == 8 && kHighestBitIsCheap) {
    top |= Word{1} << kBits;  // below 2^b the shift is then 0: no branch
  } else if (granules < (Word{1} << kBits)) {
    return granules;
  }
  const unsigned shift = highest_bit(top) - kBits;
  return (shift << kBits) + (granules >> shift);
}

/// The size-to-bin mapping of one layout: 2^kBits second-level bins per first level, block
/// sizes from 1 to kLargest granules. Everything is a constant expression.
template <unsigned kBits, Word kLargest>
struct Bins {
  static_assert(kBits == 3 || kBits == 4, "a row's bitmap is one byte or one 16-bit word");
  static_assert(kLargest >= (Word{1} << (kBits + 1)) && kLargest <= kMaxBlockGranules);

  static constexpr unsigned kSecondLevelBits = kBits;
  static constexpr unsigned kSecondLevels = 1U << kBits;
  /// The largest block, in granules, that the layout maps (and a heap with it holds).
  static constexpr Word kMaxGranules = kLargest;
  static constexpr unsigned kBinCount = bin_index<kBits>(kLargest) + 1;
  static constexpr unsigned kFirstLevels = (kBinCount - 1) / kSecondLevels + 1;
  static_assert(kFirstLevels <= 32, "the first-level bitmap is one 32-bit word");
  /// One first level's bitmap, and the bits that can be set in it.
  using Row = std::conditional_t<kBits == 3, std::uint8_t, std::uint16_t>;
  static constexpr std::uint32_t kRowMask = (1U << kSecondLevels) - 1;

  /// The bin that holds free blocks of `granules`. Precondition: 0 < granules <= kMaxGranules.
  [[nodiscard]] static constexpr unsigned bin_of(Word granules) {
    return bin_index<kBits>(granules);
  }

  /// The smallest block size that bin `bin` holds.
  [[nodiscard]] static constexpr Word bin_floor(unsigned bin) {
    const unsigned first = bin / kSecondLevels;
    const unsigned second = bin % kSecondLevels;
    if (first == 0) {
      return second;
    }
    return static_cast<Word>(kSecondLevels + second) << (first - 1);
  }

  /// The size from which the good-fit search starts: every block in bin_of(result) and above
  /// is at least `granules` long. May exceed kMaxGranules (the search then finds nothing).
  [[nodiscard]] static constexpr Word search_size(Word granules) {
    if (granules < kSecondLevels) {
      return granules;
    }
    const Word step = Word{1} << (highest_bit(granules) - kBits);
    const Word start = granules + step - 1;
    // A largest block below the end of its bin (8192 granules is the floor of the 64 KiB
    // layout's last bin): that bin holds only blocks of at least its floor, so a request up to
    // the floor starts there rather than past the largest block. Compiled out by default.
    if constexpr (kMaxGranules < bin_floor(kBinCount) - 1) {
      if (start > kMaxGranules && granules <= bin_floor(kBinCount - 1)) {
        return bin_floor(kBinCount - 1);
      }
    }
    return start;
  }
};

/// The layout of a heap whose blocks are at most `largest_block` bytes (HeapOptions), rounded
/// down to granules: 8 bins per first level up to kSmallHeapBlock, else 16 (docs/design.md
/// section 13).
inline constexpr std::uint32_t kSmallHeapBlock = 64 * 1024;
template <std::uint32_t kLargestBlock>
inline constexpr Word kLargestGranules = kLargestBlock / kGranule < kMaxBlockGranules
                                             ? static_cast<Word>(kLargestBlock / kGranule)
                                             : kMaxBlockGranules;
template <std::uint32_t kLargestBlock>
using BinsFor = Bins<(kLargestGranules<kLargestBlock> <= kSmallHeapBlock / kGranule ? 3U : 4U),
                     kLargestGranules<kLargestBlock>>;

using DefaultBins = BinsFor<0xFFFF'FFF8U>;
static_assert(DefaultBins::bin_of(15) == 15 && DefaultBins::bin_of(16) == 16 &&
              DefaultBins::bin_of(31) == 31 && DefaultBins::bin_of(32) == 32 &&
              DefaultBins::bin_of(33) == 32 && DefaultBins::bin_of(34) == 33);
static_assert(DefaultBins::bin_floor(DefaultBins::bin_of(kMaxBlockGranules)) <= kMaxBlockGranules);
static_assert(std::is_same_v<BinsFor<0xFFFF'FFFFU>, DefaultBins>);
// 8-byte granules: 2^29 - 1 granules, 26 rows; 16-byte granules: 2^28 - 1 granules, 25 rows.
static_assert(kGranule == 8 ? DefaultBins::kFirstLevels == 26 && DefaultBins::kBinCount == 416
                            : DefaultBins::kFirstLevels == 25 && DefaultBins::kBinCount == 400);

// A 64 KiB heap: 8 bins per power of two, exact below 16 granules.
using SmallBins = BinsFor<kSmallHeapBlock>;
static_assert(SmallBins::kSecondLevels == 8 &&
              SmallBins::kMaxGranules == kSmallHeapBlock / kGranule);
static_assert(std::is_same_v<BinsFor<kSmallHeapBlock + kGranule - 1>, SmallBins>);
static_assert(SmallBins::bin_of(15) == 15 && SmallBins::bin_of(16) == 16 &&
              SmallBins::bin_of(17) == 16 && SmallBins::bin_of(18) == 17 &&
              SmallBins::bin_of(32) == 24);
static_assert(SmallBins::bin_floor(SmallBins::kBinCount - 1) == SmallBins::kMaxGranules);
// 8-byte granules: 8192 granules, 12 rows, 89 bins; 16-byte granules: 4096, 11 rows, 81 bins.
static_assert(kGranule == 8
                  ? SmallBins::kFirstLevels == 12 && SmallBins::kBinCount == 89 &&
                        SmallBins::bin_of(8191) == 87 && SmallBins::search_size(7680) == 8191 &&
                        SmallBins::search_size(7682) == 8192 && SmallBins::search_size(8192) == 8192
                  : SmallBins::kFirstLevels == 11 && SmallBins::kBinCount == 81 &&
                        SmallBins::bin_of(4095) == 79 && SmallBins::search_size(3840) == 4095 &&
                        SmallBins::search_size(3842) == 4096 &&
                        SmallBins::search_size(4096) == 4096);

}  // namespace keel::detail
