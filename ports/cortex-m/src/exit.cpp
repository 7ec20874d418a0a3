// exit.cpp: keel::port::exit through Arm semihosting (QEMU: -semihosting-config enable=on).
//
// SYS_EXIT_EXTENDED (0x20) takes a two-word block, {ADP_Stopped_ApplicationExit, status}, and
// QEMU exits with `status` (reduced modulo 256). On real hardware without a debugger the bkpt
// would lock up the core, so the loop after it only matters there.
#include <cstdint>

#include "port.hpp"

namespace keel::port {
namespace {

constexpr std::uint32_t kSysExitExtended = 0x20;
constexpr std::uint32_t kApplicationExit = 0x20026;  ///< ADP_Stopped_ApplicationExit

}  // namespace

void exit(int status) noexcept {
  const std::uint32_t block[2] = {kApplicationExit, static_cast<std::uint32_t>(status)};
  asm volatile(
      "mov r0, %0\n\t"
      "mov r1, %1\n\t"
      "bkpt 0xab"
      :
      : "r"(kSysExitExtended), "r"(block)
      : "r0", "r1", "memory");
  for (;;) {
    asm volatile("wfi");
  }
}

}  // namespace keel::port
