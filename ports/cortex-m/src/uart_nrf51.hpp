// uart_nrf51.hpp: the nRF51 UART of the BBC micro:bit, transmit only, polled.
// Registers (nRF51 reference manual, UART): TASKS_STARTTX +0x008, EVENTS_TXDRDY +0x11C,
// ENABLE +0x500 (4 = enabled), TXD +0x51C.
#pragma once

#include <cstdint>

#include "cortex_m_registers.hpp"

namespace keel::port::cortex_m {

template <std::uintptr_t kBase>
struct Nrf51Uart {
  static constexpr std::uintptr_t kStartTx = kBase + 0x008;
  static constexpr std::uintptr_t kTxReady = kBase + 0x11C;
  static constexpr std::uintptr_t kEnable = kBase + 0x500;
  static constexpr std::uintptr_t kTxData = kBase + 0x51C;
  static constexpr std::uint32_t kEnabled = 4;

  static void init() noexcept {
    mmio(kEnable) = kEnabled;
    mmio(kStartTx) = 1;
  }
  static void put(char character) noexcept {
    mmio(kTxReady) = 0;
    mmio(kTxData) = static_cast<std::uint8_t>(character);
    while (mmio(kTxReady) == 0) {
    }
  }
};

}  // namespace keel::port::cortex_m
