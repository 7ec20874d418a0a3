// interrupts.cpp: external interrupt dispatch, priorities, and the unaligned-access trap.
#include <cstdint>

#include "cortex_m.hpp"
#include "cortex_m_registers.hpp"
#include "port.hpp"
#include "vectors.hpp"

namespace keel::port::cortex_m {
namespace {

constexpr unsigned kFirstExternal = 16;  // exception number of IRQ 0

IrqHandler g_irq_handlers[kIrqCount] = {};

[[nodiscard]] unsigned current_exception() noexcept {
  std::uint32_t ipsr;
  asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  return ipsr & 0x1FFU;
}

/// Sets the 8-bit priority field of IRQ `irq` (word access: v6-M allows no other).
void set_priority(unsigned irq, std::uint8_t priority) noexcept {
  volatile std::uint32_t& word = mmio(reg::kIrqPriority + 4 * (irq / 4));
  const unsigned shift = 8 * (irq % 4);
  word = (word & ~(0xFFU << shift)) | (std::uint32_t{priority} << shift);
}

}  // namespace

void irq_entry() noexcept {
  const unsigned irq = current_exception() - kFirstExternal;
  if (irq < kIrqCount && g_irq_handlers[irq] != nullptr) {
    g_irq_handlers[irq]();
    return;
  }
  panic("interrupt without a handler");
}

void set_irq_handler(unsigned irq, IrqHandler handler, std::uint8_t priority) noexcept {
  if (irq >= kIrqCount) {
    panic("set_irq_handler: no such interrupt");
  }
  const std::uint32_t bit = 1U << irq;
  mmio(reg::kIrqClearEnable) = bit;
  g_irq_handlers[irq] = handler;
  set_priority(irq, priority);
  asm volatile("dsb" ::: "memory");
  if (handler != nullptr) {
    mmio(reg::kIrqClearPending) = bit;
    mmio(reg::kIrqSetEnable) = bit;
  }
}

void trigger_irq(unsigned irq) noexcept {
  mmio(reg::kIrqSetPending) = 1U << (irq % kIrqCount);
  asm volatile("dsb\n\tisb" ::: "memory");
}

bool trap_unaligned_access() noexcept {
#if KEEL_CORTEX_M_HAS_BASEPRI
  mmio(reg::kConfigurationControl) = mmio(reg::kConfigurationControl) | reg::kUnalignedTrap;
  asm volatile("dsb\n\tisb" ::: "memory");
  return true;
#else
  return false;
#endif
}

unsigned priority_bits() noexcept {
  // Unimplemented low bits of a priority field read as zero: write all ones, count what stays.
  constexpr unsigned kProbe = kIrqCount - 1;
  volatile std::uint32_t& word = mmio(reg::kIrqPriority + 4 * (kProbe / 4));
  const unsigned shift = 8 * (kProbe % 4);
  const std::uint32_t saved = word;
  word = saved | (0xFFU << shift);
  const std::uint32_t field = (word >> shift) & 0xFFU;
  word = saved;
  unsigned bits = 0;
  for (std::uint32_t mask = 0x80; mask != 0 && (field & mask) != 0; mask >>= 1) {
    ++bits;
  }
  return bits;
}

}  // namespace keel::port::cortex_m
