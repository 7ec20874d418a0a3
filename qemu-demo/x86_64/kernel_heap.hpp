// qemu-demo/x86_64/kernel_heap.hpp: the kernel's one general heap, and the RAM it gets.
//
// The heap is the demo workload's global heap (qemu-demo/common: demo::global_heap()): one
// keel::Heap behind keel::port::IrqLock (interrupts masked on this core, a ticket lock across
// cores), with the ClaimOnOom policy. It is the kernel's global heap: operator new/delete
// (keel::new_delete), malloc (keel::libc) and every std container with the default allocator
// end up in it. The kernel hands it the usable RAM of the boot memory map above the kernel
// image: the first range as region 1 before anything allocates, the second as the policy's
// reserve (claimed when region 1 runs out, during the demo's out-of-memory episode), any
// further ones as regions right after the demo.
#pragma once

#include <cstddef>

#include "demo.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "port.hpp"

namespace kernel {

using KernelHeap = demo::GlobalHeap;
[[nodiscard]] inline KernelHeap& heap() {
  return demo::global_heap();
}

/// The usable RAM ranges above the kernel image, inside the identity map, in memory-map order.
struct BootMemory {
  static constexpr std::size_t kMaxRanges = 16;
  keel::Span ranges[kMaxRanges];
  std::size_t count = 0;
};

/// Prints the boot memory map and returns the usable ranges above the kernel image.
BootMemory find_boot_memory();

/// Claims ranges[first ..] of `memory` as regions of the heap (a range over 4 GiB becomes
/// several regions). Prints each. Returns how many regions were claimed.
unsigned claim_ranges(const BootMemory& memory, std::size_t first);

/// Installs keel's fault handler (print, then panic unless a fault is expected) and the port's
/// health reporter (statistics and validate() of the heap, printed by panic).
void install_heap_reporters();

/// The next `count` keel faults are expected (a test provoking them): they are counted and
/// printed, and the operation returns as keel documents, instead of panicking.
void expect_faults(unsigned count);
[[nodiscard]] unsigned faults_seen();

/// Prints the counters of a heap under a title.
void print_statistics(const char* title, const keel::Statistics& statistics);

/// Prints the blocks still in use beyond `baseline` live allocations and returns how many there
/// are: 0 means no leak.
std::size_t report_leaks(std::size_t baseline);

/// validate() of the heap under its lock; prints a violation if there is one. True if healthy.
bool validate_heap(const char* when);

}  // namespace kernel
