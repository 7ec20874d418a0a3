// core/src/freertos_heap.cpp: FreeRTOS's heap_4/heap_5 API over one keel heap. The semantics
// are in keel/adapters/freertos_heap.h; docs/integration.md shows the build.
// FreeRTOSConfig.h is C: its numbers are often written with C casts, "((size_t)(64 * 1024))".
// NOLINTNEXTLINE: a deliberate deviation from keel's warning set, for this file only
#pragma GCC diagnostic ignored "-Wold-style-cast"

#include "keel/adapters/freertos_heap.h"

#include <new>

#include "keel/heap.hpp"

#ifndef KEEL_FREERTOS_REGIONS_ONLY
#define KEEL_FREERTOS_REGIONS_ONLY 0
#endif
#ifndef configUSE_MALLOC_FAILED_HOOK
#define configUSE_MALLOC_FAILED_HOOK 0
#endif
#ifndef configAPPLICATION_ALLOCATED_HEAP
#define configAPPLICATION_ALLOCATED_HEAP 0
#endif
#ifndef portBYTE_ALIGNMENT
#define portBYTE_ALIGNMENT 8
#endif
#ifdef configASSERT
#define KEEL_FREERTOS_ASSERT(condition) configASSERT(condition)
#else
#define KEEL_FREERTOS_ASSERT(condition) static_cast<void>(condition)
#endif

namespace {

constexpr std::size_t kAlignment = portBYTE_ALIGNMENT;

// heap_4's array, unless the application says it uses regions only (heap_5 style). Not an #if
// on the size: FreeRTOSConfig.h usually writes it with a cast.
#if defined(configTOTAL_HEAP_SIZE) && !KEEL_FREERTOS_REGIONS_ONLY
#if configAPPLICATION_ALLOCATED_HEAP == 1
}  // namespace
extern "C" std::uint8_t ucHeap[];  // NOLINT: FreeRTOS's name, the application defines it
namespace {
#else
alignas(kAlignment) std::uint8_t ucHeap[configTOTAL_HEAP_SIZE];  // NOLINT: FreeRTOS's name
#endif
constexpr std::size_t kStaticHeapBytes = configTOTAL_HEAP_SIZE;
#else
std::uint8_t* const ucHeap = nullptr;  // NOLINT: regions only
constexpr std::size_t kStaticHeapBytes = 0;
#endif

/// The heap, and what FreeRTOS's statistics need beyond keel's. The heap serves only
/// pvPortMalloc and pvPortCalloc, so its counters are exact: successful allocations are its
/// total_allocations, successful frees those minus its live_allocations.
struct State {
  keel::Heap<> heap;
  /// heap_4's array is claimed on the first allocation, as heap_4 initialises on first use.
  bool static_heap_claimed = false;
  /// After xPortResetHeapMinimumEverFreeHeapSize, the minimum is tracked here.
  bool minimum_reset = false;
  std::size_t minimum_since_reset = 0;
};

// A union so that vPortHeapResetState can construct the state again in place; constinit, so
// that tasks and static constructors may allocate before main.
constinit union Storage {
  constexpr Storage() : state() {}
#if defined(KEEL_TOOLS_ASAN) || defined(KEEL_TOOLS_VALGRIND)
  // The heap has a destructor in builds that tell host tools about blocks; the state is never
  // destroyed (it lives for the program), so this one does nothing.
  ~Storage() {}
#endif
  State state;
} g_storage;

State& state() {
  return g_storage.state;
}

/// vTaskSuspendAll / xTaskResumeAll, as heap_4 and heap_5 do.
class SchedulerLock {
 public:
  SchedulerLock() { vTaskSuspendAll(); }
  ~SchedulerLock() { static_cast<void>(xTaskResumeAll()); }
  SchedulerLock(const SchedulerLock&) = delete;
  SchedulerLock& operator=(const SchedulerLock&) = delete;
};

void note_free_bytes(State& s) {
  if (s.minimum_reset) {
    const std::size_t free_now = s.heap.statistics().bytes_free;
    if (free_now < s.minimum_since_reset) {
      s.minimum_since_reset = free_now;
    }
  }
}

void* allocate(std::size_t size, bool zeroed, std::size_t count) {
  void* pointer = nullptr;
  {
    SchedulerLock lock;
    State& s = state();
    if (kStaticHeapBytes != 0 && !s.static_heap_claimed) {  // NOLINT: constant per build
      s.static_heap_claimed = true;
      const bool claimed = s.heap.claim(keel::Span{ucHeap, kStaticHeapBytes}).ok();
      KEEL_FREERTOS_ASSERT(claimed);
      static_cast<void>(claimed);
    }
    if (size != 0) {
      pointer = zeroed ? s.heap.allocate_zeroed(count, size, kAlignment)
                       : s.heap.allocate(size, kAlignment);
    }
    if (pointer != nullptr) {
      note_free_bytes(s);
    }
  }
#if configUSE_MALLOC_FAILED_HOOK == 1
  if (pointer == nullptr) {
    vApplicationMallocFailedHook();
  }
#endif
  return pointer;
}

}  // namespace

