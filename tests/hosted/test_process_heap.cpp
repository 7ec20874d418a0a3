// Tests of keel::hosted::ProcessHeap (ports/linux): pages of large freed blocks go back to the
// kernel (checked with mincore), usable_size reads a live block without the lock and agrees with
// Heap::usable_size at every checking level, bad pointers are reported once, threads share it.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "faces/fault_recorder.hpp"
#include "keel/hosted/pages.hpp"
#include "keel/hosted/process_heap.hpp"

namespace {

using keel::Checking;
using keel::HeapOptions;
using keel::Span;
using keel::hosted::ProcessHeap;

constexpr std::size_t kMiB = std::size_t{1} << 20U;

/// A process heap on the (C++) heap, whose reservation is given back when it goes.
template <typename P>
class Owned {
 public:
  template <typename... Args>
  explicit Owned(Args... args) : heap_(std::make_unique<P>(args...)) {}
  ~Owned() {
    const Span reservation = heap_->unlocked().oom_policy().reservation();
    heap_.reset();
    keel::hosted::release_address_space(reservation);
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  P* operator->() { return heap_.get(); }
  P& operator*() { return *heap_; }

 private:
  std::unique_ptr<P> heap_;
};

/// Pages of [data, data + size) that are backed by memory now (mincore).
std::size_t resident_pages(const void* data, std::size_t size) {
  const std::size_t page = keel::hosted::page_size();
  const auto first = reinterpret_cast<std::uintptr_t>(data) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + size + page - 1) & ~(page - 1);
  std::vector<unsigned char> flags((end - first) / page);
  if (mincore(reinterpret_cast<void*>(first), end - first, flags.data()) != 0) {
    ADD_FAILURE() << "mincore: " << std::strerror(errno);
    return 0;
  }
  std::size_t resident = 0;
  for (unsigned char flag : flags) {
    resident += flag & 1U;
  }
  return resident;
}

std::size_t pages_in(std::size_t bytes) {
  return bytes / keel::hosted::page_size();
}

using NoneHeap = ProcessHeap<HeapOptions{.checking = Checking::none}>;
using BasicHeap = ProcessHeap<>;
using TaggedHeap = ProcessHeap<HeapOptions{.tags = true}>;
using FullHeap = ProcessHeap<HeapOptions{.checking = Checking::full, .tags = true}>;

template <typename P>
class ProcessHeapLevels : public ::testing::Test {};
using Levels = ::testing::Types<NoneHeap, BasicHeap, TaggedHeap, FullHeap>;
TYPED_TEST_SUITE(ProcessHeapLevels, Levels);

TYPED_TEST(ProcessHeapLevels, UsableSizeWithoutTheLockAgreesWithTheHeap) {
  Owned<TypeParam> heap;
  std::mt19937 random(7);
  std::vector<void*> blocks;
  for (int i = 0; i < 3000; ++i) {
    const std::size_t size = i < 600 ? static_cast<std::size_t>(i) : random() % 70000;
    const std::size_t align = std::size_t{8} << (random() % 10);
    void* block = heap->allocate(size, align);
    ASSERT_NE(block, nullptr);
    const std::size_t checked =
        heap->with_lock([block](auto& locked) { return locked.usable_size(block); });
    ASSERT_EQ(heap->usable_size(block), checked) << size << " at " << align;
    ASSERT_GE(checked, size);
    if constexpr (TypeParam::HeapType::options.checking == Checking::full) {
      ASSERT_EQ(checked, size) << "Checking::full: exactly the size asked for";
    }
    blocks.push_back(block);
    if (random() % 2 == 0) {  // resized blocks keep agreeing
      const std::size_t index = random() % blocks.size();
      void* resized = heap->reallocate(blocks[index], random() % 5000 + 1, align);
      ASSERT_NE(resized, nullptr);
      blocks[index] = resized;
      ASSERT_EQ(heap->usable_size(resized),
                heap->with_lock([resized](auto& locked) { return locked.usable_size(resized); }));
    }
  }
  EXPECT_EQ(heap->usable_size(nullptr), 0U);
  for (void* block : blocks) {
    heap->free(block);
  }
  EXPECT_TRUE(heap->with_lock([](auto& locked) { return locked.validate().ok(); }));
}

TYPED_TEST(ProcessHeapLevels, FreeOfALargeBlock) {
  Owned<TypeParam> heap;
  void* guard = heap->allocate(64);  // a used block in front: the large block merges with none
  const std::size_t size = 8 * kMiB;
  auto* block = static_cast<unsigned char*>(heap->allocate(size));
  void* after = heap->allocate(64);
  ASSERT_NE(block, nullptr);
  std::memset(block, 0xC3, size);
  ASSERT_EQ(resident_pages(block, size), pages_in(size) + 1) << "all pages written";
  heap->free(block);
  const std::size_t kept = resident_pages(block, size);
  if constexpr (TypeParam::kReturnsPages) {
    EXPECT_LE(kept, 2U) << "the block's first and last page hold a free block's metadata";
  } else {
    EXPECT_EQ(kept, pages_in(size) + 1) << "Checking::full keeps the freed fill in place";
  }
  EXPECT_TRUE(heap->with_lock([](auto& locked) { return locked.validate().ok(); }));
  // The memory is the heap's again: handed out, written and checked.
  auto* again = static_cast<unsigned char*>(heap->allocate(size));
  ASSERT_NE(again, nullptr);
  std::memset(again, 0x3C, size);
  EXPECT_EQ(again[size / 2], 0x3C);
  heap->free(again);
  heap->free(guard);
  heap->free(after);
  EXPECT_TRUE(heap->with_lock([](auto& locked) { return locked.validate().ok(); }));
}

TEST(ProcessHeap, SmallBlocksKeepTheirPages) {
  Owned<BasicHeap> heap;
  const std::size_t size = keel::hosted::kDefaultReturnThreshold - 4096;
  auto* block = static_cast<unsigned char*>(heap->allocate(size));
  void* after = heap->allocate(64);
  ASSERT_NE(block, nullptr);
  std::memset(block, 0x11, size);
  heap->free(block);
  EXPECT_GE(resident_pages(block, size), pages_in(size)) << "below the threshold: kept";
  heap->free(after);
}

TEST(ProcessHeap, TheThresholdIsTheHeaps) {
  Owned<BasicHeap> never(SIZE_MAX);
  const std::size_t size = 4 * kMiB;
  auto* block = static_cast<unsigned char*>(never->allocate(size));
  ASSERT_NE(block, nullptr);
  std::memset(block, 0x22, size);
  never->free(block);
  EXPECT_GE(resident_pages(block, size), pages_in(size));

  Owned<BasicHeap> eager(16 * 1024);
  block = static_cast<unsigned char*>(eager->allocate(64 * 1024));
  void* after = eager->allocate(64);
  ASSERT_NE(block, nullptr);
  std::memset(block, 0x22, 64 * 1024);
  eager->free(block);
  EXPECT_LE(resident_pages(block, 64 * 1024), 2U);
  eager->free(after);
}

TEST(ProcessHeap, ReallocateMovingALargeBlockGivesItsPagesBack) {
  Owned<BasicHeap> heap;
  const std::size_t size = 4 * kMiB;
  auto* block = static_cast<unsigned char*>(heap->allocate(size));
  void* blocker = heap->allocate(64);  // right behind the block: it cannot grow in place
  ASSERT_NE(block, nullptr);
  for (std::size_t i = 0; i < size; ++i) {
    block[i] = static_cast<unsigned char>(i * 7);
  }
  auto* moved = static_cast<unsigned char*>(heap->reallocate(block, 2 * size));
  ASSERT_NE(moved, nullptr);
  ASSERT_NE(moved, block);
  for (std::size_t i = 0; i < size; i += 4093) {
    ASSERT_EQ(moved[i], static_cast<unsigned char>(i * 7)) << i;
  }
  EXPECT_EQ(moved[size - 1], static_cast<unsigned char>((size - 1) * 7));
  EXPECT_LE(resident_pages(block, size), 2U);
  EXPECT_EQ(heap->statistics().live_allocations, 2U);

  // Shrinking is in place, and growing back into the tail it freed too.
  heap->free(blocker);
  void* shrunk = heap->reallocate(moved, size);
  EXPECT_EQ(shrunk, moved);
  void* grown = heap->reallocate(shrunk, 2 * size);
  EXPECT_EQ(grown, moved);
  EXPECT_EQ(heap->reallocate(grown, 0), nullptr) << "size 0 frees";
  EXPECT_EQ(heap->statistics().live_allocations, 0U);
  EXPECT_TRUE(heap->with_lock([](auto& locked) { return locked.validate().ok(); }));
}

TEST(ProcessHeap, ReallocateFailureKeepsTheLargeBlock) {
  Owned<BasicHeap> heap;
  auto* block = static_cast<unsigned char*>(heap->allocate(2 * kMiB));
  void* blocker = heap->allocate(64);
  ASSERT_NE(block, nullptr);
  block[0] = 0x77;
  EXPECT_EQ(heap->reallocate(block, BasicHeap::HeapType::max_request + 1), nullptr);
  EXPECT_EQ(block[0], 0x77);
  EXPECT_EQ(heap->usable_size(block),
            heap->with_lock([block](auto& locked) { return locked.usable_size(block); }));
  heap->free(block);
  heap->free(blocker);
}

TEST(ProcessHeap, BadPointersAreReportedOnce) {
  Owned<BasicHeap> heap;
  const keel_test::FaultRecorder recorder;
  void* large = heap->allocate(2 * kMiB);
  void* small = heap->allocate(100);
  void* after = heap->allocate(100);
  ASSERT_NE(large, nullptr);
  heap->free(large);
  heap->free(large);
  EXPECT_EQ(recorder.count(), 1);
  EXPECT_EQ(recorder.last(), keel::Fault::double_free);
  heap->free(small);
  heap->free(small);
  EXPECT_EQ(recorder.count(), 2);
  EXPECT_EQ(recorder.last(), keel::Fault::double_free);
  alignas(16) static char foreign[64];
  heap->free(foreign + 16);
  EXPECT_EQ(recorder.count(), 3);
  EXPECT_EQ(recorder.last(), keel::Fault::foreign_pointer);
  EXPECT_EQ(heap->reallocate(large, 4 * kMiB), nullptr);
  EXPECT_EQ(recorder.count(), 4);
  EXPECT_EQ(recorder.last(), keel::Fault::double_free);
  heap->free(after);
  EXPECT_TRUE(heap->with_lock([](auto& locked) { return locked.validate().ok(); }));
}

TEST(ProcessHeap, FreeLeavesErrnoAlone) {
  Owned<BasicHeap> heap;
  void* large = heap->allocate(2 * kMiB);
  void* small = heap->allocate(10);
  errno = 1234;
  heap->free(large);
  heap->free(small);
  EXPECT_EQ(errno, 1234);
}

TEST(ProcessHeap, ThreadsShareIt) {
  Owned<BasicHeap> heap(64 * 1024);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t) {
    threads.emplace_back([&heap, t] {
      std::mt19937 random(t + 100);
      std::vector<std::pair<unsigned char*, std::size_t>> blocks;
      for (int step = 0; step < 20000; ++step) {
        const unsigned action = random() % 8;
        if (blocks.size() < 300 && action < 4) {
          const std::size_t size = random() % 32 == 0 ? 65536 + random() % 300000 : random() % 600;
          auto* block = static_cast<unsigned char*>(heap->allocate(size));
          if (block == nullptr) {
            ADD_FAILURE() << "out of memory";
            return;
          }
          std::memset(block, static_cast<int>(t), size);
          blocks.emplace_back(block, size);
        } else if (!blocks.empty() && action < 6) {
          auto& [block, size] = blocks[random() % blocks.size()];
          const std::size_t new_size =
              random() % 4 == 0 ? 70000 + random() % 100000 : 1 + random() % 900;
          auto* resized = static_cast<unsigned char*>(heap->reallocate(block, new_size));
          if (resized == nullptr) {
            ADD_FAILURE() << "reallocate failed";
            return;
          }
          const std::size_t kept = size < new_size ? size : new_size;
          for (std::size_t i = 0; i < kept; i += 97) {
            if (resized[i] != t) {
              ADD_FAILURE() << "contents lost at " << i;
              return;
            }
          }
          std::memset(resized, static_cast<int>(t), new_size);
          block = resized;
          size = new_size;
        } else if (!blocks.empty()) {
          const std::size_t index = random() % blocks.size();
          if (heap->usable_size(blocks[index].first) < blocks[index].second) {
            ADD_FAILURE() << "usable_size below the size asked for";
            return;
          }
          heap->free(blocks[index].first);
          blocks[index] = blocks.back();
          blocks.pop_back();
        }
      }
      for (const auto& [block, size] : blocks) {
        heap->free(block);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_TRUE(heap->with_lock([](auto& locked) { return locked.validate().ok(); }));
  EXPECT_EQ(heap->statistics().live_allocations, 0U);
}

}  // namespace
