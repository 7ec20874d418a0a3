// Tests of keel::Allocator<T, H> and keel::MemoryResource<H> with standard containers.
#include <gtest/gtest.h>

#include <map>
#include <memory_resource>
#include <string>
#include <type_traits>
#include <vector>

#include "keel/adapters/allocator.hpp"
#include "keel/adapters/memory_resource.hpp"
#include "keel/heap.hpp"

namespace {

using Heap = keel::Heap<>;
template <typename T>
using HeapAllocator = keel::Allocator<T, Heap>;

alignas(64) std::byte g_arena_a[512 * 1024];
alignas(64) std::byte g_arena_b[512 * 1024];

class AdapterTest : public ::testing::Test {
 protected:
  AdapterTest() {
    (void)heap_a_.claim(keel::Span{g_arena_a});
    (void)heap_b_.claim(keel::Span{g_arena_b});
  }
  std::size_t live_a() const { return heap_a_.statistics().live_allocations; }
  std::size_t live_b() const { return heap_b_.statistics().live_allocations; }
  static bool in(const void* pointer, const std::byte (&arena)[512 * 1024]) {
    const auto* byte = static_cast<const std::byte*>(pointer);
    return byte >= arena && byte < arena + sizeof arena;
  }
  Heap heap_a_;
  Heap heap_b_;
};

static_assert(std::is_nothrow_copy_constructible_v<HeapAllocator<int>>);
static_assert(!HeapAllocator<int>::is_always_equal::value);
static_assert(keel::Allocator<int>::is_always_equal::value);
static_assert(std::is_empty_v<keel::Allocator<int>>, "the global allocator carries no state");
static_assert(sizeof(HeapAllocator<int>) == sizeof(void*));
static_assert(std::is_same_v<std::allocator_traits<HeapAllocator<int>>::rebind_alloc<double>,
                             HeapAllocator<double>>);

TEST_F(AdapterTest, VectorMapAndStringUseTheirHeap) {
  {
    std::vector<int, HeapAllocator<int>> numbers{HeapAllocator<int>{heap_a_}};
    for (int i = 0; i < 10000; ++i) {
      numbers.push_back(i);
    }
    EXPECT_TRUE(in(numbers.data(), g_arena_a));
    EXPECT_EQ(numbers[9999], 9999);

    using Text = std::basic_string<char, std::char_traits<char>, HeapAllocator<char>>;
    using Pair = std::pair<const int, Text>;
    std::map<int, Text, std::less<>, HeapAllocator<Pair>> names{HeapAllocator<Pair>{heap_b_}};
    for (int i = 0; i < 200; ++i) {
      names.emplace(i, Text(100 + static_cast<std::size_t>(i), 'k', HeapAllocator<char>{heap_b_}));
    }
    EXPECT_EQ(names.at(150).size(), 250U);
    EXPECT_TRUE(in(names.at(150).data(), g_arena_b));
    EXPECT_GE(live_b(), 400U) << "200 nodes and 200 long strings";
    EXPECT_EQ(live_a(), 1U);
  }
  EXPECT_EQ(live_a(), 0U);
  EXPECT_EQ(live_b(), 0U);
  EXPECT_TRUE(heap_a_.validate());
  EXPECT_TRUE(heap_b_.validate());
}

TEST_F(AdapterTest, EqualityFollowsTheHeapAndPropagates) {
  const HeapAllocator<int> a{heap_a_};
  const HeapAllocator<long> rebound{a};
  EXPECT_TRUE(a == rebound);
  EXPECT_FALSE(a == HeapAllocator<int>{heap_b_});

  std::vector<int, HeapAllocator<int>> from_a({1, 2, 3}, HeapAllocator<int>{heap_a_});
  std::vector<int, HeapAllocator<int>> from_b({4, 5}, HeapAllocator<int>{heap_b_});
  from_b = std::move(from_a);  // propagates: from_b now uses heap a, and heap b's block is freed
  EXPECT_TRUE(from_b.get_allocator() == HeapAllocator<int>{heap_a_});
  EXPECT_EQ(live_b(), 0U);
  from_b.push_back(6);
  EXPECT_TRUE(in(from_b.data(), g_arena_a));
}

TEST_F(AdapterTest, AllocatorThrowsWhenTheHeapIsFull) {
  HeapAllocator<std::byte> allocator{heap_a_};
  EXPECT_THROW((void)allocator.allocate(sizeof g_arena_a), std::bad_alloc);
  EXPECT_THROW((void)HeapAllocator<double>{heap_a_}.allocate(SIZE_MAX / 4), std::bad_alloc)
      << "count * sizeof(T) overflows";
  std::vector<int, HeapAllocator<int>> numbers{HeapAllocator<int>{heap_a_}};
  EXPECT_THROW(numbers.resize(sizeof g_arena_a), std::bad_alloc);
  EXPECT_TRUE(heap_a_.validate());
}

struct alignas(64) Wide {
  double values[3];
};

TEST_F(AdapterTest, OverAlignedElements) {
  std::vector<Wide, HeapAllocator<Wide>> wides(10, Wide{}, HeapAllocator<Wide>{heap_a_});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(wides.data()) % 64, 0U);
}

TEST_F(AdapterTest, MemoryResourceServesPmrContainers) {
  keel::MemoryResource<Heap> resource_a{heap_a_};
  keel::MemoryResource<Heap> also_a{heap_a_};
  keel::MemoryResource<Heap> resource_b{heap_b_};
  EXPECT_TRUE(resource_a.is_equal(also_a));
  EXPECT_FALSE(resource_a.is_equal(resource_b));
  EXPECT_FALSE(resource_a.is_equal(*std::pmr::new_delete_resource()));
  {
    std::pmr::vector<std::pmr::string> lines{&resource_a};
    for (int i = 0; i < 500; ++i) {
      lines.emplace_back(std::string(64, static_cast<char>('a' + i % 26)));
    }
    EXPECT_TRUE(in(lines.data(), g_arena_a));
    EXPECT_TRUE(in(lines[499].data(), g_arena_a)) << "strings inherit the resource";
    std::pmr::unsynchronized_pool_resource pools{&resource_b};
    std::pmr::map<int, int> numbers{&pools};
    for (int i = 0; i < 1000; ++i) {
      numbers[i] = i;
    }
    EXPECT_GT(live_b(), 0U) << "the pool resource draws its chunks from keel";
  }
  EXPECT_EQ(live_a(), 0U);
  EXPECT_EQ(live_b(), 0U);
  void* aligned = resource_a.allocate(100, 256);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 256, 0U);
  resource_a.deallocate(aligned, 100, 256);
  EXPECT_THROW((void)resource_a.allocate(sizeof g_arena_a), std::bad_alloc);
}

}  // namespace
