// Misuse: every bad pointer handed to free, reallocate or usable_size is reported through the
// fault hook with its kind and address, and the heap is left exactly as it was.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "keel/heap.hpp"
#include "support/fault_log.hpp"

namespace {

using keel_test::g_faults;
using keel_test::opaque;
using keel_test::record_fault;

using keel::Fault;
using keel::Heap;
using keel::Span;

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    g_faults.clear();
    previous_ = keel::set_fault_handler(&record_fault);
    arena_ = std::make_unique<std::byte[]>(kBytes);
    std::memset(arena_.get(), 0, kBytes);
    ASSERT_TRUE(heap_.claim(Span{arena_.get(), kBytes}));
  }
  void TearDown() override { keel::set_fault_handler(previous_); }

  /// Frees `pointer`, expects exactly one fault of `kind` at it, and an unchanged heap.
  void expect_rejected_free(void* pointer, Fault kind) {
    const auto before = heap_.statistics();
    g_faults.clear();
    heap_.free(pointer);
    ASSERT_EQ(g_faults.size(), 1U);
    EXPECT_EQ(g_faults[0].fault, kind) << keel::to_string(g_faults[0].fault);
    EXPECT_EQ(g_faults[0].address, pointer);
    const auto after = heap_.statistics();
    EXPECT_EQ(after.bytes_free, before.bytes_free);
    EXPECT_EQ(after.live_allocations, before.live_allocations);
    EXPECT_EQ(after.free_blocks, before.free_blocks);
    EXPECT_TRUE(heap_.validate());
  }

  static constexpr std::size_t kBytes = 16 * 1024;
  keel::FaultHandler previous_ = nullptr;
  std::unique_ptr<std::byte[]> arena_;
  Heap<> heap_;
};

TEST_F(Faults, ForeignPointer) {
  int on_stack = 0;
  expect_rejected_free(opaque(&on_stack), Fault::foreign_pointer);
  auto other = std::make_unique<std::byte[]>(64);
  expect_rejected_free(other.get() + 16, Fault::foreign_pointer);
}

TEST_F(Faults, MisalignedPointer) {
  auto* block = static_cast<std::byte*>(heap_.allocate(100));
  expect_rejected_free(block + 1, Fault::misaligned_pointer);
  expect_rejected_free(block + 4, Fault::misaligned_pointer);
  g_faults.clear();
  heap_.free(block);
  EXPECT_TRUE(g_faults.empty());
}

TEST_F(Faults, DoubleFreeInEveryMergeShape) {
  // Freed alone (no merge), merged into its left neighbour, merged with its right neighbour.
  auto* a = static_cast<std::byte*>(heap_.allocate(64, 8));
  auto* b = static_cast<std::byte*>(heap_.allocate(64, 8));
  auto* c = static_cast<std::byte*>(heap_.allocate(64, 8));
  auto* d = static_cast<std::byte*>(heap_.allocate(64, 8));
  heap_.free(b);
  expect_rejected_free(b, Fault::double_free);
  heap_.free(c);  // merges into b
  expect_rejected_free(c, Fault::double_free);
  expect_rejected_free(b, Fault::double_free);
  heap_.free(d);  // merges with the free rest and with b + c
  expect_rejected_free(d, Fault::double_free);
  heap_.free(a);
  expect_rejected_free(a, Fault::double_free);
  EXPECT_EQ(heap_.statistics().free_blocks, 1U);
}

TEST_F(Faults, DoubleFreeOfAPaddedAlignedBlock) {
  // Aligned to two granules: a one-granule front gap is a pad with 8-byte granules, a free block
  // of its own with 16-byte ones (keel::detail::kPads).
  std::vector<void*> blocks;
  for (int i = 0; i < 8; ++i) {
    blocks.push_back(heap_.allocate(24, 2 * keel::detail::kGranule));
  }
  for (void* block : blocks) {
    heap_.free(block);
  }
  for (void* block : blocks) {
    const auto before = heap_.statistics();
    g_faults.clear();
    heap_.free(block);
    ASSERT_EQ(g_faults.size(), 1U);
    EXPECT_EQ(g_faults[0].fault, Fault::double_free) << keel::to_string(g_faults[0].fault);
    EXPECT_EQ(heap_.statistics().bytes_free, before.bytes_free);
  }
  EXPECT_TRUE(heap_.validate());
}

TEST_F(Faults, InteriorPointer) {
  // A size that fills a block exactly (no slack: 404 bytes with 8-byte granules, 412 with
  // 16-byte ones), so that every byte in front of an interior pointer is the caller's and zero:
  // not a used header. Every granule-aligned pointer inside (others are misaligned_pointer).
  constexpr std::size_t kSize = keel::detail::usable_bytes(keel::detail::granules_for(404));
  auto* block = static_cast<std::byte*>(heap_.allocate(kSize, 8));
  ASSERT_EQ(heap_.usable_size(block), kSize);
  std::memset(block, 0, kSize);
  for (std::size_t offset = keel::detail::kGranule; offset < kSize - 4;
       offset += keel::detail::kGranule) {
    expect_rejected_free(block + offset, Fault::invalid_pointer);
  }
  heap_.free(block);
}

