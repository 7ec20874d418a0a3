// Tests of the FreeRTOS heap drop-in (keel/adapters/freertos_heap.h) against what an application
// can observe of FreeRTOS's heap_4 and heap_5. Built twice (tests/faces/CMakeLists.txt), each
// time with the stand-in kernel headers of tests/package/freertos/kernel and the configuration
// of tests/faces/freertos_config, as an application builds it:
// - heap_4 style: configTOTAL_HEAP_SIZE, 8-byte alignment;
// - heap_5 style (KEEL_TEST_HEAP5): regions, 16-byte alignment, configHEAP_CLEAR_MEMORY_ON_FREE
//   and configENABLE_HEAP_PROTECTOR.
// configTOTAL_HEAP_SIZE is written as FreeRTOSConfig.h usually writes it, with a C cast.
#pragma GCC diagnostic ignored "-Wold-style-cast"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "faces/conformance.hpp"
#include "faces/fault_recorder.hpp"
#include "faces/freertos_fakes.hpp"
#include "keel/adapters/freertos_heap.h"
#include "keel/heap.hpp"

namespace {

using keel_test::freertos::calls;

constexpr std::size_t kAlignment = portBYTE_ALIGNMENT;
/// heap_4's smallest free block when there is none: the portMAX_DELAY its search starts from.
constexpr auto kNoFreeBlock = static_cast<std::size_t>(portMAX_DELAY);

#if defined(KEEL_TEST_HEAP5)
constexpr bool kHeap5 = true;
/// Writes a byte of memory keel has poisoned for AddressSanitizer (a free block).
KEEL_NO_SANITIZE_ADDRESS void poke(void* at, unsigned char value) {
  *static_cast<volatile unsigned char*>(at) = value;
}
alignas(16) std::uint8_t g_region_low[24 * 1024];
alignas(16) std::uint8_t g_region_high[40 * 1024];
void define_regions() {
  // Listed high first: keel accepts any order (heap_5 asks for ascending addresses).
  const HeapRegion_t regions[] = {
      {g_region_high, sizeof g_region_high}, {g_region_low, sizeof g_region_low}, {nullptr, 0}};
  vPortDefineHeapRegions(regions);
}
constexpr std::size_t kHeapBytes = sizeof g_region_low + sizeof g_region_high;
#else
constexpr bool kHeap5 = false;
void define_regions() {}
constexpr std::size_t kHeapBytes = configTOTAL_HEAP_SIZE;
#endif

class FreeRtosHeap : public ::testing::Test {
 protected:
  FreeRtosHeap() {
    vPortHeapResetState();
    define_regions();
    calls() = {};
  }
  ~FreeRtosHeap() override {
    EXPECT_EQ(calls().suspended, 0) << "every vTaskSuspendAll has its xTaskResumeAll";
    EXPECT_LE(calls().max_depth, 1);
    EXPECT_EQ(calls().hooks_while_suspended, 0)
        << "the failed hook runs after the scheduler is resumed";
    EXPECT_EQ(calls().asserts_while_suspended, 0)
        << "configASSERT runs after the scheduler is resumed";
    EXPECT_EQ(calls().traces_while_resumed, 0) << "the trace macros run with the heap locked";
  }
  static HeapStats_t stats() {
    HeapStats_t result;
    std::memset(&result, 0xFF, sizeof result);
    vPortGetHeapStats(&result);
    return result;
  }
};

TEST_F(FreeRtosHeap, MallocAlignsAndFreeGivesBack) {
  // heap_4 claims its array on first use; an allocation makes the free size meaningful.
  vPortFree(pvPortMalloc(8));
  const std::size_t initial = xPortGetFreeHeapSize();
  EXPECT_GT(initial, kHeapBytes - 256);
  EXPECT_LE(initial, kHeapBytes);
  std::vector<void*> blocks;
  for (std::size_t size : {1U, 7U, 8U, 100U, 1000U, 3U}) {
    void* block = pvPortMalloc(size);
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(block) % kAlignment, 0U);
    std::memset(block, 0xAB, size);
    blocks.push_back(block);
  }
  EXPECT_LE(xPortGetFreeHeapSize(), initial - 1119);
  for (void* block : blocks) {
    vPortFree(block);
  }
  EXPECT_EQ(xPortGetFreeHeapSize(), initial);
  EXPECT_GT(calls().suspends, 10);
  EXPECT_EQ(calls().failed_hooks, 0);
  EXPECT_EQ(calls().asserts, 0);
}

