// qemu-demo/x86_64/smp_stress.cpp: the multi-core stress (smp_stress.hpp says what it does).
#include "smp_stress.hpp"

#include <atomic>
#include <cstddef>
#include <vector>

#include "barrier.hpp"
#include "cpu_heap.hpp"
#include "keel/pool.hpp"
#include "kernel_heap.hpp"
#include "random.hpp"
#include "x86/boot_layout.h"
#include "x86/cpu.hpp"
#include "x86/interrupts.hpp"
#include "x86/smp.hpp"

namespace kernel {
namespace {

using demo::print;

constexpr unsigned kSlots = 64;
constexpr unsigned kPoolSlots = 32;
constexpr std::size_t kPoolBlockBytes = 96;
constexpr std::size_t kPoolBytes = 64 * 1024;
constexpr std::size_t kPoolBitmapWords = keel::BlockPool::bitmap_words(kPoolBytes / 16);
constexpr std::uint32_t kValidateEvery = 1024;
constexpr std::uint32_t kDrainEvery = 2048;  // each core drains the next core's cache this often
constexpr std::uint32_t kVectorEvery = 128;
constexpr std::uint32_t kTimerPeriod = 40000;  // APIC timer ticks (bus clock / 16)

struct Slot {
  std::byte* data = nullptr;
  std::size_t size = 0;
  std::size_t align = 0;
  std::uint8_t tag = 0;
};

struct alignas(64) CoreCounters {
  std::uint64_t heap_allocations;
  std::uint64_t heap_frees;
  std::uint64_t reallocations;
  std::uint64_t cross_core_frees;
  std::uint64_t pool_acquisitions;
  std::uint64_t vector_rounds;
  std::uint64_t timer_allocations;  // the timer handler touches only the timer_ fields
  std::uint64_t timer_failures;
  std::uint64_t validations;
  std::uint64_t drained;
  std::uint64_t failed_allocations;
  std::uint64_t corruptions;
  std::uint64_t start;
  std::uint64_t end;
};

struct Job {
  unsigned cores;
  std::uint32_t iterations;
  std::uint64_t seed;
};

constinit CoreCounters g_counters[MAX_CPUS] = {};
/// Each core's mailbox: kMailboxSlots blocks sent by the previous core, freed by this one.
constexpr unsigned kMailboxSlots = 16;
constinit std::atomic<std::byte*> g_mailbox[MAX_CPUS][kMailboxSlots] = {};
constinit std::uint32_t g_pool_bitmaps[MAX_CPUS][kPoolBitmapWords] = {};
constinit Barrier g_barrier;

/// A message block sent to another core: its size and tag, then the pattern.
struct MessageHeader {
  std::size_t size;
  std::uint8_t tag;
};

std::uint8_t tag_for(unsigned cpu, unsigned slot, std::uint32_t step) {
  return static_cast<std::uint8_t>((cpu * 67U + slot * 13U + step) | 1U);
}

void fill(std::byte* data, std::size_t size, std::uint8_t tag) {
  __builtin_memset(data, tag, size);
}

bool holds(const std::byte* data, std::size_t size, std::uint8_t tag) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != static_cast<std::byte>(tag)) {
      return false;
    }
  }
  return true;
}

/// Sizes: 70 % up to 128 B, 20 % up to 1 KiB, 8 % up to 4 KiB, 2 % up to 16 KiB.
std::size_t pick_size(Random& random) {
  const std::uint32_t kind = random.below(100);
  if (kind < 70) {
    return 1 + random.below(128);
  }
  if (kind < 90) {
    return 129 + random.below(896);
  }
  if (kind < 98) {
    return 1025 + random.below(3072);
  }
  return 4097 + random.below(12288);
}

/// Mostly the default alignment; sometimes 16 .. 4096.
std::size_t pick_align(Random& random) {
  const std::uint32_t kind = random.below(16);
  if (kind < 12) {
    return keel::kDefaultAlignment;
  }
  return std::size_t{16} << random.below(9);  // 16 .. 4096
}

void check_block(CoreCounters& counters, const Slot& slot) {
  if (!holds(slot.data, slot.size, slot.tag)) {
    ++counters.corruptions;
    print("   stress: pattern damaged in block %p\n", static_cast<void*>(slot.data));
  }
}

bool aligned(const void* pointer, std::size_t align) {
  return (reinterpret_cast<std::uintptr_t>(pointer) & (align - 1)) == 0;
}

void allocate_slot(CoreCounters& counters, Slot& slot, Random& random, std::uint8_t tag) {
  const std::size_t size = pick_size(random);
  const std::size_t align = pick_align(random);
  auto* data = static_cast<std::byte*>(cpu_heap().allocate(size, align));
  if (data == nullptr) {
    ++counters.failed_allocations;
    return;
  }
  ++counters.heap_allocations;
  if (!aligned(data, align)) {
    ++counters.corruptions;
    print("   stress: block %p misaligned for %zu\n", static_cast<void*>(data), align);
  }
  fill(data, size, tag);
  slot = Slot{data, size, align, tag};
}

