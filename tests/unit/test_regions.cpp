// Regions: claim, extend, truncate, reserved, and their refusals.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "keel/heap.hpp"

namespace {

using keel::Heap;
using keel::RegionError;
using keel::Span;
using keel::detail::kGranule;

std::uintptr_t address(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

struct Buffer {
  explicit Buffer(std::size_t bytes) : memory(std::make_unique<std::byte[]>(bytes)), size(bytes) {
    std::memset(memory.get(), 0xC3, bytes);
  }
  Span span(std::size_t offset, std::size_t bytes) const {
    return Span{memory.get() + offset, bytes};
  }
  /// The offset of the first granule boundary in the buffer.
  std::size_t aligned() const { return (kGranule - address(memory.get()) % kGranule) % kGranule; }
  std::unique_ptr<std::byte[]> memory;
  std::size_t size;
};

TEST(Claim, RefusesNullWrappingAndTinySpans) {
  Heap<> heap;
  EXPECT_EQ(heap.claim(Span{static_cast<std::byte*>(nullptr), 4096}).error(),
            RegionError::null_span);
  Buffer buffer(4096);
  auto* top = reinterpret_cast<std::byte*>(~std::uintptr_t{0} - 100);
  EXPECT_EQ(heap.claim(Span{top, 4096}).error(), RegionError::null_span);
  EXPECT_EQ(heap.claim(buffer.span(0, 0)).error(), RegionError::too_small);
  EXPECT_EQ(heap.claim(buffer.span(0, Heap<>::min_region - 1)).error(), RegionError::too_small);
  EXPECT_EQ(heap.statistics().region_count, 0U);
  EXPECT_EQ(heap.allocate(1), nullptr);
}

TEST(Claim, TrimsAMisalignedSpanInward) {
  Buffer buffer(4096);
  for (std::size_t offset = 0; offset < 2 * kGranule; ++offset) {
    Heap<> heap;
    const Span wanted = buffer.span(offset, 1000 - offset);
    const auto result = heap.claim(wanted);
    ASSERT_TRUE(result) << offset;
    const Span extent = result.extent();
    EXPECT_GE(address(extent.data), address(wanted.data));
    EXPECT_LE(address(extent.data) + extent.size, address(wanted.data) + wanted.size);
    // Less than a granule at either end: the record and the sentinel sit 4 below a boundary.
    EXPECT_GE(extent.size, wanted.size - 2 * (kGranule - 1));
    void* block = heap.allocate(100);
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(address(block) % 16, 0U);
    EXPECT_TRUE(heap.validate());
  }
}

TEST(Claim, SmallestRegionHoldsOneMinimumBlock) {
  Buffer buffer(256);
  Heap<> heap;
  // A granule-aligned start: the first block sits 4 below the next boundary (+4 with 8-byte
  // granules, +12 with 16-byte ones), so the least span is min_region + that offset.
  const std::size_t offset = kGranule - 4;
  const auto result = heap.claim(buffer.span(buffer.aligned(), Heap<>::min_region + offset));
  ASSERT_TRUE(result);
  EXPECT_EQ(result.extent().size, Heap<>::min_region);
  EXPECT_EQ(
      heap.claim(buffer.span(buffer.aligned() + 128, Heap<>::min_region + offset - 1)).error(),
      RegionError::too_small);
  void* block = heap.allocate(12, 8);
  EXPECT_NE(block, nullptr);
  EXPECT_EQ(heap.allocate(1, 8), nullptr);
  heap.free(block);
}

TEST(Claim, RefusesOverlapsAndServesManyRegions) {
  Buffer buffer(64 * 1024);
  Heap<> heap;
  ASSERT_TRUE(heap.claim(buffer.span(0, 8192)));
  EXPECT_EQ(heap.claim(buffer.span(4096, 8192)).error(), RegionError::overlaps);
  EXPECT_EQ(heap.claim(buffer.span(0, 100)).error(), RegionError::overlaps);
  ASSERT_TRUE(heap.claim(buffer.span(8192, 8192)));  // adjacent: fine, stays separate
  ASSERT_TRUE(heap.claim(buffer.span(40000, 8192)));
  ASSERT_TRUE(heap.claim(buffer.span(20000, 8192)));
  EXPECT_EQ(heap.statistics().region_count, 4U);
  std::vector<void*> blocks;
  while (void* block = heap.allocate(1000)) {
    blocks.push_back(block);
  }
  EXPECT_GE(blocks.size(), 4U * 7U);  // every region served requests
  EXPECT_TRUE(heap.validate());
  std::size_t regions = 0;
  heap.for_each_region([&](Span) { ++regions; });
  EXPECT_EQ(regions, 4U);
  for (void* block : blocks) {
    heap.free(block);
  }
  EXPECT_EQ(heap.statistics().free_blocks, 4U);  // regions never merge
}

TEST(Extend, GrowsBothEndsAndMergesWithFreeNeighbours) {
  Buffer buffer(16384);
  Heap<> heap;
  Span region = heap.claim(buffer.span(4096, 4096)).extent();
  const auto before = heap.statistics();
  const auto grown = heap.extend(region, buffer.span(4096, 8192));
  ASSERT_TRUE(grown);
  EXPECT_EQ(grown.extent().data, region.data);
  EXPECT_EQ(heap.statistics().free_blocks, 1U);  // the new memory merged
  EXPECT_EQ(heap.statistics().bytes_claimed,
            before.bytes_claimed + (grown.extent().size - region.size));
  region = grown.extent();
  const auto lower = heap.extend(region, buffer.span(0, 12288));
  ASSERT_TRUE(lower);
  EXPECT_LT(address(lower.extent().data), address(region.data));
  EXPECT_EQ(heap.statistics().free_blocks, 1U);
  EXPECT_TRUE(heap.validate());
  void* big = heap.allocate(11000);
  EXPECT_NE(big, nullptr);
  heap.free(big);
}

TEST(Extend, NextToLiveBlocksAndRefusals) {
  Buffer buffer(16384);
  Heap<> heap;
  const Span region = heap.claim(buffer.span(4096, 4096)).extent();
  std::vector<void*> blocks;
  while (void* block = heap.allocate(100, 8)) {
    blocks.push_back(block);
  }
  EXPECT_EQ(heap.extend(Span{region.data, region.size - 8}, buffer.span(0, 16384)).error(),
            RegionError::not_a_region);
  EXPECT_EQ(heap.extend(region, buffer.span(6000, 8000)).error(), RegionError::not_contained);
  EXPECT_EQ(heap.extend(region, Span{region.data, region.size + 4}).error(),
            RegionError::too_small);
  ASSERT_TRUE(heap.claim(buffer.span(12288, 4096)));
  EXPECT_EQ(heap.extend(region, buffer.span(4096, 10000)).error(), RegionError::overlaps);
  const auto grown = heap.extend(region, buffer.span(0, 8192 + 4096));  // both ends, full region
  ASSERT_TRUE(grown);
  EXPECT_TRUE(heap.validate());
  EXPECT_NE(heap.allocate(3000), nullptr);  // the new front
  EXPECT_NE(heap.allocate(3000), nullptr);  // the new front or back
  EXPECT_TRUE(heap.validate());
}

TEST(Truncate, GivesBackFreeEndsAndNeverCutsALiveBlock) {
  Buffer buffer(16384);
  Heap<> heap;
  const Span region = heap.claim(buffer.span(0, 16384)).extent();
  std::byte* const middle_start = region.data + 6000;
  // Put one live block in the middle: allocate up to there, then free the front.
  void* front = heap.allocate(5900, 8);
  void* live = heap.allocate(1000, 8);
  heap.free(front);
  ASSERT_TRUE(heap.validate());
  ASSERT_LT(address(live), address(middle_start));

  const auto least = heap.reserved(region);
  ASSERT_TRUE(least);
  EXPECT_LE(address(least.extent().data), address(live) - 4 - 16);
  EXPECT_GE(address(least.extent().data) + least.extent().size, address(live) + 1000);

  // Cutting into the live block is refused, and changes nothing.
  const auto before = heap.statistics();
  EXPECT_EQ(heap.truncate(region, Span{static_cast<std::byte*>(live) + 8, 100}).error(),
            RegionError::cuts_live_block);
  EXPECT_EQ(heap.truncate(region, Span{region.data, 100}).error(), RegionError::cuts_live_block);
  EXPECT_EQ(heap.truncate(region, Span{}).error(), RegionError::cuts_live_block);
  EXPECT_EQ(heap.statistics().bytes_claimed, before.bytes_claimed);
  EXPECT_TRUE(heap.validate());

  // Truncating to reserved() succeeds and keeps the live block.
  const auto cut = heap.truncate(region, least.extent());
  ASSERT_TRUE(cut) << keel::to_string(cut.error());
  EXPECT_EQ(cut.extent(), least.extent());
  EXPECT_TRUE(heap.validate());
  EXPECT_EQ(heap.statistics().bytes_claimed, cut.extent().size);
  std::memset(live, 1, 1000);
  // The released memory is the caller's again, and may be claimed anew.
  EXPECT_TRUE(
      heap.claim(buffer.span(0, address(cut.extent().data) - address(buffer.memory.get()))));
  heap.free(live);
  EXPECT_TRUE(heap.validate());
}

TEST(Truncate, RefusalsAndWholeRegionRelease) {
  Buffer buffer(8192);
  Heap<> heap;
  const Span region = heap.claim(buffer.span(0, 8192)).extent();
  EXPECT_EQ(heap.truncate(Span{region.data + 8, 100}, Span{}).error(), RegionError::not_a_region);
  EXPECT_EQ(heap.truncate(region, buffer.span(0, 9000)).error(), RegionError::not_contained);
  // A region with no live block can be given back entirely.
  const auto released = heap.truncate(region, Span{});
  ASSERT_TRUE(released);
  EXPECT_TRUE(released.extent().empty());
  EXPECT_EQ(heap.statistics().region_count, 0U);
  EXPECT_EQ(heap.statistics().bytes_claimed, 0U);
  EXPECT_EQ(heap.allocate(10), nullptr);
  EXPECT_TRUE(heap.validate());
  // And claimed again.
  ASSERT_TRUE(heap.claim(buffer.span(0, 8192)));
  EXPECT_NE(heap.allocate(10), nullptr);
}

TEST(Truncate, EveryOffsetInsideOneFreeBlock) {
  // Exhaustive over small keep spans of a free region: the result always contains keep and the
  // heap stays valid (this covers the one-granule-remainder roundings at both ends).
  Buffer buffer(1024);
  for (std::size_t start = 0; start < 200; start += 1) {
    for (std::size_t length : {1U, 7U, 8U, 9U, 16U, 24U, 100U}) {
      Heap<> heap;
      const Span region = heap.claim(buffer.span(0, 1024)).extent();
      const Span keep{region.data + start, length};
      const auto cut = heap.truncate(region, keep);
      ASSERT_TRUE(cut) << start << " " << length << " " << keel::to_string(cut.error());
      EXPECT_LE(address(cut.extent().data), address(keep.data));
      EXPECT_GE(address(cut.extent().data) + cut.extent().size, address(keep.data) + length);
      ASSERT_TRUE(heap.validate())
          << start << " " << length << " " << keel::to_string(heap.validate().kind);
    }
  }
}

TEST(Regions, GigabyteArena) {
  constexpr std::size_t kBytes = std::size_t{1} << 30;
  void* memory = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    GTEST_SKIP() << "no 1 GiB of address space";
  }
  {
    Heap<> heap;
    ASSERT_TRUE(heap.claim(Span{memory, kBytes}));
    void* huge = heap.allocate(kBytes - 4096);
    ASSERT_NE(huge, nullptr);
    void* small = heap.allocate(100);
    ASSERT_NE(small, nullptr);
    heap.free(huge);
    void* halves[2] = {heap.allocate(kBytes / 2 - 4096), heap.allocate(kBytes / 2 - 4096)};
    EXPECT_NE(halves[0], nullptr);
    EXPECT_NE(halves[1], nullptr);
    heap.free(halves[0]);
    heap.free(halves[1]);
    heap.free(small);
    EXPECT_TRUE(heap.validate());
    EXPECT_EQ(heap.statistics().free_blocks, 1U);
  }
  munmap(memory, kBytes);
}

TEST(Regions, OutOfTheLinkWindowOn64Bit) {
  if (sizeof(void*) < 8) {
    GTEST_SKIP() << "32-bit targets reach the whole address space";
  }
  constexpr std::size_t kBytes = 1 << 16;
  void* near = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(near, MAP_FAILED);
  // A second mapping 40 GiB away: beyond the 16 GiB window centred on the first region.
  const std::uintptr_t far_address = address(near) + (std::uintptr_t{40} << 30);
  void* far = mmap(reinterpret_cast<void*>(far_address), kBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (far == MAP_FAILED) {
    munmap(near, kBytes);
    GTEST_SKIP() << "cannot map 40 GiB away";
  }
  {
    Heap<> heap;
    ASSERT_TRUE(heap.claim(Span{near, kBytes}));
    EXPECT_EQ(heap.claim(Span{far, kBytes}).error(), RegionError::out_of_reach);
    // With the window placed explicitly, the far region is reachable instead.
    Heap<> placed{keel::WindowBase{far_address - (std::uintptr_t{8} << 30)}};
    EXPECT_TRUE(placed.claim(Span{far, kBytes}));
    EXPECT_EQ(placed.claim(Span{near, kBytes}).error(), RegionError::out_of_reach);
    EXPECT_NE(placed.allocate(1000), nullptr);
    EXPECT_TRUE(placed.validate());
  }
  munmap(far, kBytes);
  munmap(near, kBytes);
}

// Issue 11, finding 4: keeping all but the region's own record is not a cut into the live first
// block. The record cannot move into a used block, so it stays: the extent returned contains keep.
TEST(Truncate, KeepingAllButTheRecordNextToALiveFirstBlock) {
  Buffer buffer(8192);
  Heap<> heap;
  const Span region = heap.claim(buffer.span(0, 8192)).extent();
  constexpr std::size_t kPayload = keel::detail::kRecordBytes + 4;  // of the first block
  void* first = heap.allocate(100, 8);
  ASSERT_EQ(static_cast<std::byte*>(first), region.data + kPayload);
  // Cuts that leave out no more than the record and the first block's header.
  for (std::size_t cut : {std::size_t{1}, kGranule, keel::detail::kRecordBytes, kPayload}) {
    const Span keep{region.data + cut, region.size - cut};
    const auto result = heap.truncate(region, keep);
    ASSERT_TRUE(result) << cut << " " << keel::to_string(result.error());
    EXPECT_EQ(result.extent(), region) << "nothing can be released: the record stays";
  }
  // A granule past the first block's header, keep would leave out part of the live block.
  constexpr std::size_t kInside = kPayload + kGranule;
  EXPECT_EQ(heap.truncate(region, Span{region.data + kInside, region.size - kInside}).error(),
            RegionError::cuts_live_block);
  heap.free(first);
  EXPECT_TRUE(heap.validate());
}

// Issue 11, finding 4: min_bytes_free is the lowest so far, also across releasing the last region
// (which leaves 0 bytes free) and claiming a new one.
TEST(Statistics, MinimumFreeStaysTheLowestAcrossARelease) {
  Buffer buffer(16384);
  Heap<> heap;
  const Span region = heap.claim(buffer.span(0, 8192)).extent();
  const std::size_t first_free = heap.statistics().bytes_free;
  EXPECT_EQ(heap.statistics().min_bytes_free, first_free) << "set by the first claim";
  void* block = heap.allocate(4000);
  heap.free(block);
  const std::size_t lowest = heap.statistics().min_bytes_free;
  EXPECT_LT(lowest, first_free);
  ASSERT_TRUE(heap.truncate(region, Span{}));
  EXPECT_EQ(heap.statistics().min_bytes_free, 0U) << "no memory at all is the lowest";
  ASSERT_TRUE(heap.claim(buffer.span(0, 16384)));
  EXPECT_EQ(heap.statistics().min_bytes_free, 0U) << "a new claim does not raise the minimum";
}

// The peak in use and the lowest free are derived per epoch of the regions (detail/counters.hpp),
// not counted per call: they must still equal the extremes of bytes_in_use and bytes_free seen
// after every call, across claims, extensions and truncations that move the capacity both ways.
TEST(Statistics, PeakAndMinimumFollowEveryCallAcrossRegionChanges) {
  Buffer buffer(1 << 16);
  const std::size_t base = buffer.aligned();
  Heap<> heap;
  Span low = heap.claim(buffer.span(base, 8192)).extent();
  std::size_t lowest = heap.statistics().bytes_free;  // a later claim cannot raise it
  Span high = heap.claim(buffer.span(base + 32768, 4096)).extent();
  ASSERT_TRUE(low.size != 0 && high.size != 0);
  std::size_t peak = 0;
  std::vector<void*> live;
  std::uint32_t random = 12345;
  const auto next = [&random] { return random = random * 1103515245U + 12345U, random >> 8; };
  for (int step = 0; step < 4000; ++step) {
    const std::uint32_t choice = next() % 16;
    if (choice < 7) {
      if (void* block = heap.allocate(16 + next() % 700)) {
        live.push_back(block);
      }
    } else if (choice < 13 && !live.empty()) {
      const std::size_t at = next() % live.size();
      heap.free(live[at]);
      live[at] = live.back();
      live.pop_back();
    } else if (choice == 13) {  // grow the upper region at its end, up to 24 KiB
      const std::size_t grown = high.size + 1024 + next() % 2048;
      if (address(high.data) + grown <= address(buffer.memory.get()) + base + 32768 + 24576) {
        if (const auto result = heap.extend(high, Span{high.data, grown})) {
          high = result.extent();
        }
      }
    } else if (choice == 14) {  // give back what the upper region's end holds free
      if (const auto kept = heap.reserved(high)) {
        if (const auto result = heap.truncate(high, kept.extent())) {
          high = result.extent();
        }
      }
    } else if (!live.empty()) {  // resize in place (a move would peak inside the call)
      (void)heap.try_resize_in_place(live[next() % live.size()], 16 + next() % 1400);
    }
    const keel::Statistics now = heap.statistics();
    peak = std::max(peak, now.bytes_in_use);
    lowest = std::min(lowest, now.bytes_free);
    ASSERT_EQ(now.peak_bytes_in_use, peak) << "step " << step;
    ASSERT_EQ(now.min_bytes_free, lowest) << "step " << step;
  }
  EXPECT_TRUE(heap.validate());
  for (void* block : live) {
    heap.free(block);
  }
  ASSERT_TRUE(heap.truncate(low, Span{}));
  ASSERT_TRUE(heap.truncate(high, Span{}));
  EXPECT_EQ(heap.statistics().min_bytes_free, 0U);
  EXPECT_EQ(heap.statistics().peak_bytes_in_use, peak);
}

// Issue 11, finding 4: the largest region and block, as docs/design.md section 4 states them. A
// span over the largest region is claimed as exactly Heap::max_region bytes (a record, one block
// of 4 GiB less one granule, a sentinel), the largest block serves max_request, and a region at
// the largest size cannot be extended (too_large, not too_small).
TEST(Regions, LargestRegionAndBlockOn64Bit) {
  if (sizeof(void*) < 8 || keel::detail::tools::kAsan) {
    GTEST_SKIP() << "needs a 64-bit address space (and no ASan shadow of 4 GiB)";
  }
  constexpr std::size_t kSpan = (std::size_t{5} << 30);
  void* memory = mmap(nullptr, kSpan, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    GTEST_SKIP() << "no 5 GiB of address space";
  }
  auto* base = static_cast<std::byte*>(memory);
  {
    Heap<> heap;
    const auto claimed = heap.claim(Span{base + 4096, kSpan - 8192});
    ASSERT_TRUE(claimed);
    EXPECT_EQ(claimed.extent().size, Heap<>::max_region);
    EXPECT_EQ(Heap<>::max_region, keel::detail::kRecordBytes + ((std::size_t{4} << 30) - kGranule) +
                                      keel::detail::kSentinelBytes);  // 4 GiB + 12 or + 4
    EXPECT_EQ(heap.statistics().largest_free_block, Heap<>::max_request);
    EXPECT_EQ(heap.extend(claimed.extent(), Span{base, kSpan}).error(), RegionError::too_large);
    // Align 8: with 8-byte granules, 16 could need a granule more.
    void* huge = heap.allocate(Heap<>::max_request, 8);
    ASSERT_NE(huge, nullptr);
    EXPECT_EQ(heap.allocate(8), nullptr);
    heap.free(huge);
    EXPECT_TRUE(heap.validate());
  }
  {
    // A region 64 KiB short of the largest: growing it past the largest (by one granule) is
    // refused as too_large, growing it to exactly the largest works.
    Heap<> heap;
    const Span region = heap.claim(Span{base + 4096, Heap<>::max_region - 65536}).extent();
    EXPECT_EQ(heap.extend(region, Span{region.data, Heap<>::max_region + kGranule}).error(),
              RegionError::too_large);
    const auto grown = heap.extend(region, Span{region.data, Heap<>::max_region});
    ASSERT_TRUE(grown) << keel::to_string(grown.error());
    EXPECT_EQ(grown.extent().size, Heap<>::max_region);
    EXPECT_TRUE(heap.validate());
  }
  munmap(memory, kSpan);
}

// Issue 11, finding 4: the exact link window of docs/design.md section 4. With WindowBase{w}
// (w a multiple of the granule g), a region's extent may use [w + g - 4, w + 2^31·g - g): every
// block header in it then has a granule link in [1, 2^31 - 1]. The window is 16 GiB with 8-byte
// granules, 32 GiB with 16-byte ones.
TEST(Regions, ExactLinkWindowOn64Bit) {
  if (sizeof(void*) < 8) {
    GTEST_SKIP() << "32-bit targets reach the whole address space";
  }
  constexpr std::size_t kWindow = (std::size_t{keel::detail::kMaxLink} + 1) * kGranule;
  constexpr std::size_t kSpan = kWindow + 65536;
  void* memory = mmap(nullptr, kSpan, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    GTEST_SKIP() << "no " << (kWindow >> 30) << " GiB of address space";
  }
  auto* w = static_cast<std::byte*>(memory);
  {
    Heap<> heap{keel::WindowBase{address(w)}};
    const auto low = heap.claim(Span{w, 4096});
    ASSERT_TRUE(low) << keel::to_string(low.error());
    EXPECT_EQ(low.extent().data, w + kGranule - 4) << "the lowest block address has link 1";
    const auto high = heap.claim(Span{w + kWindow - kGranule - 4096, 4096});
    ASSERT_TRUE(high) << keel::to_string(high.error());
    EXPECT_EQ(high.extent().end(), w + kWindow - kGranule)
        << "the sentinel at the top has link 2^31 - 1";
    void* a = heap.allocate(1000);
    void* b = heap.allocate(2000);
    EXPECT_NE(a, nullptr);
    EXPECT_NE(b, nullptr);
    heap.free(a);
    heap.free(b);
    EXPECT_TRUE(heap.validate());
    // One granule higher is out of reach.
    Heap<> other{keel::WindowBase{address(w)}};
    EXPECT_EQ(other.claim(Span{w + kWindow - 4096, 4096}).error(), RegionError::out_of_reach);
  }
  munmap(memory, kSpan);
}

// Issue 10: claiming a span beside all regions (below or above them) is O(1), as ClaimOnOom's
// claim inside allocate must be; a span between regions still gets the full overlap check.
TEST(Claim, ManyRegionsBesideEachOtherAndOneBetween) {
  constexpr std::size_t kRegions = 1000;
  constexpr std::size_t kChunk = 64;
  auto memory = std::make_unique<std::byte[]>((kRegions + 2) * kChunk);
  Heap<keel::ClaimOnOom> heap{keel::ClaimOnOom{Span{memory.get(), kChunk}}};
  // Upward from the second chunk, leaving the first for the OOM policy below all of them.
  for (std::size_t i = 1; i <= kRegions; ++i) {
    if (i == 500) {
      continue;  // a hole, claimed at the end
    }
    ASSERT_TRUE(heap.claim(Span{memory.get() + i * kChunk, kChunk})) << i;
  }
  EXPECT_EQ(heap.claim(Span{memory.get() + 499 * kChunk + 8, kChunk}).error(),
            RegionError::overlaps);
  ASSERT_TRUE(heap.claim(Span{memory.get() + 500 * kChunk, kChunk}));
  std::vector<void*> blocks;
  while (void* block = heap.try_allocate(24)) {
    blocks.push_back(block);
  }
  EXPECT_FALSE(heap.oom_policy().claimed());
  void* extra = heap.allocate(24);  // the policy claims the first chunk, below all regions
  EXPECT_NE(extra, nullptr);
  EXPECT_TRUE(heap.oom_policy().claimed());
  EXPECT_EQ(heap.statistics().region_count, kRegions + 1);
  for (void* block : blocks) {
    heap.free(block);
  }
  heap.free(extra);
  EXPECT_TRUE(heap.validate());
  EXPECT_EQ(heap.statistics().live_allocations, 0U);
}

}  // namespace
