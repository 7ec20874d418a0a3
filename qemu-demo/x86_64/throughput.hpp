// qemu-demo/x86_64/throughput.hpp: allocation throughput on 1, 2 and 4 cores.
//
// Every core runs the same loop at once, after a barrier: allocate kBatch blocks (sizes from a
// fixed table, 16 .. 512 B), free them in a fixed shuffled order, repeat, for a fixed time. One
// operation is one allocate or one free. Six targets:
//   shared heap (IrqLock)     the kernel's global heap: one keel::Heap behind the port's
//                             IrqLock (interrupt masking + the ticket lock)
//   shared heap (TicketLock)  one keel::Heap (4 MiB region) behind the ticket lock alone
//   shared heap (SpinLock)    one keel::Heap (4 MiB region) behind keel's test-and-set SpinLock
//   per-core pool             a keel::BlockPool of 512-byte blocks per core, no lock
//   per-core heap             a private keel::Heap<> per core (a 1 MiB region), no lock
//   per-CPU caches            keel::CpuCached over one heap (cpu_heap.hpp)
// Time is the TSC from the first core's start to the last core's end. Without -icount the TSC
// is the host's: figures are wall-time-like and noisy (QEMU's vCPU threads share the host's
// cores with everything else). Cores not in a run, and cores done or waiting at a barrier,
// sleep (x86/wait.hpp) rather than spin, so that they leave the host's CPUs to the others.
#pragma once

#include <cstdint>

namespace kernel {

/// Runs the benchmark for 1, 2 and 4 cores (those online), `repeats` times each, each core
/// running for `milliseconds` per run, and prints a table. Returns false if any allocation
/// failed or the front end does not check out afterwards.
bool run_throughput(std::uint32_t milliseconds, unsigned repeats);

}  // namespace kernel
