// Multi-threaded stress of Locked<Heap, Lock>, meant to run under ThreadSanitizer (preset
// host-tsan) as well as in the plain host builds. Worker threads allocate, reallocate, zero and
// free blocks of many sizes and alignments in a heap small enough to run out, write a pattern
// over every byte they own and check it before letting go, and hand blocks to each other through
// a mailbox so that a block written by one thread is freed by another. One more thread shrinks
// the region to what its live blocks need and grows it back, again and again, while the workers
// run. At the end every block is freed, the heap validates, and the counters add up: each
// successful allocation is counted once, and nothing is lost.
//
// Locks: keel::SpinLock, std::mutex, and a lock made only of std::atomic_flag wait/notify (the
// "mutex-like" lock a port might write), all through the same BasicLockable interface.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "support/mailbox.hpp"

namespace {

using keel_test::fill;
using keel_test::intact;
using keel_test::Mailbox;
using keel_test::Owned;

using keel::Span;

/// A sleeping lock on C++20 atomic wait/notify: what a port's own mutex might look like.
class WaitLock {
 public:
  void lock() noexcept {
    while (flag_.test_and_set(std::memory_order_acquire)) {
      flag_.wait(true, std::memory_order_relaxed);
    }
  }
  void unlock() noexcept {
    flag_.clear(std::memory_order_release);
    flag_.notify_one();
  }

