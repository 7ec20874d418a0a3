// keel::CpuCached (keel/cpu_cache.hpp): per-CPU caches over one heap. Most tests play several
// CPUs from one thread (ThreadCpu::set); the cross-thread test uses real threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "keel/cpu_cache.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "support/fault_log.hpp"
#include "support/thread_cpu.hpp"

namespace {

using keel_test::g_faults;
using keel_test::opaque;
using keel_test::record_fault;

using keel::CacheStatistics;
using keel::Fault;
using keel_test::ThreadCpu;

using Cached = keel::CpuCached<keel::Heap<>, keel::SpinLock, ThreadCpu>;
using CachedNoChecks = keel::CpuCached<
    keel::Heap<keel::FailOnOom, keel::HeapOptions{.checking = keel::Checking::none}>,
    keel::SpinLock, ThreadCpu>;
using FullyChecked = keel::CpuCached<
    keel::Heap<keel::FailOnOom, keel::HeapOptions{.checking = keel::Checking::full}>,
    keel::SpinLock, ThreadCpu>;

/// A front end over one arena, with faults recorded instead of trapping.
template <typename Front>
class Fixture {
 public:
  explicit Fixture(std::size_t bytes)
      : arena_(std::make_unique<std::byte[]>(bytes)), front_(std::make_unique<Front>()) {
    g_faults.clear();
    previous_ = keel::set_fault_handler(&record_fault);
    region_ =
        front_->with_lock([&](auto& heap) {
                return heap.claim(keel::Span{arena_.get(), bytes});
              })
            .extent();
    ThreadCpu::set(0);
  }
  ~Fixture() {
    keel::set_fault_handler(previous_);
    ThreadCpu::set(0);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  Front& operator*() { return *front_; }
  Front* operator->() { return front_.get(); }
  [[nodiscard]] keel::Span region() const { return region_; }

 private:
  std::unique_ptr<std::byte[]> arena_;
  std::unique_ptr<Front> front_;
  keel::Span region_{};
  keel::FaultHandler previous_ = nullptr;
};

/// What statistics() promises: the program's share of the heap is what the program holds. The
/// blocks come from a walk (which shows cached blocks as free); their bytes are the usable size
/// and the header, and a pad (one granule) for some of the aligned ones.
template <typename Front>
void expect_exact(Front& front, std::size_t program_live) {
  const CacheStatistics s = front.statistics();
  std::size_t blocks = 0;
  std::size_t bytes = 0;
  front.walk([&](const keel::BlockInfo& info) {
    blocks += info.used ? 1 : 0;
    bytes += info.used ? info.size + keel::detail::kHeaderBytes : 0;
  });
  EXPECT_EQ(s.live_allocations, program_live);
  EXPECT_EQ(blocks, program_live);
  EXPECT_GE(s.bytes_in_use, bytes);
  EXPECT_LE(s.bytes_in_use, bytes + blocks * keel::detail::kGranule);
  EXPECT_EQ(s.heap.bytes_in_use, s.bytes_in_use + s.bytes_cached);
  EXPECT_EQ(s.heap.live_allocations, s.live_allocations + s.blocks_cached);
}

std::size_t cached_blocks(Cached& front) {
  return front.statistics().blocks_cached;
}

TEST(CpuCache, SizeClassesRoundTrip) {
  for (keel::detail::Word granules = 2; granules <= 4096; ++granules) {
    const unsigned up = keel::detail::class_up(granules);
    const unsigned down = keel::detail::class_down(granules);
    ASSERT_GE(keel::detail::class_granules(up), granules);
    ASSERT_LE(keel::detail::class_granules(down), granules);
    ASSERT_TRUE(up == down || up == down + 1) << granules;
    if (up > 0) {
      ASSERT_LT(keel::detail::class_granules(up - 1), granules) << "class_up is the smallest";
    }
    // Above the exact classes, a class wastes less than an eighth of its block.
    ASSERT_LT((keel::detail::class_granules(up) - granules) * 8, keel::detail::class_granules(up));
  }
}

TEST(CpuCache, FreedBlockComesBackWithoutTheHeap) {
  Fixture<Cached> front(64 * 1024);
  void* first = front->allocate(100);
  ASSERT_NE(first, nullptr);
  const CacheStatistics after_refill = front->statistics();
  EXPECT_EQ(after_refill.refills, 1U);
  EXPECT_EQ(after_refill.blocks_cached, Cached::kBatch - 1);  // the rest of the batch
  front->free(first);
  void* again = front->allocate(100);
  EXPECT_EQ(again, first);  // LIFO: the block just freed
  const CacheStatistics s = front->statistics();
  EXPECT_EQ(s.cache_hits, 1U);
  EXPECT_EQ(s.refills, 1U);
  EXPECT_EQ(s.total_allocations, 2U);
  EXPECT_EQ(s.heap.total_allocations, Cached::kBatch);  // the heap saw only the refill
  expect_exact(*front, 1);
  front->free(again);
  EXPECT_TRUE(front->validate().ok());
}

TEST(CpuCache, LargeAndOverAlignedRequestsGoToTheHeap) {
  Fixture<Cached> front(256 * 1024);
  // Two granules above the largest class: a block one granule above it still serves the class.
  void* large = front->allocate(Cached::largest_cached + keel::detail::kGranule + 1);
  void* aligned = front->allocate(64, 256);
  ASSERT_NE(large, nullptr);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 256, 0U);
  EXPECT_EQ(front->statistics().refills, 0U);
  front->free(large);
  front->free(aligned);  // 256-aligned and small: cached
  const CacheStatistics s = front->statistics();
  EXPECT_EQ(s.blocks_cached, 1U);
  EXPECT_EQ(s.live_allocations, 0U);
  EXPECT_TRUE(front->validate().ok());
}

TEST(CpuCache, CrossThreadFreesLandInTheFreeingCpusCache) {
  Fixture<Cached> front(1024 * 1024);
  constexpr unsigned kBlocks = 200;
  std::vector<void*> blocks(kBlocks);
  std::thread producer([&] {
    ThreadCpu::set(1);
    for (unsigned i = 0; i < kBlocks; ++i) {
      blocks[i] = front->allocate(24 + i % 5 * 40);
      ASSERT_NE(blocks[i], nullptr);
      std::memset(blocks[i], 0x5A, 24);
    }
  });
  producer.join();
  const CacheStatistics made = front->statistics();
  EXPECT_EQ(made.live_allocations, kBlocks);
  std::thread consumer([&] {
    ThreadCpu::set(2);
    for (void* block : blocks) {
      front->free(block);
    }
    // Freed here, so served here: the first allocation of a freed size is a cache hit.
    const std::uint64_t hits = front->statistics().cache_hits;
    void* again = front->allocate(24);
    EXPECT_EQ(front->statistics().cache_hits, hits + 1);
    front->free(again);
  });
  consumer.join();
  const CacheStatistics freed = front->statistics();
  EXPECT_EQ(freed.live_allocations, 0U);
  EXPECT_GT(freed.blocks_cached, 0U);
  EXPECT_LE(freed.blocks_cached, 2 * 5 * Cached::kCapacity);  // CPUs 1 and 2, five classes
  EXPECT_GT(freed.flushes, 0U);  // CPU 2's classes filled up and gave batches back
  EXPECT_TRUE(front->validate().ok());
  expect_exact(*front, 0);
}

TEST(CpuCache, ReclaimsEveryCacheBeforeFailing) {
  // Fill a small heap with small blocks on CPU 1, free them there (they stay in CPU 1's cache
  // and hold most of the heap), then ask CPU 0 for one large block.
  Fixture<Cached> front(32 * 1024);
  ThreadCpu::set(1);
  std::vector<void*> small;
  for (void* block = front->allocate(200); block != nullptr; block = front->allocate(200)) {
    small.push_back(block);
    if (small.size() == Cached::kCapacity) {
      break;
    }
  }
  for (int i = 0; i < 4; ++i) {
    small.push_back(front->allocate(900));
  }
  for (void* block : small) {
    ASSERT_NE(block, nullptr);
    front->free(block);
  }
  const CacheStatistics before = front->statistics();
  ASSERT_GT(before.bytes_cached, 8 * 1024U);
  ThreadCpu::set(0);
  const std::size_t large = before.heap.bytes_free + before.bytes_cached / 2;
  void* block = front->allocate(large);
  ASSERT_NE(block, nullptr) << "the caches were not given back under pressure";
  const CacheStatistics after = front->statistics();
  EXPECT_EQ(after.reclaims, 1U);
  EXPECT_EQ(after.blocks_cached, 0U);
  EXPECT_EQ(after.live_allocations, 1U);
  front->free(block);
  // More than the heap holds: the caches go back and the request still fails, once.
  EXPECT_EQ(front->allocate(64 * 1024), nullptr);
  EXPECT_EQ(front->statistics().failed_allocations, 1U);
  EXPECT_TRUE(front->validate().ok());
}

TEST(CpuCache, ReallocateUnderPressureReclaimsToo) {
  // The block to grow comes first, then CPU 0's refill behind it, then CPU 3's blocks: only when
  // the caches are given back can it grow in place over all of them.
  Fixture<Cached> front(32 * 1024);
  void* block = front->allocate(16);
  std::memcpy(block, "keel", 5);
  ThreadCpu::set(3);
  std::vector<void*> small;
  for (unsigned i = 0; i < Cached::kCapacity; ++i) {
    small.push_back(front->allocate(400));
  }
  for (void* cached : small) {
    front->free(cached);
  }
  ThreadCpu::set(0);
  const CacheStatistics before = front->statistics();
  void* grown = front->reallocate(block, before.heap.bytes_free + before.bytes_cached / 2);
  ASSERT_NE(grown, nullptr);
  EXPECT_STREQ(static_cast<char*>(grown), "keel");
  EXPECT_EQ(front->statistics().reclaims, 1U);
  front->free(grown);
  EXPECT_TRUE(front->validate().ok());
}

TEST(CpuCache, DrainGivesOneCpusBlocksBack) {
  Fixture<Cached> front(256 * 1024);
  ThreadCpu::set(2);
  std::vector<void*> blocks;
  for (unsigned i = 0; i < 40; ++i) {
    blocks.push_back(front->allocate(16 + i * 8));
  }
  for (void* block : blocks) {
    front->free(block);
  }
  ThreadCpu::set(0);
  void* mine = front->allocate(32);  // CPU 0 has a cache too; drain(2) leaves it alone
  front->free(mine);
  const std::size_t on_cpu_0 = Cached::kBatch;
  const CacheStatistics before = front->statistics();
  ASSERT_GT(before.blocks_cached, on_cpu_0);
  EXPECT_EQ(front->drain(2), before.blocks_cached - on_cpu_0);
  EXPECT_EQ(front->drain(2), 0U);
  EXPECT_EQ(front->drain(99), 0U);  // not a CPU: nothing
  EXPECT_EQ(cached_blocks(*front), on_cpu_0);
  EXPECT_EQ(front->drain_all(), on_cpu_0);
  const CacheStatistics after = front->statistics();
  EXPECT_EQ(after.blocks_cached, 0U);
  EXPECT_EQ(after.bytes_cached, 0U);
  EXPECT_EQ(after.heap.live_allocations, 0U);
  EXPECT_EQ(after.heap.free_blocks, 1U);  // all merged again
  EXPECT_TRUE(front->validate().ok());
}

TEST(CpuCache, StatisticsStayExactThroughRandomWork) {
  Fixture<Cached> front(512 * 1024);
  std::mt19937 random(1234);
  std::vector<void*> live;
  std::uint64_t allocations = 0;
  for (int step = 0; step < 20000; ++step) {
    ThreadCpu::set(random() % ThreadCpu::kMaxCpus);
    if (live.empty() || random() % 3 != 0) {
      const std::size_t size = random() % 8 == 0 ? 1 + random() % 4000 : random() % 300;
      void* block = front->allocate(size, random() % 10 == 0 ? 64 : keel::kDefaultAlignment);
      if (block != nullptr) {
        std::memset(block, 0xA5, size);
        live.push_back(block);
        ++allocations;
      }
    } else {
      const std::size_t index = random() % live.size();
      if (random() % 5 == 0) {
        void* moved = front->reallocate(live[index], random() % 600 + 1);
        if (moved != nullptr) {
          live[index] = moved;
        }
      } else {
        front->free(live[index]);
        live[index] = live.back();
        live.pop_back();
      }
    }
    if (step % 97 == 0) {
      expect_exact(*front, live.size());
      ASSERT_TRUE(front->validate().ok()) << "step " << step;
    }
  }
  EXPECT_EQ(front->statistics().total_allocations, allocations);
  for (void* block : live) {
    front->free(block);
  }
  expect_exact(*front, 0);
  front->drain_all();
  const CacheStatistics s = front->statistics();
  EXPECT_EQ(s.heap.live_allocations, 0U);
  EXPECT_EQ(s.heap.bytes_in_use, 0U);
  EXPECT_TRUE(g_faults.empty());
}

TEST(CpuCache, ValidateFindsABrokenCacheList) {
  Fixture<Cached> front(64 * 1024);
  void* a = front->allocate(40);
  void* b = front->allocate(40);
  front->free(a);
  front->free(b);
  ASSERT_TRUE(front->validate().ok());
  // A write after free into a cached block, over its link (made with keel's unpoisoned accessor
  // inside a tools::Scope, so that AddressSanitizer and valgrind let it through to the check).
  const auto write_after_free = [](void* block, void* next) {
    const keel::detail::tools::Scope scope;
    keel::detail::set_cached_next(static_cast<std::byte*>(block), static_cast<std::byte*>(next));
  };
  write_after_free(b, static_cast<std::byte*>(b) + 8);
  const keel::ValidationResult result = front->validate();
  EXPECT_EQ(result.kind, keel::Violation::free_list_broken);
  EXPECT_EQ(result.address, static_cast<std::byte*>(b) + 8);
  // The allocation that would follow the link reports instead of handing out a wild pointer.
  EXPECT_EQ(front->allocate(40), nullptr);
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_EQ(g_faults[0].fault, Fault::corrupted_block);
  EXPECT_EQ(g_faults[0].address, b);
  write_after_free(b, a);
  EXPECT_TRUE(front->validate().ok()) << "repaired";
}

TEST(CpuCache, ValidateFindsAWrongCount) {
  Fixture<Cached> front(64 * 1024);
  void* a = front->allocate(40);
  front->free(a);
  // A mark overwritten: validate no longer counts the block as cached, and giving the cache
  // back stops there (reported) instead of handing the heap a block it cannot vouch for.
  std::byte* mark = static_cast<std::byte*>(a) + keel::detail::kCacheMarkOffset;
  const keel::detail::Word saved = [mark] {
    const keel::detail::tools::Scope scope;
    return keel::detail::load_word(mark);
  }();
  const auto write_after_free = [mark](keel::detail::Word value) {
    const keel::detail::tools::Scope scope;
    keel::detail::store_word(mark, value);
  };
  write_after_free(0);
  const keel::ValidationResult result = front->validate();
  EXPECT_EQ(result.kind, keel::Violation::free_list_broken);
  EXPECT_EQ(result.address, a);
  const std::size_t cached = front->statistics().blocks_cached;
  EXPECT_EQ(front->drain(0), 0U);
  EXPECT_EQ(front->statistics().blocks_cached, cached);
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_EQ(g_faults[0].fault, Fault::corrupted_block);
  write_after_free(saved);
  EXPECT_TRUE(front->validate().ok()) << "repaired";
  EXPECT_EQ(front->drain(0), cached);
}

TEST(CpuCache, DoubleFreeIntoACacheIsReported) {
  Fixture<Cached> front(64 * 1024);
  void* block = front->allocate(48);
  front->free(block);
  const CacheStatistics before = front->statistics();
  front->free(block);
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_EQ(g_faults[0].fault, Fault::double_free);
  EXPECT_EQ(g_faults[0].address, block);
  const CacheStatistics after = front->statistics();
  EXPECT_EQ(after.blocks_cached, before.blocks_cached);  // nothing changed
  EXPECT_TRUE(front->validate().ok());
  // Also from another CPU, and through reallocate and usable_size.
  ThreadCpu::set(3);
  front->free(block);
  EXPECT_EQ(front->reallocate(block, 100), nullptr);
  EXPECT_EQ(front->usable_size(block), 0U);
  ASSERT_EQ(g_faults.size(), 4U);
  for (const keel_test::LoggedFault& recorded : g_faults) {
    EXPECT_EQ(recorded.fault, Fault::double_free);
  }
  // Once the block is back in the heap, the heap's own check reports it.
  ThreadCpu::set(0);
  front->drain_all();
  front->free(block);
  ASSERT_EQ(g_faults.size(), 5U);
  EXPECT_EQ(g_faults[4].fault, Fault::double_free);
  EXPECT_TRUE(front->validate().ok());
}

TEST(CpuCache, ForeignAndInteriorPointersAreReported) {
  Fixture<Cached> front(64 * 1024);
  std::uint64_t outside[4] = {};
  front->free(opaque(&outside[1]));
  void* block = front->allocate(64);
  std::memset(block, 0, 64);  // what the interior pointers' "headers" read: not a block
  front->free(static_cast<std::byte*>(block) + 16);  // interior, 16-aligned
  front->free(static_cast<std::byte*>(block) + 8);   // interior, not cacheable: the heap checks
  ASSERT_EQ(g_faults.size(), 3U);
  EXPECT_EQ(g_faults[0].fault, Fault::foreign_pointer);
  EXPECT_EQ(g_faults[0].address, &outside[1]);
  EXPECT_EQ(g_faults[1].fault, Fault::invalid_pointer);
  // The heap's answer for 8 bytes in: a granule boundary with 8-byte granules (invalid), not
  // one with 16-byte granules (misaligned).
  EXPECT_EQ(g_faults[2].fault,
            keel::detail::kGranule == 8 ? Fault::invalid_pointer : Fault::misaligned_pointer);
  EXPECT_EQ(g_faults[2].address, static_cast<std::byte*>(block) + 8);
  front->free(block);
  expect_exact(*front, 0);
  EXPECT_TRUE(front->validate().ok());
}

TEST(CpuCache, LeakReportAndWalkSeeThroughTheCaches) {
  Fixture<Cached> front(64 * 1024);
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < 6; ++i) {
    blocks.push_back(front->allocate(32 + 100 * i));
  }
  ThreadCpu::set(1);
  for (std::size_t i = 0; i < 5; ++i) {
    front->free(blocks[i]);  // the sixth one leaks
  }
  std::string report;
  const std::size_t live = front->leak_report(
      [&](const char* text, std::size_t length) { report.append(text, length); });
  EXPECT_EQ(live, 1U);
  EXPECT_NE(report.find("1 live block(s)"), std::string::npos) << report;
  char address[32];
  std::snprintf(address, sizeof address, "0x%0*zx", static_cast<int>(2 * sizeof(void*)),
                reinterpret_cast<std::uintptr_t>(blocks[5]));
  EXPECT_NE(report.find(address), std::string::npos) << report;
  std::size_t used = 0;
  std::size_t seen = 0;
  front->walk([&](const keel::BlockInfo& info) {
    seen += 1;
    used += info.used ? 1 : 0;
    if (info.used) {
      EXPECT_EQ(info.address, blocks[5]);
    }
  });
  EXPECT_EQ(used, 1U);
  EXPECT_GT(seen, 6U);
  // The heap alone counts every cached block as live.
  EXPECT_EQ(front->with_lock([](auto& heap) { return heap.statistics().live_allocations; }),
            1U + front->statistics().blocks_cached);
  EXPECT_TRUE(front->validate().ok());  // the walk's sorting left the lists whole
  front->free(blocks[5]);
}

