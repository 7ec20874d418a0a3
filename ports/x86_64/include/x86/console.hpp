// ports/x86_64/console.hpp: COM1 (16550 UART at 0x3F8, polled) and a small line printer.
//
// keel::port::console_write (ports/port.hpp) is the contract; the functions here add number
// formatting for the port's own messages and the kernel's reports. Whole calls to
// console_write are atomic with respect to other cores (a console lock), so lines written with
// one call do not interleave; Line collects a line and writes it with one call.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::port::x86 {

/// Programs the UART (115200 8N1, FIFO on, no interrupts). Idempotent; the boot code calls it
/// before anything can print.
void console_init() noexcept;

/// After this, console_write stops waiting for the console lock (a core that faulted while
/// holding it must still be able to print). Called by panic.
void console_enter_panic_mode() noexcept;

/// Builds one line (up to kCapacity bytes; the rest is cut) and writes it with one
/// console_write call when destroyed or flushed.
class Line {
 public:
  static constexpr std::size_t kCapacity = 200;

  Line() = default;
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  ~Line() { flush(); }

  Line& text(const char* string) noexcept;
  Line& text(const char* string, std::size_t length) noexcept;
  Line& decimal(std::uint64_t value) noexcept;
  Line& signed_decimal(std::int64_t value) noexcept;
  /// `value` in hex with a 0x prefix, at least `digits` digits.
  Line& hex(std::uint64_t value, unsigned digits = 1) noexcept;
  /// `value` / 10^decimals with `decimals` digits after the point ("12.34").
  Line& fixed(std::uint64_t value, unsigned decimals) noexcept;
  Line& address(const void* pointer) noexcept;
  /// Pads with spaces to column `column`.
  Line& column(std::size_t column) noexcept;
  void flush() noexcept;

 private:
  void put(char character) noexcept;

  char buffer_[kCapacity];
  std::size_t used_ = 0;
};

}  // namespace keel::port::x86
