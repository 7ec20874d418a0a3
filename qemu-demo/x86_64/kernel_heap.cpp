// qemu-demo/x86_64/kernel_heap.cpp: the RAM of the boot memory map, and the heap's reports.
#include "kernel_heap.hpp"

#include <atomic>
#include <cstdint>

#include "keel/fault.hpp"
#include "x86/boot_info.hpp"

namespace kernel {
namespace {

using demo::print;

constinit std::atomic<unsigned> g_expected_faults{0};
constinit std::atomic<unsigned> g_faults_seen{0};
constexpr unsigned kLockAttempts = 1U << 22;
constexpr std::size_t kLeaksListed = 8;
constexpr std::uint64_t kMebibyte = 1024 * 1024;

void on_fault(keel::Fault fault, const void* address) noexcept {
  g_faults_seen.fetch_add(1, std::memory_order_relaxed);
  print("   keel fault: %s at %p\n", keel::to_string(fault), address);
  unsigned expected = g_expected_faults.load(std::memory_order_relaxed);
  while (expected != 0 && !g_expected_faults.compare_exchange_weak(expected, expected - 1)) {
  }
  if (expected == 0) {
    keel::port::panic("unexpected keel fault");
  }
}

/// Printed by keel::port::panic. The heap's lock may be held by the core that panicked (or by
/// a stopped one), so it is tried a bounded number of times; without it the numbers are read
/// as they are, and marked so.
void report_health() noexcept {
  keel::port::IrqLock& lock = heap().lock();
  bool locked = false;
  for (unsigned attempt = 0; attempt < kLockAttempts && !locked; ++attempt) {
    locked = lock.try_lock();
  }
  const auto& unlocked = heap().unlocked();
  print_statistics(
      locked ? "heap health at panic" : "heap health at panic (lock busy: unlocked read)",
      unlocked.statistics());
  const keel::ValidationResult result = unlocked.validate();
  if (result.ok()) {
    print("   validate(): ok\n");
  } else {
    print("   validate(): %s at %p\n", keel::to_string(result.kind), result.address);
  }
  if (locked) {
    lock.unlock();
  }
}

const char* type_name(keel::port::x86::MemoryType type) {
  using keel::port::x86::MemoryType;
  switch (type) {
    case MemoryType::ram: return "usable";
    case MemoryType::reserved: return "reserved";
    case MemoryType::acpi_reclaimable: return "ACPI tables";
    case MemoryType::acpi_nvs: return "ACPI NVS";
    case MemoryType::unusable: return "unusable";
  }
  return "other";
}

}  // namespace

BootMemory find_boot_memory() {
  using namespace keel::port::x86;
  BootMemory memory;
  print("boot memory map (PVH start info):\n");
  for (std::size_t i = 0; i < memory_range_count(); ++i) {
    const MemoryRange& range = memory_range(i);
    print("   [%p, %p)  %s\n", reinterpret_cast<void*>(range.base),
          reinterpret_cast<void*>(range.base + range.size), type_name(range.type));
  }
  print("kernel image [%p, %p); identity map up to %p\n",
        reinterpret_cast<void*>(kernel_image_start()), reinterpret_cast<void*>(kernel_image_end()),
        reinterpret_cast<void*>(identity_map_end()));
  for (std::size_t i = 0; i < memory_range_count() && memory.count < BootMemory::kMaxRanges; ++i) {
    const MemoryRange& range = memory_range(i);
    if (range.type != MemoryType::ram) {
      continue;
    }
    std::uint64_t start = range.base;
    std::uint64_t end = range.base + range.size;
    if (end <= kernel_image_end()) {
      continue;  // below the image: BIOS data, the AP trampoline; left alone
    }
    if (start < kernel_image_end()) {
      start = kernel_image_end();
    }
    if (end > identity_map_end()) {
      end = identity_map_end();
    }
    if (start < end) {
      memory.ranges[memory.count++] =
          keel::Span{reinterpret_cast<void*>(start), static_cast<std::size_t>(end - start)};
    }
  }
  print("usable RAM above the kernel image: %zu range(s)\n", memory.count);
  for (std::size_t i = 0; i < memory.count; ++i) {
    print("   %zu: [%p, %p)  %zu MiB\n", i + 1, static_cast<void*>(memory.ranges[i].begin()),
          static_cast<void*>(memory.ranges[i].end()), memory.ranges[i].size / kMebibyte);
  }
  return memory;
}

unsigned claim_ranges(const BootMemory& memory, std::size_t first) {
  unsigned claimed = 0;
  for (std::size_t i = first; i < memory.count; ++i) {
    auto start = reinterpret_cast<std::uintptr_t>(memory.ranges[i].begin());
    const auto end = reinterpret_cast<std::uintptr_t>(memory.ranges[i].end());
    while (end - start >= keel::Heap<>::min_region) {
      const keel::RegionResult result = heap().with_lock([&](auto& h) {
        return h.claim(keel::Span{reinterpret_cast<void*>(start), end - start});
      });
      if (!result.ok()) {
        print("   claim of [%p, %p) refused: %s\n", reinterpret_cast<void*>(start),
              reinterpret_cast<void*>(end), keel::to_string(result.error()));
        break;
      }
      ++claimed;
      const keel::Span extent = result.extent();
      print("   claimed [%p, %p) as a region, %zu MiB\n", static_cast<void*>(extent.begin()),
            static_cast<void*>(extent.end()), extent.size / kMebibyte);
      start = reinterpret_cast<std::uintptr_t>(extent.end());  // over 4 GiB: another region
    }
  }
  return claimed;
}

void install_heap_reporters() {
  keel::set_fault_handler(&on_fault);
  keel::port::set_health_reporter(&report_health);
}

void expect_faults(unsigned count) {
  g_expected_faults.store(count, std::memory_order_relaxed);
}

unsigned faults_seen() {
  return g_faults_seen.load(std::memory_order_relaxed);
}

void print_statistics(const char* title, const keel::Statistics& statistics) {
  print("%s:\n", title);
  print("   claimed %zu B in %zu regions; in use %zu B, free %zu B, overhead %zu B\n",
        statistics.bytes_claimed, statistics.region_count, statistics.bytes_in_use,
        statistics.bytes_free, statistics.bytes_overhead);
  print(
      "   live %zu, total %llu, failed %llu, peak in use %zu B, free blocks %zu, largest free "
      "%zu B, fragmentation %u/1000\n",
      statistics.live_allocations, static_cast<unsigned long long>(statistics.total_allocations),
      static_cast<unsigned long long>(statistics.failed_allocations), statistics.peak_bytes_in_use,
      statistics.free_blocks, statistics.largest_free_block, statistics.fragmentation_permille);
}

std::size_t report_leaks(std::size_t baseline) {
  const std::size_t live = heap().statistics().live_allocations;
  const std::size_t leaked = live > baseline ? live - baseline : 0;
  print("leak report: %zu live block(s), %zu of them expected -> %zu leaked\n", live, baseline,
        leaked);
  if (leaked != 0) {
    std::size_t listed = 0;
    heap().with_lock([&](auto& h) {
      h.walk([&](const keel::BlockInfo& block) {
        if (block.used && listed < kLeaksListed) {
          ++listed;
          print("   live block %p, %zu B\n", block.address, block.size);
        }
      });
      return 0;
    });
  }
  return leaked;
}

bool validate_heap(const char* when) {
  const keel::ValidationResult result = heap().with_lock([](auto& h) { return h.validate(); });
  if (!result.ok()) {
    print("   validate() %s: %s at %p\n", when, keel::to_string(result.kind), result.address);
  }
  return result.ok();
}

}  // namespace kernel