TEST(CpuCache, WalkMatchesCachedBlocksOverManyRegions) {
  constexpr std::size_t kRegion = 16 * 1024;
  auto arena = std::make_unique<std::byte[]>(4 * kRegion);
  Cached front;
  // Regions claimed high to low: the walk visits them newest first, so low to high here.
  for (int r = 3; r >= 0; --r) {
    ASSERT_TRUE(front.with_lock([&](auto& heap) {
      return heap.claim(keel::Span{arena.get() + static_cast<std::size_t>(r) * kRegion, kRegion})
          .ok();
    }));
  }
  ThreadCpu::set(0);
  std::mt19937 random(7);
  std::vector<void*> kept;
  std::vector<void*> blocks;
  for (int i = 0; i < 300; ++i) {
    void* block = front.allocate(8 + random() % 200);
    ASSERT_NE(block, nullptr);
    blocks.push_back(block);
  }
  std::shuffle(blocks.begin(), blocks.end(), random);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    ThreadCpu::set(static_cast<unsigned>(i % ThreadCpu::kMaxCpus));
    if (i % 3 == 0) {
      kept.push_back(blocks[i]);
    } else {
      front.free(blocks[i]);
    }
  }
  std::sort(kept.begin(), kept.end());
  std::vector<void*> used;
  front.walk([&](const keel::BlockInfo& info) {
    if (info.used) {
      used.push_back(info.address);
    }
  });
  std::sort(used.begin(), used.end());
  EXPECT_EQ(used, kept);
  EXPECT_EQ(front.statistics().live_allocations, kept.size());
  EXPECT_TRUE(front.validate().ok());
  ThreadCpu::set(0);
  for (void* block : kept) {
    front.free(block);
  }
}

