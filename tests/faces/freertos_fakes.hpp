// tests/faces/freertos_fakes.hpp: what FreeRTOS would supply to its heap, counted: the scheduler
// lock and the malloc-failed hook. Defined in freertos_fakes.cpp.
#pragma once

namespace keel_test::freertos {

struct Calls {
  int suspended = 0;              ///< current vTaskSuspendAll depth
  int suspends = 0;               ///< vTaskSuspendAll calls
  int resumes = 0;                ///< xTaskResumeAll calls
  int max_depth = 0;              ///< deepest nesting seen
  int failed_hooks = 0;           ///< vApplicationMallocFailedHook calls
  int hooks_while_suspended = 0;  ///< hook calls made with the scheduler suspended
};

Calls& calls();

}  // namespace keel_test::freertos
