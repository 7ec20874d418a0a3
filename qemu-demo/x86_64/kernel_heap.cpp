// qemu-demo/x86_64/kernel_heap.cpp: the global heap, its regions from the boot memory map, and
// its reports.
#include "kernel_heap.hpp"

#include <atomic>
#include <cstdint>

#include "keel/fault.hpp"
#include "keel/global.hpp"
#include "x86/boot_info.hpp"
#include "x86/console.hpp"

namespace kernel {

constinit KernelHeap g_heap;

}  // namespace kernel

KEEL_GLOBAL_HEAP(kernel::g_heap);

namespace kernel {
namespace {

using keel::port::x86::Line;

constinit std::atomic<unsigned> g_expected_faults{0};
constinit std::atomic<unsigned> g_faults_seen{0};
constexpr unsigned kLockAttempts = 1U << 22;
constexpr std::size_t kLeaksListed = 8;
constexpr std::uint64_t kMebibyte = 1024 * 1024;

void on_fault(keel::Fault fault, const void* address) noexcept {
  g_faults_seen.fetch_add(1, std::memory_order_relaxed);
  Line().text("keel fault: ").text(keel::to_string(fault)).text(" at ").address(address).text("\n");
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
  keel::port::IrqLock& lock = g_heap.lock();
  bool locked = false;
  for (unsigned attempt = 0; attempt < kLockAttempts && !locked; ++attempt) {
    locked = lock.try_lock();
  }
  const keel::Heap<>& heap = g_heap.unlocked();
  print_statistics(
      locked ? "heap health at panic" : "heap health at panic (lock busy: unlocked read)",
      heap.statistics());
  const keel::ValidationResult result = heap.validate();
  if (result.ok()) {
    Line().text("    validate(): ok\n");
  } else {
    Line()
        .text("    validate(): ")
        .text(keel::to_string(result.kind))
        .text(" at ")
        .address(result.address)
        .text("\n");
  }
  if (locked) {
    lock.unlock();
  }
}

void claim_range(std::uintptr_t start, std::uintptr_t end, unsigned& claimed) {
  while (end - start >= keel::Heap<>::min_region) {
    const keel::RegionResult result = g_heap.with_lock([&](keel::Heap<>& heap) {
      return heap.claim(keel::Span{reinterpret_cast<void*>(start), end - start});
    });
    if (!result.ok()) {
      Line()
          .text("  claim [")
          .hex(start, 9)
          .text(", ")
          .hex(end, 9)
          .text(") refused: ")
          .text(keel::to_string(result.error()))
          .text("\n");
      return;
    }
    const keel::Span extent = result.extent();
    const auto first = reinterpret_cast<std::uintptr_t>(extent.data);
    ++claimed;
    Line()
        .text("  region ")
        .decimal(claimed)
        .text(": [")
        .hex(first, 9)
        .text(", ")
        .hex(first + extent.size, 9)
        .text(")  ")
        .decimal(extent.size / kMebibyte)
        .text(" MiB\n");
    start = first + extent.size;  // a range over 4 GiB continues as another region
  }
}

}  // namespace

unsigned claim_boot_memory() {
  using namespace keel::port::x86;
  Line().text("boot memory map (PVH):\n");
  for (std::size_t i = 0; i < memory_range_count(); ++i) {
    const MemoryRange& range = memory_range(i);
    Line()
        .text("  [")
        .hex(range.base, 9)
        .text(", ")
        .hex(range.base + range.size, 9)
        .text(")  ")
        .text(range.type == MemoryType::ram ? "usable" : "reserved")
        .text(" (type ")
        .decimal(static_cast<std::uint32_t>(range.type))
        .text(")\n");
  }
  Line()
      .text("kernel image [")
      .hex(kernel_image_start(), 9)
      .text(", ")
      .hex(kernel_image_end(), 9)
      .text("), identity map up to ")
      .hex(identity_map_end(), 9)
      .text("\nclaiming usable RAM above the kernel image:\n");
  unsigned claimed = 0;
  for (std::size_t i = 0; i < memory_range_count(); ++i) {
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
      claim_range(static_cast<std::uintptr_t>(start), static_cast<std::uintptr_t>(end), claimed);
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
  Line().text(title).text(":\n");
  Line()
      .text("    claimed ")
      .decimal(statistics.bytes_claimed)
      .text(" B in ")
      .decimal(statistics.region_count)
      .text(" regions; in use ")
      .decimal(statistics.bytes_in_use)
      .text(" B, free ")
      .decimal(statistics.bytes_free)
      .text(" B, overhead ")
      .decimal(statistics.bytes_overhead)
      .text(" B\n");
  Line()
      .text("    live ")
      .decimal(statistics.live_allocations)
      .text(", total ")
      .decimal(statistics.total_allocations)
      .text(", failed ")
      .decimal(statistics.failed_allocations)
      .text(", peak in use ")
      .decimal(statistics.peak_bytes_in_use)
      .text(" B, free blocks ")
      .decimal(statistics.free_blocks)
      .text(", largest free ")
      .decimal(statistics.largest_free_block)
      .text(" B, fragmentation ")
      .fixed(statistics.fragmentation_permille, 1)
      .text(" %\n");
}

std::size_t report_leaks(std::size_t baseline) {
  const std::size_t live = g_heap.statistics().live_allocations;
  const std::size_t leaked = live > baseline ? live - baseline : 0;
  Line()
      .text("leak report: ")
      .decimal(live)
      .text(" live blocks, ")
      .decimal(baseline)
      .text(" of them the kernel's own -> ")
      .decimal(leaked)
      .text(leaked == 0 ? " leaked\n" : " LEAKED\n");
  if (leaked != 0) {
    std::size_t listed = 0;
    g_heap.with_lock([&](keel::Heap<>& heap) {
      heap.walk([&](const keel::BlockInfo& block) {
        if (block.used && listed < kLeaksListed) {
          ++listed;
          Line()
              .text("    live block ")
              .address(block.address)
              .text(" ")
              .decimal(block.size)
              .text(" B\n");
        }
      });
    });
  }
  return leaked;
}

bool validate_heap(const char* when) {
  const keel::ValidationResult result =
      g_heap.with_lock([](keel::Heap<>& heap) { return heap.validate(); });
  if (!result.ok()) {
    Line()
        .text("validate() ")
        .text(when)
        .text(": ")
        .text(keel::to_string(result.kind))
        .text(" at ")
        .address(result.address)
        .text("\n");
  }
  return result.ok();
}

}  // namespace kernel