TEST(CpuCache, NoChecksStillCaches) {
  Fixture<CachedNoChecks> front(64 * 1024);
  void* block = front->allocate(64);
  front->free(block);
  EXPECT_EQ(front->allocate(64), block);
  front->free(block);
  EXPECT_EQ(front->statistics().cache_hits, 1U);
  EXPECT_TRUE(front->validate().ok());
}

TEST(CpuCache, FullyCheckedHeapsAreNotCached) {
  static_assert(!FullyChecked::kCaching);
  Fixture<FullyChecked> front(64 * 1024);
  void* block = front->allocate(64);
  std::memset(block, 1, 64);
  front->free(block);
  const CacheStatistics s = front->statistics();
  EXPECT_EQ(s.blocks_cached, 0U);
  EXPECT_EQ(s.heap.live_allocations, 0U);
  EXPECT_EQ(s.total_allocations, 1U);
  front->free(block);  // the heap's own check, at once
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_EQ(g_faults[0].fault, Fault::double_free);
}

TEST(CpuCache, ACpuOutsideThePolicysRangeUsesTheHeap) {
  Fixture<Cached> front(64 * 1024);
  ThreadCpu::set(ThreadCpu::kMaxCpus + 3);
  void* block = front->allocate(64);
  ASSERT_NE(block, nullptr);
  front->free(block);
  const CacheStatistics s = front->statistics();
  EXPECT_EQ(s.blocks_cached, 0U);
  EXPECT_EQ(s.heap.live_allocations, 0U);
}

TEST(CpuCache, ZeroedAndOverflowingRequests) {
  Fixture<Cached> front(64 * 1024);
  auto* zeroed = static_cast<unsigned char*>(front->allocate_zeroed(10, 30));
  ASSERT_NE(zeroed, nullptr);
  EXPECT_TRUE(std::all_of(zeroed, zeroed + 300, [](unsigned char c) { return c == 0; }));
  front->free(zeroed);
  // The block comes back from the cache with old bytes in it, and is zeroed again.
  auto* again = static_cast<unsigned char*>(front->allocate_zeroed(300, 1));
  EXPECT_EQ(again, zeroed);
  EXPECT_TRUE(std::all_of(again, again + 300, [](unsigned char c) { return c == 0; }));
  front->free(again);
  EXPECT_EQ(front->allocate_zeroed(SIZE_MAX / 2, 3), nullptr);
  EXPECT_EQ(front->statistics().failed_allocations, 1U);
  EXPECT_EQ(front->allocate(SIZE_MAX - 8), nullptr);
  EXPECT_EQ(front->allocate(64, 3), nullptr);  // not a power of two
  EXPECT_EQ(front->statistics().failed_allocations, 3U);
  EXPECT_TRUE(g_faults.empty());
}

}  // namespace
