// qemu-demo/x86_64/kernel_heap.hpp: the kernel's one general heap.
//
// g_heap is a keel::Heap behind keel::port::IrqLock (interrupts masked on this core, a ticket
// lock across cores). It is the kernel's global heap: operator new/delete (keel::new_delete)
// and every std container with the default allocator end up in it. It starts empty; main
// claims the RAM the boot memory map lists as usable above the kernel image before the first
// allocation.
#pragma once

#include <cstddef>

#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "port.hpp"
#include "port_target.hpp"

namespace kernel {

using KernelHeap = keel::Locked<keel::Heap<>, keel::port::IrqLock>;
extern KernelHeap g_heap;

/// Claims, as regions of g_heap, every usable RAM range of the boot memory map that lies above
/// the kernel image and inside the identity map (a range over 4 GiB becomes several regions).
/// Prints each. Returns the number of regions claimed.
unsigned claim_boot_memory();

/// Installs keel's fault handler (print, then panic unless a fault is expected) and the port's
/// health reporter (statistics and validate() of g_heap, printed by panic).
void install_heap_reporters();

/// The next `count` keel faults are expected (a test provoking them): they are counted and
/// printed, and the operation returns as keel documents, instead of panicking.
void expect_faults(unsigned count);
[[nodiscard]] unsigned faults_seen();

/// Prints the counters of a heap under a title.
void print_statistics(const char* title, const keel::Statistics& statistics);

/// Prints the blocks of g_heap still in use beyond `baseline` live allocations (the kernel's own
/// long-lived ones) and returns how many there are: 0 means no leak.
std::size_t report_leaks(std::size_t baseline);

/// validate() of g_heap under its lock; prints a violation if there is one. True if healthy.
bool validate_heap(const char* when);

}  // namespace kernel
