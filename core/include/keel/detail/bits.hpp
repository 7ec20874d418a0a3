// keel/detail/bits.hpp: the bit operations the bins and the alignment code are built on.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::detail {

/// Index of the lowest set bit. Precondition: value != 0.
[[nodiscard]] constexpr unsigned lowest_bit(std::uint32_t value) {
  return static_cast<unsigned>(__builtin_ctz(value));
}

/// Index of the highest set bit, floor(log2(value)). Precondition: value != 0.
[[nodiscard]] constexpr unsigned highest_bit(std::uint32_t value) {
  return 31U - static_cast<unsigned>(__builtin_clz(value));
}

/// Whether highest_bit is one instruction. Arm cores without CLZ (v6-M, v8-M baseline: the
/// Cortex-M0, M0+, M23) call a library routine for it instead.
#if defined(__ARM_ARCH) && !defined(__ARM_FEATURE_CLZ)
inline constexpr bool kHighestBitIsCheap = false;
#else
inline constexpr bool kHighestBitIsCheap = true;
#endif

[[nodiscard]] constexpr bool is_power_of_two(std::size_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

/// Rounds `value` up to a multiple of `alignment` (a power of two). Precondition: no overflow.
[[nodiscard]] constexpr std::uintptr_t align_up(std::uintptr_t value, std::uintptr_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

/// Rounds `value` down to a multiple of `alignment` (a power of two).
[[nodiscard]] constexpr std::uintptr_t align_down(std::uintptr_t value, std::uintptr_t alignment) {
  return value & ~(alignment - 1);
}

}  // namespace keel::detail