void free_slot(CoreCounters& counters, Slot& slot) {
  check_block(counters, slot);
  cpu_heap().free(slot.data);
  ++counters.heap_frees;
  slot = Slot{};
}

void reallocate_slot(CoreCounters& counters, Slot& slot, Random& random, std::uint8_t tag) {
  check_block(counters, slot);
  const std::size_t size = pick_size(random);
  auto* data = static_cast<std::byte*>(cpu_heap().reallocate(slot.data, size, slot.align));
  if (data == nullptr) {
    ++counters.failed_allocations;  // the old block is still valid
    return;
  }
  ++counters.reallocations;
  const std::size_t kept = size < slot.size ? size : slot.size;
  if (!holds(data, kept, slot.tag) || !aligned(data, slot.align)) {
    ++counters.corruptions;
    print("   stress: reallocate lost contents or alignment at %p\n", static_cast<void*>(data));
  }
  fill(data, size, tag);
  slot = Slot{data, size, slot.align, tag};
}

/// Sends a fresh block to the next core's mailbox (freed there), if its slot is empty.
void send_message(CoreCounters& counters, unsigned cpu, unsigned cores, Random& random,
                  std::uint8_t tag) {
  std::atomic<std::byte*>& slot = g_mailbox[(cpu + 1) % cores][random.below(kMailboxSlots)];
  const std::size_t size = sizeof(MessageHeader) + 1 + random.below(256);
  auto* data = static_cast<std::byte*>(cpu_heap().allocate(size));
  if (data == nullptr) {
    ++counters.failed_allocations;
    return;
  }
  ++counters.heap_allocations;
  const MessageHeader header{size, tag};
  __builtin_memcpy(data, &header, sizeof header);
  fill(data + sizeof header, size - sizeof header, tag);
  std::byte* empty = nullptr;
  if (!slot.compare_exchange_strong(empty, data, std::memory_order_release)) {
    cpu_heap().free(data);
    ++counters.heap_frees;
  }
}

/// Frees the block in one slot of this core's mailbox, if any, after checking it.
void receive_one(CoreCounters& counters, std::atomic<std::byte*>& slot) {
  std::byte* data = slot.exchange(nullptr, std::memory_order_acquire);
  if (data == nullptr) {
    return;
  }
  MessageHeader header{};
  __builtin_memcpy(&header, data, sizeof header);
  if (!holds(data + sizeof header, header.size - sizeof header, header.tag)) {
    ++counters.corruptions;
    print("   stress: message from another core damaged at %p\n", static_cast<void*>(data));
  }
  cpu_heap().free(data);
  ++counters.heap_frees;
  ++counters.cross_core_frees;
}

/// Frees every block in this core's mailbox.
void receive_message(CoreCounters& counters, unsigned cpu) {
  for (std::atomic<std::byte*>& slot : g_mailbox[cpu]) {
    receive_one(counters, slot);
  }
}

void vector_round(CoreCounters& counters, Random& random) {
  std::vector<std::uint64_t> values;
  const std::uint32_t count = 1 + random.below(300);
  std::uint64_t expected = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    values.push_back(i * 7ULL);
    expected += i * 7ULL;
  }
  std::uint64_t sum = 0;
  for (const std::uint64_t value : values) {
    sum += value;
  }
  if (sum != expected) {
    ++counters.corruptions;
  }
  ++counters.vector_rounds;
}

void pool_step(CoreCounters& counters, keel::BlockPool& pool, Slot (&blocks)[kPoolSlots],
               Random& random, std::uint8_t tag) {
  Slot& block = blocks[random.below(kPoolSlots)];
  if (block.data == nullptr) {
    auto* data = static_cast<std::byte*>(pool.acquire());
    if (data == nullptr) {
      ++counters.failed_allocations;
      return;
    }
    ++counters.pool_acquisitions;
    fill(data, kPoolBlockBytes, tag);
    block = Slot{data, kPoolBlockBytes, 16, tag};
  } else {
    check_block(counters, block);
    pool.release(block.data);
    block = Slot{};
  }
}

void on_timer(unsigned cpu) noexcept {
  CoreCounters& counters = g_counters[cpu];
  const std::size_t size = 32 + (counters.timer_allocations % 8) * 16;
  auto* data = static_cast<std::byte*>(cpu_heap().allocate(size));
  if (data == nullptr) {
    ++counters.timer_failures;
    return;
  }
  fill(data, size, 0x5A);
  if (!holds(data, size, 0x5A)) {
    ++counters.timer_failures;
  }
  cpu_heap().free(data);
  ++counters.timer_allocations;
}

