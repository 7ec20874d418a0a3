// ports/x86_64/runtime.cpp: what a freestanding g++ build still calls: memcpy, memset, memmove,
// memcmp (GCC emits calls to them even with -ffreestanding), __cxa_pure_virtual, and the
// libstdc++ "throw" helpers that header-only containers name when built without exceptions.
//
// The loops are compiled with no-tree-loop-distribute-patterns so that GCC does not turn them
// back into calls to themselves.
#include <cstddef>
#include <cstdint>

#include "port.hpp"

#define KEEL_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

extern "C" {

KEEL_NO_LIBCALLS void* memcpy(void* destination, const void* source, std::size_t size) {
  auto* to = static_cast<unsigned char*>(destination);
  const auto* from = static_cast<const unsigned char*>(source);
  for (std::size_t i = 0; i < size; ++i) {
    to[i] = from[i];
  }
  return destination;
}

KEEL_NO_LIBCALLS void* memset(void* destination, int value, std::size_t size) {
  auto* to = static_cast<unsigned char*>(destination);
  for (std::size_t i = 0; i < size; ++i) {
    to[i] = static_cast<unsigned char>(value);
  }
  return destination;
}

KEEL_NO_LIBCALLS void* memmove(void* destination, const void* source, std::size_t size) {
  auto* to = static_cast<unsigned char*>(destination);
  const auto* from = static_cast<const unsigned char*>(source);
  if (to < from) {
    for (std::size_t i = 0; i < size; ++i) {
      to[i] = from[i];
    }
  } else if (to > from) {
    for (std::size_t i = size; i != 0; --i) {
      to[i - 1] = from[i - 1];
    }
  }
  return destination;
}

KEEL_NO_LIBCALLS int memcmp(const void* left, const void* right, std::size_t size) {
  const auto* a = static_cast<const unsigned char*>(left);
  const auto* b = static_cast<const unsigned char*>(right);
  for (std::size_t i = 0; i < size; ++i) {
    if (a[i] != b[i]) {
      return a[i] < b[i] ? -1 : 1;
    }
  }
  return 0;
}

KEEL_NO_LIBCALLS std::size_t strlen(const char* text) {
  std::size_t length = 0;
  while (text[length] != '\0') {
    ++length;
  }
  return length;
}

[[noreturn]] void __cxa_pure_virtual() {  // NOLINT(bugprone-reserved-identifier)
  keel::port::panic("pure virtual function called");
}

}  // extern "C"

// libstdc++'s containers call these on a length error or a failed allocation. They are
// defined in libstdc++.so, which a kernel does not link; here each is a panic.
namespace std {  // NOLINT(cert-dcl58-cpp): the names libstdc++'s headers call
[[noreturn]] void __throw_length_error(const char* /*what*/) {
  keel::port::panic("container length error");
}
[[noreturn]] void __throw_bad_alloc() {
  keel::port::panic("container allocation failed");
}
[[noreturn]] void __throw_bad_array_new_length() {
  keel::port::panic("bad array new length");
}
[[noreturn]] void __throw_out_of_range(const char* /*what*/) {
  keel::port::panic("container index out of range");
}
[[noreturn]] void __throw_out_of_range_fmt(const char* /*format*/, ...) {
  keel::port::panic("container index out of range");
}
[[noreturn]] void __throw_logic_error(const char* /*what*/) {
  keel::port::panic("container logic error");
}
}  // namespace std
