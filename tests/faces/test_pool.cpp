// Unit tests of keel::BlockPool and keel::ObjectPool (keel/pool.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "faces/fault_recorder.hpp"
#include "keel/pool.hpp"
#include "support/host_tools.hpp"

namespace {

using keel::BlockPool;
using keel::Checking;
using keel::Fault;
using keel::PoolViolation;
using keel_test::FaultRecorder;

alignas(64) std::byte g_storage[64 * 1024];

std::uintptr_t address(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

TEST(BlockPool, StrideRoundsToAlignmentAndPointer) {
  EXPECT_EQ(BlockPool::stride_for(1, 1), sizeof(void*));
  EXPECT_EQ(BlockPool::stride_for(16, 8), 16U);
  EXPECT_EQ(BlockPool::stride_for(40, 8), 40U);
  EXPECT_EQ(BlockPool::stride_for(40, 16), 48U);
  EXPECT_EQ(BlockPool::stride_for(200, 8), 200U);
  EXPECT_EQ(BlockPool::stride_for(3, 64), 64U);
  EXPECT_EQ(BlockPool::stride_for(16, 3), 0U) << "alignment not a power of two";
  EXPECT_EQ(BlockPool::stride_for(16, 0), 0U);
  EXPECT_EQ(BlockPool::stride_for(SIZE_MAX, 8), 0U) << "overflow";
}

TEST(BlockPool, HandsOutEveryBlockOnceThenFails) {
  BlockPool pool(keel::Span{g_storage, 1000}, 40, 8);
  ASSERT_EQ(pool.capacity(), 25U);
  EXPECT_EQ(pool.block_size(), 40U);
  std::set<std::uintptr_t> seen;
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < pool.capacity(); ++i) {
    void* block = pool.acquire();
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(address(block) % 8, 0U);
    EXPECT_GE(address(block), address(g_storage));
    EXPECT_LE(address(block) + 40, address(g_storage) + 1000);
    EXPECT_TRUE(seen.insert(address(block)).second);
    EXPECT_TRUE(pool.owns(block));
    std::memset(block, 0xC3, 40);  // scribble over every byte handed out
    blocks.push_back(block);
  }
  EXPECT_EQ(pool.acquire(), nullptr);
  EXPECT_EQ(pool.available(), 0U);
  EXPECT_EQ(pool.validate(), PoolViolation::none);
  for (void* block : blocks) {
    pool.release(block);
  }
  EXPECT_EQ(pool.in_use(), 0U);
  EXPECT_EQ(pool.validate(), PoolViolation::none);
  // Released blocks come back (last released first), and all of them again.
  EXPECT_EQ(pool.acquire(), blocks.back());
  for (std::size_t i = 1; i < pool.capacity(); ++i) {
    ASSERT_NE(pool.acquire(), nullptr);
  }
  EXPECT_EQ(pool.acquire(), nullptr);
  const keel::PoolStatistics stats = pool.statistics();
  EXPECT_EQ(stats.capacity, 25U);
  EXPECT_EQ(stats.in_use, 25U);
  EXPECT_EQ(stats.peak_in_use, 25U);
  EXPECT_EQ(stats.total_acquisitions, 50U);
  EXPECT_EQ(stats.failed_acquisitions, 2U);
  EXPECT_EQ(stats.block_size, 40U);
}

TEST(BlockPool, AlignsAnUnalignedSpan) {
  for (std::size_t skew = 0; skew < 64; ++skew) {
    BlockPool pool(keel::Span{g_storage + skew, 4096 - skew}, 96, 32);
    ASSERT_GT(pool.capacity(), 0U);
    EXPECT_EQ(address(pool.extent().data) % 32, 0U);
    EXPECT_GE(pool.extent().data, g_storage + skew);
    EXPECT_LE(pool.extent().end(), g_storage + 4096);
    EXPECT_EQ(pool.capacity(),
              (4096 - skew - (address(pool.extent().data) - address(g_storage + skew))) / 96);
    void* block = pool.acquire();
    EXPECT_EQ(address(block) % 32, 0U);
    pool.release(block);
  }
}

TEST(BlockPool, DegenerateParametersGiveAnEmptyPool) {
  const BlockPool empty;
  EXPECT_EQ(empty.capacity(), 0U);
  BlockPool null_storage(keel::Span{static_cast<std::byte*>(nullptr), 100}, 16, 8);
  EXPECT_EQ(null_storage.capacity(), 0U);
  EXPECT_EQ(null_storage.acquire(), nullptr);
  BlockPool too_small(keel::Span{g_storage + 1, 20}, 16, 16);
  EXPECT_EQ(too_small.capacity(), 0U);
  BlockPool bad_align(keel::Span{g_storage, 1000}, 16, 12);
  EXPECT_EQ(bad_align.capacity(), 0U);
  EXPECT_EQ(bad_align.statistics().failed_acquisitions, 0U);
  EXPECT_EQ(bad_align.acquire(), nullptr);
  EXPECT_EQ(bad_align.statistics().failed_acquisitions, 1U);
  EXPECT_FALSE(bad_align.owns(g_storage));
}

// owns() and release's check use one multiplication by the stride's odd inverse: check it against
// plain division for every byte around pools of awkward strides.
TEST(BlockPool, OwnsExactlyTheBlockStarts) {
  for (const std::size_t size : {8U, 12U, 16U, 24U, 40U, 56U, 96U, 200U, 328U}) {
    for (const std::size_t align : {4U, 8U, 16U}) {
      BlockPool pool(keel::Span{g_storage + 128, 5000}, size, align);
      const std::size_t stride = pool.block_size();
      ASSERT_GT(pool.capacity(), 0U);
      const std::byte* base = pool.extent().data;
      for (std::byte* p = g_storage; p < g_storage + 128 + 5000 + 256; ++p) {
        const std::ptrdiff_t offset = p - base;
        const bool start = offset >= 0 && static_cast<std::size_t>(offset) % stride == 0 &&
                           static_cast<std::size_t>(offset) / stride < pool.capacity();
        ASSERT_EQ(pool.owns(p), start)
            << "size " << size << " align " << align << " offset " << offset;
      }
    }
  }
}

TEST(BlockPool, ForeignAndInteriorPointersGoToTheFaultHook) {
  FaultRecorder faults;
  BlockPool pool(keel::Span{g_storage, 2048}, 40, 8);
  void* first = pool.acquire();
  void* second = pool.acquire();
  alignas(8) static std::byte elsewhere[64];
  const std::byte* interior = static_cast<std::byte*>(first) + 8;
  for (const void* bad : {static_cast<const void*>(elsewhere), static_cast<const void*>(interior),
                          static_cast<const void*>(g_storage + 2048 * 4),
                          static_cast<const void*>(static_cast<std::byte*>(second) + 40)}) {
    FaultRecorder::reset();
    pool.release(const_cast<void*>(bad));
    EXPECT_EQ(FaultRecorder::count(), 1);
    EXPECT_EQ(FaultRecorder::last(), Fault::pool_foreign);
    EXPECT_EQ(FaultRecorder::last_address(), bad);
  }
  EXPECT_EQ(pool.in_use(), 2U) << "a rejected release changes nothing";
  EXPECT_EQ(pool.validate(), PoolViolation::none);
  pool.release(nullptr);
  EXPECT_EQ(FaultRecorder::count(), 1);
}

TEST(BlockPool, DoubleReleaseWithoutBitmapCatchesTheHead) {
  FaultRecorder faults;
  BlockPool pool(keel::Span{g_storage, 2048}, 16, 8);
  void* block = pool.acquire();
  pool.release(block);
  pool.release(block);
  EXPECT_EQ(FaultRecorder::count(), 1);
  EXPECT_EQ(FaultRecorder::last(), Fault::pool_double_release);
  EXPECT_EQ(pool.validate(), PoolViolation::none);
}

TEST(BlockPool, DoubleReleaseWithBitmapCatchesAny) {
  FaultRecorder faults;
  std::uint32_t bits[BlockPool::bitmap_words(40)];
  std::fill(std::begin(bits), std::end(bits), 0xFFFFFFFFU);  // the pool must clear them
  BlockPool pool(keel::Span{g_storage, 40 * 16}, 16, 8, Checking::basic,
                 keel::PoolBitmap{bits, std::size(bits)});
  ASSERT_EQ(pool.capacity(), 40U);
  void* a = pool.acquire();
  void* b = pool.acquire();
  void* c = pool.acquire();
  pool.release(a);
  pool.release(b);
  pool.release(a);  // not the head of the free list any more
  EXPECT_EQ(FaultRecorder::count(), 1);
  EXPECT_EQ(FaultRecorder::last(), Fault::pool_double_release);
  EXPECT_EQ(FaultRecorder::last_address(), a);
  EXPECT_EQ(pool.validate(), PoolViolation::none);
  pool.release(c);
  EXPECT_EQ(FaultRecorder::count(), 1);
  EXPECT_EQ(pool.validate(), PoolViolation::none);
}

TEST(BlockPool, ABitmapLimitsTheCapacity) {
  std::uint32_t bits[1];
  BlockPool pool(keel::Span{g_storage, 100 * 16}, 16, 8, Checking::basic,
                 keel::PoolBitmap{bits, 1});
  EXPECT_EQ(pool.capacity(), 32U);
}

TEST(BlockPool, WriteAfterReleaseIsFoundByAcquire) {
  KEEL_SKIP_UNDER_HOST_TOOLS();  // tools.*.pool_use_after_release: the tool reports the write
  FaultRecorder faults;
  BlockPool pool(keel::Span{g_storage, 2048}, 32, 8);
  void* a = pool.acquire();
  void* b = pool.acquire();
  pool.release(a);
  pool.release(b);           // free list: b -> a
  std::memset(b, 0x5A, 32);  // a stale user writes over the link
  void* again = pool.acquire();
  EXPECT_EQ(again, b);
  EXPECT_EQ(FaultRecorder::count(), 1);
  EXPECT_EQ(FaultRecorder::last(), Fault::corrupted_block);
  // The list was dropped: the pool goes on with never-used blocks and never hands out junk.
  void* next = pool.acquire();
  EXPECT_TRUE(pool.owns(next));
  EXPECT_NE(next, again);
}

TEST(BlockPool, UncheckedPoolTrustsItsCaller) {
  FaultRecorder faults;
  BlockPool pool(keel::Span{g_storage, 2048}, 32, 8, Checking::none);
  EXPECT_EQ(pool.checking(), Checking::none);
  void* block = pool.acquire();
  pool.release(block);
  EXPECT_EQ(pool.acquire(), block);
  EXPECT_EQ(FaultRecorder::count(), 0);
}

// A random sequence of acquires and releases against a shadow set of live blocks.
TEST(BlockPool, RandomOperationsKeepTheInvariants) {
  for (const bool with_bitmap : {false, true}) {
    std::mt19937 random(with_bitmap ? 7 : 11);
    std::uint32_t bits[BlockPool::bitmap_words(200)];
    BlockPool pool(keel::Span{g_storage + 3, 200 * 24 + 5}, 24, 8, Checking::basic,
                   with_bitmap ? keel::PoolBitmap{bits, std::size(bits)} : keel::PoolBitmap{});
    ASSERT_GE(pool.capacity(), 199U);
    std::vector<std::byte*> live;
    for (int step = 0; step < 20000; ++step) {
      if (live.empty() || random() % 100 < 55) {
        auto* block = static_cast<std::byte*>(pool.acquire());
        if (live.size() == pool.capacity()) {
          ASSERT_EQ(block, nullptr);
          continue;
        }
        ASSERT_NE(block, nullptr) << "step " << step;
        ASSERT_TRUE(std::find(live.begin(), live.end(), block) == live.end()) << "step " << step;
        std::memset(block, static_cast<int>(step & 0xFF), 24);
        live.push_back(block);
      } else {
        const std::size_t index = random() % live.size();
        pool.release(live[index]);
        live[index] = live.back();
        live.pop_back();
      }
      ASSERT_EQ(pool.in_use(), live.size());
      if (step % 97 == 0) {
        ASSERT_EQ(pool.validate(), PoolViolation::none) << "step " << step;
      }
    }
  }
}

// --- ObjectPool ---------------------------------------------------------------------------------

struct Tracked {
  static inline int constructed = 0;
  static inline int destroyed = 0;
  explicit Tracked(int v) : value(v) { ++constructed; }
  ~Tracked() { ++destroyed; }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  int value;
  char payload[36] = {};
};

constinit keel::ObjectPool<Tracked, 8> g_tracked_pool;

TEST(ObjectPool, CreateConstructsAndDestroyDestructs) {
  Tracked::constructed = Tracked::destroyed = 0;
  std::vector<Tracked*> objects;
  for (int i = 0; i < 8; ++i) {
    Tracked* object = g_tracked_pool.create(i);
    ASSERT_NE(object, nullptr);
    EXPECT_EQ(object->value, i);
    EXPECT_EQ(address(object) % alignof(Tracked), 0U);
    objects.push_back(object);
  }
  EXPECT_EQ(g_tracked_pool.create(99), nullptr);
  EXPECT_EQ(Tracked::constructed, 8) << "no constructor runs when the pool is empty";
  EXPECT_EQ(g_tracked_pool.statistics().failed_acquisitions, 1U);
  for (Tracked* object : objects) {
    g_tracked_pool.destroy(object);
  }
  EXPECT_EQ(Tracked::destroyed, 8);
  EXPECT_EQ(g_tracked_pool.in_use(), 0U);
  EXPECT_EQ(g_tracked_pool.statistics().peak_in_use, 8U);
  EXPECT_EQ(g_tracked_pool.validate(), PoolViolation::none);
  g_tracked_pool.destroy(nullptr);
}

TEST(ObjectPool, BadDestroyRunsNoDestructor) {
  FaultRecorder faults;
  Tracked::destroyed = 0;
  Tracked outsider(5);
  g_tracked_pool.destroy(&outsider);
  EXPECT_EQ(FaultRecorder::last(), Fault::pool_foreign);
  Tracked* object = g_tracked_pool.create(1);
  Tracked* other = g_tracked_pool.create(2);
  g_tracked_pool.destroy(object);
  g_tracked_pool.destroy(other);
  g_tracked_pool.destroy(object);  // not the head: the built-in bitmap catches it
  EXPECT_EQ(FaultRecorder::count(), 2);
  EXPECT_EQ(FaultRecorder::last(), Fault::pool_double_release);
  EXPECT_EQ(Tracked::destroyed, 2);
}

struct alignas(64) Wide {
  std::byte bytes[72];
};

TEST(ObjectPool, OverAlignedTypes) {
  static keel::ObjectPool<Wide, 5> pool;
  EXPECT_EQ(pool.block_size(), 128U);
  for (int i = 0; i < 5; ++i) {
    Wide* object = pool.create();
    ASSERT_NE(object, nullptr);
    EXPECT_EQ(address(object) % 64, 0U);
  }
}

TEST(ObjectPool, TinyTypesGetAPointerEach) {
  keel::ObjectPool<std::uint8_t, 100, Checking::none> pool;
  EXPECT_EQ(pool.block_size(), sizeof(void*));
  EXPECT_EQ(pool.capacity(), 100U);
  EXPECT_EQ(sizeof(pool), sizeof(BlockPool) + 100 * sizeof(void*)) << "no bitmap, no header";
  std::uint8_t* value = pool.create(std::uint8_t{7});
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 7);
  pool.destroy(value);
}

struct Throws {
  explicit Throws(bool fail) {
    if (fail) {
      throw std::runtime_error("constructor failed");
    }
  }
};

TEST(ObjectPool, ThrowingConstructorReleasesTheBlock) {
  keel::ObjectPool<Throws, 2> pool;
  EXPECT_THROW((void)pool.create(true), std::runtime_error);
  EXPECT_EQ(pool.in_use(), 0U);
  EXPECT_EQ(pool.validate(), PoolViolation::none);
  EXPECT_NE(pool.create(false), nullptr);
}

}  // namespace