extern "C" {

void* pvPortMalloc(size_t xWantedSize) {
  return allocate(xWantedSize, false, 1);
}

void* pvPortCalloc(size_t xNum, size_t xSize) {
  return allocate(xSize, true, xNum);
}

void vPortFree(void* pv) {
  if (pv == nullptr) {
    return;
  }
  SchedulerLock lock;
  state().heap.free(pv);
}

size_t xPortGetFreeHeapSize(void) {
  SchedulerLock lock;
  return state().heap.statistics().bytes_free;
}

size_t xPortGetMinimumEverFreeHeapSize(void) {
  SchedulerLock lock;
  const State& s = state();
  return s.minimum_reset ? s.minimum_since_reset : s.heap.statistics().min_bytes_free;
}

void xPortResetHeapMinimumEverFreeHeapSize(void) {
  SchedulerLock lock;
  State& s = state();
  s.minimum_reset = true;
  s.minimum_since_reset = s.heap.statistics().bytes_free;
}

void vPortDefineHeapRegions(const HeapRegion_t* const pxHeapRegions) {
  SchedulerLock lock;
  for (const HeapRegion_t* region = pxHeapRegions;
       region != nullptr && region->xSizeInBytes != 0 && region->pucStartAddress != nullptr;
       ++region) {
    const keel::RegionResult result =
        state().heap.claim(keel::Span{region->pucStartAddress, region->xSizeInBytes});
    KEEL_FREERTOS_ASSERT(result.ok());
    static_cast<void>(result);
  }
}

void vPortGetHeapStats(HeapStats_t* pxHeapStats) {
  SchedulerLock lock;
  const State& s = state();
  const keel::Statistics stats = s.heap.statistics();
  std::size_t largest = 0;
  std::size_t smallest = ~std::size_t{0};
  std::size_t count = 0;
  s.heap.walk([&](const keel::BlockInfo& block) {
    if (!block.used) {
      ++count;
      largest = block.size > largest ? block.size : largest;
      smallest = block.size < smallest ? block.size : smallest;
    }
  });
  pxHeapStats->xAvailableHeapSpaceInBytes = stats.bytes_free;
  pxHeapStats->xSizeOfLargestFreeBlockInBytes = largest;
  pxHeapStats->xSizeOfSmallestFreeBlockInBytes = count == 0 ? 0 : smallest;
  pxHeapStats->xNumberOfFreeBlocks = count;
  pxHeapStats->xMinimumEverFreeBytesRemaining =
      s.minimum_reset ? s.minimum_since_reset : stats.min_bytes_free;
  pxHeapStats->xNumberOfSuccessfulAllocations = static_cast<std::size_t>(stats.total_allocations);
  pxHeapStats->xNumberOfSuccessfulFrees =
      static_cast<std::size_t>(stats.total_allocations) - stats.live_allocations;
}

void vPortHeapResetState(void) {
  SchedulerLock lock;
  g_storage.state.~State();
  ::new (&g_storage.state) State();
}

}  // extern "C"
