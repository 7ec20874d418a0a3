// Tests of the FreeRTOS heap drop-in (keel/adapters/freertos_heap.h) against the documented
// semantics of FreeRTOS's heap_4 and heap_5. Built twice: heap_4 style (configTOTAL_HEAP_SIZE,
// KEEL_TEST_HEAP4) and heap_5 style (regions only, KEEL_TEST_HEAP5).
// configTOTAL_HEAP_SIZE is written as FreeRTOSConfig.h usually writes it, with a C cast.
#pragma GCC diagnostic ignored "-Wold-style-cast"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "faces/conformance.hpp"
#include "faces/fault_recorder.hpp"
#include "faces/freertos_fakes.hpp"
#include "keel/adapters/freertos_heap.h"

namespace {

using keel_test::freertos::calls;

#if defined(KEEL_TEST_HEAP5)
alignas(8) std::uint8_t g_region_low[24 * 1024];
alignas(8) std::uint8_t g_region_high[40 * 1024];
void define_regions() {
  // Listed high first: keel accepts any order (heap_5 asks for ascending addresses).
  const HeapRegion_t regions[] = {
      {g_region_high, sizeof g_region_high}, {g_region_low, sizeof g_region_low}, {nullptr, 0}};
  vPortDefineHeapRegions(regions);
}
constexpr std::size_t kHeapBytes = sizeof g_region_low + sizeof g_region_high;
#else
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
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(block) % portBYTE_ALIGNMENT, 0U);
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
}

TEST_F(FreeRtosHeap, ZeroAndFailureReturnNullAndCallTheHook) {
  EXPECT_EQ(pvPortMalloc(0), nullptr);
  EXPECT_EQ(calls().failed_hooks, 1);
  EXPECT_EQ(pvPortMalloc(kHeapBytes + 1), nullptr);
  EXPECT_EQ(calls().failed_hooks, 2);
  vPortFree(nullptr);  // ignored
  EXPECT_EQ(calls().failed_hooks, 2);
}

TEST_F(FreeRtosHeap, CallocZeroesAndChecksOverflow) {
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
  volatile std::size_t huge = SIZE_MAX / 2;
  EXPECT_EQ(pvPortCalloc(huge, 4), nullptr);
  EXPECT_EQ(calls().failed_hooks, 1);
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

TEST_F(FreeRtosHeap, ForeignFreeGoesToTheFaultHook) {
  keel_test::FaultRecorder faults;
  alignas(8) static std::uint8_t elsewhere[32];
  void* block = pvPortMalloc(10);
  vPortFree(elsewhere);
  EXPECT_EQ(keel_test::FaultRecorder::count(), 1);
  EXPECT_EQ(stats().xNumberOfSuccessfulFrees, 0U) << "the rejected free freed nothing";
  vPortFree(block);
}

#if defined(KEEL_TEST_HEAP5)
TEST_F(FreeRtosHeap, RegionsServeRequestsAndNothingBeforeThem) {
  vPortHeapResetState();
  EXPECT_EQ(pvPortMalloc(16), nullptr) << "heap_5: no memory before vPortDefineHeapRegions";
  define_regions();
  EXPECT_GT(xPortGetFreeHeapSize(), kHeapBytes - 128);
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
}
#else
TEST_F(FreeRtosHeap, StaticHeapIsClaimedOnFirstUse) {
  EXPECT_EQ(xPortGetFreeHeapSize(), 0U) << "as heap_4: nothing before the first pvPortMalloc";
  void* block = pvPortMalloc(10);
  ASSERT_NE(block, nullptr);
  EXPECT_GT(xPortGetFreeHeapSize(), kHeapBytes - 256);
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
