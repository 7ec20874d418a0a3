// port_internal.hpp: what the port's own files share. Not part of any interface.
#pragma once

#include <cstddef>

#include "keel/detail/format.hpp"
#include "port.hpp"

namespace keel::port::cortex_m {

/// Starts SysTick as the free-running instruction counter (counter.cpp).
void start_counter() noexcept;

/// A sink for keel::detail::TextWriter that writes to the console.
struct ConsoleSink {
  void operator()(const char* text, std::size_t length) const noexcept {
    console_write(text, length);
  }
};
using ConsoleWriter = keel::detail::TextWriter<const ConsoleSink>;

/// Exit statuses the port itself uses (docs/porting.md).
inline constexpr int kPanicStatus = 2;
inline constexpr int kFaultStatus = 3;

}  // namespace keel::port::cortex_m
