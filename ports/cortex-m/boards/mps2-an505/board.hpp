// Arm MPS2 with the AN505 image (Cortex-M33 with TrustZone, 20 MHz); the image runs Secure: QEMU's
// `-M mps2-an505`.
#pragma once

#include <cstdint>

#include "uart_cmsdk.hpp"

namespace keel::port::cortex_m::board {

inline constexpr const char* kName = "mps2-an505";
inline constexpr const char* kCore = "Cortex-M33";
inline constexpr std::uint32_t kCoreClockHz = 20'000'000;  ///< SysTick's processor clock
using Uart = CmsdkUart<0x50200000>;  ///< UART0, at its Secure alias (0x40200000 Non-secure)

}  // namespace keel::port::cortex_m::board
