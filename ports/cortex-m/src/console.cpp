// console.cpp: keel::port::init and console_write over the board's UART (boards/<board>/).
#include "board.hpp"
#include "cortex_m.hpp"
#include "port.hpp"
#include "port_internal.hpp"

namespace keel::port {

void init() noexcept {
  cortex_m::board::Uart::init();
  cortex_m::start_counter();
}

void console_write(const char* text, std::size_t length) noexcept {
  for (std::size_t i = 0; i < length; ++i) {
    cortex_m::board::Uart::put(text[i]);
  }
}

namespace cortex_m {

const char* board_name() noexcept {
  return board::kName;
}

const char* core_name() noexcept {
  return board::kCore;
}

}  // namespace cortex_m
}  // namespace keel::port
