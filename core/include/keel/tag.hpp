// keel/tag.hpp: where an allocation was made, for leak reports and fault reports.
//
// A tag is stored with a block only in heaps built with HeapOptions::tags. The C++ API records the
// caller's file and line (a default argument built from __builtin_FILE / __builtin_LINE, which
// evaluate at the call site, as std::source_location does); the C API and operator new record
// the caller's return address (line 0).
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel {

struct AllocationTag {
  const char* file = nullptr;  ///< source file, or a code address when line == 0
  std::uint32_t line = 0;

  /// The call site of the expression that evaluates this default argument.
  static constexpr AllocationTag here(const char* file = __builtin_FILE(),
                                      std::uint32_t line = __builtin_LINE()) {
    return AllocationTag{file, line};
  }
  /// A code address (e.g. __builtin_return_address(0)) as a tag.
  static AllocationTag code(const void* address) {
    return AllocationTag{static_cast<const char*>(address), 0};
  }
  [[nodiscard]] constexpr bool known() const { return file != nullptr; }
  friend constexpr bool operator==(const AllocationTag&, const AllocationTag&) = default;
};

namespace detail {

/// heap.allocate with `tag` where the heap takes one (keel::Heap, Locked), without it for a
/// caller's own heap type that does not: the one place the wrappers decide how to pass a tag on.
template <typename H>
void* allocate_tagged(H& heap, std::size_t size, std::size_t align, AllocationTag tag) {
  if constexpr (requires { heap.allocate(size, align, tag); }) {
    return heap.allocate(size, align, tag);
  } else {
    return heap.allocate(size, align);
  }
}

/// heap.reallocate with `tag`, as allocate_tagged.
template <typename H>
void* reallocate_tagged(H& heap, void* pointer, std::size_t size, std::size_t align,
                        AllocationTag tag) {
  if constexpr (requires { heap.reallocate(pointer, size, align, tag); }) {
    return heap.reallocate(pointer, size, align, tag);
  } else {
    return heap.reallocate(pointer, size, align);
  }
}

}  // namespace detail

}  // namespace keel
