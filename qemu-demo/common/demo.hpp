// qemu-demo/common/demo.hpp: the demo's workload, shared by every port's demo kernel.
//
// The workload behaves like firmware on keel: tasks exchanging messages through queues (small
// ones from ObjectPools, variable ones from the heap), a timer interrupt that allocates and
// frees while the main loop does too, a fragmentation stress, an out-of-memory episode that the
// heap's policy recovers by claiming a second region, printf and C++ containers on keel, a
// measurement of keel's malloc and free in instructions, and a final report: statistics, heap
// map, leak report, validate(). It needs of its kernel only what is in Platform below and in
// ports/port.hpp, plus these links: keel::new_delete, keel::libc (keel is the global heap of
// C and C++), and definitions of demo::print and demo::write.
//
// A kernel (qemu-demo/<port>/) calls, in its main:
//
//     keel::port::init();
//     return demo::run(platform);   // 0 when every check passed
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "keel/span.hpp"
#include "port.hpp"
#if defined(KEEL_DEMO_RECORD)
#include "keel/recorder.hpp"
#include "port_recording.hpp"
#endif

namespace demo {

/// What the kernel tells the workload about its machine.
struct Platform {
  const char* machine;  ///< e.g. "mps2-an386 (Cortex-M4F)"
  /// The heap's first region (a linker section, a memory-map entry).
  keel::Span main_memory;
  /// Claimed by the heap's out-of-memory policy when main_memory runs out (a second RAM bank).
  keel::Span reserve_memory;
  /// Describes reserve_memory for the report ("second RAM bank", "carved from RAM").
  const char* reserve_name;
  /// Calls `tick` from a timer interrupt every `period` counter units (keel::port::counter), or
  /// stops doing so (null). The interrupt must be one that IrqLock masks.
  void (*set_tick)(void (*tick)() noexcept, std::uint32_t period) noexcept;
  /// Scales the workload: 1 for a board with megabytes of RAM, more for a small one (the
  /// micro:bit's 16 KiB), dividing counts and sizes.
  unsigned scale_down;
  /// Describes main_memory for the report; null: "linker heap section".
  const char* main_name;
};

/// The heap behind malloc, operator new and keel::Allocator<T> in the demo: one keel heap whose
/// OOM policy claims Platform::reserve_memory, shared with the timer interrupt through the
/// port's interrupt-masking lock.
/// With tags: every block remembers the code that asked for it (operator new's, malloc's
/// caller), and the report's leak_report() names it.
/// In a recording build (KEEL_DEMO_RECORD) the heap is wrapped in keel::Recorded, which writes
/// every call it serves, inside the lock, to the port's RecordingSink (port_recording.hpp).
inline constexpr keel::HeapOptions kGlobalHeapOptions{.tags = true};
#if defined(KEEL_DEMO_RECORD)
using GlobalHeap = keel::Locked<
    keel::Recorded<keel::Heap<keel::ClaimOnOom, kGlobalHeapOptions>, keel::port::RecordingSink>,
    keel::port::IrqLock>;
#else
using GlobalHeap =
    keel::Locked<keel::Heap<keel::ClaimOnOom, kGlobalHeapOptions>, keel::port::IrqLock>;
#endif
GlobalHeap& global_heap();

/// printf-style output to the console, and raw output in the same stream. Defined by the
/// kernel (with the C library's vprintf and fwrite where it has them).
[[gnu::format(printf, 1, 2)]] void print(const char* format, ...);
void write(const char* text, std::size_t length);

/// Runs the whole demo and returns the exit status: 0 if every check passed, 1 otherwise.
int run(const Platform& platform);

// --- internals shared by the demo's files -----------------------------------------------------

/// Counts the demo's checks; a failed one is printed and makes run() return 1.
bool expect(bool passed, const char* what);
/// The platform run() was given.
const Platform& platform();

void run_messaging();
void run_fragmentation_stress();
void run_out_of_memory();
void run_measurement();

}  // namespace demo
