// The C API (keel.h): the same outcomes as the C++ heap, through the C names.
#include "keel/keel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>

namespace {

TEST(CApi, InitAllocateFreeAndStats) {
  auto memory = std::make_unique<unsigned char[]>(64 * 1024);
  EXPECT_EQ(keel_init(nullptr, 4096), nullptr);
  EXPECT_EQ(keel_init(memory.get(), keel_heap_size()), nullptr);
  keel_heap* heap = keel_init(memory.get(), 64 * 1024);
  ASSERT_NE(heap, nullptr);

  char* text = static_cast<char*>(keel_malloc(heap, 100));
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(text) % alignof(std::max_align_t), 0U);
  std::strcpy(text, "keel");
  EXPECT_GE(keel_usable_size(heap, text), 100U);
  text = static_cast<char*>(keel_realloc(heap, text, 3000));
  ASSERT_NE(text, nullptr);
  EXPECT_STREQ(text, "keel");

  auto* zeros = static_cast<unsigned char*>(keel_calloc(heap, 16, 16));
  ASSERT_NE(zeros, nullptr);
  for (int i = 0; i < 256; ++i) {
    ASSERT_EQ(zeros[i], 0);
  }
  volatile size_t huge = std::numeric_limits<size_t>::max();  // out of the compiler's sight
  EXPECT_EQ(keel_calloc(heap, huge, 2), nullptr);

  void* aligned = keel_aligned_alloc(heap, 1024, 50);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 1024, 0U);
  EXPECT_EQ(keel_aligned_alloc(heap, 24, 50), nullptr);

  keel_stats stats;
  keel_get_stats(heap, &stats);
  EXPECT_EQ(stats.live_allocations, 3U);
  EXPECT_EQ(stats.failed_allocations, 2U);
  const void* where = nullptr;
  EXPECT_EQ(keel_validate(heap, &where), 0);

  EXPECT_EQ(keel_realloc(heap, text, 0), nullptr);  // frees
  keel_free(heap, zeros);
  keel_free(heap, aligned);
  keel_free(heap, nullptr);
  keel_get_stats(heap, &stats);
  EXPECT_EQ(stats.live_allocations, 0U);
  EXPECT_EQ(stats.bytes_in_use, 0U);
  EXPECT_EQ(keel_usable_size(heap, nullptr), 0U);
}

TEST(CApi, ClaimCodes) {
  auto memory = std::make_unique<unsigned char[]>(16 * 1024);
  keel_heap* heap = keel_init(memory.get(), 8 * 1024);
  ASSERT_NE(heap, nullptr);
  EXPECT_EQ(keel_claim(heap, nullptr, 100), 1);
  EXPECT_EQ(keel_claim(heap, memory.get() + 8192, 10), 2);
  EXPECT_EQ(keel_claim(heap, memory.get() + 4096, 8192), 3);
  EXPECT_EQ(keel_claim(heap, memory.get() + 8192, 8192), 0);
  void* big = keel_malloc(heap, 7000);  // only the second region can serve it
  EXPECT_NE(big, nullptr);
  keel_free(heap, big);
}

}  // namespace
