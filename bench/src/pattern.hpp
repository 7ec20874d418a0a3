// bench/src/pattern.hpp: the byte pattern written into every block and checked before the block
// is freed or resized, so that an allocator handing out overlapping or damaged blocks is caught.
//
// Word i of a block holds seed + i (the seed is unique per allocation), the tail bytes hold the
// low bytes of the next word. A block moved by reallocate must keep its prefix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace keel_bench {

inline void fill_pattern(void* block, std::size_t bytes, std::uint64_t seed) {
  auto* out = static_cast<unsigned char*>(block);
  const std::size_t words = bytes / sizeof(std::uint64_t);
  for (std::size_t i = 0; i < words; ++i) {
    const std::uint64_t value = seed + i;
    std::memcpy(out + i * sizeof value, &value, sizeof value);
  }
  const std::uint64_t tail = seed + words;
  std::memcpy(out + words * sizeof tail, &tail, bytes % sizeof tail);
}

/// True if the first `bytes` of `block` still hold the pattern of `seed`.
[[nodiscard]] inline bool check_pattern(const void* block, std::size_t bytes, std::uint64_t seed) {
  const auto* in = static_cast<const unsigned char*>(block);
  const std::size_t words = bytes / sizeof(std::uint64_t);
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t value = 0;
    std::memcpy(&value, in + i * sizeof value, sizeof value);
    if (value != seed + i) {
      return false;
    }
  }
  const std::uint64_t expected = seed + words;
  return std::memcmp(in + words * sizeof expected, &expected, bytes % sizeof expected) == 0;
}

[[nodiscard]] inline bool is_zero(const void* block, std::size_t bytes) {
  const auto* in = static_cast<const unsigned char*>(block);
  for (std::size_t i = 0; i < bytes; ++i) {
    if (in[i] != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace keel_bench
