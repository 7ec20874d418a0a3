// The size-to-bin mapping (docs/design.md sections 3 and 13), checked exhaustively where cheap,
// for the default layout and for the layouts that HeapOptions::largest_block picks.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "keel/detail/bins.hpp"

namespace {

using keel::detail::Word;

/// The mapping as docs/design.md writes it, with b second-level bits: exact below 2^(b+1),
/// then first level floor(log2 g) - b + 1 and second level (g >> (log2 g - b)) - 2^b.
unsigned spec_bin(Word granules, unsigned bits) {
  const Word rows = Word{1} << bits;
  if (granules < 2 * rows) {
    return granules;
  }
  unsigned log = 0;
  while ((granules >> (log + 1)) != 0) {
    ++log;
  }
  const unsigned first = log - bits + 1;
  const unsigned second = (granules >> (log - bits)) - rows;
  return first * rows + second;
}

template <typename B>
class BinLayout : public ::testing::Test {};

using Layouts = ::testing::Types<keel::detail::DefaultBins, keel::detail::SmallBins,
                                 keel::detail::BinsFor<64 * 1024 - keel::detail::kGranule>,
                                 keel::detail::BinsFor<1024 * 1024>,
                                 keel::detail::BinsFor<16 * keel::detail::kGranule>>;
struct LayoutNames {
  template <typename B>
  static std::string GetName(int) {
    return "bits" + std::to_string(B::kSecondLevelBits) + "_max" + std::to_string(B::kMaxGranules);
  }
};
TYPED_TEST_SUITE(BinLayout, Layouts, LayoutNames);

/// Every size to check: all of them up to 2^20 granules, then a sweep to the largest.
template <typename B, typename F>
void for_sizes(F&& check) {
  const Word all = B::kMaxGranules < (Word{1} << 20) ? B::kMaxGranules : (Word{1} << 20);
  for (Word granules = 1; granules <= all; ++granules) {
    check(granules);
  }
  for (Word granules = all + 1; granules <= B::kMaxGranules && granules > all;
       granules += 1 + granules / 512) {
    check(granules);
  }
  check(B::kMaxGranules);
}

TYPED_TEST(BinLayout, SmallSizesHaveExactBins) {
  using B = TypeParam;
  for (Word granules = 1; granules < 2 * B::kSecondLevels; ++granules) {
    EXPECT_EQ(B::bin_of(granules), granules);
    EXPECT_EQ(B::bin_floor(granules), granules);
    EXPECT_EQ(B::search_size(granules), granules);
  }
}

TYPED_TEST(BinLayout, MatchesTheDocumentedFormula) {
  using B = TypeParam;
  for_sizes<B>([](Word granules) {
    ASSERT_EQ(B::bin_of(granules), spec_bin(granules, B::kSecondLevelBits)) << granules;
  });
}

TYPED_TEST(BinLayout, EveryBinHoldsItsFloorAndIsMonotonic) {
  using B = TypeParam;
  unsigned previous = 0;
  Word last = 0;
  for_sizes<B>([&](Word granules) {
    const unsigned bin = B::bin_of(granules);
    ASSERT_LT(bin, B::kBinCount) << granules;
    ASSERT_GE(bin, previous) << granules;
    if (granules == last + 1) {
      ASSERT_LE(bin, previous + 1) << granules;  // no bin is skipped
    }
    ASSERT_LE(B::bin_floor(bin), granules);
    ASSERT_GT(B::bin_floor(bin + 1), granules);
    previous = bin;
    last = granules;
  });
}

TYPED_TEST(BinLayout, EveryBinRoundTripsAndIsNarrowEnough) {
  using B = TypeParam;
  for (unsigned bin = 1; bin < B::kBinCount; ++bin) {
    const Word floor = B::bin_floor(bin);
    ASSERT_LE(floor, B::kMaxGranules) << bin;
    ASSERT_EQ(B::bin_of(floor), bin) << bin;
    // A bin is at most 1/S of its floor wide: good fit rounds a block up by less than that.
    const Word width = B::bin_floor(bin + 1) - floor;
    ASSERT_TRUE(width == 1 || width * B::kSecondLevels <= floor) << bin;
  }
}

TYPED_TEST(BinLayout, SearchSizeStartsAtABinWhoseBlocksAllFit) {
  using B = TypeParam;
  for_sizes<B>([](Word granules) {
    if (granules < 2) {
      return;
    }
    const Word start = B::search_size(granules);
    if (start > B::kMaxGranules) {
      // Then no bin holds only blocks this long: good fit may find nothing.
      ASSERT_LT(B::bin_floor(B::kBinCount - 1), granules) << granules;
      return;
    }
    // Every block in bin_of(start) and above is at least `granules` long.
    ASSERT_GE(B::bin_floor(B::bin_of(start)), granules) << granules;
    // And the search does not skip a bin whose floor already fits.
    ASSERT_LT(B::bin_floor(B::bin_of(start) - 1), granules) << granules;
  });
}

TYPED_TEST(BinLayout, LargestSizeMapsToTheLastBinOfTheLastRow) {
  using B = TypeParam;
  EXPECT_EQ(B::bin_of(B::kMaxGranules), B::kBinCount - 1);
  EXPECT_EQ((B::kBinCount - 1) / B::kSecondLevels, B::kFirstLevels - 1);
  EXPECT_LE(B::kFirstLevels, 32U);
  EXPECT_EQ(B::kRowMask >> (B::kSecondLevels - 1), 1U);
  EXPECT_GE(sizeof(typename B::Row) * 8, B::kSecondLevels);
}

TEST(Bins, LayoutFollowsTheLargestBlock) {
  using keel::detail::BinsFor;
  using keel::detail::kGranule;
  constexpr bool k8 = kGranule == 8;  // 16-byte granules halve every size in granules
  // The default: 16 bins per first level, 26 first levels and 416 bins (2^29 - 1 granules of
  // 8 bytes), or 25 and 400 (4 GiB in 16-byte granules).
  EXPECT_EQ(keel::detail::DefaultBins::kBinCount, k8 ? 416U : 400U);
  EXPECT_EQ(keel::detail::DefaultBins::kFirstLevels, k8 ? 26U : 25U);
  // Up to 64 KiB: 8 bins per first level; above, 16, with the rows the largest block needs.
  EXPECT_EQ(BinsFor<64 * 1024>::kSecondLevels, 8U);
  EXPECT_EQ(BinsFor<64 * 1024>::kBinCount, k8 ? 89U : 81U);
  EXPECT_EQ(BinsFor<64 * 1024 - kGranule>::kBinCount, k8 ? 88U : 80U);
  EXPECT_EQ(BinsFor<16 * 1024>::kBinCount, k8 ? 73U : 65U);
  EXPECT_EQ((BinsFor<64 * 1024 + kGranule - 1>::kSecondLevels), 8U);  // rounded down to 64 KiB
  EXPECT_EQ(BinsFor<64 * 1024 + kGranule>::kSecondLevels, 16U);
  EXPECT_EQ(BinsFor<1024 * 1024>::kBinCount, k8 ? 225U : 209U);
  // Values past the 29-bit size clamp to it.
  EXPECT_EQ(BinsFor<0xFFFF'FFFFU>::kMaxGranules,
            k8 ? keel::detail::kMaxBlockGranules : 0xFFFF'FFFFU / kGranule);
}

}  // namespace
