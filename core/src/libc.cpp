// core/src/libc.cpp: the C malloc family over the application's global heap (keel/global.hpp).
// The link target keel::libc.
//
// Defines malloc, free, calloc, realloc, reallocarray, aligned_alloc, posix_memalign, memalign,
// valloc, pvalloc and malloc_usable_size, and newlib's reentrant forms (_malloc_r, _free_r,
// _calloc_r, _realloc_r, _memalign_r, _valloc_r, _pvalloc_r, _malloc_usable_size_r), so that a
// C library's own allocations (printf's buffers, strdup, fopen, libstdc++) land in keel too.
//
// - Thread safety is the global heap's: give KEEL_GLOBAL_HEAP a keel::Locked with your lock.
//   Nothing here takes a lock (newlib's __malloc_lock is not used).
// - malloc aligns to keel::kDefaultAlignment (alignof(max_align_t)); malloc(0) returns a unique
//   pointer; free(null) does nothing; a pointer that is not a live block goes to keel's fault hook.
// - Failures return null (posix_memalign: an error code) and, in a hosted build, set errno to
//   ENOMEM, or EINVAL for an alignment no block can have.
// - memalign, aligned_alloc and newlib's _memalign_r take any alignment, as glibc 2.36 does
//   (programs rely on it): up to malloc's own (0 included) they return a malloc block, and a
//   larger alignment that is not a power of two is rounded up to one (24 gives 32). Only an
//   alignment above the largest power of two fails, with EINVAL. posix_memalign stays strict
//   (EINVAL unless a power of two and a multiple of sizeof(void*)), as in glibc. glibc 2.38 and
//   later make aligned_alloc strict too; C17 allows either.
// - valloc and pvalloc use KEEL_LIBC_PAGE_SIZE (default 4096).
// - malloc_usable_size asks keel::global::usable_size, which for a live block needs no lock: a
//   global heap should answer it without one (keel::hosted::ProcessHeap does).
//
// Compiled without the compiler's malloc builtins (-fno-builtin), so that calloc's memset is not
// turned back into a call to calloc.
#include <cstddef>
#include <cstdint>

#include "keel/config.hpp"
#include "keel/detail/bits.hpp"
#include "keel/detail/checked.hpp"
#include "keel/global.hpp"

#if __STDC_HOSTED__
#include <errno.h>  // NOLINT(modernize-deprecated-headers): newlib's struct _reent lives here
#define KEEL_LIBC_ERRNO 1
#else
#define KEEL_LIBC_ERRNO 0
#endif

#ifndef KEEL_LIBC_PAGE_SIZE
#define KEEL_LIBC_PAGE_SIZE 4096
#endif

struct _reent;  // newlib's per-thread state; opaque here

namespace {

using keel::kDefaultAlignment;
constexpr std::size_t kPageSize = KEEL_LIBC_PAGE_SIZE;
static_assert(keel::detail::is_power_of_two(kPageSize), "KEEL_LIBC_PAGE_SIZE: a power of two");

enum class Error : int {
#if KEEL_LIBC_ERRNO
  no_memory = ENOMEM,
  invalid = EINVAL,
#else
  no_memory = 12,
  invalid = 22,
#endif
};

void set_errno(Error error) {
#if KEEL_LIBC_ERRNO
  errno = static_cast<int>(error);
#else
  (void)error;
#endif
}

void* checked(void* pointer) {
  if (pointer == nullptr) {
    set_errno(Error::no_memory);
  }
  return pointer;
}

// Every helper takes `caller`, the return address of the C function the program called: the
// block's tag in heaps built with HeapOptions::tags.
void* allocate(std::size_t size, const void* caller) {
  return checked(keel::global::allocate(size, kDefaultAlignment, caller));
}

void* allocate_zeroed(std::size_t count, std::size_t size, const void* caller) {
  return keel::detail::allocate_zeroed_with(
      count, size, [caller](std::size_t total) { return allocate(total, caller); },
      [] { set_errno(Error::no_memory); });
}

void* reallocate(void* pointer, std::size_t size, const void* caller) {
  void* result = keel::global::reallocate(pointer, size, kDefaultAlignment, caller);
  if (result == nullptr && size != 0) {
    set_errno(Error::no_memory);
  }
  return result;
}

void* reallocate_array(void* pointer, std::size_t count, std::size_t size, const void* caller) {
  std::size_t total = 0;
  if (!keel::detail::checked_multiply(count, size, total)) {
    set_errno(Error::no_memory);
    return nullptr;
  }
  return reallocate(pointer, total, caller);
}

/// memalign's alignment rule (glibc 2.36, see the top of the file): malloc's alignment up to
/// kDefaultAlignment, else `align` rounded up to a power of two; EINVAL above the largest one.
void* allocate_aligned(std::size_t align, std::size_t size, const void* caller) {
  if (align <= kDefaultAlignment) {
    return allocate(size, caller);
  }
  constexpr std::size_t kLargestAlignment = ~(~std::size_t{0} >> 1U);
  if (align > kLargestAlignment) {
    set_errno(Error::invalid);
    return nullptr;
  }
  std::size_t rounded = kDefaultAlignment;
  while (rounded < align) {
    rounded <<= 1U;
  }
  return checked(keel::global::allocate(size, rounded, caller));
}

void* allocate_pages(std::size_t size, const void* caller) {
  std::size_t rounded = 0;
  if (!keel::detail::checked_add(size, kPageSize - 1, rounded)) {
    set_errno(Error::no_memory);
    return nullptr;
  }
  return allocate_aligned(kPageSize, rounded & ~(kPageSize - 1), caller);
}

}  // namespace

