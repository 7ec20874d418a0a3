// ports/x86_64/smp.hpp: cores. Which core am I, how many are there, start them, give them work.
//
// Cores are numbered by a dense cpu index: 0 is the bootstrap core, application cores take
// 1, 2, ... in the order they reach long mode. The index is kept in a per-core block that GS
// points at, so cpu_index() is one load.
//
// The application cores, once started, wait in a loop for work from run_on_cores; they never
// return to the boot code.
#pragma once

#include <cstdint>

namespace keel::port::x86 {

/// The calling core's index (0 = bootstrap core). Any context, after boot.
[[nodiscard]] unsigned cpu_index() noexcept;

/// The calling core's local APIC id.
[[nodiscard]] std::uint32_t cpu_apic_id() noexcept;

/// The local APIC id of the online core with index `cpu`.
[[nodiscard]] std::uint32_t cpu_apic_id_of(unsigned cpu) noexcept;

/// The cores QEMU was started with (`-smp`), read from QEMU's firmware configuration device;
/// 1 if that device is absent.
[[nodiscard]] unsigned cpus_present() noexcept;

/// Cores running now (the bootstrap core included).
[[nodiscard]] unsigned cpus_online() noexcept;

/// Wakes every other core with INIT-SIPI-SIPI and waits (bounded) until the cpus_present() - 1
/// application cores report in. Returns cpus_online(). Call once, from the bootstrap core.
unsigned start_application_cores() noexcept;

using CoreFunction = void (*)(unsigned cpu, void* context) noexcept;

/// Runs `function(cpu, context)` on cores 0 .. count-1 at once (the caller, core 0, included)
/// and returns when every one has returned. count is clipped to cpus_online(). Bootstrap core
/// only; not reentrant.
void run_on_cores(unsigned count, CoreFunction function, void* context) noexcept;

/// Sets up the bootstrap core's per-core block (the boot code calls it first).
void init_bootstrap_core() noexcept;

/// Busy-waits about `microseconds` (at least that long on a TSC of up to 1 GHz; QEMU needs no
/// real delays, so precision does not matter here).
void delay_microseconds(unsigned microseconds) noexcept;

}  // namespace keel::port::x86
