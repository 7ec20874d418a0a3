// keel/detail/format.hpp: a tiny text writer for dump() and reports, so that core never needs
// printf. Text goes to a caller's sink, called as sink(const char* text, std::size_t length).
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::detail {

template <typename Sink>
class TextWriter {
 public:
  explicit TextWriter(Sink& sink) : sink_(sink) {}
  TextWriter(const TextWriter&) = delete;
  TextWriter& operator=(const TextWriter&) = delete;
  ~TextWriter() { flush(); }

  TextWriter& text(const char* string) {
    while (*string != '\0') {
      put(*string++);
    }
    return *this;
  }
  TextWriter& decimal(std::uint64_t value) {
    char digits[20];
    unsigned count = 0;
    do {
      digits[count++] = static_cast<char>('0' + divide_by_ten(value));
    } while (value != 0);
    while (count != 0) {
      put(digits[--count]);
    }
    return *this;
  }
  TextWriter& hex(std::uintptr_t value) {
    text("0x");
    for (int shift = static_cast<int>(sizeof value * 8) - 4; shift >= 0; shift -= 4) {
      put("0123456789abcdef"[(value >> shift) & 0xFU]);
    }
    return *this;
  }
  TextWriter& address(const void* pointer) {
    return hex(reinterpret_cast<std::uintptr_t>(pointer));
  }
  void flush() {
    if (used_ != 0) {
      sink_(buffer_, used_);
      used_ = 0;
    }
  }

 private:
  /// value /= 10, returning the remainder, in 32-bit divisions only: a 32-bit target then links
  /// no 64-bit division from its runtime library (__aeabi_uldivmod, about 750 bytes on Arm).
  /// Long division of the low word 16 bits at a time keeps each dividend below 10 * 2^16.
  static unsigned divide_by_ten(std::uint64_t& value) {
    const auto high = static_cast<std::uint32_t>(value >> 32);
    const auto low = static_cast<std::uint32_t>(value);
    const std::uint32_t upper = (high % 10) << 16 | low >> 16;
    const std::uint32_t lower = (upper % 10) << 16 | (low & 0xFFFFU);
    value = std::uint64_t{high / 10} << 32 | (upper / 10) << 16 | lower / 10;
    return lower % 10;
  }

  void put(char character) {
    if (used_ == sizeof buffer_) {
      flush();
    }
    buffer_[used_++] = character;
  }

  Sink& sink_;
  char buffer_[96];
  std::size_t used_ = 0;
};

}  // namespace keel::detail