// heap_4: pvPortMalloc(0) returns NULL, and the failed hook runs as for any NULL.
TEST_F(FreeRtosHeap, ZeroAndFailureReturnNullAndCallTheHook) {
  EXPECT_EQ(pvPortMalloc(0), nullptr);
  EXPECT_EQ(calls().failed_hooks, 1);
  EXPECT_EQ(pvPortMalloc(kHeapBytes + 1), nullptr);
  EXPECT_EQ(calls().failed_hooks, 2);
  vPortFree(nullptr);  // ignored
  EXPECT_EQ(calls().failed_hooks, 2);
  EXPECT_EQ(calls().asserts, 0);
}

// heap_4's pvPortCalloc: an overflowing product is NULL before any allocation (no hook, no
// trace, no lock); otherwise pvPortMalloc(count * size), so a zero count or size is NULL and the
// hook.
TEST_F(FreeRtosHeap, CallocIsHeap4s) {
  void* dirty = pvPortMalloc(400);
  ASSERT_NE(dirty, nullptr);
  std::memset(dirty, 0xFF, 400);
  vPortFree(dirty);
  auto* zeroed = static_cast<unsigned char*>(pvPortCalloc(10, 40));
  ASSERT_NE(zeroed, nullptr);
  for (int i = 0; i < 400; ++i) {
    ASSERT_EQ(zeroed[i], 0);
  }
  vPortFree(zeroed);

  calls() = {};
  EXPECT_EQ(pvPortCalloc(0, 16), nullptr);
  EXPECT_EQ(calls().failed_hooks, 1);
  EXPECT_EQ(pvPortCalloc(16, 0), nullptr);
  EXPECT_EQ(calls().failed_hooks, 2);
  EXPECT_EQ(calls().malloc_traces, 2);

  calls() = {};
  volatile std::size_t huge = SIZE_MAX / 2;
  EXPECT_EQ(pvPortCalloc(huge, 4), nullptr);
  EXPECT_EQ(pvPortCalloc(4, huge), nullptr);
  EXPECT_EQ(calls().failed_hooks, 0) << "heap_4 calls no hook for an overflowing product";
  EXPECT_EQ(calls().malloc_traces, 0);
  EXPECT_EQ(calls().suspends, 0);
  EXPECT_EQ(stats().xNumberOfSuccessfulAllocations, 2U);
}

// heap_4: traceMALLOC(pointer, bytes of the block) for every pvPortMalloc, NULL and 0 when it
// fails; traceFREE(pointer, bytes of the block) for every block freed; both with the scheduler
// suspended. The bytes are what the free figure moves by.
TEST_F(FreeRtosHeap, TraceMacrosSeeEveryAllocationAndFree) {
  vPortFree(pvPortMalloc(8));  // heap_4 style: the array is claimed
  calls() = {};
  const std::size_t before = xPortGetFreeHeapSize();
  void* block = pvPortMalloc(100);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(calls().malloc_traces, 1);
  EXPECT_EQ(calls().last_malloc.address, block);
  EXPECT_EQ(calls().last_malloc.bytes, before - xPortGetFreeHeapSize());
  EXPECT_GE(calls().last_malloc.bytes, 104U) << "the header is counted, as heap_4 counts its own";

  vPortFree(block);
  EXPECT_EQ(calls().free_traces, 1);
  EXPECT_EQ(calls().last_free.address, block);
  EXPECT_EQ(calls().last_free.bytes, calls().last_malloc.bytes);
  EXPECT_EQ(xPortGetFreeHeapSize(), before);

  EXPECT_EQ(pvPortMalloc(kHeapBytes), nullptr);
  EXPECT_EQ(calls().malloc_traces, 2);
  EXPECT_EQ(calls().last_malloc.address, nullptr);
  EXPECT_EQ(calls().last_malloc.bytes, 0U);

  keel_test::FaultRecorder faults;
  vPortFree(block);  // a double free: refused, not traced
  EXPECT_EQ(keel_test::FaultRecorder::count(), 1);
  EXPECT_EQ(calls().free_traces, 1);
}

