// Unit tests of keel::Heap allocation: every public function and its documented edge cases.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "keel/detail/format.hpp"
#include "keel/heap.hpp"
#include "support/host_tools.hpp"

namespace {

using keel::Heap;
using keel::Span;
using keel::detail::kGranule;

std::uintptr_t address(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

/// A heap over its own arena, pre-filled with a byte so that zeroing and contents are tested
/// against garbage.
template <typename HeapT = Heap<>>
struct Fixture {
  explicit Fixture(std::size_t bytes = 64 * 1024, std::byte fill = std::byte{0xA5})
      : arena(std::make_unique<std::byte[]>(bytes)), heap(std::make_unique<HeapT>()) {
    std::memset(arena.get(), static_cast<int>(fill), bytes);
    const auto result = heap->claim(Span{arena.get(), bytes});
    EXPECT_TRUE(result.ok());
    region = result.extent();
  }
  std::unique_ptr<std::byte[]> arena;
  std::unique_ptr<HeapT> heap;
  Span region;
};

TEST(Allocate, ReturnsDistinctUsableBlocks) {
  Fixture f;
  std::set<void*> seen;
  for (std::size_t size = 1; size < 300; size += 7) {
    void* block = f.heap->allocate(size);
    ASSERT_NE(block, nullptr);
    EXPECT_TRUE(seen.insert(block).second);
    EXPECT_GE(f.heap->usable_size(block), size);
    std::memset(block, 0x5A, size);
  }
  EXPECT_TRUE(f.heap->validate());
}

TEST(Allocate, ZeroSizeGivesAUniqueMinimumBlock) {
  Fixture f;
  void* a = f.heap->allocate(0);
  void* b = f.heap->allocate(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(f.heap->usable_size(a), 12U);
  f.heap->free(a);
  f.heap->free(b);
  EXPECT_TRUE(f.heap->validate());
}

TEST(Allocate, DefaultAlignmentIsMaxAlign) {
  Fixture f;
  for (int i = 0; i < 50; ++i) {
    void* block = f.heap->allocate(static_cast<std::size_t>(i) * 3 + 1);
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(address(block) % alignof(std::max_align_t), 0U);
  }
}

TEST(Allocate, EveryPowerOfTwoAlignment) {
  Fixture f(256 * 1024);
  for (std::size_t align = 1; align <= 8192; align *= 2) {
    for (std::size_t size : {1U, 24U, 100U, 1000U}) {
      void* block = f.heap->allocate(size, align);
      ASSERT_NE(block, nullptr) << align << " " << size;
      EXPECT_EQ(address(block) % align, 0U);
      EXPECT_GE(f.heap->usable_size(block), size);
      std::memset(block, 1, size);
      ASSERT_TRUE(f.heap->validate()) << keel::to_string(f.heap->validate().kind);
    }
  }
}

TEST(Allocate, AlignedBlocksReturnTheirGapsAndPads) {
  Fixture f;
  const auto before = f.heap->statistics();
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i) {
    blocks.push_back(f.heap->allocate(static_cast<std::size_t>(8 + i), i % 2 == 0 ? 16 : 64));
    ASSERT_NE(blocks.back(), nullptr);
  }
  for (void* block : blocks) {
    f.heap->free(block);
    ASSERT_TRUE(f.heap->validate()) << keel::to_string(f.heap->validate().kind);
  }
  const auto after = f.heap->statistics();
  EXPECT_EQ(after.bytes_free, before.bytes_free);
  EXPECT_EQ(after.free_blocks, 1U);
}

TEST(Allocate, InvalidAlignmentFails) {
  Fixture f;
  EXPECT_EQ(f.heap->allocate(10, 0), nullptr);
  EXPECT_EQ(f.heap->allocate(10, 3), nullptr);
  EXPECT_EQ(f.heap->allocate(10, 24), nullptr);
  EXPECT_EQ(f.heap->statistics().failed_allocations, 3U);
}

TEST(Allocate, OversizeAndWrappingSizesFail) {
  Fixture f;
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(f.heap->allocate(kMax), nullptr);
  EXPECT_EQ(f.heap->allocate(kMax - 3), nullptr);
  EXPECT_EQ(f.heap->allocate(Heap<>::max_request + 1), nullptr);
  EXPECT_EQ(f.heap->allocate(Heap<>::max_request), nullptr);  // larger than the region
  EXPECT_EQ(f.heap->allocate(64 * 1024), nullptr);
  EXPECT_EQ(f.heap->allocate(16, kMax / 2 + 1), nullptr);
  EXPECT_TRUE(f.heap->validate());
  EXPECT_NE(f.heap->allocate(1000), nullptr);
}

TEST(Allocate, FillsTheWholeRegionExactly) {
  Fixture f(4096);
  const std::size_t free_bytes = f.heap->statistics().bytes_free;
  // One block of everything there is.
  void* all = f.heap->allocate(free_bytes - 4, 8);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(f.heap->statistics().bytes_free, 0U);
  EXPECT_EQ(f.heap->allocate(0), nullptr);
  f.heap->free(all);
  // Many minimum blocks: every byte is used.
  std::vector<void*> blocks;
  while (void* block = f.heap->allocate(12, 8)) {
    blocks.push_back(block);
  }
  EXPECT_EQ(blocks.size(), free_bytes / 16);
  EXPECT_TRUE(f.heap->validate());
  for (void* block : blocks) {
    f.heap->free(block);
  }
  EXPECT_EQ(f.heap->statistics().free_blocks, 1U);
  EXPECT_EQ(f.heap->statistics().bytes_free, free_bytes);
}

/// Bytes that fill a block of `granules` exactly (Heap<>: no trailer).
constexpr std::size_t bytes_for(std::size_t granules) {
  return granules * kGranule - 4;
}

/// Leaves two free blocks in bin [256, 271] granules and none anywhere else: `larger` (271
/// granules, returned) behind the head, `smaller` (257) at the head of the bin's list.
template <typename HeapT>
void* one_bin_smaller_block_first(Fixture<HeapT>& f) {
  void* larger = f.heap->allocate(bytes_for(271), 8);
  void* guard = f.heap->allocate(1, 8);
  void* smaller = f.heap->allocate(bytes_for(257), 8);
  void* tail = f.heap->allocate(1, 8);
  EXPECT_EQ(HeapT::Bins::bin_of(257), HeapT::Bins::bin_of(271));
  EXPECT_NE(HeapT::Bins::bin_of(256), HeapT::Bins::bin_of(255));
  EXPECT_NE(HeapT::Bins::bin_of(272), HeapT::Bins::bin_of(271));
  // The rest of the region in one allocation: no other free block.
  void* rest = f.heap->allocate(f.heap->statistics().largest_free_block, 8);
  EXPECT_NE(rest, nullptr);
  EXPECT_EQ(f.heap->statistics().bytes_free, 0U);
  for (void* block : {larger, guard, smaller, tail}) {
    EXPECT_NE(block, nullptr);
  }
  f.heap->free(larger);
  f.heap->free(smaller);  // pushed in front of larger
  EXPECT_EQ(f.heap->statistics().free_blocks, 2U);
  return larger;
}

TEST(Allocate, BestEffortSearchServesTheLastFittingBlock) {
  // A block whose size is not on a bin boundary cannot be found by the good-fit search for a
  // request a little smaller when the head of its bin is too small: good fit looks at that head
  // only, then at the bins above. The bounded search (off by default) walks the bin and finds it.
  Fixture<Heap<keel::FailOnOom, keel::HeapOptions{.search_limit = 8}>> f(16 * 1024);
  void* larger = one_bin_smaller_block_first(f);
  EXPECT_EQ(f.heap->allocate(bytes_for(264), 8), larger);
  EXPECT_TRUE(f.heap->validate());

  Fixture<Heap<>> strict(16 * 1024);
  one_bin_smaller_block_first(strict);
  EXPECT_EQ(strict.heap->allocate(bytes_for(264), 8), nullptr)
      << "without the search, good fit must round up past the only fitting block";
  EXPECT_NE(strict.heap->allocate(bytes_for(257), 8), nullptr) << "the head itself fits";
  EXPECT_TRUE(strict.heap->validate());
}

TEST(Free, NullIsIgnored) {
  Fixture f;
  const auto before = f.heap->statistics();
  f.heap->free(nullptr);
  EXPECT_EQ(f.heap->statistics().bytes_free, before.bytes_free);
}

TEST(Free, CoalescesBothNeighbours) {
  Fixture f;
  void* a = f.heap->allocate(100);
  void* b = f.heap->allocate(100);
  void* c = f.heap->allocate(100);
  void* d = f.heap->allocate(100);
  f.heap->free(a);
  f.heap->free(c);
  EXPECT_EQ(f.heap->statistics().free_blocks, 3U);  // a, c, and the rest after d
  f.heap->free(b);                                  // merges a + b + c
  EXPECT_EQ(f.heap->statistics().free_blocks, 2U);
  f.heap->free(d);  // merges everything
  EXPECT_EQ(f.heap->statistics().free_blocks, 1U);
  EXPECT_TRUE(f.heap->validate());
}

TEST(Free, MergesIntoALeftNeighbourThatHeadsItsBin) {
  // make_free's shortcut: the left neighbour keeps its place at the head of its bin and only
  // grows. Then it must serve a request of the merged size as its bin's head, and a request
  // one byte larger must not take it.
  for (std::size_t right : {16U, 100U, 200U, 2000U}) {
    Fixture f;
    void* left = f.heap->allocate(1000);
    void* freed = f.heap->allocate(right);
    void* guard = f.heap->allocate(64);
    const std::size_t merged =
        f.heap->usable_size(left) + f.heap->usable_size(freed) + keel::detail::kHeaderBytes;
    f.heap->free(left);
    f.heap->free(freed);
    ASSERT_TRUE(f.heap->validate()) << right;
    EXPECT_EQ(f.heap->statistics().free_blocks, 2U) << right;  // the merged block and the top
    EXPECT_NE(f.heap->allocate(merged + 1), left) << right;
    void* again = f.heap->allocate(merged);
    EXPECT_EQ(again, left) << right;
    EXPECT_EQ(f.heap->usable_size(again), merged) << right;
    EXPECT_TRUE(f.heap->validate()) << right;
    (void)guard;
  }
}

TEST(AllocateZeroed, ZeroesAndChecksTheProduct) {
  Fixture f;
  auto* block = static_cast<unsigned char*>(f.heap->allocate_zeroed(10, 30));
  ASSERT_NE(block, nullptr);
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(block[i], 0);
  }
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(f.heap->allocate_zeroed(kMax / 2, 3), nullptr);
  EXPECT_EQ(f.heap->allocate_zeroed(3, kMax / 2), nullptr);
  EXPECT_EQ(f.heap->allocate_zeroed(kMax, kMax), nullptr);
  auto* empty = f.heap->allocate_zeroed(0, 100);
  EXPECT_NE(empty, nullptr);
}

TEST(Reallocate, NullAllocatesAndZeroFrees) {
  Fixture f;
  void* block = f.heap->reallocate(nullptr, 50);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(f.heap->statistics().live_allocations, 1U);
  EXPECT_EQ(f.heap->reallocate(block, 0), nullptr);
  EXPECT_EQ(f.heap->statistics().live_allocations, 0U);
  EXPECT_TRUE(f.heap->validate());
}

TEST(Reallocate, ShrinksInPlaceAndReturnsTheTail) {
  Fixture f;
  auto* block = static_cast<unsigned char*>(f.heap->allocate(1000));
  void* after = f.heap->allocate(10);  // a used right neighbour: the tail cannot merge right
  std::memset(block, 7, 1000);
  const auto free_before = f.heap->statistics().bytes_free;
  EXPECT_EQ(f.heap->reallocate(block, 100), block);
  EXPECT_GE(f.heap->statistics().bytes_free, free_before + 880);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(block[i], 7);
  }
  EXPECT_TRUE(f.heap->validate());
  f.heap->free(after);
}

