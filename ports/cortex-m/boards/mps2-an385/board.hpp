// Arm MPS2 with the AN385 image (Cortex-M3, 25 MHz): QEMU's `-M mps2-an385`.
#pragma once

#include <cstdint>

#include "uart_cmsdk.hpp"

namespace keel::port::cortex_m::board {

inline constexpr const char* kName = "mps2-an385";
inline constexpr const char* kCore = "Cortex-M3";
inline constexpr std::uint32_t kCoreClockHz = 25'000'000;  ///< SysTick's processor clock
using Uart = CmsdkUart<0x40004000>;                        ///< UART0

}  // namespace keel::port::cortex_m::board
