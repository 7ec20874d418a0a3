// Multi-threaded stress of keel::CpuCached (keel/cpu_cache.hpp), meant for ThreadSanitizer (the
// host-tsan preset runs it) as well as the plain host builds. Four worker threads play four CPUs
// (tests/support/thread_cpu.hpp): they allocate, reallocate and free blocks of many sizes in a
// heap small enough to run out (so that the caches are reclaimed under pressure, from every
// thread), write a pattern over every byte they own and check it before letting go, and hand
// blocks to each other through a mailbox, so that most blocks are freed on another CPU than the
// one that allocated them. A fifth thread meanwhile drains CPUs' caches, takes statistics and
// checks that they add up, runs validate() and walks the heap, and grows and shrinks the region.
// At the end every block is freed, the caches drained, and the heap is as it began.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "keel/cpu_cache.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "support/mailbox.hpp"
#include "support/thread_cpu.hpp"

namespace {

using keel_test::fill;
using keel_test::intact;
using keel_test::Mailbox;
using keel_test::Owned;

using keel::Span;
using keel_test::ThreadCpu;
using Front = keel::CpuCached<keel::Heap<>, keel::SpinLock, ThreadCpu>;

constexpr unsigned kWorkers = ThreadCpu::kMaxCpus;
constexpr std::size_t kBufferBytes = 512 * 1024;
constexpr unsigned kRoundsPerInspection = 1000;

struct Results {
  std::atomic<std::uint64_t> allocations{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> corrupted{0};
  std::atomic<std::uint64_t> cross_frees{0};
  std::atomic<std::uint64_t> inspections{0};
  std::atomic<std::uint64_t> drained{0};
  std::atomic<std::uint64_t> invalid{0};
};

void worker(Front& front, Mailbox& mailbox, Results& results, unsigned cpu, unsigned rounds) {
  ThreadCpu::set(cpu);
  std::mt19937 random(cpu * 7919U + 3U);
  std::vector<Owned> mine;
  const auto tag = [&] { return static_cast<unsigned char>(random() | 1U); };
  const auto let_go = [&](const Owned& block) {
    if (!intact(block)) {
      ++results.corrupted;
    }
    front.free(block.pointer);
  };
  for (unsigned round = 0; round < rounds; ++round) {
    // Stay at most two inspections ahead of the inspector, so that it runs all along.
    while (round / kRoundsPerInspection > results.inspections.load(std::memory_order_relaxed) + 2) {
      std::this_thread::yield();
    }
    const auto pick = static_cast<unsigned>(random() % 100);
    if (pick < 40 || mine.empty()) {
      const std::size_t size = random() % 16 == 0 ? random() % 5000 : random() % 400;
      const std::size_t align = random() % 8 == 0 ? std::size_t{64} : keel::kDefaultAlignment;
      Owned block{static_cast<unsigned char*>(pick % 7 == 0 ? front.allocate_zeroed(1, size, align)
                                                            : front.allocate(size, align)),
                  size, align, tag()};
      if (block.pointer == nullptr) {
        ++results.failures;
        continue;
      }
      ++results.allocations;
      if (reinterpret_cast<std::uintptr_t>(block.pointer) % align != 0) {
        ++results.corrupted;
      }
      fill(block);
      mine.push_back(block);
    } else if (pick < 70) {
      const std::size_t index = random() % mine.size();
      let_go(mine[index]);
      mine[index] = mine.back();
      mine.pop_back();
    } else if (pick < 78) {
      Owned& block = mine[random() % mine.size()];
      if (!intact(block)) {
        ++results.corrupted;
      }
      const std::size_t size = 1 + random() % 700;
      auto* moved = static_cast<unsigned char*>(front.reallocate(block.pointer, size, block.align));
      if (moved == nullptr) {
        ++results.failures;
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
    } else if (pick < 88) {
      mailbox.post(mine.back());  // another CPU checks and frees it
      mine.pop_back();
    } else {
      Owned block{};
      if (mailbox.take(block)) {
        let_go(block);
        ++results.cross_frees;
      }
    }
  }
  for (const Owned& block : mine) {
    let_go(block);
  }
  // A CPU going offline gives its cache back, from its own thread.
  results.drained.fetch_add(front.drain(cpu), std::memory_order_relaxed);
}

/// The smallest span holding both `a` and `b`.
Span hull(Span a, Span b) {
  std::byte* low = a.data < b.data ? a.data : b.data;
  std::byte* high = a.end() > b.end() ? a.end() : b.end();
  return Span{low, static_cast<std::size_t>(high - low)};
}

/// While the workers run: drains CPUs, checks the statistics' identities, validates, walks, and
/// moves the region's ends. Plays a CPU of its own (past the workers'), as the inspections
/// mask it: it allocates nothing.
void inspector(Front& front, Span buffer, Span core, Span& extent,
               const std::atomic<unsigned>& workers_left, Results& results) {
  ThreadCpu::set(ThreadCpu::kMaxCpus);
  std::mt19937 random(99);
  while (workers_left.load(std::memory_order_acquire) != 0) {
    results.drained.fetch_add(front.drain(random() % kWorkers), std::memory_order_relaxed);
    const keel::CacheStatistics s = front.statistics();
    if (s.heap.bytes_in_use != s.bytes_in_use + s.bytes_cached ||
        s.heap.live_allocations != s.live_allocations + s.blocks_cached ||
        s.blocks_cached > kWorkers * Front::kClasses * Front::kCapacity) {
      ++results.invalid;
    }
    if (!front.validate().ok() || !front.check()) {
      ++results.invalid;
    }
    std::size_t used = 0;
    front.walk([&](const keel::BlockInfo& info) { used += info.used ? 1 : 0; });
    (void)used;
    front.with_lock([&](auto& heap) {
      const auto least = heap.reserved(extent);
      if (least.ok() && random() % 2 == 0) {
        // Never below `core`: the workers keep some memory, and meet pressure now and then.
        const auto cut = heap.truncate(extent, hull(least.extent(), core));
        extent = cut.ok() ? cut.extent() : extent;
      } else {
        const auto grown = heap.extend(extent, buffer);
        extent = grown.ok() ? grown.extent() : extent;
      }
    });
    ++results.inspections;
    std::this_thread::yield();
  }
}

TEST(CpuCacheThreads, FourCpusCrossFreesUnderPressure) {
  constexpr unsigned kRounds = 120000;
  auto memory = std::make_unique<std::byte[]>(kBufferBytes);
  auto front = std::make_unique<Front>();
  const Span buffer{memory.get(), kBufferBytes};
  Span extent = front->with_lock([&](auto& heap) {
    return heap.claim(Span{memory.get() + kBufferBytes / 4, kBufferBytes / 2}).extent();
  });
  ASSERT_FALSE(extent.empty());

  Mailbox mailbox;
  Results results;
  std::atomic<unsigned> workers_left{kWorkers};
  std::vector<std::thread> threads;
  for (unsigned cpu = 0; cpu < kWorkers; ++cpu) {
    threads.emplace_back([&, cpu] {
      worker(*front, mailbox, results, cpu, kRounds);
      workers_left.fetch_sub(1, std::memory_order_release);
    });
  }
  const Span core{memory.get() + kBufferBytes / 2 - kBufferBytes / 8, kBufferBytes / 4};
  std::thread inspecting([&] { inspector(*front, buffer, core, extent, workers_left, results); });
  for (std::thread& thread : threads) {
    thread.join();
  }
  inspecting.join();
  Owned left{};
  while (mailbox.take(left)) {
    EXPECT_TRUE(intact(left));
    front->free(left.pointer);
  }
  front->drain_all();

  EXPECT_EQ(results.corrupted.load(), 0U) << "a block's contents changed under its owner";
  EXPECT_EQ(results.invalid.load(), 0U) << "validate() or the statistics failed meanwhile";
  const keel::CacheStatistics s = front->statistics();
  EXPECT_EQ(s.live_allocations, 0U);
  EXPECT_EQ(s.blocks_cached, 0U);
  EXPECT_EQ(s.heap.live_allocations, 0U);
  EXPECT_EQ(s.heap.bytes_in_use, 0U);
  EXPECT_EQ(s.heap.free_blocks, 1U);
  EXPECT_EQ(s.total_allocations, results.allocations.load());
  EXPECT_EQ(s.failed_allocations, results.failures.load());
  EXPECT_TRUE(front->validate().ok());
  // The run must have met what it is for: cache hits, cross-CPU frees, pressure, inspections.
  EXPECT_GT(s.cache_hits, s.total_allocations / 2);
  EXPECT_GT(results.cross_frees.load(), 1000U);
  EXPECT_GT(s.reclaims, 0U) << "the heap never ran out";
  EXPECT_GT(results.inspections.load(), 50U);
  std::printf(
      "%llu allocations (%llu from a cache), %llu failed, %llu cross-CPU frees, %llu reclaims, "
      "%llu refills, %llu flushes, %llu blocks drained, %llu inspections\n",
      static_cast<unsigned long long>(s.total_allocations),
      static_cast<unsigned long long>(s.cache_hits),
      static_cast<unsigned long long>(s.failed_allocations),
      static_cast<unsigned long long>(results.cross_frees.load()),
      static_cast<unsigned long long>(s.reclaims), static_cast<unsigned long long>(s.refills),
      static_cast<unsigned long long>(s.flushes),
      static_cast<unsigned long long>(results.drained.load()),
      static_cast<unsigned long long>(results.inspections.load()));
}

}  // namespace
