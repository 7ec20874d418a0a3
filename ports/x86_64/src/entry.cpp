// ports/x86_64/entry.cpp: the C++ side of boot.S: from long mode to main and back.
#include <cstdint>

#include "port.hpp"
#include "x86/boot_info.hpp"
#include "x86/console.hpp"
#include "x86/interrupts.hpp"
#include "x86/smp.hpp"

extern "C" {
using InitFunction = void (*)();
extern const InitFunction __init_array_start[];  // linker/x86_64.ld
extern const InitFunction __init_array_end[];
}

/// Called by boot.S on the bootstrap core, in long mode, before main: per-core block, console,
/// exception handlers (so that a fault in a static constructor is reported), the loader's
/// information, then the static constructors.
extern "C" void x86_boot(std::uint32_t start_info) {
  using namespace keel::port::x86;
  disable_legacy_pic();
  init_bootstrap_core();
  console_init();
  load_interrupt_table();
  if (!boot_info_init(start_info)) {
    keel::port::panic("not started through the PVH entry (no hvm_start_info)");
  }
  for (const InitFunction* function = __init_array_start; function != __init_array_end;
       ++function) {
    (*function)();
  }
}

/// Called by boot.S when main returns: its value is the run's status.
extern "C" [[noreturn]] void x86_main_returned(int status) {
  keel::port::exit(status);
}
