// uart_cmsdk.hpp: the Arm CMSDK APB UART of the MPS2 boards, transmit only, polled.
// Registers (CMSDK technical reference, APB UART): DATA +0x0, STATE +0x4 (bit 0: TX buffer
// full), CTRL +0x8 (bit 0: TX enable), BAUDDIV +0x10 (at least 16).
#pragma once

#include <cstdint>

#include "cortex_m_registers.hpp"

namespace keel::port::cortex_m {

template <std::uintptr_t kBase>
struct CmsdkUart {
  static constexpr std::uintptr_t kData = kBase + 0x0;
  static constexpr std::uintptr_t kState = kBase + 0x4;
  static constexpr std::uintptr_t kControl = kBase + 0x8;
  static constexpr std::uintptr_t kBaudDivider = kBase + 0x10;
  static constexpr std::uint32_t kTxFull = 1U << 0;
  static constexpr std::uint32_t kTxEnable = 1U << 0;

  static void init() noexcept {
    mmio(kBaudDivider) = 16;
    mmio(kControl) = kTxEnable;
  }
  static void put(char character) noexcept {
    while ((mmio(kState) & kTxFull) != 0) {
    }
    mmio(kData) = static_cast<std::uint8_t>(character);
  }
};

}  // namespace keel::port::cortex_m
