// startup.cpp: the vector table and the reset handler of every Cortex-M image.
//
// Reset runs, in order: enable the FPU (hard-float builds; before any floating-point
// instruction), copy .data from flash, zero .bss, run the .init_array constructors, call main(),
// and end the run with main's result as the exit status (keel::port::exit). The symbols come
// from linker/cortex-m/sections.ld.
#include <cstdint>

#include "cortex_m_registers.hpp"
#include "plain_loops.hpp"
#include "port.hpp"
#include "vectors.hpp"

extern "C" {
extern std::uint32_t __data_load[];
extern std::uint32_t __data_start[];
extern std::uint32_t __data_end[];
extern std::uint32_t __bss_start[];
extern std::uint32_t __bss_end[];
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();
extern char __stack_top[];
extern std::uint32_t __stack_limit[];

#if !defined(__clang__)
int main();
#endif
}
#if defined(__clang__)
int main();  // clang's -ffreestanding makes main an ordinary C++ function: C++ linkage
#endif

namespace keel::port::cortex_m {
namespace {

// The loops below must not become memcpy/memset calls: .data is not there yet, and a
// freestanding image may have no memcpy at all.
KEEL_PLAIN_LOOPS void copy_words(std::uint32_t* to, const std::uint32_t* end,
                                 const std::uint32_t* from) noexcept {
  while (to < end) {
    *to++ = *from++;
  }
}

KEEL_PLAIN_LOOPS void zero_words(std::uint32_t* to, const std::uint32_t* end) noexcept {
  while (to < end) {
    *to++ = 0;
  }
}

/// Fills the unused part of the stack with kStackPaint, for stack_high_water().
KEEL_PLAIN_LOOPS void paint_stack() noexcept {
  constexpr std::uintptr_t kMargin = 64;  // below this function's own frame
  std::uint32_t* const end = reinterpret_cast<std::uint32_t*>(
      (reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) - kMargin) &
      ~std::uintptr_t{3});
  for (volatile std::uint32_t* word = __stack_limit; word < end; ++word) {
    *word = kStackPaint;
  }
}

}  // namespace

[[noreturn]] void reset() noexcept {
#if defined(__ARM_FP)
  mmio(reg::kCoprocessorAccess) = mmio(reg::kCoprocessorAccess) | reg::kFullAccessCp10Cp11;
  asm volatile("dsb\n\tisb" ::: "memory");
#endif
  paint_stack();
  copy_words(__data_start, __data_end, __data_load);
  zero_words(__bss_start, __bss_end);
  for (void (**constructor)() = __init_array_start; constructor < __init_array_end; ++constructor) {
    (*constructor)();
  }
  keel::port::exit(main());
}

namespace {

[[noreturn]] void unexpected_exception() noexcept {
  panic("unexpected exception");
}

}  // namespace

StackUse stack_use() noexcept {
  const std::size_t size =
      static_cast<std::size_t>(__stack_top - reinterpret_cast<char*>(__stack_limit));
  const std::uint32_t* word = __stack_limit;
  const auto* const top = static_cast<const std::uint32_t*>(static_cast<const void*>(__stack_top));
  while (word < top && *word == kStackPaint) {
    ++word;
  }
  return StackUse{static_cast<std::size_t>(__stack_top - reinterpret_cast<const char*>(word)),
                  size};
}

// The table the core reads at reset: the initial stack pointer, then one handler per exception
// number (1 .. 15 system exceptions, then kIrqCount external interrupts).
struct VectorTable {
  const void* initial_stack;
  Handler system[15];
  Handler external[kIrqCount];
};

[[gnu::section(".vectors"), gnu::used]] const VectorTable g_vector_table = {
    __stack_top,
    {
        reset,                 //  1 Reset
        unexpected_exception,  //  2 NMI
        fault_entry,           //  3 HardFault
        fault_entry,           //  4 MemManage (v7-M, v8-M mainline)
        fault_entry,           //  5 BusFault
        fault_entry,           //  6 UsageFault
        fault_entry,           //  7 SecureFault (v8-M with TrustZone)
        nullptr,               //  8
        nullptr,               //  9
        nullptr,               // 10
        unexpected_exception,  // 11 SVCall
        unexpected_exception,  // 12 DebugMonitor
        nullptr,               // 13
        unexpected_exception,  // 14 PendSV
        systick_entry,         // 15 SysTick
    },
    {
        irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry,
        irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry,
        irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry,
        irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry, irq_entry,
    },
};

}  // namespace keel::port::cortex_m
