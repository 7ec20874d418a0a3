// tests/faces/freertos_fakes.cpp: the FreeRTOS and application functions the heap calls,
// counting their calls. They are C functions, declared in FreeRTOSConfig.h (for configASSERT
// and the trace macros), in the kernel's headers or by the heap itself.
#include "faces/freertos_fakes.hpp"

#include "keel/adapters/freertos_heap.h"

namespace keel_test::freertos {

Calls& calls() {
  static Calls instance;
  return instance;
}

}  // namespace keel_test::freertos

using keel_test::freertos::calls;

extern "C" {

void vTaskSuspendAll(void) {
  ++calls().suspends;
  if (++calls().suspended > calls().max_depth) {
    calls().max_depth = calls().suspended;
  }
}

BaseType_t xTaskResumeAll(void) {
  ++calls().resumes;
  --calls().suspended;
  return 0;
}

void vApplicationMallocFailedHook(void) {
  ++calls().failed_hooks;
  if (calls().suspended != 0) {
    ++calls().hooks_while_suspended;
  }
}

void vAssertCalled(const char* /*file*/, unsigned long line) {
  ++calls().asserts;
  calls().assert_line = line;
  if (calls().suspended != 0) {
    ++calls().asserts_while_suspended;
  }
}

void keel_test_trace_malloc(void* address, size_t bytes) {
  ++calls().malloc_traces;
  calls().last_malloc = {address, bytes};
  if (calls().suspended == 0) {
    ++calls().traces_while_resumed;
  }
}

void keel_test_trace_free(void* address, size_t bytes) {
  ++calls().free_traces;
  calls().last_free = {address, bytes};
  if (calls().suspended == 0) {
    ++calls().traces_while_resumed;
  }
}

void vApplicationGetRandomHeapCanary(portPOINTER_SIZE_TYPE* pxHeapCanary) {
  ++calls().canaries;
  *pxHeapCanary = static_cast<portPOINTER_SIZE_TYPE>(0x5EC12E7A9B3D4C1FULL);
}

}  // extern "C"
