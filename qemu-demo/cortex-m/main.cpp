// qemu-demo/cortex-m/main.cpp: the demo kernel for Cortex-M boards.
//
// Boots (ports/cortex-m), claims the heap from the linker script's sections, and runs the
// workload of qemu-demo/common. The C library is newlib (newlib-nano on the micro:bit): its
// printf does the demo's printing, and its own allocations (stdout's buffer) go to keel,
// which provides malloc, _malloc_r and the rest (keel::libc). The exit status, through
// semihosting, is the demo's verdict.
#include <cstdarg>
#include <cstdint>
#include <cstdio>

#include "cortex_m.hpp"
#include "demo.hpp"
#include "port.hpp"

namespace cm = keel::port::cortex_m;

namespace demo {

void print(const char* format, ...) {
  std::va_list arguments;
  va_start(arguments, format);
  std::vprintf(format, arguments);
  va_end(arguments);
}

void write(const char* text, std::size_t length) {
  std::fwrite(text, 1, length, stdout);
}

}  // namespace demo

namespace {

char g_machine[64];

void set_tick(void (*tick)() noexcept, std::uint32_t period) noexcept {
  cm::set_tick_handler(tick, period);
}

}  // namespace

int main() {
  keel::port::init();
  cm::unmask_interrupts();
  std::snprintf(g_machine, sizeof g_machine, "%s (%s), QEMU", cm::board_name(), cm::core_name());
  demo::Platform platform{};
  platform.machine = g_machine;
  platform.main_memory = cm::heap_memory();
  platform.reserve_memory = cm::second_heap_memory();
  platform.reserve_name =
      cm::has_second_bank() ? "the board's second RAM bank" : "carved from the top of RAM";
  platform.set_tick = set_tick;
  platform.scale_down = platform.main_memory.size < 64 * 1024 ? 8 : 1;
  const int status = demo::run(platform);
  const cm::StackUse stack = cm::stack_use();
  std::printf("main stack: %u of %u bytes used at most\n", static_cast<unsigned>(stack.used),
              static_cast<unsigned>(stack.size));
  std::fflush(stdout);
  return status;
}