// heap_4's figures are variables: reading them takes no lock, so a tick hook or an interrupt may.
TEST_F(FreeRtosHeap, FiguresAreReadWithoutTheScheduler) {
  void* block = pvPortMalloc(300);
  ASSERT_NE(block, nullptr);
  calls() = {};
  vTaskSuspendAll();  // as inside a task that holds the lock when the tick interrupts it
  const std::size_t free_now = xPortGetFreeHeapSize();
  const std::size_t minimum = xPortGetMinimumEverFreeHeapSize();
  xPortResetHeapMinimumEverFreeHeapSize();
  static_cast<void>(xTaskResumeAll());
  EXPECT_EQ(calls().max_depth, 1) << "no second vTaskSuspendAll";
  EXPECT_EQ(calls().suspends, 1);
  EXPECT_GT(free_now, 0U);
  EXPECT_LE(minimum, free_now);
  EXPECT_EQ(xPortGetMinimumEverFreeHeapSize(), free_now);
  vPortFree(block);
}

TEST_F(FreeRtosHeap, MinimumEverFreeRemembersTheLowPoint) {
  void* first = pvPortMalloc(16);
  const std::size_t start = xPortGetFreeHeapSize();
  void* big = pvPortMalloc(kHeapBytes / 2);
  ASSERT_NE(big, nullptr);
  const std::size_t low = xPortGetFreeHeapSize();
  EXPECT_LE(low, start - kHeapBytes / 2);
  vPortFree(big);
  EXPECT_EQ(xPortGetFreeHeapSize(), start);
  EXPECT_EQ(xPortGetMinimumEverFreeHeapSize(), low);

  xPortResetHeapMinimumEverFreeHeapSize();
  EXPECT_EQ(xPortGetMinimumEverFreeHeapSize(), start);
  void* small = pvPortMalloc(1000);
  EXPECT_EQ(xPortGetMinimumEverFreeHeapSize(), xPortGetFreeHeapSize());
  EXPECT_GT(xPortGetMinimumEverFreeHeapSize(), low);
  vPortFree(small);
  vPortFree(first);
  EXPECT_EQ(stats().xMinimumEverFreeBytesRemaining, xPortGetMinimumEverFreeHeapSize());
}

// The figures the adapter keeps itself against keel's own statistics, on a second heap given
// memory of the same sizes and alignment, and the same requests: a few thousand random
// allocations, zeroed allocations and frees.
TEST_F(FreeRtosHeap, FiguresMatchKeelsStatisticsOnTheSameRequests) {
  keel::Heap<> oracle;
#if defined(KEEL_TEST_HEAP5)
  alignas(16) static std::uint8_t oracle_high[sizeof g_region_high];
  alignas(16) static std::uint8_t oracle_low[sizeof g_region_low];
  ASSERT_TRUE(oracle.claim(keel::Span{oracle_high, sizeof oracle_high}).ok());
  ASSERT_TRUE(oracle.claim(keel::Span{oracle_low, sizeof oracle_low}).ok());
#else
  alignas(16) static std::uint8_t oracle_heap[configTOTAL_HEAP_SIZE];
  ASSERT_TRUE(oracle.claim(keel::Span{oracle_heap, sizeof oracle_heap}).ok());
  vPortFree(pvPortMalloc(8));  // heap_4 style: the array is claimed on first use
  xPortResetHeapMinimumEverFreeHeapSize();
#endif
  ASSERT_EQ(xPortGetFreeHeapSize(), oracle.statistics().bytes_free);
  ASSERT_EQ(xPortGetMinimumEverFreeHeapSize(), oracle.statistics().bytes_free);

  struct Live {
    void* shim;
    void* oracle;
  };
  std::vector<Live> live;
  std::mt19937 random(12);
  std::size_t minimum = xPortGetFreeHeapSize();
  for (int step = 0; step < 4000; ++step) {
    const unsigned choice = random() % 8;
    if (choice < 4 || live.empty()) {
      const std::size_t size = random() % 16 == 0 ? random() % 9000 : 1 + random() % 400;
      const bool zeroed = choice == 3;
      const std::size_t in_use = oracle.statistics().bytes_in_use;
      void* from_shim = zeroed ? pvPortCalloc(1, size) : pvPortMalloc(size);
      void* from_oracle = size == 0 ? nullptr : oracle.allocate(size, kAlignment);
      ASSERT_EQ(from_shim == nullptr, from_oracle == nullptr) << "step " << step;
      if (from_shim != nullptr) {
        ASSERT_EQ(calls().last_malloc.bytes, oracle.statistics().bytes_in_use - in_use)
            << "traceMALLOC's bytes, step " << step;
        live.push_back({from_shim, from_oracle});
      }
    } else {
      const std::size_t index = random() % live.size();
      vPortFree(live[index].shim);
      oracle.free(live[index].oracle);
      live[index] = live.back();
      live.pop_back();
    }
    const keel::Statistics expected = oracle.statistics();
    minimum = expected.bytes_free < minimum ? expected.bytes_free : minimum;
    ASSERT_EQ(xPortGetFreeHeapSize(), expected.bytes_free) << "step " << step;
    ASSERT_EQ(xPortGetMinimumEverFreeHeapSize(), minimum) << "step " << step;
  }
  const HeapStats_t s = stats();
  const keel::Statistics expected = oracle.statistics();
  EXPECT_EQ(s.xAvailableHeapSpaceInBytes, expected.bytes_free);
  EXPECT_EQ(s.xNumberOfFreeBlocks, expected.free_blocks);
  EXPECT_EQ(s.xNumberOfSuccessfulAllocations - s.xNumberOfSuccessfulFrees, live.size());
  for (const Live& block : live) {
    vPortFree(block.shim);
    oracle.free(block.oracle);
  }
  EXPECT_EQ(xPortGetFreeHeapSize(), oracle.statistics().bytes_free);
  EXPECT_EQ(calls().asserts, 0);
}

