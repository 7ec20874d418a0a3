// ports/x86_64/include/x86/clock.hpp: the TSC's rate, measured against the PIT.
//
// QEMU's TCG returns the host's TSC for rdtsc (without -icount), or one tick per instruction
// (with -icount shift=0). To turn ticks into seconds the port lets PIT channel 2 (1.193182 MHz,
// QEMU's virtual clock, which follows the host's real time without -icount) run freely and reads
// its count and the TSC together, about 20 ms apart, five times; the rate is the median. Each
// reading brackets the PIT read between two TSC reads and is retried if they lie far apart, so
// a core that the host deschedules meanwhile does not skew the result. Still a figure only as
// good as QEMU's timers, used for operations per second in the benchmark report.
#pragma once

#include <cstdint>

namespace keel::port::x86 {

/// TSC ticks per second, measured once (about 100 ms) on the first call. Bootstrap core,
/// interrupts masked.
[[nodiscard]] std::uint64_t tsc_frequency_hz() noexcept;

/// The local APIC timer count (bus clock / 16, the divider start_timer uses) that lasts about
/// `tsc_ticks` TSC ticks, measured once (a few ms) on the first call. Bootstrap core, interrupts
/// masked. At least 1.
[[nodiscard]] std::uint32_t apic_timer_count_for(std::uint64_t tsc_ticks) noexcept;

}  // namespace keel::port::x86
