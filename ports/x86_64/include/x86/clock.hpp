// ports/x86_64/include/x86/clock.hpp: the TSC's rate, measured against the PIT.
//
// QEMU's TCG returns the host's TSC for rdtsc (without -icount), or one tick per instruction
// (with -icount shift=0). To turn ticks into seconds the port counts TSC ticks across a 50 ms
// one-shot of PIT channel 2 (1.193182 MHz, QEMU's virtual clock, which follows the host's real
// time without -icount). The result is as good as QEMU's timers: a rough figure on a loaded
// host, which is what it is used for (operations per second in the benchmark report).
#pragma once

#include <cstdint>

namespace keel::port::x86 {

/// TSC ticks per second, measured once (about 50 ms) on the first call. Bootstrap core,
/// interrupts masked.
[[nodiscard]] std::uint64_t tsc_frequency_hz() noexcept;

}  // namespace keel::port::x86
