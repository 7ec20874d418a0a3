// Deferred frees of small blocks (HeapOptions::quick_lists, docs/design.md section 15): a freed
// small block waits on the list of its size, an allocate of that size takes it back, and the
// lists are flushed when a search fails and before region calls. Misuse of a cached block is
// reported as for any freed block.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "keel/heap.hpp"
#include "support/fault_log.hpp"
#include "support/host_tools.hpp"

namespace {

using keel_test::g_faults;
using keel_test::opaque;
using keel_test::record_fault;

using keel::FailOnOom;
using keel::Fault;
using keel::Heap;
using keel::HeapOptions;
using keel::Span;
using keel::detail::kGranule;

constexpr unsigned kDepth = 4;
using Quick = Heap<FailOnOom, HeapOptions{.quick_lists = kDepth}>;

class QuickLists : public ::testing::Test {
 protected:
  static constexpr std::size_t kBytes = 64 * 1024;
  void SetUp() override {
    g_faults.clear();
    previous_ = keel::set_fault_handler(&record_fault);
    arena_ = std::make_unique<std::byte[]>(kBytes);
    const auto region = heap_.claim(Span{arena_.get(), kBytes});
    ASSERT_TRUE(region);
    extent_ = region.extent();
  }
  void TearDown() override {
    if (expect_valid_) {
      EXPECT_TRUE(heap_.validate()) << keel::to_string(heap_.validate().kind);
    }
    keel::set_fault_handler(previous_);
  }

  /// An allocate at the granule's alignment: keel's default alignment everywhere but in the
  /// host-m32 build, whose 8-byte granules are Cortex-M's under i386's 16-byte max_align_t (an
  /// aligned request there, which the lists never serve).
  void* take(std::size_t size) { return heap_.allocate(size, kGranule); }
  void* try_take(std::size_t size) { return heap_.try_allocate(size, kGranule); }

  std::size_t used_blocks_walked() const {
    std::size_t used = 0;
    heap_.walk([&used](const keel::BlockInfo& info) { used += info.used ? 1 : 0; });
    return used;
  }

  std::unique_ptr<std::byte[]> arena_;
  Span extent_{};
  Quick heap_;
  keel::FaultHandler previous_ = nullptr;
  bool expect_valid_ = true;
};

TEST_F(QuickLists, AFreedBlockServesTheNextRequestOfItsSize) {
  void* a = take(40);
  void* guard = take(40);  // a used neighbour on each side, so that a merge would show
  ASSERT_NE(a, nullptr);
  heap_.free(a);
  // Held back: still one block of its own, counted free, not merged with the top.
  const keel::Statistics held = heap_.statistics();
  EXPECT_EQ(held.live_allocations, 1U);
  EXPECT_EQ(held.free_blocks, 2U);  // the cached block and the top
  EXPECT_EQ(used_blocks_walked(), 1U);
  EXPECT_TRUE(heap_.validate());
  // Any request that rounds to the same block size takes it back; another size does not.
  void* other = take(40 + kGranule);
  EXPECT_NE(other, a);
  void* same = take(38);
  EXPECT_EQ(same, a);
  EXPECT_EQ(heap_.statistics().free_blocks, 1U);
  heap_.free(same);
  heap_.free(other);
  heap_.free(guard);
  EXPECT_EQ(heap_.statistics().bytes_in_use, 0U);
}

TEST_F(QuickLists, EachListHoldsAtMostItsDepthInLastInFirstOutOrder) {
  std::vector<void*> blocks;
  for (unsigned i = 0; i < kDepth + 2; ++i) {
    blocks.push_back(take(24));
    EXPECT_NE(take(200),
              nullptr);  // keeps the small blocks apart (no merge between them once binned)
  }
  for (void* block : blocks) {
    heap_.free(block);
  }
  // The first kDepth frees were held, the rest binned: the list gives them back newest first.
  for (unsigned i = kDepth; i-- > 0;) {
    EXPECT_EQ(take(24), blocks[i]) << i;
  }
  EXPECT_TRUE(heap_.validate());
}

TEST_F(QuickLists, ASecondFreeOfACachedBlockIsADoubleFree) {
  void* a = take(64);
  EXPECT_NE(take(64), nullptr);
  heap_.free(a);
  const keel::Statistics before = heap_.statistics();
  g_faults.clear();
  heap_.free(opaque(a));
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_EQ(g_faults[0].fault, Fault::double_free) << keel::to_string(g_faults[0].fault);
  EXPECT_EQ(g_faults[0].address, a);
  EXPECT_EQ(heap_.statistics().free_blocks, before.free_blocks);
  EXPECT_EQ(heap_.usable_size(a), 0U);  // refused the same way
  EXPECT_EQ(take(64), a);               // and still on its list, once
  EXPECT_NE(take(64), a);
}

TEST_F(QuickLists, AnOverwrittenCachedHeaderIsReportedWhenItsListIsUsed) {
  KEEL_SKIP_UNDER_HOST_TOOLS();
  auto* a = static_cast<std::byte*>(take(64));
  EXPECT_NE(take(64), nullptr);
  heap_.free(a);
  // A stray write over the header of the block on the list.
  std::uint32_t word = 0xFFFF'FFF0U;
  std::memcpy(opaque(a) - 4, &word, sizeof word);
  g_faults.clear();
  void* fresh = take(64);
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_EQ(g_faults[0].fault, Fault::corrupted_block);
  EXPECT_EQ(g_faults[0].address, a);
  EXPECT_NE(fresh, nullptr);  // served from the bins instead
  EXPECT_NE(fresh, a);
  // validate() names the damage: the walk stops at the header.
  EXPECT_FALSE(heap_.validate());
  expect_valid_ = false;
}

TEST_F(QuickLists, AFailedSearchFlushesTheListsAndRetries) {
  // Fill the region with small blocks, then free them all, first one in each quarter: those
  // four are held, and the rest merge into runs shorter than a quarter of the region, until a
  // flush makes the region one block again.
  std::vector<void*> blocks;
  while (void* block = try_take(40)) {
    blocks.push_back(block);
  }
  ASSERT_GT(blocks.size(), 100U);
  const std::size_t quarter = blocks.size() / 4;
  for (std::size_t i = 0; i < 4; ++i) {
    heap_.free(blocks[i * quarter + quarter / 2]);
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i % quarter != quarter / 2 || i / quarter >= 4) {
      heap_.free(blocks[i]);
    }
  }
  EXPECT_TRUE(heap_.validate());
  EXPECT_LT(heap_.statistics().largest_free_block, kBytes / 4 + 64);
  void* large = try_take(kBytes / 2);
  EXPECT_NE(large, nullptr);
  heap_.free(large);
  EXPECT_EQ(heap_.statistics().free_blocks, 1U);
}