TEST_F(FreeRtosHeap, HeapStatsDescribeTheFreeBlocks) {
  void* a = pvPortMalloc(200);
  void* b = pvPortMalloc(300);
  void* c = pvPortMalloc(400);
  ASSERT_NE(c, nullptr);
  vPortFree(b);  // a hole of about 300 bytes between a and c
  const HeapStats_t s = stats();
  EXPECT_EQ(s.xAvailableHeapSpaceInBytes, xPortGetFreeHeapSize());
  EXPECT_GE(s.xNumberOfFreeBlocks, 2U);
  EXPECT_GE(s.xSizeOfSmallestFreeBlockInBytes, 300U);
  EXPECT_LE(s.xSizeOfSmallestFreeBlockInBytes, 320U);
  EXPECT_GT(s.xSizeOfLargestFreeBlockInBytes, s.xSizeOfSmallestFreeBlockInBytes);
  EXPECT_LE(s.xSizeOfLargestFreeBlockInBytes, s.xAvailableHeapSpaceInBytes);
  EXPECT_EQ(s.xNumberOfSuccessfulAllocations, 3U);
  EXPECT_EQ(s.xNumberOfSuccessfulFrees, 1U);
  // The largest free block is what one request can really get.
  void* largest = pvPortMalloc(s.xSizeOfLargestFreeBlockInBytes);
  EXPECT_NE(largest, nullptr);
  vPortFree(largest);
  vPortFree(a);
  vPortFree(c);
  EXPECT_EQ(stats().xNumberOfSuccessfulFrees, 4U);
}

// heap_4's vPortGetHeapStats with no free block (before the heap is set up, or when it is all in
// use): no blocks, the largest 0, the smallest portMAX_DELAY.
TEST_F(FreeRtosHeap, HeapStatsWithNoFreeBlock) {
  vPortHeapResetState();  // heap_5 style: no region yet; heap_4 style: no allocation yet
  HeapStats_t s = stats();
  EXPECT_EQ(s.xNumberOfFreeBlocks, 0U);
  EXPECT_EQ(s.xSizeOfLargestFreeBlockInBytes, 0U);
  EXPECT_EQ(s.xSizeOfSmallestFreeBlockInBytes, kNoFreeBlock);
  EXPECT_EQ(s.xAvailableHeapSpaceInBytes, 0U);
  EXPECT_EQ(s.xMinimumEverFreeBytesRemaining, 0U);
  EXPECT_EQ(s.xNumberOfSuccessfulAllocations, 0U);

  define_regions();
  vPortInitialiseBlocks();     // heap_4's is empty; so is this one
  vPortFree(pvPortMalloc(8));  // heap_4 style: the array is claimed on first use
  std::vector<void*> blocks;
  while (true) {  // take every free block whole
    const HeapStats_t now = stats();
    if (now.xNumberOfFreeBlocks == 0) {
      break;
    }
    void* block = pvPortMalloc(now.xSizeOfLargestFreeBlockInBytes);
    ASSERT_NE(block, nullptr);
    blocks.push_back(block);
  }
  s = stats();
  EXPECT_EQ(s.xSizeOfSmallestFreeBlockInBytes, kNoFreeBlock);
  EXPECT_EQ(s.xSizeOfLargestFreeBlockInBytes, 0U);
  EXPECT_EQ(s.xAvailableHeapSpaceInBytes, 0U);
  EXPECT_EQ(xPortGetMinimumEverFreeHeapSize(), 0U);
  for (void* block : blocks) {
    vPortFree(block);
  }
  EXPECT_GT(stats().xSizeOfSmallestFreeBlockInBytes, 0U);
  EXPECT_NE(stats().xSizeOfSmallestFreeBlockInBytes, kNoFreeBlock);
}

