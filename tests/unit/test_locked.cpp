// Locked<Heap, Lock>: the heap shared by threads through SpinLock and through std::mutex.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "keel/heap.hpp"
#include "keel/lock.hpp"

namespace {

template <typename Shared>
void hammer(Shared& shared, unsigned threads, unsigned rounds) {
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&shared, t, rounds] {
      std::vector<unsigned char*> mine;
      for (unsigned i = 0; i < rounds; ++i) {
        const std::size_t size = 16 + (i * 37 + t * 11) % 300;
        auto* block = static_cast<unsigned char*>(shared.allocate(size));
        if (block != nullptr) {
          std::memset(block, static_cast<int>(t), size);
          block[0] = static_cast<unsigned char>(t);
          mine.push_back(block);
        }
        if (mine.size() > 20 || (i % 7 == 0 && !mine.empty())) {
          ASSERT_EQ(mine.front()[0], t);
          shared.free(mine.front());
          mine.erase(mine.begin());
        }
      }
      for (unsigned char* block : mine) {
        ASSERT_EQ(block[0], t);
        shared.free(block);
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
}

TEST(Locked, SpinLockAcrossThreads) {
  auto arena = std::make_unique<std::byte[]>(1 << 20);
  auto shared = std::make_unique<keel::Locked<keel::Heap<>, keel::SpinLock>>();
  ASSERT_TRUE(shared->with_lock([&](auto& heap) {
    return heap.claim(keel::Span{arena.get(), 1 << 20}).ok();
  }));
  hammer(*shared, 4, 20000);
  EXPECT_TRUE(shared->with_lock([](auto& heap) { return heap.validate().ok(); }));
  EXPECT_EQ(shared->statistics().live_allocations, 0U);
  EXPECT_EQ(shared->statistics().total_allocations, 80000U);
}

TEST(Locked, StdMutexAcrossThreads) {
  auto arena = std::make_unique<std::byte[]>(1 << 20);
  auto shared = std::make_unique<keel::Locked<keel::Heap<>, std::mutex>>();
  ASSERT_TRUE(shared->unlocked().claim(keel::Span{arena.get(), 1 << 20}));
  hammer(*shared, 4, 20000);
  EXPECT_TRUE(shared->with_lock([](auto& heap) { return heap.validate().ok(); }));
  EXPECT_EQ(shared->statistics().live_allocations, 0U);
}

}  // namespace
