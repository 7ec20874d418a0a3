// glibc compatibility of keel::libc (core/src/libc.cpp), with the whole test process on a
// keel::hosted::ProcessHeap (process_global_heap.cpp): memalign and aligned_alloc take any
// alignment as glibc 2.36 does, posix_memalign stays strict, malloc_usable_size answers while
// another thread holds the heap's lock, and the process can allocate GiB-sized blocks.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "hosted/process_global_heap.hpp"

struct _reent;
extern "C" void* _memalign_r(_reent* reent, std::size_t align, std::size_t size);

namespace {

using keel_test::g_process_heap;

// Opaque to the optimiser: alignments and sizes it would otherwise judge at compile time.
volatile std::size_t g_opaque_zero = 0;
std::size_t opaque(std::size_t value) {
  return value + g_opaque_zero;
}

bool aligned_to(const void* pointer, std::size_t align) {
  return reinterpret_cast<std::uintptr_t>(pointer) % align == 0;
}

bool in_process_heap(const void* pointer) {
  return g_process_heap.unlocked().oom_policy().contains(pointer);
}

TEST(LibcCompat, MemalignUpToMallocsAlignmentIsMalloc) {
  for (std::size_t align : {0U, 1U, 2U, 4U, 8U, 16U}) {
    void* block = memalign(opaque(align), 40);
    ASSERT_NE(block, nullptr) << align;
    EXPECT_TRUE(aligned_to(block, alignof(std::max_align_t))) << align;
    EXPECT_GE(malloc_usable_size(block), 40U);
    EXPECT_TRUE(in_process_heap(block));
    std::free(block);
  }
}

TEST(LibcCompat, MemalignRoundsAnAlignmentUpToAPowerOfTwo) {
  struct Case {
    std::size_t asked;
    std::size_t given;
  };
  for (const Case& c : {Case{17, 32}, Case{24, 32}, Case{48, 64}, Case{100, 128}, Case{3000, 4096},
                        Case{4097, 8192}}) {
    // Several blocks, so that one lands on the stronger alignment by chance at most once.
    void* blocks[8];
    for (void*& block : blocks) {
      block = memalign(opaque(c.asked), 24);
      ASSERT_NE(block, nullptr) << c.asked;
      EXPECT_TRUE(aligned_to(block, c.given)) << c.asked;
    }
    for (void* block : blocks) {
      std::free(block);
    }
  }
}

TEST(LibcCompat, AlignedAllocAsGlibc236) {
  void* three = std::aligned_alloc(opaque(3), 16);
  ASSERT_NE(three, nullptr) << "glibc 2.36's aligned_alloc is its memalign";
  EXPECT_TRUE(aligned_to(three, alignof(std::max_align_t)));
  void* zero = std::aligned_alloc(opaque(0), 100);
  ASSERT_NE(zero, nullptr);
  void* rounded = std::aligned_alloc(opaque(24), 100);
  ASSERT_NE(rounded, nullptr);
  EXPECT_TRUE(aligned_to(rounded, 32));
  void* newlib = _memalign_r(nullptr, opaque(24), 10);
  ASSERT_NE(newlib, nullptr);
  EXPECT_TRUE(aligned_to(newlib, 32));
  std::free(three);
  std::free(zero);
  std::free(rounded);
  std::free(newlib);
}

TEST(LibcCompat, OnlyImpossibleAlignmentsFail) {
  const std::size_t largest = opaque(SIZE_MAX / 2 + 1);  // the largest power of two
  errno = 0;
  EXPECT_EQ(memalign(largest + 1, 1), nullptr);
  EXPECT_EQ(errno, EINVAL) << "above the largest power of two: no block can have it";
  errno = 0;
  EXPECT_EQ(std::aligned_alloc(largest + 1, 1), nullptr);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(memalign(largest, 1), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "a power of two, too large to serve (glibc: ENOMEM too)";
}

TEST(LibcCompat, PosixMemalignStaysStrict) {
  void* untouched = &untouched;
  EXPECT_EQ(posix_memalign(&untouched, opaque(24), 10), EINVAL);
  EXPECT_EQ(posix_memalign(&untouched, opaque(0), 10), EINVAL);
  EXPECT_EQ(posix_memalign(&untouched, opaque(4), 10), EINVAL);
  EXPECT_EQ(untouched, &untouched);
  void* block = nullptr;
  ASSERT_EQ(posix_memalign(&block, opaque(64), 10), 0);
  EXPECT_TRUE(aligned_to(block, 64));
  std::free(block);
}

TEST(LibcCompat, MallocUsableSizeTakesNoLock) {
  void* block = std::malloc(1000);
  ASSERT_NE(block, nullptr);
  std::atomic<bool> go{false};
  std::atomic<bool> done{false};
  std::size_t size = 0;
  std::thread reader([&] {
    while (!go.load()) {
      std::this_thread::yield();
    }
    size = malloc_usable_size(block);
    done.store(true);
  });
  // Hold the heap's lock (nothing below may allocate) while the other thread asks.
  g_process_heap.lock().lock();
  go.store(true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const bool answered_under_the_lock = done.load();
  g_process_heap.lock().unlock();
  reader.join();
  EXPECT_TRUE(answered_under_the_lock) << "malloc_usable_size waited for the heap's lock";
  EXPECT_GE(size, 1000U);
  std::free(block);
}

TEST(LibcCompat, TheProcessRunsOnTheHostedHeap) {
  char* copy = strdup("glibc's strdup");
  ASSERT_NE(copy, nullptr);
  EXPECT_TRUE(in_process_heap(copy));
  std::free(copy);
  // A block larger than any static arena of the default code model (2 GiB).
  const std::size_t size = opaque(std::size_t{5} << 29U);  // 2.5 GiB, of which one page is used
  auto* big = static_cast<char*>(std::malloc(size));
  ASSERT_NE(big, nullptr);
  EXPECT_TRUE(in_process_heap(big));
  big[size - 1] = 'k';
  big = static_cast<char*>(std::realloc(big, size / 2));
  ASSERT_NE(big, nullptr);
  std::free(big);
  EXPECT_TRUE(g_process_heap.with_lock([](auto& heap) { return heap.validate().ok(); }));
}

}  // namespace