 private:
  std::atomic_flag flag_;
};

constexpr unsigned kWorkers = 4;
constexpr unsigned kRoundsPerMove = 100;
constexpr std::size_t kBufferBytes = 256 * 1024;

struct Results {
  std::atomic<std::uint64_t> allocations{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> corrupted{0};
  std::atomic<std::uint64_t> region_changes{0};
  std::atomic<std::uint64_t> invalid{0};
  std::atomic<std::uint64_t> moves{0};
  std::atomic<std::uint64_t> rounds{0};  // summed over the workers
};

template <typename Shared>
void worker(Shared& shared, Mailbox& mailbox, Results& results, unsigned index, unsigned rounds) {
  std::mt19937 random(index * 7919U + 1U);
  std::vector<Owned> mine;
  const auto tag = [&] { return static_cast<unsigned char>(random() | 1U); };
  const auto let_go = [&](const Owned& block) {
    if (!intact(block)) {
      ++results.corrupted;
    }
    shared.free(block.pointer);
  };
  for (unsigned round = 0; round < rounds; ++round) {
    // Stay at most two region moves ahead of the mover, so that it runs all along.
    while (round / kRoundsPerMove > results.moves.load(std::memory_order_relaxed) + 2) {
      std::this_thread::yield();
    }
    results.rounds.fetch_add(1, std::memory_order_relaxed);
    const auto pick = static_cast<unsigned>(random() % 100);
    if (pick < 40 || mine.empty()) {
      const std::size_t size = random() % 8 == 0 ? random() % 6000 : random() % 300;
      const std::size_t align = std::size_t{1} << (random() % 8);
      Owned block{static_cast<unsigned char*>(pick % 5 == 0 ? shared.allocate_zeroed(1, size, align)
                                                            : shared.allocate(size, align)),
                  size, align, tag()};
      if (block.pointer == nullptr) {
        ++results.failures;
        continue;
      }
      ++results.allocations;
      if (reinterpret_cast<std::uintptr_t>(block.pointer) % align != 0 ||
          shared.usable_size(block.pointer) < size) {
        ++results.corrupted;
      }
      fill(block);
      mine.push_back(block);
    } else if (pick < 65) {
      const std::size_t index_to_free = random() % mine.size();
      let_go(mine[index_to_free]);
      mine[index_to_free] = mine.back();
      mine.pop_back();
    } else if (pick < 80) {
      Owned& block = mine[random() % mine.size()];
      if (!intact(block)) {
        ++results.corrupted;
      }
      const std::size_t size = 1 + random() % 700;
      auto* moved =
          static_cast<unsigned char*>(shared.reallocate(block.pointer, size, block.align));
      if (moved == nullptr) {
        ++results.failures;  // the old block stays, untouched
        continue;
      }
      block.pointer = moved;
      block.size = block.size < size ? block.size : size;
      if (!intact(block)) {
        ++results.corrupted;
      }
      block.size = size;
      block.tag = tag();
      fill(block);
    } else if (pick < 90) {
      mailbox.post(mine.back());  // another thread checks and frees it
      mine.pop_back();
    } else {
      Owned block{};
      if (mailbox.take(block)) {
        let_go(block);
      }
    }
    if (round % 512 == 0) {
      (void)shared.statistics();  // readers of the counters race with nothing
    }
  }
  for (const Owned& block : mine) {
    let_go(block);
  }
}

/// The smallest span holding both `a` and `b`.
Span hull(Span a, Span b) {
  std::byte* low = a.data < b.data ? a.data : b.data;
  std::byte* high = a.end() > b.end() ? a.end() : b.end();
  return Span{low, static_cast<std::size_t>(high - low)};
}

/// Until the workers are done (they wait for it every kRoundsPerMove rounds): shrinks the region
/// to what its live blocks need (but never below `core`, so that the workers always have some
/// memory), then grows it back to the whole buffer. It waits in turn for the workers to have run
/// kRoundsPerMove rounds between two moves: an unfair lock (the atomic wait one) would otherwise
/// let it take the lock back again and again while the workers starve, which under
/// ThreadSanitizer on two cores made the test run for hours.
template <typename Shared>
void region_mover(Shared& shared, Span buffer, Span core, Span& extent,
                  const std::atomic<unsigned>& workers_left, Results& results) {
  while (workers_left.load(std::memory_order_acquire) != 0) {
    shared.with_lock([&](auto& heap) {
      const auto least = heap.reserved(extent);
      if (!least.ok()) {
        ++results.invalid;
        return;
      }
      const auto cut = heap.truncate(extent, hull(least.extent(), core));
      if (cut.ok()) {
        extent = cut.extent();
        ++results.region_changes;
      }
      if (!heap.validate().ok()) {
        ++results.invalid;
      }
    });
    std::this_thread::yield();
    shared.with_lock([&](auto& heap) {
      const auto grown = heap.extend(extent, buffer);
      if (grown.ok()) {
        extent = grown.extent();
        ++results.region_changes;
      }
      if (!heap.validate().ok()) {
        ++results.invalid;
      }
    });
    const std::uint64_t moves = results.moves.fetch_add(1, std::memory_order_relaxed) + 1;
    while (results.rounds.load(std::memory_order_relaxed) < moves * kRoundsPerMove &&
           workers_left.load(std::memory_order_acquire) != 0) {
      std::this_thread::yield();
    }
  }
}

template <typename Lock>
void stress(unsigned rounds) {
  using Shared = keel::Locked<keel::Heap<>, Lock>;
  auto memory = std::make_unique<std::byte[]>(kBufferBytes);
  auto shared = std::make_unique<Shared>();
  const Span buffer{memory.get(), kBufferBytes};
  // Start in the middle half, so that the region grows at both ends.
  Span extent =
      shared->unlocked().claim(Span{memory.get() + kBufferBytes / 4, kBufferBytes / 2}).extent();
  ASSERT_FALSE(extent.empty());

  Mailbox mailbox;
  Results results;
  std::atomic<unsigned> workers_left{kWorkers};
  const Span core{memory.get() + kBufferBytes / 2 - kBufferBytes / 8, kBufferBytes / 4};
  std::vector<std::thread> workers;
  for (unsigned index = 0; index < kWorkers; ++index) {
    workers.emplace_back([&, index] {
      worker(*shared, mailbox, results, index, rounds);
      workers_left.fetch_sub(1, std::memory_order_release);
    });
  }
  std::thread mover([&] { region_mover(*shared, buffer, core, extent, workers_left, results); });
  for (std::thread& thread : workers) {
    thread.join();
  }
  mover.join();
  Owned left{};
  while (mailbox.take(left)) {
    EXPECT_TRUE(intact(left));
    shared->free(left.pointer);
  }

  EXPECT_EQ(results.corrupted.load(), 0U) << "a block's contents changed under its owner";
  EXPECT_EQ(results.invalid.load(), 0U) << "validate() failed while the workers ran";
  const keel::Statistics stats = shared->statistics();
  EXPECT_EQ(stats.live_allocations, 0U);
  EXPECT_EQ(stats.bytes_in_use, 0U);
  EXPECT_EQ(stats.total_allocations, results.allocations.load());
  EXPECT_EQ(stats.failed_allocations, results.failures.load());
  EXPECT_EQ(stats.bytes_free + stats.bytes_overhead, stats.bytes_claimed) << "memory was lost";
  EXPECT_EQ(stats.free_blocks, 1U);
  EXPECT_TRUE(shared->with_lock([](auto& heap) { return heap.validate().ok(); }));
  // The run must have met contention, exhaustion and region changes.
  EXPECT_GT(results.failures.load(), 0U) << "the heap never ran out";
  EXPECT_GT(results.moves.load(), 50U) << "the region mover hardly ran";
  EXPECT_GT(results.region_changes.load(), results.moves.load() / 2);
  std::printf("%llu allocations, %llu failed, %llu region changes in %llu moves\n",
              static_cast<unsigned long long>(results.allocations.load()),
              static_cast<unsigned long long>(results.failures.load()),
              static_cast<unsigned long long>(results.region_changes.load()),
              static_cast<unsigned long long>(results.moves.load()));
}

constexpr unsigned kRounds = 100000;

TEST(Threads, SpinLock) {
  stress<keel::SpinLock>(kRounds);
}

TEST(Threads, StdMutex) {
  stress<std::mutex>(kRounds);
}

TEST(Threads, AtomicWaitLock) {
  stress<WaitLock>(kRounds);
}

}  // namespace
