// qemu-demo/x86_64/platform.cpp: what the shared demo workload needs of this machine
// (demo::Platform): its memory and a timer interrupt.
#include "platform.hpp"

#include <atomic>

#include "x86/clock.hpp"
#include "x86/cpu.hpp"
#include "x86/interrupts.hpp"

namespace kernel {
namespace {

constinit std::atomic<void (*)() noexcept> g_tick{nullptr};

void on_timer(unsigned /*cpu*/) noexcept {
  if (const auto tick = g_tick.load(std::memory_order_acquire)) {
    tick();
  }
}

/// demo::Platform::set_tick: the bootstrap core's local APIC timer, periodic. The period comes
/// in counter units (TSC ticks) and is converted to APIC timer counts with the port's
/// calibration. Interrupts are enabled while the tick runs (IrqLock masks them around every
/// heap call) and masked again when it stops.
void set_tick(void (*tick)() noexcept, std::uint32_t period) noexcept {
  using namespace keel::port::x86;
  if (tick != nullptr) {
    g_tick.store(tick, std::memory_order_release);
    start_timer(apic_timer_count_for(period), &on_timer);
    enable_interrupts();
  } else {
    disable_interrupts();
    stop_timer();
    g_tick.store(nullptr, std::memory_order_release);
  }
}

}  // namespace

demo::Platform make_platform(const BootMemory& memory, const char* machine) {
  demo::Platform platform{};
  platform.machine = machine;
  platform.set_tick = &set_tick;
  platform.scale_down = 1;
  if (memory.count == 0) {
    return platform;
  }
  platform.main_memory = memory.ranges[0];
  platform.main_name = "the memory map's first usable range above the kernel image";
  if (memory.count >= 2) {
    platform.reserve_memory = memory.ranges[1];
    platform.reserve_name = "the memory map's second usable range";
  } else {
    // One range only (e.g. -m 256M): the top quarter plays the second bank.
    const std::size_t quarter = (memory.ranges[0].size / 4) & ~std::size_t{4095};
    platform.main_memory.size -= quarter;
    platform.reserve_memory = keel::Span{platform.main_memory.end(), quarter};
    platform.reserve_name = "the top quarter of the only usable range";
  }
  return platform;
}

}  // namespace kernel
