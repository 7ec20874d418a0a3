// tests/hosted/probes/misuse_probe.c: what keel's preload library reports.
//   leak         three blocks of 12345 bytes from one place are never freed
//   double_free  a block freed twice
//   overrun      one byte written past a block (found at its free with KEEL_CHECKING=full)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void* volatile sink;  // keeps the compiler from removing or judging the calls
static volatile int opaque_zero = 0;

// One call site for all three blocks (not a tail call: the result is stored first).
static __attribute__((noinline)) void leak_one(void) {
  sink = malloc(12345);
}

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "leak") == 0) {
    for (int i = 0; i < 3; ++i) {
      leak_one();
    }
  } else if (strcmp(what, "double_free") == 0) {
    sink = malloc(40);
    free(sink);
    free(sink);
  } else if (strcmp(what, "overrun") == 0) {
    char* block = malloc(40);
    sink = block;
    block[40 + opaque_zero] = 'x';
    free(sink);
  } else {
    fprintf(stderr, "usage: misuse_probe leak|double_free|overrun\n");
    return 2;
  }
  puts("done");
  return 0;
}
