// tests/faces/freertos_fakes.hpp: what FreeRTOS and the application supply to the FreeRTOS heap,
// counted: the scheduler lock, the malloc-failed hook, configASSERT's function, the trace macros
// and the heap protector's canary (tests/faces/freertos_config/FreeRTOSConfig.h declares them).
// Defined in freertos_fakes.cpp.
#pragma once

#include <cstddef>

namespace keel_test::freertos {

struct Trace {
  void* address = nullptr;
  std::size_t bytes = 0;
};

struct Calls {
  int suspended = 0;              ///< current vTaskSuspendAll depth
  int suspends = 0;               ///< vTaskSuspendAll calls
  int resumes = 0;                ///< xTaskResumeAll calls
  int max_depth = 0;              ///< deepest nesting seen
  int failed_hooks = 0;           ///< vApplicationMallocFailedHook calls
  int hooks_while_suspended = 0;  ///< hook calls made with the scheduler suspended
  int asserts = 0;                ///< vAssertCalled calls (configASSERT failed)
  int asserts_while_suspended = 0;
  unsigned long assert_line = 0;  ///< the line of the last one
  int malloc_traces = 0;          ///< traceMALLOC calls
  int free_traces = 0;            ///< traceFREE calls
  int traces_while_resumed = 0;   ///< trace calls outside the scheduler lock
  Trace last_malloc;
  Trace last_free;
  int canaries = 0;  ///< vApplicationGetRandomHeapCanary calls
};

Calls& calls();

}  // namespace keel_test::freertos
