/* A stand-in for FreeRTOS's FreeRTOS.h, written for this example (no FreeRTOS source): it
 * declares what the real header (with portable.h and portmacro.h) declares for the heap. It
 * includes FreeRTOSConfig.h outside any extern "C" block. FreeRTOS-Kernel versions differ here:
 * V10.x includes it inside its extern "C" block, a newer kernel was seen to include it before;
 * then the configuration's declarations (vAssertCalled for configASSERT, trace hooks) take the
 * linkage of the file that includes FreeRTOS.h, and a C++ file must wrap the include in
 * extern "C" itself. keel must work with both; this is the stricter one.
 * With the real kernel, its include directories (include/ and the port's) replace this folder;
 * FreeRTOSConfig.h is the application's, in its own folder (config/ here). */
#ifndef EXAMPLE_FREERTOS_H
#define EXAMPLE_FREERTOS_H

#include <stddef.h>
#include <stdint.h>

#include "FreeRTOSConfig.h" /* outside any extern "C" */

#ifdef __cplusplus
extern "C" {
#endif

/* portmacro.h's types for a 32-bit tick; the alignment and pointer type as a port sets them
 * (64-bit ports use 16 and uint64_t). */
typedef long BaseType_t;
typedef uint32_t TickType_t;
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#ifndef portBYTE_ALIGNMENT
#define portBYTE_ALIGNMENT 8
#endif
#ifndef portPOINTER_SIZE_TYPE
#define portPOINTER_SIZE_TYPE uintptr_t
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
