// core/src/freertos_heap.cpp: FreeRTOS's heap_4/heap_5 API over one keel heap. The semantics
// are in keel/adapters/freertos_heap.h; docs/integration.md shows the build.
//
// Where an application can observe heap_4 (FreeRTOS-Kernel portable/MemMang/heap_4.c), this
// file behaves the same: NULL and the failed hook for a zero-size request, NULL without the hook
// for an overflowing calloc, the trace macros with the block's size, O(1) lock-free reads of the
// free and minimum-ever-free figures, configHEAP_CLEAR_MEMORY_ON_FREE, configENABLE_HEAP_PROTECTOR
// (keel's hardened links, seeded with the application's canary) and bad frees reported through
// configASSERT.
//
// The figures: heap_4 counts the bytes of free blocks, headers included, and so does this file,
// from the bytes each block takes (its header, and its pad when an alignment above 8 needed one).
// It keeps them itself rather than asking keel's statistics, so that reading them is one load,
// and the heap underneath keeps no statistics at all.
//
// FreeRTOSConfig.h is C: its numbers are often written with C casts, "((size_t)(64 * 1024))".
// NOLINTNEXTLINE: a deliberate deviation from keel's warning set, for this file only
#pragma GCC diagnostic ignored "-Wold-style-cast"

#include "keel/adapters/freertos_heap.h"

#include <atomic>
#include <new>

#include "keel/detail/checked.hpp"
#include "keel/fault.hpp"
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
#ifndef configHEAP_CLEAR_MEMORY_ON_FREE
#define configHEAP_CLEAR_MEMORY_ON_FREE 0
#endif
#ifndef configENABLE_HEAP_PROTECTOR
#define configENABLE_HEAP_PROTECTOR 0
#endif
#ifndef portBYTE_ALIGNMENT
#define portBYTE_ALIGNMENT 8
#endif
// FreeRTOS.h gives these defaults too; without its headers they are defined here.
#ifndef traceMALLOC
#define traceMALLOC(pvAddress, uiSize)
#endif
#ifndef traceFREE
#define traceFREE(pvAddress, uiSize)
#endif
// FreeRTOS.h defines configASSERT as nothing when the application does not, and then says so
// with configASSERT_DEFINED 0.
#if defined(configASSERT_DEFINED)
#define KEEL_FREERTOS_HAS_ASSERT configASSERT_DEFINED
#elif defined(configASSERT)
#define KEEL_FREERTOS_HAS_ASSERT 1
#else
#define KEEL_FREERTOS_HAS_ASSERT 0
#endif
#if KEEL_FREERTOS_HAS_ASSERT
#define KEEL_FREERTOS_ASSERT(condition) configASSERT(condition)
#else
#define KEEL_FREERTOS_ASSERT(condition) static_cast<void>(condition)
#endif

#if configENABLE_HEAP_PROTECTOR == 1
// heap_4.c and heap_5.c declare it themselves; the application defines it.
extern "C" void vApplicationGetRandomHeapCanary(portPOINTER_SIZE_TYPE* pxHeapCanary);
#endif

