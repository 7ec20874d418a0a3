// tests/faces/freertos_fakes.cpp: the FreeRTOS functions the heap calls, counting their calls.
#include "faces/freertos_fakes.hpp"

#include "keel/adapters/freertos_heap.h"

namespace keel_test::freertos {

Calls& calls() {
  static Calls instance;
  return instance;
}

}  // namespace keel_test::freertos

using keel_test::freertos::calls;

extern "C" void vTaskSuspendAll(void) {
  ++calls().suspends;
  if (++calls().suspended > calls().max_depth) {
    calls().max_depth = calls().suspended;
  }
}

extern "C" long xTaskResumeAll(void) {
  ++calls().resumes;
  --calls().suspended;
  return 0;
}

extern "C" void vApplicationMallocFailedHook(void) {
  ++calls().failed_hooks;
  if (calls().suspended != 0) {
    ++calls().hooks_while_suspended;
  }
}
