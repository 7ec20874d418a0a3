// keel/global.hpp: the one heap that operator new/delete (keel::new_delete), the C malloc family
// (keel::libc) and the containers' default allocator (keel::Allocator<T>) use.
//
// keel has no global heap of its own: the application chooses it. It defines the four functions
// of namespace keel::global below, in one translation unit, usually with one line:
//
//     #include "keel/global.hpp"
//     #include "keel/lock.hpp"
//
//     alignas(16) constinit std::byte g_heap_memory[256 * 1024];
//     constinit keel::Locked<keel::Heap<keel::ClaimOnOom>, MyIrqLock> g_heap{
//         keel::ClaimOnOom{keel::Span{g_heap_memory}}};
//     KEEL_GLOBAL_HEAP(g_heap);
//
// Any object with allocate(size, align), reallocate(pointer, size, align), free(pointer) and
// usable_size(pointer) will do: a keel::Heap (no lock: one thread, no interrupt handler
// allocates), a keel::Locked<Heap, Lock> with the application's lock, or its own wrapper.
// The lock is the application's: keel::new_delete and keel::libc take none of their own.
//
// Allocations can come before main (static constructors, the C library's start-up code), so the
// heap object should be constant-initialised (`constinit`) and able to find memory by itself:
// keel::ClaimOnOom claims its reserve on the first request. A kernel that claims its regions
// from a memory map instead must do so before the first `new`.
//
// Writing the four functions by hand is fine too (for instance to pick the heap at run time
// through a pointer); they must behave as described below.
#pragma once

#include <concepts>
#include <cstddef>

#include "keel/tag.hpp"

namespace keel::global {

/// Allocates `size` bytes aligned to `align` (a power of two); null if it cannot. size 0 must
/// return a unique pointer. `caller` is the code address the request is made for (the return
/// address of operator new, of malloc, of Allocator<T>::allocate), or null: a heap built with
/// HeapOptions::tags keeps it as the block's tag, which leak_report() and fault reports show.
[[nodiscard]] void* allocate(std::size_t size, std::size_t align, const void* caller) noexcept;

/// realloc's contract: null `pointer` allocates, size 0 frees and returns null, failure returns
/// null and leaves the block as it was. A moved block is aligned to `align`. `caller` as for
/// allocate.
[[nodiscard]] void* reallocate(void* pointer, std::size_t size, std::size_t align,
                               const void* caller) noexcept;

/// Frees a block of allocate or reallocate; null is ignored.
void free(void* pointer) noexcept;

/// The usable bytes of a live block (at least what was asked for); 0 for null.
[[nodiscard]] std::size_t usable_size(const void* pointer) noexcept;

}  // namespace keel::global

namespace keel {

/// What KEEL_GLOBAL_HEAP needs of the object it is given.
template <typename H>
concept GlobalHeapObject = requires(H& heap, void* pointer, const void* const_pointer,
                                    std::size_t size) {
  { heap.allocate(size, size) } -> std::same_as<void*>;
  { heap.reallocate(pointer, size, size) } -> std::same_as<void*>;
  heap.free(pointer);
  { heap.usable_size(const_pointer) } -> std::same_as<std::size_t>;
};

/// Called by keel::new_delete when a throwing operator new finds no memory. It may free memory
/// and return (new then tries again, at most kMaxNewRetries times in all), throw, or not return.
/// When it returns and the retries are spent, or when none is installed, new throws
/// std::bad_alloc if new_delete.cpp was compiled with exceptions, and traps
/// (__builtin_trap) if not. nothrow new never calls it: it returns null.
using NewFailureHandler = void (*)(std::size_t size, std::size_t align);

/// How many times a throwing new calls the failure handler before it gives up.
inline constexpr unsigned kMaxNewRetries = 4;

namespace detail {

/// The tag of a global request: the caller's code address, or none.
inline AllocationTag global_tag(const void* caller) {
  return caller != nullptr ? AllocationTag::code(caller) : AllocationTag{};
}

}  // namespace detail

/// Installs `handler` (null restores the default) and returns the previous one. Defined by
/// keel::new_delete. Not synchronised: install it before other threads or interrupts use new.
NewFailureHandler set_new_failure_handler(NewFailureHandler handler) noexcept;

}  // namespace keel

/// Defines keel::global's functions over `heap_object`, an object of static storage duration
/// (see the top of this file). Use it once, at namespace scope, in one translation unit.
// NOLINTBEGIN(bugprone-macro-parentheses): the argument is an object name
#define KEEL_GLOBAL_HEAP(heap_object)                                                              \
  static_assert(::keel::GlobalHeapObject<decltype(heap_object)>,                                   \
                "KEEL_GLOBAL_HEAP needs allocate, reallocate, free and usable_size");              \
  void* keel::global::allocate(std::size_t size, std::size_t align, const void* caller) noexcept { \
    return ::keel::detail::allocate_tagged(heap_object, size, align,                               \
                                           ::keel::detail::global_tag(caller));                    \
  }                                                                                                \
  void* keel::global::reallocate(void* pointer, std::size_t size, std::size_t align,               \
                                 const void* caller) noexcept {                                    \
    return ::keel::detail::reallocate_tagged(heap_object, pointer, size, align,                    \
                                             ::keel::detail::global_tag(caller));                  \
  }                                                                                                \
  void keel::global::free(void* pointer) noexcept {                                                \
    (heap_object).free(pointer);                                                                   \
  }                                                                                                \
  std::size_t keel::global::usable_size(const void* pointer) noexcept {                            \
    return (heap_object).usable_size(pointer);                                                     \
  }                                                                                                \
  static_assert(true, "")
// NOLINTEND(bugprone-macro-parentheses)
