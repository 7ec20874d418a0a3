// ports/x86_64/lapic.cpp: local APIC registers, inter-processor interrupts, the APIC timer.
#include "lapic.hpp"

#include "x86/cpu.hpp"
#include "x86/interrupts.hpp"

namespace keel::port::x86::lapic {
namespace {

// Register offsets from the APIC base.
constexpr std::uintptr_t kId = 0x020;
constexpr std::uintptr_t kEndOfInterrupt = 0x0B0;
constexpr std::uintptr_t kSpuriousRegister = 0x0F0;
constexpr std::uintptr_t kCommandLow = 0x300;
constexpr std::uintptr_t kCommandHigh = 0x310;
constexpr std::uintptr_t kLvtTimer = 0x320;
constexpr std::uintptr_t kLvtLint0 = 0x350;
constexpr std::uintptr_t kLvtLint1 = 0x360;
constexpr std::uintptr_t kTimerInitialCount = 0x380;
constexpr std::uintptr_t kTimerCurrentCount = 0x390;
constexpr std::uintptr_t kTimerDivide = 0x3E0;

constexpr std::uint32_t kSoftwareEnable = 1U << 8;
constexpr std::uint32_t kMasked = 1U << 16;
constexpr std::uint32_t kTimerPeriodic = 1U << 17;
constexpr std::uint32_t kDivideBy16 = 0x3;
constexpr std::uint32_t kDeliveryPending = 1U << 12;
// Interrupt command: delivery mode INIT (5) or start-up (6), level assert, to all but self.
constexpr std::uint32_t kInit = 0x5U << 8;
constexpr std::uint32_t kStartup = 0x6U << 8;
constexpr std::uint32_t kLevelAssert = 1U << 14;
constexpr std::uint32_t kAllExcludingSelf = 0x3U << 18;
constexpr std::uint64_t kBaseMask = 0x000FFFFFFFFFF000ULL;

volatile std::uint32_t& reg(std::uintptr_t offset) {
  const std::uintptr_t base = read_msr(kMsrApicBase) & kBaseMask;
  return *reinterpret_cast<volatile std::uint32_t*>(base + offset);
}

void wait_for_delivery() {
  while ((reg(kCommandLow) & kDeliveryPending) != 0) {
    pause();
  }
}

}  // namespace

void enable() noexcept {
  reg(kSpuriousRegister) = kSoftwareEnable | x86::kSpuriousVector;
  reg(kLvtLint0) = kMasked;
  reg(kLvtLint1) = kMasked;
  reg(kLvtTimer) = kMasked;
}

std::uint32_t id() noexcept {
  return reg(kId) >> 24;
}

void end_of_interrupt() noexcept {
  reg(kEndOfInterrupt) = 0;
}

void wake_all_other_cores(std::uint8_t vector, void (*delay)(unsigned microseconds)) noexcept {
  reg(kCommandHigh) = 0;
  reg(kCommandLow) = kAllExcludingSelf | kLevelAssert | kInit;
  wait_for_delivery();
  delay(10000);
  for (int attempt = 0; attempt < 2; ++attempt) {
    reg(kCommandHigh) = 0;
    reg(kCommandLow) = kAllExcludingSelf | kLevelAssert | kStartup | vector;
    wait_for_delivery();
    delay(200);
  }
}

void send_ipi(std::uint32_t apic_id, std::uint8_t vector) noexcept {
  wait_for_delivery();
  reg(kCommandHigh) = apic_id << 24;
  reg(kCommandLow) = kLevelAssert | vector;
}

void start_periodic_timer(std::uint8_t vector, std::uint32_t period) noexcept {
  reg(kTimerDivide) = kDivideBy16;
  reg(kLvtTimer) = kTimerPeriodic | vector;
  reg(kTimerInitialCount) = period;
}

void stop_timer() noexcept {
  reg(kLvtTimer) = kMasked;
  reg(kTimerInitialCount) = 0;
}

void start_one_shot_masked(std::uint32_t count) noexcept {
  reg(kTimerDivide) = kDivideBy16;
  reg(kLvtTimer) = kMasked;
  reg(kTimerInitialCount) = count;
}

std::uint32_t timer_current_count() noexcept {
  return reg(kTimerCurrentCount);
}

}  // namespace keel::port::x86::lapic
