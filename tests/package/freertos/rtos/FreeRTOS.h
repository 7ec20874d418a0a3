/* A stand-in for FreeRTOS's FreeRTOS.h, written for this example (no FreeRTOS source): it
 * declares what the real header (with portable.h and portmacro.h) declares for the heap, and
 * includes FreeRTOSConfig.h the way the kernel's recent FreeRTOS.h does: before its own
 * extern "C" block, so that the declarations in the configuration have the linkage of the file
 * that includes it. A C++ file must wrap FreeRTOS.h in extern "C" itself to see them as C.
 * With the real kernel, its include directories replace this folder. */
#ifndef EXAMPLE_FREERTOS_H
#define EXAMPLE_FREERTOS_H

#include <stddef.h>
#include <stdint.h>

#include "FreeRTOSConfig.h" /* outside any extern "C", as in the real header */

#ifdef __cplusplus
extern "C" {
#endif

/* portmacro.h's types for a 32-bit tick. */
typedef long BaseType_t;
typedef uint32_t TickType_t;
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#define portBYTE_ALIGNMENT 8
#ifndef portPOINTER_SIZE_TYPE
#define portPOINTER_SIZE_TYPE uint32_t
#endif

/* FreeRTOS.h's defaults for the trace macros the heap calls. */
#ifndef traceMALLOC
#define traceMALLOC(pvAddress, uiSize)
#endif
#ifndef traceFREE
#define traceFREE(pvAddress, uiSize)
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

/* portable.h's heap API. */
void vPortDefineHeapRegions(const HeapRegion_t* const pxHeapRegions);
void vPortGetHeapStats(HeapStats_t* pxHeapStats);
void* pvPortMalloc(size_t xWantedSize);
void* pvPortCalloc(size_t xNum, size_t xSize);
void vPortFree(void* pv);
void vPortInitialiseBlocks(void);
size_t xPortGetFreeHeapSize(void);
size_t xPortGetMinimumEverFreeHeapSize(void);
void xPortResetHeapMinimumEverFreeHeapSize(void);
void vPortHeapResetState(void);
void vApplicationMallocFailedHook(void);

#ifdef __cplusplus
}
#endif

#endif
