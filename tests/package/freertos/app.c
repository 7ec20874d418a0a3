/* A FreeRTOS application's use of the heap, in C, unchanged by the switch to keel: tasks' and
 * queues' memory, the heap's figures, the malloc-failed hook, configASSERT and the trace macros
 * of its FreeRTOSConfig.h, and a fault handler of its own installed through keel.h. */
#include <stdio.h>
#include <string.h>

#include "FreeRTOS.h"
#include "keel/keel.h"

static int failed_allocations;
static int asserts;
static int traced_mallocs;
static int traced_frees;
static int keel_faults;
static int last_keel_fault = -1;

void vApplicationMallocFailedHook(void) {
  ++failed_allocations;
}

/* configASSERT's function (FreeRTOSConfig.h): here it counts and goes on; a real one stops. */
void vAssertCalled(const char* file, unsigned long line) {
  ++asserts;
  printf("configASSERT failed at %s:%lu\n", file, line);
}

/* traceMALLOC / traceFREE (FreeRTOSConfig.h), as a trace recorder would see them. */
void trace_heap_event(const char* what, void* address, size_t bytes) {
  if (strcmp(what, "malloc") == 0 && address != NULL) {
    ++traced_mallocs;
  } else if (strcmp(what, "free") == 0) {
    ++traced_frees;
  }
  (void)bytes;
}

static void on_keel_fault(int fault, const void* address) {
  ++keel_faults;
  last_keel_fault = fault;
  printf("keel fault: %s at %p\n", keel_fault_name(fault), address);
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
  void* none = pvPortCalloc(0, 16);        /* NULL and the hook, as heap_4 */

  HeapStats_t stats;
  vPortGetHeapStats(&stats);
  vPortFree(task_stack);

  /* A free of memory the heap never gave: configASSERT, as heap_4 would assert. */
  static char not_from_the_heap[16];
  vPortFree(not_from_the_heap);
  const int asserted = asserts;

  /* The application's own fault handler takes over, and gives configASSERT back after. */
  keel_fault_handler previous = keel_set_fault_handler(on_keel_fault);
  vPortFree(not_from_the_heap);
  keel_set_fault_handler(previous);

  const int ok = too_big == NULL && none == NULL && failed_allocations == 2 &&
                 stats.xNumberOfSuccessfulAllocations == 2 && stats.xNumberOfSuccessfulFrees == 1 &&
                 xPortGetMinimumEverFreeHeapSize() <= free_with_both &&
                 xPortGetFreeHeapSize() > 47 * 1024 && traced_mallocs == 2 && traced_frees == 2 &&
                 asserted == 1 && asserts == 1 && keel_faults == 1 &&
                 last_keel_fault == KEEL_FAULT_FOREIGN_POINTER;
  printf("freertos %s: free %zu bytes, minimum ever %zu\n", ok ? "ok" : "FAILED",
         xPortGetFreeHeapSize(), xPortGetMinimumEverFreeHeapSize());
  return ok ? 0 : 1;
}
