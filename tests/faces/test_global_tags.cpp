// Tests that the global faces tag each block with the code that asked for it: operator new,
// malloc and its family, and Allocator<T> pass their return address to keel::global, and
// KEEL_GLOBAL_HEAP passes it through keel::Locked to a heap built with HeapOptions::tags
// (tests/faces/global_heap.hpp). leak_report() then names that code.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "faces/global_heap.hpp"
#include "keel/adapters/allocator.hpp"

namespace {

using keel_test::g_global_heap;

// Each maker calls one face and does something after the call, so that the call is not a tail
// call: its return address lies inside the maker.
void* volatile g_sink;

[[gnu::noinline]] void* make_with_malloc() {
  void* pointer = std::malloc(40);
  g_sink = pointer;
  return pointer;
}
[[gnu::noinline]] void* make_with_calloc() {
  void* pointer = std::calloc(3, 16);
  g_sink = pointer;
  return pointer;
}
[[gnu::noinline]] void* make_with_realloc(void* old) {
  void* pointer = std::realloc(old, 4000);  // grows: a new block, tagged anew
  g_sink = pointer;
  return pointer;
}
[[gnu::noinline]] void* make_with_new() {
  void* pointer = ::operator new(48);
  g_sink = pointer;
  return pointer;
}
[[gnu::noinline]] void* make_with_allocator() {
  void* pointer = keel::Allocator<int>{}.allocate(10);
  g_sink = pointer;
  return pointer;
}

keel::AllocationTag tag_of(const void* pointer) {
  keel::AllocationTag found{};
  g_global_heap.with_lock([&](auto& heap) {
    heap.walk([&](const keel::BlockInfo& block) {
      if (block.used && block.address == pointer) {
        found = block.tag;
      }
    });
    return 0;
  });
  return found;
}

/// Whether `tag` is a code address (line 0) within the first bytes of `function`.
testing::AssertionResult tagged_inside(const void* pointer, const void* function) {
  const keel::AllocationTag tag = tag_of(pointer);
  const auto start = reinterpret_cast<std::uintptr_t>(function);
  const auto address = reinterpret_cast<std::uintptr_t>(tag.file);
  if (tag.line == 0 && address > start && address < start + 512) {
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "tag " << static_cast<const void*>(tag.file) << " line "
                                     << tag.line << ", maker at " << function;
}

TEST(GlobalTags, EachFaceTagsItsCaller) {
  void* from_malloc = make_with_malloc();
  void* from_calloc = make_with_calloc();
  void* from_new = make_with_new();
  void* from_allocator = make_with_allocator();
  EXPECT_TRUE(tagged_inside(from_malloc, reinterpret_cast<const void*>(&make_with_malloc)));
  EXPECT_TRUE(tagged_inside(from_calloc, reinterpret_cast<const void*>(&make_with_calloc)));
  EXPECT_TRUE(tagged_inside(from_new, reinterpret_cast<const void*>(&make_with_new)));
  EXPECT_TRUE(tagged_inside(from_allocator, reinterpret_cast<const void*>(&make_with_allocator)));
  void* grown = make_with_realloc(from_malloc);
  ASSERT_NE(grown, nullptr);
  EXPECT_TRUE(tagged_inside(grown, reinterpret_cast<const void*>(&make_with_realloc)));
  std::free(grown);
  std::free(from_calloc);
  ::operator delete(from_new);
  keel::Allocator<int>{}.deallocate(static_cast<int*>(from_allocator), 10);
}

TEST(GlobalTags, LeakReportNamesTheCaller) {
  void* leaked = make_with_malloc();
  // The sink must not allocate: it runs under the global heap's lock.
  static char report[1 << 16];
  std::size_t used = 0;
  g_global_heap.with_lock([&](auto& heap) {
    return heap.leak_report([&](const char* text, std::size_t length) {
      for (std::size_t i = 0; i < length && used + 1 < sizeof report; ++i) {
        report[used++] = text[i];
      }
    });
  });
  report[used] = '\0';
  char site[40];  // as leak_report writes it: zero-padded hex
  std::snprintf(site, sizeof site, "code 0x%0*jx", static_cast<int>(sizeof(void*) * 2),
                static_cast<std::uintmax_t>(reinterpret_cast<std::uintptr_t>(tag_of(leaked).file)));
  EXPECT_NE(std::strstr(report, site), nullptr) << report;
  std::free(leaked);
}

}  // namespace
