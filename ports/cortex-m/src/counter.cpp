// counter.cpp: a deterministic instruction counter from SysTick, and the periodic tick.
//
// Under QEMU's `-icount shift=S` every instruction advances virtual time by exactly 2^S ns and
// SysTick (clocked by the processor clock, f Hz) counts virtual time. So
//
//     instructions = ticks · 10^9 / (f · 2^S)
//
// exactly, up to the quantum of one tick: shift 6 at 25 MHz gives 1.6 ticks per instruction.
// SysTick is a 24-bit down-counter; the SysTick interrupt counts the wraps, and a reader with
// interrupts masked folds in a wrap that is pending but not yet taken, so counter() is exact
// as long as interrupts are not masked for a whole wrap (2^24 ticks, 10 million instructions).
// Without -icount the same code counts processor-clock ticks of host time: monotonic but
// meaningless. KEEL_ICOUNT_SHIFT (from toolchain.cmake) must equal the shift QEMU runs with.
//
// The tick handler shares SysTick: set_tick_handler shortens the reload to the period asked
// for, after folding the ticks so far into a base, so the count stays monotonic.
#include <cstdint>

#include "board.hpp"
#include "cortex_m.hpp"
#include "cortex_m_registers.hpp"
#include "port.hpp"
#include "port_internal.hpp"
#include "vectors.hpp"

#ifndef KEEL_ICOUNT_SHIFT
#error "KEEL_ICOUNT_SHIFT must be defined (toolchain.cmake)"
#endif

namespace keel::port {
namespace cortex_m {
namespace {

constexpr std::uint64_t greatest_common_divisor(std::uint64_t a, std::uint64_t b) {
  return b == 0 ? a : greatest_common_divisor(b, a % b);
}

// instructions = ticks · kNumerator / kDenominator, reduced (25 MHz, shift 6: 5 / 8).
constexpr std::uint64_t kNanosecondsPerSecond = 1'000'000'000;
constexpr std::uint64_t kTickRate = std::uint64_t{board::kCoreClockHz} << KEEL_ICOUNT_SHIFT;
constexpr std::uint64_t kDivisor = greatest_common_divisor(kNanosecondsPerSecond, kTickRate);
constexpr std::uint64_t kNumerator = kNanosecondsPerSecond / kDivisor;
constexpr std::uint64_t kDenominator = kTickRate / kDivisor;

// Touched only with interrupts masked, or by the SysTick handler, which nothing that reads
// them preempts (readers mask interrupts; an urgent interrupt must not read the counter).
std::uint64_t g_tick_base = 0;  // ticks counted before the current reload value was set
std::uint64_t g_wraps = 0;      // SysTick reached zero this often since then
std::uint32_t g_reload = reg::kSysTickMaxReload;
TickHandler g_tick_handler = nullptr;

// SysTick counts reload, reload - 1, ..., 1, 0, reload, ...; reaching 0 pends the interrupt (a
// wrap). Counting from a wrap, the ticks within the current period are 0 at value 0, and
// reload + 1 - value otherwise.
std::uint32_t ticks_into_period(std::uint32_t value) noexcept {
  return value == 0 ? 0 : g_reload + 1 - value;
}

/// Ticks since start_counter(). Precondition: interrupts masked.
std::uint64_t ticks_masked() noexcept {
  const std::uint32_t first = mmio(reg::kSysTickCurrent);
  const bool pending = (mmio(reg::kInterruptControl) & reg::kPendSysTickSet) != 0;
  const std::uint32_t second = mmio(reg::kSysTickCurrent);
  // A wrap not yet counted: pending, or happening after the flag was read (the value jumped
  // up, or just reached 0). `second` is then a value of the new period.
  if (pending || second > first || (second == 0 && first != 0)) {
    mmio(reg::kInterruptControl) = reg::kPendSysTickClear;  // counted here, not by the handler
    ++g_wraps;
  }
  return g_tick_base + g_wraps * (std::uint64_t{g_reload} + 1) + ticks_into_period(second);
}

/// Starts SysTick from 0 with the reload g_reload and waits for its first tick, after which
/// the value is never 0 unless a wrap is pending. Precondition: interrupts masked.
void restart_systick() noexcept {
  mmio(reg::kSysTickControl) = 0;
  mmio(reg::kInterruptControl) = reg::kPendSysTickClear;
  mmio(reg::kSysTickReload) = g_reload;
  mmio(reg::kSysTickCurrent) = 0;  // any write clears it; it loads the reload on the next tick
  mmio(reg::kSysTickControl) =
      reg::kSysTickEnable | reg::kSysTickInterrupt | reg::kSysTickProcessorClock;
  while (mmio(reg::kSysTickCurrent) == 0) {
  }
  g_wraps = 0;
}

}  // namespace

void start_counter() noexcept {
  const std::uint32_t shpr3 = mmio(reg::kHandlerPriority3) & 0x00FFFFFFU;
  mmio(reg::kHandlerPriority3) = shpr3 | (std::uint32_t{kTickPriority} << 24);
  PrimaskLock lock;
  lock.lock();
  g_reload = reg::kSysTickMaxReload;
  g_tick_base = 0;
  restart_systick();
  lock.unlock();
}

void set_tick_handler(TickHandler handler, std::uint32_t period) noexcept {
  std::uint64_t ticks = reg::kSysTickMaxReload + std::uint64_t{1};
  if (handler != nullptr) {
    ticks = (std::uint64_t{period} * kDenominator + kNumerator - 1) / kNumerator;
    ticks = ticks > reg::kSysTickMaxReload ? reg::kSysTickMaxReload : ticks;
    ticks = ticks < 64 ? 64 : ticks;
  }
  PrimaskLock lock;
  lock.lock();
  // The few ticks spent restarting SysTick are not counted: the count stays monotonic, and no
  // measurement spans a change of the tick.
  g_tick_base = ticks_masked();
  g_reload = static_cast<std::uint32_t>(ticks - 1);
  g_tick_handler = handler;
  restart_systick();
  lock.unlock();
}

void systick_entry() noexcept {
  ++g_wraps;
  if (g_tick_handler != nullptr) {
    g_tick_handler();
  }
}

}  // namespace cortex_m

std::uint64_t counter() noexcept {
  PrimaskLock lock;
  lock.lock();
  const std::uint64_t ticks = cortex_m::ticks_masked();
  lock.unlock();
  return ticks * cortex_m::kNumerator / cortex_m::kDenominator;
}

const char* counter_unit() noexcept {
  return "instructions";
}

}  // namespace keel::port
