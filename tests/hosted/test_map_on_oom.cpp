// Tests of keel::hosted::MapOnOom (ports/linux): a heap that starts with no memory and grows by
// mapping pages of its reserved 32 GiB window, past its first region, to tens of GiB of address
// space and a 3 GiB block, while touching little memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "keel/heap.hpp"
#include "keel/hosted/map_on_oom.hpp"
#include "keel/hosted/mutex.hpp"
#include "keel/hosted/pages.hpp"
#include "keel/lock.hpp"
#include "support/host_tools.hpp"

namespace {

using keel::HeapOptions;
using keel::Span;
using keel::hosted::MapOnOom;

constexpr std::size_t kMiB = std::size_t{1} << 20U;
constexpr std::size_t kGiB = std::size_t{1} << 30U;

/// A heap of MapOnOom on the (C++) heap, whose reservation is given back when it goes.
template <typename H>
class Owned {
 public:
  Owned() : heap_(std::make_unique<H>()) {}
  ~Owned() {
    const Span reservation = policy().reservation();
    heap_.reset();  // a tool build's ~Heap still reads the regions
    keel::hosted::release_address_space(reservation);
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  H& operator*() { return *heap_; }
  H* operator->() { return heap_.get(); }
  MapOnOom& policy() { return heap_->oom_policy(); }

 private:
  std::unique_ptr<H> heap_;
};

using BasicHeap = keel::Heap<MapOnOom>;

bool inside(const void* pointer, Span span) {
  const auto* byte = static_cast<const std::byte*>(pointer);
  return byte >= span.begin() && byte < span.end();
}

std::size_t regions_of(const BasicHeap& heap) {
  std::size_t count = 0;
  heap.for_each_region([&](Span) { ++count; });
  return count;
}

/// Under AddressSanitizer every byte of a region is poisoned when it is claimed (1 byte of
/// shadow memory written per 8): GiB-sized regions would write GiB/8 of shadow.
bool asan_build() {
  return keel::detail::tools::kAsan;
}

TEST(MapOnOom, FirstRequestReservesTheWindowAndClaimsItsMiddle) {
  Owned<BasicHeap> heap;
  EXPECT_TRUE(heap.policy().reservation().empty()) << "nothing is mapped before the first request";
  void* block = heap->allocate(100);
  ASSERT_NE(block, nullptr);
  const Span reservation = heap.policy().reservation();
  EXPECT_GE(reservation.size, MapOnOom::kLeastReservation);
  EXPECT_EQ(reservation.size, MapOnOom::kReservationBytes) << "this machine grants 32 GiB";
  const Span committed = heap.policy().committed();
  EXPECT_EQ(committed.data, reservation.data + reservation.size / 2);
  EXPECT_EQ(committed.size, MapOnOom::kGrowthBytes);
  EXPECT_TRUE(inside(block, committed));
  std::memset(block, 0x5A, 100);
  EXPECT_EQ(regions_of(*heap), 1U);
  heap->free(block);
  EXPECT_TRUE(heap->validate().ok());
}

TEST(MapOnOom, GrowsItsRegionInPlace) {
  Owned<BasicHeap> heap;
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) {  // 200 × 100 KiB: about 20 steps of growth
    void* block = heap->allocate(100 * 1024);
    ASSERT_NE(block, nullptr) << i;
    static_cast<char*>(block)[0] = 1;
    blocks.push_back(block);
  }
  EXPECT_EQ(regions_of(*heap), 1U) << "each step extends the one region";
  EXPECT_GE(heap->statistics().bytes_claimed, 200U * 100 * 1024);
  EXPECT_TRUE(heap->validate().ok());
  for (void* block : blocks) {
    heap->free(block);
  }
  const keel::Statistics stats = heap->statistics();
  EXPECT_EQ(stats.live_allocations, 0U);
  EXPECT_EQ(stats.free_blocks, 1U) << "the extensions merged into one free block";
}

TEST(MapOnOom, AThreeGigabyteBlock) {
  if (asan_build()) {
    GTEST_SKIP() << "AddressSanitizer would write 384 MiB of shadow memory";
  }
  Owned<BasicHeap> heap;
  void* small = heap->allocate(64);
  ASSERT_NE(small, nullptr);
  auto* big = static_cast<unsigned char*>(heap->allocate(3 * kGiB));
  ASSERT_NE(big, nullptr);
  // Touch one byte in each GiB: three pages of memory, not three GiB.
  for (std::size_t offset = 0; offset < 3 * kGiB; offset += kGiB) {
    big[offset] = 0xA5;
  }
  big[3 * kGiB - 1] = 0x5A;
  EXPECT_EQ(big[3 * kGiB - 1], 0x5A);
  EXPECT_GE(heap->usable_size(big), 3 * kGiB);
  EXPECT_GE(heap.policy().committed().size, 3 * kGiB);
  EXPECT_TRUE(heap->validate().ok());
  heap->free(big);
  heap->free(small);
  EXPECT_TRUE(heap->validate().ok());
}

TEST(MapOnOom, FillsTheWindowUpwardThenDownward) {
  if (asan_build()) {
    GTEST_SKIP() << "AddressSanitizer would write GiB of shadow memory";
  }
  Owned<BasicHeap> heap;
  // 2 GiB blocks: each needs a region of its own (two would pass 4 GiB) of 2 GiB and a page. The
  // policy fills the reservation's upper half (less a page) and then its lower half, as far as
  // the heap's window reaches: docs/design.md section 4, 2^31 granules from 8 GiB below the first
  // region, which the policy claims in the middle. With 8-byte granules that is 8 GiB on either
  // side (3 blocks each); with 16-byte granules 24 GiB above, capped by the reservation's 16 GiB
  // (7 blocks), and 8 GiB below (3 blocks).
  std::vector<unsigned char*> blocks;
  for (;;) {
    auto* block = static_cast<unsigned char*>(heap->allocate(2 * kGiB));
    if (block == nullptr) {
      break;
    }
    block[0] = static_cast<unsigned char>(blocks.size());
    block[2 * kGiB - 1] = static_cast<unsigned char>(blocks.size());
    blocks.push_back(block);
    ASSERT_LE(blocks.size(), 16U);
  }
  const Span reservation = heap.policy().reservation();
  const std::size_t page = keel::hosted::page_size();
  const std::size_t window = (std::size_t{1} << 31U) * keel::detail::kGranule;
  const std::size_t half = reservation.size / 2 - page;
  const std::size_t per_block = 2 * kGiB + page;
  const std::size_t expected_above = std::min(half, window - 8 * kGiB) / per_block;
  const std::size_t expected_below = std::min(half, 8 * kGiB) / per_block;
  ASSERT_EQ(blocks.size(), expected_above + expected_below)
      << "reservation " << reservation.size << " bytes";
  const std::byte* middle = reservation.data + reservation.size / 2;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_TRUE(inside(blocks[i], reservation));
    EXPECT_EQ(blocks[i][0], i);
    EXPECT_EQ(blocks[i][2 * kGiB - 1], i);
    EXPECT_EQ(reinterpret_cast<std::byte*>(blocks[i]) < middle, i >= expected_above)
        << "block " << i << ": the lower half is used once the upper one is full";
  }
  EXPECT_EQ(regions_of(*heap), blocks.size());
  EXPECT_GE(heap->statistics().bytes_claimed, blocks.size() * 2 * kGiB);
  EXPECT_EQ(heap->statistics().failed_allocations, 1U);
  EXPECT_LE(heap.policy().committed().size, (blocks.size() + 1) * (2 * kGiB + kMiB))
      << "what the heap refused was not left committed";
  void* small = heap->allocate(kMiB);
  EXPECT_NE(small, nullptr) << "smaller requests still fit in what is left";
  EXPECT_TRUE(heap->validate().ok());
  heap->free(small);
  for (unsigned char* block : blocks) {
    heap->free(block);
  }
  EXPECT_TRUE(heap->validate().ok());
}

