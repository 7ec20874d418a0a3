// The top block (docs/design.md section 3.1): the free block at a region's end that no bin holds.
// Where allocations come from, how a stack of calls moves it, region calls that change it,
// and what validate() and a hardened heap say when its header is damaged.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <random>
#include <vector>

#include "keel/heap.hpp"
#include "support/host_tools.hpp"

namespace {

using keel::FailOnOom;
using keel::Fault;
using keel::Heap;
using keel::HeapOptions;
using keel::Span;
using keel::detail::kGranule;
using keel::detail::Word;

/// The alignment of the plain requests here: one granule. The default alignment can be larger
/// (16 on i386, whose host-m32 build has Cortex-M's 8-byte granules), and an over-aligned request
/// takes good fit before the top block.
constexpr std::size_t kPlain = 8;

std::uintptr_t address(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

/// A granule-aligned arena.
struct Arena {
  explicit Arena(std::size_t bytes) : memory(std::make_unique<std::byte[]>(bytes + kGranule)) {
    data = memory.get() + (kGranule - address(memory.get()) % kGranule) % kGranule;
  }
  Span span(std::size_t offset, std::size_t bytes) const { return Span{data + offset, bytes}; }
  std::unique_ptr<std::byte[]> memory;
  std::byte* data;
};

/// The payload address and usable size of the last free block the walk meets: the top block of
/// a one-region heap whose last block is free.
template <typename H>
keel::BlockInfo last_free_block(const H& heap) {
  keel::BlockInfo last{};
  heap.walk([&](const keel::BlockInfo& info) {
    if (!info.used) {
      last = info;
    }
  });
  return last;
}

/// Frees `pointers` and checks that the heap is whole again: one free block, the top.
void free_all(Heap<>& heap, std::initializer_list<void*> pointers) {
  for (void* pointer : pointers) {
    heap.free(pointer);
  }
  EXPECT_EQ(heap.statistics().free_blocks, 1U);
  EXPECT_TRUE(heap.validate());
}

/// A heap over 64 KiB whose bins hold one free block, `hole`, between two used ones; the top
/// block follows `guard`.
struct HoleBetweenTwoBlocks {
  explicit HoleBetweenTwoBlocks(std::size_t hole_bytes) {
    EXPECT_TRUE(heap.claim(arena.span(0, 64 * 1024)));
    first = heap.allocate(64, kPlain);
    hole = static_cast<std::byte*>(heap.allocate(hole_bytes, kPlain));
    guard = heap.allocate(64, kPlain);
    heap.free(hole);
  }
  Arena arena{64 * 1024};
  Heap<> heap;
  void* first = nullptr;
  std::byte* hole = nullptr;
  void* guard = nullptr;
};

TEST(Top, AnAllocationTakesTheTopBeforeAGoodFitHole) {
  HoleBetweenTwoBlocks layout(1024);
  Heap<>& heap = layout.heap;
  void* first = layout.first;
  void* hole = layout.hole;
  void* guard = layout.guard;
  // Good fit alone would split the 1 KiB hole (its bin is the lowest that fits 512 B); the top
  // block is split first, so the hole stays whole for a later request of its size.
  void* fresh = heap.allocate(512, kPlain);
  ASSERT_NE(fresh, nullptr);
  EXPECT_GT(address(fresh), address(guard));
  EXPECT_EQ(heap.allocate(1024, kPlain), hole);
  EXPECT_TRUE(heap.validate());
  free_all(heap, {first, hole, guard, fresh});
}

TEST(Top, AMovedBlockTakesAGoodFitBeforeTheTop) {
  Arena arena(64 * 1024);
  Heap<> heap;
  ASSERT_TRUE(heap.claim(arena.span(0, 64 * 1024)));
  void* left = heap.allocate(64, kPlain);
  void* hole = heap.allocate(1024, kPlain);
  void* middle = heap.allocate(64, kPlain);
  void* vector = heap.allocate(100, kPlain);
  void* right = heap.allocate(64, kPlain);
  heap.free(hole);
  std::memset(vector, 0x5A, 100);
  // Both neighbours of vector are used: reallocate moves it, and a moved block is placed by good
  // fit (into the hole), not split off the top.
  auto* moved = static_cast<unsigned char*>(heap.reallocate(vector, 512, kPlain));
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(static_cast<void*>(moved), hole);
  for (int index = 0; index < 100; ++index) {
    ASSERT_EQ(moved[index], 0x5A) << index;
  }
  EXPECT_TRUE(heap.validate());
  free_all(heap, {left, middle, right, moved});
}

TEST(Top, AnAlignedRequestTakesAGoodFitHoleBeforeTheTop) {
  HoleBetweenTwoBlocks layout(2048);
  Heap<>& heap = layout.heap;
  std::byte* hole = layout.hole;
  // An over-aligned request leaves a front gap wherever it is placed: good fit places it in
  // the hole, and the top is taken only when no bin can serve it.
  void* aligned = heap.allocate(256, 256);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(address(aligned) % 256, 0U);
  EXPECT_GE(address(aligned), address(hole));
  EXPECT_LT(address(aligned), address(hole) + 2048);
  void* beyond = heap.allocate(4096, 256);  // no bin holds it: split off the top
  EXPECT_GT(address(beyond), address(layout.guard));
  EXPECT_TRUE(heap.validate());
  free_all(heap, {layout.first, layout.guard, aligned, beyond});
}

TEST(Top, AStackOfCallsOnlyMovesTheTop) {
  Arena arena(256 * 1024);
  Heap<> heap;
  ASSERT_TRUE(heap.claim(arena.span(0, 256 * 1024)));
  const std::size_t whole = heap.statistics().largest_free_block;
  std::mt19937 random(7);
  std::vector<void*> stack;
  for (int depth = 0; depth < 300; ++depth) {
    void* pointer = heap.allocate(1 + random() % 400, kPlain);
    ASSERT_NE(pointer, nullptr);
    if (!stack.empty()) {
      EXPECT_GT(address(pointer), address(stack.back()));  // each split off the top, in order
    }
    stack.push_back(pointer);
    EXPECT_EQ(heap.statistics().free_blocks, 1U) << depth;
  }
  ASSERT_TRUE(heap.validate());
  while (!stack.empty()) {
    heap.free(stack.back());
    stack.pop_back();
    ASSERT_EQ(heap.statistics().free_blocks, 1U) << stack.size();
  }
  EXPECT_EQ(heap.statistics().largest_free_block, whole);
  EXPECT_TRUE(heap.validate());
}

TEST(Top, RegionCallsKeepTheTopAtARegionsEnd) {
  constexpr std::size_t kRegion = 32 * 1024;
  Arena arena(4 * kRegion);
  Heap<> heap;
  auto first = heap.claim(arena.span(0, kRegion));
  ASSERT_TRUE(first);
  void* low = heap.allocate(300, kPlain);
  ASSERT_NE(low, nullptr);
  const Span claimed = first.extent();
  const std::size_t before = heap.statistics().largest_free_block;
  // Growing the region's end grows the top block.
  first = heap.extend(first.extent(), arena.span(0, 2 * kRegion));
  ASSERT_TRUE(first);
  EXPECT_EQ(heap.statistics().largest_free_block, before + kRegion);
  ASSERT_TRUE(heap.validate());
  // Truncating it shrinks the top block, which stays the top.
  first = heap.truncate(first.extent(), claimed);
  ASSERT_TRUE(first);
  EXPECT_EQ(heap.statistics().largest_free_block, before);
  ASSERT_TRUE(heap.validate());
  // A new region's block becomes the top: the next allocation comes from it.
  auto second = heap.claim(arena.span(3 * kRegion, kRegion));
  ASSERT_TRUE(second);
  void* high = heap.allocate(100, kPlain);
  EXPECT_GE(address(high), address(arena.data + 3 * kRegion));
  ASSERT_TRUE(heap.validate());
  // Releasing the region that holds the top leaves the heap without one, still sound.
  heap.free(high);
  ASSERT_TRUE(heap.truncate(second.extent(), Span{}));
  ASSERT_TRUE(heap.validate());
  void* again = heap.allocate(100, kPlain);
  ASSERT_NE(again, nullptr);
  EXPECT_LT(address(again), address(arena.data + kRegion));
  ASSERT_TRUE(heap.validate());
  heap.free(again);
  heap.free(low);
  EXPECT_EQ(heap.statistics().free_blocks, 1U);
  EXPECT_TRUE(heap.validate());
  // With no region left there is no top.
  ASSERT_TRUE(heap.truncate(first.extent(), Span{}));
  EXPECT_EQ(heap.statistics().largest_free_block, 0U);
  EXPECT_EQ(heap.allocate(8, kPlain), nullptr);
}

TEST(Top, ValidateReportsATopThatLooksUsed) {
  KEEL_SKIP_UNDER_HOST_TOOLS();
  Arena arena(16 * 1024);
  Heap<> heap;
  ASSERT_TRUE(heap.claim(arena.span(0, 16 * 1024)));
  void* block = heap.allocate(64, kPlain);
  ASSERT_NE(block, nullptr);
  const keel::BlockInfo top = last_free_block(heap);
  ASSERT_NE(top.address, nullptr);
  // Damage that keeps the walk consistent: the top's header says used, and so does the
  // sentinel's PREV_USED bit. Only the top block pointer disagrees now.
  auto* header = static_cast<std::byte*>(top.address) - keel::detail::kHeaderBytes;
  auto* sentinel = static_cast<std::byte*>(top.address) + top.size;
  Word word = 0;
  std::memcpy(&word, header, sizeof word);
  word |= keel::detail::kUsedBit;
  std::memcpy(header, &word, sizeof word);
  std::memcpy(&word, sentinel, sizeof word);
  word |= keel::detail::kPrevUsedBit;
  std::memcpy(sentinel, &word, sizeof word);
  EXPECT_EQ(heap.validate().kind, keel::Violation::top_block_broken)
      << keel::to_string(heap.validate().kind);
}

std::vector<Fault> g_faults;
void record_fault(Fault fault, const void*) noexcept {
  g_faults.push_back(fault);
}

TEST(Top, AHardenedHeapRefusesATopWhoseSizeWasOverwritten) {
  KEEL_SKIP_UNDER_HOST_TOOLS();
  Arena arena(16 * 1024);
  Heap<FailOnOom, HeapOptions{.hardened = true}> heap;
  ASSERT_TRUE(heap.claim(arena.span(0, 16 * 1024)));
  auto* block = static_cast<std::byte*>(heap.allocate(64, kPlain));
  ASSERT_NE(block, nullptr);
  // An overrun out of block rewrites the top's header with a size far past the region.
  const std::size_t usable = heap.usable_size(block);
  const Word forged = 0x00FFFFF0U;  // used bit clear: it still looks free
  std::memcpy(block + usable, &forged, sizeof forged);
  g_faults.clear();
  const keel::FaultHandler previous = keel::set_fault_handler(&record_fault);
  EXPECT_EQ(heap.allocate(200, kPlain), nullptr);  // would have been split off the top
  EXPECT_EQ(heap.allocate(8, kPlain), nullptr);    // the heap refuses to go on
  keel::set_fault_handler(previous);
  ASSERT_FALSE(g_faults.empty());
  EXPECT_EQ(g_faults[0], Fault::corrupted_block);
}

}  // namespace
