/* A stand-in for FreeRTOS's task.h (see FreeRTOS.h here): the scheduler lock the heap uses. */
#ifndef EXAMPLE_TASK_H
#define EXAMPLE_TASK_H

#ifdef __cplusplus
extern "C" {
#endif

void vTaskSuspendAll(void);
BaseType_t xTaskResumeAll(void);

#ifdef __cplusplus
}
#endif

#endif
