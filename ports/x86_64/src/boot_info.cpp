// ports/x86_64/boot_info.cpp: the PVH start info, copied into the port's storage.
#include "x86/boot_info.hpp"

#include "x86/boot_layout.h"

extern "C" const std::byte __kernel_start[];  // linker/x86_64.ld
extern "C" const std::byte __kernel_end[];

namespace keel::port::x86 {
namespace {

// Xen's hvm_start_info, version 1 (the fields QEMU fills in).
struct StartInfo {
  std::uint32_t magic;
  std::uint32_t version;
  std::uint32_t flags;
  std::uint32_t module_count;
  std::uint64_t module_list;
  std::uint64_t command_line;
  std::uint64_t rsdp;
  std::uint64_t memory_map;  // version 1 and later
  std::uint32_t memory_map_entries;
  std::uint32_t reserved;
};
struct MemoryMapEntry {
  std::uint64_t base;
  std::uint64_t size;
  std::uint32_t type;
  std::uint32_t reserved;
};
constexpr std::uint32_t kStartInfoMagic = 0x336EC578;
constexpr std::size_t kCommandLineCapacity = 256;

constinit MemoryRange g_ranges[kMaxMemoryRanges] = {};
constinit std::size_t g_range_count = 0;
constinit char g_command_line[kCommandLineCapacity] = {};

template <typename T>
const T* physical(std::uint64_t address) {
  return reinterpret_cast<const T*>(static_cast<std::uintptr_t>(address));
}

/// Where `key` starts a word of the command line (followed by end, space or '='), or null.
const char* find_word(const char* key) {
  std::size_t key_length = 0;
  while (key[key_length] != '\0') {
    ++key_length;
  }
  for (const char* word = g_command_line; *word != '\0';) {
    while (*word == ' ') {
      ++word;
    }
    std::size_t i = 0;
    while (i < key_length && word[i] == key[i]) {
      ++i;
    }
    if (i == key_length && (word[i] == '\0' || word[i] == ' ' || word[i] == '=')) {
      return word;
    }
    while (*word != '\0' && *word != ' ') {
      ++word;
    }
  }
  return nullptr;
}

}  // namespace

bool boot_info_init(std::uint64_t address) noexcept {
  const auto* info = physical<StartInfo>(address);
  if (address == 0 || info->magic != kStartInfoMagic) {
    return false;
  }
  if (info->command_line != 0) {
    const char* text = physical<char>(info->command_line);
    std::size_t i = 0;
    for (; i + 1 < kCommandLineCapacity && text[i] != '\0'; ++i) {
      g_command_line[i] = text[i];
    }
    g_command_line[i] = '\0';
  }
  if (info->version >= 1 && info->memory_map != 0) {
    const auto* entries = physical<MemoryMapEntry>(info->memory_map);
    for (std::uint32_t i = 0; i < info->memory_map_entries && g_range_count < kMaxMemoryRanges;
         ++i) {
      if (entries[i].size == 0) {
        continue;  // microvm ends its map with an all-zero entry
      }
      g_ranges[g_range_count++] =
          MemoryRange{entries[i].base, entries[i].size, static_cast<MemoryType>(entries[i].type)};
    }
  }
  return true;
}

std::size_t memory_range_count() noexcept {
  return g_range_count;
}

const MemoryRange& memory_range(std::size_t index) noexcept {
  return g_ranges[index];
}

const char* command_line() noexcept {
  return g_command_line;
}

bool command_line_has(const char* word) noexcept {
  return find_word(word) != nullptr;
}

std::uint64_t command_line_number(const char* key, std::uint64_t fallback) noexcept {
  const char* word = find_word(key);
  if (word == nullptr) {
    return fallback;
  }
  while (*word != '=' && *word != ' ' && *word != '\0') {
    ++word;
  }
  if (*word != '=' || word[1] < '0' || word[1] > '9') {
    return fallback;
  }
  std::uint64_t value = 0;
  for (++word; *word >= '0' && *word <= '9'; ++word) {
    value = value * 10 + static_cast<std::uint64_t>(*word - '0');
  }
  return value;
}

std::uintptr_t kernel_image_start() noexcept {
  return reinterpret_cast<std::uintptr_t>(__kernel_start);
}

std::uintptr_t kernel_image_end() noexcept {
  return reinterpret_cast<std::uintptr_t>(__kernel_end);
}

std::uint64_t identity_map_end() noexcept {
  return static_cast<std::uint64_t>(IDENTITY_GIB) << 30;
}

}  // namespace keel::port::x86