void stress_core(unsigned cpu, void* context) noexcept {
  const Job job = *static_cast<const Job*>(context);  // a copy on this core's stack
  CoreCounters& counters = g_counters[cpu];
  counters = CoreCounters{};
  Random random(job.seed ^ (0x9E3779B97F4A7C15ULL * (cpu + 1)));

  auto* pool_memory = static_cast<std::byte*>(heap().allocate(kPoolBytes, 64));
  keel::BlockPool pool(keel::Span{pool_memory, pool_memory == nullptr ? 0 : kPoolBytes},
                       kPoolBlockBytes, 16, keel::Checking::basic,
                       keel::PoolBitmap{g_pool_bitmaps[cpu], kPoolBitmapWords});
  Slot pool_blocks[kPoolSlots] = {};
  Slot slots[kSlots] = {};

  keel::port::x86::start_timer(kTimerPeriod, &on_timer);
  keel::port::x86::enable_interrupts();
  g_barrier.arrive_and_wait();
  counters.start = keel::port::x86::read_tsc();

  for (std::uint32_t step = 0; step < job.iterations; ++step) {
    const unsigned index = random.below(kSlots);
    const std::uint8_t tag = tag_for(cpu, index, step);
    Slot& slot = slots[index];
    const std::uint32_t action = random.below(16);
    if (slot.data == nullptr) {
      allocate_slot(counters, slot, random, tag);
    } else if (action < 2) {
      reallocate_slot(counters, slot, random, tag);
    } else {
      free_slot(counters, slot);
    }
    if ((action == 3 || action == 4) && job.cores > 1) {
      send_message(counters, cpu, job.cores, random, tag);
    }
    receive_message(counters, cpu);
    pool_step(counters, pool, pool_blocks, random, tag);
    if (step % kVectorEvery == kVectorEvery - 1) {
      vector_round(counters, random);
    }
    if (cpu == 0 && step % kValidateEvery == kValidateEvery - 1) {
      ++counters.validations;
      const keel::ValidationResult cached = cpu_heap().validate();
      const keel::CacheStatistics s = cpu_heap().statistics();
      if (!cached.ok() || s.heap.bytes_in_use != s.bytes_in_use + s.bytes_cached ||
          s.heap.live_allocations != s.live_allocations + s.blocks_cached) {
        ++counters.corruptions;
        print("   stress: the per-CPU front end does not check out: %s at %p\n",
              keel::to_string(cached.kind), cached.address);
      }
      if (!validate_heap("during the stress")) {
        ++counters.corruptions;
      }
    }
    if (step % kDrainEvery == kDrainEvery - 1 && job.cores > 1) {
      counters.drained += cpu_heap().drain((cpu + 1) % job.cores);  // another core's cache
    }
  }
  counters.end = keel::port::x86::read_tsc();

  for (Slot& slot : slots) {
    if (slot.data != nullptr) {
      free_slot(counters, slot);
    }
  }
  for (Slot& block : pool_blocks) {
    if (block.data != nullptr) {
      check_block(counters, block);
      pool.release(block.data);
      block = Slot{};
    }
  }
  if (pool.in_use() != 0 || pool.validate() != keel::PoolViolation::none) {
    ++counters.corruptions;
    print("   stress: cpu %u: pool not clean at the end\n", cpu);
  }
  heap().free(pool_memory);
  g_barrier.arrive_and_wait();  // nobody sends any more
  receive_message(counters, cpu);
  keel::port::x86::disable_interrupts();
  keel::port::x86::stop_timer();
}

}  // namespace

StressTotals run_smp_stress(unsigned cores, std::uint32_t iterations, std::uint64_t seed) {
  const unsigned online = keel::port::x86::cpus_online();
  if (cores > online) {
    cores = online;
  }
  Job job{cores, iterations, seed};
  g_barrier.reset(cores);
  keel::port::x86::run_on_cores(cores, &stress_core, &job);

  StressTotals totals{};
  std::uint64_t first_start = ~std::uint64_t{0};
  std::uint64_t last_end = 0;
  for (unsigned cpu = 0; cpu < cores; ++cpu) {
    const CoreCounters& c = g_counters[cpu];
    print(
        "   cpu %u: heap alloc %llu, free %llu (%llu cross-core), realloc %llu, pool %llu, "
        "vectors %llu, in timer IRQ %llu\n",
        cpu, static_cast<unsigned long long>(c.heap_allocations),
        static_cast<unsigned long long>(c.heap_frees),
        static_cast<unsigned long long>(c.cross_core_frees),
        static_cast<unsigned long long>(c.reallocations),
        static_cast<unsigned long long>(c.pool_acquisitions),
        static_cast<unsigned long long>(c.vector_rounds),
        static_cast<unsigned long long>(c.timer_allocations));
    totals.heap_allocations += c.heap_allocations;
    totals.heap_frees += c.heap_frees;
    totals.reallocations += c.reallocations;
    totals.cross_core_frees += c.cross_core_frees;
    totals.pool_acquisitions += c.pool_acquisitions;
    totals.vector_rounds += c.vector_rounds;
    totals.timer_allocations += c.timer_allocations;
    totals.validations += c.validations;
    totals.drained += c.drained;
    totals.failed_allocations += c.failed_allocations + c.timer_failures;
    totals.corruptions += c.corruptions;
    first_start = c.start < first_start ? c.start : first_start;
    last_end = c.end > last_end ? c.end : last_end;
  }
  totals.ticks = last_end - first_start;
  return totals;
}

}  // namespace kernel
