// Tests of keel::libc: the C malloc family, glibc's own allocations and newlib's reentrant forms
// all land in the application's global heap (tests/faces/global_heap.cpp).
#include <gtest/gtest.h>
#include <malloc.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "faces/global_heap.hpp"
#include "keel/fault.hpp"

struct _reent;
extern "C" {
void* _malloc_r(_reent* reent, std::size_t size);
void _free_r(_reent* reent, void* pointer);
void* _calloc_r(_reent* reent, std::size_t count, std::size_t size);
void* _realloc_r(_reent* reent, void* pointer, std::size_t size);
void* _memalign_r(_reent* reent, std::size_t align, std::size_t size);
std::size_t _malloc_usable_size_r(_reent* reent, void* pointer);
}

namespace {

using keel_test::g_global_heap;
using keel_test::in_global_arena;

std::size_t live_allocations() {
  return g_global_heap.statistics().live_allocations;
}

bool aligned_to(const void* pointer, std::size_t align) {
  return reinterpret_cast<std::uintptr_t>(pointer) % align == 0;
}

// Opaque to the optimiser, so that a malloc/free pair is not removed and impossible sizes are
// not rejected at compile time.
void* volatile g_sink;
volatile std::size_t g_size_max = SIZE_MAX;

TEST(LibcFace, MallocAndFreeUseTheGlobalHeap) {
  const std::size_t before = live_allocations();
  void* pointer = std::malloc(100);
  g_sink = pointer;
  ASSERT_NE(pointer, nullptr);
  EXPECT_TRUE(in_global_arena(pointer));
  EXPECT_TRUE(aligned_to(pointer, alignof(std::max_align_t)));
  EXPECT_EQ(live_allocations(), before + 1);
  EXPECT_GE(malloc_usable_size(pointer), 100U);
  std::memset(pointer, 0xA5, 100);
  std::free(pointer);
  EXPECT_EQ(live_allocations(), before);
  std::free(nullptr);
  EXPECT_EQ(live_allocations(), before);
}

TEST(LibcFace, MallocZeroGivesUniquePointers) {
  void* first = std::malloc(0);
  void* second = std::malloc(0);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  std::free(first);
  std::free(second);
}

TEST(LibcFace, CallocZeroesAndChecksOverflow) {
  // Dirty a block first so that calloc has something to clear.
  auto* dirty = static_cast<unsigned char*>(std::malloc(256));
  ASSERT_NE(dirty, nullptr);
  std::memset(dirty, 0xFF, 256);
  std::free(dirty);
  auto* zeroed = static_cast<unsigned char*>(std::calloc(32, 8));
  ASSERT_NE(zeroed, nullptr);
  EXPECT_TRUE(in_global_arena(zeroed));
  for (std::size_t i = 0; i < 256; ++i) {
    ASSERT_EQ(zeroed[i], 0) << "byte " << i;
  }
  std::free(zeroed);

  errno = 0;
  const std::size_t half = g_size_max / 2 + 2;
  g_sink = std::calloc(half, 2);
  EXPECT_EQ(g_sink, nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(LibcFace, ReallocKeepsContents) {
  auto* text = static_cast<char*>(std::realloc(nullptr, 16));
  ASSERT_NE(text, nullptr);
  std::memcpy(text, "keel realloc", 13);
  for (std::size_t size = 32; size <= 64 * 1024; size *= 2) {
    text = static_cast<char*>(std::realloc(text, size));
    ASSERT_NE(text, nullptr);
    ASSERT_TRUE(in_global_arena(text));
    ASSERT_STREQ(text, "keel realloc");
  }
  text = static_cast<char*>(std::realloc(text, 13));
  ASSERT_NE(text, nullptr);
  EXPECT_STREQ(text, "keel realloc");

  errno = 0;
  char* volatile kept = text;  // the compiler cannot know that a failed realloc keeps the block
  void* failed = std::realloc(text, g_size_max - 64);
  EXPECT_EQ(failed, nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_STREQ(kept, "keel realloc") << "a failed realloc leaves the block as it was";
  std::free(kept);
}

TEST(LibcFace, ReallocarrayChecksOverflow) {
  errno = 0;
  void* failed = reallocarray(nullptr, g_size_max / 4, 8);
  EXPECT_EQ(failed, nullptr);
  EXPECT_EQ(errno, ENOMEM);
  void* array = reallocarray(nullptr, 10, 8);
  ASSERT_NE(array, nullptr);
  EXPECT_TRUE(in_global_arena(array));
  std::free(array);
}

TEST(LibcFace, AlignedForms) {
  for (std::size_t align = 1; align <= 4096; align *= 2) {
    void* aligned = std::aligned_alloc(align, 3 * align);
    ASSERT_NE(aligned, nullptr);
    EXPECT_TRUE(aligned_to(aligned, align)) << align;
    EXPECT_TRUE(in_global_arena(aligned));
    std::free(aligned);
    void* old_style = memalign(align, 100);
    ASSERT_NE(old_style, nullptr);
    EXPECT_TRUE(aligned_to(old_style, align)) << align;
    std::free(old_style);
  }
  void* pointer = nullptr;
  ASSERT_EQ(posix_memalign(&pointer, 256, 1000), 0);
  EXPECT_TRUE(aligned_to(pointer, 256));
  EXPECT_TRUE(in_global_arena(pointer));
  std::free(pointer);

  void* untouched = &pointer;
  EXPECT_EQ(posix_memalign(&untouched, 24, 100), EINVAL);
  EXPECT_EQ(posix_memalign(&untouched, 2, 100), EINVAL) << "less than sizeof(void*)";
  EXPECT_EQ(untouched, &pointer);
  // aligned_alloc and memalign round an alignment up to a power of two, as glibc 2.36 does
  // (tests/hosted/test_libc_compat.cpp has the rest of glibc's rules).
  void* rounded = std::aligned_alloc(24, 100);
  ASSERT_NE(rounded, nullptr);
  EXPECT_TRUE(aligned_to(rounded, 32));
  std::free(rounded);

  void* page = valloc(10);
  ASSERT_NE(page, nullptr);
  EXPECT_TRUE(aligned_to(page, 4096));
  std::free(page);
  void* whole_page = pvalloc(10);
  ASSERT_NE(whole_page, nullptr);
  EXPECT_TRUE(aligned_to(whole_page, 4096));
  EXPECT_GE(malloc_usable_size(whole_page), 4096U);
  std::free(whole_page);
}

TEST(LibcFace, TheCLibrarysOwnAllocationsLandInKeel) {
  char* copy = strdup("from glibc's strdup");
  ASSERT_NE(copy, nullptr);
  EXPECT_TRUE(in_global_arena(copy));
  std::free(copy);

  char* buffer = nullptr;
  std::size_t length = 0;
  FILE* stream = open_memstream(&buffer, &length);
  ASSERT_NE(stream, nullptr);
  for (int i = 0; i < 1000; ++i) {
    std::fprintf(stream, "line %d of a memory stream\n", i);
  }
  std::fclose(stream);
  ASSERT_NE(buffer, nullptr);
  EXPECT_GT(length, 20000U);
  EXPECT_TRUE(in_global_arena(buffer));
  std::free(buffer);

  std::string text(1000, 'k');  // libstdc++ through operator new (keel::new_delete)
  EXPECT_TRUE(in_global_arena(text.data()));
}

TEST(LibcFace, NewlibReentrantForms) {
  const std::size_t before = live_allocations();
  void* block = _malloc_r(nullptr, 40);
  ASSERT_NE(block, nullptr);
  EXPECT_TRUE(in_global_arena(block));
  EXPECT_GE(_malloc_usable_size_r(nullptr, block), 40U);
  std::memcpy(block, "newlib", 7);
  block = _realloc_r(nullptr, block, 4000);
  ASSERT_NE(block, nullptr);
  EXPECT_STREQ(static_cast<char*>(block), "newlib");
  _free_r(nullptr, block);
  auto* zeroed = static_cast<unsigned char*>(_calloc_r(nullptr, 10, 10));
  ASSERT_NE(zeroed, nullptr);
  EXPECT_EQ(zeroed[99], 0);
  _free_r(nullptr, zeroed);
  void* aligned = _memalign_r(nullptr, 128, 10);
  ASSERT_NE(aligned, nullptr);
  EXPECT_TRUE(aligned_to(aligned, 128));
  _free_r(nullptr, aligned);
  EXPECT_EQ(live_allocations(), before);
}

keel::Fault g_last_fault{};
const void* g_last_fault_address = nullptr;
int g_fault_count = 0;

void record_fault(keel::Fault fault, const void* address) noexcept {
  g_last_fault = fault;
  g_last_fault_address = address;
  ++g_fault_count;
}

TEST(LibcFace, BadFreeGoesToTheFaultHook) {
  const keel::FaultHandler previous = keel::set_fault_handler(&record_fault);
  g_fault_count = 0;
  alignas(16) static char not_from_malloc[64];
  g_sink = not_from_malloc;  // through a volatile: the compiler would reject the call otherwise
  std::free(g_sink);
  EXPECT_EQ(g_fault_count, 1);
  EXPECT_EQ(g_last_fault, keel::Fault::foreign_pointer);
  EXPECT_EQ(g_last_fault_address, not_from_malloc);

  g_sink = std::malloc(64);
  std::free(g_sink);
  std::free(g_sink);
  EXPECT_EQ(g_fault_count, 2);
  EXPECT_EQ(g_last_fault, keel::Fault::double_free);
  keel::set_fault_handler(previous);
  EXPECT_TRUE(g_global_heap.with_lock([](auto& heap) { return heap.validate().ok(); }));
}

}  // namespace
