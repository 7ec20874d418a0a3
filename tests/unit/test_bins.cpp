// The size-to-bin mapping (docs/design.md section 3), checked exhaustively where cheap.
#include <gtest/gtest.h>

#include "keel/detail/bins.hpp"

namespace {

using keel::detail::bin_floor;
using keel::detail::bin_of;
using keel::detail::kBinCount;
using keel::detail::kMaxBlockGranules;
using keel::detail::search_size;
using keel::detail::Word;

TEST(Bins, SmallSizesHaveExactBins) {
  for (Word granules = 1; granules < 16; ++granules) {
    EXPECT_EQ(bin_of(granules), granules);
    EXPECT_EQ(bin_floor(granules), granules);
    EXPECT_EQ(search_size(granules), granules);
  }
}

TEST(Bins, EveryBinHoldsItsFloorAndIsMonotonic) {
  unsigned previous = 0;
  for (Word granules = 1; granules < (Word{1} << 20); ++granules) {
    const unsigned bin = bin_of(granules);
    ASSERT_LT(bin, kBinCount);
    ASSERT_GE(bin, previous) << granules;
    ASSERT_LE(bin, previous + 1) << granules;
    ASSERT_LE(bin_floor(bin), granules);
    ASSERT_GT(bin_floor(bin + 1), granules);
    previous = bin;
  }
}

TEST(Bins, SearchSizeStartsAtABinWhoseBlocksAllFit) {
  for (Word granules = 2; granules < (Word{1} << 20); granules += 1 + granules / 64) {
    const Word start = search_size(granules);
    // Every block in bin_of(start) and above is at least `granules` long.
    EXPECT_GE(bin_floor(bin_of(start)), granules) << granules;
    // And the search does not skip a bin whose floor already fits.
    EXPECT_LT(bin_floor(bin_of(start) - 1), granules) << granules;
  }
}

TEST(Bins, LargestSizeMapsToTheLastRow) {
  EXPECT_EQ(bin_of(kMaxBlockGranules), kBinCount - 1);
  EXPECT_GT(search_size(kMaxBlockGranules), kMaxBlockGranules);
}

}  // namespace
