/* A FreeRTOS application's use of the heap, in C, unchanged by the switch to keel. */
#include <stdio.h>
#include <string.h>

#include "FreeRTOS.h"

static int failed_allocations;

void vApplicationMallocFailedHook(void) {
  ++failed_allocations;
}

void vAssertCalled(const char* file, unsigned long line) {
  printf("configASSERT failed at %s:%lu\n", file, line);
}

void trace_heap_event(const char* what, void* address, size_t bytes) {
  (void)what;
  (void)address;
  (void)bytes;
}

int main(void) {
  char* queue_storage = pvPortMalloc(1024);
  char* task_stack = pvPortMalloc(4096);
  if (queue_storage == NULL || task_stack == NULL) {
    printf("freertos FAILED: no memory\n");
    return 1;
  }
  memset(task_stack, 0xA5, 4096);
  const size_t free_with_both = xPortGetFreeHeapSize();
  vPortFree(queue_storage);

  void* too_big = pvPortMalloc(64 * 1024); /* more than configTOTAL_HEAP_SIZE */

  HeapStats_t stats;
  vPortGetHeapStats(&stats);
  vPortFree(task_stack);
  const int ok = too_big == NULL && failed_allocations == 1 &&
                 stats.xNumberOfSuccessfulAllocations == 2 && stats.xNumberOfSuccessfulFrees == 1 &&
                 xPortGetMinimumEverFreeHeapSize() <= free_with_both &&
                 xPortGetFreeHeapSize() > 47 * 1024;
  printf("freertos %s: free %zu bytes, minimum ever %zu\n", ok ? "ok" : "FAILED",
         xPortGetFreeHeapSize(), xPortGetMinimumEverFreeHeapSize());
  return ok ? 0 : 1;
}
