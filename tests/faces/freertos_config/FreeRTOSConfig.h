/* tests/faces/freertos_config/FreeRTOSConfig.h: the configuration of keel's FreeRTOS heap tests,
 * written as an application writes it (C declarations, C casts), and compiled with the stand-in
 * kernel headers of tests/package/freertos/kernel. The test's own functions are defined in
 * tests/faces/freertos_fakes.cpp. Two builds (tests/faces/CMakeLists.txt):
 * - heap_4 style: configTOTAL_HEAP_SIZE served from keel's ucHeap, 8-byte alignment;
 * - heap_5 style (KEEL_TEST_HEAP5): regions only, 16-byte alignment as on 64-bit ports,
 *   configHEAP_CLEAR_MEMORY_ON_FREE and configENABLE_HEAP_PROTECTOR. */
#ifndef KEEL_TEST_FREERTOS_CONFIG_H
#define KEEL_TEST_FREERTOS_CONFIG_H

#include <stddef.h>

#define configUSE_MALLOC_FAILED_HOOK 1

#if defined(KEEL_TEST_HEAP5)
#define KEEL_FREERTOS_REGIONS_ONLY 1
#define configTOTAL_HEAP_SIZE ((size_t)(4096)) /* must not be reserved: regions only */
#define portBYTE_ALIGNMENT 16
#define configHEAP_CLEAR_MEMORY_ON_FREE 1
#define configENABLE_HEAP_PROTECTOR 1
#else
#define configTOTAL_HEAP_SIZE ((size_t)(64 * 1024))
#endif

void vAssertCalled(const char* file, unsigned long line);
#define configASSERT(x) \
  if ((x) == 0) vAssertCalled(__FILE__, __LINE__)

void keel_test_trace_malloc(void* address, size_t bytes);
void keel_test_trace_free(void* address, size_t bytes);
#define traceMALLOC(pvAddress, uiSize) keel_test_trace_malloc((pvAddress), (uiSize))
#define traceFREE(pvAddress, uiSize) keel_test_trace_free((pvAddress), (uiSize))

#endif
