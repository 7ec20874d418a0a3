// qemu-demo/x86_64/cpu_heap.hpp: the kernel's per-CPU front end (keel::CpuCached, issue 13).
//
// One keel::Heap behind the port's ticket lock, with a cache per core in front
// (keel/cpu_cache.hpp): allocations of up to 1020 bytes come from the running core's cache
// without the shared lock, interrupts masked for the duration of each call (x86/this_cpu.hpp), so
// the timer interrupt may allocate on its own core. Its memory is one region taken from the
// kernel's global heap at set-up. The multi-core stress and the throughput section run on it.
#pragma once

#include <cstddef>

#include "keel/cpu_cache.hpp"
#include "keel/heap.hpp"
#include "x86/this_cpu.hpp"
#include "x86/ticket_lock.hpp"

namespace kernel {

using CpuHeap =
    keel::CpuCached<keel::Heap<>, keel::port::x86::TicketLock, keel::port::x86::ThisCpu>;

/// The front end. Usable after init_cpu_heap().
[[nodiscard]] CpuHeap& cpu_heap();

/// Gives the front end a region of `bytes` from the kernel heap. False if that fails.
bool init_cpu_heap(std::size_t bytes);

/// Prints the front end's statistics: the heap's view and the caches' apart.
void print_cpu_heap_statistics(const char* title);

/// Checks what the front end promises at a quiet moment (no core inside a call): validate(), the
/// statistics' identities (heap in use = program + cached), that the program holds
/// `program_live` blocks, and that the leak report and walk agree. Prints what fails.
bool check_cpu_heap(const char* when, std::size_t program_live);

/// The instructions (under -icount) of one cached allocate and one cached free on this core,
/// least of many, beside the shared heap's locked ones: printed.
void print_cpu_heap_costs();

}  // namespace kernel