namespace {

constexpr std::size_t kAlignment = portBYTE_ALIGNMENT;

/// heap_4's vPortGetHeapStats reports portMAX_DELAY as the smallest free block when there is
/// none (its search starts there).
#if defined(portMAX_DELAY)
constexpr std::size_t kNoFreeBlock = static_cast<std::size_t>(portMAX_DELAY);
#else
constexpr std::size_t kNoFreeBlock = ~std::size_t{0};
#endif

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

/// No statistics (the figures FreeRTOS asks for are kept below); hardened links when the
/// application asks heap_4 for its heap protector.
using FreeRtosHeap =
    keel::Heap<keel::FailOnOom, keel::HeapOptions{.statistics = false,
                                                  .hardened = configENABLE_HEAP_PROTECTOR == 1}>;

/// The heap, and FreeRTOS's figures. free_bytes and minimum_free are written under the scheduler
/// lock and read without it (from a tick hook or an interrupt), hence atomic; relaxed loads and
/// stores of a word are plain loads and stores on every target FreeRTOS runs on.
struct State {
  FreeRtosHeap heap;
  std::atomic<std::size_t> free_bytes{0};    ///< bytes of free blocks, headers included
  std::atomic<std::size_t> minimum_free{0};  ///< least free_bytes since the first region
  std::size_t allocations = 0;               ///< successful pvPortMalloc / pvPortCalloc
  std::size_t frees = 0;                     ///< successful vPortFree
  /// heap_4's array is claimed on the first allocation, as heap_4 initialises on first use.
  bool static_heap_claimed = false;
  bool secret_seeded = false;      ///< the heap protector's canary was asked for
  bool fault_handler_set = false;  ///< this file's handler is keel's default
  bool in_call = false;            ///< a heap call holds the scheduler lock
  bool fault_pending = false;      ///< a fault met in a heap call, asserted after it
  keel::Fault pending_fault{};
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

State& heap_state() {
  return g_storage.state;
}

/// configASSERT with a false condition that names the fault ("fault != keel::Fault::double_free"),
/// for configurations that print it, and a line of its own for those that print __LINE__.
void assert_fault(keel::Fault fault) {
  switch (fault) {
    case keel::Fault::foreign_pointer:
      KEEL_FREERTOS_ASSERT(fault != keel::Fault::foreign_pointer);
      return;
    case keel::Fault::misaligned_pointer:
      KEEL_FREERTOS_ASSERT(fault != keel::Fault::misaligned_pointer);
      return;
    case keel::Fault::double_free: KEEL_FREERTOS_ASSERT(fault != keel::Fault::double_free); return;
    case keel::Fault::invalid_pointer:
      KEEL_FREERTOS_ASSERT(fault != keel::Fault::invalid_pointer);
      return;
    case keel::Fault::corrupted_block:
      KEEL_FREERTOS_ASSERT(fault != keel::Fault::corrupted_block);
      return;
    default: {
      const bool keel_heap_fault = true;
      KEEL_FREERTOS_ASSERT(!keel_heap_fault);
      return;
    }
  }
}

#if KEEL_FREERTOS_HAS_ASSERT
/// keel's default fault handler while this file is in the program, if configASSERT is defined:
/// configASSERT after the scheduler is resumed for faults met in a heap call here (as heap_4
/// asserts in vPortFree outside its suspended section), at once for faults elsewhere.
void assert_on_fault(keel::Fault fault, const void* /*address*/) noexcept {
  State& s = heap_state();
  if (s.in_call) {
    if (!s.fault_pending) {
      s.fault_pending = true;
      s.pending_fault = fault;
    }
    return;
  }
  assert_fault(fault);
}
#endif

/// One heap call: the scheduler suspended (vTaskSuspendAll / xTaskResumeAll, as heap_4 and
/// heap_5 do), and a fault met meanwhile asserted once it is resumed.
class HeapCall {
 public:
  HeapCall() : s_(heap_state()) {
    vTaskSuspendAll();
    s_.in_call = true;
#if KEEL_FREERTOS_HAS_ASSERT
    if (!s_.fault_handler_set) {
      s_.fault_handler_set = true;
      keel::set_default_fault_handler(&assert_on_fault);
    }
#endif
  }
  ~HeapCall() {
    s_.in_call = false;
    const bool fault = s_.fault_pending;
    const keel::Fault kind = s_.pending_fault;
    s_.fault_pending = false;
    static_cast<void>(xTaskResumeAll());
    if (fault) {
      assert_fault(kind);
    }
  }
  HeapCall(const HeapCall&) = delete;
  HeapCall& operator=(const HeapCall&) = delete;

  [[nodiscard]] State& state() const {
    return s_;
  }