TEST_F(QuickLists, FlushGivesEveryHeldBlockToTheBins) {
  EXPECT_FALSE(heap_.flush_quick_lists());
  void* a = take(100);
  void* b = take(20);
  heap_.free(a);
  heap_.free(b);
  EXPECT_EQ(heap_.statistics().free_blocks, 3U);
  EXPECT_TRUE(heap_.flush_quick_lists());
  EXPECT_EQ(heap_.statistics().free_blocks, 1U);  // all merged into the top
  EXPECT_FALSE(heap_.flush_quick_lists());
}

TEST_F(QuickLists, ARegionCallFlushesFirst) {
  void* a = take(48);
  heap_.free(a);
  // The cached block is the region's only block in use for its neighbours: releasing the region
  // works because truncate flushes it first.
  EXPECT_TRUE(heap_.truncate(extent_, Span{}));
  EXPECT_EQ(heap_.statistics().bytes_claimed, 0U);
  ASSERT_TRUE(heap_.claim(Span{arena_.get(), kBytes}));
}

TEST_F(QuickLists, LargerBlocksAndAlignedRequestsTakeTheBins) {
  void* big = take(Quick::options.quick_largest);  // one granule over the largest
  void* guard = take(16);
  heap_.free(big);
  EXPECT_EQ(heap_.statistics().free_blocks, 2U);  // binned: its own free block, and the top
  void* aligned = heap_.allocate(16, 4 * kGranule);
  heap_.free(aligned);
  EXPECT_TRUE(heap_.validate());
  // An aligned request never takes a cached block: its payload has only the granule's alignment.
  void* small = take(16);
  heap_.free(small);
  void* again = heap_.allocate(16, 4 * kGranule);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(again) % (4 * kGranule), 0U);
  heap_.free(again);
  heap_.free(guard);
}

TEST(QuickListsState, ZeroAtStartAndOnlyWhereAsked) {
  // The lists cost state only in a heap that asks for them: 4 + 1 bytes per size.
  using Small = Heap<FailOnOom, HeapOptions{.quick_lists = 8, .quick_largest = 64}>;
  EXPECT_GE(sizeof(Small), sizeof(Heap<>) + 5 * (64 / kGranule - 16 / kGranule + 1));
  static constinit Small zero;
  unsigned char bytes[sizeof(Small)];
  std::memcpy(bytes, static_cast<const void*>(&zero), sizeof bytes);
  for (unsigned char byte : bytes) {
    EXPECT_EQ(byte, 0U);
  }
}

}  // namespace