TEST(Reallocate, GrowsInPlaceIntoAFreeRightNeighbour) {
  Fixture f;
  auto* block = static_cast<unsigned char*>(f.heap->allocate(100));
  std::memset(block, 9, 100);
  EXPECT_EQ(f.heap->reallocate(block, 5000), block);
  EXPECT_GE(f.heap->usable_size(block), 5000U);
  EXPECT_EQ(block[99], 9);
  EXPECT_TRUE(f.heap->try_resize_in_place(block, 6000));
  EXPECT_TRUE(f.heap->validate());
}

TEST(Reallocate, GrowsBackwardIntoAFreeLeftNeighbour) {
  Fixture f;
  void* left = f.heap->allocate(400, 8);
  auto* block = static_cast<unsigned char*>(f.heap->allocate(100, 8));
  void* right = f.heap->allocate(100, 8);  // blocks growth to the right
  for (int i = 0; i < 100; ++i) {
    block[i] = static_cast<unsigned char>(i);
  }
  f.heap->free(left);
  auto* moved = static_cast<unsigned char*>(f.heap->reallocate(block, 450, 8));
  ASSERT_NE(moved, nullptr);
  if (!keel::detail::tools::kValgrind) {  // memcheck builds copy instead (detail/tools.hpp)
    EXPECT_LT(moved, block);
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(moved[i], i);
  }
  EXPECT_TRUE(f.heap->validate());
  EXPECT_EQ(f.heap->statistics().live_allocations, 2U);
  f.heap->free(right);
}