 private:
  State& s_;
};

/// Bytes a live block takes from the heap: its size from its header, and the pad in front that
/// an alignment above 8 may have used (what keel's bytes in use grow by when the block is handed
/// out, and fall by when it is freed). `payload` must be a live block.
std::size_t block_bytes(void* payload) {
  namespace detail = keel::detail;
  const detail::tools::Scope scope;  // the header is keel's, hidden from host tools
  const detail::Word header = detail::header_of(detail::block_of(payload));
  const detail::Word pad = (header & detail::kPaddedBit) != 0 ? detail::kPadGranules : 0;
  return detail::bytes_of(detail::granules_of(header) + pad);
}

/// The bytes one request can get from a free block: all of its usable bytes when the payload
/// alignment keel gives (8) is enough, less the gap to the first portBYTE_ALIGNMENT boundary
/// otherwise.
std::size_t obtainable_bytes(const keel::BlockInfo& block) {
  if constexpr (kAlignment > keel::detail::kGranule) {
    const std::size_t misaligned = reinterpret_cast<std::uintptr_t>(block.address) % kAlignment;
    const std::size_t gap = misaligned == 0 ? 0 : kAlignment - misaligned;
    return block.size > gap ? block.size - gap : 0;
  } else {
    return block.size;
  }
}

void set_free_bytes(State& s, std::size_t free_now) {
  s.free_bytes.store(free_now, std::memory_order_relaxed);
  if (free_now < s.minimum_free.load(std::memory_order_relaxed)) {
    s.minimum_free.store(free_now, std::memory_order_relaxed);
  }
}

/// Claims a region and counts its free block. Before the first claim, a hardened heap takes its
/// secret from the application's canary, as heap_4 does at its initialisation.
keel::RegionResult claim_region(State& s, keel::Span span) {
#if configENABLE_HEAP_PROTECTOR == 1
  if (!s.secret_seeded) {
    s.secret_seeded = true;
    portPOINTER_SIZE_TYPE canary = 0;
    vApplicationGetRandomHeapCanary(&canary);
    const auto wide = static_cast<std::uint64_t>(canary);
    static_cast<void>(s.heap.set_secret(static_cast<std::uint32_t>(wide ^ (wide >> 32U))));
  }
#endif
  const keel::RegionResult result = s.heap.claim(span);
  if (result.ok()) {
    const std::size_t free_now = s.free_bytes.load(std::memory_order_relaxed) +
                                 result.extent().size - keel::detail::kRegionOverhead;
    s.free_bytes.store(free_now, std::memory_order_relaxed);
    if (s.allocations == 0) {
      // Until the first allocation, the regions are being set up: heap_4 and heap_5 start the
      // minimum at the whole heap.
      s.minimum_free.store(free_now, std::memory_order_relaxed);
    }
  }
  return result;
}

void* allocate(std::size_t size) {
  void* pointer = nullptr;
  bool static_heap_refused = false;
  {
    const HeapCall call;
    State& s = call.state();
    if (kStaticHeapBytes != 0 && !s.static_heap_claimed) {  // NOLINT: constant per build
      s.static_heap_claimed = true;
      static_heap_refused = !claim_region(s, keel::Span{ucHeap, kStaticHeapBytes}).ok();
    }
    std::size_t bytes = 0;
    if (size != 0) {
      pointer = s.heap.allocate(size, kAlignment);
    }
    if (pointer != nullptr) {
      bytes = block_bytes(pointer);
      ++s.allocations;
      set_free_bytes(s, s.free_bytes.load(std::memory_order_relaxed) - bytes);
    }
    traceMALLOC(pointer, bytes);
    static_cast<void>(bytes);  // when traceMALLOC is empty
  }
  // Asserts and the hook run with the scheduler resumed, as in heap_4.
  KEEL_FREERTOS_ASSERT(!static_heap_refused);
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
  return allocate(xWantedSize);
}

void* pvPortCalloc(size_t xNum, size_t xSize) {
  std::size_t total = 0;
  if (!keel::detail::checked_multiply(xNum, xSize, total)) {
    return nullptr;  // as heap_4: no allocation attempted, so no failed hook
  }
  void* pointer = allocate(total);
  if (pointer != nullptr) {
    __builtin_memset(pointer, 0, total);
  }
  return pointer;
}

void vPortFree(void* pv) {
  if (pv == nullptr) {
    return;
  }
  const HeapCall call;
  State& s = call.state();
  // usable_size checks the pointer (a bad one goes to the fault hook and gives 0): only a live
  // block's header may be read.
  const std::size_t usable = s.heap.usable_size(pv);
  if (usable == 0) {
    return;
  }
  const std::size_t bytes = block_bytes(pv);
#if configHEAP_CLEAR_MEMORY_ON_FREE == 1
  keel::detail::tools::open_for_copy(pv, usable);  // all of it, not only the bytes asked for
  __builtin_memset(pv, 0, usable);
#endif
  s.heap.free(pv);
  ++s.frees;
  s.free_bytes.store(s.free_bytes.load(std::memory_order_relaxed) + bytes,
                     std::memory_order_relaxed);
  traceFREE(pv, bytes);
}

size_t xPortGetFreeHeapSize(void) {
  return heap_state().free_bytes.load(std::memory_order_relaxed);
}

size_t xPortGetMinimumEverFreeHeapSize(void) {
  return heap_state().minimum_free.load(std::memory_order_relaxed);
}

void xPortResetHeapMinimumEverFreeHeapSize(void) {
  State& s = heap_state();
  s.minimum_free.store(s.free_bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void vPortInitialiseBlocks(void) {
  // As in heap_4: nothing to do (the heap is set up on first use), declared by portable.h.
}

void vPortDefineHeapRegions(const HeapRegion_t* const pxHeapRegions) {
  std::size_t refused = 0;
  {
    const HeapCall call;
    for (const HeapRegion_t* region = pxHeapRegions;
         region != nullptr && region->xSizeInBytes != 0 && region->pucStartAddress != nullptr;
         ++region) {
      if (!claim_region(call.state(), keel::Span{region->pucStartAddress, region->xSizeInBytes})
               .ok()) {
        ++refused;
      }
    }
  }
  for (std::size_t i = 0; i < refused; ++i) {  // one configASSERT for each region refused
    const bool region_accepted = false;
    KEEL_FREERTOS_ASSERT(region_accepted);
  }
}

void vPortGetHeapStats(HeapStats_t* pxHeapStats) {
  std::size_t largest = 0;
  std::size_t smallest = kNoFreeBlock;
  std::size_t count = 0;
  {
    const HeapCall call;
    const State& s = call.state();
    s.heap.walk([&](const keel::BlockInfo& block) {
      if (!block.used) {
        const std::size_t bytes = obtainable_bytes(block);
        ++count;
        largest = bytes > largest ? bytes : largest;
        smallest = bytes < smallest ? bytes : smallest;
      }
    });
    pxHeapStats->xAvailableHeapSpaceInBytes = s.free_bytes.load(std::memory_order_relaxed);
    pxHeapStats->xMinimumEverFreeBytesRemaining = s.minimum_free.load(std::memory_order_relaxed);
    pxHeapStats->xNumberOfSuccessfulAllocations = s.allocations;
    pxHeapStats->xNumberOfSuccessfulFrees = s.frees;
  }
  pxHeapStats->xSizeOfLargestFreeBlockInBytes = largest;
  pxHeapStats->xSizeOfSmallestFreeBlockInBytes = smallest;
  pxHeapStats->xNumberOfFreeBlocks = count;
}

void vPortHeapResetState(void) {
  vTaskSuspendAll();
  g_storage.state.~State();
  ::new (&g_storage.state) State();
  static_cast<void>(xTaskResumeAll());
}

}  // extern "C"
