/* The application's FreeRTOSConfig.h: the lines the heap reads, written as FreeRTOS projects
 * usually write them. */
#ifndef FREERTOS_CONFIG_H
#define FREERTOS_CONFIG_H

#define configTOTAL_HEAP_SIZE ((size_t)(48 * 1024))
#define configUSE_MALLOC_FAILED_HOOK 1
#define configAPPLICATION_ALLOCATED_HEAP 0
void example_assert_failed(const char* file, int line);
#define configASSERT(x) \
  if ((x) == 0) example_assert_failed(__FILE__, __LINE__)

#endif
