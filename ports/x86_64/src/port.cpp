// ports/x86_64/port.cpp: the port contract (ports/port.hpp) on x86_64 under QEMU.
//
// exit(status) writes to QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,
// iosize=0x04), which ends QEMU with status (value << 1) | 1:
//   status 0 (pass)   -> value kPassValue (0x21) -> QEMU exits 67
//   status s (fail)   -> value s for 1 <= s <= 127 (s != 0x21), else 127 -> QEMU exits 2s + 1
// A triple fault with -no-reboot ends QEMU with status 0, so the harness
// (tests/x86_64/run-kernel.sh) takes only 67 as success.
#include <atomic>

#include "port.hpp"
#include "x86/boot_info.hpp"
#include "x86/console.hpp"
#include "x86/cpu.hpp"
#include "x86/smp.hpp"

namespace keel::port {
namespace {

constexpr std::uint16_t kDebugExitPort = 0xF4;
constexpr std::uint32_t kPassValue = 0x21;
constexpr std::uint32_t kLargestValue = 127;
constexpr int kPanicStatus = 99;

constinit std::atomic<HealthReporter> g_health_reporter{nullptr};
constinit std::atomic<bool> g_panicking{false};

}  // namespace

void init() noexcept {
  x86::console_init();  // already done by the boot code; harmless again
}

void exit(int status) noexcept {
  std::uint32_t value = kPassValue;
  if (status != 0) {
    value = status > 0 && status <= static_cast<int>(kLargestValue) &&
                    static_cast<std::uint32_t>(status) != kPassValue
                ? static_cast<std::uint32_t>(status)
                : kLargestValue;
  }
  x86::out32(kDebugExitPort, value);
  x86::halt_forever();  // no isa-debug-exit device: the harness's timeout ends the run
}

std::uint64_t counter() noexcept {
  return x86::read_tsc();
}

// Under -icount shift=0 a TSC tick is one instruction. The guest cannot see whether QEMU runs
// with -icount, so the harness says so on the command line (run-kernel.sh --icount).
const char* counter_unit() noexcept {
  return x86::command_line_has("icount") ? "instructions" : "TSC ticks";
}

void panic(const char* why) noexcept {
  x86::console_enter_panic_mode();
  if (g_panicking.exchange(true, std::memory_order_acq_rel)) {
    // A second panic (another core, or the health report itself faulted): stop at once.
    x86::Line().text("\n*** panic again on cpu ").decimal(x86::cpu_index()).text(": ").text(why);
    console_write("\n", 1);
    exit(kPanicStatus);
  }
  x86::Line().text("\n*** PANIC on cpu ").decimal(x86::cpu_index()).text(": ").text(why).text("\n");
  if (const HealthReporter reporter = g_health_reporter.load(std::memory_order_acquire)) {
    reporter();
  } else {
    x86::Line().text("    (no heap health reporter registered)\n");
  }
  exit(kPanicStatus);
}

void set_health_reporter(HealthReporter reporter) noexcept {
  g_health_reporter.store(reporter, std::memory_order_release);
}

}  // namespace keel::port