TEST(MapOnOom, RequestsNoRegionCanHoldFailWithoutMapping) {
  Owned<BasicHeap> heap;
  void* first = heap->allocate(16);
  ASSERT_NE(first, nullptr);
  const Span before = heap.policy().committed();
  EXPECT_EQ(heap->allocate(BasicHeap::max_request), nullptr);
  EXPECT_EQ(heap->allocate(MapOnOom::kLargestSpan - 64), nullptr);
  EXPECT_EQ(heap->allocate(64, std::size_t{8} << 30U), nullptr) << "an 8 GiB alignment";
  EXPECT_EQ(heap.policy().committed(), before) << "nothing committed for requests that cannot fit";
  if (!asan_build()) {
    void* largest = heap->allocate(MapOnOom::kLargestSpan - 80);
    EXPECT_NE(largest, nullptr) << "4 GiB less 80 bytes: one region of 4 GiB";
    heap->free(largest);
  }
  heap->free(first);
}

TEST(MapOnOom, GoodFitWithoutTheBoundedSearch) {
  // search_limit 0: the good-fit search rounds a request up to its bin's top, so the policy
  // must add that much more for the request to fit after one call.
  Owned<keel::Heap<MapOnOom, HeapOptions{.search_limit = 0}>> heap;
  for (std::size_t size : {std::size_t{3} << 20U, std::size_t{100} << 20U, std::size_t{5} << 20U}) {
    void* block = heap->allocate(size, 4096);
    ASSERT_NE(block, nullptr) << size;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(block) % 4096, 0U);
  }
  EXPECT_TRUE(heap->validate().ok());
}

