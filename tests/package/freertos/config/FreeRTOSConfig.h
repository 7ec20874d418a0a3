/* The application's FreeRTOSConfig.h: the lines the heap reads, written as FreeRTOS projects
 * usually write them: C declarations of the application's own functions, used by configASSERT
 * and the trace macros. */
#ifndef FREERTOS_CONFIG_H
#define FREERTOS_CONFIG_H

#include <stddef.h>

#define configTOTAL_HEAP_SIZE ((size_t)(48 * 1024))
#define configUSE_MALLOC_FAILED_HOOK 1
#define configAPPLICATION_ALLOCATED_HEAP 0
#define configHEAP_CLEAR_MEMORY_ON_FREE 1

void vAssertCalled(const char* file, unsigned long line);
#define configASSERT(x) \
  if ((x) == 0) vAssertCalled(__FILE__, __LINE__)

void trace_heap_event(const char* what, void* address, size_t bytes);
#define traceMALLOC(pvAddress, uiSize) trace_heap_event("malloc", (pvAddress), (uiSize))
#define traceFREE(pvAddress, uiSize) trace_heap_event("free", (pvAddress), (uiSize))

#endif
