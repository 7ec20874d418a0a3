// tests/hosted/probes/compat_probe.c: what a program can observe of the malloc family, printed
// without addresses, so that a run on glibc and a run with keel preloaded print the same lines
// (tests/hosted/run-preload.sh compares them).
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t opaque_zero = 0;  // keeps the compiler from judging the calls itself

static size_t opaque(size_t value) {
  return value + opaque_zero;
}

static void report(const char* call, void* block, size_t align) {
  if (block == NULL) {
    printf("%-28s null, errno %s\n", call,
           errno == ENOMEM   ? "ENOMEM"
           : errno == EINVAL ? "EINVAL"
                             : "other");
  } else {
    printf("%-28s block, aligned to %zu: %s\n", call, align,
           (uintptr_t)block % align == 0 ? "yes" : "no");
    free(block);
  }
  errno = 0;
}

int main(void) {
  const size_t largest = opaque(SIZE_MAX / 2 + 1);
  report("memalign(0, 10)", memalign(opaque(0), 10), 16);
  report("memalign(1, 10)", memalign(opaque(1), 10), 16);
  report("memalign(24, 10)", memalign(opaque(24), 10), 32);
  report("memalign(48, 10)", memalign(opaque(48), 10), 64);
  report("memalign(100, 10)", memalign(opaque(100), 10), 128);
  report("memalign(4096, 10)", memalign(opaque(4096), 10), 4096);
  report("memalign(largest + 1, 1)", memalign(largest + 1, 1), 1);
  report("memalign(largest, 1)", memalign(largest, 1), 1);
  report("aligned_alloc(3, 16)", aligned_alloc(opaque(3), 16), 16);
  report("aligned_alloc(0, 100)", aligned_alloc(opaque(0), 100), 16);
  report("aligned_alloc(24, 100)", aligned_alloc(opaque(24), 100), 32);
  report("valloc(1)", valloc(opaque(1)), 4096);
  report("pvalloc(1)", pvalloc(opaque(1)), 4096);
  report("pvalloc(SIZE_MAX)", pvalloc(opaque(SIZE_MAX)), 1);
  report("malloc(0)", malloc(opaque(0)), 16);
  report("malloc(SIZE_MAX)", malloc(opaque(SIZE_MAX)), 1);
  report("calloc(SIZE_MAX / 2, 4)", calloc(opaque(SIZE_MAX / 2), 4), 1);
  report("realloc(NULL, 0)", realloc(NULL, opaque(0)), 16);
  report("reallocarray(NULL, huge, 8)", reallocarray(NULL, opaque(SIZE_MAX / 4), 8), 1);

  void* result = &result;
  printf("posix_memalign(24): %d\n", posix_memalign(&result, opaque(24), 10) == EINVAL);
  printf("posix_memalign(0): %d\n", posix_memalign(&result, opaque(0), 10) == EINVAL);
  printf("posix_memalign(64): %d\n", posix_memalign(&result, opaque(64), 10));
  printf("  aligned: %d\n", (uintptr_t)result % 64 == 0);
  free(result);

  char* text = malloc(100);
  printf("malloc_usable_size(malloc(100)) >= 100: %d\n", malloc_usable_size(text) >= 100);
  printf("malloc_usable_size(NULL): %zu\n", malloc_usable_size(NULL));
  strcpy(text, "kept across realloc");
  for (size_t size = 200; size < 8 << 20; size *= 3) {
    text = realloc(text, size);
    text[size - 1] = 1;
  }
  printf("%s\n", text);
  printf("realloc(p, 0): %s\n", realloc(text, 0) == NULL ? "null" : "block");

  unsigned char* zeroed = calloc(opaque(1) << 20, 3);
  size_t nonzero = 0;
  for (size_t i = 0; i < 3u << 20; ++i) {
    nonzero += zeroed[i] != 0;
  }
  printf("calloc(1 MiB, 3): %zu bytes not zero\n", nonzero);
  errno = 4321;
  free(zeroed);
  free(NULL);
  printf("errno after free: %d\n", errno);
  return 0;
}