template <typename H>
void random_growth(H& heap, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<std::pair<unsigned char*, std::size_t>> blocks;
  for (int step = 0; step < 3000; ++step) {
    if (blocks.empty() || random() % 3 != 0) {
      // Mostly small, sometimes 1-4 MiB: past the growth step, so regions grow in larger steps.
      const std::size_t size = random() % 64 == 0 ? (1 + random() % 4) << 20U : random() % 4000;
      const std::size_t align = std::size_t{8} << (random() % 6);
      auto* block = static_cast<unsigned char*>(heap.allocate(size, align));
      ASSERT_NE(block, nullptr);
      ASSERT_EQ(reinterpret_cast<std::uintptr_t>(block) % align, 0U);
      std::memset(block, static_cast<int>(size & 0xFFU), size < 4096 ? size : 4096);
      blocks.emplace_back(block, size);
    } else {
      const std::size_t index = random() % blocks.size();
      const auto [block, size] = blocks[index];
      ASSERT_TRUE(size == 0 || block[0] == static_cast<unsigned char>(size & 0xFFU));
      heap.free(block);
      blocks[index] = blocks.back();
      blocks.pop_back();
    }
  }
  ASSERT_TRUE(heap.validate().ok());
  for (const auto& [block, size] : blocks) {
    heap.free(block);
  }
  ASSERT_TRUE(heap.validate().ok());
}

TEST(MapOnOom, EveryCheckingLevel) {
  Owned<keel::Heap<MapOnOom, HeapOptions{.checking = keel::Checking::none}>> none;
  random_growth(*none, 1);
  Owned<BasicHeap> basic;
  random_growth(*basic, 2);
  Owned<keel::Heap<MapOnOom, HeapOptions{.checking = keel::Checking::full, .tags = true}>> full;
  random_growth(*full, 3);
  Owned<keel::Heap<MapOnOom, HeapOptions{.hardened = true}>> hardened;
  random_growth(*hardened, 4);
}

TEST(MapOnOom, ThreadsGrowALockedHeap) {
  using Shared = keel::Locked<BasicHeap, keel::hosted::Mutex>;
  auto shared = std::make_unique<Shared>();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t) {
    threads.emplace_back([&shared, t] {
      std::mt19937 random(t);
      std::vector<void*> blocks;
      for (int step = 0; step < 20000; ++step) {
        if (blocks.size() < 500 && random() % 2 == 0) {
          const std::size_t size = random() % 64 == 0 ? 300000 : random() % 2000;
          void* block = shared->allocate(size);
          if (block == nullptr) {
            ADD_FAILURE() << "out of memory at " << size;
            return;
          }
          std::memset(block, 1, size < 64 ? size : 64);
          blocks.push_back(block);
        } else if (!blocks.empty()) {
          shared->free(blocks.back());
          blocks.pop_back();
        }
      }
      for (void* block : blocks) {
        shared->free(block);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  const Span reservation = shared->unlocked().oom_policy().reservation();
  EXPECT_TRUE(shared->with_lock([](BasicHeap& heap) { return heap.validate().ok(); }));
  EXPECT_EQ(shared->statistics().live_allocations, 0U);
  shared.reset();
  keel::hosted::release_address_space(reservation);
}

}  // namespace
