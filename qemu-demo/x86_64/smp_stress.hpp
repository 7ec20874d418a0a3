// qemu-demo/x86_64/smp_stress.hpp: every core allocates and frees at once.
//
// Each core runs the same random mix for `iterations` steps, with its own seed:
//   - blocks of 1 B .. 16 KiB (mostly small), some over-aligned (16 .. 4096), from the per-CPU
//     front end (cpu_heap.hpp: keel::CpuCached, blocks up to 1020 B from the core's cache); each is
//     filled with a pattern naming its core and slot, and the pattern is checked before the block
//     is resized or freed;
//   - reallocate, growing and shrinking, checking that the contents survive;
//   - blocks handed to the next core through a 16-slot mailbox and freed there (cross-core frees:
//     they go into the freeing core's cache);
//   - objects from the core's own keel::BlockPool (no lock: per-core);
//   - std::vector growth through operator new (keel::new_delete -> the kernel's global heap);
//   - every 2048 steps, the next core's cache drained from this core (as for a core going idle);
//   - the local APIC timer fires on every core meanwhile, and its handler allocates and frees
//     from the front end too, on its own core (every front-end call masks the core's interrupts).
// Core 0 also runs validate() and statistics() on the front end (which stop every core's cache
// for the moment) and validate() on the global heap, while the others work.
#pragma once

#include <cstdint>

namespace kernel {

struct StressTotals {
  std::uint64_t heap_allocations = 0;
  std::uint64_t heap_frees = 0;
  std::uint64_t reallocations = 0;
  std::uint64_t cross_core_frees = 0;
  std::uint64_t pool_acquisitions = 0;
  std::uint64_t vector_rounds = 0;
  std::uint64_t timer_allocations = 0;
  std::uint64_t validations = 0;
  std::uint64_t drained = 0;             // blocks given back by drain() of another core's cache
  std::uint64_t failed_allocations = 0;  // null from a heap that has plenty: a failure
  std::uint64_t corruptions = 0;         // a pattern or alignment check failed
  std::uint64_t ticks = 0;               // slowest core, TSC
};

/// Runs the stress on `cores` cores (clipped to those online). Prints a line per core and the
/// totals. Returns the totals; the run passed if failed_allocations, corruptions are 0 and the
/// heap validated.
StressTotals run_smp_stress(unsigned cores, std::uint32_t iterations, std::uint64_t seed);

}  // namespace kernel