// heap_4 checks a freed pointer with configASSERT; so does this heap, by default, once the
// scheduler is resumed, with a line of its own for each kind of fault.
TEST_F(FreeRtosHeap, BadFreeGoesToConfigAssert) {
  alignas(16) static std::uint8_t elsewhere[32];
  void* block = pvPortMalloc(10);
  ASSERT_NE(block, nullptr);
  vPortFree(elsewhere);
  EXPECT_EQ(calls().asserts, 1);
  const unsigned long foreign_line = calls().assert_line;
  EXPECT_EQ(stats().xNumberOfSuccessfulFrees, 0U) << "the rejected free freed nothing";
  vPortFree(block);
  vPortFree(block);
  EXPECT_EQ(calls().asserts, 2);
  EXPECT_NE(calls().assert_line, foreign_line) << "a double free asserts on another line";
  EXPECT_EQ(stats().xNumberOfSuccessfulFrees, 1U);
  EXPECT_EQ(calls().free_traces, 1);
}

// A handler the application installs takes precedence over configASSERT.
TEST_F(FreeRtosHeap, AnInstalledFaultHandlerTakesPrecedence) {
  keel_test::FaultRecorder faults;
  alignas(16) static std::uint8_t elsewhere[32];
  void* block = pvPortMalloc(10);
  vPortFree(elsewhere);
  EXPECT_EQ(keel_test::FaultRecorder::count(), 1);
  EXPECT_EQ(keel_test::FaultRecorder::last(), keel::Fault::foreign_pointer);
  EXPECT_EQ(calls().asserts, 0);
  EXPECT_EQ(stats().xNumberOfSuccessfulFrees, 0U) << "the rejected free freed nothing";
  vPortFree(block);
}

// configHEAP_CLEAR_MEMORY_ON_FREE (heap_5 build only): a freed block is cleared, as heap_4
// clears it; without it (heap_4 build) its bytes stay. Seen through the same block handed out
// again (freed memory is off limits under AddressSanitizer).
TEST_F(FreeRtosHeap, ClearMemoryOnFreeIsHonoured) {
  auto* first = static_cast<unsigned char*>(pvPortMalloc(256));
  ASSERT_NE(first, nullptr);
  std::memset(first, 0xAB, 256);
  vPortFree(first);
  auto* again = static_cast<unsigned char*>(pvPortMalloc(256));
  ASSERT_EQ(again, first) << "the same block comes back";
  // The first 16 bytes held the free block's links; the last word before 256 its footer.
  int old_bytes = 0;
  for (int i = 16; i < 240; ++i) {
    old_bytes += again[i] == 0xAB ? 1 : 0;
  }
  EXPECT_EQ(old_bytes, kHeap5 ? 0 : 224);
  vPortFree(again);
}

#if defined(KEEL_TEST_HEAP5)
// configENABLE_HEAP_PROTECTOR: the application's canary seeds keel's hardened links, asked for
// once when the heap is set up, and a free list overwritten after a free is refused instead of
// followed: configASSERT, and from then on every request gets NULL and the failed hook.
TEST_F(FreeRtosHeap, HeapProtectorSeedsAndChecksTheLinks) {
  vPortHeapResetState();
  calls() = {};
  define_regions();
  EXPECT_EQ(calls().canaries, 1) << "once, before the first region";
  // Blocks of 64 and 16 bytes, so that after a (16-aligned) no block needs a pad in front, and
  // b's links are its first 8 bytes.
  auto* a = static_cast<unsigned char*>(pvPortMalloc(60));
  void* guard_a = pvPortMalloc(12);
  auto* b = static_cast<unsigned char*>(pvPortMalloc(60));
  ASSERT_EQ(calls().last_malloc.bytes, 64U) << "b has no pad";
  void* guard_b = pvPortMalloc(12);
  ASSERT_NE(guard_b, nullptr);
  vPortFree(a);
  vPortFree(b);  // b heads its bin, and its next link names a
  for (int i = 0; i < 8; ++i) {
    poke(b + i, 0x41);  // a write after free over the links
  }
  EXPECT_EQ(calls().asserts, 0);
  vPortFree(guard_b);  // merges with b, whose links are checked before it leaves its bin
  EXPECT_EQ(calls().asserts, 1) << "the broken link goes to configASSERT";
  EXPECT_EQ(pvPortMalloc(16), nullptr) << "a heap with a broken list serves nothing more";
  EXPECT_EQ(calls().failed_hooks, 1);
  EXPECT_EQ(calls().canaries, 1);
  static_cast<void>(guard_a);
}

