// fault.cpp: panic, and the handler of HardFault and the configurable faults.
//
// A fault prints which exception it was, the address of the faulting instruction (the stacked
// PC), the data address where the core records one (BFAR, MMFAR on v7-M and v8-M mainline),
// the fault status registers, and then the heap's health through the kernel's reporter, and
// ends the run with status kFaultStatus. On v6-M (M0) every fault escalates to HardFault and
// there are no status registers: the stacked PC and LR are what there is.
#include <cstdint>

#include "cortex_m_registers.hpp"
#include "port.hpp"
#include "port_internal.hpp"
#include "vectors.hpp"

namespace keel::port {
namespace {

HealthReporter g_health_reporter = nullptr;
bool g_reporting = false;  // a fault inside the reporter must not recurse into it

void report_health() noexcept {
  if (g_health_reporter != nullptr && !g_reporting) {
    g_reporting = true;
    g_health_reporter();
  }
}

const char* exception_name(std::uint32_t number) noexcept {
  switch (number) {
    case 3: return "HardFault";
    case 4: return "MemManage fault";
    case 5: return "BusFault";
    case 6: return "UsageFault";
    case 7: return "SecureFault";
    default: return "fault";
  }
}

}  // namespace

void set_health_reporter(HealthReporter reporter) noexcept {
  g_health_reporter = reporter;
}

void panic(const char* why) noexcept {
  cortex_m::mask_interrupts();
  {
    const cortex_m::ConsoleSink sink;
    cortex_m::ConsoleWriter out(sink);
    out.text("\n*** panic: ").text(why).text("\n");
  }
  report_health();
  exit(cortex_m::kPanicStatus);
}

}  // namespace keel::port

// Called by fault_entry with both stack pointers and EXC_RETURN. The exception frame (r0-r3,
// r12, lr, pc, xpsr) is on the stack EXC_RETURN names: bit 2 set means the process stack.
extern "C" [[noreturn, gnu::used]] void keel_cortex_m_fault(const std::uint32_t* main_stack,
                                                            const std::uint32_t* process_stack,
                                                            std::uint32_t exc_return) noexcept {
  using namespace keel::port::cortex_m;
  constexpr std::uint32_t kUsesProcessStack = 1U << 2;
  constexpr unsigned kStackedLr = 5;
  constexpr unsigned kStackedPc = 6;
  const std::uint32_t* frame = (exc_return & kUsesProcessStack) != 0 ? process_stack : main_stack;
  std::uint32_t ipsr;
  asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  {
    const ConsoleSink sink;
    ConsoleWriter out(sink);
    out.text("\n*** ").text(keel::port::exception_name(ipsr & 0x1FFU));
    out.text(": instruction at ").hex(frame[kStackedPc]).text(", lr ").hex(frame[kStackedLr]);
#if KEEL_CORTEX_M_HAS_BASEPRI
    const std::uint32_t status = mmio(reg::kFaultStatus);
    out.text("\n    CFSR ").hex(status).text(", HFSR ").hex(mmio(reg::kHardFaultStatus));
    if ((status & reg::kBusFaultAddressValid) != 0) {
      out.text(", data address ").hex(mmio(reg::kBusFaultAddress));
    } else if ((status & reg::kMemManageAddressValid) != 0) {
      out.text(", data address ").hex(mmio(reg::kMemManageAddress));
    }
    if ((status & reg::kUnalignedFault) != 0) {
      out.text(" (unaligned access)");
    }
#endif
    out.text("\n");
  }
  keel::port::report_health();
  keel::port::exit(kFaultStatus);
}

namespace keel::port::cortex_m {

// Written for v6-M too: only low registers and instructions every profile has.
[[gnu::naked]] void fault_entry() noexcept {
  asm volatile(
      "mrs r0, msp\n\t"
      "mrs r1, psp\n\t"
      "mov r2, lr\n\t"
      "ldr r3, =keel_cortex_m_fault\n\t"
      "bx r3\n\t"
      ".ltorg");
}

}  // namespace keel::port::cortex_m
