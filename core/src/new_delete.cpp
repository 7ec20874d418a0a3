// core/src/new_delete.cpp: every replaceable form of operator new and delete over the
// application's global heap (keel/global.hpp). The link target keel::new_delete.
//
// Plain new aligns to __STDCPP_DEFAULT_NEW_ALIGNMENT__, aligned new to the alignment asked for.
// Sized and aligned delete free the block whatever size and alignment they are told: the heap
// knows the block's size, and keel's free checks the pointer (a bad one goes to the fault hook).
// Each form passes its return address, the code that asked for the object, as the block's tag
// (kept by heaps built with HeapOptions::tags).
// A throwing new that finds no memory calls the failure handler (keel::set_new_failure_handler);
// a nothrow new returns null.
#include <cstddef>
#include <new>

#include "keel/global.hpp"

namespace keel {
namespace {

constinit NewFailureHandler g_new_failure_handler = nullptr;

[[noreturn]] void out_of_memory() {
#if defined(__cpp_exceptions)
  throw std::bad_alloc();
#else
  __builtin_trap();
#endif
}

void* allocate_or_fail(std::size_t size, std::size_t align, const void* caller) {
  for (unsigned attempt = 0;; ++attempt) {
    if (void* pointer = global::allocate(size, align, caller)) {
      return pointer;
    }
    const NewFailureHandler handler = g_new_failure_handler;
    if (handler == nullptr || attempt == kMaxNewRetries) {
      out_of_memory();
    }
    handler(size, align);
  }
}

constexpr std::size_t kNewAlignment = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

std::size_t alignment_of(std::align_val_t align) {
  const auto value = static_cast<std::size_t>(align);
  return value < kNewAlignment ? kNewAlignment : value;
}

}  // namespace

NewFailureHandler set_new_failure_handler(NewFailureHandler handler) noexcept {
  const NewFailureHandler previous = g_new_failure_handler;
  g_new_failure_handler = handler;
  return previous;
}

}  // namespace keel

// --- allocation -------------------------------------------------------------------------------

void* operator new(std::size_t size) {
  return keel::allocate_or_fail(size, keel::kNewAlignment, __builtin_return_address(0));
}

void* operator new[](std::size_t size) {
  return keel::allocate_or_fail(size, keel::kNewAlignment, __builtin_return_address(0));
}

void* operator new(std::size_t size, std::align_val_t align) {
  return keel::allocate_or_fail(size, keel::alignment_of(align), __builtin_return_address(0));
}

void* operator new[](std::size_t size, std::align_val_t align) {
  return keel::allocate_or_fail(size, keel::alignment_of(align), __builtin_return_address(0));
}

void* operator new(std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  return keel::global::allocate(size, keel::kNewAlignment, __builtin_return_address(0));
}

void* operator new[](std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  return keel::global::allocate(size, keel::kNewAlignment, __builtin_return_address(0));
}

void* operator new(std::size_t size, std::align_val_t align,
                   const std::nothrow_t& /*tag*/) noexcept {
  return keel::global::allocate(size, keel::alignment_of(align), __builtin_return_address(0));
}

void* operator new[](std::size_t size, std::align_val_t align,
                     const std::nothrow_t& /*tag*/) noexcept {
  return keel::global::allocate(size, keel::alignment_of(align), __builtin_return_address(0));
}

// --- release ----------------------------------------------------------------------------------

void operator delete(void* pointer) noexcept {
  keel::global::free(pointer);
}

void operator delete[](void* pointer) noexcept {
  keel::global::free(pointer);
}

void operator delete(void* pointer, std::size_t /*size*/) noexcept {
  keel::global::free(pointer);
}

void operator delete[](void* pointer, std::size_t /*size*/) noexcept {
  keel::global::free(pointer);
}

void operator delete(void* pointer, std::align_val_t /*align*/) noexcept {
  keel::global::free(pointer);
}

void operator delete[](void* pointer, std::align_val_t /*align*/) noexcept {
  keel::global::free(pointer);
}

void operator delete(void* pointer, std::size_t /*size*/, std::align_val_t /*align*/) noexcept {
  keel::global::free(pointer);
}

void operator delete[](void* pointer, std::size_t /*size*/, std::align_val_t /*align*/) noexcept {
  keel::global::free(pointer);
}

void operator delete(void* pointer, const std::nothrow_t& /*tag*/) noexcept {
  keel::global::free(pointer);
}

void operator delete[](void* pointer, const std::nothrow_t& /*tag*/) noexcept {
  keel::global::free(pointer);
}

void operator delete(void* pointer, std::align_val_t /*align*/,
                     const std::nothrow_t& /*tag*/) noexcept {
  keel::global::free(pointer);
}

void operator delete[](void* pointer, std::align_val_t /*align*/,
                       const std::nothrow_t& /*tag*/) noexcept {
  keel::global::free(pointer);
}
