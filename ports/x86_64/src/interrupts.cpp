// ports/x86_64/interrupts.cpp: the IDT, exception reports and the APIC timer interrupt.
#include "x86/interrupts.hpp"

#include <atomic>
#include <cstddef>

#include "lapic.hpp"
#include "port.hpp"
#include "x86/boot_layout.h"
#include "x86/console.hpp"
#include "x86/cpu.hpp"
#include "x86/smp.hpp"

// isr.S: exceptions 0-31, then the timer, spurious and wake-up vectors.
extern "C" const std::uint64_t isr_stub_table[35];

namespace keel::port::x86 {
namespace {

struct Gate {
  std::uint16_t offset_low;
  std::uint16_t selector;
  std::uint8_t ist;
  std::uint8_t type;
  std::uint16_t offset_middle;
  std::uint32_t offset_high;
  std::uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

struct [[gnu::packed]] TablePointer {
  std::uint16_t limit;
  std::uint64_t base;
};

constexpr std::uint8_t kInterruptGate = 0x8E;  // present, DPL 0, 64-bit interrupt gate
constexpr unsigned kExceptionCount = 32;

alignas(16) constinit Gate g_table[256] = {};
constinit std::atomic<bool> g_table_claimed{false};
constinit std::atomic<bool> g_table_ready{false};
constinit std::atomic<TimerHandler> g_timer_handler{nullptr};
constinit std::atomic<std::uint64_t> g_timer_counts[MAX_CPUS] = {};

constexpr const char* kExceptionNames[kExceptionCount] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved (15)",
    "#MF x87 floating point",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD floating point",
    "#VE virtualisation",
    "#CP control protection",
    "reserved (22)",
    "reserved (23)",
    "reserved (24)",
    "reserved (25)",
    "reserved (26)",
    "reserved (27)",
    "#HV hypervisor injection",
    "#VC VMM communication",
    "#SX security",
    "reserved (31)",
};

void set_gate(unsigned vector, std::uint64_t handler) {
  Gate& gate = g_table[vector];
  gate.offset_low = static_cast<std::uint16_t>(handler);
  gate.selector = GDT_CODE64;
  gate.ist = 0;
  gate.type = kInterruptGate;
  gate.offset_middle = static_cast<std::uint16_t>(handler >> 16);
  gate.offset_high = static_cast<std::uint32_t>(handler >> 32);
  gate.reserved = 0;
}

void fill_table() {
  for (unsigned vector = 0; vector < kExceptionCount; ++vector) {
    set_gate(vector, isr_stub_table[vector]);
  }
  set_gate(kTimerVector, isr_stub_table[kExceptionCount]);
  set_gate(kSpuriousVector, isr_stub_table[kExceptionCount + 1]);
  set_gate(kWakeUpVector, isr_stub_table[kExceptionCount + 2]);
}

[[noreturn]] void report_exception(const InterruptFrame& frame) {
  console_enter_panic_mode();
  {
    Line line;
    line.text("\n*** CPU exception on cpu ").decimal(cpu_index()).text(": ");
    line.text(kExceptionNames[frame.vector]).text(" (vector ").decimal(frame.vector);
    line.text(", error code ").hex(frame.error_code).text(")\n");
  }
  Line()
      .text("    rip ")
      .hex(frame.rip, 16)
      .text("  rsp ")
      .hex(frame.rsp, 16)
      .text("  rflags ")
      .hex(frame.rflags, 8)
      .text("\n");
  Line()
      .text("    cr2 ")
      .hex(read_cr2(), 16)
      .text("  rax ")
      .hex(frame.rax, 16)
      .text("  rdi ")
      .hex(frame.rdi, 16)
      .text("\n");
  panic("CPU exception");
}

}  // namespace

void disable_legacy_pic() noexcept {
  // 8259A pair: command ports 0x20/0xA0, data ports 0x21/0xA1.
  constexpr std::uint16_t kMasterCommand = 0x20;
  constexpr std::uint16_t kMasterData = 0x21;
  constexpr std::uint16_t kSlaveCommand = 0xA0;
  constexpr std::uint16_t kSlaveData = 0xA1;
  constexpr std::uint8_t kInitialise = 0x11;  // ICW1: edge triggered, cascade, ICW4 follows
  constexpr std::uint8_t kMasterBase = 0x30;  // ICW2: vectors 0x30-0x37, clear of exceptions
  constexpr std::uint8_t kSlaveBase = 0x38;
  constexpr std::uint8_t kSlaveOnIrq2 = 0x04;  // ICW3
  constexpr std::uint8_t kSlaveIdentity = 0x02;
  constexpr std::uint8_t kMode8086 = 0x01;  // ICW4
  constexpr std::uint8_t kMaskAll = 0xFF;
  out8(kMasterCommand, kInitialise);
  out8(kSlaveCommand, kInitialise);
  out8(kMasterData, kMasterBase);
  out8(kSlaveData, kSlaveBase);
  out8(kMasterData, kSlaveOnIrq2);
  out8(kSlaveData, kSlaveIdentity);
  out8(kMasterData, kMode8086);
  out8(kSlaveData, kMode8086);
  out8(kMasterData, kMaskAll);
  out8(kSlaveData, kMaskAll);
}

void load_interrupt_table() noexcept {
  // The first core fills the table; the others wait for it (they start after the BSP anyway).
  if (!g_table_ready.load(std::memory_order_acquire)) {
    if (!g_table_claimed.exchange(true, std::memory_order_acq_rel)) {
      fill_table();
      g_table_ready.store(true, std::memory_order_release);
    }
    while (!g_table_ready.load(std::memory_order_acquire)) {
      pause();
    }
  }
  const TablePointer pointer{sizeof g_table - 1, reinterpret_cast<std::uint64_t>(&g_table[0])};
  asm volatile("lidt %0" : : "m"(pointer) : "memory");
}

void start_timer(std::uint32_t period, TimerHandler handler) noexcept {
  g_timer_handler.store(handler, std::memory_order_release);
  lapic::start_periodic_timer(kTimerVector, period);
}

void stop_timer() noexcept {
  lapic::stop_timer();
}

std::uint64_t timer_interrupts(unsigned cpu) noexcept {
  return cpu < MAX_CPUS ? g_timer_counts[cpu].load(std::memory_order_relaxed) : 0;
}

}  // namespace keel::port::x86

extern "C" void x86_interrupt(keel::port::x86::InterruptFrame* frame) {
  using namespace keel::port::x86;
  if (frame->vector < kExceptionCount) {
    report_exception(*frame);
  }
  if (frame->vector == kTimerVector) {
    const unsigned cpu = cpu_index();
    g_timer_counts[cpu].fetch_add(1, std::memory_order_relaxed);
    if (const TimerHandler handler = g_timer_handler.load(std::memory_order_acquire)) {
      handler(cpu);
    }
    lapic::end_of_interrupt();
  }
  if (frame->vector == kWakeUpVector) {
    lapic::end_of_interrupt();  // the wake-up itself is the message: the hlt has ended
  }
  // Spurious interrupts need no end-of-interrupt.
}
