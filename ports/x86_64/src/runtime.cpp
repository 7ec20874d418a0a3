// ports/x86_64/src/runtime.cpp: the C functions a freestanding g++ build still calls: memcpy,
// memset, memmove, memcmp (GCC emits calls to them even with -ffreestanding) and strlen. The
// C++ runtime pieces a kernel needs without libstdc++ (the containers' throw helpers,
// __cxa_pure_virtual) are the kernel's: qemu-demo/common/cxx_runtime.cpp.
//
// The loops of memmove and memcmp are compiled with no-tree-loop-distribute-patterns so that
// GCC does not turn them back into calls to memmove or memcmp.
#include <cstddef>
#include <cstdint>

#define KEEL_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

extern "C" {

// memcpy and memset use the string instructions (rep movsb, rep stosb), which QEMU executes
// much faster than a compiled byte loop.
void* memcpy(void* destination, const void* source, std::size_t size) {
  void* to = destination;
  asm volatile("rep movsb" : "+D"(to), "+S"(source), "+c"(size) : : "memory");
  return destination;
}

void* memset(void* destination, int value, std::size_t size) {
  void* to = destination;
  asm volatile("rep stosb" : "+D"(to), "+c"(size) : "a"(value) : "memory");
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

}  // extern "C"
