// The BBC micro:bit (nRF51822, Cortex-M0, 16 MHz): QEMU's `-M microbit`.
#pragma once

#include <cstdint>

#include "uart_nrf51.hpp"

namespace keel::port::cortex_m::board {

inline constexpr const char* kName = "microbit";
inline constexpr const char* kCore = "Cortex-M0";
inline constexpr std::uint32_t kCoreClockHz = 16'000'000;  ///< SysTick's processor clock
using Uart = Nrf51Uart<0x40002000>;

}  // namespace keel::port::cortex_m::board
