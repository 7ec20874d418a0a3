// cortex_m.hpp: what the Cortex-M port offers beyond ports/port.hpp, for kernels and tests that
// know they run on Cortex-M: the heap memory the linker script set aside, the periodic tick,
// interrupt handlers and priorities, and the unaligned-access trap.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/span.hpp"
#include "port.hpp"

namespace keel::port::cortex_m {

/// The board, as QEMU's -M names it ("mps2-an386"), and its core ("Cortex-M4F").
[[nodiscard]] const char* board_name() noexcept;
[[nodiscard]] const char* core_name() noexcept;

/// The linker script's heap section (__keel_heap_start .. __keel_heap_end): all the RAM of the
/// main bank that .data, .bss and the stack leave over. Never empty (the script ASSERTs it).
[[nodiscard]] Span heap_memory() noexcept;
/// The second heap section (__keel_heap2_start .. __keel_heap2_end): the board's second RAM
/// bank where it has one, otherwise a part of the main bank split off by the script. Empty if
/// the script gives none.
[[nodiscard]] Span second_heap_memory() noexcept;
/// True if second_heap_memory() is a separate RAM bank (false: carved from the main bank).
[[nodiscard]] bool has_second_bank() noexcept;

/// A handler run from the SysTick interrupt at priority kTickPriority.
using TickHandler = void (*)() noexcept;

/// Runs `handler` every `period` instructions (under -icount; roughly, otherwise), from the
/// SysTick interrupt, or stops it (null handler). The instruction counter keeps counting across
/// the change. Call with interrupts unmasked or masked; not from the tick handler itself.
void set_tick_handler(TickHandler handler, std::uint32_t period) noexcept;

/// A handler for external interrupt `irq` (0 .. kIrqCount - 1).
using IrqHandler = void (*)() noexcept;
inline constexpr unsigned kIrqCount = 32;

/// Installs `handler` for interrupt `irq` with priority `priority` and enables it.
void set_irq_handler(unsigned irq, IrqHandler handler, std::uint8_t priority) noexcept;
/// Makes interrupt `irq` pending from software: it runs as soon as its priority allows.
void trigger_irq(unsigned irq) noexcept;

/// Makes every unaligned load and store fault (CCR.UNALIGN_TRP) on v7-M and v8-M mainline, as
/// they always do on v6-M. Returns false where the core has no such trap (v6-M: not needed).
bool trap_unaligned_access() noexcept;

/// The main stack's size and the most of it used so far: reset fills the stack with a pattern
/// and this finds the deepest word overwritten. O(stack size).
struct StackUse {
  std::size_t used;
  std::size_t size;
};
[[nodiscard]] StackUse stack_use() noexcept;

/// The number of priority bits the core implements (2 to 8).
[[nodiscard]] unsigned priority_bits() noexcept;

}  // namespace keel::port::cortex_m
