// vectors.hpp: the exception entry points the vector table (startup.cpp) names. Private to
// the port.
#pragma once

#include "cortex_m.hpp"

namespace keel::port::cortex_m {

using Handler = void (*)() noexcept;

[[noreturn]] void reset() noexcept;
/// HardFault, MemManage, BusFault, UsageFault, SecureFault: reports and stops (fault.cpp).
void fault_entry() noexcept;
/// SysTick: extends the instruction counter and runs the tick handler (counter.cpp).
void systick_entry() noexcept;
/// Every external interrupt: dispatches to the handler set_irq_handler installed (interrupts.cpp).
void irq_entry() noexcept;

}  // namespace keel::port::cortex_m
