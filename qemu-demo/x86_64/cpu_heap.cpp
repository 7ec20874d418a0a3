// qemu-demo/x86_64/cpu_heap.cpp: the kernel's per-CPU front end (cpu_heap.hpp).
#include "cpu_heap.hpp"

#include "kernel_heap.hpp"
#include "port.hpp"

namespace kernel {
namespace {

using demo::print;

constinit CpuHeap g_cpu_heap;

}  // namespace

CpuHeap& cpu_heap() {
  return g_cpu_heap;
}

bool init_cpu_heap(std::size_t bytes) {
  void* memory = heap().allocate(bytes, 4096);
  if (memory == nullptr) {
    return false;
  }
  return g_cpu_heap.with_lock([&](auto& h) { return h.claim(keel::Span{memory, bytes}).ok(); });
}

void print_cpu_heap_statistics(const char* title) {
  const keel::CacheStatistics s = g_cpu_heap.statistics();
  print("%s:\n", title);
  print("   heap: claimed %zu B, in use %zu B in %zu blocks, free %zu B in %zu blocks\n",
        s.heap.bytes_claimed, s.heap.bytes_in_use, s.heap.live_allocations, s.heap.bytes_free,
        s.heap.free_blocks);
  print(
      "   of which held by the program %zu B in %zu blocks, in the CPU caches %zu B in %zu "
      "blocks\n",
      s.bytes_in_use, s.live_allocations, s.bytes_cached, s.blocks_cached);
  print(
      "   allocations %llu (%llu from a cache), failed %llu; refills %llu, flushes %llu, "
      "reclaims %llu\n",
      static_cast<unsigned long long>(s.total_allocations),
      static_cast<unsigned long long>(s.cache_hits),
      static_cast<unsigned long long>(s.failed_allocations),
      static_cast<unsigned long long>(s.refills), static_cast<unsigned long long>(s.flushes),
      static_cast<unsigned long long>(s.reclaims));
}

bool check_cpu_heap(const char* when, std::size_t program_live) {
  bool ok = true;
  const keel::ValidationResult result = g_cpu_heap.validate();
  if (!result.ok()) {
    print("   cpu heap validate() %s: %s at %p\n", when, keel::to_string(result.kind),
          result.address);
    ok = false;
  }
  const keel::CacheStatistics s = g_cpu_heap.statistics();
  if (s.heap.bytes_in_use != s.bytes_in_use + s.bytes_cached ||
      s.heap.live_allocations != s.live_allocations + s.blocks_cached ||
      s.live_allocations != program_live) {
    print("   cpu heap statistics %s do not add up: %zu live (expected %zu), %zu cached\n", when,
          s.live_allocations, program_live, s.blocks_cached);
    ok = false;
  }
  std::size_t used = 0;
  g_cpu_heap.walk([&](const keel::BlockInfo& block) { used += block.used ? 1 : 0; });
  std::size_t reported = 0;
  const std::size_t leaks = g_cpu_heap.leak_report([&](const char*, std::size_t) { ++reported; });
  if (used != program_live || leaks != program_live || reported == 0) {
    print("   cpu heap walk %s: %zu used blocks, leak report %zu (expected %zu)\n", when, used,
          leaks, program_live);
    ok = false;
  }
  return ok;
}

void print_cpu_heap_costs() {
  constexpr int kTries = 200;
  std::uint64_t empty = ~std::uint64_t{0};
  std::uint64_t cached_allocate = ~std::uint64_t{0};
  std::uint64_t cached_free = ~std::uint64_t{0};
  std::uint64_t locked_allocate = ~std::uint64_t{0};
  std::uint64_t locked_free = ~std::uint64_t{0};
  const auto least = [](std::uint64_t& slot, std::uint64_t value) {
    slot = value < slot ? value : slot;
  };
  for (int i = 0; i < kTries; ++i) {
    std::uint64_t start = keel::port::counter();
    least(empty, keel::port::counter() - start);
    const std::size_t size = 16 + static_cast<std::size_t>(i % 8) * 24;
    start = keel::port::counter();
    void* block = g_cpu_heap.allocate(size);
    least(cached_allocate, keel::port::counter() - start);
    start = keel::port::counter();
    g_cpu_heap.free(block);
    least(cached_free, keel::port::counter() - start);
    start = keel::port::counter();
    block = heap().allocate(size);
    least(locked_allocate, keel::port::counter() - start);
    start = keel::port::counter();
    heap().free(block);
    least(locked_free, keel::port::counter() - start);
  }
  print(
      "   one allocate / free, least of %d, %s: per-CPU cache %llu / %llu; shared heap (IrqLock) "
      "%llu / %llu\n",
      kTries, keel::port::counter_unit(), static_cast<unsigned long long>(cached_allocate - empty),
      static_cast<unsigned long long>(cached_free - empty),
      static_cast<unsigned long long>(locked_allocate - empty),
      static_cast<unsigned long long>(locked_free - empty));
}

}  // namespace kernel
