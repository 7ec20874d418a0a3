/* Stands in for FreeRTOS's scheduler in this host example: the heap suspends and resumes it. */
#include "FreeRTOS.h"
#include "task.h"

static int suspended;

void vTaskSuspendAll(void) {
  ++suspended;
}

BaseType_t xTaskResumeAll(void) {
  --suspended;
  return 0;
}
