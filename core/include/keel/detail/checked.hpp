// keel/detail/checked.hpp: size arithmetic that cannot wrap.
//
// Every size that keel computes from a caller's numbers goes through one of these. Each returns
// false instead of a wrapped result; the caller then fails the request with null.
#pragma once

#include <cstddef>

namespace keel::detail {

/// result = a + b, or false if that does not fit in size_t.
[[nodiscard]] constexpr bool checked_add(std::size_t a, std::size_t b, std::size_t& result) {
  return !__builtin_add_overflow(a, b, &result);
}

/// result = a * b, or false if that does not fit in size_t.
[[nodiscard]] constexpr bool checked_multiply(std::size_t a, std::size_t b, std::size_t& result) {
  return !__builtin_mul_overflow(a, b, &result);
}

/// calloc's work, for every face that offers it: `allocate(count * size)` zeroed, or
/// `overflow()` and null when the product does not fit in size_t.
template <typename Allocate, typename Overflow>
[[nodiscard]] void* allocate_zeroed_with(std::size_t count, std::size_t size, Allocate&& allocate,
                                         Overflow&& overflow) {
  std::size_t total = 0;
  if (!checked_multiply(count, size, total)) {
    overflow();
    return nullptr;
  }
  void* pointer = allocate(total);
  if (pointer != nullptr) {
    __builtin_memset(pointer, 0, total);
  }
  return pointer;
}

}  // namespace keel::detail
