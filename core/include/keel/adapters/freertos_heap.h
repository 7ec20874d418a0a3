/* keel/adapters/freertos_heap.h: FreeRTOS's heap API (heap_4 / heap_5) over keel.
 *
 * core/src/freertos_heap.cpp is a drop-in replacement for FreeRTOS's portable/MemMang/heap_4.c
 * or heap_5.c: build it instead of them (CMake: link keel::freertos; see docs/integration.md).
 * It behaves as heap_4 does wherever an application can observe it:
 *
 * - pvPortMalloc(n): a block of n bytes aligned to portBYTE_ALIGNMENT, or NULL. n == 0 returns
 *   NULL. On NULL, vApplicationMallocFailedHook() is called if configUSE_MALLOC_FAILED_HOOK is
 *   1, after the scheduler is resumed. O(1). The scheduler is suspended around the heap
 *   (vTaskSuspendAll / xTaskResumeAll), as in heap_4, so that tasks may allocate; interrupts
 *   must not. traceMALLOC(pointer, bytes of the block, header included) runs for every call,
 *   (NULL, 0) for a failed one, with the scheduler suspended.
 * - pvPortCalloc(count, size): zeroed count * size bytes. As heap_4: an overflowing product is
 *   NULL at once (no hook, no trace); otherwise pvPortMalloc(count * size), so a zero count or
 *   size is NULL and the hook.
 * - vPortFree(p): NULL is ignored. traceFREE(p, bytes of the block) runs for every block freed.
 *   A pointer that is not a live block goes to keel's fault hook and nothing is freed; by
 *   default (when configASSERT is defined) the hook is configASSERT, called once the scheduler
 *   is resumed, as heap_4 asserts. A handler installed with keel::set_fault_handler or
 *   keel_set_fault_handler (keel.h) takes precedence. With configHEAP_CLEAR_MEMORY_ON_FREE 1,
 *   the block is cleared first.
 * - xPortGetFreeHeapSize(): bytes in free blocks now, headers included (as heap_4 counts).
 *   xPortGetMinimumEverFreeHeapSize(): the least that has been, since the heap was set up or
 *   since xPortResetHeapMinimumEverFreeHeapSize(). All three are one load or store of a
 *   variable, with no lock: they may run in an interrupt or the tick hook. Both are 0 until the
 *   heap has memory (heap_4: the first allocation).
 * - vPortDefineHeapRegions(regions): heap_5's set-up; the array ends with a {NULL, 0} entry.
 *   keel accepts the regions in any order and may be called again to add more; a region that
 *   keel refuses (overlapping, too small) trips configASSERT when it is defined.
 * - heap_4's static heap: if configTOTAL_HEAP_SIZE is defined, an array
 *   ucHeap[configTOTAL_HEAP_SIZE] (the application's when configAPPLICATION_ALLOCATED_HEAP is 1)
 *   is claimed on the first allocation. heap_5 users define KEEL_FREERTOS_REGIONS_ONLY to 1 (in
 *   FreeRTOSConfig.h or with -D) so that no such array is reserved, and call
 *   vPortDefineHeapRegions before the first allocation.
 * - vPortGetHeapStats(stats): as heap_4; O(blocks), with the scheduler suspended. Free block
 *   sizes are the bytes one request can get from that block (heap_4 gives its block sizes,
 *   header included). With no free block: 0 blocks, largest 0, smallest portMAX_DELAY.
 * - vPortInitialiseBlocks(): does nothing, as heap_4's.
 * - configENABLE_HEAP_PROTECTOR 1: keel's hardened free lists (HeapOptions::hardened), seeded
 *   from vApplicationGetRandomHeapCanary() when the heap is set up, as heap_4 seeds its canary.
 *   A broken link trips configASSERT and the heap serves nothing more.
 * - vPortHeapResetState(): forgets every block and region (for tests between runs).
 *
 * With FreeRTOS's headers on the include path, its FreeRTOS.h (and portable.h) declare all this
 * and FreeRTOSConfig.h configures it. Without them, this header declares the same types and
 * functions, and the configuration comes from the compiler's -D options.
 */
#ifndef KEEL_ADAPTERS_FREERTOS_HEAP_H
#define KEEL_ADAPTERS_FREERTOS_HEAP_H

#if defined(__has_include)
#if __has_include("FreeRTOS.h")
#define KEEL_FREERTOS_KERNEL_HEADERS 1
#endif
#endif

#if defined(KEEL_FREERTOS_KERNEL_HEADERS)
/* FreeRTOS.h includes FreeRTOSConfig.h, and some kernel versions do so before their own
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

/* The type of vApplicationGetRandomHeapCanary's canary (configENABLE_HEAP_PROTECTOR). */
#ifndef portPOINTER_SIZE_TYPE
#define portPOINTER_SIZE_TYPE uintptr_t
#endif

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
void vPortInitialiseBlocks(void);

/* What the heap calls, supplied by FreeRTOS (or by a test). */
void vTaskSuspendAll(void);
long xTaskResumeAll(void);
void vApplicationMallocFailedHook(void);

#ifdef __cplusplus
}
#endif
#endif /* KEEL_FREERTOS_KERNEL_HEADERS */

#endif /* KEEL_ADAPTERS_FREERTOS_HEAP_H */