TEST(Reallocate, MovesWhenBlockedAndKeepsTheAlignmentAsked) {
  Fixture f;
  auto* block = static_cast<unsigned char*>(f.heap->allocate(64, 256));
  // Allocate until a block lands right behind `block`, so that it cannot grow in place.
  std::vector<void*> others;
  void* right = nullptr;
  while (right == nullptr) {
    void* next = f.heap->allocate(64, 8);
    ASSERT_NE(next, nullptr);
    if (next == block + f.heap->usable_size(block) + 4) {
      right = next;
    } else {
      others.push_back(next);
    }
  }
  for (void* other : others) {
    f.heap->free(other);
  }
  std::memset(block, 3, 64);
  auto* moved = static_cast<unsigned char*>(f.heap->reallocate(block, 2000, 256));
  ASSERT_NE(moved, nullptr);
  EXPECT_NE(moved, block);
  EXPECT_EQ(address(moved) % 256, 0U);
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(moved[i], 3);
  }
  EXPECT_EQ(f.heap->statistics().live_allocations, 2U);
  EXPECT_TRUE(f.heap->validate());
  f.heap->free(right);
}

TEST(Reallocate, FailureLeavesTheBlockUntouched) {
  Fixture f(8192);
  auto* block = static_cast<unsigned char*>(f.heap->allocate(100));
  std::memset(block, 4, 100);
  EXPECT_EQ(f.heap->reallocate(block, 1 << 20), nullptr);
  EXPECT_EQ(f.heap->reallocate(block, std::numeric_limits<std::size_t>::max()), nullptr);
  EXPECT_EQ(f.heap->reallocate(block, 200, 3), nullptr);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(block[i], 4);
  }
  EXPECT_EQ(f.heap->statistics().live_allocations, 1U);
  EXPECT_FALSE(f.heap->try_resize_in_place(block, 1 << 20));
  EXPECT_TRUE(f.heap->validate());
}

