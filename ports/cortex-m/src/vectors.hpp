// vectors.hpp: the exception entry points the vector table (startup.cpp) names. Private to
// the port.
#pragma once

#include <cstdint>

#include "cortex_m.hpp"

namespace keel::port::cortex_m {

using Handler = void (*)() noexcept;

/// What reset writes over the unused stack (stack_use() looks for the first word changed).
inline constexpr std::uint32_t kStackPaint = 0x5AC4C0DEU;

[[noreturn]] void reset() noexcept;
/// HardFault, MemManage, BusFault, UsageFault, SecureFault: reports and stops (fault.cpp).
void fault_entry() noexcept;
/// SysTick: extends the instruction counter and runs the tick handler (counter.cpp).
void systick_entry() noexcept;
/// Every external interrupt: dispatches to the handler set_irq_handler installed (interrupts.cpp).
void irq_entry() noexcept;

}  // namespace keel::port::cortex_m
