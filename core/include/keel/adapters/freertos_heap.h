/* keel/adapters/freertos_heap.h: FreeRTOS's heap API (heap_4 / heap_5) over keel.
 *
 * core/src/freertos_heap.cpp is a drop-in replacement for FreeRTOS's portable/MemMang/heap_4.c
 * or heap_5.c: build it instead of them (CMake: link keel::freertos; see docs/integration.md).
 * It follows the documented semantics of the FreeRTOS heap API:
 *
 * - pvPortMalloc(n): a block of n bytes aligned to portBYTE_ALIGNMENT, or NULL. n == 0 returns
 *   NULL. On failure, vApplicationMallocFailedHook() is called if configUSE_MALLOC_FAILED_HOOK
 *   is 1. The scheduler is suspended around the heap (vTaskSuspendAll / xTaskResumeAll), as in
 *   heap_4, so that tasks may allocate; interrupts must not.
 * - pvPortCalloc(count, size): zeroed count * size bytes; NULL if the product overflows.
 * - vPortFree(p): NULL is ignored; a pointer not from pvPortMalloc goes to keel's fault hook.
 * - xPortGetFreeHeapSize(): bytes free now (whole free blocks).
 * - xPortGetMinimumEverFreeHeapSize(): the least that value has been since start-up (or since
 *   xPortResetHeapMinimumEverFreeHeapSize()).
 * - vPortDefineHeapRegions(regions): heap_5's set-up; the array ends with a {NULL, 0} entry.
 *   keel accepts the regions in any order and may be called again to add more; a region that
 *   keel refuses (overlapping, too small) trips configASSERT when it is defined.
 * - heap_4's static heap: if configTOTAL_HEAP_SIZE is defined, an array
 *   ucHeap[configTOTAL_HEAP_SIZE] (the application's when configAPPLICATION_ALLOCATED_HEAP is 1)
 *   is claimed on the first allocation. heap_5 users define KEEL_FREERTOS_REGIONS_ONLY=1 so that
 *   no such array is reserved, and call vPortDefineHeapRegions before the first allocation.
 * - vPortGetHeapStats(stats): as FreeRTOS; O(blocks) like FreeRTOS's own, with the scheduler
 *   suspended. Free block sizes are the bytes a request can get from that block.
 * - vPortHeapResetState(): forgets every block and region (for tests between runs).
 *
 * With FreeRTOS's headers on the include path, its FreeRTOS.h (and portable.h) declare all this
 * and FreeRTOSConfig.h configures it. Without them (keel's own tests), this header declares the
 * same types and functions, and the configuration comes from the compiler's -D options.
 */
#ifndef KEEL_ADAPTERS_FREERTOS_HEAP_H
#define KEEL_ADAPTERS_FREERTOS_HEAP_H

#if defined(__has_include)
#if __has_include("FreeRTOS.h")
#define KEEL_FREERTOS_KERNEL_HEADERS 1
#endif
#endif

#if defined(KEEL_FREERTOS_KERNEL_HEADERS)
/* FreeRTOS.h includes FreeRTOSConfig.h, and (in recent kernels) does so before its own
 * extern "C" block. The configuration declares the application's C functions (vAssertCalled for
 * configASSERT, the trace hooks): from a C++ file they must be seen as C, or the link fails.
 * The C headers that FreeRTOSConfig.h often includes come first, outside the block, as heap_4.c
 * includes them; their include guards keep them out of it. */
#include <stddef.h>
#include <stdint.h>
#if defined(__has_include)
#if __has_include(<stdlib.h>) && __has_include(<string.h>)
#include <stdlib.h>
#include <string.h>
#endif
#endif
#ifdef __cplusplus
extern "C" {
#endif
#include "FreeRTOS.h"
#include "task.h"
#ifdef __cplusplus
}
#endif
#else
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct HeapRegion {
  uint8_t* pucStartAddress;
  size_t xSizeInBytes;
} HeapRegion_t;

typedef struct xHeapStats {
  size_t xAvailableHeapSpaceInBytes;
  size_t xSizeOfLargestFreeBlockInBytes;
  size_t xSizeOfSmallestFreeBlockInBytes;
  size_t xNumberOfFreeBlocks;
  size_t xMinimumEverFreeBytesRemaining;
  size_t xNumberOfSuccessfulAllocations;
  size_t xNumberOfSuccessfulFrees;
} HeapStats_t;

void* pvPortMalloc(size_t xWantedSize);
void* pvPortCalloc(size_t xNum, size_t xSize);
void vPortFree(void* pv);
size_t xPortGetFreeHeapSize(void);
size_t xPortGetMinimumEverFreeHeapSize(void);
void xPortResetHeapMinimumEverFreeHeapSize(void);
void vPortDefineHeapRegions(const HeapRegion_t* const pxHeapRegions);
void vPortGetHeapStats(HeapStats_t* pxHeapStats);
void vPortHeapResetState(void);

/* What the heap calls, supplied by FreeRTOS (or by a test). */
void vTaskSuspendAll(void);
long xTaskResumeAll(void);
void vApplicationMallocFailedHook(void);

#ifdef __cplusplus
}
#endif
#endif /* KEEL_FREERTOS_KERNEL_HEADERS */

#endif /* KEEL_ADAPTERS_FREERTOS_HEAP_H */
