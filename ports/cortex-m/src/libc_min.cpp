// libc_min.cpp: the few C library functions that an image without newlib still needs. GCC
// emits calls to memcpy, memset and memmove on its own (struct copies, zero-initialisation),
// and keel's core uses exactly those three. Images that link newlib use newlib's instead (this
// file is the keel_cortex_m_libc_min library, which they do not link).
//
// Each is a plain loop, word-wise when both pointers allow it. no-tree-loop-distribute-patterns
// keeps GCC from turning the loops back into calls to themselves.
#include <cstddef>
#include <cstdint>

namespace {

bool word_aligned(const void* a, const void* b) noexcept {
  return ((reinterpret_cast<std::uintptr_t>(a) | reinterpret_cast<std::uintptr_t>(b)) & 3U) == 0;
}

}  // namespace

extern "C" {

[[gnu::optimize("no-tree-loop-distribute-patterns")]] void* memcpy(void* to, const void* from,
                                                                   std::size_t length) {
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

[[gnu::optimize("no-tree-loop-distribute-patterns")]] void* memmove(void* to, const void* from,
                                                                    std::size_t length) {
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

[[gnu::optimize("no-tree-loop-distribute-patterns")]] void* memset(void* to, int value,
                                                                   std::size_t length) {
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

}  // extern "C"