TEST_F(FreeRtosHeap, RegionsServeRequestsAndNothingBeforeThem) {
  vPortHeapResetState();
  EXPECT_EQ(pvPortMalloc(16), nullptr) << "heap_5: no memory before vPortDefineHeapRegions";
  define_regions();
  EXPECT_GT(xPortGetFreeHeapSize(), kHeapBytes - 128);
  EXPECT_EQ(xPortGetMinimumEverFreeHeapSize(), xPortGetFreeHeapSize())
      << "as heap_5: the minimum starts at the whole heap, every region counted";
  // Each region serves requests; one larger than either region cannot be served.
  void* in_high = pvPortMalloc(30 * 1024);
  void* in_low = pvPortMalloc(20 * 1024);
  ASSERT_NE(in_high, nullptr);
  ASSERT_NE(in_low, nullptr);
  const auto* high = static_cast<std::uint8_t*>(in_high);
  const auto* low = static_cast<std::uint8_t*>(in_low);
  EXPECT_TRUE(high >= g_region_high && high < g_region_high + sizeof g_region_high);
  EXPECT_TRUE(low >= g_region_low && low < g_region_low + sizeof g_region_low);
  vPortFree(in_high);
  vPortFree(in_low);
  EXPECT_EQ(pvPortMalloc(50 * 1024), nullptr);
  EXPECT_EQ(stats().xNumberOfFreeBlocks, 2U) << "one free block per region";

  // Regions keel refuses trip configASSERT, one each, and change nothing.
  calls() = {};
  const std::size_t free_before = xPortGetFreeHeapSize();
  define_regions();  // both overlap the regions the heap has
  alignas(16) static std::uint8_t tiny[8];
  const HeapRegion_t too_small[] = {{tiny, sizeof tiny}, {nullptr, 0}};
  vPortDefineHeapRegions(too_small);
  EXPECT_EQ(calls().asserts, 3);
  EXPECT_EQ(xPortGetFreeHeapSize(), free_before);
  EXPECT_EQ(stats().xNumberOfFreeBlocks, 2U);
}
#else
TEST_F(FreeRtosHeap, StaticHeapIsClaimedOnFirstUse) {
  EXPECT_EQ(xPortGetFreeHeapSize(), 0U) << "as heap_4: nothing before the first pvPortMalloc";
  EXPECT_EQ(xPortGetMinimumEverFreeHeapSize(), 0U);
  void* block = pvPortMalloc(10);
  ASSERT_NE(block, nullptr);
  EXPECT_GT(xPortGetFreeHeapSize(), kHeapBytes - 256);
  EXPECT_EQ(calls().canaries, 0) << "no heap protector in this build";
  vPortFree(block);
}
#endif

// The conformance suite over pvPortMalloc / vPortFree.
struct FreeRtosFace {
  static constexpr const char* kName = "FreeRtos";
  static constexpr std::size_t kMaxSize = 1024;
  static constexpr std::size_t kMaxAlign = portBYTE_ALIGNMENT;
  static constexpr bool kBounded = true;
  FreeRtosFace() {
    vPortHeapResetState();
    define_regions();
  }
  void* allocate(std::size_t size, std::size_t /*align*/) { return pvPortMalloc(size); }
  void free(void* pointer, std::size_t, std::size_t) { vPortFree(pointer); }
  std::size_t live() {
    HeapStats_t s;
    vPortGetHeapStats(&s);
    return s.xNumberOfSuccessfulAllocations - s.xNumberOfSuccessfulFrees;
  }
};

}  // namespace

namespace keel_test {
INSTANTIATE_TYPED_TEST_SUITE_P(FreeRtos, Conformance, ::testing::Types<FreeRtosFace>, FaceName);
}  // namespace keel_test
