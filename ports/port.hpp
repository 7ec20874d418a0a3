// ports/port.hpp: the contract every port fulfils (docs/porting.md).
//
// core/ never includes this file: core needs nothing from a target. The demo kernel, the
// on-target tests and the benchmarks include it, and CMake links exactly one port
// (ports/<target>/) that defines everything declared here. Each function states its
// preconditions; "any context" means it may be called from an interrupt handler and with
// interrupts masked.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::port {

/// Called once, first thing in the kernel's main, with interrupts masked: sets up the console
/// and the counter. Boot code (vectors, .data/.bss, .init_array, stacks) ran before it.
void init() noexcept;

/// Writes `length` bytes to the console, polled. Any context; never allocates.
void console_write(const char* text, std::size_t length) noexcept;

/// Ends the run with `status` as the emulator's exit status: 0 is pass, anything else fail
/// (docs/porting.md says how each port maps it). Any context. Never returns.
[[noreturn]] void exit(int status) noexcept;

/// A free-running counter for cost measurement: retired instructions under QEMU `-icount`
/// (deterministic), otherwise cycles or ticks. Monotonic between two reads on one core; the
/// unit is the port's (counter_unit() names it). Any context.
[[nodiscard]] std::uint64_t counter() noexcept;
[[nodiscard]] const char* counter_unit() noexcept;

/// Nestable interrupt masking: `IrqLock::lock()` masks the interrupts that may use the heap and
/// remembers the previous state, `unlock()` restores it. Satisfies keel::BasicLockable. Any
/// context; on multi-core ports it also takes a spinlock (see the port's header). The port
/// defines it in its `port_target.hpp` (included at the end of this file), inline, because it
/// sits on every locked allocation.
class IrqLock;

/// Prints `why` and the heap's health (if the kernel registered a reporter) and stops with a
/// failing status. Used by fault handlers. Any context. Never returns.
[[noreturn]] void panic(const char* why) noexcept;

/// The kernel registers this to have panic() print the heap's state.
using HealthReporter = void (*)() noexcept;
void set_health_reporter(HealthReporter reporter) noexcept;

}  // namespace keel::port

// Optional: a port that can carry a heap recording to the host (keel/recorder.hpp) declares
// `keel::port::RecordingSink` in its `port_recording.hpp`: open(path) (false if there is no
// channel), write(data, size) (any context, never allocates), close(). Cortex-M writes a host
// file through semihosting, x86_64 writes QEMU's debug port 0xe9.

// The port's inline definitions (IrqLock and anything else that must be inline): the file
// `port_target.hpp` in the port's include directory, which CMake puts on the include path.
#if __has_include("port_target.hpp")
#include "port_target.hpp"
#endif
