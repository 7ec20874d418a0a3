// ports/x86_64/lapic.hpp: the local APIC of the calling core (xAPIC, memory mapped).
//
// The registers sit at the physical base from IA32_APIC_BASE (0xFEE00000 on QEMU), which the
// boot stub's identity map covers. Every function acts on the calling core's APIC.
#pragma once

#include <cstdint>

namespace keel::port::x86::lapic {

/// Software-enables the APIC (spurious vector register), masks LINT0/LINT1 and the timer.
void enable() noexcept;

/// This core's APIC id.
[[nodiscard]] std::uint32_t id() noexcept;

void end_of_interrupt() noexcept;

/// INIT to every other core, then the start-up IPI with `vector` (the trampoline's page
/// number) twice, as the MultiProcessor Specification describes. `delay(microseconds)` waits.
void wake_all_other_cores(std::uint8_t vector, void (*delay)(unsigned microseconds)) noexcept;

/// Sends a fixed interrupt with `vector` to the core with local APIC id `apic_id`.
void send_ipi(std::uint32_t apic_id, std::uint8_t vector) noexcept;

void start_periodic_timer(std::uint8_t vector, std::uint32_t period) noexcept;
void stop_timer() noexcept;

/// Starts the timer counting down from `count`, masked (no interrupt): for calibration.
void start_one_shot_masked(std::uint32_t count) noexcept;
[[nodiscard]] std::uint32_t timer_current_count() noexcept;

}  // namespace keel::port::x86::lapic