TEST(UsableSize, NullIsZero) {
  Fixture f;
  EXPECT_EQ(f.heap->usable_size(nullptr), 0U);
}

TEST(Statistics, CountersFollowTheOperations) {
  Fixture f(16 * 1024);
  const auto empty = f.heap->statistics();
  EXPECT_EQ(empty.region_count, 1U);
  EXPECT_EQ(empty.bytes_in_use, 0U);
  EXPECT_EQ(empty.bytes_in_use + empty.bytes_free + empty.bytes_overhead, empty.bytes_claimed);
  EXPECT_EQ(empty.fragmentation_permille, 0U);
  EXPECT_EQ(empty.largest_free_block, empty.bytes_free - 4);

  void* a = f.heap->allocate(1000, 8);
  void* b = f.heap->allocate(2000, 8);
  void* c = f.heap->allocate(100, 8);
  const auto busy = f.heap->statistics();
  EXPECT_EQ(busy.live_allocations, 3U);
  EXPECT_EQ(busy.total_allocations, 3U);
  // Each block: the request and its 4-byte header, rounded up to whole granules.
  const auto block_bytes = [](std::size_t size) {
    return (size + 4 + kGranule - 1) / kGranule * kGranule;
  };
  EXPECT_EQ(busy.bytes_in_use, block_bytes(1000) + block_bytes(2000) + block_bytes(100));
  EXPECT_EQ(busy.bytes_in_use, kGranule == 8 ? 1008U + 2008U + 104U : 1008U + 2016U + 112U);
  EXPECT_EQ(busy.peak_bytes_in_use, busy.bytes_in_use);
  EXPECT_EQ(busy.min_bytes_free, busy.bytes_free);

  f.heap->free(b);  // a hole: free memory is now in two blocks
  const auto holed = f.heap->statistics();
  EXPECT_EQ(holed.peak_bytes_in_use, busy.bytes_in_use);
  EXPECT_EQ(holed.min_bytes_free, busy.bytes_free);
  EXPECT_EQ(holed.free_blocks, 2U);
  EXPECT_GT(holed.fragmentation_permille, 0U);
  EXPECT_EQ(f.heap->allocate(1 << 20), nullptr);
  EXPECT_EQ(f.heap->statistics().failed_allocations, 1U);
  f.heap->free(a);
  f.heap->free(c);
  EXPECT_EQ(f.heap->statistics().fragmentation_permille, 0U);
}

