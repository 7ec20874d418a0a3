// bench/src/marker.hpp: marks the start and the end of one measured allocator operation.
//
// A marker is a multi-byte x86_64 NOP whose 32-bit displacement carries a tag:
//
//     66 0F 1F 84 00 <disp32>      nopw disp32(%rax,%rax,1),   disp32 = 0x4B45'0000 | id
//
// Natively (and under callgrind) it does nothing. Under QEMU the instruction-count plugin
// (bench/icount/insn_window.cpp) recognises the encoding when it translates the instruction:
// id 0 opens a window, any other id closes it and files the instructions counted in between
// under category `id`. The plugin counts only instructions outside this benchmark's own code,
// so a window holds exactly what the measured wrapper (bench/src/measured.hpp) executed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace keel_bench {

inline constexpr std::uint32_t kMarkerMagic = 0x4B450000U;  // "KE" in the high half
inline constexpr std::uint32_t kMarkerBegin = 0;

/// Categories of measured operations; the plugin reports per category.
enum class Category : std::uint32_t {
  allocate = 1,
  allocate_failed = 2,
  free = 3,
  reallocate_in_place = 4,
  reallocate_moved = 5,
  reallocate_failed = 6,
  allocate_zeroed = 7,
  scenario_base = 64,  ///< constructed worst cases: scenario_base + scenario index
};
inline constexpr std::size_t kMaxScenarios = 64;

template <std::uint32_t kId>
inline void marker() {
  static_assert(kId <= 0xFFFFU, "a marker id is 16 bits");
  asm volatile("nopw %c0(%%rax,%%rax,1)" : : "i"(kMarkerMagic | kId) : "memory");
}

inline void mark_begin() {
  marker<kMarkerBegin>();
}

template <Category kCategory>
inline void mark_end() {
  marker<static_cast<std::uint32_t>(kCategory)>();
}

namespace detail {
template <std::size_t... kIndex>
inline void mark_scenario_end(std::size_t index, std::index_sequence<kIndex...> /*indices*/) {
  ((index == kIndex
        ? marker<static_cast<std::uint32_t>(Category::scenario_base) + std::uint32_t{kIndex}>()
        : void()),
   ...);
}
}  // namespace detail

/// Closes a window under the category of constructed scenario `index` (< kMaxScenarios).
inline void mark_scenario_end(std::size_t index) {
  detail::mark_scenario_end(index, std::make_index_sequence<kMaxScenarios>{});
}

}  // namespace keel_bench
