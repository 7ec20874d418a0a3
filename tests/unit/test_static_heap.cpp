// A heap as kernels and firmware declare it: a constinit global (README's example), a member of
// another class, a constinit Locked heap. Compiling this file is half the test: clang 14 rejected
// each of these forms while Heap chose its destructor with a requires-clause (issue 11).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "keel/detail/tools.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "keel/oom.hpp"

namespace {

// Outside the builds that tell ASan or valgrind about blocks, a heap has a trivial destructor:
// a global heap then registers nothing to run at exit.
static_assert(std::is_trivially_destructible_v<keel::Heap<>> != keel::detail::tools::kActive);
static_assert(std::is_trivially_destructible_v<keel::Heap<keel::ClaimOnOom>> !=
              keel::detail::tools::kActive);

alignas(16) constinit std::byte g_arena[64 * 1024];
constinit keel::Heap<keel::ClaimOnOom> g_heap{keel::ClaimOnOom{keel::Span{g_arena}}};

alignas(16) constinit std::byte g_shared_arena[16 * 1024];
constinit keel::Locked<keel::Heap<keel::ClaimOnOom>, keel::SpinLock> g_shared{
    keel::ClaimOnOom{keel::Span{g_shared_arena}}};

struct Device {
  keel::Heap<> heap;
  alignas(16) std::byte memory[8 * 1024];
};

TEST(StaticHeap, ReadmeExample) {
  void* message = g_heap.allocate(200);
  ASSERT_NE(message, nullptr);  // the first allocate claims the arena through the OOM policy
  EXPECT_TRUE(g_heap.oom_policy().claimed());
  void* page = g_heap.allocate(4096, 4096);
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(page) % 4096, 0U);
  message = g_heap.reallocate(message, 400);
  ASSERT_NE(message, nullptr);
  g_heap.free(page);
  g_heap.free(message);
  EXPECT_EQ(g_heap.statistics().live_allocations, 0U);
  EXPECT_TRUE(g_heap.validate());
}

TEST(StaticHeap, LockedGlobal) {
  void* block = g_shared.allocate(100);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(g_shared.statistics().live_allocations, 1U);
  g_shared.free(block);
  EXPECT_EQ(g_shared.statistics().live_allocations, 0U);
}

TEST(StaticHeap, MemberOfAnotherObject) {
  auto* device = new Device{};
  ASSERT_TRUE(device->heap.claim(keel::Span{device->memory}));
  void* block = device->heap.allocate(64);
  EXPECT_NE(block, nullptr);
  device->heap.free(block);
  EXPECT_TRUE(device->heap.validate());
  delete device;  // in tool builds, the heap hands its region back before the memory goes
}

}  // namespace