TEST(Statistics, CompiledOutCostsNothing) {
  using Lean = Heap<keel::FailOnOom, keel::HeapOptions{.statistics = false}>;
  EXPECT_LT(sizeof(Lean), sizeof(Heap<>));
  Fixture<Lean> f;
  void* block = f.heap->allocate(10);
  EXPECT_NE(block, nullptr);
  const auto stats = f.heap->statistics();
  EXPECT_EQ(stats.live_allocations, 0U);    // not kept
  EXPECT_GT(stats.largest_free_block, 0U);  // read from the bins, needs no counter
}

TEST(Walk, VisitsEveryBlockOnce) {
  Fixture f;
  std::vector<void*> live;
  for (int i = 0; i < 20; ++i) {
    live.push_back(f.heap->allocate(static_cast<std::size_t>(10 * i + 1), i % 3 == 0 ? 32 : 8));
  }
  for (int i = 0; i < 20; i += 4) {
    f.heap->free(live[static_cast<std::size_t>(i)]);
  }
  std::size_t used = 0;
  std::size_t free_blocks = 0;
  std::size_t free_bytes = 0;
  f.heap->walk([&](const keel::BlockInfo& block) {
    if (block.used) {
      ++used;
    } else {
      ++free_blocks;
      free_bytes += block.size + 4;
    }
  });
  const auto stats = f.heap->statistics();
  EXPECT_EQ(used, stats.live_allocations);
  EXPECT_EQ(free_blocks, stats.free_blocks);
  EXPECT_EQ(free_bytes, stats.bytes_free);
}

// A corrupt heap: walk (and so dump, leak reports and a tool build's heap going away) stops a
// region at a header whose size is 0 or runs past the region, instead of looping on it for ever
// or visiting memory beyond the region; validate() names the block.
TEST(Walk, StopsARegionAtAHeaderThatCannotBeStepped) {
  KEEL_SKIP_UNDER_HOST_TOOLS();
  Fixture f;
  auto* a = static_cast<std::byte*>(f.heap->allocate(40));
  auto* b = static_cast<std::byte*>(f.heap->allocate(40));
  auto* c = static_cast<std::byte*>(f.heap->allocate(40));
  std::uint32_t saved;
  std::memcpy(&saved, b - 4, 4);
  // Both say used: size 0, and the largest size a header can hold (past any region).
  for (const std::uint32_t corrupt : {std::uint32_t{1}, std::uint32_t{0xFFFFFFF9}}) {
    std::memcpy(b - 4, &corrupt, 4);
    std::vector<void*> seen;
    f.heap->walk([&seen](const keel::BlockInfo& block) { seen.push_back(block.address); });
    EXPECT_EQ(seen, std::vector<void*>{a}) << "header " << corrupt;
    const auto found = f.heap->validate();
    EXPECT_FALSE(found) << "header " << corrupt;
    EXPECT_EQ(found.address, b - 4) << keel::to_string(found.kind);
  }
  std::memcpy(b - 4, &saved, 4);
  EXPECT_TRUE(f.heap->validate());
  for (void* block : {a, b, c}) {
    f.heap->free(block);
  }
}

TEST(Dump, DrawsRegionsAndBlocks) {
  Fixture f;
  void* block = f.heap->allocate(100);
  std::string text;
  f.heap->dump([&text](const char* part, std::size_t length) { text.append(part, length); });
  EXPECT_NE(text.find("keel heap: 1 region(s)"), std::string::npos) << text;
  // The block's usable size: 100 bytes with 8-byte granules, 108 with 16-byte ones.
  const std::string used = " used " + std::to_string(f.heap->usable_size(block)) + "\n";
  EXPECT_EQ(f.heap->usable_size(block), kGranule == 8 ? 100U : 108U);
  EXPECT_NE(text.find(used), std::string::npos) << text;
  EXPECT_NE(text.find(" free "), std::string::npos) << text;
  f.heap->free(block);
}

