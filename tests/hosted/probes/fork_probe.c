// tests/hosted/probes/fork_probe.c: fork() while other threads allocate. Four threads allocate,
// reallocate and free without pause (small and large blocks); the main thread forks 100 times,
// and each child allocates and frees too. A malloc that does not hold its lock across fork can
// leave the lock taken in the child, which then hangs: the parent waits 3 s for each child,
// and stops at the first that hangs. Prints the same lines on glibc and on keel
// (tests/hosted/run-preload.sh).
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kThreads = 4, kForks = 100, kSlots = 64 };
static atomic_bool stop;

static void* churn(void* argument) {
  unsigned seed = (unsigned)(size_t)argument;
  void* slots[kSlots] = {0};
  while (!atomic_load(&stop)) {
    const unsigned slot = (unsigned)rand_r(&seed) % kSlots;
    const size_t size = rand_r(&seed) % 16 == 0 ? 200000 + (size_t)rand_r(&seed) % 300000
                                                : (size_t)rand_r(&seed) % 700;
    if (slots[slot] == NULL) {
      slots[slot] = malloc(size);
      memset(slots[slot], 1, size);
    } else if (rand_r(&seed) % 2 == 0) {
      slots[slot] = realloc(slots[slot], size + 1);
      memset(slots[slot], 2, size + 1);
    } else {
      free(slots[slot]);
      slots[slot] = NULL;
    }
  }
  for (unsigned slot = 0; slot < kSlots; ++slot) {
    free(slots[slot]);
  }
  return NULL;
}

static int child_work(void) {
  for (int i = 0; i < 100; ++i) {
    char* small = malloc(100 + (size_t)i);
    char* large = malloc(300000);
    if (small == NULL || large == NULL) {
      return 1;
    }
    memset(small, 3, 100);
    memset(large, 4, 300000);
    free(large);
    free(small);
  }
  return 0;
}

int main(void) {
  pthread_t threads[kThreads];
  for (size_t t = 0; t < kThreads; ++t) {
    pthread_create(&threads[t], NULL, churn, (void*)(t + 1));
  }
  int hung = 0;
  int failed = 0;
  for (int round = 0; round < kForks; ++round) {
    const pid_t child = fork();
    if (child == 0) {
      _exit(child_work());
    }
    int status = 0;
    const struct timespec pause = {0, 1000000};
    int waited = 0;
    while (waitpid(child, &status, WNOHANG) == 0) {
      if (++waited > 3000) {  // 3 s
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        ++hung;
        break;
      }
      nanosleep(&pause, NULL);
    }
    if (hung != 0) {
      break;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failed;
    }
  }
  atomic_store(&stop, 1);
  for (size_t t = 0; t < kThreads; ++t) {
    pthread_join(threads[t], NULL);
  }
  printf("children that hung: %d, children that failed: %d\n", hung, failed);
  return hung != 0 || failed != 0;
}
