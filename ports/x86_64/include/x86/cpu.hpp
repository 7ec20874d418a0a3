// ports/x86_64/cpu.hpp: the few x86_64 instructions the port needs, as inline functions.
// Every one is usable in any context.
#pragma once

#include <cstdint>

namespace keel::port::x86 {

/// RFLAGS.IF: interrupts enabled.
inline constexpr std::uint64_t kInterruptFlag = 1U << 9;

inline void out8(std::uint16_t port, std::uint8_t value) {
  asm volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
inline void out16(std::uint16_t port, std::uint16_t value) {
  asm volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
inline void out32(std::uint16_t port, std::uint32_t value) {
  asm volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
inline std::uint8_t in8(std::uint16_t port) {
  std::uint8_t value = 0;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}

/// The time-stamp counter, ordered after earlier loads (lfence). Under QEMU `-icount shift=0`
/// a difference of two reads is the number of instructions retired in between.
inline std::uint64_t read_tsc() {
  std::uint32_t low = 0;
  std::uint32_t high = 0;
  asm volatile("lfence\n\trdtsc" : "=a"(low), "=d"(high) : : "memory");
  return (static_cast<std::uint64_t>(high) << 32) | low;
}

inline void pause() {
  __builtin_ia32_pause();
}

inline std::uint64_t read_flags() {
  std::uint64_t flags = 0;
  asm volatile("pushfq\n\tpopq %0" : "=r"(flags) : : "memory");
  return flags;
}

/// Masks interrupts and returns RFLAGS as it was before.
inline std::uint64_t save_and_disable_interrupts() {
  std::uint64_t flags = 0;
  asm volatile("pushfq\n\tpopq %0\n\tcli" : "=r"(flags) : : "memory");
  return flags;
}

/// Unmasks interrupts if `flags` (from save_and_disable_interrupts) had them enabled.
inline void restore_interrupts(std::uint64_t flags) {
  if ((flags & kInterruptFlag) != 0) {
    asm volatile("sti" : : : "memory");
  }
}

inline void enable_interrupts() {
  asm volatile("sti" : : : "memory");
}
inline void disable_interrupts() {
  asm volatile("cli" : : : "memory");
}

[[noreturn]] inline void halt_forever() {
  for (;;) {
    asm volatile("cli\n\thlt" : : : "memory");
  }
}

inline std::uint64_t read_cr2() {
  std::uint64_t value = 0;
  asm volatile("movq %%cr2, %0" : "=r"(value));
  return value;
}

inline std::uint64_t read_msr(std::uint32_t msr) {
  std::uint32_t low = 0;
  std::uint32_t high = 0;
  asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
  return (static_cast<std::uint64_t>(high) << 32) | low;
}

inline void write_msr(std::uint32_t msr, std::uint64_t value) {
  asm volatile("wrmsr"
               :
               : "c"(msr), "a"(static_cast<std::uint32_t>(value)),
                 "d"(static_cast<std::uint32_t>(value >> 32))
               : "memory");
}

inline constexpr std::uint32_t kMsrApicBase = 0x1B;
inline constexpr std::uint32_t kMsrGsBase = 0xC0000101;

}  // namespace keel::port::x86