// dump()'s numbers: 64-bit counters written with 32-bit divisions only (detail/format.hpp), so
// they must match the library's digits on both sides of every 16- and 32-bit boundary.
TEST(Dump, WritesSixtyFourBitDecimalsExactly) {
  std::vector<std::uint64_t> values = {0, 9, 10, 65535, 65536, 655359, 655360, 4294967295U};
  for (std::uint64_t high :
       {std::uint64_t{1}, std::uint64_t{9}, std::uint64_t{10}, std::uint64_t{0xFFFFFFFF}}) {
    for (std::uint64_t low : {std::uint64_t{0}, std::uint64_t{65535}, std::uint64_t{0xFFFFFFFF}}) {
      values.push_back(high << 32 | low);
    }
  }
  std::uint64_t mix = 0x9E3779B97F4A7C15U;
  for (int i = 0; i < 10000; ++i) {
    mix = mix * 6364136223846793005U + 1442695040888963407U;
    values.push_back(mix >> (i % 64));
  }
  for (const std::uint64_t value : values) {
    std::string text;
    auto sink = [&text](const char* part, std::size_t length) { text.append(part, length); };
    {
      keel::detail::TextWriter<decltype(sink)> writer(sink);
      writer.decimal(value);
    }
    ASSERT_EQ(text, std::to_string(value));
  }
}

TEST(Validate, FindsOverwrittenHeadersAndFooters) {
  KEEL_SKIP_UNDER_HOST_TOOLS();
  Fixture f;
  auto* a = static_cast<std::byte*>(f.heap->allocate(40));
  auto* b = static_cast<std::byte*>(f.heap->allocate(40));
  auto* c = static_cast<std::byte*>(f.heap->allocate(40));
  f.heap->free(b);
  ASSERT_TRUE(f.heap->validate());
  ASSERT_TRUE(f.heap->check());

  // An overrun of a into b's header (b is free).
  std::byte saved[4];
  std::memcpy(saved, b - 4, 4);
  std::memset(b - 4, 0xFF, 4);
  EXPECT_FALSE(f.heap->validate());
  std::memcpy(b - 4, saved, 4);
  ASSERT_TRUE(f.heap->validate());

  // A write into the footer of the free block b (the last word before c's header).
  std::memcpy(saved, c - 8, 4);
  std::memset(c - 8, 0x11, 4);
  const auto footer = f.heap->validate();
  EXPECT_EQ(footer.kind, keel::Violation::bad_footer) << keel::to_string(footer.kind);
  EXPECT_EQ(footer.address, b - 4);
  std::memcpy(c - 8, saved, 4);

  // A used block's size made larger: the tiling breaks.
  std::memcpy(saved, a - 4, 4);
  std::uint32_t header;
  std::memcpy(&header, a - 4, 4);
  header += 8U << 3;
  std::memcpy(a - 4, &header, 4);
  EXPECT_FALSE(f.heap->validate());
  std::memcpy(a - 4, saved, 4);
  EXPECT_TRUE(f.heap->validate());
  f.heap->free(a);
  f.heap->free(c);
}

struct CountingOom {
  int calls = 0;
  keel::OomAction answer = keel::OomAction::give_up;
  template <typename H>
  keel::OomAction on_oom(H& /*heap*/, std::size_t /*size*/, std::size_t /*align*/) {
    ++calls;
    return answer;
  }
};

TEST(OutOfMemory, PolicyRunsOnlyForAllocateAndIsBounded) {
  Fixture<Heap<CountingOom>> f(4096);
  EXPECT_EQ(f.heap->try_allocate(1 << 20), nullptr);
  EXPECT_EQ(f.heap->oom_policy().calls, 0);
  EXPECT_EQ(f.heap->allocate(1 << 20), nullptr);
  EXPECT_EQ(f.heap->oom_policy().calls, 1);
  // A policy that says retry without adding or freeing memory gets no second call: the search
  // would fail the same way (issue 11, finding 6: it used to run five times).
  f.heap->oom_policy().answer = keel::OomAction::retry;
  EXPECT_EQ(f.heap->allocate(1 << 20), nullptr);
  EXPECT_EQ(f.heap->oom_policy().calls, 2);
  // Overflowing and invalid requests never reach the policy.
  EXPECT_EQ(f.heap->allocate_zeroed(std::numeric_limits<std::size_t>::max(), 2), nullptr);
  EXPECT_EQ(f.heap->allocate(8, 3), nullptr);
  EXPECT_EQ(f.heap->allocate(std::numeric_limits<std::size_t>::max()), nullptr);
  EXPECT_EQ(f.heap->oom_policy().calls, 2);
}

