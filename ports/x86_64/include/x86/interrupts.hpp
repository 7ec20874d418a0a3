// ports/x86_64/interrupts.hpp: the IDT, the exception handlers and the local APIC timer.
//
// Every CPU exception (vectors 0-31) prints the vector's name, the error code, RIP, RSP, RFLAGS,
// CR2 and the core, then calls keel::port::panic, which prints the heap's health (through the
// kernel's reporter) and ends the run with a failing status. The local APIC timer (vector
// kTimerVector) calls a handler the kernel installs, on the core it fires on.
#pragma once

#include <cstdint>

namespace keel::port::x86 {

inline constexpr std::uint8_t kTimerVector = 0x20;     // isr.S: X86_VECTOR_TIMER
inline constexpr std::uint8_t kSpuriousVector = 0xFF;  // isr.S: X86_VECTOR_SPURIOUS
/// The wake-up IPI of sleeping waiters (x86/wait.hpp); above every other vector's priority
/// class but the spurious one.
inline constexpr std::uint8_t kWakeUpVector = 0xF1;  // isr.S: X86_VECTOR_WAKE_UP

/// What isr.S saves, lowest address first.
struct InterruptFrame {
  std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  std::uint64_t vector, error_code;
  std::uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};

/// Moves the legacy 8259 PICs off the exception vectors (to 0x30-0x3F) and masks all their
/// lines: the port uses only the local APICs. The firmware leaves the PIT's IRQ 0 unmasked,
/// which would otherwise arrive at vector 8 (#DF) once interrupts are enabled.
void disable_legacy_pic() noexcept;

/// Fills the IDT (once) and loads it on the calling core. The boot code calls it on every core.
void load_interrupt_table() noexcept;

using TimerHandler = void (*)(unsigned cpu) noexcept;

/// Starts the local APIC timer of the calling core: periodic, every `period` APIC timer ticks
/// (bus clock / 16), calling `handler` from the interrupt. Interrupts must be enabled (sti) for
/// it to fire. stop_timer() stops it on the calling core.
void start_timer(std::uint32_t period, TimerHandler handler) noexcept;
void stop_timer() noexcept;

/// Timer interrupts taken so far on core `cpu`.
[[nodiscard]] std::uint64_t timer_interrupts(unsigned cpu) noexcept;

}  // namespace keel::port::x86
