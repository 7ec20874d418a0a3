// ports/x86_64/boot_info.hpp: what the loader told the kernel: the memory map, the command line,
// and where the kernel image lies.
//
// QEMU's PVH boot passes an hvm_start_info structure (Xen's public arch-x86/hvm/start_info.h,
// version 1: the e820-style memory map is in it). boot_info_init copies what the kernel needs
// into the port's own storage, so that nothing of the loader's memory is needed afterwards.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::port::x86 {

/// E820 / PVH memory types.
enum class MemoryType : std::uint32_t {
  ram = 1,
  reserved = 2,
  acpi_reclaimable = 3,
  acpi_nvs = 4,
  unusable = 5,
};

struct MemoryRange {
  std::uint64_t base;
  std::uint64_t size;
  MemoryType type;
};

inline constexpr std::size_t kMaxMemoryRanges = 32;

/// Reads the PVH start info at physical `address`. Returns false if it is not one (wrong
/// magic), in which case the memory map is empty.
bool boot_info_init(std::uint64_t address) noexcept;

/// The loader's memory map, in its order (at most kMaxMemoryRanges entries).
[[nodiscard]] std::size_t memory_range_count() noexcept;
[[nodiscard]] const MemoryRange& memory_range(std::size_t index) noexcept;

/// The `-append` string, or "" (at most 255 bytes are kept).
[[nodiscard]] const char* command_line() noexcept;

/// True if the command line holds `word` as a whole space-separated word, or as the key of a
/// `word=value` pair.
[[nodiscard]] bool command_line_has(const char* word) noexcept;

/// The value of `key=value` on the command line as a number, or `fallback`.
[[nodiscard]] std::uint64_t command_line_number(const char* key, std::uint64_t fallback) noexcept;

/// [start, end) of the loaded kernel image, .bss included (linker/x86_64.ld).
[[nodiscard]] std::uintptr_t kernel_image_start() noexcept;
[[nodiscard]] std::uintptr_t kernel_image_end() noexcept;

/// The first address the boot stub's identity map does not reach.
[[nodiscard]] std::uint64_t identity_map_end() noexcept;

}  // namespace keel::port::x86
