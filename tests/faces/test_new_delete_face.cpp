// Tests of keel::new_delete: every form of operator new and delete lands in the application's
// global heap (tests/faces/global_heap.cpp), and a failed new follows keel/global.hpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "faces/global_heap.hpp"
#include "keel/global.hpp"

namespace {

using keel_test::g_global_arena;
using keel_test::g_global_heap;
using keel_test::in_global_arena;

std::size_t live_allocations() {
  return g_global_heap.statistics().live_allocations;
}

bool aligned_to(const void* pointer, std::size_t align) {
  return reinterpret_cast<std::uintptr_t>(pointer) % align == 0;
}

void* volatile g_sink;
volatile std::size_t g_size_max = SIZE_MAX;

struct alignas(128) Wide {
  unsigned char bytes[200];
};

// Calls each form through the operator functions themselves, so that the compiler cannot elide
// or merge them.
TEST(NewDeleteFace, EveryFormUsesTheGlobalHeap) {
  const std::size_t before = live_allocations();
  const std::align_val_t wide{256};
  void* pointers[] = {
      ::operator new(10),
      ::operator new[](20),
      ::operator new(30, std::nothrow),
      ::operator new[](40, std::nothrow),
      ::operator new(50, wide),
      ::operator new[](60, wide),
      ::operator new(70, wide, std::nothrow),
      ::operator new[](80, wide, std::nothrow),
  };
  for (void* pointer : pointers) {
    ASSERT_NE(pointer, nullptr);
    EXPECT_TRUE(in_global_arena(pointer));
    EXPECT_TRUE(aligned_to(pointer, __STDCPP_DEFAULT_NEW_ALIGNMENT__));
  }
  for (int i = 4; i < 8; ++i) {
    EXPECT_TRUE(aligned_to(pointers[i], 256)) << i;
  }
  EXPECT_EQ(live_allocations(), before + 8);
  ::operator delete(pointers[0]);
  ::operator delete[](pointers[1]);
  ::operator delete(pointers[2], std::nothrow);
  ::operator delete[](pointers[3], std::nothrow);
  ::operator delete(pointers[4], wide);
  ::operator delete[](pointers[5], std::size_t{60}, wide);
  ::operator delete(pointers[6], wide, std::nothrow);
  ::operator delete[](pointers[7], wide, std::nothrow);
  EXPECT_EQ(live_allocations(), before);

  void* sized = ::operator new(90);
  ::operator delete (sized, std::size_t{90});
  void* sized_array = ::operator new[](90);
  ::operator delete[](sized_array, std::size_t{90});
  void* sized_aligned = ::operator new(90, wide);
  ::operator delete (sized_aligned, std::size_t{90}, wide);
  void* aligned_array = ::operator new[](90, wide);
  ::operator delete[](aligned_array, wide);
  EXPECT_EQ(live_allocations(), before);
}

TEST(NewDeleteFace, ExpressionsAndContainers) {
  const std::size_t before = live_allocations();
  auto* wide = new Wide{};
  EXPECT_TRUE(in_global_arena(wide));
  EXPECT_TRUE(aligned_to(wide, alignof(Wide)));
  auto* wides = new Wide[3];
  EXPECT_TRUE(in_global_arena(wides));  // observed, so clang cannot elide the new[] and delete[]
  EXPECT_TRUE(aligned_to(wides, alignof(Wide)));
  EXPECT_EQ(live_allocations(), before + 2);
  delete[] wides;
  delete wide;

  {
    std::vector<int> numbers(1000, 7);
    std::map<int, std::string> names{{1, std::string(100, 'a')}, {2, std::string(200, 'b')}};
    auto shared = std::make_shared<Wide>();
    EXPECT_TRUE(in_global_arena(numbers.data()));
    EXPECT_TRUE(in_global_arena(names.at(2).data()));
    EXPECT_TRUE(in_global_arena(shared.get()));
    EXPECT_GE(live_allocations(), before + 5);
  }
  EXPECT_EQ(live_allocations(), before);
}

TEST(NewDeleteFace, ZeroSizeNewGivesUniquePointers) {
  void* first = ::operator new(0);
  void* second = ::operator new(0);
  EXPECT_NE(first, second);
  ::operator delete(first);
  ::operator delete(second);
}

TEST(NewDeleteFace, NothrowNewReturnsNull) {
  EXPECT_EQ(::operator new(g_size_max - 4096, std::nothrow), nullptr);
  EXPECT_EQ(::operator new[](g_size_max / 2, std::align_val_t{64}, std::nothrow), nullptr);
}

int g_handler_calls = 0;
void count_and_return(std::size_t /*size*/, std::size_t /*align*/) {
  ++g_handler_calls;
}

TEST(NewDeleteFace, FailedNewCallsTheHandlerThenThrows) {
  EXPECT_EQ(keel::set_new_failure_handler(&count_and_return), nullptr);
  g_handler_calls = 0;
  EXPECT_THROW(g_sink = ::operator new(g_size_max - 4096), std::bad_alloc);
  EXPECT_EQ(g_handler_calls, static_cast<int>(keel::kMaxNewRetries));
  EXPECT_EQ(keel::set_new_failure_handler(nullptr), &count_and_return);
  g_handler_calls = 0;
  EXPECT_THROW(g_sink = ::operator new[](g_size_max - 4096), std::bad_alloc);
  EXPECT_EQ(g_handler_calls, 0) << "no handler installed: straight to bad_alloc";
}

// A second reserve, handed to the heap by the failure handler.
alignas(64) std::byte g_extra_arena[keel_test::kGlobalArenaBytes * 2];

void claim_more(std::size_t /*size*/, std::size_t /*align*/) {
  ++g_handler_calls;
  const bool claimed = g_global_heap.with_lock(
      [](auto& heap) { return heap.claim(keel::Span{g_extra_arena}).ok(); });
  EXPECT_TRUE(claimed);
}

TEST(NewDeleteFace, HandlerThatFindsMemoryLetsNewSucceed) {
  keel::set_new_failure_handler(&claim_more);
  g_handler_calls = 0;
  // More than the first reserve holds in all: only the second one can serve it.
  const std::size_t size = keel_test::kGlobalArenaBytes + 4096;
  void* big = ::operator new(size);
  EXPECT_EQ(g_handler_calls, 1);
  auto* bytes = static_cast<std::byte*>(big);
  EXPECT_TRUE(bytes >= g_extra_arena && bytes + size <= g_extra_arena + sizeof g_extra_arena);
  ::operator delete(big);
  keel::set_new_failure_handler(nullptr);
  (void)g_global_arena;
}

}  // namespace