/// Claims one more small region per call, never enough for the request.
struct DrippingOom {
  std::byte* spare = nullptr;
  int calls = 0;
  template <typename H>
  keel::OomAction on_oom(H& heap, std::size_t /*size*/, std::size_t /*align*/) {
    const bool ok = heap.claim(Span{spare + 1024 * calls, 1024}).ok();
    ++calls;
    return ok ? keel::OomAction::retry : keel::OomAction::give_up;
  }
};

TEST(OutOfMemory, PolicyThatAddsMemoryRunsAtMostTheRetryBound) {
  auto memory = std::make_unique<std::byte[]>(4096 + 16 * 1024);
  Heap<DrippingOom> heap;
  ASSERT_TRUE(heap.claim(Span{memory.get(), 4096}));
  heap.oom_policy().spare = memory.get() + 4096;
  EXPECT_EQ(heap.allocate(8000), nullptr);
  EXPECT_EQ(heap.oom_policy().calls, static_cast<int>(keel::kMaxOomRetries));
  EXPECT_EQ(heap.statistics().region_count, 1U + keel::kMaxOomRetries);
  EXPECT_EQ(heap.statistics().failed_allocations, 1U);
  EXPECT_TRUE(heap.validate());
}

/// Frees a block the application keeps as a cache (as a kernel's shrinker would), then retries.
struct CacheDroppingOom {
  void* cached = nullptr;
  int calls = 0;
  template <typename H>
  keel::OomAction on_oom(H& heap, std::size_t /*size*/, std::size_t /*align*/) {
    ++calls;
    if (cached == nullptr) {
      return keel::OomAction::give_up;
    }
    heap.free(cached);
    cached = nullptr;
    return keel::OomAction::retry;
  }
};

/// A request that fits only once the policy has dropped the cache: served after one call.
template <typename HeapT>
void expect_served_after_the_policy_frees() {
  Fixture<HeapT> f(8192);
  void* cache = f.heap->allocate(5000);
  ASSERT_NE(cache, nullptr);
  f.heap->oom_policy().cached = cache;
  void* block = f.heap->allocate(4000);
  EXPECT_NE(block, nullptr) << "the retry after the policy freed memory succeeds";
  EXPECT_EQ(f.heap->oom_policy().calls, 1);
  f.heap->free(block);
  EXPECT_TRUE(f.heap->validate());
}

TEST(OutOfMemory, PolicyMayFreeMemoryInsteadOfAddingIt) {
  expect_served_after_the_policy_frees<Heap<CacheDroppingOom>>();
}

// The OOM loop's test of progress has two forms (Heap::progress_mark): with statistics, the bytes
// claimed less those in use; without, a count of releases. The tests above run the first; this
// runs the second, with a policy that changes nothing, one that frees and one that claims.
TEST(OutOfMemory, ProgressIsSeenWithoutStatisticsToo) {
  constexpr keel::HeapOptions kLean{.statistics = false};
  {
    Fixture<Heap<CountingOom, kLean>> f(4096);
    f.heap->oom_policy().answer = keel::OomAction::retry;
    EXPECT_EQ(f.heap->allocate(1 << 20), nullptr);
    EXPECT_EQ(f.heap->oom_policy().calls, 1) << "no change, no second call";
  }
  expect_served_after_the_policy_frees<Heap<CacheDroppingOom, kLean>>();
  {
    auto memory = std::make_unique<std::byte[]>(4096 + 16 * 1024);
    Heap<DrippingOom, kLean> heap;
    ASSERT_TRUE(heap.claim(Span{memory.get(), 4096}));
    heap.oom_policy().spare = memory.get() + 4096;
    EXPECT_EQ(heap.allocate(8000), nullptr);
    EXPECT_EQ(heap.oom_policy().calls, static_cast<int>(keel::kMaxOomRetries))
        << "each claim is progress, up to the retry bound";
    EXPECT_TRUE(heap.validate());
  }
}

// Issue 10: a heap's initial state is all zero bytes, so a constinit heap costs no flash for a
// copy of it (.bss, not .data), with every option.
constinit Heap<> g_zero_default;
constinit Heap<keel::FailOnOom, keel::HeapOptions{.checking = keel::Checking::full,
                                                  .tags = true,
                                                  .histogram = true,
                                                  .hardened = true}>
    g_zero_all_options;
// And with the small-heap bins (HeapOptions::largest_block, docs/design.md section 13).
constinit Heap<keel::FailOnOom, keel::HeapOptions{.largest_block = 64 * 1024}> g_zero_small;
constinit Heap<keel::FailOnOom, keel::HeapOptions{.checking = keel::Checking::full,
                                                  .tags = true,
                                                  .histogram = true,
                                                  .hardened = true,
                                                  .largest_block = 4096}>
    g_zero_small_all_options;
