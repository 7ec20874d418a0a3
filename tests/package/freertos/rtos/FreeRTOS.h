/* A stand-in for FreeRTOS's FreeRTOS.h, written for this example (no FreeRTOS source): it
 * declares what the real header (with portable.h and portmacro.h) declares for the heap, and
 * includes FreeRTOSConfig.h the same way. With the real kernel, its include directories replace
 * this folder. */
#ifndef EXAMPLE_FREERTOS_H
#define EXAMPLE_FREERTOS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "FreeRTOSConfig.h" /* inside extern "C", as in the real header */

typedef long BaseType_t;
#define portBYTE_ALIGNMENT 8

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
void vApplicationMallocFailedHook(void);

#ifdef __cplusplus
}
#endif

#endif