extern "C" {

// NOLINTBEGIN(readability-inconsistent-declaration-parameter-name,bugprone-reserved-identifier)

void* malloc(std::size_t size) {
  return allocate(size, __builtin_return_address(0));
}

void free(void* pointer) {
  keel::global::free(pointer);
}

void* calloc(std::size_t count, std::size_t size) {
  return allocate_zeroed(count, size, __builtin_return_address(0));
}

void* realloc(void* pointer, std::size_t size) {
  return reallocate(pointer, size, __builtin_return_address(0));
}

void* reallocarray(void* pointer, std::size_t count, std::size_t size) {
  return reallocate_array(pointer, count, size, __builtin_return_address(0));
}

void* aligned_alloc(std::size_t align, std::size_t size) {
  return allocate_aligned(align, size, __builtin_return_address(0));
}

void* memalign(std::size_t align, std::size_t size) {
  return allocate_aligned(align, size, __builtin_return_address(0));
}

int posix_memalign(void** result, std::size_t align, std::size_t size) {
  if (!keel::detail::is_power_of_two(align) || align % sizeof(void*) != 0) {
    return static_cast<int>(Error::invalid);
  }
  void* pointer = keel::global::allocate(size, align, __builtin_return_address(0));
  if (pointer == nullptr) {
    return static_cast<int>(Error::no_memory);
  }
  *result = pointer;
  return 0;
}

void* valloc(std::size_t size) {
  return allocate_aligned(kPageSize, size, __builtin_return_address(0));
}

void* pvalloc(std::size_t size) {
  return allocate_pages(size, __builtin_return_address(0));
}

std::size_t malloc_usable_size(void* pointer) {
  return keel::global::usable_size(pointer);
}

// newlib's reentrant forms. The _reent argument is unused: errno is set through the errno macro,
// which on newlib is the calling thread's _reent.
void* _malloc_r(_reent* /*reent*/, std::size_t size) {
  return allocate(size, __builtin_return_address(0));
}

void _free_r(_reent* /*reent*/, void* pointer) {
  keel::global::free(pointer);
}

void* _calloc_r(_reent* /*reent*/, std::size_t count, std::size_t size) {
  return allocate_zeroed(count, size, __builtin_return_address(0));
}

void* _realloc_r(_reent* /*reent*/, void* pointer, std::size_t size) {
  return reallocate(pointer, size, __builtin_return_address(0));
}

void* _memalign_r(_reent* /*reent*/, std::size_t align, std::size_t size) {
  return allocate_aligned(align, size, __builtin_return_address(0));
}

void* _valloc_r(_reent* /*reent*/, std::size_t size) {
  return allocate_aligned(kPageSize, size, __builtin_return_address(0));
}

void* _pvalloc_r(_reent* /*reent*/, std::size_t size) {
  return allocate_pages(size, __builtin_return_address(0));
}

std::size_t _malloc_usable_size_r(_reent* /*reent*/, void* pointer) {
  return keel::global::usable_size(pointer);
}

// NOLINTEND(readability-inconsistent-declaration-parameter-name,bugprone-reserved-identifier)

}  // extern "C"