template <typename H>
bool all_zero(const H& heap) {
  unsigned char bytes[sizeof(H)];
  std::memcpy(bytes, static_cast<const void*>(&heap), sizeof(H));
  for (unsigned char byte : bytes) {
    if (byte != 0) {
      return false;
    }
  }
  return true;
}

TEST(State, InitialStateIsAllZero) {
  EXPECT_TRUE(all_zero(g_zero_default));
  EXPECT_TRUE(all_zero(g_zero_all_options));
  EXPECT_TRUE(all_zero(g_zero_small));
  EXPECT_TRUE(all_zero(g_zero_small_all_options));
  // And a heap whose last region was released is empty again (Faults.* check that it then
  // refuses every pointer).
  auto memory = std::make_unique<std::byte[]>(4096);
  Heap<> heap;
  const auto region = heap.claim(Span{memory.get(), 4096});
  ASSERT_TRUE(region);
  ASSERT_TRUE(heap.truncate(region.extent(), Span{}));
  EXPECT_EQ(heap.allocate(8), nullptr);
  EXPECT_TRUE(heap.validate());
}

// Only hardened and fully checked heaps keep a secret (and the flag of a broken link): the
// default heap, and keel.h's, carry neither (docs/design.md 13).
TEST(State, OnlyGuardedHeapsKeepASecret) {
  using Hardened = Heap<keel::FailOnOom, keel::HeapOptions{.hardened = true}>;
  using Full = Heap<keel::FailOnOom, keel::HeapOptions{.checking = keel::Checking::full}>;
  EXPECT_GE(sizeof(Hardened), sizeof(Heap<>) + sizeof(std::uint32_t));
  EXPECT_GE(sizeof(Full), sizeof(Heap<>) + sizeof(std::uint32_t));
  // The call is accepted either way before the first claim, and refused after it.
  Heap<> plain;
  EXPECT_TRUE(plain.set_secret(0x1234));
  Fixture<Full> full(4096);
  EXPECT_FALSE(full.heap->set_secret(0x1234));
}

alignas(16) std::byte g_reserve[32 * 1024];
// A global heap that needs no set-up: constant-initialised, it claims its reserve on first use.
constinit Heap<keel::ClaimOnOom> g_global_heap{keel::ClaimOnOom{Span{g_reserve}}};

TEST(OutOfMemory, ClaimOnOomServesTheFirstRequest) {
  EXPECT_FALSE(g_global_heap.oom_policy().claimed());
  void* block = g_global_heap.allocate(100);
  ASSERT_NE(block, nullptr);
  EXPECT_TRUE(g_global_heap.oom_policy().claimed());
  EXPECT_EQ(g_global_heap.statistics().region_count, 1U);
  EXPECT_EQ(g_global_heap.allocate(64 * 1024), nullptr);  // the reserve is used only once
  g_global_heap.free(block);
  EXPECT_TRUE(g_global_heap.validate());
}

struct GrowingOom {
  std::byte* spare = nullptr;
  std::size_t spare_bytes = 0;
  template <typename H>
  keel::OomAction on_oom(H& heap, std::size_t /*size*/, std::size_t /*align*/) {
    if (spare == nullptr) {
      return keel::OomAction::give_up;
    }
    const bool ok = heap.claim(Span{spare, spare_bytes}).ok();
    spare = nullptr;
    return ok ? keel::OomAction::retry : keel::OomAction::give_up;
  }
};

TEST(OutOfMemory, PolicyMayClaimASecondRegion) {
  // Both regions from one buffer: on 64-bit targets all regions of a heap lie within one 16 GiB
  // window (docs/design.md section 4), which separate host allocations need not.
  auto memory = std::make_unique<std::byte[]>(4096 + 64 * 1024);
  Heap<GrowingOom> heap;
  ASSERT_TRUE(heap.claim(Span{memory.get(), 4096}));
  heap.oom_policy().spare = memory.get() + 4096;
  heap.oom_policy().spare_bytes = 64 * 1024;
  void* big = heap.allocate(20000);
  ASSERT_NE(big, nullptr);
  EXPECT_GE(address(big), address(memory.get() + 4096));
  EXPECT_EQ(heap.statistics().region_count, 2U);
  heap.free(big);
  EXPECT_TRUE(heap.validate());
}

}  // namespace