TEST_F(Faults, ReallocateAndUsableSizeCheckToo) {
  int on_stack = 0;
  EXPECT_EQ(heap_.reallocate(opaque(&on_stack), 10), nullptr);
  EXPECT_EQ(heap_.usable_size(opaque(&on_stack)), 0U);
  void* block = heap_.allocate(10);
  heap_.free(block);
  EXPECT_EQ(heap_.reallocate(block, 100), nullptr);
  ASSERT_EQ(g_faults.size(), 3U);
  EXPECT_EQ(g_faults[0].fault, Fault::foreign_pointer);
  EXPECT_EQ(g_faults[2].fault, Fault::double_free);
  EXPECT_TRUE(heap_.validate());
}

TEST_F(Faults, HeapWithoutRegionsRejectsEverything) {
  Heap<> empty;
  int on_stack = 0;
  g_faults.clear();
  empty.free(opaque(&on_stack));
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_EQ(g_faults[0].fault, Fault::foreign_pointer);
}

// free's range check is one compare while the regions leave no gap (live_span_), and a walk of
// the regions while they do. Each change of the regions must leave it right both ways: every live
// block in every region is freed without a fault, and caller memory between the regions, forged
// to look like a live block, is reported.
TEST(RangeCheck, FollowsTheRegionsAsTheyChange) {
  g_faults.clear();
  const keel::FaultHandler previous = keel::set_fault_handler(&record_fault);
  constexpr std::size_t kChunk = 4096;
  alignas(16) static std::byte memory[4 * kChunk];
  std::memset(memory, 0, sizeof memory);
  Heap<> heap;
  std::vector<Span> regions;
  const auto claim = [&](std::size_t chunk) {
    const auto claimed = heap.claim(Span{memory + chunk * kChunk, kChunk});
    ASSERT_TRUE(claimed);
    regions.push_back(claimed.extent());
  };
  // Fills the heap with 64-byte blocks, frees them all: each must be accepted.
  const auto every_block_frees = [&](const char* when) {
    std::vector<void*> blocks;
    while (void* block = heap.allocate(64)) {
      blocks.push_back(block);
    }
    EXPECT_GT(blocks.size(), heap.statistics().region_count * 40) << when;
    for (void* block : blocks) {
      heap.free(block);
    }
    EXPECT_TRUE(g_faults.empty()) << when << ": " << keel::to_string(g_faults[0].fault);
    EXPECT_EQ(heap.statistics().live_allocations, 0U) << when;
    EXPECT_TRUE(heap.validate()) << when;
    g_faults.clear();
  };
  // A forged live block in chunk `chunk`, which no region holds.
  const auto gap_is_foreign = [&](std::size_t chunk, const char* when) {
    namespace d = keel::detail;
    std::byte* forged = memory + chunk * kChunk + 64;
    std::byte* block = d::block_of(forged);
    d::set_header(block, d::make_header(2, d::kUsedBit | d::kPrevUsedBit));
    d::set_header(d::next_block(block, 2), d::make_header(0, d::kUsedBit | d::kPrevUsedBit));
    heap.free(forged);
    ASSERT_EQ(g_faults.size(), 1U) << when;
    EXPECT_EQ(g_faults[0].fault, Fault::foreign_pointer) << when;
    g_faults.clear();
    std::memset(memory + chunk * kChunk, 0, kChunk);
  };
  claim(0);
  claim(1);  // abuts: one compare
  every_block_frees("two regions that abut");
  claim(3);  // leaves chunk 2 between: the walk
  every_block_frees("a gap between the regions");
  gap_is_foreign(2, "a gap between the regions");
  claim(2);  // fills the gap: one compare again
  every_block_frees("the gap filled");
  ASSERT_TRUE(heap.truncate(regions[1], Span{}));  // a gap again, inside the bounds
  gap_is_foreign(1, "a region released in the middle");
  every_block_frees("a region released in the middle");
  ASSERT_TRUE(heap.truncate(regions[0], Span{}));  // the lowest gone: chunks 2 and 3 abut
  every_block_frees("the lowest region released");
  ASSERT_TRUE(heap.truncate(regions[3], Span{}));  // chunk 2's region: only chunk 3 is left
  gap_is_foreign(2, "one region left");
  every_block_frees("one region left");
  keel::set_fault_handler(previous);
}

TEST(FaultNames, EveryKindHasAName) {
  EXPECT_STREQ(keel::to_string(Fault::double_free), "double_free");
  EXPECT_STREQ(keel::to_string(keel::RegionError::cuts_live_block), "cuts_live_block");
  EXPECT_STREQ(keel::to_string(keel::Violation::bad_footer), "bad_footer");
}

TEST(FaultDefault, TrapsOnADoubleFree) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        alignas(16) static std::byte arena[4096];
        Heap<> heap;
        (void)heap.claim(Span{arena});
        void* block = heap.allocate(10);
        heap.free(block);
        heap.free(block);
      },
      "");
}

}  // namespace
