// libc_min.cpp: the few C library functions that an image without newlib still needs. GCC
// emits calls to memcpy, memset and memmove on its own (struct copies, zero-initialisation),
// and keel's core uses exactly those three. Images that link newlib use newlib's instead (this
// file is the keel_cortex_m_libc_min library, which they do not link).
//
// Each is a plain loop, word-wise when both pointers allow it. KEEL_PLAIN_LOOPS keeps the
// compiler from turning the loops back into calls to themselves.
#include <cstddef>
#include <cstdint>

#include "plain_loops.hpp"

namespace {

bool word_aligned(const void* a, const void* b) noexcept {
  return ((reinterpret_cast<std::uintptr_t>(a) | reinterpret_cast<std::uintptr_t>(b)) & 3U) == 0;
}

}  // namespace

extern "C" {

KEEL_PLAIN_LOOPS void* memcpy(void* to, const void* from, std::size_t length) {
  auto* out = static_cast<unsigned char*>(to);
  const auto* in = static_cast<const unsigned char*>(from);
  if (word_aligned(out, in)) {
    for (; length >= 4; length -= 4, out += 4, in += 4) {
      *static_cast<std::uint32_t*>(static_cast<void*>(out)) =
          *static_cast<const std::uint32_t*>(static_cast<const void*>(in));
    }
  }
  while (length-- != 0) {
    *out++ = *in++;
  }
  return to;
}

KEEL_PLAIN_LOOPS void* memmove(void* to, const void* from, std::size_t length) {
  auto* out = static_cast<unsigned char*>(to);
  const auto* in = static_cast<const unsigned char*>(from);
  if (out <= in || out >= in + length) {
    return memcpy(to, from, length);  // forward copy is safe
  }
  while (length-- != 0) {
    out[length] = in[length];
  }
  return to;
}

KEEL_PLAIN_LOOPS void* memset(void* to, int value, std::size_t length) {
  auto* out = static_cast<unsigned char*>(to);
  const auto byte = static_cast<unsigned char>(value);
  if (word_aligned(out, out)) {
    const std::uint32_t word = byte * 0x01010101U;
    for (; length >= 4; length -= 4, out += 4) {
      *static_cast<std::uint32_t*>(static_cast<void*>(out)) = word;
    }
  }
  while (length-- != 0) {
    *out++ = byte;
  }
  return to;
}

int memcmp(const void* a, const void* b, std::size_t length) {
  const auto* left = static_cast<const unsigned char*>(a);
  const auto* right = static_cast<const unsigned char*>(b);
  for (std::size_t i = 0; i < length; ++i) {
    if (left[i] != right[i]) {
      return left[i] < right[i] ? -1 : 1;
    }
  }
  return 0;
}

std::size_t strlen(const char* text) {
  std::size_t length = 0;
  while (text[length] != '\0') {
    ++length;
  }
  return length;
}

// The Arm run-time ABI's forms of the same (RTABI, "Memory copying, clearing, and setting"), which
// clang calls instead of memcpy and memset on Arm EABI targets; newlib has its own. The 4 and 8
// forms promise aligned pointers, which the plain forms do not need.
void __aeabi_memcpy(void* to, const void* from, std::size_t length) {
  memcpy(to, from, length);
}
void __aeabi_memmove(void* to, const void* from, std::size_t length) {
  memmove(to, from, length);
}
void __aeabi_memset(void* to, std::size_t length, int value) {
  memset(to, value, length);
}
void __aeabi_memclr(void* to, std::size_t length) {
  memset(to, 0, length);
}
void __aeabi_memcpy4(void*, const void*, std::size_t) __attribute__((alias("__aeabi_memcpy")));
void __aeabi_memcpy8(void*, const void*, std::size_t) __attribute__((alias("__aeabi_memcpy")));
void __aeabi_memmove4(void*, const void*, std::size_t) __attribute__((alias("__aeabi_memmove")));
void __aeabi_memmove8(void*, const void*, std::size_t) __attribute__((alias("__aeabi_memmove")));
void __aeabi_memset4(void*, std::size_t, int) __attribute__((alias("__aeabi_memset")));
void __aeabi_memset8(void*, std::size_t, int) __attribute__((alias("__aeabi_memset")));
void __aeabi_memclr4(void*, std::size_t) __attribute__((alias("__aeabi_memclr")));
void __aeabi_memclr8(void*, std::size_t) __attribute__((alias("__aeabi_memclr")));

}  // extern "C"
